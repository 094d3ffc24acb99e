using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U49: trust defects left alone earlier, round 3 (segments and journeys). Public API only, the test kit's fake
/// clock; bug reports of Segment Personas/Engage, Braze, Customer.io and Iterable.
/// </summary>
public sealed class AuditU49Tests
{
    // ---- 1. A segment definition changed across a restart ----
    [Fact]
    public async Task ASegmentChangedOrRemovedAcrossARestart_IsInForceForEveryProfile_WithoutAnEvent()
    {
        var store = new InMemoryOmnichannelStore();
        await AuditU49RestartScenario.RunAsync(() => Task.FromResult<IOmnichannelStore>(store), _ => ValueTask.CompletedTask);
    }

    // ---- 2. A merge bringing only old history ----
    // Braze/Customer.io "browse abandonment" sent weeks late when a guest logs in (the merged history is not new
    // behaviour). Her cookie viewed a product 40 days ago; a journey on "product.viewed" (or on entering "viewers", viewed
    // in 60 days) has the default maxAge of a day. Checked and already right (audit U41's rule: the event's own time
    // decides), in both arrival orders: the view tracked live on the cookie before the login (the cookie's own entry ran
    // then; the merge starts nothing), or uploaded after the login (refused: older than maxAge). A view a minute old
    // uploaded after the login starts the journey (the control: new behaviour still does).
    [Theory]
    [InlineData("event", true, 40)]
    [InlineData("event", false, 40)]
    [InlineData("segment", true, 40)]
    [InlineData("segment", false, 40)]
    [InlineData("event", false, 0)]
    [InlineData("segment", false, 0)]
    public async Task AMergeBringingOnlyOldHistory_StartsNoJourney_InEitherArrivalOrder(string trigger, bool viewedBeforeLogin, int daysOld)
    {
        var ann = Identifier.CustomerId("ann");
        var cookie = Identifier.AnonymousId("cookie-49");
        var start = new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);
        var viewers = SegmentJson.Parse("""{"id": "viewers", "name": "viewers", "rule": {"event": "product.viewed", "within": "P60D"}}""").Value!;
        var on = trigger == "event" ? """{"type": "event", "event": "product.viewed"}""" : """{"type": "segment", "segment": "viewers", "on": "entered"}""";
        var browse = JourneyRig.Parse($$"""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {{on}},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([browse], [viewers], start: start);
        await rig.TrackAsync("profile.updated", [ann, Identifier.Email("ann@example.com")], traits: new { name = "Ann" });
        if (viewedBeforeLogin)
        {
            await rig.TrackAsync("product.viewed", [cookie]); // live, with no address: nothing can be sent
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(40));
        await rig.TrackAsync("user.logged_in", [cookie, ann]);
        if (!viewedBeforeLogin)
        {
            await rig.Host.TrackAsync(rig.Host.Event("product.viewed", [cookie], at: rig.Host.Time.GetUtcNow().AddDays(-daysOld).AddMinutes(daysOld == 0 ? -1 : 0)));
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(daysOld == 0 ? ["email:browse"] : [], rig.Sent());
        Assert.True((await rig.Host.ProfileAsync(ann)).IsInSegment("viewers"));
    }
}
