using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Segments.Evaluation;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Live;

/// <summary>One generated step: which customer, what event, how long the clock moves before and after it.</summary>
public sealed record LiveStep(int Customer, bool Order, int AdvanceMinutes, int LateMinutes, int Amount, int CheckAfterMinutes);

/// <summary>FsCheck generators for streams of steps.</summary>
public static class LiveStepArbitrary
{
    public static Arbitrary<LiveStep[]> Steps() =>
        Gen.ArrayOf(
                from customer in Gen.Choose(0, 2)
                from order in Gen.Frequency((2, Gen.Constant(true)), (1, Gen.Constant(false)))
                from advance in Gen.Frequency((2, Gen.Constant(0)), (8, Gen.Choose(1, 20 * 24 * 60)))
                from late in Gen.Frequency((7, Gen.Constant(0)), (3, Gen.Choose(1, 3 * 24 * 60)))
                from amount in Gen.Choose(1, 400)
                from check in Gen.Frequency((3, Gen.Constant(0)), (7, Gen.Choose(1, 40 * 24 * 60)))
                select new LiveStep(customer, order, advance, late, amount, check))
            .ToArbitrary();
}

/// <summary>
/// The whole engine (queues, store, wake-ups, pruning, merges of nothing) against a from-scratch evaluation of each
/// customer's full history: at every instant the test stops, the live membership equals the plain answer.
/// </summary>
public sealed class LiveEqualsFromScratchProperties
{
    private static readonly SegmentDefinition[] Segments =
    [
        Segment.Define("orders-2-in-30d", "x").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(2)).Within("P30D")),
        Segment.Define("lapsed-45d", "x").Where(r => r.LastEvent(EventTypes.OrderPlaced).MoreThanAgo("P45D")),
        Segment.Define("spent-500-in-60d", "x").Where(r => r.Sum(EventTypes.OrderPlaced, "total").Gte(500).Within("P60D")),
        Segment.Define("viewer-not-buyer", "x").Where(r => r.All(
            r.Event(EventTypes.ProductViewed).Within("P14D"),
            r.Not(r.Event(EventTypes.OrderPlaced).Within("P14D")))),
        Segment.Define("big-order-month", "x").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("total").Gte(300)).Within("P1M")),
        Segment.Define("first-order-recent", "x").Where(r => r.FirstEvent(EventTypes.OrderPlaced).WithinLast("P90D")),
    ];

    [Property(Arbitrary = [typeof(LiveStepArbitrary)], MaxTest = 40)]
    public void LiveMembership_EqualsFromScratchEvaluation_AtEveryStop(LiveStep[] steps) => Run(steps).GetAwaiter().GetResult();

    private static async Task Run(LiveStep[] steps)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Partitions = 2;
            foreach (var s in Segments)
            {
                o.Segments.Add(s);
            }
        });
        var history = new Dictionary<int, List<CustomerEvent>>();
        foreach (var step in steps)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(step.AdvanceMinutes));
            var who = Identifier.CustomerId($"c{step.Customer}");
            var e = step.Order
                ? host.Event(EventTypes.OrderPlaced, [who], new { order_id = Guid.NewGuid().ToString("N"), total = step.Amount, currency = "GBP" })
                : host.Event(EventTypes.ProductViewed, [who], new { product_id = "p" + step.Amount });
            e = e with { Timestamp = e.Timestamp.AddMinutes(-step.LateMinutes) };
            await host.TrackAsync(e);
            (history.TryGetValue(step.Customer, out var list) ? list : history[step.Customer] = []).Add(e);

            await host.AdvanceAsync(TimeSpan.FromMinutes(step.CheckAfterMinutes));
            var now = host.Time.GetUtcNow();
            foreach (var (customer, events) in history)
            {
                var profile = await host.ProfileAsync(Identifier.CustomerId($"c{customer}"));
                foreach (var s in Segments)
                {
                    var expected = ReferenceEvaluator.Holds(s.Rule, events, now);
                    Assert.True(expected == profile.IsInSegment(s.Id), $"c{customer} {s.Id} at {now:O}: expected {expected}");
                }
            }
        }
    }
}
