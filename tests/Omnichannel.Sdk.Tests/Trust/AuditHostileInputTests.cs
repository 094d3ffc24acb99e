using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>FsCheck generators: which poison goes into a batch, and where among the good events.</summary>
public static class PoisonBatchArbitrary
{
    /// <summary>The number of poison kinds <see cref="AuditHostileInputTests.Poison"/> builds.</summary>
    public const int Kinds = 16;

    public static Arbitrary<(int Kind, int Position, int Good)> Batches() =>
        (from kind in Gen.Choose(0, Kinds - 1)
         from good in Gen.Choose(1, 8)
         from position in Gen.Choose(0, good)
         select (kind, position, good))
        .ToArbitrary();
}

/// <summary>
/// Audit Hostile: events with hostile members are each answered (accepted, or refused with their field), one never stops
/// the others of its batch, and none crashes or stalls the engine.
/// </summary>
public sealed class AuditHostileInputTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    internal static CustomerEvent Poison(OmnichannelTestHost host, int kind)
    {
        static JsonElement Parse(string json) => JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 5000 }).RootElement.Clone();
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000);
        return kind switch
        {
            0 => host.Event("page.viewed", [Known], Parse(deep)),
            1 => host.Event("page.viewed", [Known], Parse("{\"list\":[" + string.Join(',', Enumerable.Range(0, 100_000)) + "]}")),
            2 => host.Event("page.viewed", [Known], Parse("{\"k\\u0000\":1}")),
            3 => host.Event("page.viewed", [Known], Parse("{\"k\":\"\\ud800\"}")),
            4 => host.Event("page.viewed", [Known], Parse("{\"k\":1,\"k\":2}")),
            5 => host.Event(new string('a', 100_000), [Known]),
            6 => host.Event("page.viewed", [Known], at: DateTimeOffset.MaxValue),
            7 => host.Event("page.viewed", [Known], at: DateTimeOffset.MinValue),
            8 => host.Event("page.viewed", [.. Enumerable.Range(0, 5000).Select(i => Identifier.AnonymousId("a-" + i))]),
            9 => host.Event("page.viewed", [Identifier.CustomerId("\u200B\u200F \u00A0")]),
            10 => host.Event("page.viewed", [Identifier.Email("ann@\ud800.example")]),
            11 => host.Event("page.viewed", [new Identifier("customer_id", "c\0")]),
            12 => host.Event("page.viewed", [Known], channel: new string('w', 100_000) + "!"),
            13 => host.Event("user.updated", [Known], traits: Parse("{\"\\udc00\":1}")),
            14 => host.Event("page.viewed", [Known], context: new EventContext { Locale = "en\ud800" }),
            _ => host.Event(EventTypes.OrderPlaced, [Known], Parse("{\"order_id\":\"o\",\"total\":1e308}")),
        };
    }

    [Property(Arbitrary = [typeof(PoisonBatchArbitrary)], MaxTest = 40)]
    public void OnePoisonEventInABatch_IsRefusedWithAField_AndEveryGoodOneIsApplied((int Kind, int Position, int Good) batch) =>
        RunPoisonBatch(batch.Kind, batch.Position, batch.Good).GetAwaiter().GetResult();

    private static async Task RunPoisonBatch(int kind, int position, int good)
    {
        await using var host = OmnichannelTestHost.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = Enumerable.Range(0, good)
            .Select(i => host.Event(EventTypes.OrderPlaced, [Identifier.CustomerId("good-" + i)], new { order_id = "o-" + i, total = 10 }))
            .ToList();
        events.Insert(position, Poison(host, kind));
        var results = await host.Client.TrackBatchAsync(events, timeout.Token);

        Assert.Equal(events.Count, results.Count);
        var poison = results[position];
        Assert.Equal(TrackStatus.Rejected, poison.Status);
        Assert.NotEmpty(poison.Errors);
        Assert.All(poison.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Field)));
        for (var i = 0; i < results.Count; i++)
        {
            if (i != position)
            {
                Assert.Equal(TrackStatus.Accepted, results[i].Status);
            }
        }

        for (var i = 0; i < good; i++)
        {
            var profile = await host.ProfileAsync(Identifier.CustomerId("good-" + i));
            Assert.Equal(1, profile.Statistics.OrderCount);
        }
    }

    [Fact]
    public async Task EveryPoisonKind_IsRefusedWithItsField_AndTheHostStaysUsable()
    {
        await using var host = OmnichannelTestHost.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (var kind = 0; kind < PoisonBatchArbitrary.Kinds; kind++)
        {
            var result = await host.Client.TrackAsync(Poison(host, kind), timeout.Token);
            Assert.True(result.Status == TrackStatus.Rejected, $"kind {kind}: {result.Status}");
            Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Field)));
        }

        var after = await host.Client.TrackAsync(host.Event("page.viewed", [Known]), timeout.Token);
        Assert.Equal(TrackStatus.Accepted, after.Status);
    }

    public static TheoryData<string> HostileDefinitions()
    {
        var deepAnd = string.Concat(Enumerable.Repeat("{\"all\":[", 5000)) + "{\"trait\":\"a\",\"op\":\"exists\"}" + string.Concat(Enumerable.Repeat("]}", 5000));
        var deepArray = new string('[', 3000) + new string(']', 3000);
        return new TheoryData<string>
        {
            """{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "P10000Y"}}""",
            """{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "-P1D"}}""",
            """{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "PT0S"}}""",
            """{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "P1Y\u0000"}}""",
            """{"id": "s", "name": "x", "rule": {"stat": "totalSpent", "op": "gt", "value": 79228162514264337593543950336}}""",
            """{"id": "s", "name": "x", "rule": {"stat": "totalSpent", "op": "between", "value": [-1e400, 1e400]}}""",
            """{"id": "s", "name": "x", "rule": {"trait": "a", "op": "in", "value": [""" + string.Join(',', Enumerable.Range(0, 100_000)) + """]}}""",
            """{"id": "s\ud800", "name": "x", "rule": {"trait": "a", "op": "exists"}}""",
            """{"id": "s", "name": "x", "rule": {"trait": "a\ud800", "op": "exists"}}""",
            """{"id": "s", "id": "t", "name": "x", "rule": {"trait": "a", "op": "exists"}}""",
            """{"id": "s", "name": "x", "rule": """ + deepAnd + "}",
            """{"id": "s", "name": "x", "rule": """ + deepArray + "}",
            """{"id": "s", "name": "x", "rule": {"event": "e", "count": {"op": "gte", "value": 1e308}, "within": "P1D"}}""",
            """{"id": "s", "name": "x", "rule": {"event": "e", "count": {"op": "gte", "value": -0}, "within": "P1D"}}""",
            """{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delay", "duration": "P10000Y"}, {"id": "e", "type": "exit"}]}""",
            """{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delay", "duration": "-PT1S"}, {"id": "e", "type": "exit"}]}""",
            """{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delay", "duration": "PT0S"}, {"id": "d", "type": "exit"}]}""",
            """{"id": "j", "version": 79228162514264337593543950336, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "e", "type": "exit"}]}""",
            """{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "goal": {"event": "order.placed", "within": "P99999999999999999999999D"}, "steps": [{"id": "e", "type": "exit"}]}""",
            """{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "c", "type": "condition", "rule": """ + deepAnd + """, "then": "e", "else": "e"}, {"id": "e", "type": "exit"}]}""",
        };
    }

    [Theory]
    [MemberData(nameof(HostileDefinitions))]
    public async Task AHostileDefinition_IsReadOrRefusedWithAPath_WithinSeconds(string json)
    {
        // Bounded by a deadline instead of a sleep: a reader that backtracks or loops would fail here, not hang the run.
        var read = Task.Run(() =>
        {
            var options = new JsonDocumentOptions { MaxDepth = 20_000 };
            using var doc = JsonDocument.Parse(json, options);
            var isJourney = json.Contains("\"steps\"", StringComparison.Ordinal);
            var errors = new List<(bool Valid, IReadOnlyList<string> Paths)>();
            foreach (var parsed in isJourney
                ? new[] { Shape(JourneyJson.Parse(json)), Shape(JourneyJson.Parse(doc.RootElement)), Shape(JourneyJson.ParseMany("[" + json + "," + json + "]")) }
                : new[] { Shape(SegmentJson.Parse(json)), Shape(SegmentJson.Parse(doc.RootElement)), Shape(SegmentJson.ParseMany("[" + json + "," + json + "]")) })
            {
                errors.Add(parsed);
            }

            return errors;
        });
        var done = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.Same(read, done);
        foreach (var (valid, paths) in await read)
        {
            if (!valid)
            {
                Assert.NotEmpty(paths);
                Assert.All(paths, p => Assert.StartsWith("$", p, StringComparison.Ordinal));
            }
        }
    }

    private static (bool Valid, IReadOnlyList<string> Paths) Shape<T>(ParseResult<T> r)
        where T : class => (r.IsValid, r.Errors.Select(e => e.Path).ToList());

    [Fact]
    public async Task OddButAcceptableValues_AreAppliedAndTheProfileReadsBack()
    {
        await using var host = OmnichannelTestHost.Create(o =>
            o.Segments.Add(SegmentJson.Parse("""{"id": "has-a", "name": "x", "rule": {"trait": "a", "op": "exists"}}""").Value!));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var atLimit = string.Concat(Enumerable.Repeat("{\"a\":", 30)) + "-0" + new string('}', 30);
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("user.updated", [Known], traits: JsonDocument.Parse("{\"\":1,\"__proto__\":{\"x\":1},\"n\":-0,\"big\":1e308,\"tiny\":5e-324,\"a\":" + atLimit + "}").RootElement),
            host.Event("page.viewed", [Known], context: new EventContext { TimeZone = "/etc/passwd" }),
            host.Event("page.viewed", [Known], context: new EventContext { TimeZone = "../../../../etc/passwd" }),
            host.Event("page.viewed", [Known], context: new EventContext { TimeZone = "Europe/London\u200F", Locale = "en-GB\u200B" }),
            host.Event("page.viewed", [Identifier.CustomerId("\u200Bc-100\u200F")]),
            host.Event("page.viewed", [Known, Identifier.Email("ANN@B\u00DCCHER.DE"), Identifier.Phone("+44 (0)20 7946 0958")]),
        ], timeout.Token);
        Assert.All(results, r => Assert.True(r.Status == TrackStatus.Accepted, string.Join("; ", r.Errors) + r.FailureReason));

        var profile = await host.ProfileAsync(Known);
        Assert.Contains(profile.Segments, m => m.SegmentId == "has-a");
        Assert.Equal(6, profile.Statistics.EventCount);
    }
}
