using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of session 58 (older reports arriving late): attacks on "a key's entry holds its newest report's values in any
/// arrival order", where the restore of a pruned key from the facts is refused (a filter matches an entry without
/// properties), across merges of three profiles, and for reports of one instant.
/// </summary>
public sealed class Review58Tests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);
    private static readonly Identifier Customer = Identifier.CustomerId("r58-1");
    private static readonly Identifier CookieA = Identifier.AnonymousId("cookie-r58-a");
    private static readonly Identifier CookieB = Identifier.AnonymousId("cookie-r58-b");

    /// <summary>One report: key, minute after 07:00 (the host starts at 08:00), value, coupon (null: none), event id and who sent it.</summary>
    private sealed record Report(string Key, int Minute, int Value, string? Coupon, string Id, Identifier Who);

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    [InlineData(EventTypes.ReferralConverted)]
    public async Task AnOlderReportOfAPrunedKey_MovesTheFirstTime_EvenWhenTheRestoreIsRefused(string type)
    {
        // "no coupon" matches an entry without properties, so no bare entry is ever put back. k2's newest report (07:22, with
        // a coupon and 50) matches no filter and is pruned as neither first nor last; its report of 06:59 (same values)
        // then arrives: in time order her first event is 06:59, and "first within 65 minutes" ends at 08:04, not 08:10.
        Report[] reports =
        [
            new("k1", 5, 10, "c", "e1", Customer), new("k2", 22, 50, "c", "e2", Customer), new("k3", 30, 10, "c", "e3", Customer),
            new("k2", -1, 50, "c", "e0", Customer),
        ];
        var timeOrder = await Run(type, reports, [3, 0, 1, 2]);
        var lateOlder = await Run(type, reports, [0, 1, 2, 3]);
        Assert.Contains("t=5 first=False", timeOrder, StringComparison.Ordinal);
        Assert.Equal(timeOrder, lateOlder);
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsEarned)]
    public async Task ThreeReportsOfOneInstant_OverThreeProfilesMergedInTwoSteps_ReadAsOneProfile(string type)
    {
        // Three reports of k2 at 08:10 with different ids and values; the highest id (e9, 50) is the newest. Spread over
        // the customer and two cookies that log in one after the other, in every arrival order.
        Report[] reports =
        [
            new("k1", 5, 10, "c", "e1", Customer), new("k2", 10, 150, "c", "e5", CookieA), new("k2", 10, 50, "c", "e9", CookieB),
            new("k2", 10, 120, "c", "e7", Customer), new("k3", 30, 10, "c", "e3", Customer),
        ];
        var oneProfile = await Run(type, reports.Select(r => r with { Who = Customer }).ToArray(), [0, 1, 2, 3, 4], merges: true);
        Assert.Contains("t=0 big=False", oneProfile, StringComparison.Ordinal);
        int[][] orders = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [3, 4, 1, 0, 2], [1, 2, 3, 0, 4]];
        foreach (var arrival in orders)
        {
            Assert.Equal(oneProfile, await Run(type, reports, arrival, merges: true));
        }
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    public async Task TheMiddleOfThreeReportsArrivingLast_AfterTheNewestWasPruned_ReadsAsTheNewest(string type)
    {
        // k2: 08:02 with 150, 08:12 with 150, corrected 08:22 to 50. The newest first (pruned), then the oldest, then the middle.
        Report[] reports =
        [
            new("k1", 5, 10, "c", "e1", Customer), new("k2", 22, 50, "c", "e4", Customer), new("k3", 30, 10, "c", "e3", Customer),
            new("k2", 2, 150, "c", "e2", Customer), new("k2", 12, 150, "c", "e5", Customer),
        ];
        var timeOrder = await Run(type, reports, [3, 0, 4, 1, 2]);
        Assert.Contains("t=0 big=False", timeOrder, StringComparison.Ordinal);
        Assert.Equal(timeOrder, await Run(type, reports, [0, 1, 2, 3, 4]));
        Assert.Equal(timeOrder, await Run(type, reports, [1, 0, 2, 4, 3]));
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    public async Task TheNewestReportRedelivered_AfterAnOlderOne_ReadsAsTheNewest(string type)
    {
        // k2's correction (07:22, 50; pruned), its older 150 of 06:59 (a stand-in goes back as her first), then the correction
        // again with its own event id (a redelivery), and once more with a new id at the same instant (a client retry).
        Report[] reports =
        [
            new("k1", 5, 10, "c", "e1", Customer), new("k2", 22, 50, "c", "e2", Customer), new("k3", 30, 10, "c", "e3", Customer),
            new("k2", -1, 150, "c", "e0", Customer), new("k2", 22, 50, "c", "e2", Customer), new("k2", 22, 50, "c", "e8", Customer),
        ];
        var timeOrder = await Run(type, reports, [3, 0, 1, 2]);
        Assert.Contains("t=0 big=False", timeOrder, StringComparison.Ordinal);
        Assert.Equal(timeOrder, await Run(type, reports, [0, 1, 2, 3, 4]));
        Assert.Equal(timeOrder, await Run(type, reports, [0, 1, 2, 3, 4, 5]));
        Assert.Equal(timeOrder, await Run(type, reports, [5, 0, 2, 3, 1]));
    }

    /// <summary>
    /// Generated reports (loyalty, referral or order keys, some with a coupon) in their generated arrival order read as in
    /// time order, with "no coupon" loaded (no restore from the facts) beside "100 or more" and first/last rules.
    /// </summary>
    [Property(MaxTest = 60)]
    public void AnyArrivalOrder_WithAFilterMatchingAnEntryWithoutProperties_ReadsAsTimeOrder(int typePick, int[] seeds)
    {
        string[] types = [EventTypes.OrderPlaced, EventTypes.LoyaltyPointsRedeemed, EventTypes.ReferralConverted, EventTypes.LoyaltyPointsEarned];
        var type = types[Spread(typePick) % types.Length];
        int[] values = [10, 50, 150];
        var reports = (seeds ?? []).Take(10).Select((seed, i) =>
        {
            var h = Spread(seed ^ (i * 7919));
            return new Report("k" + (h % 3), (int)((h / 3) % 41), values[(h / 123) % 3], (h / 369) % 3 == 0 ? null : "c", "e" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture), Customer);
        }).ToArray();
        var byTime = Enumerable.Range(0, reports.Length).OrderBy(i => reports[i].Minute).ThenBy(i => i).ToArray();
        var arrival = Enumerable.Range(0, reports.Length).OrderBy(i => Spread(seeds![i] * 31 + 17)).ThenBy(i => i).ToArray();
        var timeOrder = Run(type, reports, byTime).GetAwaiter().GetResult();
        Assert.Equal(timeOrder, Run(type, reports, arrival).GetAwaiter().GetResult());
        Assert.Equal(timeOrder, Run(type, reports, byTime.Reverse().ToArray()).GetAwaiter().GetResult());
    }

    /// <summary>A stand-in entry (values matching no filter) keeps that through the stored document.</summary>
    [Fact]
    public void AStandInEntry_SurvivesTheDocument()
    {
        var p = new CustomerProfile("r58", Start);
        var standIn = new RecordedEvent("order:k2", Start, null) { ValuesAt = Start.AddMinutes(22), MatchesNoFilter = true };
        p.RuleHistory.Events[EventTypes.OrderPlaced] = [standIn, new RecordedEvent("order:k3", Start.AddMinutes(30), null)];
        var back = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1).RuleHistory.EventsOf(EventTypes.OrderPlaced);
        Assert.Equal([standIn, new RecordedEvent("order:k3", Start.AddMinutes(30), null)], back);
        IReadOnlyList<PropertyCondition> noCoupon = [new PropertyCondition("coupon", new Condition(ConditionOperator.NotExists, null))];
        Assert.False(back[0].Matches(noCoupon, Start));
        Assert.False(WhereFilter.Of(noCoupon).Matches(back[0], Start));
        Assert.True(back[1].Matches(noCoupon, Start));
    }

    // A deterministic spread of a generated int over a wide range (no HashCode.Combine: randomized per process).
    private static int Spread(int x)
    {
        unchecked
        {
            var h = (uint)x * 2654435761u;
            h ^= h >> 15;
            h *= 2246822519u;
            h ^= h >> 13;
            return (int)(h & 0x7FFFFFFF);
        }
    }

    private static async Task<string> Run(string type, Report[] reports, int[] arrival, bool merges = false)
    {
        var valueName = SegmentAnswersOverTime.ValueName(type);
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "big", "name": "x", "rule": {"event": "{{{type}}}", "where": [{"property": "{{{valueName}}}", "op": "gte", "value": 100}]}}""").Value!);
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "nocoupon", "name": "x", "rule": {"event": "{{{type}}}", "where": [{"property": "coupon", "op": "notExists"}]}}""").Value!);
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "first", "name": "x", "rule": {"firstEvent": "{{{type}}}", "op": "withinLast", "value": "PT65M"}}""").Value!);
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "last", "name": "x", "rule": {"lastEvent": "{{{type}}}", "op": "moreThanAgo", "value": "PT75M"}}""").Value!);
        });
        foreach (var i in arrival)
        {
            var r = reports[i];
            var e = SegmentAnswersOverTime.KeyedReport(type, r.Key, r.Value, Start + TimeSpan.FromMinutes(r.Minute), r.Id, r.Who, r.Coupon);
            Assert.True((await host.TrackAsync(e)).IsAcknowledged);
        }

        if (merges)
        {
            foreach (var (cookie, minute) in new[] { (CookieA, 40), (CookieB, 41) })
            {
                await SegmentAnswersOverTime.LogInAsync(host, Customer, cookie, Start + TimeSpan.FromMinutes(minute), "login-" + minute);
            }
        }

        return await SegmentAnswersOverTime.ReadAsync(host, Customer, ["big", "nocoupon", "first", "last"]);
    }
}
