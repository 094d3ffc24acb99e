using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated loyalty or referral event of audit U93.</summary>
/// <param name="Kind">0 points earned, 1 points redeemed, 2 referral sent, 3 referral converted, 4 an order (its <c>total</c>).</param>
/// <param name="Key">Its <c>transaction_id</c> or <c>referral_id</c> (few, so re-sends of one key are common).</param>
/// <param name="Minute">Event time in minutes after 08:00 (small, so equal times are common).</param>
/// <param name="Points">Picks its <c>points</c>: 10, 50 or 150 (a re-send may correct it).</param>
/// <param name="ArrivalKey">Sorts the events into their generated arrival order.</param>
public sealed record U93Event(int Kind, int Key, int Minute, int Points, int ArrivalKey);

/// <summary>FsCheck generators for audit U93.</summary>
public static class U93EventArbitrary
{
    public static Arbitrary<U93Event[]> Streams() =>
        Gen.ListOf(
                from kind in Gen.Choose(0, 4)
                from key in Gen.Choose(0, 2)
                from minute in Gen.Choose(0, 40)
                from points in Gen.Choose(0, 2)
                from arrival in Gen.Choose(0, 1_000_000)
                select new U93Event(kind, key, minute, points, arrival))
            .Select(l => l.Take(12).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit U93: a keyed loyalty or referral event re-sent with an earlier time moves its entry earlier (as an order's
/// does); the segment history then reads the same in every arrival order (U92's reproduction, item 3).
/// </summary>
public sealed class AuditU93Tests
{
    private static readonly Identifier Who = Identifier.CustomerId("u93");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-u93");
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);
    private static readonly string[] Types = [EventTypes.LoyaltyPointsEarned, EventTypes.LoyaltyPointsRedeemed, EventTypes.ReferralSent, EventTypes.ReferralConverted, EventTypes.OrderPlaced];
    private static readonly int[] PointValues = [10, 50, 150];

    /// <summary>Generated arrival order, time order and reverse time order give the same segment answers over time.</summary>
    [Property(Arbitrary = [typeof(U93EventArbitrary)], MaxTest = 300)]
    public void AnyArrivalOrder_OfLoyaltyAndReferralEvents_ReadsAsTimeOrder(U93Event[] events) =>
        Compare(events).GetAwaiter().GetResult();

    /// <summary>
    /// The same events split over two profiles (a cookie's and the customer's) and then merged read as one profile given
    /// them in time order: a key's older report on one side never outlives the newest report on the other.
    /// </summary>
    [Property(Arbitrary = [typeof(U93EventArbitrary)], MaxTest = 100)]
    public void AnyArrivalOrder_SplitOverTwoProfilesAndMerged_ReadsAsOneInTimeOrder(U93Event[] events)
    {
        var byTime = events.Select((e, i) => (e, i)).OrderBy(x => x.e.Minute).ThenBy(x => x.i).Select(x => x.i).ToArray();
        var oneProfile = Run(events, byTime, merge: true, split: false).GetAwaiter().GetResult();
        var generated = events.Select((e, i) => (e, i)).OrderBy(x => x.e.ArrivalKey).ThenBy(x => x.i).Select(x => x.i);
        Assert.Equal(oneProfile, Run(events, generated, merge: true, split: true).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task AReferralMovedEarlierByItsFirstReport_LeavesTheLastEntryKept()
    {
        // U92's case on referral.converted: r1 (150, 08:10), r2 (50, 08:16), r0 (10, first seen 08:36), then r0's 08:07.
        await Compare([new U93Event(3, 1, 10, 2, 1), new U93Event(3, 2, 16, 1, 2), new U93Event(3, 0, 36, 0, 3), new U93Event(3, 0, 7, 0, 4)]);
    }

    [Fact]
    public async Task APrunedEntry_ReSentLater_StaysAtItsFirstTime()
    {
        // k1 at 08:05, k0 at 08:07, k2 at 08:16 (10 points each): k0 is neither first nor last nor big and is pruned; its re-send of 08:36 then
        // arrives. In reverse order k0 stays at 08:07; it must not come back at 08:36 as a new last entry.
        await Compare([new U93Event(0, 1, 5, 0, 1), new U93Event(0, 0, 7, 0, 2), new U93Event(0, 2, 16, 0, 3), new U93Event(0, 0, 36, 0, 4)]);
    }

    [Fact]
    public async Task Control_ADistinctLaterEvent_StillMovesTheLastEntry()
    {
        // Control: no re-send. k0 at 08:07 then k1 at 08:36: her last points are 08:36 (lapsed after 09:51, not at 09:22).
        var answers = await Run([new U93Event(0, 0, 7, 2, 1), new U93Event(0, 1, 36, 2, 2)]);
        Assert.Contains("t=50 last-0=False", answers, StringComparison.Ordinal);
        Assert.Contains("t=55 last-0=True", answers, StringComparison.Ordinal);
    }

    private static async Task Compare(U93Event[] events)
    {
        var byTime = events.Select((e, i) => (e, i)).OrderBy(x => x.e.Minute).ThenBy(x => x.i).ToArray();
        var timeOrder = await Run(events, byTime.Select(x => x.i));
        var generated = await Run(events, events.Select((e, i) => (e, i)).OrderBy(x => x.e.ArrivalKey).ThenBy(x => x.i).Select(x => x.i));
        var reverse = await Run(events, byTime.Reverse().Select(x => x.i));
        Assert.Equal(timeOrder, generated);
        Assert.Equal(timeOrder, reverse);
    }

    private static Task<string> Run(U93Event[] events) => Run(events, Enumerable.Range(0, events.Length));

    // Segment answers (membership and member counts) every 5 minutes from 09:00 to 10:15.
    private static async Task<string> Run(U93Event[] events, IEnumerable<int> arrival, bool merge = false, bool split = false)
    {
        var ids = new List<string>();
        await using var host = OmnichannelTestHost.Create(o =>
        {
            for (var k = 0; k < Types.Length; k++)
            {
                var t = Types[k];
                void Add(string id, string rule)
                {
                    o.Segments.Add(SegmentJson.Parse($$"""{"id": "{{id}}", "name": "x", "rule": {{rule}}}""").Value!);
                    ids.Add(id);
                }

                Add($"last-{k}", $$"""{"lastEvent": "{{t}}", "op": "moreThanAgo", "value": "PT75M"}""");
                var value = k == 4 ? "total" : "points";
                Add($"lastbig-{k}", $$"""{"lastEvent": "{{t}}", "where": [{"property": "{{value}}", "op": "gte", "value": 100}], "op": "moreThanAgo", "value": "PT75M"}""");
                Add($"first-{k}", $$"""{"firstEvent": "{{t}}", "op": "withinLast", "value": "PT80M"}""");
                Add($"big-{k}", $$"""{"event": "{{t}}", "where": [{"property": "{{value}}", "op": "gte", "value": 100}]}""");
            }
        });
        foreach (var i in arrival)
        {
            var g = events[i];
            var key = (g.Kind < 2 ? "t" : g.Kind < 4 ? "r" : "o") + g.Key;
            var points = PointValues[g.Points];
            var e = new CustomerEvent
            {
                Id = "e" + i,
                Type = Types[g.Kind],
                Timestamp = Start + TimeSpan.FromMinutes(g.Minute),
                // Split: the arrival key's parity picks the side (it is drawn from 0 to 1,000,000), so one key's reports
                // land on both sides.
                Identifiers = [split && g.ArrivalKey % 2 == 0 ? Cookie : Who],
                Channel = ChannelNames.Web,
                Properties = g.Kind switch
                {
                    < 2 => System.Text.Json.JsonSerializer.SerializeToElement(new { transaction_id = key, points }),
                    < 4 => System.Text.Json.JsonSerializer.SerializeToElement(new { referral_id = key, points }),
                    _ => System.Text.Json.JsonSerializer.SerializeToElement(new { order_id = key, total = points, currency = "EUR" }),
                },
            };
            Assert.True((await host.TrackAsync(e)).IsAcknowledged);
        }

        if (merge)
        {
            await SegmentAnswersOverTime.LogInAsync(host, Who, Cookie, Start + TimeSpan.FromMinutes(45));
        }

        return await SegmentAnswersOverTime.ReadAsync(host, Who, ids, members: true);
    }
}
