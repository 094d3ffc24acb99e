using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>One generated call of a stream (see <see cref="AuditCLClusterProperties.Describe"/> for what each kind does).</summary>
/// <param name="Kind">Which call.</param>
/// <param name="Person">Whose identifiers (0–2).</param>
/// <param name="Other">A second person, for cross-person links and conflicts.</param>
/// <param name="Mask">Which of her identifiers an event carries, and in which spelling.</param>
/// <param name="Variant">Picks values within the kind.</param>
public sealed record ClusterOp(int Kind, int Person, int Other, int Mask, int Variant);

/// <summary>FsCheck generators for <see cref="AuditCLClusterProperties"/>: streams of up to 30 calls.</summary>
public static class ClusterOpArbitrary
{
    public static Arbitrary<ClusterOp[]> Streams() =>
        Gen.ListOf(
                from kind in Gen.Frequency(
                    (5, Gen.Choose(0, 2)),   // views, carts, orders
                    (2, Gen.Choose(3, 5)),   // consent, login, cross-person link
                    (2, Gen.Choose(6, 7)),   // send, advance
                    (2, Gen.Choose(8, 10)))  // batch, erasure, replay
                from person in Gen.Choose(0, 2)
                from other in Gen.Choose(0, 2)
                from mask in Gen.Choose(1, 255)
                from variant in Gen.Choose(0, 11)
                select new ClusterOp(kind, person, other, mask, variant))
            .Select(l => l.Take(30).ToArray())
            .ToArbitrary();
}

/// <summary>The shared cluster of <see cref="AuditCLClusterProperties"/>: three silos on one in-memory store and one fake clock, without timers.</summary>
public sealed class AuditCLCluster : IAsyncLifetime
{
    internal const string CartJourney = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"}, "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "remind", "type": "send", "channels": ["email", "sms"], "template": "cart-reminder", "class": "transactional"}]}
        """;

    internal static readonly string[] SegmentJson =
    [
        """{"id": "buyers", "name": "Buyers", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "PT6H"}}""",
        """{"id": "newsletter", "name": "Newsletter", "rule": {"reachable": "email", "topic": "newsletter"}}""",
    ];

    private InProcessCluster? _cluster;

    /// <summary>The silos' clock (they get it without timers: time-driven work runs only when a test runs it).</summary>
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    public InMemoryOmnichannelStore Store { get; } = new();

    public RecordingTransport Recorder { get; } = new(ChannelNames.Email);

    internal InProcessCluster Cluster => _cluster!;

    public IOmnichannelClient Client { get; private set; } = null!;

    /// <summary>The options of every silo, of the cluster client and of the reference engine.</summary>
    public static OmnichannelOptions Options()
    {
        var o = new OmnichannelOptions { Partitions = 2 };
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        o.Delivery.Retry!.Delay = TimeSpan.Zero;
        o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
        foreach (var json in SegmentJson)
        {
            o.Segments.Add(Segments.SegmentJson.Parse(json).Value!);
        }

        o.Journeys.Add(Journeys.JourneyJson.Parse(CartJourney).Value!);
        return o;
    }

    public async Task InitializeAsync()
    {
        _cluster = await InProcessCluster.StartAsync(3, services =>
        {
            services.AddSingleton<TimeProvider>(new ClockWithoutTimers(Time));
            services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
            var reference = Options();
            services.AddOmnichannel(o =>
            {
                o.Partitions = reference.Partitions;
                o.Privacy.HashKey = reference.Privacy.HashKey;
                o.Delivery.Retry!.Delay = TimeSpan.Zero;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                foreach (var s in reference.Segments)
                {
                    o.Segments.Add(s);
                }

                foreach (var j in reference.Journeys)
                {
                    o.Journeys.Add(j);
                }
            })
                .UseStore(_ => Store)
                .AddTransport("recorder", ChannelNames.Email, _ => Recorder)
                .AddTransport("recorder", ChannelNames.Sms, _ => Recorder.ForChannel(ChannelNames.Sms))
                .UseOrleans(o => o.Sweep = TimeSpan.FromDays(1));
        });
        Client = new OmnichannelClusterClient(_cluster.Client, Options());
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Audit CL: the same random stream of public-API calls — events of three people over overlapping identifiers (anonymous
/// ids, emails in mixed case, phones in several formats, customer ids), logins that merge, customer-id conflicts,
/// orders, consent, sends, time moving (a segment window, a journey's delay and send), batches mixed with single calls,
/// erasure and replays — sent to a three-silo cluster through <see cref="OmnichannelClusterClient"/> and to one
/// <see cref="OmnichannelEngine"/> with the same options, answer the same: every result, then every person's export,
/// segment members, journey statistics, suppression and the messages handed to the transports.
/// </summary>
public sealed class AuditCLClusterProperties(AuditCLCluster shared) : IClassFixture<AuditCLCluster>
{
    private static int _cases;

    [Property(Arbitrary = [typeof(ClusterOpArbitrary)], MaxTest = 100, EndSize = 40)]
    public void AuditCL_AStreamOfCalls_AnswersAsOneEngine(ClusterOp[] stream) =>
        Run(stream).GetAwaiter().GetResult();

    // Found by CI (replay (3654627515463376567,13714289507283222013,39)): her email erased, then linked beside others'
    // identifiers; an event of hers dated before the erasure sent again must be refused on the cluster as by one engine.
    [Fact]
    public Task AuditCL_AnEventOfAnErasedEmailReplayedAfterLinks_IsRefusedAsByOneEngine() => Run(
    [
        new(0, 0, 2, 86, 2),
        new(7, 2, 1, 227, 2),
        new(9, 0, 2, 4, 8),
        new(10, 2, 0, 39, 10),
        new(0, 0, 0, 28, 1),
        new(2, 1, 1, 119, 6),
        new(5, 1, 0, 74, 7),
        new(0, 1, 1, 71, 4),
        new(1, 2, 2, 187, 6),
        new(5, 0, 1, 174, 10),
        new(9, 0, 1, 250, 5),
        new(6, 2, 1, 123, 11),
        new(3, 1, 2, 131, 2),
        new(2, 2, 1, 136, 5),
        new(2, 0, 1, 95, 11),
        new(6, 0, 2, 29, 1),
        new(1, 2, 1, 135, 11),
        new(4, 0, 0, 5, 7),
        new(0, 1, 2, 47, 1),
        new(0, 0, 1, 16, 11),
        new(7, 2, 0, 145, 4),
        new(6, 0, 0, 141, 0),
        new(9, 1, 1, 183, 5),
        new(5, 0, 2, 84, 2),
        new(2, 2, 1, 111, 2),
        new(2, 2, 1, 102, 9),
        new(10, 0, 1, 236, 11),
    ]);

    internal async Task Run(ClusterOp[] stream)
    {
        // Nothing of an earlier case (a window, a wait, a held message; a failed case's too) may fire in this one.
        var engines = shared.Cluster.Engines;
        await engines[0].AdvanceVirtualClockAsync(shared.Time.GetUtcNow().AddDays(2), shared.Time.SetUtcNow);
        foreach (var e in engines)
        {
            await e.RunDispatchAsync();
        }

        var tag = "c" + Interlocked.Increment(ref _cases);
        var start = shared.Time.GetUtcNow();
        shared.Recorder.Clear();
        var statsBefore = await shared.Client.GetJourneyStatisticsAsync("cart");

        // The reference: one engine, its own store, a clock starting where the cluster's is, moved alike.
        var referenceTime = new FakeTimeProvider(start);
        var referenceRecorder = new RecordingTransport(ChannelNames.Email);
        var delivery = new DeliverySetup { Renderer = new StubMessageRenderer() };
        delivery.AddTransport("recorder", referenceRecorder);
        delivery.AddTransport("recorder", referenceRecorder.ForChannel(ChannelNames.Sms));
        await using var engine = new OmnichannelEngine(AuditCLCluster.Options(), new InMemoryOmnichannelStore(), new ClockWithoutTimers(referenceTime), delivery: delivery);

        var onCluster = await RunAsync(tag, stream, shared.Client, shared.Time, (i, at) => engines[i % engines.Count].AdvanceVirtualClockAsync(at, shared.Time.SetUtcNow), i => engines[i % engines.Count].RunDispatchAsync());
        var onEngine = await RunAsync(tag, stream, engine, referenceTime, (_, at) => engine.AdvanceVirtualClockAsync(at, referenceTime.SetUtcNow), _ => engine.RunDispatchAsync());
        for (var i = 0; i < Math.Max(onCluster.Count, onEngine.Count); i++)
        {
            Assert.True(onEngine.ElementAtOrDefault(i) == onCluster.ElementAtOrDefault(i),
                $"step {i} of {string.Join(" | ", stream.Select(Describe))}\none engine: {onEngine.ElementAtOrDefault(i)}\ncluster:    {onCluster.ElementAtOrDefault(i)}");
        }

        // Final state, read the same way on both sides.
        var expected = await StateAsync(tag, engine, referenceRecorder, null);
        var actual = await StateAsync(tag, shared.Client, shared.Recorder, statsBefore);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"{string.Join(" | ", stream.Select(Describe))}\n{Difference(expected[i], actual[i])}");
        }
    }

    // Where two long lines part: their shared start, then each from there.
    private static string Difference(string expected, string actual)
    {
        var at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
        {
            at++;
        }

        var from = Math.Max(0, at - 400);
        return $"same start: {expected[..Math.Min(150, expected.Length)]}…\none engine: …{expected[from..Math.Min(expected.Length, at + 400)]}\ncluster:    …{actual[from..Math.Min(actual.Length, at + 400)]}";
    }

    internal static string Describe(ClusterOp op) => op.Kind switch
    {
        0 => $"view(p{op.Person},{op.Mask})",
        1 => $"cart(p{op.Person},{op.Mask},{op.Variant})",
        2 => $"order(p{op.Person},{op.Mask},{op.Variant})",
        3 => $"consent(p{op.Person},{op.Mask},{op.Variant})",
        4 => $"login(p{op.Person},{op.Mask})",
        5 => $"link(p{op.Person},p{op.Other},{op.Variant})",
        6 => $"send(p{op.Person},{op.Mask},{op.Variant})",
        7 => $"advance({op.Variant})",
        8 => $"batch(p{op.Person},p{op.Other},{op.Mask},{op.Variant})",
        9 => $"erase(p{op.Person},{op.Mask},{op.Variant})", // or lift the erasure (variant 3, 7, 11)
        _ => $"replay({op.Variant})",
    };

    private static Identifier[] People(string tag, int person, int mask)
    {
        // Bit 0–1: anonymous id; 2: email (spelling by bit 3); 4: phone (format by bits 5–6); 7: customer id.
        var ids = new List<Identifier>();
        if ((mask & 3) != 0)
        {
            ids.Add(Identifier.AnonymousId($"anon-{tag}-{person}-{mask & 3}"));
        }

        if ((mask & 4) != 0)
        {
            ids.Add(Identifier.Email((mask & 8) != 0 ? $"P{person}.{tag}@Example.COM" : $"p{person}.{tag}@example.com"));
        }

        if ((mask & 16) != 0)
        {
            var line = 1000 + (int.Parse(tag[1..], System.Globalization.CultureInfo.InvariantCulture) * 3 + person) % 9000;
            ids.Add(Identifier.Phone(((mask >> 5) & 3) switch
            {
                0 => $"+1 415 555 {line}",
                1 => $"(415) 555-{line}",
                2 => $"415.555.{line}",
                _ => $"+1415555{line}",
            }));
        }

        if ((mask & 128) != 0 || ids.Count == 0)
        {
            ids.Add(Identifier.CustomerId($"cust-{tag}-{person}"));
        }

        return [.. ids];
    }

    private static async Task<List<string>> RunAsync(string tag, ClusterOp[] stream, IOmnichannelClient client, FakeTimeProvider time, Func<int, DateTimeOffset, Task> advance, Func<int, Task<int>> dispatch)
    {
        var outcomes = new List<string>();
        var sent = new List<CustomerEvent>();
        var n = 0;
        CustomerEvent Event(ClusterOp op)
        {
            var id = $"{tag}-e{n++}";
            var ids = People(tag, op.Person, op.Mask);
            var (type, properties) = op.Kind switch
            {
                1 => (EventTypes.CartItemAdded, (object?)new { product_id = "sku-" + op.Variant % 3, quantity = 1 + op.Variant % 2, price = 10.5 + op.Variant, cart_id = $"cart-{op.Person}-{op.Variant % 2}" }),
                2 => (EventTypes.OrderPlaced, new { order_id = $"o-{tag}-{op.Person}-{op.Variant % 4}", total = 20 + op.Variant, currency = op.Variant % 3 == 0 ? "EUR" : "USD" }),
                3 => (EventTypes.ConsentChanged, new { channel = op.Variant % 2 == 0 ? "email" : "sms", topic = op.Variant % 3 == 0 ? null : "newsletter", granted = op.Variant % 4 != 3 }),
                4 => ("user.identified", null),
                5 => ("user.identified", null),
                _ => (EventTypes.ProductViewed, new { product_id = "sku-" + op.Variant % 3 }),
            };
            if (op.Kind == 4)
            {
                // A login: her customer id with what she browsed with (a second account's id now and then: a conflict).
                ids = [.. ids.Where(i => i.Type != IdentifierTypes.CustomerId), Identifier.CustomerId(op.Variant % 5 == 4 ? $"cust-{tag}-{op.Person}-b" : $"cust-{tag}-{op.Person}")];
            }
            else if (op.Kind == 5)
            {
                // One event naming two people's identifiers: a merge, or a customer-id conflict (NotLinked).
                ids = [.. People(tag, op.Person, op.Variant % 2 == 0 ? 0b0000_0101 : 0b1000_0001), .. People(tag, op.Other, op.Variant % 3 == 0 ? 0b1000_0000 : 0b0001_0100)];
            }

            var traits = op.Kind is 4 or 5 ? JsonData.From(new { name = $"P{op.Person}", tier = op.Variant % 2 == 0 ? "gold" : "silver" }) : default;
            return new CustomerEvent
            {
                Id = id,
                Type = type,
                Timestamp = time.GetUtcNow().AddMinutes(-(op.Variant % 3)),
                Identifiers = ids,
                Channel = op.Variant % 2 == 0 ? ChannelNames.Web : "pos",
                Properties = properties is null ? default : JsonData.From(properties),
                Traits = traits,
            };
        }

        for (var i = 0; i < stream.Length; i++)
        {
            var op = stream[i];
            switch (op.Kind)
            {
                case 6:
                {
                    var mine = People(tag, op.Person, op.Mask);
                    var to = mine.Where(x => x.Type is IdentifierTypes.Email or IdentifierTypes.Phone).DefaultIfEmpty(mine[0]).First();
                    var request = new MessageRequest
                    {
                        Key = $"{tag}-send-{op.Variant % 4}",
                        Channels = op.Variant % 2 == 0 ? [ChannelNames.Email, ChannelNames.Sms] : [ChannelNames.Sms],
                        TemplateId = "t-" + op.Variant % 3,
                        Class = op.Variant % 3 == 0 ? MessageClass.Transactional : MessageClass.Marketing,
                        Topic = op.Variant % 3 == 0 ? null : "newsletter",
                    };
                    var result = await client.SendAsync(to, request);
                    outcomes.Add($"send {result.Key} {result.Status} {result.Channel} {result.DueAt:O} {result.Reason}");
                    break;
                }

                case 7:
                {
                    TimeSpan[] steps = [TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(59), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(7)];
                    await advance(i, time.GetUtcNow() + steps[op.Variant % steps.Length]);
                    outcomes.Add("advanced to " + time.GetUtcNow().ToString("O"));
                    break;
                }

                case 8:
                {
                    var batch = new List<CustomerEvent>();
                    for (var k = 0; k <= op.Variant % 4; k++)
                    {
                        var kind = (op.Mask >> k) % 6;
                        batch.Add(Event(new ClusterOp(kind == 5 ? 5 : kind, k % 2 == 0 ? op.Person : op.Other, op.Other, op.Mask ^ (k * 37), op.Variant + k)));
                    }

                    if (op.Variant % 5 == 0 && sent.Count > 0)
                    {
                        batch.Add(sent[op.Mask % sent.Count]); // an earlier event again, in a batch
                    }

                    sent.AddRange(batch);
                    outcomes.AddRange((await client.TrackBatchAsync(batch)).Select(DescribeResult));
                    break;
                }

                case 9:
                {
                    var who = People(tag, op.Person, op.Mask)[0];
                    if (op.Variant % 4 == 3)
                    {
                        outcomes.Add($"lift {who.Type} {await client.LiftErasureAsync(who)}");
                        break;
                    }

                    var erased = await client.EraseProfileAsync(who, new Privacy.EraseOptions { AllowReturn = op.Variant % 2 == 0 });
                    outcomes.Add($"erase {who.Type} {erased}");
                    break;
                }

                case 10:
                {
                    if (sent.Count > 0)
                    {
                        outcomes.Add(DescribeResult(await client.TrackAsync(sent[op.Variant % sent.Count])));
                    }

                    break;
                }

                default:
                {
                    var e = Event(op);
                    sent.Add(e);
                    outcomes.Add(DescribeResult(await client.TrackAsync(e)));
                    break;
                }
            }

            await dispatch(i);
        }

        await advance(0, time.GetUtcNow());
        return outcomes;
    }

    private static string DescribeResult(TrackResult r) =>
        $"{r.EventId} {r.Status} transient={r.IsTransient} profile={(r.ProfileId is null ? "none" : "some")} errors=[{string.Join("; ", r.Errors)}] " +
        $"notLinked=[{string.Join("; ", r.NotLinked)}] segments=[{string.Join("; ", r.SegmentChanges.Select(c => $"{c.SegmentId} {c.Entered} {c.At:O}"))}] reason={r.FailureReason}";

    private static async Task<List<string>> StateAsync(string tag, IOmnichannelClient client, RecordingTransport recorder, Journeys.JourneyStatistics? before)
    {
        var state = new List<string>();
        var profiles = new Dictionary<string, string>(StringComparer.Ordinal); // profile id → her identifiers
        for (var person = 0; person < 3; person++)
        {
            foreach (var mask in new[] { 1, 2, 3, 4, 12, 16, 48, 80, 112, 128 })
            {
                var id = mask == 128 ? Identifier.CustomerId($"cust-{tag}-{person}-b") : People(tag, person, mask)[0];
                var export = await client.ExportProfileAsync(id);
                var profile = await client.GetProfileAsync(id);
                state.Add($"p{person} {id.Type}:{id.Value} suppressed={await client.IsSuppressedAsync(id)} {(export is null ? "none" : Comparable(export))}");
                if (profile is not null)
                {
                    profiles[profile.Id] = string.Join(",", profile.Identifiers.Select(x => x.Type + ":" + x.Value).Order(StringComparer.Ordinal));
                }
            }
        }

        foreach (var segment in new[] { "buyers", "newsletter" })
        {
            var members = new List<string>();
            string? after = null;
            while (true)
            {
                var page = await client.GetSegmentMembersAsync(segment, after, 100);
                members.AddRange(page.Where(profiles.ContainsKey).Select(p => profiles[p]));
                if (page.Count < 100)
                {
                    break;
                }

                after = page[^1];
            }

            state.Add($"{segment}: {string.Join(" | ", members.Order(StringComparer.Ordinal))}");
        }

        var stats = await client.GetJourneyStatisticsAsync("cart");
        state.Add($"journey entered={stats.Entered - (before?.Entered ?? 0)} active={stats.Active - (before?.Active ?? 0)} completed={stats.Completed - (before?.Completed ?? 0)} " +
            $"exited={stats.Exited - (before?.Exited ?? 0)} refused={stats.EntriesRefused - (before?.EntriesRefused ?? 0)} " +
            $"sent={(stats.Steps.GetValueOrDefault("remind")?.Sent ?? 0) - (before?.Steps.GetValueOrDefault("remind")?.Sent ?? 0)} " +
            $"skipped={(stats.Steps.GetValueOrDefault("remind")?.Skipped ?? 0) - (before?.Steps.GetValueOrDefault("remind")?.Skipped ?? 0)}");
        state.Add("messages: " + string.Join(" | ", recorder.Records.Select(r => r.Message switch
        {
            EmailMessage m => $"{r.Channel} {m.To} {m.Subject} {m.Topic}",
            SmsMessage m => $"{r.Channel} {m.To} {m.Body} {m.Topic}",
            var m => $"{r.Channel} {m.GetType().Name}",
        }).Order(StringComparer.Ordinal)));
        return state;
    }

    // The export without what depends on processing rather than on the calls: ids, creation, merge records (as the core
    // suite's ArrivalOrderProperties.Comparable), and the segment transitions' order within the timeline.
    private static string Comparable(JsonObject export)
    {
        export.Remove("id");
        export.Remove("createdAt");
        export.Remove("merges");
        export.Remove("version");
        export["internal"]?.AsObject().Remove("orderConversions");
        if (export["internal"] is JsonObject bookkeeping)
        {
            // Lists a merge concatenates (touches, message keys) in the survivor's order: compared as sets.
            export["internal"] = SortArrays(bookkeeping);
        }

        // A merge interleaves two timelines; entries of one instant come in an order set by which profile survived
        // (decided by ids, which are random): compared as a set of entries.
        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray().Select(t => Mask(t!.ToJsonString())).Order(StringComparer.Ordinal).Select(t => JsonValue.Create(t))]);
        export["segments"] = string.Join(",", export["segments"]!.AsArray().Select(m => m!["segmentId"]?.GetValue<string>() ?? m.ToJsonString()).Order(StringComparer.Ordinal));
        export["identifiers"] = string.Join(",", export["identifiers"]!.AsArray().Select(i => i!["type"]!.GetValue<string>() + ":" + i["value"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        var text = Canonical(export)!.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        return Mask(text);
    }

    private static JsonNode? SortArrays(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(kv => KeyValuePair.Create(kv.Key, SortArrays(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(SortArrays).OrderBy(n => Mask(n?.ToJsonString() ?? "null"), StringComparer.Ordinal)]),
        null => null,
        _ => node.DeepClone(),
    };

    // Profile ids inside journey event ids.
    private static string Mask(string text) => System.Text.RegularExpressions.Regex.Replace(text, "p_[0-9a-f]{32}", "p_*");

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };
}
