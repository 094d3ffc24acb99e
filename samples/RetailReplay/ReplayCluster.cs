using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk;
using Orleans;
using Orleans.TestingHost;

namespace RetailReplay;

/// <summary>An in-process Orleans cluster (TestingHost) whose silos each run an engine made by the given factory.</summary>
internal sealed class ReplayCluster : IAsyncDisposable
{
    private readonly InProcessTestCluster _cluster;

    private ReplayCluster(InProcessTestCluster cluster) => _cluster = cluster;

    public IClusterClient Client => _cluster.Client;

    public static async Task<ReplayCluster> StartAsync(int silos, Func<OmnichannelEngine> engine)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) =>
        {
            // Each silo's engine is this replay's (its store, its virtual clock); UseOrleans() adds the cluster's parts.
            // The replay's own engine runs every wake-up at the instants it moves the clock to, so the silos' sweep of
            // due work (on the wall clock) is pushed past any replay's length.
            host.Services.AddSingleton(_ => engine());
            host.Services.AddOmnichannel().UseOrleans(o => o.Sweep = TimeSpan.FromDays(1));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new ReplayCluster(cluster);
    }

    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();
}

/// <summary>
/// The replay's virtual clock without timers: the silos' engines apply events at the replay's instants, and the
/// replay's own engine alone runs time-driven work, at the instants it moves the clock to.
/// </summary>
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
