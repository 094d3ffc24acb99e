using System.Globalization;
using Omnichannel.Sdk.Segments;

namespace RetailReplay.Tests;

/// <summary>Replays the full data set once for the whole test class (10–30 s) and reads the CSV independently.</summary>
public sealed class ReplayRun : IAsyncLifetime
{
    /// <summary>Where the data set lives relative to some folder above the test's output (beside the repository).</summary>
    public const string DataRelativePath = "shared/data/online-retail/online-retail.csv.gz";

    /// <summary>Overrides the search, for CI machines that keep the data elsewhere.</summary>
    public const string DataVariable = "ONLINE_RETAIL_CSV";

    /// <summary>
    /// Instants checked: month starts, and instants found in the data to sit exactly on edges, so an off-by-one on
    /// either side makes a count differ: 2011-03-01 08:35 (a new customer's first order is at t, so it must count),
    /// 2011-06-19 15:33 (an invoice at t; a repeat buyer's last order exactly
    /// 90 days before, another's exactly 180 days before), 2011-12-06 15:10 (an invoice at t; a last order exactly
    /// 90 days before; someone's only return exactly 365 days before) and 2011-12-07 15:08 (an invoice at t; a last
    /// order exactly 90 days before; someone's only order in the year exactly 365 days before).
    /// </summary>
    public static readonly IReadOnlyList<string> Instants =
    [
        "2011-03-01T08:35:00Z", "2011-06-01T00:00:00Z", "2011-06-19T15:33:00Z", "2011-09-01T00:00:00Z",
        "2011-12-06T15:10:00Z", "2011-12-07T15:08:00Z", "2011-12-10T00:00:00Z",
    ];

    /// <summary>Why the run could not happen, or null.</summary>
    public string? Problem { get; private set; }

    public string DataPath { get; private set; } = "";

    internal IndependentModel Expected { get; private set; } = null!;

    public ReplayReport Report { get; private set; } = null!;

    public static DateTimeOffset Instant(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    public async Task InitializeAsync()
    {
        var path = FindData();
        if (path is null)
        {
            Problem = Environment.GetEnvironmentVariable(DataVariable) is { Length: > 0 } set
                ? $"The Online Retail data set was not found: {DataVariable} is '{set}', which is not a file. This check must not be skipped."
                : $"The Online Retail data set was not found: no '{DataRelativePath}' in any folder above {AppContext.BaseDirectory}, "
                    + $"and {DataVariable} is not set. Put the file there (or set {DataVariable}); this check must not be skipped.";
            return;
        }

        DataPath = path;
        var segments = SegmentJson.ParseMany(IndependentModel.SegmentsJson);
        if (!segments.IsValid)
        {
            Problem = "The test's segments do not load: " + string.Join("; ", segments.Errors);
            return;
        }

        Expected = IndependentModel.Load(path);
        Report = await Replay.RunAsync(new ReplayOptions(path, segments.Value) { AsOf = [.. Instants.Select(Instant)] });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Fails the calling test with <see cref="Problem"/> when the run could not happen.</summary>
    public void RequireRun()
    {
        if (Problem is not null)
        {
            Assert.Fail(Problem);
        }
    }

    internal static string? FindData()
    {
        if (Environment.GetEnvironmentVariable(DataVariable) is { Length: > 0 } fromVariable)
        {
            return File.Exists(fromVariable) ? fromVariable : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, DataRelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
