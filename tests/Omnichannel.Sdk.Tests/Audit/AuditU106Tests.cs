using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U106: the sixty-fifth session's order cost (only her cart lines rebuilt when a new order moves the clear later),
/// joined runs (kept runs at a collection's end joined sixteen at a time), the in-memory store's segment sets and the
/// element writers, driven through the engine together: a customer with thousands of orders arriving several hundred per
/// batch in a shuffled order (late earlier orders, updates, returns), a cart busy between them, a second profile with its
/// own orders and cart merged in, cancellations, and a hot cache small enough that her profile is evicted and read again.
/// After every batch her stored document must be what the serializer writes for it, read back the same, and the live
/// profile must be the stored one; segment members must be the profiles whose stored segments name them.
/// </summary>
public sealed class AuditU106Tests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-ann");

    public static TheoryData<int, long> Cases => new()
    {
        { 1, 16 * 1024 },       // evicted: read from her document for nearly every batch
        { 2, 64L * 1024 * 1024 }, // kept hot: the kept runs and joins carry over from write to write
        { 3, 64L * 1024 * 1024 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ThousandsOfOrders_ABusyCart_AMergeAndCancellations_StoreWhatTheSerializerWrites(int seed, long cacheBytes)
    {
        var random = new Random(seed);
        var store = new InMemoryOmnichannelStore();
        var time = new FakeTimeProvider(T0.AddDays(200));
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { Partitions = 2, ProfileCacheBytes = cacheBytes }, store, time);
        foreach (var json in new[]
        {
            """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 500}}""",
            """{"id": "carters", "name": "x", "rule": {"event": "cart.item_added", "count": {"op": "gte", "value": 3}}}""",
        })
        {
            await engine.UpsertSegmentAsync(Omnichannel.Sdk.Segments.SegmentJson.Parse(json).Value!);
        }

        var orders = new List<(string Id, DateTimeOffset At)>();
        var n = 0;
        CustomerEvent Event(string type, DateTimeOffset at, Identifier who, object props) =>
            new() { Id = $"e-{n++}", Type = type, Timestamp = at, Identifiers = [who], Properties = JsonData.From(props) };

        List<CustomerEvent> Batch(Identifier who, int size, int day)
        {
            var batch = new List<CustomerEvent>();
            for (var i = 0; i < size; i++)
            {
                var at = T0.AddDays(day + random.Next(-40, 3)).AddMinutes(random.Next(1440)); // late earlier events, past the 30 days' retention
                var product = $"sku-{random.Next(25)}";
                switch (random.Next(20))
                {
                    case < 12:
                        var id = $"{who.Value}-o-{orders.Count}";
                        orders.Add((id, at));
                        batch.Add(Event(EventTypes.OrderPlaced, at, who, new { order_id = id, total = 5 + random.Next(200), currency = "EUR" }));
                        break;
                    case < 14 when orders.Count > 0: // an update of an order: its id again, later
                        var (updated, first) = orders[random.Next(orders.Count)];
                        batch.Add(Event(EventTypes.OrderPlaced, first.AddHours(random.Next(1, 90)), who, new { order_id = updated, total = 7 + random.Next(300), currency = "EUR" }));
                        break;
                    case < 15 when orders.Count > 0:
                        var returned = orders[random.Next(orders.Count)];
                        batch.Add(Event(EventTypes.OrderReturned, returned.At.AddDays(2), who, new { order_id = returned.Id, total = 3 + random.Next(20), currency = "EUR" }));
                        break;
                    case < 18:
                        batch.Add(Event(EventTypes.CartItemAdded, at, who, new { product_id = product, quantity = 1 + random.Next(3), name = "Kibble ☃ \ud83d\udc36", price = 4.5m, currency = "EUR" }));
                        break;
                    case < 19:
                        batch.Add(random.Next(2) == 0
                            ? Event(EventTypes.CartItemRemoved, at, who, new { product_id = product })
                            : Event(EventTypes.CartItemRemoved, at, who, new { product_id = product, quantity = 1 }));
                        break;
                    default:
                        batch.Add(Event(EventTypes.CartItemAdded, T0.AddDays(day + 1).AddMinutes(i), who, new { product_id = product, name = "After" }));
                        break;
                }
            }

            return [.. batch.OrderBy(_ => random.Next())];
        }

        async Task CheckAsync()
        {
            foreach (var who in new[] { Ann, Cookie })
            {
                var live = await engine.GetProfileAsync(who);
                if (live is null)
                {
                    continue;
                }

                var stored = (await store.LoadProfileAsync(live.Id))!;
                var read = ProfileSerializer.Deserialize(stored);
                var written = Encoding.UTF8.GetString(stored.Document);
                ProfileSerializer.UseSerializer = true;
                try
                {
                    Assert.Equal(Encoding.UTF8.GetString(ProfileSerializer.Serialize(read)), written);
                    Assert.Equal(JsonSerializer.Serialize(read), JsonSerializer.Serialize(live)); // the public shape, live and stored
                }
                finally
                {
                    ProfileSerializer.UseSerializer = false;
                }

                Assert.Equal(written, Encoding.UTF8.GetString(ProfileSerializer.Serialize(read)));
                Assert.Equal(
                    read.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value),
                    live.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value));

                // Her lines are what rebuilding every product from its kept changes gives (the clear before the session).
                foreach (var product in read.CartOps.Keys.ToList())
                {
                    ProfileFacts.RebuildCartLine(read, product);
                }

                Assert.Equal(
                    read.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value),
                    live.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value));
            }

            foreach (var segment in new[] { "spenders", "carters" })
            {
                var members = await engine.GetSegmentMembersAsync(segment, limit: 1000);
                foreach (var who in new[] { Ann, Cookie })
                {
                    if (await engine.GetProfileAsync(who) is { } p)
                    {
                        Assert.Equal(p.Segments.Any(m => m.SegmentId == segment), members.Contains(p.Id));
                    }
                }
            }
        }

        for (var day = 0; day < 120; day += 10)
        {
            foreach (var result in await engine.TrackBatchAsync(Batch(Ann, 300, day)))
            {
                Assert.True(result.IsAcknowledged, result.EventId + result.Status);
            }

            if (day % 30 == 0)
            {
                await engine.TrackBatchAsync(Batch(Cookie, 60, day));
            }

            await CheckAsync();
        }

        // The two profiles become one (both carts and both order histories), then more orders, cancellations and carts.
        await engine.TrackAsync(new CustomerEvent { Id = $"e-{n++}", Type = EventTypes.ProductViewed, Timestamp = T0.AddDays(121), Identifiers = [Ann, Cookie], Properties = JsonData.From(new { product_id = "sku-1" }) });
        await CheckAsync();
        var cancelled = new List<CustomerEvent>();
        for (var i = 0; i < 40; i++)
        {
            var (id, at) = orders[random.Next(orders.Count)];
            cancelled.Add(Event(EventTypes.OrderCancelled, at.AddHours(1), Ann, new { order_id = id }));
        }

        await engine.TrackBatchAsync([.. cancelled, .. Batch(Ann, 300, 125)]);
        await CheckAsync();

        // Her cart again after her last order, with hostile names (raw JSON: escapes, a lone surrogate, separators, a long one).
        var hostile = new List<CustomerEvent>();
        foreach (var name in new[] { "\\ud83d\\udc36 dog", "\\ud800 lone", "nul\\u0000 and \\u2028\\u2029", "<script>&'\\\"", new string('ß', 3000) })
        {
            hostile.Add(new CustomerEvent
            {
                Id = $"e-{n++}", Type = EventTypes.CartItemAdded, Timestamp = T0.AddDays(196).AddMinutes(n), Identifiers = [Ann],
                Properties = JsonDocument.Parse($$"""{"product_id": "sku-{{n % 7}}", "name": "{{name}}", "quantity": 2}""").RootElement.Clone(),
            });
        }

        var statuses = (await engine.TrackBatchAsync([.. hostile, .. Batch(Ann, 40, 190)])).Select(r => r.Status).ToList();
        Assert.Equal(3, statuses.Take(hostile.Count).Count(r => r == TrackStatus.Accepted)); // the lone surrogate and the NUL refused, as before
        await CheckAsync();

        Assert.NotEmpty((await engine.GetProfileAsync(Ann))!.CartLines);

        Assert.True(await engine.EraseProfileAsync(Ann));
        foreach (var segment in new[] { "spenders", "carters" })
        {
            Assert.Empty(await engine.GetSegmentMembersAsync(segment));
        }
    }

    /// <summary>
    /// Joined runs at every level: more than 16 × 16 × 16 orders (a run of the second level), a timeline of 3,000 entries
    /// trimmed at its front once full (a joined run cut at its start), order updates inside joined runs (a joined run split),
    /// with her profile kept hot and evicted. After each batch her stored document is what the serializer writes for it.
    /// </summary>
    [Theory]
    [InlineData(6, 16 * 1024)]
    [InlineData(7, 64L * 1024 * 1024)]
    public async Task RunsJoinedAtEveryLevel_TrimmedAtTheFront_AndSplit_WriteWhatTheSerializerWrites(int seed, long cacheBytes)
    {
        var random = new Random(seed);
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { Partitions = 1, ProfileCacheBytes = cacheBytes, TimelineLength = 3_000 }, store, new FakeTimeProvider(T0.AddDays(400)));
        var n = 0;
        var orders = 0;
        for (var batch = 0; batch < 14; batch++)
        {
            var events = new List<CustomerEvent>();
            for (var i = 0; i < 450; i++)
            {
                var at = T0.AddMinutes(n * 7);
                var (type, props) = random.Next(10) switch
                {
                    < 8 => (EventTypes.OrderPlaced, (object)new { order_id = $"o-{orders++}", total = 1 + random.Next(90), currency = "EUR" }),
                    8 when orders > 0 => (EventTypes.OrderPlaced, new { order_id = $"o-{random.Next(orders)}", total = 2 + random.Next(90), currency = "EUR" }),
                    _ => (EventTypes.ProductViewed, new { product_id = $"sku-{random.Next(40)}" }),
                };
                events.Add(new CustomerEvent { Id = $"e-{n++}", Type = type, Timestamp = at, Identifiers = [Ann], Properties = JsonData.From(props) });
            }

            foreach (var result in await engine.TrackBatchAsync(events))
            {
                Assert.True(result.IsAcknowledged, result.EventId + result.Status);
            }

            var live = (await engine.GetProfileAsync(Ann))!;
            var stored = (await store.LoadProfileAsync(live.Id))!;
            var written = Encoding.UTF8.GetString(stored.Document);
            ProfileSerializer.UseSerializer = true;
            try
            {
                Assert.Equal(Encoding.UTF8.GetString(ProfileSerializer.Serialize(ProfileSerializer.Deserialize(stored))), written);
                Assert.Equal(Encoding.UTF8.GetString(ProfileSerializer.Serialize(live)), written);
            }
            finally
            {
                ProfileSerializer.UseSerializer = false;
            }
        }

        var profile = (await engine.GetProfileAsync(Ann))!;
        Assert.True(profile.Orders.Count > 16 * 16 * 16, $"{profile.Orders.Count} orders");
        Assert.Equal(3_000, profile.Timeline.Count);
    }
}
