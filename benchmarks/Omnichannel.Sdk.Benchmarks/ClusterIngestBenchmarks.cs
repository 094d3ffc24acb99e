using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Orleans;
using Omnichannel.Sdk.TestServers;
using Orleans.TestingHost;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Events/s through the Orleans cluster client (<see cref="OmnichannelClusterClient"/>) for 1, 2 and 3 in-process silos
/// (TestingHost), against the single-process engine (the baseline), all on the same store: a throw-away PostgreSQL
/// cluster with fsync on, started per case, one database. The same rounds as <see cref="PostgreSqlIngestBenchmarks"/>
/// (200 new customers identify themselves and place 1,800 orders, interleaved), sent with <c>TrackBatchAsync</c>.
/// The silos share this process and the machine's cores, so this measures the cluster's overhead per event (grain
/// calls, the JSON on the wire, one engine per silo), not the gain of more machines: see the README for what two
/// cores can and cannot show and for a paper estimate of a 10-node cluster.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 4, invocationCount: 1)]
[MemoryDiagnoser]
[EventsPerSecondColumn]
public class ClusterIngestBenchmarks
{
    private const int Events = StoreIngestData.Events;

    private readonly DateTimeOffset _start = StoreIngestData.Start();
    private PostgreSqlCluster? _database;
    private ServiceProvider? _single;
    private InProcessTestCluster? _cluster;
    private IOmnichannelClient _client = null!;
    private CustomerEvent[] _events = [];
    private int _round;

    [GlobalSetup(Target = nameof(SingleProcess_TrackBatch))]
    public async Task SetUpSingleProcess()
    {
        var connectionString = await StartDatabaseAsync();
        var services = new ServiceCollection();
        services.AddOmnichannel(o => o.Privacy.HashKey = BenchmarkKeys.HashKey).UsePostgreSqlStore(connectionString);
        _single = services.BuildServiceProvider();
        _client = _single.GetRequiredService<IOmnichannelClient>();
    }

    [GlobalSetup(Target = nameof(Cluster1Silo_TrackBatch))]
    public Task SetUp1() => StartClusterAsync(1);

    [GlobalSetup(Target = nameof(Cluster2Silos_TrackBatch))]
    public Task SetUp2() => StartClusterAsync(2);

    [GlobalSetup(Target = nameof(Cluster3Silos_TrackBatch))]
    public Task SetUp3() => StartClusterAsync(3);

    [GlobalCleanup]
    public async Task CleanUp()
    {
        if (_single is not null)
        {
            await _single.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [IterationSetup]
    public void PrepareEvents() => _events = StoreIngestData.Round(++_round, _start);

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public Task<int> SingleProcess_TrackBatch() => TrackAsync();

    [Benchmark(OperationsPerInvoke = Events)]
    public Task<int> Cluster1Silo_TrackBatch() => TrackAsync();

    [Benchmark(OperationsPerInvoke = Events)]
    public Task<int> Cluster2Silos_TrackBatch() => TrackAsync();

    [Benchmark(OperationsPerInvoke = Events)]
    public Task<int> Cluster3Silos_TrackBatch() => TrackAsync();

    private async Task<int> TrackAsync()
    {
        var results = await _client.TrackBatchAsync(_events);
        var accepted = results.Count(r => r.Status == TrackStatus.Accepted);
        return accepted == Events ? accepted : throw new InvalidOperationException($"{Events - accepted} events were not accepted: {results.First(r => r.Status != TrackStatus.Accepted).FailureReason}");
    }

    private async Task<string> StartDatabaseAsync()
    {
        _database = await PostgreSqlCluster.StartAsync(durable: true);
        return await _database.DatabaseAsync("cluster");
    }

    private async Task StartClusterAsync(int silos)
    {
        var connectionString = await StartDatabaseAsync();
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) => host.Services
            .AddOmnichannel(o => o.Privacy.HashKey = BenchmarkKeys.HashKey)
            .UsePostgreSqlStore(connectionString)
            .UseOrleans());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = BenchmarkKeys.HashKey;
        _client = new OmnichannelClusterClient(_cluster.Client, options);
    }
}
