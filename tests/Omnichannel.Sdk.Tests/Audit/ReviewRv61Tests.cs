using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review rv61: a hostile review of session 61 (collections made on first use, the in-memory store's processed ids in a
/// plain dictionary under the commit lock, no conversion record for an order dated before the retention) and of audit
/// U99 (message-key and fact tombstones), through the public API.
/// </summary>
public sealed partial class ReviewRv61Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly Identifier C1 = Identifier.CustomerId("c1-rv61");

    private static readonly string[] SegmentJsons =
    [
        """{"id": "recent-buyer", "name": "Recent buyer", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "P30D"}}""",
        """{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
        """{"id": "clicker", "name": "Clicker", "rule": {"event": "message.clicked", "count": {"op": "gte", "value": 1}, "within": "P7D"}}""",
    ];

    // ---- 1. Collections made on first use: a hot engine and a cold one (ProfileCacheSize = 0, every unit loads the
    // profile from the store, so only stored collections exist) agree over merges both ways and deliveries. ----

    /// <summary>
    /// Whatever the person does across a customer id and three anonymous cookies whose profiles merge into hers (each
    /// hot, with the collections its reads made or not, on one engine; loaded from the store on the other), with messages
    /// sent and reported on, orders before and inside the conversion retention, paid and unpaid (a narrowed conversion),
    /// returns before and after their order, consent, traits and time passing (checks due, conversions and touches
    /// trimmed): the hot engine stores the same document (members by name), the same measurement rows, and answers the
    /// same public reads (segments, IsInSegment, consents, journeys, traits, the export) as the cold one.
    /// </summary>
    [Property(MaxTest = 40)]
    public void AHotEngine_AndAColdOne_AgreeOverMergesAndDeliveries(NonNegativeInt[] steps)
    {
        var plan = steps.Take(30).Select((s, i) => Mix((uint)s.Get + ((uint)i << 20))).ToList();
        var hot = RunPlanAsync(plan, profileCacheSize: 1000).GetAwaiter().GetResult();
        var cold = RunPlanAsync(plan, profileCacheSize: 0).GetAwaiter().GetResult();
        Assert.Equal(cold.Document, hot.Document);
        Assert.Equal(cold.Rows, hot.Rows);
        Assert.Equal(cold.Reads, hot.Reads);
        Assert.Equal(cold.Export, hot.Export);
    }

    private static async Task<(string Document, string Rows, string Reads, string Export)> RunPlanAsync(List<ulong> plan, int profileCacheSize)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.ProfileCacheSize = profileCacheSize;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Measurement.Conversions.Add(new ConversionDefinition("paid", EventTypes.OrderPlaced)
                {
                    Where = [new PropertyCondition("status", new Condition(ConditionOperator.Eq, JsonValue.Create("paid")))],
                    RevenueProperty = "total",
                });
                foreach (var json in SegmentJsons)
                {
                    o.Segments.Add(SegmentJson.Parse(json).Value!);
                }
            },
            start: Start.AddDays(60),
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [C1, Identifier.Email("c1.rv61@example.com")]);
        var sent = 0;
        var n = 0;
        foreach (var r in plan)
        {
            n++;
            await host.AdvanceAsync(TimeSpan.FromMinutes(11));
            var now = host.Time.GetUtcNow();
            var cookie = Identifier.AnonymousId($"a{(r >> 8) % 3}-rv61");
            var who = (r >> 12) % 3 == 0 ? C1 : cookie;
            var order = $"o{(r >> 16) % 4}";
            var daysBack = (int)((r >> 20) % 50); // before the 30-day retention, or inside it
            switch (r % 9)
            {
                case 0:
                    await host.TrackAsync(EventTypes.OrderPlaced, [who], new { order_id = order, total = 20 + daysBack, currency = "EUR", status = (r >> 30) % 2 == 0 ? "paid" : "pending" }, at: now.AddDays(-daysBack));
                    break;
                case 1:
                    await host.TrackAsync(EventTypes.OrderReturned, [who], new { order_id = order, total = 5, currency = "EUR", return_id = $"r{(r >> 24) % 3}" }, at: now.AddDays(-(daysBack % 10)));
                    break;
                case 2:
                    await host.TrackAsync("user.identified", [C1, cookie]); // the cookie's profile merges with hers
                    break;
                case 3:
                    var key = $"m{sent++}";
                    await host.Client.SendAsync(who, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
                    await host.Engine.RunDispatchAsync();
                    break;
                case 4 when sent > 0:
                    var type = ((r >> 24) % 3) switch { 0 => EventTypes.MessageDelivered, 1 => EventTypes.MessageOpened, _ => EventTypes.MessageClicked };
                    await host.TrackAsync(type, [who], new { message_id = $"m{(r >> 26) % (ulong)sent}" }, channel: ChannelNames.Email);
                    break;
                case 5:
                    await host.TrackAsync(EventTypes.ConsentChanged, [who], new { channel = "email", granted = (r >> 24) % 2 == 0 });
                    break;
                case 6:
                    await host.TrackAsync("user.updated", [who], traits: new { tier = (r >> 24) % 2 == 0 ? "gold" : "silver" });
                    break;
                case 7:
                    await host.AdvanceAsync(TimeSpan.FromDays(daysBack % 12)); // checks fall due, conversions and touches trimmed
                    break;
                default:
                    await host.TrackAsync(EventTypes.ProductViewed, [who], new { product_id = $"sku-{n % 3}" });
                    break;
            }
        }

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        var profile = await host.ProfileAsync(C1);
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        string Normalised(string text) => ProfileIdPattern().Replace(text, m => ids.TryGetValue(m.Value, out var name) ? name : ids[m.Value] = $"p#{ids.Count}");
        var raw = (await host.Store.LoadProfileAsync(profile.Id))!.Document;
        var document = Normalised(Canonical(JsonNode.Parse(raw))!.ToJsonString());
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery());
        var rowText = string.Join("\n", rows.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).Select(r => $"{r.Key} {r.Count} {r.Sum:R}"));
        var reads = string.Join(
            "|",
            string.Join(",", profile.Segments.Select(s => s.SegmentId).Order(StringComparer.Ordinal)),
            string.Join(",", SegmentJsons.Select(j => SegmentJson.Parse(j).Value!.Id).Select(s => profile.IsInSegment(s))),
            string.Join(",", profile.Consents.Select(c => $"{c.Channel}:{c.Topic}:{c.Granted}")),
            profile.GetConsent("email")?.Granted.ToString() ?? "-",
            string.Join(",", profile.Journeys.Select(j => j.JourneyId)),
            profile.Traits.ToJsonString(),
            profile.Statistics.OrderCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var export = (await host.Client.ExportProfileAsync(C1))!;
        return (document, rowText, Normalised(reads), Normalised(Canonical(export)!.ToJsonString()));
    }

    // ---- 2. The in-memory store's processed ids, a plain dictionary under the commit lock. ----

    /// <summary>
    /// Partitions checking ids while commits grow the dictionary, purges take expired ids off it and erasures forget a
    /// profile's ids: every check answers what was committed (an id processed at or after the purge bound is always
    /// processed; an erased profile's ids are not, afterwards), and the end state is what the same steps in order leave.
    /// </summary>
    [Fact]
    public async Task ProcessedIds_CheckedWhileCommitsPurgesAndErasuresRun_AnswerWhatWasCommitted()
    {
        var t0 = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        var bound = t0.AddSeconds(300);
        var store = new InMemoryOmnichannelStore();
        const int Writers = 3, PerWriter = 600;
        var committed = new int[Writers]; // the highest i committed by each writer (read by the checkers)
        using var done = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        async Task WriteAsync(int w)
        {
            await Task.Yield();
            for (var i = 0; i < PerWriter; i++)
            {
                var result = await store.CommitAsync(Commit($"p{w}", i, $"e{w}-{i}", t0.AddSeconds(i)));
                Assert.Equal(CommitStatus.Committed, result.Status);
                Volatile.Write(ref committed[w], i + 1);
            }
        }

        async Task CheckAsync(int seed)
        {
            await Task.Yield();
            var x = (ulong)seed;
            while (!done.IsCancellationRequested)
            {
                x = Mix((uint)x);
                var w = (int)(x % Writers);
                var upTo = Volatile.Read(ref committed[w]);
                if (upTo == 0)
                {
                    continue;
                }

                var i = (int)((x >> 8) % (ulong)upTo);
                if (i >= 300 && !await store.IsEventProcessedAsync($"e{w}-{i}"))
                {
                    failures.Enqueue($"e{w}-{i} committed at or after the purge bound but not processed");
                }
            }
        }

        async Task PurgeAndEraseAsync()
        {
            await Task.Yield();
            for (var k = 0; k < 40; k++)
            {
                await store.PurgeProcessedEventsAsync(bound);
                var victim = $"victim{k}";
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(victim, 0, $"v{k}", t0.AddSeconds(400)))).Status);
                Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = victim, EventIds = [$"v{k}"] }));
                if (await store.IsEventProcessedAsync($"v{k}"))
                {
                    failures.Enqueue($"v{k} still processed after its erasure");
                }
            }
        }

        var writers = Enumerable.Range(0, Writers).Select(WriteAsync).ToList();
        var checkers = Enumerable.Range(1, 2).Select(s => Task.Run(() => CheckAsync(s))).ToList();
        var purger = Task.Run(PurgeAndEraseAsync);
        await Task.WhenAll(writers.Append(purger));
        await done.CancelAsync();
        await Task.WhenAll(checkers);
        Assert.Empty(failures);

        await store.PurgeProcessedEventsAsync(bound);
        for (var w = 0; w < Writers; w++)
        {
            Assert.False(await store.IsEventProcessedAsync($"e{w}-299"));
            Assert.True(await store.IsEventProcessedAsync($"e{w}-300"));
            Assert.True(await store.IsEventProcessedAsync($"e{w}-{PerWriter - 1}"));
        }

        Assert.DoesNotContain(store.QueuedProcessedIds, id => id.StartsWith('v'));
    }

    /// <summary>
    /// An id purged and processed again is the new processing's: a purge whose bound lies between the two instants keeps it
    /// (the queue's stale entry for the first instant no longer matches), one past the second takes it; processed again at
    /// the very instant of its first processing, one purge past it takes it once.
    /// </summary>
    [Fact]
    public async Task AnIdProcessedAgainAfterAPurge_IsKeptUntilItsNewInstantExpires()
    {
        var t0 = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        var store = new InMemoryOmnichannelStore();
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p", 0, "e1", t0))).Status);
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(t0.AddSeconds(1)));
        Assert.False(await store.IsEventProcessedAsync("e1"));

        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p", 1, "e1", t0.AddSeconds(10)))).Status);
        Assert.Equal(CommitStatus.DuplicateEvent, (await store.CommitAsync(Commit("p", 2, "e1", t0.AddSeconds(11)))).Status);
        Assert.Equal(0, await store.PurgeProcessedEventsAsync(t0.AddSeconds(5)));
        Assert.True(await store.IsEventProcessedAsync("e1"));
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(t0.AddSeconds(11)));
        Assert.False(await store.IsEventProcessedAsync("e1"));

        // Twice at one instant (a fake clock that did not move): the queue holds it twice; it is counted once.
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p", 2, "e2", t0.AddSeconds(20)))).Status);
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(t0.AddSeconds(21)));
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p", 3, "e2", t0.AddSeconds(20)))).Status);
        Assert.True(await store.IsEventProcessedAsync("e2"));
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(t0.AddSeconds(21)));
        Assert.False(await store.IsEventProcessedAsync("e2"));
        Assert.Empty(store.QueuedProcessedIds);
    }

    private static ProfileCommit Commit(string profileId, long version, string eventId, DateTimeOffset at) => new()
    {
        ProfileId = profileId,
        ExpectedVersion = version,
        Document = "{}"u8.ToArray(),
        EventId = eventId,
        ProcessedAt = at,
    };

    // ---- 3. An order dated before the 30-day conversion retention makes no conversion record. ----

    /// <summary>
    /// At the retention exactly the record is made (Trim keeps an instant equal to the bound), a tick older none, a tick
    /// newer one; each order converts once whatever its date, and its copy sent again a tick later converts nothing.
    /// </summary>
    [Theory]
    [InlineData(0L, true)]
    [InlineData(-1L, false)]
    [InlineData(1L, true)]
    public async Task AnOrderAtTheConversionRetention_KeepsItsRecordAsTrimWould_AndConvertsOnce(long ticks, bool kept)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start.AddDays(60));
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), time);
        var at = time.GetUtcNow() - MeasurementRecorder.OrderConversionRetention + TimeSpan.FromTicks(ticks);
        Assert.True((await engine.TrackAsync(OrderEvent("o1", at, "first", 40))).IsAcknowledged);
        var id = (await engine.GetProfileAsync(C1))!.Id;
        var hot = (await engine.HotCopyOfAsync(id))!;
        Assert.Equal(kept, hot.OrderConversionsIfAny?.ContainsKey("order:o1") == true);

        time.Advance(TimeSpan.FromTicks(1));
        Assert.True((await engine.TrackAsync(OrderEvent("o1", at, "again", 45))).IsAcknowledged);
        var rows = await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        Assert.Equal(1, rows.Sum(r => r.Count));
    }

    /// <summary>
    /// A return heard before its order, and the order dated before the retention (an import): the order converts once, net
    /// of the return, as before; its copy sent again and a second return change no count, on a hot engine as on a cold one.
    /// </summary>
    [Theory]
    [InlineData(1000)]
    [InlineData(0)]
    public async Task AReturnBeforeAnOrderDatedBeforeTheRetention_ConvertsItOnceNetOfTheReturn(int profileCacheSize)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start.AddDays(60));
        var options = new OmnichannelOptions { ProfileCacheSize = profileCacheSize };
        options.Measurement.Conversions.Add(new ConversionDefinition("revenue", EventTypes.OrderPlaced) { RevenueProperty = "total" });
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time);
        var old = time.GetUtcNow().AddDays(-45);
        Assert.True((await engine.TrackAsync(ReturnEvent("o1", "r1", time.GetUtcNow().AddHours(-1), 10))).IsAcknowledged);
        Assert.True((await engine.TrackAsync(OrderEvent("o1", old, "placed", 40))).IsAcknowledged);
        Assert.True((await engine.TrackAsync(OrderEvent("o1", old.AddMinutes(1), "updated", 40))).IsAcknowledged);
        Assert.True((await engine.TrackAsync(ReturnEvent("o1", "r2", time.GetUtcNow(), 5))).IsAcknowledged);

        var rows = await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("revenue") });
        Assert.Equal(1, rows.Sum(r => r.Count));
        Assert.Equal(30, rows.Sum(r => r.Sum), 6);
    }

    private static CustomerEvent OrderEvent(string orderId, DateTimeOffset at, string suffix, int total) => new()
    {
        Id = $"{orderId}-{suffix}", Type = EventTypes.OrderPlaced, Timestamp = at, Identifiers = [C1],
        Properties = JsonData.From(new { order_id = orderId, total, currency = "EUR" }),
    };

    private static CustomerEvent ReturnEvent(string orderId, string returnId, DateTimeOffset at, int total) => new()
    {
        Id = $"{orderId}-{returnId}", Type = EventTypes.OrderReturned, Timestamp = at, Identifiers = [C1],
        Properties = JsonData.From(new { order_id = orderId, return_id = returnId, total, currency = "EUR" }),
    };

    // ---- 4. Audit U99's fact tombstones: a new customer on her old shared device. ----

    /// <summary>
    /// The family iPad rule (audit U63: a device or cookie of hers that comes with another person's identifier is his, and
    /// must not lock him out) holds for U99's order tombstones too: Carol's order carrying the same id as one of Ann's
    /// (another shop's numbering: U99 takes it without the iPad) is taken when it comes through the iPad Ann used, at
    /// Carol's first contact and once the iPad is Carol's; her own late report on the old order is still refused.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ANewCustomersOrderWithTheSameIdAsHers_ThroughHerOldDevice_IsTaken(bool deviceLinkedFirst)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("c-ann-rv61");
        var ipad = Identifier.AnonymousId("ipad-family-rv61");
        await host.TrackAsync(EventTypes.OrderPlaced, [ann, Identifier.Email("ann.rv61@example.com"), ipad], new { order_id = "1001", total = 30 });
        Assert.True(await host.Client.EraseProfileAsync(ann, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var carol = Identifier.Email("carol.rv61@example.com");
        if (deviceLinkedFirst)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [carol, ipad]))).Status);
        }

        var order = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [carol, ipad], new { order_id = "1001", total = 8 }));
        Assert.Equal(TrackStatus.Accepted, order.Status);
        Assert.Equal(1, (await host.ProfileAsync(carol)).Statistics.OrderCount);

        // Ann's own late report (her customer id) on her old order stays refused.
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event(EventTypes.OrderShipped, [ann], new { order_id = "1001" }))).Status);
    }

    /// <summary>
    /// The other way: her late report on her old order after she came back is refused (U99) also when it carries, beside her
    /// returned email, an identifier nobody held yet (a new phone): her returned email makes it hers.
    /// </summary>
    [Fact]
    public async Task HerLateReportOnHerOldOrder_WithHerReturnedEmailAndANewPhone_IsRefused()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var annMail = Identifier.Email("ann.back.rv61@example.com");
        await host.TrackAsync(EventTypes.OrderPlaced, [annMail], new { order_id = "2002", total = 30 });
        Assert.True(await host.Client.EraseProfileAsync(annMail, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [annMail]))).Status); // she is back

        var report = await host.Client.TrackAsync(host.Event(EventTypes.OrderShipped, [annMail, Identifier.Phone("+14155550161")], new { order_id = "2002" }));
        Assert.Equal(TrackStatus.Erased, report.Status);
        Assert.Equal(0, (await host.ProfileAsync(annMail)).Statistics.OrderCount);
    }

    // A JSON object's members by name: a dictionary's order is not part of what is stored (a hot profile's dictionary reuses
    // the slot a removed entry left, one read from the store lists its entries as written; the same before session 61).
    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        _ => node?.DeepClone(),
    };

    [GeneratedRegex("p_[0-9a-f]{32}")]
    private static partial Regex ProfileIdPattern();

    // SplitMix64's finaliser: a step's kind and arguments spread over its bits, the same in every process.
    private static ulong Mix(uint x)
    {
        var z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
