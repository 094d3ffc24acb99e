using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Items left alone in earlier sessions, closed in the forty-fifth.</summary>
public sealed class LeftAloneFortyFifthTests
{
    private const string Cart = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """;

    private static readonly Identifier Known = Identifier.CustomerId("c-45");

    // Left alone by audit U69: a journey's statistics for an id no journey has answered zeros, so a shop's test of a
    // misspelt id read as "nobody entered" (and a test asserting zero entries passed for the wrong reason).
    [Fact]
    public async Task JourneyStatistics_OfAnIdNoJourneyHas_AreRefused_NamingTheLoadedJourneys()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart)]);

        var typo = await Assert.ThrowsAsync<ArgumentException>(() => rig.Engine.GetJourneyStatisticsAsync("crat"));
        Assert.Contains("'crat'", typo.Message, StringComparison.Ordinal);
        Assert.Contains("Loaded journeys: cart.", typo.Message, StringComparison.Ordinal);
        Assert.Equal("journeyId", typo.ParamName);
        var verdict = await Assert.ThrowsAsync<ArgumentException>(() => rig.Engine.GetExperimentVerdictAsync("crat"));
        Assert.Contains("Loaded journeys: cart.", verdict.Message, StringComparison.Ordinal);

        // A loaded journey nobody entered answers zeros, as before; one that ran answers its counts.
        Assert.Equal(0, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Entered);
        Assert.Null(await rig.Engine.GetExperimentVerdictAsync("cart"));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Entered);
        Assert.Null(await rig.Engine.GetExperimentVerdictAsync("cart")); // no split: no arms, not an unknown journey
    }

    // A journey removed from the definitions keeps its statistics in the store: they still answer under its id.
    [Fact]
    public async Task JourneyStatistics_OfARemovedJourney_StillAnswerFromTheStore()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart)]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await using var without = JourneyRig.Create([], store: rig.Engine.Store);

        Assert.Equal(1, (await without.Engine.GetJourneyStatisticsAsync("cart")).Entered);
        var none = await Assert.ThrowsAsync<ArgumentException>(() => without.Engine.GetJourneyStatisticsAsync("welcome"));
        Assert.Contains("Loaded journeys: none.", none.Message, StringComparison.Ordinal);
    }

    // An id past 200 characters is quoted up to 200, never splitting a surrogate pair.
    [Fact]
    public async Task JourneyStatistics_OfALongUnknownId_QuoteItClipped()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart)]);
        var id = new string('a', 199) + "😀" + new string('b', 500);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => rig.Engine.GetJourneyStatisticsAsync(id));
        Assert.Contains("'" + new string('a', 199) + "…'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\uD83D", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bbbb", e.Message, StringComparison.Ordinal);
    }
}
