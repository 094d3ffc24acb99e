using Xunit.Abstractions;

namespace RetailReplay.Tests;

/// <summary>The sample's segment counts against plain LINQ over the CSV (issue 3, "Proof").</summary>
public sealed class ReplayCountsTests(ReplayRun run, ITestOutputHelper output) : IClassFixture<ReplayRun>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var segment in IndependentModel.Rules.Keys)
        {
            foreach (var instant in ReplayRun.Instants)
            {
                data.Add(segment, instant);
            }
        }

        return data;
    }

    [RetailDataFact]
    public void DataSet_IsFoundBesideTheRepository()
    {
        Assert.Null(run.Problem);
        Assert.True(File.Exists(run.DataPath));
    }

    [RetailDataFact]
    public void Replay_TracksEveryOrderAndReturn_AndSkipsOnlyAdjustmentsAndInvoicesThatChargeNothing()
    {
        run.RequireRun();

        Assert.Equal(run.Expected.Events.Count, run.Report.Events);
        Assert.Equal(run.Expected.Skipped, run.Report.Skipped);
        Assert.Equal(0, run.Report.Rejected);
    }

    [RetailDataFact]
    public void Replay_RecordsACountForEverySegmentAtEveryInstant()
    {
        run.RequireRun();

        Assert.Equal(ReplayRun.Instants.Select(ReplayRun.Instant).Order(), run.Report.AsOf.Keys.Order());
        Assert.All(run.Report.AsOf.Values, counts => Assert.Equal(IndependentModel.Rules.Keys.Order(), counts.Keys.Order()));
    }

    [RetailDataFact]
    public void ExpectedCounts_AreNeitherEmptyNorConstant_SoTheComparisonMeansSomething()
    {
        run.RequireRun();

        foreach (var segment in IndependentModel.Rules.Keys)
        {
            var counts = ReplayRun.Instants.Select(i => run.Expected.Members(segment, ReplayRun.Instant(i)).Count).ToList();
            Assert.True(counts.Any(c => c > 0), $"{segment} is empty at every instant");
            Assert.True(counts.Distinct().Count() > 1, $"{segment} has the same size {counts[0]} at every instant");
        }
    }

    [RetailDataTheory]
    [MemberData(nameof(Cases))]
    public void SegmentCount_AtInstant_EqualsPlainLinqOverTheCsv(string segment, string instant)
    {
        run.RequireRun();
        var at = ReplayRun.Instant(instant);

        var expected = run.Expected.Members(segment, at);
        var actual = run.Report.AsOf[at][segment];
        output.WriteLine($"{segment} at {instant}: expected {expected.Count}, replay {actual}");

        Assert.True(
            expected.Count == actual,
            $"{segment} at {instant}: LINQ over the CSV counts {expected.Count}, the replay {actual}. "
            + $"A few expected members: {string.Join(", ", expected.Order(StringComparer.Ordinal).Take(5))}");
    }

    [RetailDataFact]
    public async Task OneEventAtATime_GivesTheBatchedReplaysCounts()
    {
        run.RequireRun();
        var segments = Omnichannel.Sdk.Segments.SegmentJson.ParseMany(IndependentModel.SegmentsJson).Value!;

        var serial = await Replay.RunAsync(new ReplayOptions(run.DataPath, segments) { AsOf = [.. ReplayRun.Instants.Select(ReplayRun.Instant)], Serial = true });

        Assert.Equal((run.Report.Events, run.Report.Skipped, run.Report.Rejected), (serial.Events, serial.Skipped, serial.Rejected));
        Assert.Equal(serial.Events, serial.Batches); // one call per event
        Assert.InRange(run.Report.Batches, 1, run.Report.Events / 2); // timers split the year, yet batches hold several events
        Assert.Equal(run.Report.AsOf.Keys, serial.AsOf.Keys);
        foreach (var (at, counts) in run.Report.AsOf)
        {
            Assert.Equal(counts.OrderBy(kv => kv.Key, StringComparer.Ordinal), serial.AsOf[at].OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }

        output.WriteLine($"batched {run.Report.EventsPerSecond:N0} events/s; one at a time {serial.EventsPerSecond:N0} events/s");
    }

    [RetailDataFact]
    public async Task MaxEvents_ReplaysTheYearsFirstEventsOnly()
    {
        run.RequireRun();

        var first = await Replay.RunAsync(new ReplayOptions(run.DataPath, []) { MaxEvents = 500 });

        Assert.Equal((500, 0), (first.Events, first.Rejected));
        Assert.True(first.AsOf.Single().Key < ReplayRun.Instant(ReplayRun.Instants[0]), "the clock stops at the 500th event, in December 2010");
    }
}
