using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// On every silo, on a period: runs the wake-ups and outbox entries due now, whichever silo's customers they belong
/// to. The store keeps both exact (a wake-up commits under the profile's version, an outbox row is claimed with a lease
/// and a fencing token), so a sweep racing the owner's own timer changes nothing twice and sends nothing twice.
/// </summary>
internal sealed partial class DueWorkSweep(OmnichannelEngine engine, ClusterDefinitions definitions, TimeProvider time, OmnichannelClusterOptions options, ILogger<DueWorkSweep>? logger = null) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private ITimer? _timer;
    private int _running;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = time.CreateTimer(_ => _ = RunAsync(), null, options.Sweep, options.Sweep);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

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
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    [LoggerMessage(2, LogLevel.Warning, "Catching up with the cluster's run-time definition changes failed; the next sweep tries again")]
    private static partial void LogCatchUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(1, LogLevel.Warning, "The sweep of due wake-ups and messages failed; the next sweep tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
