using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>One generated step of a small shop: who acts (identifier bits), what, and how long after the previous step.</summary>
public sealed record ShopStep(int Kind, int IdentifierMask, int Hours);

public static class ShopStepArbitrary
{
    public static Arbitrary<ShopStep[]> Steps() =>
        Gen.ListOf(
                from kind in Gen.Choose(0, 4)
                from mask in Gen.Choose(1, 15)
                from hours in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Choose(1, 30)))
                select new ShopStep(kind, mask, hours))
            .Select(l => l.Take(25).ToArray())
            .ToArbitrary();
}

/// <summary>
/// The aggregates are maintained incrementally in each commit; whatever happens (entries, waits, goals, merges), the
/// journey statistics read from them equal the per-profile counters summed over every profile (the old full scan), and
/// <c>journey:active</c> equals the instances running.
/// </summary>
public sealed class AggregateProperties
{
    private static readonly Identifier[] Ids =
    [
        Identifier.CustomerId("a"), Identifier.Email("a@example.com"), Identifier.AnonymousId("cookie-a"), Identifier.AnonymousId("cookie-b"),
    ];

    private static readonly JourneyDefinition Cart = JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterPreviousEnded", "correlationKey": "product_id", "maxConcurrent": 3}, "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "wait"}, {"name": "b", "weight": 1, "next": "nudge"}], "controlWeight": 1},
                   {"id": "wait", "type": "delay", "duration": "PT12H"},
                   {"id": "nudge", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    [Property(Arbitrary = [typeof(ShopStepArbitrary)], MaxTest = 60)]
    public void JourneyStatisticsFromAggregates_EqualTheSumOverProfiles(ShopStep[] steps) => Run(steps).GetAwaiter().GetResult();

    private static async Task Run(ShopStep[] steps)
    {
        await using var rig = JourneyRig.Create([Cart]);
        var n = 0;
        foreach (var s in steps)
        {
            if (s.Hours > 0)
            {
                await rig.AdvanceAsync(TimeSpan.FromHours(s.Hours));
            }

            var ids = Ids.Where((_, i) => (s.IdentifierMask & (1 << i)) != 0).ToList();
            n++;
            switch (s.Kind)
            {
                case 0 or 1:
                    await rig.Host.TrackAsync(EventTypes.CartItemAdded, ids, new { product_id = "p" + (n % 4) });
                    break;
                case 2:
                    await rig.Host.TrackAsync(EventTypes.OrderPlaced, ids, new { order_id = "o" + n, total = n });
                    break;
                case 3:
                    await rig.Host.TrackAsync("user.logged_in", ids); // may merge profiles
                    break;
                default:
                    await rig.Host.TrackAsync("page.viewed", ids);
                    break;
            }

            await rig.Engine.RunDispatchAsync();
        }

        // The old way: every profile's own counters, summed; instances running, counted.
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        long active = 0;
        string? after = null;
        while (await rig.Engine.Store.ListProfileIdsAsync(after, 100) is { Count: > 0 } page)
        {
            foreach (var id in page)
            {
                var p = (await rig.Engine.GetProfileByIdAsync(id))!;
                active += p.Journeys.Count;
                foreach (var (k, v) in p.JourneyData?.Counters ?? [])
                {
                    counters[k] = counters.GetValueOrDefault(k) + v;
                }
            }

            after = page[^1];
        }

        var scanned = JourneyStatistics.From("cart", counters.Where(kv => kv.Key.StartsWith("cart|", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value), active);
        var read = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(
            (scanned.Entered, scanned.Active, scanned.Completed, scanned.Exited, scanned.Control, scanned.Converted, scanned.EntriesRefused),
            (read.Entered, read.Active, read.Completed, read.Exited, read.Control, read.Converted, read.EntriesRefused));
        Assert.Equal(scanned.Variants.OrderBy(kv => kv.Key), read.Variants.OrderBy(kv => kv.Key));
        Assert.Equal(scanned.ExitReasons.OrderBy(kv => kv.Key), read.ExitReasons.OrderBy(kv => kv.Key));
        Assert.Equal(scanned.Steps.Keys.Order(), read.Steps.Keys.Order());
        foreach (var (step, s) in scanned.Steps)
        {
            var r = read.Steps[step];
            Assert.Equal((s.Entered, s.Sent, s.Skipped, s.Converted), (r.Entered, r.Sent, r.Skipped, r.Converted));
        }
    }
}
