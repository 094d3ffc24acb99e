using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the thirty-fourth session's changes: a hostile pass over 31d706e (renumbering at a merge), 3049636 (an
/// ended entry's correlation value), eb46a7c (the conversion's timeline name) and de2fc0d (transitions time made, settled
/// by an event). Reports: getdatakick/revws#75 and mautic/mautic#5246 (history starting campaigns; the reverse, a due
/// campaign lost to history, is what is probed here).
/// </summary>
public sealed class Review34Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    // Lapsed buyers who still browse: the page view's type is read by the segment (its history rule counts page views).
    private static readonly SegmentDefinition LapsedBrowser = AuditSoakH2Tests.Seg("""
        {"id": "lapsed-browser", "name": "Lapsed browser", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1},
          {"stat": "lastOrderAt", "op": "moreThanAgo", "value": "P90D"}, {"event": "page.viewed", "within": "P365D"}]}}
        """);

    private static JourneyDefinition OnSegment(string id, string segment) => AuditSoakH2Tests.OnSegment(id, segment);

    // de2fc0d made a due transition time's only in segments the event cannot change. A segment that counts the event's
    // type can still not be changed at an instant before the event (events after t never count at t): her lapse fell due
    // at day 90 while wake-ups could not run, and a page view from day 91 (synced at day 93, or imported as historical)
    // settled it. Before: the lapse was the page view's, refused as older than maxAge (or historical), and the wake-up
    // found her already lapsed: the win-back never went.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALapseDueBeforeALateEventOfATypeTheSegmentCounts_StillStartsItsJourney(bool historical)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var rig = JourneyRig.Create([OnSegment("win-back", "lapsed-browser")], [LapsedBrowser], store: store);
        await rig.TrackAsync("order.placed", [Ann, AnnMail], new { order_id = "o1", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("page.viewed", [Ann], new { url = "/shoes" });
        await rig.AdvanceAsync(TimeSpan.FromDays(87));
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "lapsed-browser");

        await AuditSoakH2Tests.SettleTheDueLapseWithALateViewAsync(rig, store, "lapsed-browser", TimeSpan.FromDays(5), TimeSpan.FromDays(2), historical);
    }

    // The control: a late event from before the check's instant, of a type the segment counts, is still the cause (it is
    // counted at that instant), so an old one is still refused.
    [Fact]
    public async Task ALateEventFromBeforeTheDueCheck_StillCausesItsTransition_AndIsRefusedWhenOld()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var rig = JourneyRig.Create([OnSegment("win-back", "lapsed-browser")], [LapsedBrowser], store: store);
        await rig.TrackAsync("order.placed", [Ann, AnnMail], new { order_id = "o1", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(88));
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "lapsed-browser");

        Volatile.Write(ref store.FailDueReads, int.MaxValue);
        rig.Host.Time.Advance(TimeSpan.FromDays(5));
        // Her only page view, from day 10: without it she was never a lapsed browser, so it made the transition.
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync("page.viewed", [Ann], new { url = "/shoes" }, at: rig.Host.Time.GetUtcNow().AddDays(-83))).Status);
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "lapsed-browser");

        Volatile.Write(ref store.FailDueReads, 0);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.entry_refused");
    }

    // 3049636 keeps the ended entry's correlation value as text: a client that sends the cart id as a number in one event
    // and as a string in the other (a template's quoting) still names one cart, as for a running entry; another id does not.
    [Theory]
    [InlineData("42", 1)]
    [InlineData("43", 0)]
    public async Task AnEndedEntryForCart42_IsConvertedByAnOrderNamingIt_AsTextOrNumber(string orderedCart, long converted)
    {
        await using var rig = JourneyRig.Create([LeftAlone33Tests.CartJourney()]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = 42, product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys);

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", cart_id = orderedCart, total = 20 });
        Assert.Equal(converted, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }
}
