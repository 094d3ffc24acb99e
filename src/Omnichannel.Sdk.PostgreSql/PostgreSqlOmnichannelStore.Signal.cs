using Npgsql;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

// Audit U67: LISTEN on a connection of its own (the pooled ones carry no session state), for the NOTIFY the outbox trigger
// sends; each notification for this schema tells the subscribed engines to look in the store now.
public sealed partial class PostgreSqlOmnichannelStore : IStoreWorkSignal
{
    private const string WorkChannel = "omnichannel_work";
    private static readonly TimeSpan MaxListenRetryDelay = TimeSpan.FromSeconds(30);
    private readonly Lock _signalLock = new();
    private readonly CancellationTokenSource _listenStop = new();
    private Action[] _onWork = [];
    private Task _listener = Task.CompletedTask;
    private string? _listenConnectionString;

    /// <inheritdoc />
    /// <remarks>
    /// The first subscription opens one extra connection (not from the pool, multiplexing off) that listens on the channel
    /// <c>omnichannel_work</c>; a statement adding outbox rows in this schema notifies it. A dropped connection is opened
    /// again (after 1 s, doubling to 30 s). It signals once each time it starts listening, the first time too, for what was
    /// committed before it could hear it.
    /// </remarks>
    public IDisposable SubscribeToWork(Action onWork)
    {
        ArgumentNullException.ThrowIfNull(onWork);
        lock (_signalLock)
        {
            ObjectDisposedException.ThrowIf(_listenStop.IsCancellationRequested, this);
            _onWork = [.. _onWork, onWork];
            if (_listener.IsCompleted && _listenConnectionString is not null)
            {
                _listener = Task.Run(() => ListenAsync(_listenStop.Token));
            }
        }

        return new Subscription(this, onWork);
    }

    private void Unsubscribe(Action onWork)
    {
        lock (_signalLock)
        {
            _onWork = [.. _onWork.Where(a => a != onWork)];
        }
    }

    private void SignalWork()
    {
        foreach (var onWork in Volatile.Read(ref _onWork))
        {
            onWork();
        }
    }

    private async Task ListenAsync(CancellationToken stop)
    {
        var delay = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_listenConnectionString);
                connection.Notification += (_, e) =>
                {
                    if (string.Equals(e.Payload, Schema, StringComparison.Ordinal))
                    {
                        SignalWork();
                    }
                };
                await connection.OpenAsync(stop).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand("LISTEN " + WorkChannel, connection))
                {
                    await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                }

                // Listening from now on: what was committed before (since the subscription, or while a failure kept the
                // connection down) was not heard, so look once. A look with nothing to find costs two small reads.
                SignalWork();

                delay = TimeSpan.Zero;
                while (true)
                {
                    await connection.WaitAsync(stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException or InvalidOperationException)
            {
                // The timed look goes on meanwhile; real time on purpose (a connection, not business time).
                delay = delay == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : delay * 2 > MaxListenRetryDelay ? MaxListenRetryDelay : delay * 2;
                try
                {
                    await Task.Delay(delay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task StopListeningAsync()
    {
        Task listener;
        lock (_signalLock)
        {
            if (_listenStop.IsCancellationRequested)
            {
                return; // disposed already
            }

            _listenStop.Cancel();
            listener = _listener;
            _onWork = [];
        }

        await listener.ConfigureAwait(false);
    }

    // A process leaving (a scale-down, a deploy) may have committed wake-ups due before the other processes' next timed
    // look: a wait of seconds begun just before the stop ran up to a StorePollInterval late. The others look at once.
    // Best effort, bounded in real time (a connection, not business time): their timed look stays the backstop.
    private async Task SignalLeavingAsync()
    {
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var command = _dataSource.CreateCommand("SELECT pg_notify('" + WorkChannel + "', $1)");
            command.Parameters.Add(new NpgsqlParameter { Value = Schema });
            await command.ExecuteNonQueryAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException or IOException or InvalidOperationException)
        {
            // The database is gone or going too: nothing to tell.
        }
    }

    private sealed class Subscription(PostgreSqlOmnichannelStore store, Action onWork) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Unsubscribe(onWork);
            }
        }
    }
}
