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
/// before that transaction's COMMIT has returned. Reads run on their own pooled connections, beside the writer (a short read by key on the writer connection when it is idle).
/// Open it with <see cref="OpenAsync"/> or register it with <c>UseSqliteStore</c>.
/// </summary>
public sealed partial class SqliteOmnichannelStore : IOmnichannelStore, IAsyncDisposable, IDisposable
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
    private readonly TimeSpan? _workSignalInterval;
    private bool _checkpointAfterBatch; // set by an erasure on the writer; read by the writer after its batch commits
    private bool _checkpointPending; // an erasure's checkpoint left the WAL (a reader held it): the writer tries again after each batch
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
        _workSignalInterval = options.WorkSignalInterval;
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

        if (builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // Microsoft.Data.Sqlite opens it as a SQLite URI, whose path, options (mode=memory, immutable) and escapes the
            // store would have to read as SQLite does to know, check and watch the file it names.
            throw new ArgumentException(
                $"The SQLite store needs the database file's path, not a URI filename ('{builder.DataSource}'): give 'Data Source=/path/to/omnichannel.db' or the plain path.",
                nameof(options));
        }

        // Our own pool of readers and one writer; Microsoft.Data.Sqlite's pool would keep the file open after Dispose.
        builder.Pooling = false;
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));

        // Every connection (readers are opened later, one by one) opens this full path: a relative one would follow the
        // current directory or the "DataDirectory" AppDomain data as they are at that moment, not as they were at open.
        var filePath = ResolveFilePath(builder.DataSource);
        builder.DataSource = filePath;
        var connectionString = builder.ToString();

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

            // Migrates under the write lock (another store may be opening the same file) and ends with a write, so a
            // read-only file or mount fails here, not at the first event.
            SqliteSchema.Migrate(connection, version, filePath);
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
        StopWorkSignal();
        _fileIdentity?.Dispose();
        CloseWakeWatch();
        _writer.Dispose();
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
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

        if (FileStillNamedAsOpened())
        {
            return null;
        }

        if (!File.Exists(FilePath))
        {
            return _fileLost = "was deleted or moved";
        }

        if (OperatingSystem.IsLinux() && _fileIdentity is { } identity)
        {
            // The handle names the file elsewhere: "… (deleted)" once it was deleted or replaced, its new path once moved.
            // The store's path still names it only when that path, its symbolic links resolved, reads the same (a folder
            // on the way that is a link, or was renamed and linked back); then that name is the one to expect from now on.
            // A file moved away and another put at its path reads otherwise, as a deleted one does. Resolved by name
            // (realpath), never by opening the file: closing a second descriptor on it would drop SQLite's locks on it.
            var link = new FileInfo(FdLinkPath(identity)).LinkTarget;
            if (link is not null)
            {
                var named = RealPath(FilePath);
                if (named is not null)
                {
                    if (!string.Equals(named, link, StringComparison.Ordinal))
                    {
                        return _fileLost = "was replaced by another file";
                    }

                    ExpectLink(link);
                    return null;
                }

                if (link.EndsWith(" (deleted)", StringComparison.Ordinal))
                {
                    return _fileLost = "was replaced by another file";
                }
            }
        }

        return null;
    }

    // The usual answer of FileLost, in one system call and no allocation: on Linux, /proc/self/fd/N of the handle opened on
    // the file reads back the name it is expected under (the store's path, or that path with its symbolic links resolved
    // once FileLost has checked it) when that name still names the file (a deleted or replaced file reads "… (deleted)", a
    // moved one its new path). Anything else (another spelling of the path, another system, an error) is answered by the
    // full check in FileLost.
    private byte[]? _fdLinkPath; // "/proc/self/fd/N", NUL-terminated
    private byte[]? _expectedLink;
    private byte[]? _linkBuffer;

    private static string FdLinkPath(FileStream identity) =>
        "/proc/self/fd/" + identity.SafeFileHandle.DangerousGetHandle().ToString(CultureInfo.InvariantCulture);

    private void ExpectLink(string link)
    {
        _expectedLink = System.Text.Encoding.UTF8.GetBytes(link);
        _linkBuffer = new byte[_expectedLink.Length + 1];
    }

    private bool FileStillNamedAsOpened()
    {
        if (!OperatingSystem.IsLinux() || _fileIdentity is not { } identity)
        {
            return false;
        }

        if (_fdLinkPath is null)
        {
            _fdLinkPath = System.Text.Encoding.UTF8.GetBytes(FdLinkPath(identity) + "\0");
            ExpectLink(FilePath);
        }

        // One byte more than the name: a longer target (" (deleted)" appended) does not read back as equal.
        var n = ReadLink(_fdLinkPath, _linkBuffer!, _linkBuffer!.Length);
        return n == _expectedLink!.Length && _linkBuffer.AsSpan(0, (int)n).SequenceEqual(_expectedLink);
    }

    /// <summary>The path with every symbolic link on it resolved (realpath(3)), or null when it cannot be (missing, an error). Linux only.</summary>
    private static string? RealPath(string path)
    {
        var resolved = new byte[4097]; // PATH_MAX and a NUL
        if (RealPathNative(System.Text.Encoding.UTF8.GetBytes(path + "\0"), resolved) == 0)
        {
            return null;
        }

        var length = Array.IndexOf(resolved, (byte)0);
        return length < 0 ? null : System.Text.Encoding.UTF8.GetString(resolved, 0, length);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "readlink")]
    private static extern nint ReadLink(byte[] path, byte[] buffer, nint size);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "realpath")]
    private static extern nint RealPathNative(byte[] path, byte[] resolved);

    /// <summary>
    /// The full path of the file Microsoft.Data.Sqlite opens for <paramref name="dataSource"/>: when the app sets the
    /// "DataDirectory" AppDomain data, a leading "|DataDirectory|" and any relative path are under that folder; otherwise
    /// a relative path is under the current directory.
    /// </summary>
    private static string ResolveFilePath(string dataSource)
    {
        const string Macro = "|DataDirectory|";
        if (AppDomain.CurrentDomain.GetData("DataDirectory") is string { Length: > 0 } dataDirectory)
        {
            if (dataSource.StartsWith(Macro, StringComparison.OrdinalIgnoreCase))
            {
                dataSource = Path.Combine(dataDirectory, dataSource[Macro.Length..]);
            }
            else if (!Path.IsPathRooted(dataSource))
            {
                dataSource = Path.Combine(dataDirectory, dataSource);
            }
        }

        return Path.GetFullPath(dataSource);
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
}
