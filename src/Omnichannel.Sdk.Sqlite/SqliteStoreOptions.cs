namespace Omnichannel.Sdk.Sqlite;

/// <summary>Settings of <see cref="SqliteOmnichannelStore"/>. Checked when the store opens.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>
    /// Where the database is: a <c>Microsoft.Data.Sqlite</c> connection string such as <c>Data Source=omnichannel.db</c>,
    /// or (when the text contains no <c>=</c>) just the path of the database file. The file is created when missing;
    /// its directory must exist. A relative path is resolved once, at open, as Microsoft.Data.Sqlite does: under the
    /// folder in the <c>DataDirectory</c> AppDomain data when the app sets it (also what <c>|DataDirectory|</c> stands
    /// for), otherwise under the current directory — which is not the app's content root when it runs as a service, so
    /// prefer a full path. In-memory databases and SQLite URI filenames (<c>file:…</c>) are refused: use the in-memory
    /// store for the first, the file's path for the second.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How hard each commit is pushed to disk. Default <see cref="SqliteDurability.Full"/>.
    /// </summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.Full;

    /// <summary>
    /// How long a statement waits for a lock held by another connection (another process on the same file, or a
    /// checkpoint) before failing. Default 5 seconds; at most 10 minutes.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Group commit: at most this many commits share one transaction. Default 256; 1 to 100,000. 1 turns group commit off
    /// (one transaction, and one disk sync, per commit).
    /// </summary>
    public int MaxBatchSize { get; set; } = 256;

    // The writer sizes its batch list by it when it starts: int.MaxValue failed there, after the store had opened.
    private const int MaxMaxBatchSize = 100_000;

    /// <summary>
    /// Group commit: how long the writer waits for more commits to join a batch that is not full. Default
    /// <see cref="TimeSpan.Zero"/>: a batch takes whatever queued up while the previous transaction was being written,
    /// which already batches well under load and adds no latency when idle. At most 1 day (beyond, a timer cannot hold it).
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Whether deleted and overwritten content is zeroed in the file (<c>PRAGMA secure_delete</c>), so that an erased
    /// person's email, phone and traits are not left readable in free pages — and, with the WAL checkpoint that follows
    /// every erasure, not in the WAL either. Default <see langword="true"/>. Turning it off makes writes cheaper (see the
    /// package README for the measured cost) but leaves erased values in the file until SQLite reuses the pages or the
    /// database is <c>VACUUM</c>ed.
    /// </summary>
    public bool SecureDelete { get; set; } = true;

    /// <summary>
    /// Whether <see cref="SqliteOmnichannelStore.OpenAsync"/> runs <c>PRAGMA quick_check</c> on an existing database, so a
    /// file with an intact header and damaged pages fails at start rather than at the first event. It reads the whole
    /// file once (see the package README for the measured cost); turn it off for very large files whose start-up time
    /// matters more. Default <see langword="true"/>.
    /// </summary>
    public bool CheckIntegrityOnOpen { get; set; } = true;

    /// <summary>
    /// How often the store looks whether another process (or another store on the same file) has committed, so that the
    /// engines on it look for that work at once — a wake-up or a message another process wrote — instead of at their next
    /// <see cref="OmnichannelOptions.StorePollInterval"/> (a minute by default). SQLite has no notifications: the look is
    /// <c>PRAGMA data_version</c> on the idle writer connection (no table is read), which changes only for other
    /// connections' commits. Default 1 second; from 10 milliseconds to 1 hour; <see langword="null"/> turns it off. Runs on
    /// <see cref="TimeProvider"/>.
    /// </summary>
    public TimeSpan? WorkSignalInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The clock for <see cref="MaxBatchDelay"/> and <see cref="WorkSignalInterval"/>; <see cref="TimeProvider.System"/> when
    /// <see langword="null"/>.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Every problem with these settings; empty when they are valid.</summary>
    internal IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("ConnectionString is empty: give a connection string such as 'Data Source=omnichannel.db' or a file path.");
        }

        if (!Enum.IsDefined(Durability))
        {
            problems.Add($"Durability {Durability} is not one of Full, Normal.");
        }

        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"BusyTimeout must be from zero to 10 minutes (was {BusyTimeout}).");
        }

        if (MaxBatchSize is < 1 or > MaxMaxBatchSize)
        {
            problems.Add($"MaxBatchSize must be from 1 to 100,000 (was {MaxBatchSize}).");
        }

        if (MaxBatchDelay < TimeSpan.Zero || MaxBatchDelay > TimeSpan.FromDays(1))
        {
            problems.Add($"MaxBatchDelay must be from zero to 1 day (was {MaxBatchDelay}): every commit may wait that long.");
        }

        if (WorkSignalInterval is { } signal && (signal < TimeSpan.FromMilliseconds(10) || signal > TimeSpan.FromHours(1)))
        {
            problems.Add($"WorkSignalInterval must be from 10 milliseconds to 1 hour, or null to turn it off (was {signal}).");
        }

        return problems;
    }
}

/// <summary>How hard <see cref="SqliteOmnichannelStore"/> pushes each transaction to disk (SQLite's <c>synchronous</c> setting, in WAL mode).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SqliteDurability>))]
public enum SqliteDurability
{
    /// <summary>
    /// <c>synchronous=FULL</c>: the write-ahead log is synced to disk at every commit, so a commit that was acknowledged
    /// survives a process crash, an operating-system crash and a power loss. Slowest: one disk sync per transaction
    /// (group commit shares it between the commits of a batch).
    /// </summary>
    Full,

    /// <summary>
    /// <c>synchronous=NORMAL</c>: the log is synced only at checkpoints. An acknowledged commit survives a crash of the
    /// process, and the database is never corrupted, but the last commits before a power loss or an operating-system
    /// crash may be lost (rolled back) — with them the record that their events were processed, so a re-sent event is
    /// applied again rather than twice. Much faster on slow disks.
    /// </summary>
    Normal,
}
