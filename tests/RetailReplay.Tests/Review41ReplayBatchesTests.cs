using System.Globalization;
using System.Text;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Sqlite;

namespace RetailReplay.Tests;

/// <summary>
/// Review of the forty-first session: the batched replay (the events up to the next pending timer in one
/// <c>TrackBatchAsync</c>, the clock at the batch's last instant) against one event at a time, on small synthetic CSV
/// files in the Online Retail shape with definitions a user could pass: journeys whose waits, entries and goals are
/// measured from the clock, and segments with windows of minutes. The replay must give the same report either way.
/// </summary>
public sealed class Review41ReplayBatchesTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var f in _files)
        {
            foreach (var path in new[] { f, f + "-wal", f + "-shm" })
            {
                File.Delete(path);
            }
        }
    }

    // Customer 1 orders on Monday; customer 2 five days later. One at a time, customer 1's one-day wait ends on Tuesday
    // and the mail goes; in one batch with the clock at Saturday's order, her wait was measured from Saturday.
    private const string TwoCustomersFiveDaysApart = """
        2011-01-03 10:00:00,1
        2011-01-08 10:00:00,2
        """;

    private static JourneyDefinition Journey(string json) => JourneyJson.Parse(json).Value ?? throw new InvalidOperationException(string.Join("; ", JourneyJson.Parse(json).Errors));

    private static readonly JourneyDefinition ThankYouAfterADay = Journey("""
        {"id": "thanks", "version": 1, "name": "Thanks", "trigger": {"type": "event", "event": "order.placed"},
         "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "thanks", "topic": "offers"}]}
        """);

    [Fact]
    public async Task EventTriggeredWait_ArmedInABatch_RunsWhenOneAtATimeWould()
    {
        var csv = Write(TwoCustomersFiveDaysApart);

        var (batched, serial) = await BothAsync(new ReplayOptions(csv, []) { Journeys = [ThankYouAfterADay] });

        Assert.Equal(1, serial.MessagesSent); // customer 1's mail on Tuesday; customer 2's would be after the year's end
        AssertSameReport(serial, batched);
    }

    // A segment of people who ordered in the last hour, and a journey on entering it: one at a time customer 1 enters at
    // her order; evaluated five days later (the batch's end) the order is out of the window and she never enters.
    [Fact]
    public async Task SegmentEnteredForLessThanTheBatchSpan_StartsItsJourney()
    {
        var csv = Write(TwoCustomersFiveDaysApart);
        var segments = SegmentJson.ParseMany("""[{"id": "just-ordered", "name": "Just ordered", "rule": {"event": "order.placed", "within": "PT1H"}}]""").Value!;
        var journey = Journey("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "segment", "segment": "just-ordered", "on": "entered"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "welcome", "topic": "offers"}]}
            """);

        var (batched, serial) = await BothAsync(new ReplayOptions(csv, segments) { Journeys = [journey] });

        Assert.Equal(2, serial.Journeys["welcome"].Entered);
        AssertSameReport(serial, batched);
    }

    // A goal measured from the entry: one at a time customer 1 enters on Monday and her order on Wednesday (within two
    // days) converts; with her entry at a later batch end the goal window moves with it.
    [Fact]
    public async Task GoalWindow_OfAnInstanceStartedInABatch_IsTheOneAtATimeWindow()
    {
        var csv = Write("""
            2011-01-03 10:00:00,1
            2011-01-05 09:00:00,1
            2011-01-05 11:00:00,2
            2011-01-09 10:00:00,3
            """);
        var journey = Journey("""
            {"id": "nudge", "version": 1, "name": "Nudge", "trigger": {"type": "event", "event": "order.placed"},
             "entry": {"reEntry": "never"},
             "goal": {"event": "order.placed", "within": "P2D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT12H"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "nudge", "topic": "offers"}]}
            """);

        var (batched, serial) = await BothAsync(new ReplayOptions(csv, []) { Journeys = [journey] });

        AssertSameReport(serial, batched);
    }

    // Segments only, with windows of minutes, counted at instants that sit on events, on a wake-up and between: the
    // counts are the one-at-a-time counts, on the in-memory and the SQLite store. Many small random years.
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public async Task ShortWindowSegments_CountedOnEventsAndWakeUps_GiveTheOneAtATimeCounts(int seed, bool sqlite)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2011, 1, 3, 8, 0, 0, TimeSpan.Zero);
        var at = start;
        var lines = new List<string>();
        var instants = new List<DateTimeOffset>();
        for (var i = 0; i < 300; i++)
        {
            at = at.AddMinutes(random.Next(0, 3) == 0 ? 0 : random.Next(1, 90)); // some invoices share their instant
            lines.Add($"{at:yyyy-MM-dd HH:mm:ss},{1 + random.Next(12)}{(random.Next(10) == 0 ? ",return" : string.Empty)}");
            if (random.Next(15) == 0)
            {
                instants.Add(at); // a count on an event's instant
                instants.Add(at.AddMinutes(30)); // and on a wake-up (a 30-minute window closing on that event)
            }
        }

        var segments = SegmentJson.ParseMany("""
            [{"id": "last-30m", "name": "a", "rule": {"event": "order.placed", "within": "PT30M"}},
             {"id": "two-in-2h", "name": "b", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "PT2H"}},
             {"id": "quiet-45m", "name": "c", "rule": {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "PT45M"}},
             {"id": "spent-3h", "name": "d", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "within": "PT3H", "op": "gte", "value": 30}},
             {"id": "returned-1h", "name": "e", "rule": {"event": "order.returned", "within": "PT1H"}},
             {"id": "busy-and-recent", "name": "f", "rule": {"all": [{"segment": "two-in-2h"}, {"segment": "last-30m"}]}}]
            """).Value!;
        var csv = Write(string.Join('\n', lines));

        var (batched, serial) = await BothAsync(new ReplayOptions(csv, segments) { AsOf = instants }, sqlite);

        Assert.Contains(serial.AsOf.Values, c => c["last-30m"] > 0);
        AssertSameReport(serial, batched);
    }

    // The same journeys through an in-process cluster of two silos: the same report as one at a time in one process.
    [Fact]
    public async Task ThroughTwoSilos_TheBatchedBacktestIsTheOneAtATimeBacktest()
    {
        var csv = Write(TwoCustomersFiveDaysApart);

        var serial = await Replay.RunAsync(new ReplayOptions(csv, []) { Journeys = [ThankYouAfterADay], Serial = true });
        var cluster = await Replay.RunAsync(new ReplayOptions(csv, []) { Journeys = [ThankYouAfterADay], OrleansSilos = 2 });

        AssertSameReport(serial, cluster);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task MaxEvents_BelowOne_IsRefusedNamingTheOption(int max)
    {
        var csv = Write(TwoCustomersFiveDaysApart);

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Replay.RunAsync(new ReplayOptions(csv, []) { MaxEvents = max }));

        Assert.Contains(nameof(ReplayOptions.MaxEvents), error.Message, StringComparison.Ordinal);
    }

    // The program itself: an option without its value, or an instant it cannot read, is named and the exit code is 2
    // (before: an unhandled exception's stack trace, exit code 134).
    [Theory]
    [InlineData("--as-of", "--as-of needs a value.")]
    [InlineData("--report", "--report needs a value.")]
    [InlineData("--as-of|yesterday", "--as-of needs an instant such as 2011-06-01T00:00:00Z (UTC when it has no offset), not 'yesterday'.")]
    public async Task Program_AnOptionWithoutAReadableValue_IsNamed_AndExitsWith2(string arguments, string message)
    {
        var csv = Write(TwoCustomersFiveDaysApart);

        var (code, _, error) = await RunProgramAsync(["--data", csv, .. arguments.Split('|')]);

        Assert.Equal((2, message), (code, error.Trim()));
    }

    // --warm-up on SQLite: its scratch database is gone afterwards, and the measured run's report is the one without it.
    [Fact]
    public async Task Program_WarmUpOnSqlite_LeavesNoScratchFile_AndTheSameReport()
    {
        var csv = Write(TwoCustomersFiveDaysApart);
        var dir = Directory.CreateTempSubdirectory("review41-").FullName;
        try
        {
            string[] common = ["--data", csv, "--sqlite", Path.Combine(dir, "replay.db"), "--as-of", "2011-01-03T10:00:00Z", "--journeys", Path.Combine(AppContext.BaseDirectory, "win-back-journeys.json")];
            var cold = await RunProgramAsync([.. common, "--report", Path.Combine(dir, "cold.json")]);
            var warm = await RunProgramAsync([.. common, "--report", Path.Combine(dir, "warm.json"), "--warm-up"]);

            Assert.Equal((0, 0), (cold.Code, warm.Code));
            Assert.Contains("Warm-up: the first 2 events", warm.Output, StringComparison.Ordinal);
            Assert.Equal(["cold.html", "cold.json", "replay.db", "warm.html", "warm.json"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(WithoutTimes(Path.Combine(dir, "cold.json")), WithoutTimes(Path.Combine(dir, "warm.json")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        static string WithoutTimes(string report)
        {
            var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(report))!.AsObject();
            doc.Remove("seconds");
            doc.Remove("eventsPerSecond");
            return doc.ToJsonString();
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunProgramAsync(string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RetailReplay.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await output, await error);
    }

    private async Task<(ReplayReport Batched, ReplayReport Serial)> BothAsync(ReplayOptions options, bool sqlite = false)
    {
        async Task<ReplayReport> Run(bool serial)
        {
            if (!sqlite)
            {
                return await Replay.RunAsync(options with { Serial = serial });
            }

            var db = Path.Combine(Path.GetTempPath(), $"review41-{Guid.NewGuid():N}.db");
            _files.Add(db);
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = db, Durability = SqliteDurability.Normal });
            return await Replay.RunAsync(options with { Serial = serial, Store = store });
        }

        return (await Run(serial: false), await Run(serial: true));
    }

    private static void AssertSameReport(ReplayReport expected, ReplayReport actual)
    {
        Assert.Equal((expected.Events, expected.Skipped, expected.Rejected, expected.MessagesSent), (actual.Events, actual.Skipped, actual.Rejected, actual.MessagesSent));
        Assert.Equal(expected.AsOf.Keys, actual.AsOf.Keys);
        foreach (var (at, counts) in expected.AsOf)
        {
            Assert.Equal(counts.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.AsOf[at].OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }

        Assert.Equal(expected.Journeys.Keys.Order(StringComparer.Ordinal), actual.Journeys.Keys.Order(StringComparer.Ordinal));
        foreach (var (id, j) in expected.Journeys)
        {
            var other = actual.Journeys[id];
            Assert.Equal((j.Entered, j.Converted, j.Revenue), (other.Entered, other.Converted, other.Revenue));
            Assert.Equal(j.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal), other.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }
    }

    // Lines of "instant,customer[,return]" as an Online Retail CSV: one invoice line each, 10 GBP.
    private string Write(string lines)
    {
        var csv = new StringBuilder("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n");
        var n = 500000;
        foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(',');
            var isReturn = f.Length > 2;
            csv.Append(CultureInfo.InvariantCulture, $"{(isReturn ? "C" : string.Empty)}{n++},85123A,THING,{(isReturn ? -1 : 1)},{f[0]},10.00,{f[1]}.0,United Kingdom\n");
        }

        var path = Path.Combine(Path.GetTempPath(), $"review41-{Guid.NewGuid():N}.csv");
        _files.Add(path);
        File.WriteAllText(path, csv.ToString());
        return path;
    }
}
