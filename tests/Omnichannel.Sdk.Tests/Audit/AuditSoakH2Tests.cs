using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Property soak B (thirty-fourth session): a hostile review of U41's <c>SegmentTrigger.MaxAge</c> and
/// <c>EventContext.Historical</c>. Can history still start a segment journey another way, and can a transition no old
/// event caused be refused as history? Reports: getdatakick/revws#75 (emails sent when importing), mautic/mautic#5246
/// (a campaign on a segment runs for everyone a back-fill put in it), segmentio/action-destinations#3094.
/// </summary>
public sealed class AuditSoakH2Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnCookie = Identifier.AnonymousId("cookie-ann");

    internal static SegmentDefinition Seg(string json) => SegmentJson.Parse(json).Value ?? throw new InvalidOperationException(string.Join("; ", SegmentJson.Parse(json).Errors));

    private static readonly SegmentDefinition Buyers = Seg("""{"id": "buyers", "name": "Buyers", "rule": {"stat": "orderCount", "op": "gte", "value": 1}}""");

    private static readonly SegmentDefinition Lapsed = Seg("""{"id": "lapsed", "name": "Lapsed", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"stat": "lastOrderAt", "op": "moreThanAgo", "value": "P90D"}]}}""");

    internal static JourneyDefinition OnSegment(string id, string segment, string on = "entered", string delay = "PT1H") => JourneyRig.Parse($$"""
        {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {"type": "segment", "segment": "{{segment}}", "on": "{{on}}"},
         "steps": [{"id": "wait", "type": "delay", "duration": "{{delay}}"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "{{id}}", "class": "transactional"}]}
        """);

    private static object Order(string id) => new { order_id = id, total = 20, currency = "EUR" };

    // A lapse that fell due while the engine's wake-ups could not run (a store outage) is settled by the next event she
    // sends, at its own instant. Before: that event was taken as the transition's cause, so a device syncing a 3-day-old
    // page view (or an import marked historical) refused the win-back her lapse — time passing, not history — had earned,
    // and the wake-up that ran later found her already in the segment: the win-back never went.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALapseSettledByAnOldOrHistoricalEvent_StillStartsTheLapsedJourney(bool historical)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var rig = JourneyRig.Create([OnSegment("win-back", "lapsed")], [Lapsed], store: store);
        await rig.TrackAsync("order.placed", [Ann, AnnMail], Order("o1"));
        await rig.AdvanceAsync(TimeSpan.FromDays(89));
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "lapsed");

        await SettleTheDueLapseWithALateViewAsync(rig, store, "lapsed", TimeSpan.FromDays(2), TimeSpan.FromDays(3), historical);
    }

    // Wake-ups cannot run while the clock moves past her due lapse; then a page view (back-dated by lateBy, or imported as
    // historical) settles it, wake-ups recover, and the win-back goes with no refusal on her timeline.
    internal static async Task SettleTheDueLapseWithALateViewAsync(JourneyRig rig, FlakyStore store, string segmentId, TimeSpan advance, TimeSpan lateBy, bool historical)
    {
        Volatile.Write(ref store.FailDueReads, int.MaxValue); // the wake-up at day 90 cannot run
        rig.Host.Time.Advance(advance);
        var late = rig.Host.Event("page.viewed", [Ann], new { url = "/shoes" }, at: rig.Host.Time.GetUtcNow() - (historical ? TimeSpan.Zero : lateBy),
            context: historical ? new EventContext { Historical = true } : null);
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(late)).Status);
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == segmentId);

        Volatile.Write(ref store.FailDueReads, 0);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:win-back"], rig.Sent());
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.entry_refused");
    }

    // The control: the old event's own transition is still history, though a lapse is settled with it.
    [Fact]
    public async Task AnOldOrderSettledWithADueLapse_IsStillRefused_ForItsOwnTransition()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var rig = JourneyRig.Create([OnSegment("win-back", "lapsed"), OnSegment("review", "buyers")], [Lapsed, Buyers], store: store);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var bob = Identifier.CustomerId("bob");
        await rig.TrackAsync("order.placed", [bob, Identifier.Email("bob@example.com")], Order("b1"));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:review"], rig.Sent());
        var r = await rig.Host.TrackAsync("order.placed", [Ann], Order("old"), at: rig.Host.Time.GetUtcNow().AddDays(-200));
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "buyers" && c.Entered);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "lapsed" && c.Entered);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:review"], rig.Sent()); // Bob's: Ann's old order sends neither
    }

    // A merge brings an old order: her guest profile held a 300-day-old imported order (refused there), and her live login
    // links it. She was already a buyer as that person, so no transition and no review request.
    [Fact]
    public async Task ALoginLinkingAGuestWithAnImportedOldOrder_SendsNoReviewRequest()
    {
        await using var rig = JourneyRig.Create([OnSegment("review", "buyers")], [Buyers]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.Host.TrackAsync("order.placed", [AnnCookie], Order("o1"), at: rig.Host.Time.GetUtcNow().AddDays(-300));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync("user.logged_in", [Ann, AnnCookie]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "buyers");
    }

    // A live guest order linked at login still starts the journey (the merge brings fresh data).
    [Fact]
    public async Task ALoginLinkingAGuestWithTodaysOrder_StillSendsTheExitJourney()
    {
        var neverOrdered = Seg("""{"id": "never-ordered", "name": "Never ordered", "rule": {"stat": "orderCount", "op": "eq", "value": 0}}""");
        await using var rig = JourneyRig.Create([OnSegment("thanks", "never-ordered", on: "exited")], [neverOrdered]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("order.placed", [AnnCookie], Order("o1"));
        await rig.TrackAsync("user.logged_in", [Ann, AnnCookie]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:thanks"], rig.Sent());
    }
}
