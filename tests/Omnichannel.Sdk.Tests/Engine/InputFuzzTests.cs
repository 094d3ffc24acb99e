using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// Truncates and mutates valid segment, journey and event documents (fixed seeds) and checks that every outcome is a
/// success or the SDK's own error with a path — never an exception — and that what loads also runs.
/// </summary>
public sealed class InputFuzzTests
{
    private const int MutantsPerDocument = 400;

    /// <summary>Fixed seeds in CI; set OMNICHANNEL_FUZZ_SEED to explore others locally (a failure names its seed).</summary>
    private static readonly int SeedOffset = int.TryParse(Environment.GetEnvironmentVariable("OMNICHANNEL_FUZZ_SEED"), out var offset) ? offset : 0;

    private static readonly string[] SegmentDocuments =
    [
        """{"id":"lapsed-vip","name":"Lapsed VIPs","rule":{"all":[{"trait":"tier","op":"eq","value":"vip"},{"event":"order.placed","count":{"op":"gte","value":3},"within":"P365D"},{"lastEvent":"order.placed","op":"moreThanAgo","value":"P90D"}]}}""",
        """{"id":"big-spenders","name":"Big","rule":{"aggregate":"sum","event":"order.placed","property":"total","where":[{"property":"currency","op":"eq","value":"EUR"}],"within":"P90D","op":"gte","value":500}}""",
        """{"id":"mixed","name":"Mixed","rule":{"any":[{"not":{"reachable":"email","topic":"newsletter"}},{"stat":"totalSpent","op":"between","value":[100,500.5]},{"firstEvent":"order.placed","where":[{"property":"store_id","op":"exists"}],"op":"withinLast","value":"P1M"}]}}""",
        """{"id":"dates","name":"Dates","rule":{"all":[{"stat":"lastOrderAt","op":"moreThanAgo","value":"P90D"},{"trait":"birthday","op":"anniversaryWithin","value":"P7D"},{"event":"product.viewed","between":["2025-01-01T00:00:00Z","2025-02-01T00:00:00Z"]}]}}""",
    ];

    private static readonly string[] EventDocuments =
    [
        """{"id":"e1","type":"order.placed","timestamp":"2026-01-05T08:00:00Z","identifiers":[{"type":"email","value":"ann@x.io"}],"channel":"web","properties":{"order_id":"o1","total":79.5,"currency":"EUR","items":[{"sku":"a","quantity":2}]}}""",
        """{"id":"e2","type":"cart.item_added","timestamp":"2026-01-05T08:00:00Z","identifiers":[{"type":"anonymous_id","value":"c-1"}],"context":{"city":"Lyon","timeZone":"Europe/Paris","locale":"fr-FR"},"properties":{"product_id":"p1","quantity":1,"price":9.9,"cart_id":"c1"}}""",
        """{"id":"e3","type":"preferences.updated","timestamp":"2026-01-05T08:00:00Z","identifiers":[{"type":"customer_id","value":"cust-1"}],"properties":{"period":"P7D","max_messages":3,"preferred_channels":["email"]}}""",
        """{"id":"e4","type":"user.identified","timestamp":"2026-01-05T08:00:00Z","identifiers":[{"type":"customer_id","value":"cust-1"},{"type":"phone","value":"+447700900123"}],"traits":{"tier":"vip","address":{"city":"Leeds","zip":"LS1"},"tags":["a","b"],"birthday":"1990-03-01"}}""",
        """{"id":"e5","type":"loyalty.points_earned","timestamp":"2026-01-05T08:00:00Z","identifiers":[{"type":"email","value":"bo@x.io"}],"properties":{"points":120}}""",
    ];

    private static readonly string[] Replacements =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e300", "-1e300", "79228162514264337593543950335", "2147483648",
        "\"\"", "\"x\"", "\"P999999W\"", "\"P9999Y\"", "\"P99999999Y\"", "\"-P9999Y\"", "\"PT99999999H\"", "\"P1D\"",
        "\"0001-01-01T00:00:00Z\"", "\"9999-12-31T23:59:59Z\"", "\"\\u0000\"", "\"\\ud800\"", "\"a\\u0001b\"", "[]", "{}", "[[[[[[1]]]]]]",
        "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", "\"order.placed\"", "\"email\"", "\"eq\"", "\"between\"", "[1,2]", "[\"a\"]",
    ];

    [Fact]
    public async Task Segments_MutatedDocuments_LoadOrFailWithPaths()
    {
        var loaded = 0;
        foreach (var (json, seed) in Mutants(SegmentDocuments, seed: 1301))
        {
            ParseResult<SegmentDefinition> result;
            try
            {
                result = SegmentJson.Parse(json);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: {ex.GetType().Name} parsing {json}\n{ex}");
                return;
            }

            if (!result.IsValid)
            {
                AssertPaths(result.Errors.Select(e => (e.Path, e.Message)), json, seed);
                continue;
            }

            var set = SegmentSetValidator.Validate([result.Value!]);
            if (set.Count > 0)
            {
                AssertPaths(set.Select(e => (e.Path, e.Message)), json, seed);
                continue;
            }

            var again = SegmentJson.Parse(SegmentJson.Serialize(result.Value!));
            Assert.True(again.IsValid, $"seed {seed}: the written form of {json} does not read back: {string.Join("; ", again.Errors)}");
            loaded++;
            if (loaded % 2 == 0)
            {
                await RunAsync(o => o.Segments.Add(result.Value!), json, seed);
            }
        }

        Assert.True(loaded > 20, $"only {loaded} mutants loaded");
    }

    [Fact]
    public async Task Journeys_MutatedDocuments_LoadOrFailWithPaths()
    {
        var loaded = 0;
        var segment = SegmentJson.Parse("""{"id":"no-order-90d","name":"N","rule":{"lastEvent":"order.placed","op":"moreThanAgo","value":"P90D"}}""").Value!;
        foreach (var (json, seed) in Mutants(JourneyScenarios.AllJson.Append(DefinitionLimitTests.EveryStepJson), seed: 1302))
        {
            ParseResult<JourneyDefinition> result;
            try
            {
                result = JourneyJson.Parse(json);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: {ex.GetType().Name} parsing {json}\n{ex}");
                return;
            }

            if (!result.IsValid)
            {
                AssertPaths(result.Errors.Select(e => (e.Path, e.Message)), json, seed);
                continue;
            }

            var options = new OmnichannelOptions();
            options.Segments.Add(segment);
            options.Journeys.Add(result.Value!);
            var problems = options.Validate();
            if (problems.Count > 0)
            {
                Assert.All(problems, p => Assert.StartsWith("Journeys", p, StringComparison.Ordinal));
                continue;
            }

            // A channel neither standard nor served by a transport ("x") is refused by the engine, with its path.
            if (OmnichannelEngine.UnservedChannels(result.Value!, delivery: null) is { Count: > 0 } unserved)
            {
                AssertPaths(unserved.Select(e => (e.Path, e.Message)), json, seed);
                await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RunAsync(o => o.Journeys.Add(result.Value!), json, seed));
                continue;
            }

            var again = JourneyJson.Parse(JourneyJson.Serialize(result.Value!));
            Assert.True(again.IsValid, $"seed {seed}: the written form of {json} does not read back: {string.Join("; ", again.Errors)}");
            loaded++;
            if (loaded % 2 == 0)
            {
                await RunAsync(
                    o =>
                    {
                        o.Segments.Add(segment);
                        o.Journeys.Add(result.Value!);
                    },
                    json,
                    seed);
            }
        }

        Assert.True(loaded > 20, $"only {loaded} mutants loaded");
    }

    [Fact]
    public async Task Events_MutatedDocuments_AreAcceptedOrRejectedWithFields()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        var logs = new ErrorLog();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { Partitions = 2 }, new InMemoryOmnichannelStore(), time, logs);
        var accepted = 0;
        foreach (var (json, seed) in Mutants(EventDocuments, seed: 1303))
        {
            CustomerEvent? e;
            try
            {
                e = JsonSerializer.Deserialize<CustomerEvent>(json);
            }
            catch (JsonException)
            {
                continue; // System.Text.Json refused it before the SDK saw it
            }

            if (e is null)
            {
                continue;
            }

            TrackResult result;
            try
            {
                result = await engine.TrackAsync(e);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}: TrackAsync threw {ex.GetType().Name} for {json}\n{ex}");
                return;
            }

            Assert.True(result.Status is not (TrackStatus.Failed or TrackStatus.StoreFailed), $"seed {seed}: failed ({result.FailureReason}) for {json}");
            if (result.Status == TrackStatus.Rejected)
            {
                AssertPaths(result.Errors.Select(x => (x.Field, x.Message)), json, seed);
            }
            else
            {
                accepted++;
            }
        }

        // The same documents as one batch (new ids): one result per event, in order, none failed.
        var batch = Mutants(EventDocuments, seed: 1304)
            .Select(m => TryDeserialize(m.Json))
            .OfType<CustomerEvent>()
            .Select((e, i) => e with { Id = e.Id is null ? null! : "batch-" + i + "-" + e.Id })
            .ToList();
        var results = await engine.TrackBatchAsync(batch);
        Assert.Equal(batch.Count, results.Count);
        Assert.Equal(batch.Select(e => e.Id ?? string.Empty), results.Select(r => r.EventId));
        var failed = results.Where(r => r.Status is TrackStatus.Failed or TrackStatus.StoreFailed).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed.Select(r => $"{r.EventId}: {r.FailureReason} for {Describe(batch.First(e => e.Id == r.EventId))}")));

        Assert.Empty(logs.Errors);
        Assert.True(accepted > 20, $"only {accepted} mutants accepted");
    }

    private static string Describe(CustomerEvent e) =>
        $"{e.Type} at {e.Timestamp:O} by {string.Join(", ", e.Identifiers ?? [])} properties {(e.Properties.ValueKind == JsonValueKind.Undefined ? "-" : e.Properties.GetRawText())} traits {(e.Traits.ValueKind == JsonValueKind.Undefined ? "-" : e.Traits.GetRawText())}";

    private static CustomerEvent? TryDeserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<CustomerEvent>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void AssertPaths(IEnumerable<(string Path, string Message)> errors, string json, int seed)
    {
        var list = errors.ToList();
        Assert.True(list.Count > 0, $"seed {seed}: refused without an error: {json}");
        foreach (var (path, message) in list)
        {
            Assert.False(string.IsNullOrWhiteSpace(path), $"seed {seed}: an error without a path ({message}) for {json}");
            Assert.False(string.IsNullOrWhiteSpace(message), $"seed {seed}: an error without a message at {path} for {json}");
        }
    }

    /// <summary>Loads what was configured into an engine, sends a few events and lets a year pass: nothing may fail.</summary>
    private static async Task RunAsync(Action<OmnichannelOptions> configure, string json, int seed)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero));
        var options = new OmnichannelOptions { Partitions = 1 };
        options.Delivery.Retry!.Delay = TimeSpan.Zero;
        configure(options);
        var logs = new ErrorLog();
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, logs);
        var ann = Identifier.Email("ann@x.io");
        string[] types = [EventTypes.CartItemAdded, EventTypes.OrderPlaced, EventTypes.ProductViewed, "order.shipped", "order.ready_for_pickup", EventTypes.NewsletterSubscribed];
        var n = 0;
        foreach (var type in types)
        {
            var result = await engine.TrackAsync(new CustomerEvent
            {
                Id = "run-" + n++,
                Type = type,
                Timestamp = time.GetUtcNow(),
                Identifiers = [ann],
                Properties = JsonData.From(new { product_id = "p1", quantity = 1, price = 5, total = 50, currency = "EUR", cart_id = "c1", order_id = "o1", fulfillment = "pickup", store_id = "s1" }),
                Traits = JsonData.From(new { tier = "vip", birthday = "1990-01-20", refill_due_at = "2026-02-01T00:00:00Z" }),
            });
            Assert.True(result.Status == TrackStatus.Accepted, $"seed {seed}: {type} was {result.Status} ({string.Join("; ", result.Errors)}) with {json}");
        }

        // Values at the edges of what the door accepts must not stop this customer either.
        var edge = await engine.TrackAsync(new CustomerEvent
        {
            Id = "run-edge",
            Type = EventTypes.OrderPlaced,
            Timestamp = time.GetUtcNow(),
            Identifiers = [ann],
            Properties = JsonData.Parse("""{"total": 1000000000000000, "currency": "EUR", "order_id": "o2", "store_id": 1e300, "quantity": -1e300}"""),
            Traits = JsonData.Parse("""{"tier": 1e300, "birthday": "0001-01-01", "refill_due_at": "9999-12-31T23:59:59Z", "visits": 79228162514264337593543950335}"""),
        });
        Assert.True(edge.Status == TrackStatus.Accepted, $"seed {seed}: the edge event was {edge.Status} ({string.Join("; ", edge.Errors)}) with {json}");
        await engine.AdvanceVirtualClockAsync(time.GetUtcNow().AddDays(400), time.SetUtcNow);
        var after = await engine.TrackAsync(new CustomerEvent { Id = "run-after", Type = EventTypes.ProductViewed, Timestamp = time.GetUtcNow(), Identifiers = [ann] });
        Assert.True(after.Status == TrackStatus.Accepted, $"seed {seed}: an event after a year was {after.Status} ({string.Join("; ", after.Errors)}) with {json}");
        Assert.True(logs.Errors.Count == 0, $"seed {seed}: {string.Join("\n", logs.Errors)} with {json}");
    }

    /// <summary>For each document: truncations, then random edits of its JSON tree.</summary>
    private static IEnumerable<(string Json, int Seed)> Mutants(IEnumerable<string> documents, int seed)
    {
        var random = new Random(seed + SeedOffset);
        foreach (var doc in documents)
        {
            var compact = JsonNode.Parse(doc)!.ToJsonString();
            for (var i = 0; i < 12; i++)
            {
                yield return (compact[..random.Next(compact.Length)], seed);
            }

            for (var i = 0; i < MutantsPerDocument; i++)
            {
                var s = random.Next();
                yield return (Mutate(compact, new Random(s)), s);
            }
        }
    }

    private static string Mutate(string json, Random random)
    {
        var root = JsonNode.Parse(json)!;
        var edits = 1 + random.Next(3);
        for (var k = 0; k < edits; k++)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[random.Next(nodes.Count)];
            var parent = target.Parent;
            if (parent is null)
            {
                continue;
            }

            var replacement = "\u0001" + random.Next(Replacements.Length) + "\u0001";
            switch (random.Next(4))
            {
                case 0 when parent is JsonObject o:
                    o.Remove(target.GetPropertyName());
                    break;
                case 1 when parent is JsonArray a && a.Count > 0:
                    a.Add(target.DeepClone());
                    break;
                default:
                    target.ReplaceWith(JsonValue.Create(replacement));
                    break;
            }
        }

        // Placeholders become raw JSON (lone surrogates and such can't go through a JsonNode).
        var text = root.ToJsonString();
        for (var i = 0; i < Replacements.Length; i++)
        {
            text = text.Replace("\"\\u0001" + i + "\\u0001\"", Replacements[i], StringComparison.Ordinal);
        }

        return text;
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o)
                {
                    if (v is not null)
                    {
                        Collect(v, into);
                    }
                }

                break;
            case JsonArray a:
                foreach (var v in a)
                {
                    if (v is not null)
                    {
                        Collect(v, into);
                    }
                }

                break;
        }
    }

    /// <summary>Records every error (and critical) log entry.</summary>
    private sealed class ErrorLog : ILoggerFactory, ILogger
    {
        public List<string> Errors { get; } = [];

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                lock (Errors)
                {
                    Errors.Add(formatter(state, exception) + (exception is null ? string.Empty : ": " + exception));
                }
            }
        }
    }
}
