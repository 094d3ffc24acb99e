using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.TestingHost;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>An in-process Orleans cluster (TestingHost) whose silos each run an Omnichannel engine on one shared store.</summary>
internal sealed class InProcessCluster : IAsyncDisposable
{
    private readonly InProcessTestCluster _cluster;

    private InProcessCluster(InProcessTestCluster cluster) => _cluster = cluster;

    /// <summary>The cluster's client (outside every silo).</summary>
    public IClusterClient Client => _cluster.Client;

    /// <summary>The services of each running silo.</summary>
    public IReadOnlyList<IServiceProvider> SiloServices => [.. _cluster.Silos.Select(s => _cluster.GetSiloServiceProvider(s.SiloAddress))];

    /// <summary>The engine of each running silo.</summary>
    public IReadOnlyList<OmnichannelEngine> Engines => [.. SiloServices.Select(s => s.GetRequiredService<OmnichannelEngine>())];

    /// <summary>Silos built from the application's registration (<c>AddOmnichannel(...).UseOrleans()</c>).</summary>
    public static Task<InProcessCluster> StartAsync(int silos, Action<IServiceCollection> register) =>
        StartAsync(silos, (_, host) => register(host.Services));

    /// <summary>
    /// As <see cref="StartAsync(int, Action{IServiceCollection})"/>, with the client's and silos' response timeout set: a call in
    /// flight to a killed silo is answered only when it runs out.
    /// </summary>
    public static Task<InProcessCluster> StartAsync(int silos, Action<IServiceCollection> register, TimeSpan responseTimeout) =>
        StartAsync(silos, (_, host) => register(host.Services), responseTimeout: responseTimeout);

    /// <summary>Silos whose engine is made by <paramref name="engine"/> (one per silo).</summary>
    public static Task<InProcessCluster> StartAsync(int silos, Func<OmnichannelEngine> engine) =>
        StartAsync(silos, (_, host) =>
        {
            host.Services.AddSingleton(_ => engine());
            OrleansOmnichannelBuilderExtensions.AddSiloServices(host.Services);
        });

    /// <summary>
    /// Silos whose registration comes after Orleans' own (as <c>builder.UseOrleans(...)</c> then <c>AddOmnichannel(...)</c>
    /// in a host): their hosted services start after the silo has joined and stop before it leaves.
    /// </summary>
    public static Task<InProcessCluster> StartAfterOrleansAsync(int silos, Action<IServiceCollection> register) =>
        StartAsync(silos, (_, _) => { }, register);

    private static async Task<InProcessCluster> StartAsync(int silos, Action<InProcessTestSiloSpecificOptions, IHostApplicationBuilder> configure, Action<IServiceCollection>? afterOrleans = null, TimeSpan? responseTimeout = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost(configure);
        if (afterOrleans is not null)
        {
            builder.ConfigureSilo((_, silo) => afterOrleans(silo.Services));
        }

        // A definition change waits for every silo (up to 5 s each, twice); on a loaded two-core machine three silos in
        // one process can take longer than Orleans' default 30 s to answer. A call that hangs still fails, later.
        // A silo that joins later catches up with the cluster's definitions for up to two thirds of its own response
        // timeout, which the same load can stretch past 10 s: the silos wait as long as the client.
        builder.ConfigureClient(c => c.Configure<global::Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromMinutes(2)));
        builder.ConfigureSilo((_, silo) => silo.Configure<global::Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromMinutes(2)));
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
            return new InProcessCluster(cluster);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// How long a test waits for a joining silo's definitions to be ready (<c>ClusterDefinitions.WhenReady</c>): its start
    /// catch-up may take two thirds of the silos' response timeout (80 s with this cluster's 2 minutes) before it is given
    /// up and WhenReady set, so a wait of one minute could end before a correct, loaded silo was done. Above that bound.
    /// </summary>
    public static readonly TimeSpan JoinPatience = TimeSpan.FromMinutes(2);

    /// <summary>The address of each running silo, in the order of <see cref="SiloServices"/>.</summary>
    public IReadOnlyList<global::Orleans.Runtime.SiloAddress> SiloAddresses => [.. _cluster.Silos.Select(s => s.SiloAddress)];

    /// <summary>Starts one more silo, registered as the others were; returns its services.</summary>
    public async Task<IServiceProvider> StartSiloAsync()
    {
        var silo = await _cluster.StartAdditionalSiloAsync();
        return _cluster.GetSiloServiceProvider(silo.SiloAddress);
    }

    /// <summary>Kills one silo (no graceful shutdown).</summary>
    public async Task KillSiloAsync(global::Orleans.Runtime.SiloAddress address) =>
        await _cluster.KillSiloAsync(_cluster.Silos.Single(s => s.SiloAddress.Equals(address)));

    /// <summary>Stops one silo gracefully (its grains deactivate, then its engine stops).</summary>
    public async Task StopSiloAsync(global::Orleans.Runtime.SiloAddress address) =>
        await _cluster.StopSiloAsync(_cluster.Silos.Single(s => s.SiloAddress.Equals(address)));

    /// <summary>Kills every silo but the first <paramref name="keep"/> (no graceful shutdown).</summary>
    public async Task KillSilosAsync(int keep)
    {
        foreach (var silo in _cluster.Silos.Skip(keep).ToList())
        {
            await _cluster.KillSiloAsync(silo);
        }
    }

    /// <summary>Stops the cluster's client (its host disposed), as an application shutting down does.</summary>
    public Task StopClientAsync() => _cluster.StopClusterClientAsync();

    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();
}

/// <summary>A clock whose timers never fire: engines on it run only what they are given (events), never time-driven work.</summary>
internal sealed class ClockWithoutTimers(TimeProvider clock) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => clock.GetUtcNow();

    public override long GetTimestamp() => clock.GetTimestamp();

    public override long TimestampFrequency => clock.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => clock.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Never();

    private sealed class Never : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
