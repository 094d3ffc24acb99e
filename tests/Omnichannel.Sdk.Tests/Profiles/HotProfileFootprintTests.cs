using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Issue 14 (session 61): a hot profile holds only the collections she used. Reads on every event (segment checks, the
/// SMS keyword review, the cart's clear after an order, measurement's trims and tallies) made about twenty empty
/// dictionaries and lists per profile; at a million hot profiles that was most of a gigabyte. A collection made on first
/// use must never change what is stored: the document is the same whether a read made it or not.
/// </summary>
public sealed class HotProfileFootprintTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    // A time window (checks and memberships), a count over kept events (rule history) and a trait: the segment code runs.
    private static readonly string[] SegmentJsons =
    [
        """{"id": "recent-buyer", "name": "Recent buyer", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "P30D"}}""",
        """{"id": "frequent", "name": "Frequent", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 5}, "within": "P90D"}}""",
        """{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
    ];

    [Fact]
    public async Task ACustomerWhoSignedUpOrderedAndBrowsed_HoldsNoCollectionSheNeverUsed()
    {
        var time = new FakeTimeProvider(T0);
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), time);
        await engine.TrackAsync(Signup("c1"));
        await engine.TrackAsync(Order("c1", "o1", 0));
        await engine.TrackAsync(View("c1", 0));

        var id = (await engine.GetProfileAsync(Identifier.CustomerId("c1")))!.Id;
        var hot = await engine.HotCopyOfAsync(id);
        Assert.NotNull(hot);
        Assert.Single(hot.Orders);
        Assert.Null(hot.TraitValuesIfAny);
        Assert.Null(hot.ConsentRecordsIfAny);
        Assert.Null(hot.SegmentMembershipsIfAny);
        Assert.Null(hot.SegmentChecksIfAny);
        Assert.Null(hot.TouchesIfAny);
        Assert.Null(hot.TalliesIfAny);
        Assert.Null(hot.CartOpsIfAny);
        Assert.Equal(0, hot.RuleHistory.Answers.Count); // no leaf answers kept: the cache made no dictionary either
    }

    [Fact]
    public async Task WithSegmentsLoaded_OnlyTheCollectionsHerStateNeeds_AreMade()
    {
        var time = new FakeTimeProvider(T0);
        await using var engine = new OmnichannelEngine(Options(), new InMemoryOmnichannelStore(), time);
        await engine.TrackAsync(Signup("c1"));
        await engine.TrackAsync(View("c1", 0));

        var id = (await engine.GetProfileAsync(Identifier.CustomerId("c1")))!.Id;
        var hot = (await engine.HotCopyOfAsync(id))!;
        Assert.Null(hot.SegmentMembershipsIfAny); // in no segment, no check due
        Assert.Null(hot.SegmentChecksIfAny);

        await engine.TrackAsync(Order("c1", "o1", 0)); // enters "recent-buyer", which she leaves after 30 days: a check
        hot = (await engine.HotCopyOfAsync(id))!;
        Assert.True(hot.IsInSegment("recent-buyer"));
        Assert.NotNull(hot.SegmentChecksIfAny);
        Assert.Null(hot.ConsentRecordsIfAny);
    }

    [Fact]
    public async Task AnOrderDatedBeforeTheConversionRetention_ConvertsOnce_AndLeavesNoConversionRecord()
    {
        // An import of last year's orders: its conversion record would be trimmed in the same unit, so none is made.
        var time = new FakeTimeProvider(T0.AddDays(45));
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), time);
        await engine.TrackAsync(Signup("c1"));
        await engine.TrackAsync(Order("c1", "o1", 1));
        await engine.TrackAsync(Order("c1", "o1", 2) with { Id = "o1-again" }); // the same order sent again: no second conversion
        await engine.TrackAsync(Order("c1", "o2", 44)); // a recent one keeps its record

        var rows = await engine.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { MetricPrefix = Omnichannel.Sdk.Measurement.MeasurementMetrics.Conversion("order") });
        Assert.Equal(2, rows.Sum(r => r.Count));
        var id = (await engine.GetProfileAsync(Identifier.CustomerId("c1")))!.Id;
        var hot = (await engine.HotCopyOfAsync(id))!;
        Assert.Equal(["order:o2"], hot.OrderConversionsIfAny!.Keys.Order());
    }

    /// <summary>
    /// Whatever she does, the document a hot profile (collections made by earlier units' reads) writes is the document a
    /// profile loaded from the store for every event writes, and it reads back and writes again as the same bytes.
    /// </summary>
    [Property(MaxTest = 60)]
    public void TheStoredDocument_DoesNotDependOnWhichCollectionsAReadMade(NonNegativeInt[] steps)
    {
        var events = new List<CustomerEvent> { Signup("c1") };
        var n = 0;
        foreach (var step in steps.Take(40))
        {
            events.Add(EventOf(Mix((uint)step.Get), ++n));
        }

        var hot = RunAsync(events, profileCacheSize: 100).GetAwaiter().GetResult();
        var cold = RunAsync(events, profileCacheSize: 0).GetAwaiter().GetResult();
        Assert.Equal(cold.Document, hot.Document);
        Assert.Equal(hot.Raw, ProfileSerializer.Serialize(ProfileSerializer.Deserialize(hot.Raw, 1)));
    }

    private static async Task<(string Document, byte[] Raw)> RunAsync(IEnumerable<CustomerEvent> events, int profileCacheSize)
    {
        var time = new FakeTimeProvider(T0.AddDays(1));
        var store = new InMemoryOmnichannelStore();
        var options = Options();
        options.ProfileCacheSize = profileCacheSize;
        await using var engine = new OmnichannelEngine(options, store, time);
        foreach (var e in events)
        {
            await engine.TrackAsync(e);
            time.Advance(TimeSpan.FromMinutes(7));
        }

        var id = (await engine.GetProfileAsync(Identifier.CustomerId("c1")))!.Id;
        var raw = (await store.LoadProfileAsync(id))!.Document;
        var document = JsonNode.Parse(raw)!.AsObject();
        document["id"] = "p"; // profile ids are drawn at random
        return (document.ToJsonString(), raw);
    }

    private static OmnichannelOptions Options()
    {
        var options = new OmnichannelOptions();
        foreach (var json in SegmentJsons)
        {
            options.Segments.Add(SegmentJson.Parse(json).Value!);
        }

        return options;
    }

    // SplitMix64's finaliser: a step's kind and arguments spread over its bits, the same in every process.
    private static ulong Mix(uint x)
    {
        var z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static CustomerEvent EventOf(ulong r, int n)
    {
        var day = (int)((r >> 8) % 120);
        var product = $"sku-{(r >> 16) % 4}";
        return (r % 10) switch
        {
            0 => Order("c1", $"o{(r >> 20) % 6}", day), // an order, or one sent again
            1 => Item(EventTypes.CartItemAdded, product, day, n),
            2 => Item(EventTypes.CartItemRemoved, product, day, n),
            3 => Item(EventTypes.WishlistItemAdded, product, day, n),
            4 => At(new CustomerEvent
            {
                Timestamp = T0, Id = $"consent-{n}", Type = EventTypes.ConsentChanged, Identifiers = [Identifier.CustomerId("c1")],
                Properties = JsonData.From(new { channel = (r >> 24) % 2 == 0 ? "email" : "sms", granted = (r >> 25) % 2 == 0 }),
            }, day),
            5 => At(new CustomerEvent
            {
                Timestamp = T0, Id = $"traits-{n}", Type = "user.updated", Identifiers = [Identifier.CustomerId("c1")],
                Traits = JsonData.From(new { tier = (r >> 24) % 2 == 0 ? "gold" : "silver" }),
            }, day),
            6 => At(new CustomerEvent
            {
                Timestamp = T0, Id = $"loyalty-{n}", Type = EventTypes.LoyaltyPointsEarned, Identifiers = [Identifier.CustomerId("c1")],
                Properties = JsonData.From(new { points = 10, transaction_id = $"t{(r >> 20) % 3}" }),
            }, day),
            7 => At(new CustomerEvent
            {
                Timestamp = T0, Id = $"return-{n}", Type = EventTypes.OrderReturned, Identifiers = [Identifier.CustomerId("c1")],
                Properties = JsonData.From(new { order_id = $"o{(r >> 20) % 6}", total = 5, currency = "EUR" }),
            }, day),
            _ => View("c1", day),
        };
    }

    private static CustomerEvent At(CustomerEvent e, int day) => e with { Timestamp = T0.AddDays(day) };

    private static CustomerEvent Signup(string customer) => new()
    {
        Id = $"signup-{customer}", Type = "user.signed_up", Timestamp = T0,
        Identifiers = [Identifier.CustomerId(customer), Identifier.Email($"{customer}@example.com")],
    };

    private static CustomerEvent Order(string customer, string orderId, int day) => new()
    {
        Id = $"{orderId}-{day}", Type = EventTypes.OrderPlaced, Timestamp = T0.AddDays(day), Identifiers = [Identifier.CustomerId(customer)],
        Properties = JsonData.From(new { order_id = orderId, total = 20 + day, currency = "EUR" }),
    };

    private static CustomerEvent View(string customer, int day) => new()
    {
        Id = $"view-{customer}-{day}", Type = EventTypes.ProductViewed, Timestamp = T0.AddDays(day),
        Identifiers = [Identifier.CustomerId(customer)], Properties = JsonData.From(new { product_id = "sku-1" }),
    };

    private static CustomerEvent Item(string type, string product, int day, int n) => new()
    {
        Id = $"item-{n}", Type = type, Timestamp = T0.AddDays(day), Identifiers = [Identifier.CustomerId("c1")],
        Properties = JsonData.From(new { product_id = product, quantity = 1, price = 3 }),
    };
}
