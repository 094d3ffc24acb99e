using System.Threading.Channels;
using Npgsql;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

// The pipeline: the engine's partitions call the store at the same time, and what they ask for at the same time shares
// a round trip. Commits queue for one committer that sends whatever has gathered as one batch in one transaction (group
// commit: one round trip and one WAL flush for the group, each commit in its own subtransaction). The hot reads (the
// processed-event check, the identifier lookup, profile loads) queue for one reader that sends them as one batch.
// A lone call pays one hop to the loop and nothing else; under load the batches grow by themselves.
public sealed partial class PostgreSqlOmnichannelStore
{
    // Subtransactions per group stay under PostgreSQL's per-backend cache of 64 subtransaction ids.
    private const int MaxGroup = 32;
    private const int MaxReads = 64;

    private readonly Channel<PendingCommit> _commits = Channel.CreateUnbounded<PendingCommit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<PendingRead> _reads = Channel.CreateUnbounded<PendingRead>(new UnboundedChannelOptions { SingleReader = true });
    private Task _committer = Task.CompletedTask;
    private Task _reader = Task.CompletedTask;
    private long _transactions;
    private long _operations;

    /// <summary>Commit transactions sent so far (a group counts once).</summary>
    internal long TransactionCount => Interlocked.Read(ref _transactions);

    /// <summary>Commits sent so far, whatever their outcome (a group's commits each count).</summary>
    internal long OperationCount => Interlocked.Read(ref _operations);

    private void StartPipeline()
    {
        _committer = Task.Run(RunCommitsAsync);
        _reader = Task.Run(RunReadsAsync);
    }

    private async Task StopPipelineAsync()
    {
        _commits.Writer.TryComplete();
        _reads.Writer.TryComplete();
        await Task.WhenAll(_committer, _reader).ConfigureAwait(false);
    }

    /// <summary>
    /// The committer. One group at a time: its commits lock rows (profiles, identifiers, measurement shards) until the
    /// group's transaction ends, so two groups of one process in flight could deadlock on each other; one cannot.
    /// A commit's result is set only after the transaction is durable (the server has answered the batch's Sync).
    /// </summary>
    private async Task RunCommitsAsync()
    {
        var reader = _commits.Reader;
        var group = new List<PendingCommit>(MaxGroup);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Done.TrySetCanceled(pending.CancellationToken);
                    continue;
                }

                group.Add(pending);
            }

            if (group.Count > 0)
            {
                Interlocked.Increment(ref _transactions);
                Interlocked.Add(ref _operations, group.Count);
            }

            if (group.Count == 1)
            {
                await CommitAloneAsync(group[0]).ConfigureAwait(false);
            }
            else if (group.Count > 1)
            {
                await CommitGroupAsync(InLockOrder(group)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The group in measurement-shard order (stable: commits of one shard keep their queue order). A group holds the row
    /// locks of every commit until it ends, so two groups of different processes (or of two stores in one process, as
    /// in-process silos have) that took a day's counter rows in opposite orders would deadlock, and PostgreSQL would
    /// break it only after deadlock_timeout. Counter rows are per shard, so groups that all go in shard order take them
    /// in one order. (Two commits of one shard with different counter keys can still cross; the deadlock is then
    /// caught — inside a commit's subtransaction it is a conflict, outside it the group goes again commit by commit.)
    /// </summary>
    private static List<PendingCommit> InLockOrder(List<PendingCommit> group)
    {
        var shards = new (short Shard, int Index)[group.Count];
        for (var i = 0; i < group.Count; i++)
        {
            shards[i] = (MeasurementShard(group[i].Commit.ProfileId), i);
        }

        Array.Sort(shards);
        var ordered = new List<PendingCommit>(group.Count);
        foreach (var (_, index) in shards)
        {
            ordered.Add(group[index]);
        }

        return ordered;
    }

    private async Task CommitAloneAsync(PendingCommit pending)
    {
        try
        {
            pending.Done.TrySetResult(await CommitAloneAsync(pending.Commit, pending.CancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (pending.CancellationToken.IsCancellationRequested)
        {
            pending.Done.TrySetCanceled(pending.CancellationToken);
        }
        catch (Exception ex)
        {
            pending.Done.TrySetException(ex);
        }
    }

    /// <summary>
    /// Several commits as one batch with one Sync: PostgreSQL runs it as one implicit transaction, so either every
    /// accepted commit of the group is written and durable, or none is. Each commit runs in its own subtransaction
    /// (<c>omnichannel_try_commit</c>), so one whose expectation fails is undone alone and reports its status.
    /// </summary>
    private async Task CommitGroupAsync(List<PendingCommit> group)
    {
        var versions = new long[group.Count];
        try
        {
            await using var batch = _dataSource.CreateBatch();
            foreach (var pending in group)
            {
                var command = new NpgsqlBatchCommand();
                command.CommandText = CommitStatement(pending.Commit, command.Parameters, grouped: true);
                batch.BatchCommands.Add(command);
            }

            // Disposing the reader reads up to the server's answer to Sync, after the transaction committed (or failed).
            await using (var rows = await batch.ExecuteReaderAsync().ConfigureAwait(false))
            {
                for (var i = 0; i < group.Count; i++)
                {
                    if ((i > 0 && !await rows.NextResultAsync().ConfigureAwait(false)) || !await rows.ReadAsync().ConfigureAwait(false))
                    {
                        throw new InvalidOperationException($"The group commit returned no version for commit {i + 1} of {group.Count}.");
                    }

                    versions[i] = rows.GetInt64(0);
                }
            }
        }
        catch (PostgresException)
        {
            // The server refused the group (a deadlock with another process, an error outside a commit's subtransaction):
            // the implicit transaction rolled back, nothing of it was written. Each commit goes again, alone, and gets
            // its own answer.
            foreach (var pending in group)
            {
                await CommitAloneAsync(pending).ConfigureAwait(false);
            }

            return;
        }
        catch (Exception ex)
        {
            // The connection failed: as for a commit alone, the caller learns that the store failed.
            foreach (var pending in group)
            {
                pending.Done.TrySetException(ex);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Done.TrySetResult(versions[i] switch
            {
                > 0 => new CommitResult(CommitStatus.Committed, versions[i]),
                0 => new CommitResult(CommitStatus.DuplicateEvent, 0),
                -2 => new CommitResult(CommitStatus.MessageKeyTaken, 0),
                _ => new CommitResult(CommitStatus.Conflict, 0),
            });
        }
    }

    /// <summary>Queues a read for the reader loop; the answer comes when its batch has been read.</summary>
    private Task<T> ReadAsync<T>(string sql, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingRead<T>(sql, parameters, read, cancellationToken);
        if (!_reads.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(PostgreSqlOmnichannelStore));
        }

        return cancellationToken.CanBeCanceled ? pending.Done.Task.WaitAsync(cancellationToken) : pending.Done.Task;
    }

    /// <summary>The reader: whatever reads have gathered go as one batch (one round trip); each reads its own result set.</summary>
    private async Task RunReadsAsync()
    {
        var reader = _reads.Reader;
        var batchOf = new List<PendingRead>(MaxReads);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batchOf.Clear();
            while (batchOf.Count < MaxReads && reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Cancel();
                    continue;
                }

                batchOf.Add(pending);
            }

            if (batchOf.Count == 0)
            {
                continue;
            }

            try
            {
                await ReadBatchAsync(batchOf).ConfigureAwait(false);
                foreach (var pending in batchOf)
                {
                    pending.Publish();
                }
            }
            catch (Exception) when (batchOf.Count > 1)
            {
                // One read's failure must not fail the others: each goes again alone and gets its own answer.
                foreach (var pending in batchOf)
                {
                    try
                    {
                        await ReadBatchAsync([pending]).ConfigureAwait(false);
                        pending.Publish();
                    }
                    catch (Exception alone)
                    {
                        pending.Fail(alone);
                    }
                }
            }
            catch (Exception ex)
            {
                batchOf[0].Fail(ex);
            }
        }
    }

    private async Task ReadBatchAsync(List<PendingRead> reads)
    {
        await using var batch = _dataSource.CreateBatch();
        foreach (var pending in reads)
        {
            batch.BatchCommands.Add(pending.Command());
        }

        await using var rows = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        for (var i = 0; i < reads.Count; i++)
        {
            if (i > 0 && !await rows.NextResultAsync().ConfigureAwait(false))
            {
                throw new InvalidOperationException($"The read batch returned no result set for read {i + 1} of {reads.Count}.");
            }

            await reads[i].ReadAsync(rows).ConfigureAwait(false);
        }
    }

    private sealed class PendingCommit(ProfileCommit commit, CancellationToken cancellationToken)
    {
        public ProfileCommit Commit => commit;

        public CancellationToken CancellationToken => cancellationToken;

        // Continuations run on the thread pool, never on the committer: it moves on to the next group at once.
        public TaskCompletionSource<CommitResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private abstract class PendingRead(CancellationToken cancellationToken)
    {
        public CancellationToken CancellationToken => cancellationToken;

        /// <summary>A fresh command (parameters belong to one command at a time, and a read may be sent twice).</summary>
        public abstract NpgsqlBatchCommand Command();

        /// <summary>Reads this read's result set (the reader is on it) and keeps the answer.</summary>
        public abstract Task ReadAsync(NpgsqlDataReader rows);

        public abstract void Publish();

        public abstract void Fail(Exception ex);

        public abstract void Cancel();
    }

    private sealed class PendingRead<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, Task<T>> read, CancellationToken cancellationToken)
        : PendingRead(cancellationToken)
    {
        private T _answer = default!;

        public TaskCompletionSource<T> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override NpgsqlBatchCommand Command()
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var p in parameters)
            {
                command.Parameters.Add(p.Clone());
            }

            return command;
        }

        public override async Task ReadAsync(NpgsqlDataReader rows) => _answer = await read(rows).ConfigureAwait(false);

        public override void Publish() => Done.TrySetResult(_answer);

        public override void Fail(Exception ex) => Done.TrySetException(ex);

        public override void Cancel() => Done.TrySetCanceled(CancellationToken);
    }
}
