using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite;

// Several processes on one file: SQLite has no NOTIFY, so the store looks at PRAGMA data_version on its idle writer
// connection every WorkSignalInterval. The value changes only when another connection (another process, or another
// store on the file) has committed since the last read, so this process's own commits never signal; a change tells the
// subscribed engines to look in the store now, as PostgreSQL's NOTIFY does. Without it a wake-up or a message another
// process committed (a worker of another channel, a process that then stopped) waited for the engine's timed look, up to
// StorePollInterval (a minute by default).
public sealed partial class SqliteOmnichannelStore : IStoreWorkSignal
{
    private readonly Lock _signalLock = new();
    private Action[] _onWork = [];
    private ITimer? _signalTimer;
    private long _signalVersion;
    private bool _signalVersionKnown;

    /// <inheritdoc />
    /// <remarks>
    /// The first subscription starts a timer on the store's <see cref="SqliteStoreOptions.TimeProvider"/>: every
    /// <see cref="SqliteStoreOptions.WorkSignalInterval"/> (1 s by default) it reads <c>PRAGMA data_version</c> on the
    /// writer connection when the writer is idle (it never waits for it), and calls <paramref name="onWork"/> when another
    /// connection has committed since the last read. With <see cref="SqliteStoreOptions.WorkSignalInterval"/> null it
    /// never calls.
    /// </remarks>
    public IDisposable SubscribeToWork(Action onWork)
    {
        ArgumentNullException.ThrowIfNull(onWork);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_signalLock)
        {
            _onWork = [.. _onWork, onWork];
            if (_signalTimer is null && _workSignalInterval is { } every)
            {
                // One-shot, armed again after each look: a fake clock moved on by days fires it once, not once per interval.
                _signalTimer = _time.CreateTimer(static state => ((SqliteOmnichannelStore)state!).PollWorkSignal(), this, every, Timeout.InfiniteTimeSpan);
            }
        }

        return new WorkSubscription(this, onWork);
    }

    private void PollWorkSignal()
    {
        var changed = false;
        if (Volatile.Read(ref _disposed) == 0 && _writerGate.TryEnter())
        {
            try
            {
                if (TryReadDataVersion(out var version))
                {
                    changed = _signalVersionKnown && version != _signalVersion;
                    _signalVersion = version;
                    _signalVersionKnown = true;
                }
            }
            finally
            {
                _writerGate.Exit();
            }
        }

        if (changed)
        {
            foreach (var onWork in Volatile.Read(ref _onWork))
            {
                try
                {
                    onWork();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A subscriber's fault is its own; the others and the next look still run.
                }
            }
        }

        lock (_signalLock)
        {
            if (Volatile.Read(ref _disposed) == 0 && _workSignalInterval is { } every)
            {
                _signalTimer?.Change(every, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void StopWorkSignal()
    {
        lock (_signalLock)
        {
            _signalTimer?.Dispose();
            _signalTimer = null;
            _onWork = [];
        }
    }

    private sealed class WorkSubscription(SqliteOmnichannelStore store, Action onWork) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            lock (store._signalLock)
            {
                store._onWork = [.. store._onWork.Where(a => a != onWork)];
            }
        }
    }
}
