using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Sqlite;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// What making erasure leave nothing in the file costs on SQLite: <c>PRAGMA secure_delete</c> (on by default, zeroes
/// every deleted or overwritten cell) on ingestion, and an erasure (delete, tombstones, then a TRUNCATE checkpoint of
/// the WAL) with and without it. Baseline: the store with <see cref="SqliteStoreOptions.SecureDelete"/> off. Ingest: one
/// operation is one event of <see cref="StoreIngestData"/> through <c>TrackBatchAsync</c>. Erase: one operation is one
/// <c>EraseProfileAsync</c> of a profile with an identify event and nine orders, in a file of the round's 200 profiles
/// (and every earlier round's).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 6, invocationCount: 1)]
[MemoryDiagnoser]
public class SqlitePrivacyBenchmarks
{
    private const int Events = StoreIngestData.Events;
    private const int Erasures = 40;

    private readonly DateTimeOffset _start = StoreIngestData.Start();
    private string _path = "";
    private ServiceProvider? _provider;
    private OmnichannelEngine _engine = null!;
    private CustomerEvent[] _events = [];
    private int _round;

    [GlobalSetup(Targets = [nameof(Ingest_SecureDeleteOff), nameof(Erase_SecureDeleteOff)])]
    public void SetUpOff() => Start(secureDelete: false);

    [GlobalSetup(Targets = [nameof(Ingest_SecureDeleteOn), nameof(Erase_SecureDeleteOn)])]
    public void SetUpOn() => Start(secureDelete: true);

    [GlobalCleanup]
    public void CleanUp()
    {
        _provider?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            File.Delete(file);
        }
    }

    [IterationSetup(Targets = [nameof(Ingest_SecureDeleteOff), nameof(Ingest_SecureDeleteOn)])]
    public void PrepareEvents() => _events = StoreIngestData.Round(++_round, _start);

    /// <summary>Before each erase iteration: a fresh round of 200 customers to erase from.</summary>
    [IterationSetup(Targets = [nameof(Erase_SecureDeleteOff), nameof(Erase_SecureDeleteOn)])]
    public void PrepareProfiles()
    {
        _events = StoreIngestData.Round(++_round, _start);
        _engine.TrackBatchAsync(_events).GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public int Ingest_SecureDeleteOff() => TrackBatch();

    [Benchmark(OperationsPerInvoke = Events)]
    public int Ingest_SecureDeleteOn() => TrackBatch();

    [Benchmark(OperationsPerInvoke = Erasures)]
    public Task<int> Erase_SecureDeleteOff() => EraseAsync();

    [Benchmark(OperationsPerInvoke = Erasures)]
    public Task<int> Erase_SecureDeleteOn() => EraseAsync();

    private int TrackBatch() => _engine.TrackBatchAsync(_events).GetAwaiter().GetResult().Count(r => r.Status == TrackStatus.Accepted);

    private async Task<int> EraseAsync()
    {
        var erased = 0;
        for (var c = 0; c < Erasures; c++)
        {
            erased += await _engine.EraseProfileAsync(Identifier.CustomerId($"r{_round}-c{c}")) ? 1 : 0;
        }

        return erased != Erasures ? throw new InvalidOperationException($"erased {erased} of {Erasures}") : erased;
    }

    private void Start(bool secureDelete)
    {
        _path = Path.Combine(Environment.GetEnvironmentVariable("OMNICHANNEL_BENCH_DIR") is { Length: > 0 } dir ? dir : Path.GetTempPath(), $"omnichannel-bench-{Guid.NewGuid():N}.db");
        var services = new ServiceCollection();
        services.AddOmnichannel(o => o.Privacy.HashKey = BenchmarkKeys.HashKey).UseSqliteStore(_path, o => o.SecureDelete = secureDelete);
        _provider = services.BuildServiceProvider();
        _engine = _provider.GetRequiredService<OmnichannelEngine>();
    }
}
