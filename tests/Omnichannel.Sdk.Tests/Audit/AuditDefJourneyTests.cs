using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Def: journeys removed, re-published and re-added while instances wait in them.</summary>
public sealed class AuditDefJourneyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Cart(string entry = "{}", string wait = "PT1H") => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {{entry}}, "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "{{wait}}"},
                   {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> WaitingAsync(params JourneyDefinition[] journeys)
    {
        var rig = JourneyRig.Create(journeys);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        Assert.Equal("wait", Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).StepId);
        return rig;
    }

    // The removal applies, but the visit of waiting profiles does not happen (cancelled; on a cluster it runs in the background).
    private static async Task RemoveWithoutVisitAsync(JourneyRig rig, string journeyId)
    {
        // Unloaded, with no visit of its running instances (a pre-cancelled token did this before audit U29; it now does nothing).
        Assert.True(rig.Engine.DropJourney(journeyId, apply: true));
        await Task.CompletedTask;
        Assert.DoesNotContain(rig.Engine.Journeys, j => j.Id == journeyId);
    }

    [Fact]
    public async Task Removed_WhileAnInstanceWaits_SendsNothingLater_AndEndsItWithTheReason()
    {
        await using var rig = await WaitingAsync(Cart());

        Assert.True(await rig.Engine.RemoveJourneyAsync("cart"));
        var ann = await rig.Host.ProfileAsync(Ann);
        Assert.Empty(ann.Journeys);
        Assert.Contains(ann.Timeline, t => t.Type == "journey.exited" && t.Summary == "cart: the journey is no longer loaded (removed, or not registered on the process that ran her wake-up or event)");

        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        Assert.Null(await rig.Engine.GetNextWakeUpAsync());
    }

    [Fact]
    public async Task RemovedWithoutAVisit_ThenRepublishedUnderTheSameVersion_DoesNotResumeTheOldInstance()
    {
        await using var rig = await WaitingAsync(Cart());
        await RemoveWithoutVisitAsync(rig, "cart");

        // The same id and version, other content: Ann's wait belonged to the removed journey.
        await rig.Engine.PublishJourneyAsync(Cart(wait: "PT2H"));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        var ann = await rig.Host.ProfileAsync(Ann);
        Assert.Empty(ann.Journeys);
        Assert.Contains(ann.Timeline, t => t.Type == "journey.exited" && t.Summary!.StartsWith("cart: the journey was removed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RemovedWithoutAVisit_ThenRepublished_ANewTriggerEntersAnew_TheStaleInstanceDoesNotBlockIt()
    {
        await using var rig = await WaitingAsync(Cart());
        await RemoveWithoutVisitAsync(rig, "cart");
        await rig.Engine.PublishJourneyAsync(Cart());

        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });
        var started = rig.Host.Time.GetUtcNow();
        Assert.Equal(started, Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).StartedAt);

        // One reminder, an hour after the new entry (not 30 minutes after it, on the old instance's clock).
        await rig.AdvanceAsync(TimeSpan.FromMinutes(45));
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        Assert.Single(rig.Recorder.Sent<EmailMessage>());
    }

    [Fact]
    public async Task ReEntryNever_HoldsAcrossRemoveAndReAdd_OfTheSameJourneyId()
    {
        // "never: once per profile, ever": the id is the journey, so removing and adding it again does not reset it.
        await using var rig = await WaitingAsync(Cart("""{"reEntry": "never"}"""));
        Assert.True(await rig.Engine.RemoveJourneyAsync("cart"));
        await rig.Engine.PublishJourneyAsync(Cart("""{"reEntry": "never"}"""));

        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });
        var ann = await rig.Host.ProfileAsync(Ann);
        Assert.Empty(ann.Journeys);
        Assert.Contains(ann.Timeline, t => t.Type == "journey.entry_refused");
    }

    [Fact]
    public async Task RepublishedWithTheWaitingStepNowASend_TheOldVersionFinishes_NoCrashNoStuckWakeUp()
    {
        await using var rig = await WaitingAsync(Cart());
        var v2 = JourneyRig.Parse("""
            {"id": "cart", "version": 2, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "wait", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
            """);
        await rig.Engine.PublishJourneyAsync(v2);

        // Running instances finish on their version (the documented rule): one reminder, after the hour.
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Single(rig.Recorder.Sent<EmailMessage>());
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);
        Assert.Null(await rig.Engine.GetNextWakeUpAsync());
    }
}
