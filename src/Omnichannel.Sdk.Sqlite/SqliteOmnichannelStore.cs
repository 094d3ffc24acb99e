using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite;

/// <summary>
/// The embedded durable store: one SQLite file in WAL mode, its schema created and migrated on open. Commits are
/// queued to a single writer that applies many of them in one transaction (group commit), each inside its own
/// savepoint so that a conflicting commit writes nothing while its neighbours commit; no caller hears of its commit
/// before that transaction's COMMIT has returned. Reads run on their own pooled connections, beside the writer.
/// Open it with <see cref="OpenAsync"/> or register it with <c>UseSqliteStore</c>.
/// </summary>
public sealed class SqliteOmnichannelStore : IOmnichannelStore, IAsyncDisposable, IDisposable
{
    private static readonly IReadOnlyDictionary<Identifier, string> NoOwners = new Dictionary<Identifier, string>();

    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;
    private readonly int _maxBatchSize;
    private readonly TimeSpan _maxBatchDelay;
    private readonly TimeProvider _time;
    private readonly SqliteStatements _writer;
    private readonly Channel<WriteOperation> _queue;
    private readonly ConcurrentBag<SqliteStatements> _readers = [];
    private readonly Task _writerLoop;
    private long _transactions;
    private long _operations;
    private int _disposed;
    private bool _checkpointAfterBatch; // set by an erasure on the writer; read by the writer after its batch commits
    private readonly FileStream? _fileIdentity; // the database file as opened: tells whether the path still names it
    private string? _fileLost; // once the file is gone or replaced, every later write fails with this reason

    private SqliteOmnichannelStore(SqliteStoreOptions options, string connectionString, string filePath, SqliteStatements writer)
    {
        _connectionString = connectionString;
        FilePath = filePath;
        _busyTimeoutMs = (int)Math.Min(int.MaxValue, options.BusyTimeout.TotalMilliseconds);
        _maxBatchSize = options.MaxBatchSize;
        _maxBatchDelay = options.MaxBatchDelay;
        _time = options.TimeProvider ?? TimeProvider.System;
        _writer = writer;
        _fileIdentity = OpenIdentity(filePath);
        _queue = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
        _writerLoop = Task.Run(RunWriterAsync);
    }

    /// <summary>The database file (full path).</summary>
    public string FilePath { get; }

    /// <summary>Write transactions committed so far (a batch of commits counts once).</summary>
    internal long TransactionCount => Interlocked.Read(ref _transactions);

    /// <summary>Test hook: called on the writer when it starts waiting <see cref="SqliteStoreOptions.MaxBatchDelay"/> for a batch to fill.</summary>
    internal Action? BatchDelayStarted { get; set; }

    /// <summary>Write operations applied so far (commits, erasures, purges, outbox claims, completions and reschedules), whatever their outcome.</summary>
    internal long OperationCount => Interlocked.Read(ref _operations);

    /// <summary>
    /// Opens (creating when missing) the database, switches it to WAL, checks it and applies pending migrations.
    /// </summary>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels before the database is opened.</param>
    /// <returns>The open store; dispose it to close the file.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; <c>Failures</c> lists every problem (the same exception the container throws at start-up).</exception>
    /// <exception cref="SqliteStoreException">
    /// The file cannot be opened or written, is not a SQLite database, belongs to another application, or has a newer
    /// schema than this version knows.
    /// </exception>
    public static Task<SqliteOmnichannelStore> OpenAsync(SqliteStoreOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // Microsoft.Data.Sqlite is synchronous underneath; opening takes milliseconds, so no thread hop.
        return Task.FromResult(Open(options));
    }

    /// <summary>The synchronous <see cref="OpenAsync"/>, for DI factories.</summary>
    internal static SqliteOmnichannelStore Open(SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(SqliteStoreOptions), problems);
        }

        var builder = ParseConnectionString(options.ConnectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:")
        {
            throw new ArgumentException(
                "The SQLite store needs a database file, not an in-memory database: give a file path, or use UseInMemoryStore().",
                nameof(options));
        }

        // Our own pool of readers and one writer; Microsoft.Data.Sqlite's pool would keep the file open after Dispose.
        builder.Pooling = false;
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        var connectionString = builder.ToString();
        var filePath = Path.GetFullPath(builder.DataSource);

        var directory = Path.GetDirectoryName(filePath);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new SqliteStoreException(
                $"Cannot open the SQLite database '{filePath}': the directory '{directory}' does not exist. Create it, or point UseSqliteStore elsewhere.",
                filePath);
        }

        var connection = new SqliteConnection(connectionString);
        var writer = new SqliteStatements(connection);
        try
        {
            connection.Open();
            SqliteSchema.Execute(connection, "PRAGMA busy_timeout = " + ((int)Math.Min(int.MaxValue, options.BusyTimeout.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));

            // Look before touching anything: a foreign or newer database is left exactly as it was.
            var version = SqliteSchema.Check(connection, filePath);
            if (options.CheckIntegrityOnOpen && version > 0)
            {
                // A file with an intact header and damaged pages must fail here, not at the first event.
                var verdict = Convert.ToString(SqliteSchema.Scalar(connection, "PRAGMA quick_check(1)"), CultureInfo.InvariantCulture);
                if (!string.Equals(verdict, "ok", StringComparison.OrdinalIgnoreCase))
                {
                    throw new SqliteStoreException(
                        $"The SQLite database '{filePath}' is damaged (PRAGMA quick_check: {verdict}). Restore it from a backup; set CheckIntegrityOnOpen = false only to inspect it.",
                        filePath);
                }
            }

            var journal = Convert.ToString(SqliteSchema.Scalar(connection, "PRAGMA journal_mode = WAL"), CultureInfo.InvariantCulture);
            if (!string.Equals(journal, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new SqliteStoreException(
                    $"The SQLite database '{filePath}' could not be switched to WAL mode (journal_mode is '{journal}'). Is the file on a network share or read-only?",
                    filePath);
            }

            SqliteSchema.Execute(connection, options.Durability == SqliteDurability.Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");

            // Deleted and overwritten content is zeroed, not left in free pages: an erased person is not in the file.
            SqliteSchema.Execute(connection, options.SecureDelete ? "PRAGMA secure_delete = ON" : "PRAGMA secure_delete = OFF");
            SqliteSchema.Migrate(connection, version);

            // Prove now, not at the first event, that we can write (a read-only file or mount fails here).
            SqliteSchema.Execute(connection, "BEGIN IMMEDIATE; PRAGMA user_version = " + SqliteSchema.CurrentVersion.ToString(CultureInfo.InvariantCulture) + "; COMMIT;");
            return new SqliteOmnichannelStore(options, connectionString, filePath, writer);
        }
        catch (SqliteException ex)
        {
            writer.Dispose();
            throw new SqliteStoreException(Describe(ex, filePath), filePath, ex);
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            using var row = reader.Command("SELECT version, document FROM profiles WHERE id = $p0", profileId).ExecuteReader();
            StoredProfile? profile = row.Read() ? new StoredProfile(profileId, row.GetInt64(0), row.GetFieldValue<byte[]>(1)) : null;
            return ValueTask.FromResult(profile);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            var id = profileId;

            // Bounded like the in-memory store, so a damaged alias cycle cannot spin forever.
            for (var hops = 0; hops < 1000; hops++)
            {
                using var row = reader.Command(
                    "SELECT EXISTS (SELECT 1 FROM profiles WHERE id = $p0), (SELECT new_id FROM aliases WHERE old_id = $p0)", id).ExecuteReader();
                row.Read();
                if (row.GetInt64(0) == 1)
                {
                    return ValueTask.FromResult<string?>(id);
                }

                if (row.IsDBNull(1))
                {
                    return ValueTask.FromResult<string?>(null);
                }

                id = row.GetString(1);
            }

            return ValueTask.FromResult<string?>(null);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        cancellationToken.ThrowIfCancellationRequested();
        if (identifiers.Count == 0)
        {
            return ValueTask.FromResult(NoOwners);
        }

        var reader = RentReader();
        try
        {
            Dictionary<Identifier, string>? found = null;
            foreach (var id in identifiers)
            {
                if (reader.Scalar("SELECT profile_id FROM identifiers WHERE type = $p0 AND value = $p1", id.Type, id.Value) is string owner)
                {
                    (found ??= [])[id] = owner;
                }
            }

            return ValueTask.FromResult<IReadOnlyDictionary<Identifier, string>>(found ?? NoOwners);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Exists("SELECT 1 FROM processed_events WHERE event_id = $p0", eventId));
    }

    /// <inheritdoc />
    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Exists("SELECT 1 FROM suppression WHERE hash = $p0", hash));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            // BINARY collation compares UTF-8 bytes: the same order as ordinal for every id outside the surrogate range.
            using var rows = afterProfileId is null
                ? reader.Command("SELECT id FROM profiles ORDER BY id LIMIT $p0", (long)limit).ExecuteReader()
                : reader.Command("SELECT id FROM profiles WHERE id > $p0 ORDER BY id LIMIT $p1", afterProfileId, (long)limit).ExecuteReader();
            var page = new List<string>(Math.Min(limit, 1024));
            while (rows.Read())
            {
                page.Add(rows.GetString(0));
            }

            return ValueTask.FromResult<IReadOnlyList<string>>(page);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Measurement.MeasurementRow>> GetMeasurementsAsync(Measurement.MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var where = new List<string>();
        var values = new List<object>();
        void Add(string clause, object value)
        {
            where.Add(clause.Replace("@", "$p" + values.Count.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
            values.Add(value);
        }

        if (query.JourneyId is { } journey)
        {
            Add("journey_id = @", journey);
        }

        if (!string.IsNullOrEmpty(query.MetricPrefix))
        {
            Add("metric >= @", query.MetricPrefix);
            Add("metric < @", query.MetricUpperBound!);
        }

        if (query.From is { } from)
        {
            Add("day >= @", (long)from.DayNumber);
        }

        if (query.To is { } to)
        {
            Add("day <= @", (long)to.DayNumber);
        }

        var sql = "SELECT journey_id, step_id, variant, channel, template_id, day, metric, n, amount FROM measurements"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty)
            + " ORDER BY journey_id, metric, day, step_id, variant, channel, template_id LIMIT $p" + values.Count.ToString(CultureInfo.InvariantCulture);
        values.Add((long)query.Limit);
        var reader = RentReader();
        try
        {
            using var rows = reader.Command(sql, values.ToArray()).ExecuteReader();
            var answer = new List<Measurement.MeasurementRow>();
            while (rows.Read())
            {
                answer.Add(new Measurement.MeasurementRow(
                    new Measurement.MeasurementKey(rows.GetString(0), rows.GetString(1), rows.GetString(2), rows.GetString(3), rows.GetString(4), DateOnly.FromDayNumber((int)rows.GetInt64(5)), rows.GetString(6)),
                    rows.GetInt64(7),
                    rows.GetDouble(8)));
            }

            return ValueTask.FromResult<IReadOnlyList<Measurement.MeasurementRow>>(answer);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            using var rows = reader.Command(
                "SELECT id, wake_at FROM profiles WHERE wake_at IS NOT NULL AND wake_at <= $p0 ORDER BY wake_at, id LIMIT $p1",
                dueBy.UtcTicks,
                (long)limit).ExecuteReader();
            var due = new List<ProfileWakeUp>();
            while (rows.Read())
            {
                due.Add(new ProfileWakeUp(rows.GetString(0), new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero)));
            }

            return ValueTask.FromResult<IReadOnlyList<ProfileWakeUp>>(due);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            using var rows = reader.Command(
                "SELECT profile_id FROM segment_members WHERE segment_id = $p0 AND profile_id > $p1 ORDER BY profile_id LIMIT $p2",
                segmentId,
                afterProfileId ?? "",
                (long)limit).ExecuteReader();
            var page = new List<string>();
            while (rows.Read())
            {
                page.Add(rows.GetString(0));
            }

            return ValueTask.FromResult<IReadOnlyList<string>>(page);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);

        // Checked here, not on the writer, where a null would fail the whole batch instead of this call.
        foreach (var entry in commit.Outbox)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(commit));
            if (entry.MessageKey is null || entry.ProfileId is null || entry.Payload is null)
            {
                throw new ArgumentException($"Outbox entry '{entry.MessageKey}' needs a MessageKey, a ProfileId and a Payload.", nameof(commit));
            }
        }

        return EnqueueAsync(w => ApplyCommit(w, commit, _time.GetUtcNow().UtcTicks), r => r.Status == CommitStatus.Committed, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With <see cref="SqliteStoreOptions.SecureDelete"/> (the default) the deleted rows are overwritten with zeros, and
    /// after the erasing transaction commits the WAL is checkpointed into the database and truncated, so the erased
    /// values are in neither file when this returns. The caller hears of the erasure only after both.
    /// </remarks>
    public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(erasure);
        ArgumentNullException.ThrowIfNull(erasure.ProfileId);
        var profileId = erasure.ProfileId;
        var suppression = erasure.SuppressionHashes.ToArray();
        var tombstones = erasure.Tombstones.ToArray();
        return EnqueueAsync(
            w =>
            {
                var deleted = erasure.ExpectedVersion is { } version
                    ? w.ExecuteCount("DELETE FROM profiles WHERE id = $p0 AND version = $p1", profileId, version)
                    : w.ExecuteCount("DELETE FROM profiles WHERE id = $p0", profileId);
                if (deleted == 0)
                {
                    return false;
                }

                w.Execute("DELETE FROM identifiers WHERE profile_id = $p0", profileId);
                w.Execute("DELETE FROM aliases WHERE new_id = $p0", profileId);
                w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", profileId);
                w.Execute("DELETE FROM outbox WHERE profile_id = $p0", profileId);
                foreach (var h in suppression)
                {
                    w.Execute("INSERT OR IGNORE INTO suppression (hash) VALUES ($p0)", h);
                }

                foreach (var t in tombstones)
                {
                    w.Execute(
                        "INSERT INTO tombstones (hash, erased_at, allows_return) VALUES ($p0, $p1, $p2) " +
                        "ON CONFLICT (hash) DO UPDATE SET erased_at = excluded.erased_at, allows_return = excluded.allows_return",
                        t.Hash,
                        t.ErasedAt.UtcTicks,
                        t.AllowsReturn ? 1L : 0L);
                }

                _checkpointAfterBatch = true;
                return true;
            },
            static erased => erased,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        if (hashes.Count == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<Tombstone>>([]);
        }

        var reader = RentReader();
        try
        {
            var found = new List<Tombstone>();
            foreach (var hash in hashes.Distinct(StringComparer.Ordinal))
            {
                using var row = reader.Command("SELECT erased_at, allows_return FROM tombstones WHERE hash = $p0", hash).ExecuteReader();
                if (row.Read())
                {
                    found.Add(new Tombstone(hash, new DateTimeOffset(row.GetInt64(0), TimeSpan.Zero), row.GetInt64(1) != 0));
                }
            }

            return ValueTask.FromResult<IReadOnlyList<Tombstone>>(found);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var distinct = hashes.Distinct(StringComparer.Ordinal).ToArray();
        return EnqueueAsync(
            w => distinct.Sum(h => w.ExecuteCount("DELETE FROM tombstones WHERE hash = $p0", h) + w.ExecuteCount("DELETE FROM suppression WHERE hash = $p0", h)),
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) =>
        EnqueueAsync(w => w.ExecuteCount("DELETE FROM processed_events WHERE processed_at < $p0", processedBefore.UtcTicks), static _ => true, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var nowTicks = now.UtcTicks;

        // Saturate rather than overflow: a lease past the end of time is simply held forever.
        var leasedUntil = lease.Ticks >= DateTimeOffset.MaxValue.UtcTicks - nowTicks ? DateTimeOffset.MaxValue.UtcTicks : nowTicks + lease.Ticks;

        // The usual answer of a polling dispatcher is "nothing due": give it from a reader, so that it neither takes the
        // write lock nor a place in a commit batch. Leasing itself happens only on the writer, so this stays race-free.
        cancellationToken.ThrowIfCancellationRequested();
        if (!HasClaimable(nowTicks))
        {
            return ValueTask.FromResult<IReadOnlyList<OutboxEntry>>([]);
        }

        return EnqueueAsync(
            w =>
            {
                // One statement picks and leases, on the single writer: no two claims can see the same row free.
                using var rows = w.Command(
                    "UPDATE outbox SET attempt = attempt + 1, leased_until = $p1 WHERE rowid IN (" +
                    "SELECT rowid FROM outbox WHERE due_at <= $p0 AND (leased_until IS NULL OR leased_until <= $p0) ORDER BY due_at, message_key LIMIT $p2) " +
                    "RETURNING message_key, profile_id, due_at, payload, attempt",
                    nowTicks,
                    leasedUntil,
                    (long)limit).ExecuteReader();
                var claimed = new List<OutboxEntry>();
                while (rows.Read())
                {
                    claimed.Add(new OutboxEntry
                    {
                        MessageKey = rows.GetString(0),
                        ProfileId = rows.GetString(1),
                        DueAt = new DateTimeOffset(rows.GetInt64(2), TimeSpan.Zero),
                        Payload = rows.GetFieldValue<byte[]>(3),
                        Attempt = rows.GetInt32(4),
                    });
                }

                // RETURNING gives no order; the contract's is earliest due first, then key.
                claimed.Sort(static (x, y) => x.DueAt != y.DueAt ? x.DueAt.CompareTo(y.DueAt) : string.CompareOrdinal(x.MessageKey, y.MessageKey));
                return (IReadOnlyList<OutboxEntry>)claimed;
            },
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        return EnqueueAsync(
            w => w.ExecuteCount("DELETE FROM outbox WHERE message_key = $p0 AND attempt = $p1", messageKey, (long)attempt) == 1,
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        return EnqueueAsync(
            w => w.ExecuteCount(
                "UPDATE outbox SET due_at = $p2, leased_until = NULL WHERE message_key = $p0 AND attempt = $p1",
                messageKey,
                (long)attempt,
                dueAt.UtcTicks) == 1,
            static _ => true,
            cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            // Free rows: the smallest due_at. Leased rows: the later of due and lease end. NULL when the outbox is empty.
            var next = reader.Scalar("SELECT min(max(due_at, coalesce(leased_until, due_at))) FROM outbox");
            return ValueTask.FromResult<DateTimeOffset?>(next is long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null);
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    /// <summary>Applies the queued writes, then closes the database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        Close();
    }

    /// <summary>Applies the queued writes, then closes the database (blocking).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        _writerLoop.GetAwaiter().GetResult();
        Close();
    }

    private void Close()
    {
        _fileIdentity?.Dispose();
        _writer.Dispose();
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    private static CommitResult ApplyCommit(SqliteStatements w, ProfileCommit commit, long nowTicks)
    {
        // Every check comes before the first write, so a refused commit has written nothing even before its savepoint is rolled back.
        if (commit.EventId is not null && w.Scalar("SELECT 1 FROM processed_events WHERE event_id = $p0", commit.EventId) is not null)
        {
            return new CommitResult(CommitStatus.DuplicateEvent, 0);
        }

        var currentVersion = w.Scalar("SELECT version FROM profiles WHERE id = $p0", commit.ProfileId) is long v ? v : 0;
        if (currentVersion != commit.ExpectedVersion
            || (commit.ExpectedVersion == 0 && w.Scalar("SELECT 1 FROM aliases WHERE old_id = $p0", commit.ProfileId) is not null))
        {
            return new CommitResult(CommitStatus.Conflict, 0);
        }

        foreach (var a in commit.Absorbed)
        {
            if (a.ProfileId == commit.ProfileId
                || w.Scalar("SELECT version FROM profiles WHERE id = $p0", a.ProfileId) is not long absorbedVersion
                || absorbedVersion != a.ExpectedVersion)
            {
                return new CommitResult(CommitStatus.Conflict, 0);
            }
        }

        foreach (var c in commit.Claims)
        {
            var owner = w.Scalar("SELECT profile_id FROM identifiers WHERE type = $p0 AND value = $p1", c.Identifier.Type, c.Identifier.Value) as string;
            if (owner != c.ExpectedOwner)
            {
                return new CommitResult(CommitStatus.Conflict, 0);
            }
        }

        var version = currentVersion + 1;
        w.Execute(
            "INSERT INTO profiles (id, version, document, wake_at) VALUES ($p0, $p1, $p2, $p3) " +
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, document = excluded.document, wake_at = excluded.wake_at",
            commit.ProfileId,
            version,
            commit.Document,
            commit.WakeAt is { } wakeAt ? (object)wakeAt.UtcTicks : DBNull.Value);
        foreach (var a in commit.Absorbed)
        {
            w.Execute("DELETE FROM profiles WHERE id = $p0", a.ProfileId);
            w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", a.ProfileId);
            w.Execute("INSERT INTO aliases (old_id, new_id) VALUES ($p0, $p1) ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id", a.ProfileId, commit.ProfileId);
            w.Execute("UPDATE outbox SET profile_id = $p0 WHERE profile_id = $p1", commit.ProfileId, a.ProfileId);
        }

        foreach (var entry in commit.Outbox)
        {
            // A key is accepted once, ever: outbox_keys remembers it after the row is completed.
            if (w.ExecuteCount("INSERT INTO outbox_keys (message_key, created_at) VALUES ($p0, $p1) ON CONFLICT (message_key) DO NOTHING", entry.MessageKey, nowTicks) == 1)
            {
                w.Execute(
                    "INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until) VALUES ($p0, $p1, $p2, $p3, 0, NULL)",
                    entry.MessageKey,
                    entry.ProfileId,
                    entry.DueAt.UtcTicks,
                    entry.Payload);
            }
        }

        // The membership set is replaced: skip the rewrite when it did not change, the common case.
        if (!SameSegments(w, commit.ProfileId, commit.Segments))
        {
            w.Execute("DELETE FROM segment_members WHERE profile_id = $p0", commit.ProfileId);
            foreach (var segment in commit.Segments)
            {
                w.Execute("INSERT OR IGNORE INTO segment_members (segment_id, profile_id) VALUES ($p0, $p1)", segment, commit.ProfileId);
            }
        }

        foreach (var c in commit.Claims)
        {
            w.Execute(
                "INSERT INTO identifiers (type, value, profile_id) VALUES ($p0, $p1, $p2) ON CONFLICT (type, value) DO UPDATE SET profile_id = excluded.profile_id",
                c.Identifier.Type,
                c.Identifier.Value,
                commit.ProfileId);
        }

        foreach (var d in commit.Measurements)
        {
            var k = d.Key;
            w.Execute(
                "INSERT INTO measurements (journey_id, metric, day, step_id, variant, channel, template_id, n, amount) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8) " +
                "ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount",
                k.JourneyId, k.Metric, (long)k.Day.DayNumber, k.StepId, k.Variant, k.Channel, k.TemplateId, d.Count, d.Sum);
        }

        if (commit.EventId is not null)
        {
            w.Execute("INSERT INTO processed_events (event_id, processed_at) VALUES ($p0, $p1)", commit.EventId, commit.ProcessedAt.UtcTicks);
        }

        return new CommitResult(CommitStatus.Committed, version);
    }

    private static bool SameSegments(SqliteStatements w, string profileId, IReadOnlyCollection<string> segments)
    {
        var wanted = new HashSet<string>(segments, StringComparer.Ordinal);
        var count = 0;
        using var rows = w.Command("SELECT segment_id FROM segment_members WHERE profile_id = $p0", profileId).ExecuteReader();
        while (rows.Read())
        {
            count++;
            if (!wanted.Contains(rows.GetString(0)))
            {
                return false;
            }
        }

        return count == wanted.Count;
    }

    private ValueTask<T> EnqueueAsync<T>(Func<SqliteStatements, T> apply, Func<T, bool> keep, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var operation = new WriteOperation<T>(apply, keep, cancellationToken);
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(SqliteOmnichannelStore));
        }

        return new ValueTask<T>(operation.Completion.Task);
    }

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

        if (FileLost() is { } lost)
        {
            // Writing on would go to an unlinked file and vanish at close: every write fails, loudly, from now on.
            var error = new SqliteStoreException($"The SQLite database '{FilePath}' {lost} while the store was open; nothing more is written. Restart on the right file.", FilePath);
            foreach (var op in live)
            {
                op.Fail(error);
            }

            return;
        }

        try
        {
            _writer.Execute("BEGIN IMMEDIATE");
            foreach (var op in live)
            {
                _writer.Execute("SAVEPOINT op");
                if (!op.TryApply(_writer))
                {
                    _writer.Execute("ROLLBACK TO op");
                }

                _writer.Execute("RELEASE op");
            }

            _writer.Execute("COMMIT");
        }
        catch (Exception ex)
        {
            SqliteSchema.TryRollback(_writer.Connection);
            foreach (var op in live)
            {
                op.Fail(ex);
            }

            return;
        }

        if (_checkpointAfterBatch)
        {
            _checkpointAfterBatch = false;
            Checkpoint();
        }

        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _operations, live.Count);
        foreach (var op in live)
        {
            op.Complete();
        }
    }

    // A handle on the file as opened. On Linux /proc/self/fd tells whether its path still names it ("(deleted)" once the
    // file was deleted or replaced); elsewhere only a missing file is noticed.
    private static FileStream? OpenIdentity(string filePath)
    {
        try
        {
            return new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private string? FileLost()
    {
        if (_fileLost is not null)
        {
            return _fileLost;
        }

        if (!File.Exists(FilePath))
        {
            return _fileLost = "was deleted or moved";
        }

        if (OperatingSystem.IsLinux() && _fileIdentity is { } identity)
        {
            var link = new FileInfo("/proc/self/fd/" + identity.SafeFileHandle.DangerousGetHandle().ToString(CultureInfo.InvariantCulture)).LinkTarget;
            if (link is not null && link.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                return _fileLost = "was replaced by another file";
            }
        }

        return null;
    }

    /// <summary>
    /// After an erasure: copies the WAL into the database and truncates it, so the erased rows' old pages are in no file.
    /// A reader in the middle of a read can keep a frame from being copied; it is tried again a few times, and a WAL that
    /// could not be emptied now is emptied by the next checkpoint (SQLite's automatic one, or the next erasure).
    /// </summary>
    private void Checkpoint()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var rows = _writer.Command("PRAGMA wal_checkpoint(TRUNCATE)").ExecuteReader();
            if (rows.Read() && rows.GetInt64(0) == 0)
            {
                return;
            }
        }
    }

    private bool HasClaimable(long nowTicks)
    {
        var reader = RentReader();
        try
        {
            return reader.Scalar(
                "SELECT 1 FROM outbox WHERE due_at <= $p0 AND (leased_until IS NULL OR leased_until <= $p0) LIMIT 1",
                nowTicks) is not null;
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    private bool Exists(string sql, string value)
    {
        var reader = RentReader();
        try
        {
            return reader.Scalar(sql, value) is not null;
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    private SqliteStatements RentReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_readers.TryTake(out var reader))
        {
            return reader;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            SqliteSchema.Execute(connection, "PRAGMA busy_timeout = " + _busyTimeoutMs.ToString(CultureInfo.InvariantCulture) + "; PRAGMA query_only = 1;");
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new SqliteStatements(connection);
    }

    private void ReturnReader(SqliteStatements reader)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            reader.Dispose();
            return;
        }

        _readers.Add(reader);
    }

    /// <summary>A connection string, or (without any '=') a bare file path.</summary>
    private static SqliteConnectionStringBuilder ParseConnectionString(string text)
    {
        if (!text.Contains('=', StringComparison.Ordinal))
        {
            return new SqliteConnectionStringBuilder { DataSource = text.Trim() };
        }

        try
        {
            return new SqliteConnectionStringBuilder(text);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The SQLite connection string '{text}' is not valid: {ex.Message}", nameof(text), ex);
        }
    }

    private static string Describe(SqliteException ex, string filePath) => ex.SqliteErrorCode switch
    {
        26 => $"The file '{filePath}' is not a SQLite database (or is encrypted, or its header is damaged): {ex.Message} Restore it from a backup or point UseSqliteStore at another file.",
        11 => $"The SQLite database '{filePath}' is corrupt: {ex.Message} Restore it from a backup.",
        14 => $"Cannot open the SQLite database '{filePath}': {ex.Message} Check that the directory exists and that this process may create and write files in it.",
        8 => $"The SQLite database '{filePath}' is read-only: {ex.Message} The store must write; check the file's and directory's permissions and the connection string's Mode.",
        5 or 6 => $"The SQLite database '{filePath}' is locked by another connection: {ex.Message}",
        _ => $"Cannot use the SQLite database '{filePath}': {ex.Message}",
    };

    /// <summary>A write waiting for the writer loop.</summary>
    private abstract class WriteOperation
    {
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
