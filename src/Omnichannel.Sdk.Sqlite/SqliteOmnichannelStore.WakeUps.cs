using Omnichannel.Sdk.Storage;
using SQLitePCL;

namespace Omnichannel.Sdk.Sqlite;

// The earliest wake-ups, kept in memory: a virtual clock asks for the next one before every event, and most of the time
// nothing can have changed it. The store's own writes keep the list right as they commit; another connection's commit
// (another store, another process) is seen through PRAGMA data_version on the writer connection, which changes only when
// a connection other than this one commits; then the list is read again.
public sealed partial class SqliteOmnichannelStore
{
    private const string DueSql =
        "SELECT id, wake_at FROM (SELECT id, wake_at FROM profiles WHERE wake_at IS NOT NULL AND wake_at <= $p0 ORDER BY wake_at, id LIMIT $p1) " +
        "UNION ALL SELECT id, wake_at FROM (SELECT id, wake_at FROM profiles WHERE wake_at IS NOT NULL AND wake_at > $p0 ORDER BY wake_at, id LIMIT 1) " +
        "ORDER BY 2, 1"; // a compound's rows come in no promised order: sorting at most limit + 1 rows

    private static readonly IReadOnlyList<ProfileWakeUp> NoWakeUps = [];

    /// <summary>How many of the earliest wake-ups are kept: enough for the next few, small enough to update in passing.</summary>
    private const int MaxKeptWakes = 64;

    // Held by the writer for a whole batch; a reader takes it only when free (never waits), to use the idle writer
    // connection for PRAGMA data_version and to read or fill the list. Guards every field below.
    private readonly Lock _writerGate = new();
    private sqlite3_stmt? _dataVersion;
    private bool _writerClosed;

    // Every wake-up up to _wakeBound (inclusive, by time then id), earliest first; null: not known. A null bound: every
    // wake-up there is.
    private List<ProfileWakeUp>? _wakes;
    private ProfileWakeUp? _wakeBound;
    private long _wakesDataVersion;
    private long _wakeGeneration; // moves on with every change of the list by a write: a read started before fills nothing

    // The writer's batch: each profile whose wake-up a kept operation set or removed, applied to the list after COMMIT.
    private readonly List<(string ProfileId, DateTimeOffset? WakeAt)> _batchWakes = [];
    private bool _batchForgetsWakes;

    /// <summary>Test hook: how many times <see cref="GetDueProfilesAsync"/> read the database (not the kept list).</summary>
    internal long DueQueryCount => Interlocked.Read(ref _dueQueries);

    private long _dueQueries;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var watched = false;
        long version = 0, generation = 0;
        if (_writerGate.TryEnter())
        {
            try
            {
                if (TryReadDataVersion(out version))
                {
                    watched = true;
                    if (version != _wakesDataVersion)
                    {
                        _wakes = null; // another connection committed: its wake-ups are not in the list
                    }
                    else if (_wakes is not null && AnswerFromList(dueBy.UtcTicks, limit) is { } answer)
                    {
                        return ValueTask.FromResult(answer);
                    }

                    generation = _wakeGeneration;
                }
            }
            finally
            {
                _writerGate.Exit();
            }
        }

        Interlocked.Increment(ref _dueQueries);
        var due = new List<ProfileWakeUp>();
        ProfileWakeUp? next = null;
        var reader = RentPointReader();
        try
        {
            // The due rows, and the first one after dueBy: with it the list is complete up to a known bound.
            using var rows = reader.Command(DueSql, dueBy.UtcTicks, (long)limit).ExecuteReader();
            while (rows.Read())
            {
                var row = new ProfileWakeUp(rows.GetString(0), new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero));
                if (row.WakeAt <= dueBy)
                {
                    due.Add(row);
                }
                else
                {
                    next = row;
                }
            }
        }
        finally
        {
            ReturnPointReader(reader);
        }

        if (watched && _writerGate.TryEnter())
        {
            try
            {
                // Only if no write of this store changed the list meanwhile (the rows may predate it); another connection's
                // commit after the version was read shows as a new version at the next call.
                if (_wakeGeneration == generation && !_writerClosed)
                {
                    var full = due.Count == limit;
                    _wakes = [.. due];
                    if (!full && next is not null)
                    {
                        _wakes.Add(next);
                    }

                    _wakeBound = full ? due[^1] : next;
                    TrimWakes();
                    _wakesDataVersion = version;
                }
            }
            finally
            {
                _writerGate.Exit();
            }
        }

        return ValueTask.FromResult<IReadOnlyList<ProfileWakeUp>>(due);
    }

    private IReadOnlyList<ProfileWakeUp>? AnswerFromList(long dueByTicks, int limit)
    {
        var wakes = _wakes!;
        var n = 0;
        while (n < wakes.Count && n < limit && wakes[n].WakeAt.UtcTicks <= dueByTicks)
        {
            n++;
        }

        // Enough rows, or every wake-up up to dueBy is in the list.
        if (n == limit || _wakeBound is null || _wakeBound.WakeAt.UtcTicks > dueByTicks)
        {
            return n == 0 ? NoWakeUps : wakes.GetRange(0, n);
        }

        return null;
    }

    /// <summary>PRAGMA data_version on the writer connection, idle (the caller holds the gate): false when it cannot tell.</summary>
    private bool TryReadDataVersion(out long version)
    {
        version = 0;
        if (_writerClosed || _writer.Connection.Handle is not { } db || raw.sqlite3_get_autocommit(db) == 0)
        {
            return false; // a transaction left open would hide other connections' commits
        }

        if (_dataVersion is null)
        {
            if (raw.sqlite3_prepare_v2(db, "PRAGMA data_version", out var statement) != raw.SQLITE_OK)
            {
                statement?.Dispose();
                return false;
            }

            _dataVersion = statement;
        }

        try
        {
            if (raw.sqlite3_step(_dataVersion) != raw.SQLITE_ROW)
            {
                return false;
            }

            version = raw.sqlite3_column_int64(_dataVersion, 0);
            return true;
        }
        finally
        {
            raw.sqlite3_reset(_dataVersion);
        }
    }

    /// <summary>On the writer, inside the batch: a kept operation set (or, with null, removed) the profile's wake-up.</summary>
    private void NoteWake(string profileId, DateTimeOffset? wakeAt) => _batchWakes.Add((profileId, wakeAt));

    /// <summary>On the writer, holding the gate, after COMMIT returned: the batch's wake-ups go into the list.</summary>
    private void ApplyBatchWakes()
    {
        _wakeGeneration++;
        if (_wakes is null)
        {
            return;
        }

        if (_batchForgetsWakes)
        {
            _wakes = null;
            return;
        }

        foreach (var (profileId, wakeAt) in _batchWakes)
        {
            _wakes.RemoveAll(w => string.Equals(w.ProfileId, profileId, StringComparison.Ordinal));
            if (wakeAt is { } at)
            {
                var entry = new ProfileWakeUp(profileId, new DateTimeOffset(at.UtcTicks, TimeSpan.Zero));
                if (_wakeBound is null || CompareWakes(entry, _wakeBound) <= 0)
                {
                    var i = 0;
                    while (i < _wakes.Count && CompareWakes(_wakes[i], entry) < 0)
                    {
                        i++;
                    }

                    _wakes.Insert(i, entry);
                    TrimWakes();
                }
            }
        }
    }

    /// <summary>At most <see cref="MaxKeptWakes"/>: the bound moves down to the last one kept.</summary>
    private void TrimWakes()
    {
        if (_wakes!.Count > MaxKeptWakes)
        {
            _wakes.RemoveRange(MaxKeptWakes, _wakes.Count - MaxKeptWakes);
            _wakeBound = _wakes[^1];
        }
    }

    /// <summary>On the writer, holding the gate: the batch failed, or its outcome is unknown.</summary>
    private void ForgetWakes()
    {
        _wakeGeneration++;
        _wakes = null;
    }

    private void ResetBatchWakes()
    {
        _batchWakes.Clear();
        _batchForgetsWakes = false;
    }

    private static int CompareWakes(ProfileWakeUp a, ProfileWakeUp b)
    {
        var byTime = a.WakeAt.UtcTicks.CompareTo(b.WakeAt.UtcTicks);
        return byTime != 0 ? byTime : StoredText.Compare(a.ProfileId, b.ProfileId);
    }

    private void CloseWakeWatch()
    {
        lock (_writerGate)
        {
            _writerClosed = true;
            _dataVersion?.Dispose();
            _dataVersion = null;
            _wakes = null;
        }
    }
}
