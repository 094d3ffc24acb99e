using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit DV: examples the definition-change property (<see cref="AuditDefinitionChangeProperties"/>) found, shrunk.</summary>
public sealed class AuditDVDefinitionChangeTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Cart(int version, string steps) => JourneyRig.Parse($$"""
        {"id": "cart", "version": {{version}}, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"}, "steps": {{steps}}}
        """);

    private const string WaitThenRemind = """
        [{"id": "wait", "type": "delay", "duration": "PT1H"},
         {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]
        """;

    private const string PauseThenRemind = """
        [{"id": "pause", "type": "delay", "duration": "PT30M"},
         {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]
        """;

    [Fact]
    public async Task AStepDroppedByAnIntermediateVersion_EndsTheInstance_EvenWhenALaterVersionAddsItBack_AndThePublishVisitWasMissed()
    {
        await using var rig = JourneyRig.Create([Cart(1, WaitThenRemind)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        Assert.Equal("wait", Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).StepId);

        // Version 2 drops "wait"; its visit does not happen (cancelled here; on a cluster it runs in the background).
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rig.Engine.PublishJourneyAsync(Cart(2, PauseThenRemind), cancelled.Token));
        }

        // Version 3 has a step "wait" again: Ann's v1 wait was dropped by v2, as its visit would have found.
        await rig.Engine.PublishJourneyAsync(Cart(3, WaitThenRemind));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        var ann = await rig.Host.ProfileAsync(Ann);
        Assert.Empty(ann.Journeys);
        Assert.Contains(ann.Timeline, t => t.Type == "journey.exited" && t.Summary!.Contains("version 2 removed step 'wait'", StringComparison.Ordinal));
        Assert.Null(await rig.Engine.GetNextWakeUpAsync());
    }

    [Fact]
    public async Task AStepDroppedAndAddedBack_WithEveryVisit_EndsTheInstanceAtTheFirstPublish()
    {
        // The same versions with their visits: the instance ends when version 2 is published (checked and right before).
        await using var rig = JourneyRig.Create([Cart(1, WaitThenRemind)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });

        Assert.Equal(1, await rig.Engine.PublishJourneyAsync(Cart(2, PauseThenRemind)));
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);
        await rig.Engine.PublishJourneyAsync(Cart(3, WaitThenRemind));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
    }
}
