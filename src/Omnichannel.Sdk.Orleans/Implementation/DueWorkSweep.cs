using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omnichannel.Sdk.Storage;
using Orleans.Runtime;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// On every silo, on a period: runs the wake-ups and outbox entries due now, whichever silo's customers they belong
/// to. The store keeps both exact (a wake-up commits under the profile's version, an outbox row is claimed with a lease
/// and a fencing token), so a sweep racing the owner's own timer changes nothing twice and sends nothing twice.
/// Each sweep also checks that a silo on the in-memory store shares it with every active silo: silos with a store each
/// silently split the customers between them, and nothing else reports it.
/// </summary>
internal sealed partial class DueWorkSweep(
    OmnichannelEngine engine,
    ClusterDefinitions definitions,
    TimeProvider time,
    OmnichannelClusterOptions options,
    ILogger<DueWorkSweep>? logger = null,
    ILocalSiloDetails? silo = null,
    IClusterMembershipService? membership = null) : IHostedService, IAsyncDisposable
{
    // The silos of this process on each in-memory store instance: a silo absent from its store's set is in another
    // process or on another instance, so it cannot see this silo's customers.
    private static readonly ConditionalWeakTable<InMemoryOmnichannelStore, ConcurrentDictionary<SiloAddress, bool>> SilosOnStore = [];
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly ConcurrentDictionary<SiloAddress, bool> _reported = new();

    // Registered when built, not at start: the host builds every hosted service before starting the first, and the
    // Orleans silo (started before this when registered first) is Active to the other silos from then on. Never
    // removed: a stopping silo stays Active until Orleans has shut it down, after this sweep has stopped, and an
    // address (with its generation) never comes back, so a stale entry hides nothing.
    private readonly bool _registered = Register(engine, silo);
    private ITimer? _timer;
    private int _running;

    private static bool Register(OmnichannelEngine engine, ILocalSiloDetails? silo)
    {
        if (engine.Store is InMemoryOmnichannelStore memory && silo is not null)
        {
            SilosOnStore.GetOrCreateValue(memory)[silo.SiloAddress] = true;
            return true;
        }

        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = time.CreateTimer(_ => _ = RunAsync(), null, options.Sweep, options.Sweep);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <summary>The active silos that do not share this silo's in-memory store (none on any other store).</summary>
    internal IReadOnlyList<SiloAddress> SilosNotSharingTheStore()
    {
        if (!_registered || engine.Store is not InMemoryOmnichannelStore memory || silo is null || membership is null)
        {
            return [];
        }

        var sharing = SilosOnStore.GetOrCreateValue(memory);
        return [.. membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(silo.SiloAddress) && !sharing.ContainsKey(m.SiloAddress))
            .Select(m => m.SiloAddress)];
    }

    public async ValueTask DisposeAsync()
    {
        if (_timer is { } timer)
        {
            _timer = null;
            await timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            return; // the previous sweep is still running
        }

        // One finally for the whole sweep: a throw anywhere, a log sink's included, must not leave _running set,
        // which would end every later sweep on this silo.
        try
        {
            await SweepAsync().ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task SweepAsync()
    {
        try
        {
            foreach (var other in SilosNotSharingTheStore())
            {
                if (_reported.TryAdd(other, true))
                {
                    LogStoreNotShared(_logger, silo!.SiloAddress.ToString(), other.ToString());
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStoreCheckFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }

        try
        {
            await definitions.CatchUpFromClusterAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogCatchUpFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }

        try
        {
            await engine.RunDueAsync().ConfigureAwait(false);
            await engine.RunDispatchAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The silo is stopping.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSweepFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }
    }

    [LoggerMessage(131, LogLevel.Error, "Silo {Silo} keeps customers in an in-memory store that silo {Other} of the same cluster does not share " +
        "(it runs in another process, or on another store instance): each silo applies and answers its own customers, so a profile " +
        "written through one silo is missing or stale when read through the other. Give every silo the same durable store: " +
        "AddOmnichannel(...).UsePostgreSqlStore(...)")]
    private static partial void LogStoreNotShared(ILogger logger, string silo, string other);

    [LoggerMessage(136, LogLevel.Warning, "Checking that every silo shares this silo's in-memory store failed; the sweep goes on")]
    private static partial void LogStoreCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Catching up with the cluster's run-time definition changes failed; the next sweep tries again")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(1, LogLevel.Warning, "The sweep of due wake-ups and messages failed; the next sweep tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
