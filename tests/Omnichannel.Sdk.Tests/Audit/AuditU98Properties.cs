using FsCheck.Xunit;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U98, item 3 as a rule over every arrival: one order converts at most one entry of a journey, however many other
/// orders' goal records are remembered between its reports (the per-journey cap of 20 once pushed a credited order's
/// record out). Arrival orders are spread from a generated int by a SplitMix64 finaliser (deterministic across processes).
/// </summary>
public sealed class AuditU98Properties
{
    private static readonly Identifier Who = Identifier.CustomerId("u98p");
    private static readonly DateTimeOffset Eight = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1); // 08:00

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static CustomerEvent Order(string id, int minute, string orderId, int total) => new()
    {
        Id = id,
        Type = EventTypes.OrderPlaced,
        Timestamp = Eight + TimeSpan.FromMinutes(minute),
        Identifiers = [Who],
        Channel = ChannelNames.Web,
        Properties = JsonData.From(new { order_id = orderId, total, currency = "EUR" }),
    };

    private static async Task<(long Entered, long Converted)> Run(IEnumerable<CustomerEvent> arrival)
    {
        var journey = JourneyRig.Parse(AuditU95Tests.TwoEntriesOneGoal);
        await using var rig = JourneyRig.Create([journey], start: Eight);
        await rig.TrackAsync("user.signed_up", [Who, Identifier.Email("u98p@example.com")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(12));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(68)); // 09:20
        foreach (var e in arrival)
        {
            Assert.True((await rig.Host.TrackAsync(e)).IsAcknowledged);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(4));
        var s = await rig.Engine.GetJourneyStatisticsAsync("two");
        return (s.Entered, s.Converted);
    }

    /// <summary>
    /// o0 placed at 08:09 (150) and corrected at 08:22 (50), 0–40 other orders from 08:30 (past both goal windows), in an
    /// arrival order spread from <paramref name="spread"/>: entries and conversions equal the event-time-order run's.
    /// </summary>
    [Property(MaxTest = 40)]
    public void AnyArrivalOrder_OfAnOrdersReportsAmongOthers_ConvertsAsTimeOrder(int spread, byte many)
    {
        var others = many % 41;
        List<CustomerEvent> byTime = [Order("o0-first", 9, "o0", 150), Order("o0-fixed", 22, "o0", 50)];
        byTime.AddRange(Enumerable.Range(1, others).Select(k => Order($"o{k}", 29 + k, $"o{k}", 20)));
        var expected = Run(byTime).GetAwaiter().GetResult();
        var arrival = byTime.Select((e, i) => (e, Key: Mix(unchecked((ulong)(uint)spread * 0x100000001UL + (ulong)i))))
            .OrderBy(x => x.Key).Select(x => x.e).ToList();
        Assert.Equal(expected, Run(arrival).GetAwaiter().GetResult());

        // The worst case for the cap: the correction first, every other order, the first report last.
        Assert.Equal(expected, Run([byTime[1], .. byTime.Skip(2), byTime[0]]).GetAwaiter().GetResult());
    }
}
