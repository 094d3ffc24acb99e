using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Ingest into SQLite (temp file, WAL, default durability FULL): the SDK on <c>UseSqliteStore</c> against raw
/// Microsoft.Data.Sqlite batched inserts of the same rows — the profile documents, processed-event ids and new
/// identifiers the engine commits for the round (captured byte for byte on an in-memory run), in transactions of the
/// store's group-commit size, with prepared commands. The raw side writes each profile once per transaction (its last
/// document), the SDK once per event. One operation is one event; Events/s = 1 s / Mean.
/// The <c>Diag_</c> methods explain the ratio: the same raw rows with one transaction (one disk sync) per event, the SDK
/// with more partitions (more commits in flight to share a transaction), with synchronous=NORMAL (no sync per
/// transaction), and in memory (the engine without a store).
/// </summary>
// Each side first warms the JIT up on a copy of itself until compilation is quiet (SteadyState); then these twelve
// warm-up rounds run on the measured instance, as before the sixteenth session, so it starts from the same data.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 12, iterationCount: 6, invocationCount: 1)]
[MemoryDiagnoser]
[EventsPerSecondColumn]
public class SqliteIngestBenchmarks
{
    private const int Events = StoreIngestData.Events;

    /// <summary>The store's default <see cref="SqliteStoreOptions.MaxBatchSize"/>.</summary>
    private const int RawBatch = 256;

    private readonly DateTimeOffset _start = StoreIngestData.Start();
    private string _path = "";
    private ServiceProvider? _provider;
    private OmnichannelEngine _engine = null!;
    private CommitCapture? _capture;
    private SqliteConnection? _raw;
    private RawStatements? _statements;
    private CustomerEvent[] _events = [];
    private IReadOnlyList<ProfileCommit> _rows = [];
    private int _round;

    [GlobalSetup(Target = nameof(Sdk_TrackBatch))]
    public void SetUpSdk() => StartSdk(c => b => b.UseSqliteStore(c._path));

    [GlobalSetup(Target = nameof(Sdk_AwaitEach))]
    public void SetUpSdkAwaitEach() => StartSdk(c => b => b.UseSqliteStore(c._path), awaitEach: true);

    [GlobalSetup(Target = nameof(Diag_Sdk_TrackBatch_64Partitions))]
    public void SetUpSdkWide() => StartSdk(c => b => b.UseSqliteStore(c._path), partitions: 64);

    [GlobalSetup(Target = nameof(Diag_Sdk_TrackBatch_SynchronousNormal))]
    public void SetUpSdkNormal() => StartSdk(c => b => b.UseSqliteStore(c._path, o => o.Durability = SqliteDurability.Normal));

    [GlobalSetup(Target = nameof(Diag_Sdk_TrackBatch_InMemory))]
    public void SetUpSdkInMemory() => StartSdk(_ => b => b.UseInMemoryStore());

    [GlobalSetup(Target = nameof(Raw_BatchedInserts))]
    public void SetUpRawBatched() => StartRaw(RawBatch);

    [GlobalSetup(Target = nameof(Diag_Raw_TransactionPerEvent))]
    public void SetUpRawPerEvent() => StartRaw(1);

    /// <summary>Opens the raw connection after a warm-up on a copy (<see cref="SteadyState"/>).</summary>
    private void StartRaw(int batchSize)
    {
        // A disk sync per event is a diagnostic, not worth three minutes of warm-up.
        SteadyState.WarmUpOnCopy<SqliteIngestBenchmarks>(
            c => c.SetUpRaw(),
            c =>
            {
                c.PrepareRows();
                c.InsertRaw(batchSize);
            },
            c => c.CleanUp(),
            batchSize == 1 ? TimeSpan.FromMinutes(1) : null);
        SetUpRaw();
    }

    private void SetUpRaw()
    {
        _path = NewFile();

        // The store creates the schema (same tables and indexes); then the raw side has the file to itself.
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _path }).GetAwaiter().GetResult().Dispose();
        _raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString());
        _raw.Open();
        Execute(_raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        _statements = new RawStatements(_raw);
        _capture = new CommitCapture();
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        if (_provider is not null)
        {
            StoreIngestData.ReportGroupCommit(_engine.Store);
            _provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _capture?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _statements?.Dispose();
        _raw?.Dispose();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }

    [IterationSetup(Targets = [nameof(Sdk_TrackBatch), nameof(Sdk_AwaitEach), nameof(Diag_Sdk_TrackBatch_64Partitions), nameof(Diag_Sdk_TrackBatch_SynchronousNormal), nameof(Diag_Sdk_TrackBatch_InMemory)])]
    public void PrepareEvents() => _events = StoreIngestData.Round(++_round, _start);

    [IterationSetup(Targets = [nameof(Raw_BatchedInserts), nameof(Diag_Raw_TransactionPerEvent)])]
    public void PrepareRows()
    {
        _rows = _capture!.Capture(StoreIngestData.Round(++_round, _start));
        if (_round == 1)
        {
            Console.WriteLine($"// Profile documents: {_rows.Average(c => c.Document.Length):N0} bytes on average, {_rows.Max(c => c.Document.Length):N0} at most.");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public int Raw_BatchedInserts() => InsertRaw(RawBatch);

    [Benchmark(OperationsPerInvoke = Events)]
    public int Sdk_TrackBatch() => TrackBatch();

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<int> Sdk_AwaitEach()
    {
        var accepted = 0;
        foreach (var e in _events)
        {
            if ((await _engine.TrackAsync(e)).Status == TrackStatus.Accepted)
            {
                accepted++;
            }
        }

        return accepted;
    }

    /// <summary>The raw rows again, one transaction per event: the floor for awaiting each event durably.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Diag_Raw_TransactionPerEvent() => InsertRaw(1);

    /// <summary>More partitions: more commits in flight to share one group-commit transaction.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Diag_Sdk_TrackBatch_64Partitions() => TrackBatch();

    /// <summary>synchronous=NORMAL: no disk sync per transaction, so what is left is the engine's and the store's work.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Diag_Sdk_TrackBatch_SynchronousNormal() => TrackBatch();

    /// <summary>The engine on the in-memory store: its own cost, without SQLite.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Diag_Sdk_TrackBatch_InMemory() => TrackBatch();

    private int TrackBatch() => _engine.TrackBatchAsync(_events).GetAwaiter().GetResult().Count(r => r.Status == TrackStatus.Accepted);

    private int InsertRaw(int batchSize)
    {
        var s = _statements!;
        var latest = new Dictionary<string, ProfileCommit>(StringComparer.Ordinal);
        foreach (var batch in _rows.Chunk(batchSize))
        {
            latest.Clear();
            s.Begin.ExecuteNonQuery();
            foreach (var commit in batch)
            {
                s.Event(commit.EventId!, commit.ProcessedAt.UtcTicks);
                foreach (var claim in commit.Claims)
                {
                    if (claim.ExpectedOwner is null)
                    {
                        s.Identifier(claim.Identifier, commit.ProfileId);
                    }
                }

                latest[commit.ProfileId] = commit;
            }

            foreach (var commit in latest.Values)
            {
                s.Profile(commit);
            }

            s.Commit.ExecuteNonQuery();
        }

        return _rows.Count;
    }

    /// <summary>Starts the engine on the store <paramref name="useStore"/> picks, after a warm-up on a copy (<see cref="SteadyState"/>).</summary>
    private void StartSdk(Func<SqliteIngestBenchmarks, Action<OmnichannelBuilder>> useStore, int? partitions = null, bool awaitEach = false)
    {
        // Awaiting each event durably is a comparison, not worth three minutes of warm-up.
        SteadyState.WarmUpOnCopy<SqliteIngestBenchmarks>(
            c => c.StartEngine(useStore(c), partitions),
            c =>
            {
                c.PrepareEvents();
                if (awaitEach)
                {
                    c.Sdk_AwaitEach().GetAwaiter().GetResult();
                }
                else
                {
                    c.TrackBatch();
                }
            },
            c => c.CleanUp(),
            awaitEach ? TimeSpan.FromMinutes(1) : null);
        StartEngine(useStore(this), partitions);
    }

    private void StartEngine(Action<OmnichannelBuilder> useStore, int? partitions)
    {
        _path = NewFile();
        var services = new ServiceCollection();
        useStore(services.AddOmnichannel(o =>
        {
            o.Partitions = partitions ?? o.Partitions;
            o.Privacy.HashKey = BenchmarkKeys.HashKey;
        }));
        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<OmnichannelEngine>();
    }

    // OMNICHANNEL_BENCH_DIR=/dev/shm puts the files on tmpfs, where a disk sync costs nothing: that run shows the
    // SDK's CPU overhead alone, apart from the disk (which on a shared or virtual disk is also the noisiest part).
    private static string NewFile() =>
        Path.Combine(Environment.GetEnvironmentVariable("OMNICHANNEL_BENCH_DIR") is { Length: > 0 } dir ? dir : Path.GetTempPath(), $"omnichannel-bench-{Guid.NewGuid():N}.db");

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The raw side's prepared statements.</summary>
    private sealed class RawStatements : IDisposable
    {
        private readonly SqliteCommand _event;
        private readonly SqliteCommand _identifier;
        private readonly SqliteCommand _profile;

        public RawStatements(SqliteConnection connection)
        {
            Begin = Prepare(connection, "BEGIN IMMEDIATE");
            Commit = Prepare(connection, "COMMIT");
            _event = Prepare(connection, "INSERT INTO processed_events (event_id, processed_at) VALUES ($p0, $p1)", 2);
            _identifier = Prepare(connection, "INSERT INTO identifiers (type, value, profile_id) VALUES ($p0, $p1, $p2)", 3);
            _profile = Prepare(
                connection,
                "INSERT INTO profiles (id, version, document, wake_at) VALUES ($p0, $p1, $p2, $p3) " +
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, document = excluded.document, wake_at = excluded.wake_at",
                4);
        }

        public SqliteCommand Begin { get; }

        public SqliteCommand Commit { get; }

        public void Event(string id, long processedAt) => Run(_event, id, processedAt);

        public void Identifier(Identifier identifier, string profileId) => Run(_identifier, identifier.Type, identifier.Value, profileId);

        public void Profile(ProfileCommit commit) =>
            Run(_profile, commit.ProfileId, commit.ExpectedVersion + 1, commit.Document, commit.WakeAt is { } w ? w.UtcTicks : DBNull.Value);

        public void Dispose()
        {
            foreach (var c in new[] { Begin, Commit, _event, _identifier, _profile })
            {
                c.Dispose();
            }
        }

        private static void Run(SqliteCommand command, params ReadOnlySpan<object> values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i];
            }

            command.ExecuteNonQuery();
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, int parameters = 0)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < parameters; i++)
            {
                command.Parameters.Add(new SqliteParameter("$p" + i, null));
            }

            command.Prepare();
            return command;
        }
    }
}
