using Omnichannel.Sdk.Segments;
using Xunit.Abstractions;

namespace RetailReplay.Tests;

/// <summary>
/// <c>--orleans-silos 3</c> (issue 15): the real year replayed through an in-process cluster of three silos gives the
/// single-process replay's segment counts at every instant, and the same report.
/// </summary>
public sealed class ClusterReplayTests(ReplayRun run, ITestOutputHelper output) : IClassFixture<ReplayRun>
{
    [RetailDataFact]
    public async Task ThroughThreeSilos_TheYearGivesTheSameSegmentCountsAsOneProcess()
    {
        run.RequireRun();
        var segments = SegmentJson.ParseMany(IndependentModel.SegmentsJson).Value!;

        var cluster = await Replay.RunAsync(new ReplayOptions(run.DataPath, segments) { AsOf = [.. ReplayRun.Instants.Select(ReplayRun.Instant)], OrleansSilos = 3 });

        Assert.Equal((run.Report.Events, run.Report.Skipped, run.Report.Rejected), (cluster.Events, cluster.Skipped, cluster.Rejected));
        Assert.Equal(run.Report.AsOf.Keys, cluster.AsOf.Keys);
        foreach (var (at, counts) in run.Report.AsOf)
        {
            Assert.Equal(counts.OrderBy(kv => kv.Key, StringComparer.Ordinal), cluster.AsOf[at].OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }

        output.WriteLine($"one process {run.Report.EventsPerSecond:N0} events/s; three in-process silos {cluster.EventsPerSecond:N0} events/s");
    }
}
