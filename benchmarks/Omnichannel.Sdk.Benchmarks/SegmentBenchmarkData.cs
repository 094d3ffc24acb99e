using System.Globalization;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The deterministic inputs of <see cref="SegmentEvaluationBenchmarks"/>: 50 segments of realistic shapes, a profile's
/// past year of events, and a stream of new events after it. Everything comes from seeded <see cref="Random"/>s, so
/// every run (and every benchmark process) sees the same data.
/// </summary>
internal static class SegmentBenchmarkData
{
    /// <summary>The instant the past history ends and the stream starts.</summary>
    public static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Categories = ["toys", "food", "litter", "beds", "health", "accessories"];
    private static readonly string[] Campaigns = ["welcome", "spring", "summer", "black-friday", "xmas"];
    private static readonly string[] Tiers = ["bronze", "silver", "gold", "vip"];
    private static readonly string[] Countries = ["FR", "GB", "DE", "ES", "IT", "US"];
    private static readonly int[] WindowDays = [30, 90, 365];

    // The mix of event types, as a share of all events (per mille), with what a year of 1,000 events holds of each.
    private static readonly (string Type, int PerMille)[] Mix =
    [
        (EventTypes.ProductViewed, 380),
        (EventTypes.CartItemAdded, 150),
        (EventTypes.OrderPlaced, 150),
        (EventTypes.MessageOpened, 150),
        (EventTypes.MessageClicked, 50),
        (EventTypes.ProductSearched, 50),
        (EventTypes.WishlistItemAdded, 30),
        (EventTypes.OrderReturned, 20),
        ("user.updated", 20),
    ];

    /// <summary>The profile's past: a sign-up with traits, then <paramref name="count"/> events spread over the year before <see cref="Now"/>.</summary>
    public static List<CustomerEvent> History(int count)
    {
        var random = new Random(1234);
        var start = Now.AddDays(-365);
        var times = Enumerable.Range(0, count)
            .Select(_ => start.AddSeconds(random.NextInt64(1, 365L * 86_400)))
            .Order()
            .ToList();
        var events = new List<CustomerEvent>(count + 1)
        {
            new()
            {
                Id = "signup",
                Type = "user.signed_up",
                Timestamp = start,
                Identifiers = [Identifier.CustomerId("c1")],
                Traits = JsonData.From(new { tier = "gold", country = "FR", preferred_category = "toys", age = 34 }),
            },
        };
        for (var i = 0; i < count; i++)
        {
            events.Add(NextEvent(random, $"past-{i}", times[i]));
        }

        return events;
    }

    /// <summary>New events after <see cref="Now"/>, a few minutes to an hour apart.</summary>
    public static List<CustomerEvent> Stream(int count)
    {
        var random = new Random(5678);
        var t = Now;
        var events = new List<CustomerEvent>(count);
        for (var i = 0; i < count; i++)
        {
            t = t.AddSeconds(random.Next(5 * 60, 60 * 60));
            events.Add(NextEvent(random, $"new-{i}", t));
        }

        return events;
    }

    private static CustomerEvent NextEvent(Random random, string id, DateTimeOffset at)
    {
        var roll = random.Next(1000);
        var type = Mix[^1].Type;
        foreach (var (t, perMille) in Mix)
        {
            if (roll < perMille)
            {
                type = t;
                break;
            }

            roll -= perMille;
        }

        var category = Pick(random, Categories);
        var product = "p" + random.Next(300).ToString(CultureInfo.InvariantCulture);
        var e = new CustomerEvent
        {
            Id = id,
            Type = type,
            Timestamp = at,
            Identifiers = [Identifier.CustomerId("c1")],
            Channel = type.StartsWith("message.", StringComparison.Ordinal) ? ChannelNames.Email : ChannelNames.Web,
        };
        return type switch
        {
            EventTypes.ProductViewed => e with { Properties = JsonData.From(new { product_id = product, category, price = Money(random, 3, 80) }) },
            EventTypes.CartItemAdded => e with { Properties = JsonData.From(new { product_id = product, category, price = Money(random, 3, 80), quantity = random.Next(1, 4) }) },
            EventTypes.OrderPlaced => e with { Properties = JsonData.From(new { order_id = id, total = Money(random, 5, 300), currency = "GBP", category, items = random.Next(1, 6) }) },
            EventTypes.OrderReturned => e with { Properties = JsonData.From(new { order_id = id, total = Money(random, 5, 120), currency = "GBP" }) },
            EventTypes.MessageOpened or EventTypes.MessageClicked => e with { Properties = JsonData.From(new { channel = ChannelNames.Email, campaign = Pick(random, Campaigns), message_id = "m-" + id }) },
            EventTypes.ProductSearched => e with { Properties = JsonData.From(new { query = category }) },
            EventTypes.WishlistItemAdded => e with { Properties = JsonData.From(new { product_id = product, category }) },
            _ => e with { Traits = JsonData.From(new { tier = Pick(random, Tiers), preferred_category = category }) },
        };
    }

    /// <summary>
    /// 50 segments, generated from ten shapes in turn (leaf trait, statistic, event count, sum, recency, all, any,
    /// "did X but not Y", segment-of-segment, a three-level mix) with random parameters picked near what the history
    /// makes likely, so some profiles' answers are true and some false.
    /// </summary>
    public static List<SegmentDefinition> Segments(int count = 50)
    {
        var random = new Random(20260101);
        var r = RuleBuilder.Instance;
        var result = new List<SegmentDefinition>(count);
        for (var i = 0; i < count; i++)
        {
            SegmentRule rule = (i % 10) switch
            {
                0 => TraitLeaf(random),
                1 => StatLeaf(random),
                2 => EventLeaf(random),
                3 => SumLeaf(random),
                4 => RecencyLeaf(random),
                5 => r.All(AnyLeaf(random), AnyLeaf(random)),
                6 => r.Any(AnyLeaf(random), AnyLeaf(random), AnyLeaf(random)),
                7 => OpenedNotClicked(random),
                8 => r.All(r.Segment(result[random.Next(result.Count)].Id), AnyLeaf(random)),
                _ => r.All(TraitLeaf(random), r.Any(EventLeaf(random), RecencyLeaf(random)), r.Not(SumLeaf(random))),
            };
            var id = "seg-" + i.ToString("00", CultureInfo.InvariantCulture);
            result.Add(Segment.Define(id, "Benchmark segment " + i.ToString(CultureInfo.InvariantCulture)).Where(rule).Build());
        }

        return result;
    }

    private static SegmentRule AnyLeaf(Random random) => random.Next(5) switch
    {
        0 => TraitLeaf(random),
        1 => StatLeaf(random),
        2 => EventLeaf(random),
        3 => SumLeaf(random),
        _ => RecencyLeaf(random),
    };

    private static SegmentRule TraitLeaf(Random random)
    {
        var r = RuleBuilder.Instance;
        return random.Next(5) switch
        {
            0 => r.Trait("tier").Eq(Pick(random, Tiers)),
            1 => r.Trait("tier").In(Pick(random, Tiers), Pick(random, Tiers)),
            2 => r.Trait("country").In(Pick(random, Countries), Pick(random, Countries), Pick(random, Countries)),
            3 => r.Trait("preferred_category").Eq(Pick(random, Categories)),
            _ => r.Trait("age").Gte(random.Next(20, 50)),
        };
    }

    private static SegmentRule StatLeaf(Random random)
    {
        var r = RuleBuilder.Instance;
        return random.Next(2) == 0
            ? r.Stat(ProfileStatisticNames.OrderCount).Gte(random.Next(100, 200))
            : r.Stat(ProfileStatisticNames.TotalSpent).Gte(random.Next(15, 30) * 1000);
    }

    private static SegmentRule EventLeaf(Random random)
    {
        var r = RuleBuilder.Instance;
        var days = Pick(random, WindowDays);
        var window = "P" + days.ToString(CultureInfo.InvariantCulture) + "D";
        var (type, perMille) = Pick(random, [(EventTypes.OrderPlaced, 150), (EventTypes.ProductViewed, 380), (EventTypes.CartItemAdded, 150), (EventTypes.MessageOpened, 150), (EventTypes.MessageClicked, 50)]);
        var rule = r.Event(type).Within(window);
        double share;
        switch (type)
        {
            case EventTypes.OrderPlaced when random.Next(2) == 0:
                rule = rule.Where(r.Property("total").Gte(random.Next(50, 250)));
                share = 0.5;
                break;
            case EventTypes.OrderPlaced:
                rule = rule.Where(r.Property("category").Eq(Pick(random, Categories)));
                share = 1.0 / 6;
                break;
            case EventTypes.ProductViewed or EventTypes.CartItemAdded:
                rule = rule.Where(r.Property("category").In(Pick(random, Categories), Pick(random, Categories)));
                share = 1.0 / 3;
                break;
            default:
                rule = rule.Where(r.Property("campaign").Eq(Pick(random, Campaigns)));
                share = 1.0 / 5;
                break;
        }

        // About what a year of 1,000 events holds in the window, give or take half.
        var expected = perMille * share * days / 365.0;
        var threshold = Math.Max(1, (int)Math.Round(expected * (0.5 + random.NextDouble())));
        return threshold == 1 && random.Next(2) == 0 ? rule : rule.Count(c => c.Gte(threshold));
    }

    private static SegmentRule SumLeaf(Random random)
    {
        var r = RuleBuilder.Instance;
        var days = Pick(random, [90, 365]);
        var categories = random.Next(2) == 0 ? new[] { Pick(random, Categories), Pick(random, Categories) } : null;

        // Orders average ~152.5: the threshold is near the expected sum, give or take half.
        var expected = 150 * (categories is null ? 1.0 : 1.0 / 3) * days / 365.0 * 152.5;
        var threshold = (int)Math.Round(expected * (0.5 + random.NextDouble()));
        var rule = r.Sum(EventTypes.OrderPlaced, "total").Gte(threshold).Within("P" + days.ToString(CultureInfo.InvariantCulture) + "D");
        return categories is null ? rule : rule.Where(r.Property("category").In(categories[0], categories[1]));
    }

    private static SegmentRule RecencyLeaf(Random random)
    {
        var r = RuleBuilder.Instance;
        var type = Pick(random, [EventTypes.OrderPlaced, EventTypes.MessageOpened, EventTypes.MessageClicked, EventTypes.CartItemAdded]);
        var duration = "P" + Pick(random, [2, 7, 14, 30, 90]).ToString(CultureInfo.InvariantCulture) + "D";
        var last = r.LastEvent(type);
        var rule = random.Next(2) == 0 ? last.MoreThanAgo(duration) : last.WithinLast(duration);
        return random.Next(3) == 0 && type == EventTypes.OrderPlaced
            ? rule.Where(r.Property("category").Eq(Pick(random, Categories)))
            : rule;
    }

    // "Opened an email of a campaign in the last N days but never clicked one in that time."
    private static SegmentRule OpenedNotClicked(Random random)
    {
        var r = RuleBuilder.Instance;
        var window = "P" + Pick(random, [7, 14, 30]).ToString(CultureInfo.InvariantCulture) + "D";
        var campaign = Pick(random, Campaigns);
        return r.All(
            r.Event(EventTypes.MessageOpened).Where(r.Property("campaign").Eq(campaign)).Within(window),
            r.Not(r.Event(EventTypes.MessageClicked).Where(r.Property("campaign").Eq(campaign)).Within(window)));
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    private static decimal Money(Random random, int min, int max) => Math.Round(min + (decimal)random.NextDouble() * (max - min), 2);
}
