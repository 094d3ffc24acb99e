using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Orleans;
using Omnichannel.Sdk.Storage;
using Orleans.TestingHost;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The cluster path's own cost per event, with the store out of the way (in memory, shared by the silos): the
/// single-process engine (baseline) against the cluster client over 1 and 3 in-process silos, same rounds as
/// <see cref="ClusterIngestBenchmarks"/>. What is left is CPU: the grain call, the JSON on the wire and the engine.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 6, invocationCount: 1)]
[MemoryDiagnoser]
[EventsPerSecondColumn]
public class ClusterOverheadBenchmarks
{
    private const int Events = StoreIngestData.Events;

    private readonly DateTimeOffset _start = StoreIngestData.Start();
    private OmnichannelEngine? _single;
    private InProcessTestCluster? _cluster;
    private IOmnichannelClient _client = null!;
    private CustomerEvent[] _events = [];
    private int _round;

    [GlobalSetup(Target = nameof(SingleProcess_InMemory))]
    public void SetUpSingleProcess()
    {
        _single = new OmnichannelEngine(Options(), new InMemoryOmnichannelStore());
        _client = _single;
    }

    [GlobalSetup(Target = nameof(Cluster1Silo_InMemory))]
    public Task SetUp1() => StartClusterAsync(1);

    [GlobalSetup(Target = nameof(Cluster3Silos_InMemory))]
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
    }

    [IterationSetup]
    public void PrepareEvents() => _events = StoreIngestData.Round(++_round, _start);

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public Task<int> SingleProcess_InMemory() => TrackAsync();

    [Benchmark(OperationsPerInvoke = Events)]
    public Task<int> Cluster1Silo_InMemory() => TrackAsync();

    [Benchmark(OperationsPerInvoke = Events)]
    public Task<int> Cluster3Silos_InMemory() => TrackAsync();

    private async Task<int> TrackAsync()
    {
        var results = await _client.TrackBatchAsync(_events);
        var accepted = results.Count(r => r.Status == TrackStatus.Accepted);
        return accepted == Events ? accepted : throw new InvalidOperationException($"{Events - accepted} events were not accepted.");
    }

    private static OmnichannelOptions Options()
    {
        var o = new OmnichannelOptions();
        o.Privacy.HashKey = BenchmarkKeys.HashKey;
        return o;
    }

    private async Task StartClusterAsync(int silos)
    {
        var store = new InMemoryOmnichannelStore();
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) => host.Services.AddOmnichannel(o => o.Privacy.HashKey = BenchmarkKeys.HashKey).UseStore(_ => store).UseOrleans());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        _client = new OmnichannelClusterClient(_cluster.Client, Options());
    }
}
