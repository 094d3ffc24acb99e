using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// An audit of runs: a batch processed through runs must give what the same events tracked one at a time give — results,
/// profiles, messages, measurements — and keep every promise of the one-at-a-time path.
/// </summary>
public sealed class RunAuditTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-1");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900123");
    private static readonly Identifier Bob = Identifier.CustomerId("c-2");
    private static readonly Identifier BobEmail = Identifier.Email("bob@example.com");

    internal static CustomerEvent Event(string id, string type, DateTimeOffset at, IReadOnlyList<Identifier> ids, object? properties = null, object? traits = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = ids,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };

    internal sealed record Outcome(IReadOnlyList<string> Results, IReadOnlyList<string> Profiles, IReadOnlyList<string> Sent, IReadOnlyList<string> Measurements, IReadOnlyList<string> Outbox)
    {
        public void ShouldEqual(Outcome other)
        {
            var problems = new List<string>();
            void Check(string what, IReadOnlyList<string> one, IReadOnlyList<string> run)
            {
                if (!one.SequenceEqual(run))
                {
                    problems.Add($"{what}: one at a time [{string.Join("; ", one)}]\n  through runs [{string.Join("; ", run)}]");
                }
            }

            Check("results", Results, other.Results);
            Check("sent", Sent, other.Sent);
            Check("measurements", Measurements, other.Measurements);
            Check("profiles", Profiles, other.Profiles);
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
    }

    internal static string Describe(TrackResult r) =>
        $"{r.Status}|{string.Join(",", r.SegmentChanges.Select(c => (c.Entered ? "+" : "-") + c.SegmentId + "@" + c.At.ToString("O")))}|{r.FailureReason}";

    /// <summary>Tracks <paramref name="events"/> one at a time or as one batch on a fresh rig; what the user can see afterwards.</summary>
    internal static async Task<Outcome> RunAsync(
        bool batch,
        Func<DateTimeOffset, IReadOnlyList<CustomerEvent>> events,
        IReadOnlyList<Identifier> people,
        IEnumerable<string> journeys,
        IEnumerable<string>? segments = null,
        Action<OmnichannelOptions>? configure = null,
        IOmnichannelStore? store = null,
        TimeSpan? after = null,
        Func<JourneyRig, Task>? before = null)
    {
        await using var rig = JourneyRig.Create(
            journeys.Select(JourneyRig.Parse),
            (segments ?? []).Select(s => SegmentJson.Parse(s).Value!),
            configure,
            store: store);
        if (before is not null)
        {
            await before(rig);
        }

        var list = events(rig.Host.Time.GetUtcNow());
        var results = new List<string>();
        var profileIds = new List<string?>();
        if (batch)
        {
            var answers = await rig.Host.Client.TrackBatchAsync(list);
            results.AddRange(answers.Select(Describe));
            profileIds.AddRange(answers.Select(a => a.ProfileId));
        }
        else
        {
            foreach (var e in list)
            {
                var a = await rig.Host.Client.TrackAsync(e);
                results.Add(Describe(a));
                profileIds.Add(a.ProfileId);
            }
        }

        // The profile each answer names, by the identifiers it holds now (ids differ between rigs).
        var byId = new Dictionary<string, string>();
        foreach (var id in people)
        {
            if (await rig.Host.Client.GetProfileAsync(id) is { } p)
            {
                byId.TryAdd(p.Id, id.ToString());
            }
        }

        for (var i = 0; i < results.Count; i++)
        {
            results[i] += "|" + (profileIds[i] is { } pid ? byId.GetValueOrDefault(pid, "?" ) : "-");
        }

        await rig.AdvanceAsync(after ?? TimeSpan.FromDays(2));
        var sent = rig.Recorder.Records.Select(r => r.Channel + ":" + Anonymous(r.Message.MessageId, r.Message.ProfileId)).Order(StringComparer.Ordinal).ToList();
        var measurements = (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery()))
            .Select(m => $"{m.Key.JourneyId}|{m.Key.Metric}|{m.Key.Day}|{m.Key.StepId}|{m.Key.Variant}|{m.Key.Channel}|{m.Key.TemplateId}={m.Count}/{m.Sum}")
            .Where(m => !m.EndsWith("=0/0", StringComparison.Ordinal)) // a +1 and a −1 netted in one commit leave no row: the same aggregate
            .Order(StringComparer.Ordinal)
            .ToList();
        var profiles = new List<string>();
        foreach (var id in people)
        {
            var export = await rig.Host.Client.ExportProfileAsync(id);
            profiles.Add(export is null ? "none" : Anonymous(Comparable(export.DeepClone().AsObject()), export["id"]!.GetValue<string>()));
        }

        return new Outcome(results, profiles, sent, measurements, []);
    }

    private static string Anonymous(string? text, string? profileId) => profileId is null || text is null ? text ?? "" : text.Replace(profileId, "P", StringComparison.Ordinal);

    internal static async Task CompareAsync(
        Func<DateTimeOffset, IReadOnlyList<CustomerEvent>> events,
        IReadOnlyList<Identifier> people,
        IEnumerable<string> journeys,
        IEnumerable<string>? segments = null,
        Action<OmnichannelOptions>? configure = null,
        Func<IOmnichannelStore>? store = null,
        Func<JourneyRig, Task>? before = null)
    {
        var one = await RunAsync(false, events, people, journeys, segments, configure, store?.Invoke(), before: before);
        var run = await RunAsync(true, events, people, journeys, segments, configure, store?.Invoke(), before: before);
        one.ShouldEqual(run);
    }

    private static readonly string[] Segments =
    [
        """{"id": "buyers", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""",
        """{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""",
        """{"id": "viewers", "name": "x", "rule": {"event": "product.viewed", "count": {"op": "gte", "value": 3}, "within": "PT1H"}}""",
        """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
        """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 25}}""",
    ];

    private const string ViewersJson = """
        {"id": "viewer-nudge", "version": 1, "name": "Viewer nudge",
         "trigger": {"type": "segment", "segment": "viewers", "on": "entered"},
         "entry": {"reEntry": "afterPreviousEnded"},
         "steps": [{"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "topic": "offers", "class": "marketing"}]}
        """;

    private const string GoldJson = """
        {"id": "gold-welcome", "version": 1, "name": "Gold",
         "trigger": {"type": "segment", "segment": "gold", "on": "entered"},
         "entry": {"reEntry": "afterPreviousEnded"},
         "steps": [{"id": "gold-mail", "type": "send", "channels": ["email"], "template": "gold", "topic": "offers", "class": "marketing"}]}
        """;

    private static readonly string[] AllJourneys = [JourneyScenarios.WelcomeJson, JourneyScenarios.AbandonedCartJson, JourneyScenarios.OrderUpdatesJson, ViewersJson, GoldJson];

    private static IReadOnlyList<CustomerEvent> Shopping(DateTimeOffset now, string prefix = "e")
    {
        var at = now.AddMinutes(-50);
        var n = 0;
        string Id() => prefix + n++;
        return
        [
            Event(Id(), "user.identified", at, [Ann, AnnEmail, AnnPhone], traits: new { tier = "silver", first_name = "Ann" }),
            Event(Id(), EventTypes.ConsentChanged, at.AddMinutes(1), [Ann], new { channel = "email", granted = true }),
            Event(Id(), EventTypes.ConsentChanged, at.AddMinutes(1), [Ann], new { channel = "sms", granted = true }),
            Event(Id(), EventTypes.NewsletterSubscribed, at.AddMinutes(2), [Ann]),
            Event(Id(), EventTypes.ProductViewed, at.AddMinutes(3), [Ann], new { product_id = "p1" }),
            Event(Id(), EventTypes.ProductViewed, at.AddMinutes(4), [Ann], new { product_id = "p2" }),
            Event(Id(), EventTypes.ProductViewed, at.AddMinutes(5), [Ann], new { product_id = "p3" }),
            Event(Id(), EventTypes.CartItemAdded, at.AddMinutes(6), [Ann], new { cart_id = "k1", product_id = "p1", sku = "p1", price = 5, quantity = 1 }),
            Event(Id(), "user.identified", at.AddMinutes(7), [Ann], traits: new { tier = "gold" }),
            Event(Id(), EventTypes.OrderPlaced, at.AddMinutes(8), [Ann], new { order_id = "o1", total = 20, currency = "GBP" }),
            Event(Id(), "user.identified", at.AddMinutes(9), [Ann], traits: new { tier = "silver" }),
            Event(Id(), EventTypes.OrderPlaced, at.AddMinutes(10), [Ann], new { order_id = "o2", total = 30, currency = "GBP" }),
            Event(Id(), "user.identified", at.AddMinutes(11), [Ann], traits: new { tier = "gold" }),
            Event(Id(), EventTypes.ConsentChanged, at.AddMinutes(12), [Ann], new { channel = "sms", granted = false }),
            Event(Id(), EventTypes.ProductViewed, at.AddMinutes(13), [Ann], new { product_id = "p4" }),
            Event(Id(), "user.identified", at.AddMinutes(14), [Ann], traits: new { tier = "silver" }),
            Event(Id(), "user.identified", at.AddMinutes(15), [Ann], traits: new { tier = "gold" }),
            Event(Id(), EventTypes.OrderPlaced, at.AddMinutes(16), [Ann], new { order_id = "o3", total = 40, currency = "GBP" }),
        ];
    }

    [Fact]
    public Task JourneysSegmentsAndMessages_OfOneRun_AreWhatOneAtATimeGives() =>
        CompareAsync(now => Shopping(now), [Ann, AnnEmail], AllJourneys, Segments);

    // Marketing email withdrawn, then a segment entry that would send one: refused when planned, in a run as one at a time.
    [Fact]
    public Task AConsentWithdrawal_FollowedByASendInTheSameRun_IsHonouredAsOneAtATime() =>
        CompareAsync(
            now =>
            {
                var at = now.AddMinutes(-30);
                return
                [
                    Event("a", "user.identified", at, [Ann, AnnEmail], traits: new { tier = "silver" }),
                    Event("b", EventTypes.ConsentChanged, at.AddMinutes(1), [Ann], new { channel = "email", granted = true }),
                    Event("c", EventTypes.ConsentChanged, at.AddMinutes(2), [Ann], new { channel = "email", granted = false }),
                    Event("d", "user.identified", at.AddMinutes(3), [Ann], traits: new { tier = "gold" }),
                    Event("e", EventTypes.ConsentChanged, at.AddMinutes(4), [Ann], new { channel = "email", granted = true }),
                    Event("f", "user.identified", at.AddMinutes(5), [Ann], traits: new { tier = "silver" }),
                    Event("g", "user.identified", at.AddMinutes(6), [Ann], traits: new { tier = "gold" }),
                ];
            },
            [Ann],
            AllJourneys,
            Segments);

    [Fact]
    public Task FrequencyCaps_CountedAcrossTheEventsOfARun_AsOneAtATime() =>
        CompareAsync(now => Shopping(now), [Ann, AnnEmail], AllJourneys, Segments, o =>
        {
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1)));
        });

    [Fact]
    public Task TwoPeopleInterleaved_WithResends_AreWhatOneAtATimeGives() =>
        CompareAsync(
            now =>
            {
                var ann = Shopping(now, "a");
                var bob = Shopping(now, "b").Select(e => e with { Identifiers = [.. e.Identifiers.Select(i => i == Ann ? Bob : i == AnnEmail ? BobEmail : i == AnnPhone ? Identifier.Phone("+447700900999") : i)] }).ToList();
                var all = new List<CustomerEvent>();
                for (var i = 0; i < ann.Count; i++)
                {
                    all.Add(ann[i]);
                    if (i % 3 == 0)
                    {
                        all.Add(bob[i]);
                    }

                    if (i % 5 == 4)
                    {
                        all.Add(ann[i - 2]); // a resend within the run
                    }
                }

                all.AddRange(bob.Where((_, i) => i % 3 != 0));
                return all;
            },
            [Ann, Bob],
            AllJourneys,
            Segments);

    [Fact]
    public Task ARunLongerThan64_WithResendsAndANewIdentifierLate_IsWhatOneAtATimeGives() =>
        CompareAsync(
            now =>
            {
                var at = now.AddHours(-3);
                var list = new List<CustomerEvent> { Event("first", "user.identified", at, [Ann, AnnEmail], traits: new { tier = "silver" }) };
                for (var i = 0; i < 150; i++)
                {
                    list.Add(i switch
                    {
                        70 => Event("link", "user.identified", at.AddSeconds(i), [Ann, AnnPhone]),
                        _ when i % 17 == 0 => Event($"v{i / 2}", EventTypes.ProductViewed, at.AddSeconds(i / 2), [Ann], new { product_id = "p" + (i / 2) }),
                        _ when i % 10 == 0 => Event($"t{i}", "user.identified", at.AddSeconds(i), [Ann], traits: new { tier = i % 20 == 0 ? "gold" : "silver" }),
                        _ => Event($"v{i}", EventTypes.ProductViewed, at.AddSeconds(i), [Ann], new { product_id = "p" + (i % 7) }),
                    });
                }

                return list;
            },
            [Ann, AnnPhone],
            AllJourneys,
            Segments);
    // The export without what depends on processing rather than on the events (as ArrivalOrderProperties.Comparable).
    private static string Comparable(JsonObject export)
    {
        export.Remove("id");
        export.Remove("createdAt");
        export.Remove("merges");
        export.Remove("conflicts");
        export["internal"]?.AsObject().Remove("orderConversions");
        export["segments"] = string.Join(",", export["segments"]!.AsArray().Select(m => m!["segmentId"]?.GetValue<string>() ?? m.ToJsonString()).Order(StringComparer.Ordinal));
        export["identifiers"] = string.Join(",", export["identifiers"]!.AsArray().Select(i => i!["type"]!.GetValue<string>() + ":" + i["value"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        return Canonical(export)!.ToJsonString();
    }

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };

    [Fact]
    public Task AResendOfAnEventProcessedBefore_InTheMiddleOfARunThatPlansMessages_WritesNothingTwice() =>
        CompareAsync(
            now =>
            {
                var list = Shopping(now).ToList();
                list.Insert(9, Event("old", EventTypes.OrderPlaced, now.AddHours(-2), [Ann], new { order_id = "o0", total = 7, currency = "GBP" }));
                list.Insert(4, Event("old", EventTypes.OrderPlaced, now.AddHours(-2), [Ann], new { order_id = "o0", total = 7, currency = "GBP" }));
                return list;
            },
            [Ann, AnnEmail],
            AllJourneys,
            Segments,
            before: async rig =>
            {
                var r = await rig.Host.Client.TrackAsync(Event("old", EventTypes.OrderPlaced, rig.Host.Time.GetUtcNow().AddHours(-2), [Ann, AnnEmail], new { order_id = "o0", total = 7, currency = "GBP" }));
                Assert.Equal(TrackStatus.Accepted, r.Status);
                await rig.Engine.RunDispatchAsync();
            });

    [Fact]
    public Task IdentifiersInAnotherSpelling_RunAsOneAtATime() =>
        CompareAsync(
            now =>
            {
                var at = now.AddMinutes(-20);
                return
                [
                    Event("a", "user.identified", at, [Identifier.Email(" Ann@Example.COM ")], traits: new { tier = "gold" }),
                    Event("b", EventTypes.ProductViewed, at.AddMinutes(1), [Identifier.Email("ann@example.com")], new { product_id = "p1" }),
                    Event("c", EventTypes.ProductViewed, at.AddMinutes(2), [Identifier.Email("ANN@EXAMPLE.COM")], new { product_id = "p2" }),
                    Event("d", EventTypes.ProductViewed, at.AddMinutes(3), [Identifier.Email("ann@example.com"), Identifier.Phone("+44 7700 900123")], new { product_id = "p3" }),
                    Event("e", EventTypes.ProductViewed, at.AddMinutes(4), [Identifier.Phone("07700900123"), Identifier.Email("Ann@example.com")], new { product_id = "p4" }),
                    Event("f", EventTypes.OrderPlaced, at.AddMinutes(5), [Identifier.Email("ann@example.com")], new { order_id = "o1", total = 30, currency = "GBP" }),
                ];
            },
            [AnnEmail, AnnPhone],
            AllJourneys,
            Segments);

    [Fact]
    public async Task AnErasedPersonsBatch_IsRefusedAsBefore()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        var now = host.Time.GetUtcNow();
        var results = await host.Client.TrackBatchAsync(
        [
            Event("x1", EventTypes.ProductViewed, now, [Ann], new { product_id = "p1" }),
            Event("x2", EventTypes.ProductViewed, now, [Ann], new { product_id = "p2" }),
            Event("x3", EventTypes.ProductViewed, now, [AnnEmail], new { product_id = "p2" }),
            Event("x4", EventTypes.ProductViewed, now, [Ann], new { product_id = "p3" }),
        ]);
        Assert.All(results, r => Assert.Equal(TrackStatus.Erased, r.Status));
        Assert.Null(await host.Client.GetProfileAsync(Ann));
        Assert.Null(await host.Client.GetProfileAsync(AnnEmail));
    }

    [Fact]
    public async Task ConcurrentBatchesOfOneCustomer_WithTheSameIds_AcceptEachIdOnce()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddMinutes(-60);
        await host.TrackAsync(Event("id", "user.identified", at, [Ann, AnnEmail]));
        var batches = Enumerable.Range(0, 6).Select(b => Enumerable.Range(0, 100)
            .Select(i => Event($"v{(i * (b + 1)) % 120}", EventTypes.ProductViewed, at.AddSeconds((i * (b + 1)) % 120), [Ann], new { product_id = "p" + ((i * (b + 1)) % 120) }))
            .ToList()).ToList();
        var all = await Task.WhenAll(batches.Select(b => Task.Run(() => host.Client.TrackBatchAsync(b))));
        var accepted = all.SelectMany(r => r).Where(r => r.Status == TrackStatus.Accepted).Select(r => r.EventId).ToList();
        var distinct = batches.SelectMany(b => b).Select(e => e.Id).Distinct().Count();
        Assert.Equal(distinct, accepted.Count);
        Assert.Equal(distinct, accepted.Distinct().Count());
        Assert.All(all.SelectMany(r => r), r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Duplicate }));
        var profile = await host.ProfileAsync(Ann);
        Assert.Equal(distinct, profile.Statistics.EventCount - 1);
    }

    /// <summary>A renderer that throws for one template (a way through the public API for an event whose apply fails), and can hold a render.</summary>
    private sealed class PoisonRenderer : IMessageRenderer
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            if (request.TemplateId == "poison")
            {
                throw new OperationCanceledException("the renderer gave up");
            }

            if (request.TemplateId == "gate")
            {
                Entered.TrySetResult();
                await Gate.Task;
            }

            return new EmailMessage { From = "a@b.example", To = address, Subject = request.TemplateId!, HtmlBody = "<p>x</p>", MessageId = request.Key };
        }
    }

    private static OmnichannelTestHost PoisonHost(PoisonRenderer renderer) => OmnichannelTestHost.Create(
        o =>
        {
            o.Journeys.Add(JourneyRig.Parse("""
                {"id": "poisoned", "version": 1, "name": "x", "trigger": {"type": "event", "event": "poison.sent"},
                 "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "poison", "class": "transactional"}]}
                """));
            o.Journeys.Add(JourneyRig.Parse("""
                {"id": "gated", "version": 1, "name": "x", "trigger": {"type": "event", "event": "gate.sent"}, "entry": {"reEntry": "afterPreviousEnded"},
                 "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "gate", "class": "transactional"}]}
                """));
        },
        delivery: new DeliverySetup { Renderer = renderer }.AddTransport("recording", new RecordingTransport()));

    [Fact]
    // The renderer's own cancellation made this event's apply throw until audit M; it is now a rendering failure (the
    // channel is passed over), so the event is accepted — in a run exactly as one at a time.
    public async Task AnEventWhoseRendererThrows_InTheMiddleOfARun_EndsAsOneAtATime()
    {
        IReadOnlyList<CustomerEvent> Batch(DateTimeOffset now) =>
        [
            Event("a", "user.identified", now.AddMinutes(-10), [Ann, AnnEmail]),
            Event("b", EventTypes.ProductViewed, now.AddMinutes(-9), [Ann], new { product_id = "p1" }),
            Event("c", "poison.sent", now.AddMinutes(-8), [Ann]),
            Event("d", EventTypes.ProductViewed, now.AddMinutes(-7), [Ann], new { product_id = "p2" }),
            Event("e", EventTypes.OrderPlaced, now.AddMinutes(-6), [Ann], new { order_id = "o1", total = 5, currency = "GBP" }),
        ];

        var one = new List<string>();
        await using (var host = PoisonHost(new PoisonRenderer()))
        {
            foreach (var e in Batch(host.Time.GetUtcNow()))
            {
                one.Add((await host.Client.TrackAsync(e)).Status.ToString());
            }

            one.Add((await host.ProfileAsync(Ann)).Statistics.EventCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var run = new List<string>();
        await using (var host = PoisonHost(new PoisonRenderer()))
        {
            run.AddRange((await host.Client.TrackBatchAsync(Batch(host.Time.GetUtcNow()))).Select(r => r.Status.ToString()));
            run.Add((await host.ProfileAsync(Ann)).Statistics.EventCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(one, run);
        Assert.Equal(TrackStatus.Accepted.ToString(), run[2]);
        Assert.Equal(TrackStatus.Accepted.ToString(), run[3]);
    }

    [Fact]
    public async Task ABatchCancelledWhileItsRunIsBeingApplied_IsAppliedWhole_AndReportsItsResults()
    {
        var renderer = new PoisonRenderer();
        await using var host = PoisonHost(renderer);
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(Event("a", "user.identified", now.AddMinutes(-10), [Ann, AnnEmail]));
        using var cts = new CancellationTokenSource();
        var batch = host.Client.TrackBatchAsync(
        [
            Event("b", EventTypes.ProductViewed, now.AddMinutes(-9), [Ann], new { product_id = "p1" }),
            Event("c", "gate.sent", now.AddMinutes(-8), [Ann]),
            Event("d", EventTypes.ProductViewed, now.AddMinutes(-7), [Ann], new { product_id = "p2" }),
            Event("e", EventTypes.ProductViewed, now.AddMinutes(-6), [Ann], new { product_id = "p3" }),
        ], cts.Token);
        await renderer.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        renderer.Gate.SetResult();
        // Audit U29: a batch a worker has started is applied whole and reported (before, b and c were applied, d and e
        // skipped, and the caller was told "cancelled").
        Assert.All(await batch, r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var late = await host.Client.TrackAsync(Event("z", EventTypes.ProductViewed, now.AddMinutes(-1), [Ann], new { product_id = "p9" }));
        Assert.Equal(TrackStatus.Accepted, late.Status);
        Assert.True(await host.Store.IsEventProcessedAsync("b"));
        Assert.True(await host.Store.IsEventProcessedAsync("c"));
        Assert.True(await host.Store.IsEventProcessedAsync("d"));
        Assert.True(await host.Store.IsEventProcessedAsync("e"));
    }
    // One partition: a batch's events were applied in the order given. Bringing a route key's events together must not
    // move one of her events past another of hers sent under another identifier (her email, her customer id).
    [Fact]
    public Task OnePartition_HerEventsUnderTwoIdentifiers_KeepTheBatchOrder() =>
        CompareAsync(
            now =>
            {
                var at = now.AddMinutes(-20);
                return
                [
                    Event("x", EventTypes.ProductViewed, at, [Ann], new { product_id = "p1" }),
                    Event("cart", EventTypes.CartItemAdded, at.AddMinutes(1), [AnnEmail], new { cart_id = "k1", product_id = "p1", sku = "p1", price = 5, quantity = 1 }),
                    Event("order", EventTypes.OrderPlaced, at.AddMinutes(2), [Ann], new { order_id = "o1", total = 5, currency = "GBP" }),
                    Event("v2", EventTypes.ProductViewed, at.AddMinutes(3), [AnnEmail], new { product_id = "p2" }),
                    Event("v3", EventTypes.ProductViewed, at.AddMinutes(4), [Ann], new { product_id = "p3" }),
                    Event("v4", EventTypes.ProductViewed, at.AddMinutes(5), [AnnEmail], new { product_id = "p4" }),
                ];
            },
            [Ann, AnnEmail],
            AllJourneys,
            Segments,
            o => o.Partitions = 1,
            before: async rig =>
            {
                await rig.TrackAsync("user.identified", [Ann, AnnEmail, AnnPhone], traits: new { tier = "silver" });
                await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
                await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "push", granted = true });
            });
    // The same, her two identifiers linked by the batch itself (its first event), not before it.
    [Fact]
    public Task OnePartition_HerEventsUnderIdentifiersTheBatchLinks_KeepTheBatchOrder() =>
        CompareAsync(
            now =>
            {
                var at = now.AddMinutes(-20);
                return
                [
                    Event("id", "user.identified", at, [Ann, AnnEmail], traits: new { tier = "silver" }),
                    Event("consent", EventTypes.ConsentChanged, at, [AnnEmail], new { channel = "email", granted = true }),
                    Event("cart", EventTypes.CartItemAdded, at.AddMinutes(1), [AnnEmail], new { cart_id = "k1", product_id = "p1", sku = "p1", price = 5, quantity = 1 }),
                    Event("order", EventTypes.OrderPlaced, at.AddMinutes(2), [Ann], new { order_id = "o1", total = 5, currency = "GBP" }),
                    Event("v1", EventTypes.ProductViewed, at.AddMinutes(3), [AnnEmail], new { product_id = "p2" }),
                    Event("v2", EventTypes.ProductViewed, at.AddMinutes(4), [Ann], new { product_id = "p3" }),
                    Event("v3", EventTypes.ProductViewed, at.AddMinutes(5), [AnnEmail], new { product_id = "p4" }),
                    Event("v4", EventTypes.ProductViewed, at.AddMinutes(5), [Ann], new { product_id = "p5" }),
                ];
            },
            [Ann, AnnEmail],
            AllJourneys,
            Segments,
            o => o.Partitions = 1);

    // Different people in one partition are still brought together per route key (fewer commits), each in her order.
    [Fact]
    public async Task OnePartition_DifferentPeoplesEvents_AreStillCommittedAsRuns()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1);
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        await host.TrackAsync(Event("a0", "user.identified", at, [Ann, AnnEmail]));
        await host.TrackAsync(Event("b0", "user.identified", at, [Bob, BobEmail]));
        var batch = new List<CustomerEvent>();
        for (var i = 1; i <= 10; i++)
        {
            batch.Add(Event($"a{i}", EventTypes.ProductViewed, at.AddMinutes(i), [Ann], new { product_id = "p" + i }));
            batch.Add(Event($"b{i}", EventTypes.ProductViewed, at.AddMinutes(i), [BobEmail], new { product_id = "p" + i }));
        }

        var results = await host.Client.TrackBatchAsync(batch);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.True((await host.ProfileAsync(Ann)).Version <= 3);
        Assert.True((await host.ProfileAsync(Bob)).Version <= 3);
    }
    // No hot profiles: one at a time reads every event's profile back from the store; a run keeps it in memory between
    // its events. Both must give the same.
    [Fact]
    public Task WithoutAProfileCache_ARunIsWhatOneAtATimeGives() =>
        CompareAsync(now => Shopping(now), [Ann, AnnEmail], AllJourneys, Segments, o => o.ProfileCacheSize = 0);

    // Hard bounces on her address followed by sends in one run: suppressed when planned, as one at a time. (Nothing is
    // queued before a bounce here: whether a queued message leaves before a later bounce, withdrawal or goal is a race
    // with the dispatcher in both ways of tracking, not a matter of runs.)
    [Fact]
    public Task AHardBounceBetweenSendsInARun_IsHonouredAsOneAtATime() =>
        CompareAsync(
            now =>
            {
                var at = now.AddMinutes(-30);
                return
                [
                    Event("a", "user.identified", at, [Ann, AnnEmail, AnnPhone], traits: new { tier = "silver" }),
                    Event("b", EventTypes.ConsentChanged, at.AddMinutes(1), [Ann], new { channel = "email", granted = true }),
                    Event("c", EventTypes.MessageBounced, at.AddMinutes(2), [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "hard", message_id = "m1" }),
                    Event("d", EventTypes.OrderPlaced, at.AddMinutes(3), [Ann], new { order_id = "o1", total = 5, currency = "GBP" }),
                    Event("e", "user.identified", at.AddMinutes(4), [Ann], traits: new { tier = "gold" }),
                    Event("f", EventTypes.MessageBounced, at.AddMinutes(5), [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "hard", message_id = "m2" }),
                    Event("g", EventTypes.OrderPlaced, at.AddMinutes(6), [Ann], new { order_id = "o2", total = 5, currency = "GBP" }),
                ];
            },
            [Ann, AnnEmail],
            AllJourneys,
            Segments);
    // Two callers, her events under two route keys (two partitions racing for one profile: runs refused as conflicts
    // go one at a time), some ids in both: each id is applied once, every event acknowledged.
    [Fact]
    public async Task ConcurrentBatchesUnderTwoRouteKeys_ApplyEachIdOnce()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 8);
        var at = host.Time.GetUtcNow().AddMinutes(-60);
        await host.TrackAsync(Event("id", "user.identified", at, [Ann, AnnEmail]));
        List<CustomerEvent> Batch(Identifier who, string prefix) => [.. Enumerable.Range(0, 150).Select(i =>
            i % 5 == 0
                ? Event($"shared{i}", EventTypes.ProductViewed, at.AddSeconds(i), [who], new { product_id = "s" + i })
                : Event($"{prefix}{i}", EventTypes.ProductViewed, at.AddSeconds(i), [who], new { product_id = prefix + i }))];
        var both = await Task.WhenAll(Task.Run(() => host.Client.TrackBatchAsync(Batch(Ann, "a"))), Task.Run(() => host.Client.TrackBatchAsync(Batch(AnnEmail, "e"))));
        var all = both.SelectMany(r => r).ToList();
        Assert.All(all, r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Duplicate }));
        var accepted = all.Where(r => r.Status == TrackStatus.Accepted).Select(r => r.EventId).ToList();
        Assert.Equal(accepted.Count, accepted.Distinct().Count());
        Assert.Equal(150 + 120, accepted.Count);
        Assert.Equal(1 + 150 + 120, (await host.ProfileAsync(Ann)).Statistics.EventCount);
    }

    // An erasure while her batch is being committed in runs: once it returns, nothing holds her identifiers, and none of
    // her events is acknowledged as applied after it.
    [Fact]
    public async Task AnErasureDuringHerBatch_LeavesNothingOfHerBehind()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddMinutes(-60);
        await host.TrackAsync(Event("id", "user.identified", at, [Ann, AnnEmail]));
        var batch = Task.Run(() => host.Client.TrackBatchAsync([.. Enumerable.Range(0, 400).Select(i => Event($"v{i}", EventTypes.ProductViewed, at.AddSeconds(i), [Ann], new { product_id = "p" + i }))]));
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        var results = await batch;
        Assert.All(results, r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Erased }));
        Assert.Null(await host.Client.GetProfileAsync(Ann));
        Assert.Null(await host.Client.GetProfileAsync(AnnEmail));
    }
}
