using System.Diagnostics;
using Omnichannel.Sdk.TestServers;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// The sweep that deletes clusters left behind by killed test hosts must never delete one another test host is
/// creating: a CI run lost 139 tests when it deleted a cluster in the middle of its initdb.
/// </summary>
public sealed class ClusterSweepTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cluster-sweep-").FullName;

    /// <summary>The file system's clock: folder times are real, never a test's fake clock.</summary>
    private static DateTime Now => TimeProvider.System.GetUtcNow().UtcDateTime;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void AFolderWhoseInitdbStepJustExited_IsKept()
    {
        // initdb's standalone backends write their pid negated and exit; the next step starts a moment later.
        var folder = Cluster("initdb", pidLine: "-" + ExitedProcessId());

        PostgreSqlCluster.DeleteAbandonedClusters(_root, Now);

        Assert.True(Directory.Exists(folder));
    }

    [Fact]
    public void AStandaloneBackendThatRuns_KeepsItsFolder_EvenWhenOld()
    {
        var folder = Cluster("single-user", pidLine: "-" + Environment.ProcessId);

        PostgreSqlCluster.DeleteAbandonedClusters(_root, Now + PostgreSqlCluster.QuietPeriod * 10);

        Assert.True(Directory.Exists(folder));
    }

    [Fact]
    public void AFolderWithADeadServer_IsDeleted_OnceQuiet()
    {
        var folder = Cluster("dead", pidLine: ExitedProcessId().ToString(System.Globalization.CultureInfo.InvariantCulture));

        PostgreSqlCluster.DeleteAbandonedClusters(_root, Now);
        Assert.True(Directory.Exists(folder));

        PostgreSqlCluster.DeleteAbandonedClusters(_root, Now + PostgreSqlCluster.QuietPeriod + TimeSpan.FromSeconds(5));
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void AHalfDeletedFolder_IsDeleted_OnceQuiet_AndAnotherPrefixIsNeverTouched()
    {
        var halfDeleted = Cluster("half", pidLine: null);
        var other = Directory.CreateDirectory(Path.Combine(_root, "someone-else")).FullName;

        PostgreSqlCluster.DeleteAbandonedClusters(_root, Now + PostgreSqlCluster.QuietPeriod + TimeSpan.FromSeconds(5));

        Assert.False(Directory.Exists(halfDeleted));
        Assert.True(Directory.Exists(other));
    }

    private string Cluster(string name, string? pidLine)
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, PostgreSqlCluster.FolderPrefix + name, "data")).FullName;
        if (pidLine is not null)
        {
            File.WriteAllLines(Path.Combine(data, "postmaster.pid"), [pidLine, data]);
        }

        return Path.GetDirectoryName(data)!;
    }

    private static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
