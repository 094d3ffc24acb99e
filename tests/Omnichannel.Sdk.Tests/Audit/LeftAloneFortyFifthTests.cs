using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
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

    // Found through audit U68's batches property: a hard bounce reported under her cookie (the provider's webhook
    // resolved to the landing page's visitor) suppressed the address on that cookie's profile only, so the profile that
    // holds the address as its email — not linked to the cookie yet — was still messaged there. Mailbox providers keep
    // one suppression list per address; the bounce now puts the address on the store's list too.
    [Theory]
    [InlineData(MessageClass.Transactional)]
    [InlineData(MessageClass.Marketing)]
    public async Task AHardBounceReportedUnderAnotherProfile_SuppressesTheAddressForTheProfileThatHoldsIt(MessageClass kind)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var cookie = Identifier.AnonymousId("cookie-45");
        var ann = Identifier.CustomerId("ann-45");
        var address = Identifier.Email("ann-45@example.com");
        await host.TrackAsync("user.signed_up", [ann, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.MessageBounced, [cookie], new { channel = "email", address = "Ann-45@Example.com", bounce_type = "hard" });

        Assert.True(await host.Client.IsSuppressedAsync(address));
        var sent = await host.Client.SendAsync(ann, new MessageRequest { Key = "k-45", Channels = [ChannelNames.Email], TemplateId = "hello", Class = kind });
        Assert.Equal(SendStatus.Skipped, sent.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);

        // She asks to be mailed there again: lifting it (as for an erasure) takes the address off the list.
        Assert.True(await host.Client.LiftErasureAsync(address));
        Assert.False(await host.Client.IsSuppressedAsync(address));
    }
}
