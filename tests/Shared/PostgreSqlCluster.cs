using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Omnichannel.Sdk.TestServers;

/// <summary>
/// A throw-away PostgreSQL cluster: initdb into a temp folder, started on a free loopback port, stopped (immediate) and
/// deleted on dispose. Databases are created on demand, one per name. When run as root (initdb refuses root), the
/// server runs as the <c>postgres</c> user through <c>runuser</c>. Linked into the PostgreSQL tests (their xUnit
/// fixture wraps it) and into the benchmarks, so neither depends on the other's test framework.
/// </summary>
internal sealed class PostgreSqlCluster : IAsyncDisposable
{
    /// <summary>The start of each cluster's folder name, in the temporary folder.</summary>
    internal const string FolderPrefix = "omnichannel-pg-";

    /// <summary>How long a cluster's folder must be unchanged, with no server running, before a sweep deletes it.</summary>
    internal static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _databases = new();
    private string _folder = "";
    private string _bin = "";
    private bool _asPostgresUser;

    private PostgreSqlCluster()
    {
    }

    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>A connection string for the maintenance database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>
    /// Creates and starts a cluster. <paramref name="durable"/> keeps PostgreSQL's default <c>fsync=on</c> (benchmarks
    /// measure commits as production pays for them); otherwise fsync is off, since the cluster is deleted afterwards.
    /// </summary>
    public static async Task<PostgreSqlCluster> StartAsync(bool durable = false, CancellationToken cancellationToken = default)
    {
        var cluster = new PostgreSqlCluster();
        try
        {
            await cluster.InitializeAsync(durable, cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string for a database of the cluster.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, MaxPoolSize = 20 }.ConnectionString;

    /// <summary>Creates (once per name) a fresh database and returns its connection string.</summary>
    public Task<string> DatabaseAsync(string name) =>
        _databases.GetOrAdd(name, n => new Lazy<Task<string>>(async () =>
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{n}\"", connection);
            await command.ExecuteNonQueryAsync();
            return ConnectionString(n);
        })).Value;

    /// <summary>Stops the server and deletes its folder (the folder even when the stop fails).</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (_bin.Length > 0 && File.Exists(Path.Combine(_folder, "data", "postmaster.pid")))
            {
                await RunServerToolAsync("pg_ctl", "-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop");
            }
        }
        finally
        {
            if (_folder.Length > 0 && Directory.Exists(_folder))
            {
                Directory.Delete(_folder, recursive: true);
            }
        }
    }

    /// <summary>
    /// Deletes the folders of earlier clusters whose server no longer runs. A test host is killed soon after its last
    /// test, often in the middle of deleting a cluster started for the whole run (each is a few hundred MB); left
    /// alone, they filled the CI machine's disk.
    /// </summary>
    /// <remarks>
    /// Other test hosts start clusters at the same time, so a folder is deleted only when no process named in its
    /// <c>postmaster.pid</c> runs <em>and</em> neither it nor its <c>data</c> folder changed for
    /// <see cref="QuietPeriod"/>. initdb runs a standalone backend per step: each writes its pid negated and exits,
    /// so a pid file read during initdb often names a process already gone. Reading that as "abandoned" deleted a
    /// cluster in the middle of its initdb (a CI failure of 139 tests).
    /// </remarks>
    internal static void DeleteAbandonedClusters(string root, DateTime nowUtc)
    {
        foreach (var folder in Directory.EnumerateDirectories(root, FolderPrefix + "*"))
        {
            try
            {
                if (IsAbandoned(folder, nowUtc))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: another user's folder, or one deleted meanwhile.
            }
        }
    }

    private static bool IsAbandoned(string folder, DateTime nowUtc)
    {
        var data = Path.Combine(folder, "data");
        var pidFile = Path.Combine(data, "postmaster.pid");
        if (File.Exists(pidFile) && IsRunning(File.ReadLines(pidFile).FirstOrDefault()))
        {
            return false;
        }

        var lastChange = Directory.GetLastWriteTimeUtc(folder);
        if (Directory.Exists(data) && Directory.GetLastWriteTimeUtc(data) > lastChange)
        {
            lastChange = Directory.GetLastWriteTimeUtc(data);
        }

        return lastChange < nowUtc - QuietPeriod;
    }

    private static bool IsRunning(string? pid)
    {
        if (!int.TryParse(pid, out var id))
        {
            return true; // being written: the server is starting
        }

        try
        {
            // A standalone backend (initdb's steps, single-user mode) writes its pid negated.
            using var process = Process.GetProcessById(Math.Abs(id));
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private async Task InitializeAsync(bool durable, CancellationToken cancellationToken)
    {
        _bin = FindBinaries();
        _asPostgresUser = Environment.UserName == "root";
        DeleteAbandonedClusters(Path.GetTempPath(), TimeProvider.System.GetUtcNow().UtcDateTime); // the file system's clock, never a test's fake one
        _folder = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_folder);
        if (_asPostgresUser)
        {
            await RunAsync("chown", "postgres", _folder);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var data = Path.Combine(_folder, "data");
        await RunServerToolAsync("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C");
        Port = FreePort();

        var fsync = durable ? "on" : "off";
        await RunServerToolAsync(
            "pg_ctl", "-D", data, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync={fsync} -c max_connections=200", "start");
    }

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. " +
            "Run eng/install-test-servers.sh (it installs Debian's postgresql package), then run again.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task RunServerToolAsync(string tool, params string[] arguments)
    {
        var path = Path.Combine(_bin, tool);
        return _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments])
            : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{file} {string.Join(' ', arguments)}' failed with exit code {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
