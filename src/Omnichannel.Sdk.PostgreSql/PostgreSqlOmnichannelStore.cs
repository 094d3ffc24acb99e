using System.Data;
using Npgsql;
using NpgsqlTypes;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

/// <summary>
/// The production store: PostgreSQL, shared by every process of the application. Each commit is one transaction whose
/// expectations (profile versions, identifier owners, the event id) are checked by the writes themselves, so concurrent
/// writers in different processes get <see cref="CommitStatus.Conflict"/>, never a lost update. The outbox is claimed
/// with <c>FOR UPDATE SKIP LOCKED</c>, so several dispatchers share it without sending a message twice.
/// Open it with <see cref="OpenAsync"/> or register it with <c>UsePostgreSqlStore</c>.
/// </summary>
public sealed partial class PostgreSqlOmnichannelStore : IOmnichannelStore, IAsyncDisposable, IDisposable
{
    private static readonly IReadOnlyDictionary<Identifier, string> NoOwners = new Dictionary<Identifier, string>();

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    private PostgreSqlOmnichannelStore(NpgsqlDataSource dataSource, string schema, TimeProvider time)
    {
        _dataSource = dataSource;
        Schema = schema;
        _time = time;
        StartPipeline();
    }

    /// <summary>The PostgreSQL schema holding the store's tables.</summary>
    public string Schema { get; }

    /// <summary>
    /// Connects, creates the schema when missing and applies pending migrations.
    /// </summary>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels before the server is contacted.</param>
    /// <returns>The open store; dispose it to close its connections.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; <c>Failures</c> lists every problem (the same exception the container throws at start-up).</exception>
    /// <exception cref="PostgreSqlStoreException">The server cannot be reached or refuses the login, or the schema is newer than this version knows.</exception>
    public static Task<PostgreSqlOmnichannelStore> OpenAsync(PostgreSqlStoreOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // Migrations run once at start-up on one connection: the synchronous path is shared with the DI factory.
        return Task.Run(() => Open(options), cancellationToken);
    }

    /// <summary>The synchronous <see cref="OpenAsync"/>, for DI factories.</summary>
    internal static PostgreSqlOmnichannelStore Open(PostgreSqlStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(PostgreSqlStoreOptions), problems);
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {ex.Message}", nameof(options), ex);
        }

        builder.SearchPath = options.Schema;

        // The store leaves no session state on its connections (no SET outside a transaction, no temporary tables,
        // LISTEN or session locks), so a connection taken from the pool needs no DISCARD ALL, which would also throw
        // away the plans PL/pgSQL cached for omnichannel_commit; and its statements, always the same few, are prepared
        // once per connection (unless the connection string says how many, 0 for none).
        builder.NoResetOnClose = true;

        // Every statement assumes READ COMMITTED (a write re-checks its row after waiting; a SKIP LOCKED claim skips rows
        // leased meanwhile). A database or role default of REPEATABLE READ or SERIALIZABLE would make concurrent claims and
        // commits fail with 40001, so the store's sessions set it back; appended last, it overrides the same -c in Options.
        const string ReadCommitted = @"-c default_transaction_isolation=read\ committed";
        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? ReadCommitted : $"{builder.Options} {ReadCommitted}";
        if (!SetsMaxAutoPrepare(options.ConnectionString))
        {
            builder.MaxAutoPrepare = 32;
        }

        var where = $"host '{builder.Host}', port {builder.Port}, database '{builder.Database ?? builder.Username}'";
        var dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            using var connection = dataSource.OpenConnection();
            PostgreSqlSchema.Migrate(connection, options.Schema);
            // The listener's connection: its own (LISTEN is session state), never multiplexed.
            var listen = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false, Multiplexing = false, MaxAutoPrepare = 0 };
            if (builder.Password is { } password)
            {
                listen.Password = password;
            }

            return new PostgreSqlOmnichannelStore(dataSource, options.Schema, options.TimeProvider ?? TimeProvider.System) { _listenConnectionString = listen.ConnectionString };
        }
        catch (PostgreSqlStoreException)
        {
            dataSource.Dispose();
            throw;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            dataSource.Dispose();
            throw new PostgreSqlStoreException(
                $"Cannot open the Omnichannel.Sdk store in PostgreSQL ({where}, schema '{options.Schema}'): {ex.Message.TrimEnd().TrimEnd('.')}. " +
                "Check that the server is running and reachable, and the connection string's host, port, database and credentials.",
                ex);
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }
    }

    private static bool SetsMaxAutoPrepare(string connectionString)
    {
        var keys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys;
        return keys.Cast<string>().Any(k => string.Equals(k.Replace(" ", "", StringComparison.Ordinal), "MaxAutoPrepare", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Finishes the calls already queued, then closes the store's pooled connections.</summary>
    public async ValueTask DisposeAsync()
    {
        var first = !_listenStop.IsCancellationRequested;
        await StopPipelineAsync().ConfigureAwait(false);
        await StopListeningAsync().ConfigureAwait(false);
        if (first)
        {
            await SignalLeavingAsync().ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="DisposeAsync"/>, blocking until the queued calls finish: for a container disposed with
    /// <c>Dispose()</c>, which refuses a service that is only <see cref="IAsyncDisposable"/> (audit U58).
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// After a write refused with 25006 (<c>read_only_sql_transaction</c>): the pooled sessions were opened on a standby,
    /// or while the database's sessions were read-only (a failover in progress, DNS still naming the old primary). Such a
    /// session stays read-only after the failover ends, and a busy pool never idles them out, so every later write would
    /// fail until a restart. The pool is cleared (sessions in use close when returned): the next write opens a new
    /// session, and the store recovers on its own once a writable primary answers.
    /// </summary>
    private void ForgetReadOnlySessions() => _dataSource.Clear();

    private static bool IsRace(PostgresException ex) =>
        ex.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.UniqueViolation;

    private static NpgsqlBatchCommand Add(NpgsqlBatch batch, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(command);
        return command;
    }

    private static async Task<int> CountAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<bool> ExistsAsync(string sql, string value, CancellationToken cancellationToken) =>
        StoredText.CanHold(value) && await ReadAsync(sql, static rows => rows.ReadAsync(), cancellationToken, Text(value)).ConfigureAwait(false);

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var page = new List<string>();
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            page.Add(rows.GetString(0));
        }

        return page;
    }

    private static NpgsqlParameter Text(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter BigintArray(IEnumerable<long> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };

    private static NpgsqlParameter TextArray(IEnumerable<string> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
