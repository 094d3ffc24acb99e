using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite;

// The writer loop: one connection, batches of queued writes in one transaction each (a savepoint per write that needs one), WAL checkpoints after erasures.
public sealed partial class SqliteOmnichannelStore
{
    /// <param name="apply">The write, run on the writer connection inside the batch's transaction.</param>
    /// <param name="keep">Whether its result is kept (false: its savepoint is rolled back).</param>
    /// <param name="cancellationToken">Cancels the write while it waits for the writer.</param>
    /// <param name="writesOnlyWhenKept">
    /// The write checks everything before it writes anything, so a result it does not keep has written nothing: it runs
    /// without a savepoint of its own (two statements fewer). Only a failure part-way through then needs one, and gets
    /// it: the batch is rolled back and applied again with a savepoint per operation.
    /// </param>
    private ValueTask<T> EnqueueAsync<T>(Func<SqliteStatements, T> apply, Func<T, bool> keep, CancellationToken cancellationToken, bool writesOnlyWhenKept = false)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation<T>(apply, keep, cancellationToken) { WritesOnlyWhenKept = writesOnlyWhenKept };
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(SqliteOmnichannelStore));
        }

        return new ValueTask<T>(operation.Completion.Task);
    }

    /// <summary>
    /// Test hook: runs <paramref name="sql"/> on the writer connection, in turn with the queued writes (inside a batch's
    /// transaction), and returns its first value; e.g. <c>PRAGMA max_page_count</c> to make the file "full".
    /// </summary>
    internal ValueTask<object?> ScalarOnWriterAsync(string sql) => EnqueueAsync(
        w =>
        {
            _batchForgetsWakes = true; // any SQL: it may change wake-ups
            return w.Scalar(sql);
        },
        static _ => true,
        CancellationToken.None);

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<WriteOperation>(_maxBatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatchSize && reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            if (_maxBatchDelay > TimeSpan.Zero && batch.Count < _maxBatchSize)
            {
                await GatherMoreAsync(reader, batch).ConfigureAwait(false);
            }

            ApplyBatch(batch);
        }
    }

    /// <summary>Waits up to <see cref="SqliteStoreOptions.MaxBatchDelay"/> for the batch to fill.</summary>
    private async Task GatherMoreAsync(ChannelReader<WriteOperation> reader, List<WriteOperation> batch)
    {
        using var stop = new CancellationTokenSource();
        var deadline = Task.Delay(_maxBatchDelay, _time, stop.Token);
        BatchDelayStarted?.Invoke();
        try
        {
            while (batch.Count < _maxBatchSize)
            {
                var more = reader.WaitToReadAsync(stop.Token).AsTask();
                if (await Task.WhenAny(more, deadline).ConfigureAwait(false) == deadline || !await more.ConfigureAwait(false))
                {
                    return;
                }

                while (batch.Count < _maxBatchSize && reader.TryRead(out var op))
                {
                    batch.Add(op);
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One transaction for the whole batch, one savepoint per operation. Callers hear their outcome only after COMMIT
    /// returned; if the transaction fails, every caller gets the exception and nothing of the batch was written.
    /// </summary>
    private void ApplyBatch(List<WriteOperation> batch)
    {
        var live = batch.Where(op => !op.CancelIfRequested()).ToList();
        if (live.Count == 0)
        {
            return;
        }

        // The writer connection is the batch's alone until it is done (a reader may use it for a pragma when idle); the
        // callers hear of their outcome after, so that one answered already finds the wake-up list up to date.
        Exception? failure;
        lock (_writerGate)
        {
            failure = ApplyBatchOnWriter(live);
        }

        if (failure is not null)
        {
            foreach (var op in live)
            {
                op.Fail(failure);
            }

            return;
        }

        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _operations, live.Count);
        foreach (var op in live)
        {
            op.Complete();
        }
    }

    /// <returns>Null once committed, or the error every operation of the batch fails with.</returns>
    private Exception? ApplyBatchOnWriter(List<WriteOperation> live)
    {
        if (FileLost() is { } lost)
        {
            // Writing on would go to an unlinked file and vanish at close: every write fails, loudly, from now on.
            return new SqliteStoreException($"The SQLite database '{FilePath}' {lost} while the store was open; nothing more is written. Restart on the right file.", FilePath);
        }

        try
        {
            if (!TryApplyAll(live, savepoints: false))
            {
                // An operation failed part-way through without a savepoint: undo the batch, and apply it again with one
                // savepoint per operation, so that only the failed one is rolled back.
                _writer.Execute("ROLLBACK");
                TryApplyAll(live, savepoints: true);
            }

            _writer.Execute("COMMIT");
        }
        catch (Exception ex)
        {
            SqliteSchema.TryRollback(_writer.Connection);
            ForgetWakes();
            return ex;
        }

        ApplyBatchWakes();
        if (_checkpointAfterBatch || _checkpointPending)
        {
            var wait = _checkpointAfterBatch;
            _checkpointAfterBatch = false;
            try
            {
                // A WAL a reader kept from being emptied holds the erased rows' old pages: tried again after each batch,
                // without waiting for readers, until it is emptied.
                _checkpointPending = !Checkpoint(wait);
            }
            catch (SqliteException)
            {
                // The batch is committed and must be answered; a checkpoint that failed (disk full, an I/O error) would
                // otherwise end the writer loop and leave every later write waiting. It is tried again after the next batch.
                _checkpointAfterBatch = true;
            }
        }

        return null;
    }

    /// <summary>
    /// Applies the batch inside one transaction (left open). Without <paramref name="savepoints"/>, operations that write
    /// only what they keep run bare, and the first of them to fail part-way stops the pass: false, to be rolled back.
    /// </summary>
    private bool TryApplyAll(List<WriteOperation> live, bool savepoints)
    {
        _writer.Execute("BEGIN IMMEDIATE");
        ResetBatchWakes();
        foreach (var op in live)
        {
            op.Reset();
            if (!savepoints && op.WritesOnlyWhenKept)
            {
                if (!op.TryApply(_writer) && op.FailedPartWay)
                {
                    return false;
                }

                continue;
            }

            _writer.Execute("SAVEPOINT op");
            if (!op.TryApply(_writer))
            {
                _writer.Execute("ROLLBACK TO op");
            }

            _writer.Execute("RELEASE op");
        }

        return true;
    }

    /// <summary>
    /// After an erasure: copies the WAL into the database and truncates it, so the erased rows' old pages are in no file.
    /// A reader in the middle of a read can keep a frame from being copied; it is tried again a few times, and a WAL that
    /// could not be emptied now is tried again after each later batch, without waiting (SQLite's automatic checkpoint
    /// copies the WAL but never truncates it, so her old pages would stay in the file until overwritten).
    /// Each try waits for readers at most <see cref="CheckpointWaitMs"/>, not the busy timeout: the writer holds every
    /// queued commit meanwhile, and a reader that keeps a snapshot (Litestream, a backup, a report) would otherwise stall
    /// them for five busy timeouts per erasure.
    /// </summary>
    /// <returns>Whether the WAL was emptied.</returns>
    private bool Checkpoint(bool wait)
    {
        _writer.Execute("PRAGMA busy_timeout = " + (wait ? Math.Min(_busyTimeoutMs, CheckpointWaitMs) : 0).ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            for (var attempt = 0; attempt < (wait ? 5 : 1); attempt++)
            {
                using var rows = _writer.Command("PRAGMA wal_checkpoint(TRUNCATE)").ExecuteReader();
                if (rows.Read() && rows.GetInt64(0) == 0)
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            _writer.Execute("PRAGMA busy_timeout = " + _busyTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>How long each try of an erasure's checkpoint waits for readers: the store's own reads take milliseconds.</summary>
    private const int CheckpointWaitMs = 100;

    /// <summary>A write waiting for the writer loop.</summary>
    private abstract class WriteOperation
    {
        /// <summary>See <see cref="EnqueueAsync{T}"/>: a refusal has written nothing, so no savepoint is needed.</summary>
        public bool WritesOnlyWhenKept { get; init; }

        /// <summary>The last <see cref="TryApply"/> failed with an error of its own (after possibly writing part of it).</summary>
        public abstract bool FailedPartWay { get; }

        /// <summary>Forgets the outcome of an earlier pass (its transaction was rolled back).</summary>
        public abstract void Reset();

        /// <summary>Completes as cancelled (and returns true) when the caller gave up before the writer reached it.</summary>
        public abstract bool CancelIfRequested();

        /// <summary>Runs inside the batch's transaction; false means "roll my savepoint back" (refused, or failed alone).</summary>
        public abstract bool TryApply(SqliteStatements writer);

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(Func<SqliteStatements, T> apply, Func<T, bool> keep, CancellationToken cancellationToken) : WriteOperation
    {
        private T? _result;
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CancelIfRequested() => cancellationToken.IsCancellationRequested && Completion.TrySetCanceled(cancellationToken);

        public override bool FailedPartWay => _error is not null;

        public override void Reset()
        {
            _result = default;
            _error = null;
        }

        public override bool TryApply(SqliteStatements writer)
        {
            try
            {
                _result = apply(writer);
                return keep(_result);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is 19 or 20 or 25)
            {
                // A constraint, type or range error belongs to this operation alone: its savepoint goes, the batch stays.
                // Anything else (I/O, disk full, busy) may have ended the transaction and fails the whole batch.
                _error = ex;
                return false;
            }
        }

        public override void Complete()
        {
            if (_error is not null)
            {
                Completion.TrySetException(_error);
            }
            else
            {
                Completion.TrySetResult(_result!);
            }
        }

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
