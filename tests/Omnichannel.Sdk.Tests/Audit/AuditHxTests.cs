using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;
using Scrubber = Omnichannel.Sdk.Privacy.PersonalDataScrubber;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit HX (hostile input, round 2): definitions from the audit RT generator, mutated at a random place with a hostile
/// JSON value (raw text, so lone surrogates, numbers past every type and repeated keys reach the reader), are read or
/// refused with paths, never throw or hang; what is read is written and read back the same and runs in an engine.
/// </summary>
public sealed class AuditHxTests
{
    private const string Placeholder = "\"__hx_placeholder__\"";

    /// <summary>Hostile JSON values, as raw text.</summary>
    internal static readonly string[] HostileValues =
    [
        "null", "true", "false", "0", "-0", "-1", "1e400", "-1e400", "1e308", "5e-324", "79228162514264337593543950336",
        "1.00000000000000000000000000000000001", "2147483648", "-2147483649", "9223372036854775808", "1E+2147483648",
        "\"\"", "\" \"", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"P99999999Y\"", "\"PT-1S\"", "\"P0D\"", "\"PT0S\"",
        "\"-P1D\"", "\"P1Y2M3DT4H5M6.5S\"", "\"P2147483647D\"", "\"PT2562047788015215H\"", "\"P99999999999999999999D\"",
        "\"P1W1D\"", "\"PT\"", "\"P\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"", "\"\\u202Egnp.exe\"", "\"\\u200b\"",
        "\"ann@b\u00fccher.de\"", "\"9999-12-31T23:59:59Z\"", "\"0001-01-01T00:00:00+14:00\"", "\"10000-01-01T00:00:00Z\"",
        "\"2026-02-30T00:00:00Z\"", "\"25:61\"", "\"23:59:60\"", "\"-01:00\"", "[]", "[[]]", "{}", "[null]", "{\"\":null}",
        "[\"\\ud800\"]", "{\"all\":[]}", "{\"not\":null}",
        new string('[', 300) + new string(']', 300),
        string.Concat(Enumerable.Repeat("{\"all\":[", 200)) + "{\"trait\":\"a\",\"op\":\"exists\"}" + string.Concat(Enumerable.Repeat("]}", 200)),
        "[" + string.Join(',', Enumerable.Range(0, 10_000)) + "]",
        "\"" + new string('x', 100_000) + "\"",
    ];

    public static Arbitrary<(int Seed, int Size, int Mutation)> Cases() =>
        (from seed in Gen.Choose(0, int.MaxValue - 1)
         from size in Gen.Choose(0, 3)
         from mutation in Gen.Choose(0, int.MaxValue - 1)
         select (seed, size, mutation)).ToArbitrary();

    /// <summary>
    /// Any hostile value anywhere in a valid segment or journey (replacing a value, an array item, or repeating a key) is
    /// read, or refused with errors whose paths start at <c>$</c>, within seconds, through every reader; what is read
    /// writes, reads back to the same text, and runs in an engine with hostile events without failing one.
    /// </summary>
    [Property(Arbitrary = [typeof(AuditHxTests)], MaxTest = 100)]
    public void AHostileValueAnywhereInADefinition_IsReadOrRefusedWithAPath_NeverThrows((int Seed, int Size, int Mutation) c)
    {
        var gen = new DefinitionGen(c.Seed, c.Size);
        var journey = gen.Chance(0.5);
        string json;
        try
        {
            json = journey ? JourneyJson.Serialize(gen.Journey()) : SegmentJson.Serialize(Segment.Define("s", "S").Where(gen.Rule()).Build());
        }
        catch (Exception e) when (e is SegmentDefinitionException or JourneyDefinitionException)
        {
            return;
        }

        var text = Mutate(json, new Random(c.Mutation), out var description);
        var work = Task.Run(() => Check(text, journey, description));
        Assert.True(work.Wait(TimeSpan.FromSeconds(20)), $"no answer within 20 s: {description}");
        work.GetAwaiter().GetResult();
    }

    private static void Check(string text, bool journey, string description)
    {
        var deep = new JsonDocumentOptions { MaxDepth = 1000 };
        using var doc = JsonDocument.Parse(text, deep);
        if (journey)
        {
            var results = new[] { JourneyJson.Parse(text), JourneyJson.Parse(doc.RootElement) };
            var many = JourneyJson.ParseMany("[" + text + "]");
            AssertPaths(results.SelectMany(r => r.Errors).Concat(many.Errors), description);
            foreach (var r in results.Where(r => r.IsValid))
            {
                var written = JourneyJson.Serialize(r.Value!);
                var again = JourneyJson.Parse(written);
                Assert.True(again.IsValid, $"{description}: written {written} does not read back: {string.Join("; ", again.Errors)}");
                Assert.Equal(written, JourneyJson.Serialize(again.Value!));
                RunJourney(r.Value!).GetAwaiter().GetResult();
            }
        }
        else
        {
            var results = new[] { SegmentJson.Parse(text), SegmentJson.Parse(doc.RootElement) };
            var many = SegmentJson.ParseMany("[" + text + "]");
            AssertPaths(results.SelectMany(r => r.Errors).Concat(many.Errors), description);
            foreach (var r in results.Where(r => r.IsValid))
            {
                var written = SegmentJson.Serialize(r.Value!);
                var again = SegmentJson.Parse(written);
                Assert.True(again.IsValid, $"{description}: written {written} does not read back: {string.Join("; ", again.Errors)}");
                Assert.Equal(written, SegmentJson.Serialize(again.Value!));
                if (!many.Errors.Any())
                {
                    RunSegment(r.Value!).GetAwaiter().GetResult();
                }
            }
        }
    }

    private static void AssertPaths(IEnumerable<DefinitionError> errors, string description)
    {
        foreach (var e in errors)
        {
            Assert.StartsWith("$", e.Path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(e.Message), $"{description}: an error without a message at {e.Path}");
            Assert.True(e.Message.Length <= 1_100, $"{description}: an error of {e.Message.Length} characters at {(e.Path.Length > 100 ? e.Path[..100] : e.Path)}: {(e.Message.Length > 300 ? e.Message[..300] : e.Message)}");
        }
    }

    /// <summary>
    /// Every reader and validator quoted the refused value in full: a 100,000-character operator, duration, event type or
    /// id made an error message (and the start-up exception listing it) of 100,000 characters.
    /// </summary>
    [Theory]
    [InlineData("""{"id": "s", "name": "x", "rule": {"trait": "a", "op": "#"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "#"}}""")]
    [InlineData("""{"id": "#", "name": "x", "rule": {"trait": "a", "op": "exists"}}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "#"}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "a.b"}, "steps": [{"id": "d", "type": "delayUntilLocalTime", "localTime": "#"}]}""")]
    public void AnErrorQuotingAHugeValue_IsShortened_KeepingWhatAndWhatWasExpected(string template)
    {
        var json = template.Replace("#", "\ud83d\ude00" + new string('x', 100_000) + "\ud83d\ude00", StringComparison.Ordinal);
        var errors = json.Contains("\"steps\"", StringComparison.Ordinal) ? JourneyJson.Parse(json).Errors : SegmentJson.Parse(json).Errors;
        Assert.NotEmpty(errors);
        foreach (var e in errors)
        {
            Assert.StartsWith("$.", e.Path, StringComparison.Ordinal);
            Assert.InRange(e.Message.Length, 1, 1_100);
            Assert.Null(Record.Exception(() => new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(e.Message))); // no pair split
        }

        var quoted = errors.Where(e => e.Message.Contains("characters left out", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(quoted);
        Assert.All(quoted, e => Assert.Contains("xxxx", e.Message, StringComparison.Ordinal));
        Assert.Equal(errors[0].Message, (errors[0] with { Message = errors[0].Message }).Message);
        Assert.InRange((errors[0] with { Message = new string('y', 5_000) }).Message.Length, 1, 1_100);
        var pairAtTheCut = new DefinitionError("$", new string('a', 479) + "\ud83d\ude00" + new string('b', 2_000) + "\ud83d\ude00" + new string('c', 479));
        Assert.Null(Record.Exception(() => new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(pairAtTheCut.Message)));
    }

    public static TheoryData<string, string> HostileIdentifiers() => new()
    {
        { "email", "ann\u202E@example.com" }, { "email", "an\u200Dn@example.com" }, { "email", "ann@exa\u0000mple.com" },
        { "email", "ann@\u0661\u0662.example" }, { "email", "\"ann smith\"@example.com" }, { "email", "ann@[127.0.0.1]" },
        { "email", "ann@example.com\r\nBcc: bob@example.com" }, { "email", new string('a', 250) + "@example.com" },
        { "email", "ANN@EXAMPLE.COM." }, { "email", "ann@xn--bcher-kva.example" }, { "email", "ann@b\u00fccher.example" },
        { "phone", "+1 415\u200B555 0100" }, { "phone", "+1\u202E4155550100" }, { "phone", "\uFF0B\uFF11\uFF14\uFF11\uFF15\uFF15\uFF15\uFF10\uFF11\uFF10\uFF10" },
        { "phone", "+\u0661\u0664\u0661\u0665\u0665\u0665\u0660\u0661\u0660\u0660" }, { "phone", "+1 (415) 555-0100 ext. 7; DROP" },
        { "phone", "+99999999999999999999999" }, { "phone", "+1" + new string('5', 300) }, { "phone", "+44 7700 900123\u0000" },
        { "customer_id", "c\u0007" }, { "customer_id", "\u202Ec-1" }, { "customer_id", "\ud800" },
    };

    /// <summary>
    /// Identifiers with control, bidirectional and zero-width characters, other digits, quoted local parts, header
    /// injection and lengths at the limits: each is accepted, or refused with its field and a reason that does not
    /// repeat the value (an email address or phone number is personal data); never a failure.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileIdentifiers))]
    public async Task AHostileIdentifier_IsAcceptedOrRefusedWithItsField_WithoutRepeatingTheValue(string type, string value)
    {
        await using var host = OmnichannelTestHost.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("page.viewed", [new Identifier(type, value)]),
            host.Event("page.viewed", [Identifier.CustomerId("hx-good")]),
        ], timeout.Token);
        Assert.Equal(TrackStatus.Accepted, results[1].Status);
        var r = results[0];
        Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Rejected, $"{r.Status}: {r.FailureReason}");
        var core = value.Length > 12 ? value.Substring(2, 8) : value.Trim();
        foreach (var e in r.Errors)
        {
            Assert.StartsWith("identifiers", e.Field, StringComparison.Ordinal);
            if (type != "customer_id")
            {
                Assert.DoesNotContain(core, e.Message, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>Events with values at the limits, which rules read: every one answered, none failed.</summary>
    internal static IReadOnlyList<CustomerEvent> ExtremeEvents(OmnichannelTestHost host, Identifier who) =>
    [
        host.Event(EventTypes.OrderPlaced, [who], JsonDocument.Parse("{\"order_id\":\"o1\",\"total\":79228162514264337593543950335,\"category\":\"\\u202Egnp\",\"items\":1e300,\"currency\":\"EUR\"}").RootElement),
        host.Event(EventTypes.OrderPlaced, [who], JsonDocument.Parse("{\"order_id\":\"o2\",\"total\":79228162514264337593543950335,\"items\":-1e300}").RootElement),
        host.Event("page.viewed", [who], JsonDocument.Parse("{\"total\":\"NaN\",\"items\":\"Infinity\",\"category\":-0,\"currency\":1.2345678901234567890123456789}").RootElement),
        host.Event("app.opened", [who], JsonDocument.Parse("{\"total\":-79228162514264337593543950335,\"items\":[1e308,1e308]}").RootElement),
        host.Event("email.opened", [who], at: host.Time.GetUtcNow().AddYears(-2000)),
        host.Event("user.updated", [who], traits: JsonDocument.Parse(
            "{\"tier\":1e300,\"score\":79228162514264337593543950335,\"name\":\"\\u200b\\u202e\",\"tags\":[1e308,\"x\",null],"
            + "\"address\":{\"city\":-0},\"birthday\":\"0001-01-01\",\"signed_up_at\":\"9999-12-31T23:59:59.9999999Z\",\"vip\":\"1e400\"}").RootElement),
        host.Event("user.updated", [who], traits: JsonDocument.Parse(
            "{\"birthday\":\"2024-02-29\",\"signed_up_at\":\"0001-01-01T00:00:00+14:00\",\"score\":-79228162514264337593543950335}").RootElement),
    ];

    private static async Task RunSegment(SegmentDefinition definition)
    {
        var logs = new HxLevelLogger();
        await using (var host = HxLevelLogger.Host(o => o.Segments.Add(definition), logs))
        {
            await RunEvents(host);
        }

        Assert.Empty(logs.Errors);
    }

    private static async Task RunJourney(JourneyDefinition definition)
    {
        OmnichannelTestHost host;
        var logs = new HxLevelLogger();
        try
        {
            host = HxLevelLogger.Host(o => o.Journeys.Add(definition), logs);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            // A journey naming segments or channels this host does not have: refused at start-up, each with its path.
            Assert.All(e.Failures, f => Assert.StartsWith("Journeys", f, StringComparison.Ordinal));
            return;
        }

        await using (host)
        {
            await RunEvents(host);
        }

        Assert.Empty(logs.Errors);
    }

    private static async Task RunEvents(OmnichannelTestHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var who = Identifier.CustomerId("hx-1");
        foreach (var e in ExtremeEvents(host, who))
        {
            var result = await host.Client.TrackAsync(e, timeout.Token);
            Assert.True(result.Status != TrackStatus.Failed, $"{e.Type}: {result.FailureReason}");
        }

        await host.AdvanceAsync(TimeSpan.FromDays(3));
        var after = await host.Client.TrackAsync(host.Event("page.viewed", [who]), timeout.Token);
        Assert.Equal(TrackStatus.Accepted, after.Status);
    }

    /// <summary>
    /// The scrubber runs on texts others write (a provider's reply, an exception message, a <c>message.*</c> event's
    /// <c>reason</c>, up to 32 KB of properties): a long run of characters an address may hold, with an <c>@</c> but no
    /// address, was tried from every position of the run (quadratic; 200,000 characters took minutes).
    /// </summary>
    [Theory]
    [InlineData("@", "")]
    [InlineData("", "@")]
    [InlineData("%40 ", "")]
    [InlineData("x@ ", " ann@example.com")]
    public async Task ALongRunThatIsNoAddress_IsScrubbedInLinearTime_AndAnAddressAfterItStillIs(string before, string after)
    {
        var text = before + new string('a', 200_000) + after;
        var work = Task.Run(() => Scrubber.Scrub(text));
        Assert.Same(work, await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(5))));
        var scrubbed = await work;
        Assert.DoesNotContain("ann@example.com", scrubbed, StringComparison.Ordinal);
        if (after.Contains("ann@", StringComparison.Ordinal))
        {
            Assert.EndsWith(" " + Scrubber.EmailPlaceholder, scrubbed, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A subject is folded to one line when it holds a line break; a long run of blanks in the data that ends in no line
    /// break was tried from every position of the run (quadratic in the data, which the renderer bounds at 1 MB only).
    /// </summary>
    [Fact]
    public async Task ASubjectWithALineBreakAndALongRunOfBlanks_IsFoldedInLinearTime()
    {
        var renderer = Templates.TemplateTestData.Renderer(Templates.TemplateTestData.Single("s", Sdk.Templates.TemplateVariant.Email("{{ journey.s }}", "<p>x</p>", "x")));
        var data = "Hi\n" + new string(' ', 200_000) + "there";
        var context = Templates.TemplateTestData.Context() with { Journey = new Dictionary<string, object?> { ["s"] = data } };
        var work = Task.Run(() => renderer.Render("s", ChannelNames.Email, context));
        Assert.Same(work, await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(5))));
        var subject = (await work).GetValueOrThrow().Subject!;
        Assert.StartsWith("Hi ", subject, StringComparison.Ordinal);
        Assert.EndsWith("there", subject, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', subject);
    }

    [Fact]
    public async Task AMessageEventsLongReason_IsSummarisedWithoutAddresses_AndTheBatchGoesOn()
    {
        await using var host = OmnichannelTestHost.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var who = Identifier.CustomerId("hx-reason");
        var reason = "550 " + new string('a', 30_000) + "@ <ann@example.com> unknown";
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("message.failed", [who], new { channel = "email", reason }),
            host.Event("page.viewed", [who]),
        ], timeout.Token);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var profile = await host.ProfileAsync(who);
        var entry = Assert.Single(profile.Timeline, t => t.Type == "message.failed");
        Assert.DoesNotContain("ann@example.com", entry.Summary, StringComparison.Ordinal);
    }

    /// <summary>One mutation of <paramref name="json"/>: a value, an array item or a repeated key made hostile.</summary>
    internal static string Mutate(string json, Random r, out string description)
    {
        var root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, string? Key, int Index, string Path)>();
        Collect(root, "$", slots);
        var hostile = HostileValues[r.Next(HostileValues.Length)];
        var (parent, key, index, path) = slots[r.Next(slots.Count)];
        var kind = r.Next(3);
        if (kind == 2 && parent is JsonObject o && key is not null)
        {
            // A repeated key: the same name again with the hostile value, after the original.
            o["__hx_dup__"] = "x";
            description = $"{path} repeated as {Short(hostile)}";
            return root.ToJsonString().Replace("\"__hx_dup__\":\"x\"", JsonSerializer.Serialize(key) + ":" + hostile, StringComparison.Ordinal);
        }

        if (parent is JsonObject obj)
        {
            obj[key!] = "__hx_placeholder__";
        }
        else
        {
            ((JsonArray)parent)[index] = "__hx_placeholder__";
        }

        description = $"{path} = {Short(hostile)}";
        return root.ToJsonString().Replace(Placeholder, hostile, StringComparison.Ordinal);
    }

    private static string Short(string s) => s.Length > 60 ? s[..60] + $"…({s.Length})" : s;

    private static void Collect(JsonNode? node, string path, List<(JsonNode, string?, int, string)> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList())
                {
                    slots.Add((o, k, -1, path + "." + k));
                    Collect(v, path + "." + k, slots);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    slots.Add((a, null, i, $"{path}[{i}]"));
                    Collect(a[i], $"{path}[{i}]", slots);
                }

                break;
        }
    }
}

/// <summary>Keeps the level and text of every log line at Warning or above.</summary>
internal sealed class HxLevelLogger : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ILogger
{
    public List<string> Errors { get; } = [];

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Error;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            lock (Errors)
            {
                Errors.Add($"{logLevel}: {formatter(state, exception)} {exception}");
            }
        }
    }

    /// <summary>A test host whose engine logs here.</summary>
    public static OmnichannelTestHost Host(Action<OmnichannelOptions> configure, HxLevelLogger logs) =>
        OmnichannelTestHost.Create(services =>
        {
            services.AddOmnichannel(o =>
            {
                o.Partitions = 4;
                o.Delivery.Retry!.Delay = TimeSpan.Zero;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                configure(o);
            });
            services.AddLogging(b => b.AddProvider(logs));
        });
}

/// <summary>Audit HX: date traits at the ends of the calendar, read by date triggers, date-trait delays and rules.</summary>
public sealed class AuditHxDateEdgeTests
{
    public static TheoryData<string> EdgeDates() => new()
    {
        "0001-01-01", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-14:00", "9999-12-31", "9999-12-31T23:59:59.9999999Z",
        "9999-12-31T23:59:59-14:00", "2024-02-29", "2100-02-29", "1900-02-29", "10000-01-01", "-0001-01-01", "0000-00-00",
        "2026-01-05T09:00:00+99:00", "1e308", "",
    };

    [Theory]
    [MemberData(nameof(EdgeDates))]
    public async Task ADateTraitAtTheEndsOfTheCalendar_NeverFailsAnEvent_OrStopsTheWakeUps(string date)
    {
        var journeys = JourneyJson.ParseMany("""
            [
              {"id": "anniv", "version": 1, "name": "a", "trigger": {"type": "date", "trait": "d", "offset": "-P100Y", "localTime": "23:59", "annual": true},
               "steps": [{"id": "x", "type": "exit"}]},
              {"id": "once", "version": 1, "name": "o", "trigger": {"type": "date", "trait": "d", "offset": "P100Y", "localTime": "00:00"},
               "steps": [{"id": "x", "type": "exit"}]},
              {"id": "wait", "version": 1, "name": "w", "trigger": {"type": "event", "event": "user.updated"},
               "steps": [{"id": "w1", "type": "delayUntilDateTrait", "trait": "d", "offset": "-P100Y", "localTime": "23:59:59"},
                         {"id": "w2", "type": "delayUntilDateTrait", "trait": "d", "offset": "P100Y"},
                         {"id": "x", "type": "exit"}]}
            ]
            """);
        Assert.True(journeys.IsValid, string.Join("; ", journeys.Errors));
        var segments = SegmentJson.ParseMany("""
            [
              {"id": "a", "name": "a", "rule": {"trait": "d", "op": "anniversaryWithin", "value": "P100Y"}},
              {"id": "b", "name": "b", "rule": {"trait": "d", "op": "withinLast", "value": "P100Y"}},
              {"id": "c", "name": "c", "rule": {"trait": "d", "op": "moreThanAgo", "value": "P100Y"}},
              {"id": "e", "name": "e", "rule": {"trait": "d", "op": "between", "value": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]}}
            ]
            """);
        Assert.True(segments.IsValid, string.Join("; ", segments.Errors));
        var logs = new HxLevelLogger();
        await using var host = HxLevelLogger.Host(
            o =>
        {
            foreach (var s in segments.Value!)
            {
                o.Segments.Add(s);
            }

            foreach (var j in journeys.Value!)
            {
                o.Journeys.Add(j);
            }
        },
            logs);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var who = Identifier.CustomerId("hx-date");
        var traits = JsonDocument.Parse("{\"d\":" + JsonSerializer.Serialize(date) + "}").RootElement;
        var result = await host.Client.TrackAsync(host.Event("user.updated", [who], traits: traits), timeout.Token);
        Assert.True(result.Status is TrackStatus.Accepted or TrackStatus.Rejected, $"{result.Status}: {result.FailureReason}");

        await host.AdvanceAsync(TimeSpan.FromDays(400));
        var after = await host.Client.TrackAsync(host.Event("page.viewed", [who]), timeout.Token);
        Assert.Equal(TrackStatus.Accepted, after.Status);
        Assert.NotNull(await host.Client.GetProfileAsync(who, timeout.Token));
        Assert.Empty(logs.Errors);
    }
}
