using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.AuditU60;

/// <summary>
/// Audit U60: one generated sequence of events (identify, views in long bursts, orders with products and their
/// updates, returns, cart and wishlist adds and removes, consent, preferences, logins that merge through a shared
/// identifier, resent events, timestamps out of order), cut into chunks with the clock moved between them, fed to an
/// engine through public API only. The trace it gives (each event's status, every exported profile, segment members,
/// the messages the transports were handed and when, journey statistics, measurement rows) must not depend on the
/// engine's shortcuts: the hot-profile cache's size, one event at a time or batches, the store, a restart.
/// </summary>
internal static partial class AuditU60Driver
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    /// <summary>The people: customer id, email, anonymous id, phone.</summary>
    public static readonly Identifier[][] People = [.. Enumerable.Range(0, 4).Select(i => new[]
    {
        Identifier.CustomerId($"C-{i}"), Identifier.Email($"p{i}@example.com"), Identifier.AnonymousId($"anon-{i}"), Identifier.Phone($"+44770090{i:D4}"),
    })];

    /// <summary>A sequence: chunks of events, and how far the clock moves after each chunk.</summary>
    public sealed record Plan(IReadOnlyList<IReadOnlyList<CustomerEvent>> Chunks, IReadOnlyList<TimeSpan> Advances)
    {
        public int Count => Chunks.Sum(c => c.Count);

        public override string ToString() => $"{Chunks.Count} chunks, {Count} events";
    }

    /// <summary>How a run feeds the events: one at a time, one batch per chunk, or batches cut at random points.</summary>
    public enum Feed
    {
        OneAtATime,
        Batch,
        RandomBatches,
    }

    /// <summary>What one run varies.</summary>
    public sealed record Settings
    {
        public int CacheSize { get; init; } = 100_000;

        public long CacheBytes { get; init; } = 64L * 1024 * 1024;

        public int Partitions { get; init; } = 2;

        public int TimelineLength { get; init; } = 200;

        public Feed Feed { get; init; } = Feed.OneAtATime;

        /// <summary>The seed of the random cut points (<see cref="Feed.RandomBatches"/>).</summary>
        public int CutSeed { get; init; }

        /// <summary>Restart the engine (dispose, build again on the same store) before the event of this index.</summary>
        public int? RestartBefore { get; init; }
    }

    /// <summary>Generates a plan of about <paramref name="events"/> events (a burst may add more) in <paramref name="chunks"/> chunks.</summary>
    public static Plan Generate(int seed, int events = 30, int chunks = 3, int maxBurst = 35)
    {
        var r = new Random(seed);
        var all = new List<CustomerEvent>();
        var result = new List<IReadOnlyList<CustomerEvent>>();
        var advances = new List<TimeSpan>();
        var now = Start;
        var n = 0;
        for (var c = 0; c < chunks; c++)
        {
            var chunk = new List<CustomerEvent>();
            for (var i = 0; i < events / chunks; i++)
            {
                var p = r.Next(People.Length);
                var person = People[p];
                var ids = r.Next(5) == 0 ? person : [person[r.Next(person.Length)]];
                var at = now - TimeSpan.FromMinutes(r.Next(0, 600)) - TimeSpan.FromTicks(r.Next(0, 3));
                CustomerEvent E(string type, IReadOnlyList<Identifier> who, object? properties = null, object? traits = null, DateTimeOffset? when = null) => new()
                {
                    Id = $"u60-{seed}-{n++}",
                    Type = type,
                    Timestamp = when ?? at,
                    Identifiers = who,
                    Properties = properties is null ? default : JsonData.From(properties),
                    Traits = traits is null ? default : JsonData.From(traits),
                };

                switch (r.Next(15))
                {
                    case 0:
                        chunk.Add(E("user.identified", [person[0], person[1]], traits: new { tier = r.Next(2) == 0 ? "gold" : "silver", first_name = "P" + n, score = r.Next(100) }));
                        break;
                    case 1:
                        var order = $"o{p}-{r.Next(4)}";
                        chunk.Add(E(EventTypes.OrderPlaced, ids, new
                        {
                            order_id = order, total = r.Next(1, 90) + 0.25m, currency = "GBP",
                            products = Enumerable.Range(0, r.Next(1, 3)).Select(k => new { product_id = "sku-" + r.Next(5), quantity = r.Next(1, 3), price = 4.5m }).ToArray(),
                        }));
                        break;
                    case 2:
                        chunk.Add(E(EventTypes.OrderReturned, ids, new { order_id = $"o{p}-{r.Next(4)}", return_id = "r" + r.Next(3), total = r.Next(1, 20) }));
                        break;
                    case 3:
                        chunk.Add(E(EventTypes.CartItemAdded, ids, new { product_id = "sku-" + r.Next(4), quantity = r.Next(1, 3), price = 7 }));
                        break;
                    case 4:
                        chunk.Add(E(EventTypes.CartItemRemoved, ids, new { product_id = "sku-" + r.Next(4), quantity = 1 }));
                        break;
                    case 5:
                        chunk.Add(E(r.Next(3) == 0 ? EventTypes.WishlistItemRemoved : EventTypes.WishlistItemAdded, ids, new { product_id = "sku-" + r.Next(4) }));
                        break;
                    case 6:
                        chunk.Add(E(EventTypes.ConsentChanged, ids, new { channel = r.Next(3) == 0 ? "sms" : "email", topic = r.Next(2) == 0 ? null : "newsletter", granted = r.Next(3) > 0 }));
                        break;
                    case 7:
                        chunk.Add(E(EventTypes.PreferencesUpdated, ids, r.Next(2) == 0 ? new { max_messages = r.Next(1, 4), period = "P1D" } : (object)new { preferred_channels = new[] { r.Next(2) == 0 ? "sms" : "email" } }));
                        break;
                    case 8:
                        // A login: her customer id with another person's anonymous id merges that cookie's profile into hers.
                        chunk.Add(E("user.logged_in", [person[0], People[r.Next(People.Length)][2]]));
                        break;
                    case 9 when all.Count + chunk.Count > 0:
                        // A resend: an earlier event again, byte for byte (same id).
                        var earlier = all.Concat(chunk).ToList();
                        chunk.Add(earlier[r.Next(earlier.Count)]);
                        break;
                    case 10:
                        // A burst: one person's long history, across 16 and 32 elements, in one chunk.
                        var length = r.Next(10, maxBurst + 1);
                        var who = person[r.Next(3)];
                        for (var k = 0; k < length; k++)
                        {
                            chunk.Add(E(EventTypes.ProductViewed, [who], new { product_id = "sku-" + r.Next(6) }, when: now - TimeSpan.FromMinutes(r.Next(0, 900))));
                        }

                        break;
                    case 11:
                        // A loyal customer's orders: a list across 16 and 32, some updated, some returned, out of order.
                        var orders = r.Next(10, maxBurst + 1);
                        var buyer = person[r.Next(2)];
                        for (var k = 0; k < orders; k++)
                        {
                            var when = now - TimeSpan.FromMinutes(r.Next(0, 3000));
                            var id = $"o{p}-{c}-{r.Next(orders)}";
                            chunk.Add(r.Next(6) == 0
                                ? E(EventTypes.OrderReturned, [buyer], new { order_id = id, return_id = "r" + k, total = 1 }, when: when)
                                : E(EventTypes.OrderPlaced, [buyer], new { order_id = id, total = r.Next(1, 40), currency = "GBP", products = new[] { new { product_id = "sku-" + r.Next(5), quantity = 1, price = 3 } } }, when: when));
                        }

                        break;
                    default:
                        chunk.Add(E(EventTypes.ProductViewed, ids, new { product_id = "sku-" + r.Next(6) }));
                        break;
                }
            }

            all.AddRange(chunk);
            result.Add(chunk);
            var advance = r.Next(3) switch
            {
                0 => TimeSpan.FromMinutes(r.Next(1, 90)),
                1 => TimeSpan.FromHours(r.Next(1, 30)),
                _ => TimeSpan.FromSeconds(r.Next(1, 5)),
            };
            advances.Add(advance);
            now += advance;
        }

        return new Plan(result, advances);
    }

    /// <summary>
    /// A long history: her timeline past 16, 32 and 200 entries, 40 orders (some updated, some returned), a cookie
    /// profile of her own with 20 views merged in at a login, consent and a cart, in four chunks an hour apart.
    /// </summary>
    public static Plan Long()
    {
        var her = People[0];
        var chunks = new List<IReadOnlyList<CustomerEvent>>();
        var n = 0;
        var now = Start;
        CustomerEvent E(string type, IReadOnlyList<Identifier> who, DateTimeOffset at, object? properties = null, object? traits = null) => new()
        {
            Id = $"long-{n++}",
            Type = type,
            Timestamp = at,
            Identifiers = who,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
        };

        for (var c = 0; c < 4; c++)
        {
            var chunk = new List<CustomerEvent>();
            if (c == 0)
            {
                chunk.Add(E("user.identified", [her[0], her[1]], now - TimeSpan.FromDays(2), traits: new { tier = "gold" }));
                chunk.Add(E(EventTypes.ConsentChanged, [her[1]], now - TimeSpan.FromDays(2), new { channel = "email", topic = "newsletter", granted = true }));
                chunk.AddRange(Enumerable.Range(0, 20).Select(i => E(EventTypes.ProductViewed, [her[2]], now - TimeSpan.FromMinutes(7 * i + 3), new { product_id = "sku-" + (i % 6) })));
            }

            for (var i = 0; i < 70; i++)
            {
                // Out of order: every third one an hour older than its neighbours.
                var at = now - TimeSpan.FromMinutes(i % 3 == 0 ? 60 + i : i) - TimeSpan.FromTicks(i % 2);
                chunk.Add(i % 7 == 3
                    ? E(EventTypes.OrderPlaced, [her[i % 2]], at, new { order_id = $"lo-{(c * 10) + (i / 7)}", total = 10 + i, currency = "GBP", products = new[] { new { product_id = "sku-" + (i % 5), quantity = 1, price = 10 + i } } })
                    : i % 23 == 5
                        ? E(EventTypes.OrderReturned, [her[0]], at, new { order_id = $"lo-{c * 10}", return_id = $"lr-{c}-{i}", total = 2 })
                        : i % 29 == 7
                            ? E(EventTypes.CartItemAdded, [her[0]], at, new { product_id = "sku-" + (i % 4), quantity = 1, price = 5 })
                            : E(EventTypes.ProductViewed, [her[i % 3 == 0 ? 1 : 0]], at, new { product_id = "sku-" + (i % 6) }));
                if (i == 35)
                {
                    chunk.Add(chunk[^3]); // a resend inside the batch
                }
            }

            if (c == 1)
            {
                chunk.Add(E("user.logged_in", [her[0], her[2]], now));
                chunk.Add(E(EventTypes.OrderPlaced, [her[0]], now, new { order_id = "lo-0", total = 99, currency = "GBP" })); // an update of her first order
            }

            chunks.Add(chunk);
            now += TimeSpan.FromHours(1);
        }

        return new Plan(chunks, [.. chunks.Select(_ => TimeSpan.FromHours(1))]);
    }

    public static IEnumerable<SegmentDefinition> Segments() => new[]
    {
        """{"id": "buyers", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""",
        """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
        """{"id": "reachable", "name": "x", "rule": {"reachable": "email", "topic": "newsletter"}}""",
        """{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""",
        """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 25}}""",
        """{"id": "viewers", "name": "x", "rule": {"event": "product.viewed", "count": {"op": "gte", "value": 20}, "within": "PT12H"}}""",
        """{"id": "both", "name": "x", "rule": {"all": [{"segment": "buyers"}, {"not": {"segment": "carters"}}]}}""",
    }.Select(j => SegmentJson.Parse(j).Value!);

    public static IEnumerable<JourneyDefinition> Journeys() => new[]
    {
        """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterPreviousEnded"}, "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "nudge", "type": "send", "channels": ["email", "sms"], "template": "cart", "topic": "newsletter"}]}
        """,
        """
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.identified"},
         "entry": {"reEntry": "never"},
         "steps": [{"id": "first", "type": "delay", "duration": "PT1M"},
                   {"id": "hello", "type": "send", "channels": ["email"], "template": "welcome", "class": "transactional"},
                   {"id": "later", "type": "delay", "duration": "PT20H"},
                   {"id": "tips", "type": "send", "channels": ["email", "sms"], "template": "tips", "topic": "newsletter"}]}
        """,
    }.Select(j => JourneyJson.Parse(j).Value!);

    /// <summary>Runs <paramref name="plan"/> on an engine over <paramref name="store"/> and returns its trace.</summary>
    /// <param name="reopen">Gives the store the restarted engine uses (the same object when null).</param>
    public static async Task<List<string>> RunAsync(Plan plan, Settings settings, IOmnichannelStore store, Func<IOmnichannelStore, Task<IOmnichannelStore>>? reopen = null)
    {
        var sent = new List<string>();
        OmnichannelTestHost? current = null;
        OmnichannelTestHost Build(DateTimeOffset at, IOmnichannelStore on)
        {
            var delivery = new DeliverySetup { Renderer = new StubMessageRenderer() };
            delivery.AddTransport("rec", new Recorder(ChannelNames.Email, () => current?.Time.GetUtcNow() ?? at, sent));
            delivery.AddTransport("rec", new Recorder(ChannelNames.Sms, () => current?.Time.GetUtcNow() ?? at, sent));
            return OmnichannelTestHost.Create(o =>
            {
                o.Partitions = settings.Partitions;
                o.ProfileCacheSize = settings.CacheSize;
                o.ProfileCacheBytes = settings.CacheBytes;
                o.TimelineLength = settings.TimelineLength;
                foreach (var s in Segments())
                {
                    o.Segments.Add(s);
                }

                foreach (var j in Journeys())
                {
                    o.Journeys.Add(j);
                }
            }, at, on, delivery);
        }

        var log = new List<string>();
        var host = current = Build(Start, store);
        try
        {
            var cuts = new Random(settings.CutSeed);
            var index = 0;
            for (var c = 0; c < plan.Chunks.Count; c++)
            {
                var chunk = plan.Chunks[c];
                var batch = new List<CustomerEvent>();
                async Task FlushAsync()
                {
                    if (batch.Count > 0)
                    {
                        foreach (var result in await host.Client.TrackBatchAsync(batch))
                        {
                            log.Add(Describe(result));
                        }

                        batch.Clear();
                    }
                }

                foreach (var e in chunk)
                {
                    if (settings.RestartBefore == index)
                    {
                        await FlushAsync();
                        var at = host.Time.GetUtcNow();
                        await host.DisposeAsync();
                        current = null;
                        if (reopen is not null)
                        {
                            store = await reopen(store);
                        }

                        host = current = Build(at, store);
                    }

                    index++;
                    switch (settings.Feed)
                    {
                        case Feed.OneAtATime:
                            log.Add(Describe(await host.Client.TrackAsync(e)));
                            break;
                        case Feed.RandomBatches when cuts.Next(4) == 0:
                            await FlushAsync();
                            batch.Add(e);
                            break;
                        default:
                            batch.Add(e);
                            break;
                    }
                }

                await FlushAsync();
                await host.AdvanceAsync(plan.Advances[c]);
            }

            // Everything that falls due: the cart reminders, the welcome's tips, windows closing.
            await host.AdvanceAsync(TimeSpan.FromDays(3));
            await host.Engine.RunDispatchAsync();

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var person in People)
            {
                foreach (var id in person)
                {
                    var export = await host.Client.ExportProfileAsync(id);
                    log.Add(id.Type + ":" + id.Value + " => " + (export is null ? "none" : Comparable(export)));
                    if (export is null && await host.Client.GetProfileAsync(id) is { } profile)
                    {
                        log.Add("read but not exported: " + profile.Id);
                    }
                }
            }

            foreach (var s in Segments())
            {
                var names = new List<string>();
                foreach (var member in await host.Client.GetSegmentMembersAsync(s.Id, null, 100))
                {
                    var profile = await host.Client.GetProfileByIdAsync(member);
                    names.Add(profile is null ? "gone" : string.Join("+", profile.Identifiers.Select(i => i.Type + ":" + i.Value).Order(StringComparer.Ordinal)));
                }

                log.Add("segment " + s.Id + ": " + string.Join(", ", names.Order(StringComparer.Ordinal)));
            }

            foreach (var j in Journeys())
            {
                log.Add("journey " + JsonSerializer.Serialize(await host.Client.GetJourneyStatisticsAsync(j.Id), Web));
            }

            // A row whose additions cancelled out (credit given, then taken back by a later event) stays as a zero row
            // when the two were separate commits and is never written when a run committed them together (left alone).
            foreach (var row in (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { Limit = 1000 }))
                .Where(row => row.Count != 0 || row.Sum != 0)
                .Select(row => "row " + JsonSerializer.Serialize(row.Key, Web) + " " + row.Count + " " + row.Sum.ToString("R", CultureInfo.InvariantCulture))
                .Order(StringComparer.Ordinal))
            {
                log.Add(row);
            }

            log.Add("next wake-up " + (await host.Engine.GetNextWakeUpAsync())?.UtcTicks);
            lock (sent)
            {
                log.AddRange(sent.Order(StringComparer.Ordinal));
            }

            return log;
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    /// <summary>
    /// (5) The de-duplication window against its model: with a retention of two hours, events (some resent at once, in
    /// a batch or alone) are tracked while the clock moves; after each purge an id is remembered exactly when it was last
    /// processed at or after now minus the retention; a resend within the window is a duplicate, one an explicit
    /// purge forgot is applied again (and then remembered from its new processing), and one only expired is either (the
    /// engine's hourly purge may or may not have passed it). Returns the trace (statuses, remembered ids, profiles);
    /// throws on the first departure from the model.
    /// </summary>
    public static async Task<List<string>> RunDedupeAsync(int seed, IOmnichannelStore store)
    {
        var retention = TimeSpan.FromHours(2);
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.DeduplicationRetention = retention;
            o.Partitions = 2;
            o.ProfileCacheSize = seed % 2 == 0 ? 0 : 100_000;
        }, Start, store);
        var r = new Random(seed);
        var processed = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal); // the model: id → last processed
        var sent = new List<CustomerEvent>();
        var log = new List<string>();
        var purgedBefore = DateTimeOffset.MinValue;
        for (var step = 0; step < 30; step++)
        {
            var now = host.Time.GetUtcNow();
            var batch = new List<CustomerEvent>();
            for (var k = r.Next(1, 4); k > 0; k--)
            {
                if (sent.Count > 0 && r.Next(2) == 0)
                {
                    batch.Add(sent[r.Next(sent.Count)]);
                    continue;
                }

                var who = People[r.Next(2)][r.Next(2)];
                var e = new CustomerEvent
                {
                    Id = $"d{seed}-{step}-{k}",
                    Type = r.Next(3) == 0 ? EventTypes.OrderPlaced : EventTypes.ProductViewed,
                    Timestamp = now - TimeSpan.FromMinutes(r.Next(0, 30)),
                    Identifiers = [who],
                    Properties = JsonData.From(new { product_id = "sku-" + r.Next(3), order_id = "o-" + r.Next(5), total = 5, currency = "GBP" }),
                };
                sent.Add(e);
                batch.Add(e);
            }

            IReadOnlyList<TrackResult> results = r.Next(2) == 0
                ? await host.Client.TrackBatchAsync(batch)
                : [.. await Task.WhenAll(batch.Select(async e => await host.Client.TrackAsync(e)))];
            // Sent twice at once (one batch, or two calls in flight): one applied, the others duplicates.
            foreach (var group in batch.Select((e, i) => (e.Id, results[i].Status)).GroupBy(x => x.Id, StringComparer.Ordinal))
            {
                var known = processed.TryGetValue(group.Key, out var at);
                var remembered = known && at >= now - retention; // within the window: never forgotten
                var forgotten = !known || at < purgedBefore;     // an explicit purge's cut-off passed it
                var accepted = group.Count(x => x.Status == TrackStatus.Accepted);
                if ((remembered && accepted != 0) || (forgotten && accepted != 1) || accepted > 1 || group.Any(x => x.Status is not (TrackStatus.Accepted or TrackStatus.Duplicate)))
                {
                    throw new InvalidOperationException($"step {step}: {group.Key} (last processed {at:O}, now {now:O}) was {string.Join(", ", group.Select(x => x.Status))}");
                }

                if (accepted == 1)
                {
                    processed[group.Key] = now;
                }

                log.Add(step + " " + group.Key + " accepted " + accepted + " of " + group.Count());
            }

            await host.AdvanceAsync(TimeSpan.FromMinutes(r.Next(0, 3) == 0 ? 120 : r.Next(1, 50)) + TimeSpan.FromTicks(r.Next(0, 2)));
            if (r.Next(3) == 0)
            {
                await host.Engine.PurgeProcessedEventsAsync();
                var cut = host.Time.GetUtcNow() - retention;
                purgedBefore = cut;
                foreach (var (id, at) in processed.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    var isProcessed = await host.Store.IsEventProcessedAsync(id);
                    if (isProcessed != at >= cut)
                    {
                        throw new InvalidOperationException($"after the purge at {host.Time.GetUtcNow():O}: {id}, last processed {at:O}, is {(isProcessed ? "still" : "no longer")} remembered");
                    }
                }

                log.Add("purged " + string.Join(",", processed.Where(p => p.Value >= cut).Select(p => p.Key).Order(StringComparer.Ordinal)));
            }
        }

        foreach (var person in People.Take(2))
        {
            var export = await host.Client.ExportProfileAsync(person[0]);
            log.Add(person[0].Value + " => " + (export is null ? "none" : Comparable(export)));
        }

        return log;
    }

    private static string Describe(TrackResult result) =>
        $"{result.Status} [{string.Join(";", result.Errors)}] [{string.Join(";", result.NotLinked)}] {result.FailureReason}";

    // The export without what depends on processing rather than on the events: ids, processing times, merge records,
    // segment transitions (memberships are compared), which event of an order converted it (as the run property does).
    internal static string Comparable(JsonObject export)
    {
        export.Remove("id");
        export.Remove("createdAt");
        export.Remove("merges");
        export.Remove("conflicts");
        export["internal"]?.AsObject().Remove("orderConversions");
        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray().Where(t => t!["type"]!.GetValue<string>() is not ("segment.entered" or "segment.exited")).Select(t => t!.DeepClone())]);
        export["segments"] = string.Join(",", export["segments"]!.AsArray().Select(m => m!["segmentId"]?.GetValue<string>() ?? m.ToJsonString()).Order(StringComparer.Ordinal));
        export["identifiers"] = string.Join(",", export["identifiers"]!.AsArray().Select(i => i!["type"]!.GetValue<string>() + ":" + i["value"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        return Canonical(export)!.ToJsonString();
    }

    // Objects with their keys sorted. Random ids (profile ids in message keys, say) become '#': the order of a list of
    // such texts followed the ids, so it is sorted after.
    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a when a.Any(i => i is JsonValue v && v.TryGetValue<string>(out var text) && RandomId().IsMatch(text)) =>
            new JsonArray([.. a.Select(Canonical).OrderBy(i => i?.ToJsonString(), StringComparer.Ordinal)]),
        JsonArray a => new JsonArray([.. SortTies(a.Select(Canonical))]),
        JsonValue v when v.TryGetValue<string>(out var text) && RandomId().IsMatch(text) => JsonValue.Create(RandomId().Replace(text, "#")),
        null => null,
        _ => node.DeepClone(),
    };

    // Entries of one instant (a timeline's journey entries, made at one processing time) are ordered by their event ids,
    // and those carry random profile ids: within such a tie the order is not part of the contract, so ties are sorted.
    // Entries of different instants keep their order.
    private static IEnumerable<JsonNode?> SortTies(IEnumerable<JsonNode?> items)
    {
        var list = items.ToList();
        for (var i = 0; i < list.Count;)
        {
            var at = list[i] is JsonObject o && o["timestamp"] is JsonValue t ? t.ToJsonString() : null;
            var j = i + 1;
            while (at is not null && j < list.Count && list[j] is JsonObject n && n["timestamp"]?.ToJsonString() == at)
            {
                j++;
            }

            if (j - i > 1)
            {
                var sorted = list.GetRange(i, j - i).OrderBy(x => x!.ToJsonString(), StringComparer.Ordinal).ToList();
                for (var k = 0; k < sorted.Count; k++)
                {
                    list[i + k] = sorted[k];
                }
            }

            i = j;
        }

        return list;
    }

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex RandomId();

    /// <summary>The first line where two traces differ, with both lines, or null when they are the same.</summary>
    public static string? FirstDifference(IReadOnlyList<string> expected, IReadOnlyList<string> actual, string expectedName = "model", string actualName = "shortcut")
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "<none>";
            var a = i < actual.Count ? actual[i] : "<none>";
            if (e != a)
            {
                var prefix = 0;
                while (prefix < Math.Min(e.Length, a.Length) && e[prefix] == a[prefix])
                {
                    prefix++;
                }

                var from = Math.Max(0, prefix - 200);
                return new StringBuilder().Append("line ").Append(i).AppendLine(":")
                    .Append("  ").Append(expectedName).Append(": ").AppendLine(e[from..Math.Min(e.Length, prefix + 300)])
                    .Append("  ").Append(actualName).Append(": ").AppendLine(a[from..Math.Min(a.Length, prefix + 300)]).ToString();
            }
        }

        return null;
    }

    private sealed class Recorder(string channel, Func<DateTimeOffset> now, List<string> sent) : IChannelTransport
    {
        public string Channel => channel;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var what = message switch
            {
                EmailMessage e => e.To + " | " + e.Subject,
                SmsMessage s => s.To + " | " + s.Body,
                _ => message.GetType().Name,
            };
            lock (sent)
            {
                sent.Add($"sent {now().UtcTicks} {channel} {what} {message.Topic}");
            }

            return ValueTask.FromResult(DeliveryResult.Accepted(null));
        }
    }
}
