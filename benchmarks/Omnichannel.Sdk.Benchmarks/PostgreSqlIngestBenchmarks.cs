using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using Omnichannel.Sdk.PostgreSql;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.TestServers;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Ingest into PostgreSQL (a throw-away local cluster with fsync on, started per run): the SDK on
/// <c>UsePostgreSqlStore</c> against raw Npgsql binary COPY of the same rows — the processed-event ids, new identifiers
/// and profile documents the engine commits for the round (captured byte for byte on an in-memory run), in one
/// transaction; COPY cannot upsert, so the raw side writes each customer's last document once, the SDK once per event.
/// One operation is one event; Events/s = 1 s / Mean.
/// The <c>Diag_</c> methods explain the ratio: the same raw rows written one transaction per event (one round trip
/// each, in order), and the SDK with <c>synchronous_commit=off</c> (no WAL flush per commit).
/// </summary>
// Each side first warms the JIT up on a copy of itself (its own cluster) until compilation is quiet (SteadyState); then
// these twelve warm-up rounds run on the measured instance, as before the sixteenth session, so it starts from the same
// data. With the twelve rounds alone (one until the tenth session) both sides were measured part-way through tiering.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 12, iterationCount: 6, invocationCount: 1)]
[MemoryDiagnoser]
[EventsPerSecondColumn]
public class PostgreSqlIngestBenchmarks
{
    private const int Events = StoreIngestData.Events;
    private const string Schema = "omnichannel";

    private readonly DateTimeOffset _start = StoreIngestData.Start();
    private PostgreSqlCluster? _cluster;
    private ServiceProvider? _provider;
    private OmnichannelEngine _engine = null!;
    private CommitCapture? _capture;
    private NpgsqlDataSource? _raw;
    private CustomerEvent[] _events = [];
    private IReadOnlyList<ProfileCommit> _rows = [];
    private int _round;

    [GlobalSetup(Target = nameof(Sdk_TrackBatch))]
    public Task SetUpSdk() => StartSdkAsync(asynchronousCommit: false);

    [GlobalSetup(Target = nameof(Sdk_AwaitEach))]
    public Task SetUpSdkAwaitEach() => StartSdkAsync(asynchronousCommit: false, awaitEach: true);

    [GlobalSetup(Target = nameof(Diag_Sdk_TrackBatch_AsynchronousCommit))]
    public Task SetUpSdkAsynchronousCommit() => StartSdkAsync(asynchronousCommit: true);

    /// <summary>Starts the engine after a warm-up on a copy with its own cluster (<see cref="SteadyState"/>).</summary>
    private Task StartSdkAsync(bool asynchronousCommit, bool awaitEach = false)
    {
        // Awaiting each event is a comparison, not worth three minutes of warm-up.
        SteadyState.WarmUpOnCopy<PostgreSqlIngestBenchmarks>(
            c => c.StartEngineAsync(asynchronousCommit),
            c =>
            {
                c.PrepareEvents();
                return awaitEach ? c.Sdk_AwaitEach() : c.Sdk_TrackBatch();
            },
            c => c.CleanUp(),
            awaitEach ? TimeSpan.FromMinutes(1) : null);
        return StartEngineAsync(asynchronousCommit);
    }

    private async Task StartEngineAsync(bool asynchronousCommit)
    {
        _cluster = await PostgreSqlCluster.StartAsync(durable: true);
        var connectionString = await _cluster.DatabaseAsync("sdk");
        if (asynchronousCommit)
        {
            connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Options = "-c synchronous_commit=off" }.ConnectionString;
        }

        var services = new ServiceCollection();
        services.AddOmnichannel(o => o.Privacy.HashKey = BenchmarkKeys.HashKey).UsePostgreSqlStore(connectionString, o => o.Schema = Schema);
        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<OmnichannelEngine>();
    }

    [GlobalSetup(Target = nameof(Raw_BinaryCopy))]
    public Task SetUpRawCopy()
    {
        SteadyState.WarmUpOnCopy<PostgreSqlIngestBenchmarks>(
            c => c.SetUpRawAsync(),
            c =>
            {
                c.PrepareRows();
                return c.Raw_BinaryCopy();
            },
            c => c.CleanUp());
        return SetUpRawAsync();
    }

    [GlobalSetup(Target = nameof(Diag_Raw_TransactionPerEvent))]
    public Task SetUpRawPerEvent()
    {
        SteadyState.WarmUpOnCopy<PostgreSqlIngestBenchmarks>(
            c => c.SetUpRawAsync(),
            c =>
            {
                c.PrepareRows();
                return c.Diag_Raw_TransactionPerEvent();
            },
            c => c.CleanUp(),
            TimeSpan.FromMinutes(1));
        return SetUpRawAsync();
    }

    private async Task SetUpRawAsync()
    {
        _cluster = await PostgreSqlCluster.StartAsync(durable: true);
        var connectionString = await _cluster.DatabaseAsync("raw");

        // The store creates the schema (same tables and indexes); the raw side then writes to it directly.
        await (await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString, Schema = Schema })).DisposeAsync();
        _raw = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = Schema });
        _capture = new CommitCapture();
    }

    [GlobalCleanup]
    public async Task CleanUp()
    {
        if (_provider is not null)
        {
            StoreIngestData.ReportGroupCommit(_engine.Store);
            await _provider.DisposeAsync();
        }

        if (_capture is not null)
        {
            await _capture.DisposeAsync();
        }

        if (_raw is not null)
        {
            await _raw.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [IterationSetup(Targets = [nameof(Sdk_TrackBatch), nameof(Sdk_AwaitEach), nameof(Diag_Sdk_TrackBatch_AsynchronousCommit)])]
    public void PrepareEvents() => _events = StoreIngestData.Round(++_round, _start);

    [IterationSetup(Targets = [nameof(Raw_BinaryCopy), nameof(Diag_Raw_TransactionPerEvent)])]
    public void PrepareRows() => _rows = _capture!.Capture(StoreIngestData.Round(++_round, _start));

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public async Task<int> Raw_BinaryCopy()
    {
        await using var connection = await _raw!.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var events = await connection.BeginBinaryImportAsync("COPY processed_events (event_id, processed_at) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var c in _rows)
            {
                await events.StartRowAsync();
                await events.WriteAsync(c.EventId!, NpgsqlDbType.Text);
                await events.WriteAsync(c.ProcessedAt.UtcTicks, NpgsqlDbType.Bigint);
            }

            await events.CompleteAsync();
        }

        await using (var identifiers = await connection.BeginBinaryImportAsync("COPY identifiers (type, value, profile_id) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var c in _rows)
            {
                foreach (var claim in c.Claims.Where(claim => claim.ExpectedOwner is null))
                {
                    await identifiers.StartRowAsync();
                    await identifiers.WriteAsync(claim.Identifier.Type, NpgsqlDbType.Text);
                    await identifiers.WriteAsync(claim.Identifier.Value, NpgsqlDbType.Text);
                    await identifiers.WriteAsync(c.ProfileId, NpgsqlDbType.Text);
                }
            }

            await identifiers.CompleteAsync();
        }

        // Every round's customers are new, so each profile is inserted once, with its last version.
        await using (var profiles = await connection.BeginBinaryImportAsync("COPY profiles (id, version, document, wake_at) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var c in _rows.GroupBy(c => c.ProfileId, StringComparer.Ordinal).Select(g => g.MaxBy(c => c.ExpectedVersion)!))
            {
                await profiles.StartRowAsync();
                await profiles.WriteAsync(c.ProfileId, NpgsqlDbType.Text);
                await profiles.WriteAsync(c.ExpectedVersion + 1, NpgsqlDbType.Bigint);
                await profiles.WriteAsync(c.Document, NpgsqlDbType.Bytea);
                if (c.WakeAt is { } wakeAt)
                {
                    await profiles.WriteAsync(wakeAt.UtcTicks, NpgsqlDbType.Bigint);
                }
                else
                {
                    await profiles.WriteNullAsync();
                }
            }

            await profiles.CompleteAsync();
        }

        await transaction.CommitAsync();
        return _rows.Count;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<int> Sdk_TrackBatch() => (await _engine.TrackBatchAsync(_events)).Count(r => r.Status == TrackStatus.Accepted);

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

    /// <summary>The raw rows, one transaction per event (one batched round trip and a commit), in order.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<int> Diag_Raw_TransactionPerEvent()
    {
        await using var connection = await _raw!.OpenConnectionAsync();
        foreach (var c in _rows)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(connection, transaction);
            Add(batch, "INSERT INTO processed_events (event_id, processed_at) VALUES ($1, $2)", c.EventId!, c.ProcessedAt.UtcTicks);
            foreach (var claim in c.Claims.Where(claim => claim.ExpectedOwner is null))
            {
                Add(batch, "INSERT INTO identifiers (type, value, profile_id) VALUES ($1, $2, $3)", claim.Identifier.Type, claim.Identifier.Value, c.ProfileId);
            }

            Add(
                batch,
                "INSERT INTO profiles (id, version, document, wake_at) VALUES ($1, $2, $3, $4) " +
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, document = excluded.document, wake_at = excluded.wake_at",
                c.ProfileId,
                c.ExpectedVersion + 1,
                c.Document,
                c.WakeAt is { } w ? w.UtcTicks : DBNull.Value);
            await batch.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        return _rows.Count;
    }

    /// <summary>synchronous_commit=off: commits do not wait for the WAL flush, so what is left is round trips and work.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task<int> Diag_Sdk_TrackBatch_AsynchronousCommit() => (await _engine.TrackBatchAsync(_events)).Count(r => r.Status == TrackStatus.Accepted);

    private static void Add(NpgsqlBatch batch, string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var v in values)
        {
            command.Parameters.Add(v is DBNull ? new NpgsqlParameter { Value = v, NpgsqlDbType = NpgsqlDbType.Bigint } : new NpgsqlParameter { Value = v });
        }

        batch.BatchCommands.Add(command);
    }
}
