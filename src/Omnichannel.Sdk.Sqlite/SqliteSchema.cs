using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite;

/// <summary>The versioned schema: migration N brings a database from <c>user_version</c> N-1 to N, each in its own transaction.</summary>
internal static class SqliteSchema
{
    /// <summary>Marks the file as ours (<c>PRAGMA application_id</c>): "OMNI" in ASCII.</summary>
    public const int ApplicationId = 0x4F4D4E49;

    /// <summary>The migrations, in order; index i brings the schema to version i + 1. Append only, never edit a shipped one.</summary>
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE profiles (
            id TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL,
            document BLOB NOT NULL);
        CREATE TABLE identifiers (
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            profile_id TEXT NOT NULL,
            PRIMARY KEY (type, value)) WITHOUT ROWID;
        CREATE INDEX identifiers_by_profile ON identifiers (profile_id);
        CREATE TABLE aliases (
            old_id TEXT NOT NULL PRIMARY KEY,
            new_id TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX aliases_by_new_id ON aliases (new_id);
        CREATE TABLE processed_events (
            event_id TEXT NOT NULL PRIMARY KEY,
            processed_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX processed_events_by_time ON processed_events (processed_at);
        CREATE TABLE suppression (
            hash TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID;
        """,
        """
        ALTER TABLE profiles ADD COLUMN wake_at INTEGER;
        CREATE INDEX profiles_by_wake_at ON profiles (wake_at, id) WHERE wake_at IS NOT NULL;
        CREATE TABLE segment_members (
            segment_id TEXT NOT NULL,
            profile_id TEXT NOT NULL,
            PRIMARY KEY (segment_id, profile_id)) WITHOUT ROWID;
        CREATE INDEX segment_members_by_profile ON segment_members (profile_id);
        """,
        """
        -- A rowid table (unlike the others): payloads may be kilobytes. outbox_keys outlives the rows it remembers.
        CREATE TABLE outbox (
            message_key TEXT NOT NULL PRIMARY KEY,
            profile_id TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            payload BLOB NOT NULL,
            attempt INTEGER NOT NULL,
            leased_until INTEGER);
        CREATE INDEX outbox_by_due ON outbox (due_at, message_key);
        CREATE INDEX outbox_by_profile ON outbox (profile_id);
        CREATE TABLE outbox_keys (
            message_key TEXT NOT NULL PRIMARY KEY,
            created_at INTEGER NOT NULL) WITHOUT ROWID;
        """,
        """
        -- Keyed hashes of erased identifiers and event ids (never values): events carrying them are refused.
        CREATE TABLE tombstones (
            hash TEXT NOT NULL PRIMARY KEY,
            erased_at INTEGER NOT NULL,
            allows_return INTEGER NOT NULL) WITHOUT ROWID;
        """,
        """
        -- Measurement aggregates, changed in the same transaction as the profile commit that caused them. Keyed by journey
        -- and metric first: a journey's or a metric's rows are one range. day: days since 0001-01-01 (UTC).
        CREATE TABLE measurements (
            journey_id TEXT NOT NULL,
            metric TEXT NOT NULL,
            day INTEGER NOT NULL,
            step_id TEXT NOT NULL,
            variant TEXT NOT NULL,
            channel TEXT NOT NULL,
            template_id TEXT NOT NULL,
            n INTEGER NOT NULL,
            amount REAL NOT NULL,
            PRIMARY KEY (journey_id, metric, day, step_id, variant, channel, template_id)) WITHOUT ROWID;
        CREATE INDEX measurements_by_metric ON measurements (metric, day);
        """,
        """
        -- The channel a message is first tried on: a process claims only its own channels' rows (NULL: anyone's).
        ALTER TABLE outbox ADD COLUMN channel TEXT;
        """,
        """
        -- Audit U102: the profile each key was accepted for, so that her erasure forgets every key of hers, not only those
        -- her document names (500 at most). NULL for keys accepted before this version (their profile was not kept).
        ALTER TABLE outbox_keys ADD COLUMN profile_id TEXT;
        CREATE INDEX outbox_keys_by_profile ON outbox_keys (profile_id) WHERE profile_id IS NOT NULL;
        """,
    ];

    /// <summary>The schema version this code writes.</summary>
    public static int CurrentVersion => Migrations.Count;

    /// <summary>
    /// Checks that the database is ours (or empty) and not newer than the code, without changing it.
    /// Returns its schema version (0 for an empty file).
    /// </summary>
    public static int Check(SqliteConnection connection, string filePath)
    {
        // One statement, so one snapshot: read one by one, another store's first migration committing in between
        // would show tables and a version without our application_id, and the file would pass for a foreign one.
        int applicationId, version;
        long tables;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version), " +
                "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\')"; // '_' alone is a wildcard: 'sqlite3_settings' is a foreign table
            using var row = command.ExecuteReader();
            row.Read();
            applicationId = row.GetInt32(0);
            version = row.GetInt32(1);
            tables = row.GetInt64(2);
        }

        if (applicationId != ApplicationId && (applicationId != 0 || version != 0 || tables != 0))
        {
            throw new SqliteStoreException(
                $"The SQLite database '{filePath}' belongs to another application (application_id {applicationId}, user_version {version}, {tables} table(s)) " +
                "and is not an Omnichannel.Sdk store; it was left unchanged. Point UseSqliteStore at a new file or at an Omnichannel.Sdk database.",
                filePath);
        }

        if (version > CurrentVersion)
        {
            throw Newer(filePath, version);
        }

        if (version < 0)
        {
            throw Unknown(filePath, version);
        }

        return version;
    }

    /// <summary>
    /// Applies the pending migrations, each in its own write transaction, then writes the version once more to prove the
    /// file is writable. The version is read again under each transaction's write lock: another store (or process) may
    /// have migrated, or a newer release moved the file on, since <see cref="Check"/>; <paramref name="fromVersion"/> is only
    /// what was seen then.
    /// </summary>
    /// <exception cref="SqliteStoreException">The file is now newer than this code, or a migration failed (the file keeps the version before it).</exception>
    public static void Migrate(SqliteConnection connection, int fromVersion, string? filePath = null)
    {
        _ = fromVersion; // only what Check saw: re-read under the lock below
        filePath ??= Path.GetFullPath(connection.DataSource);
        while (true)
        {
            Execute(connection, "BEGIN IMMEDIATE");
            var version = -1;
            try
            {
                version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
                if (version > CurrentVersion)
                {
                    throw Newer(filePath, version);
                }

                if (version < 0)
                {
                    throw Unknown(filePath, version); // no migration starts below 0 (an index out of range otherwise)
                }

                if (version == CurrentVersion)
                {
                    // Rewriting the same version is the write that proves the file (and its mount) writable, and never a downgrade.
                    Execute(connection, $"PRAGMA user_version = {version}; COMMIT;");
                    return;
                }

                Execute(connection, Migrations[version]);
                if (version + 1 == MeasurementsVersion)
                {
                    BackfillJourneyCounters(connection);
                }

                Execute(connection, $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {version + 1};");
                Execute(connection, "COMMIT");
            }
            catch (Exception ex)
            {
                // No exception filter here: .NET 10's optimized code (tier 1, after some thousand opens) lost the exception
                // a filter stored for its handler in this method, so the handler threw NullReferenceException (design notes).
                TryRollback(connection);
                if (ex is SqliteException sqlite && version >= 0 && version < CurrentVersion)
                {
                    throw new SqliteStoreException(
                        $"Migrating the SQLite database '{filePath}' from schema version {version} to {version + 1} failed: {sqlite.Message} " +
                        $"The migration was rolled back and the file left at version {version}. Fix the cause (disk space, permissions, a " +
                        "table added by hand) and open it again, or restore a backup.",
                        filePath,
                        sqlite);
                }

                throw;
            }
        }
    }

    /// <summary>The schema version that created the measurement aggregates (journey statistics were in the documents before).</summary>
    public const int MeasurementsVersion = 5;

    /// <summary>
    /// In the migration to <see cref="MeasurementsVersion"/>, in its transaction: the journey counters and running instances
    /// that schema 4 kept only in the profile documents become aggregate rows (see <see cref="Omnichannel.Sdk.Measurement.JourneyCounterBackfill"/>),
    /// so journey statistics do not restart from zero, nor count the running instances' ends below it, after the upgrade.
    /// </summary>
    private static void BackfillJourneyCounters(SqliteConnection connection)
    {
        // Read one document at a time (a large file's documents need not fit in memory); the sums are made before any insert.
        var rows = Omnichannel.Sdk.Measurement.JourneyCounterBackfill.FromDocuments(Documents(connection));
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO measurements (journey_id, metric, day, step_id, variant, channel, template_id, n, amount) " +
            "VALUES ($j, $m, $d, $s, $v, $c, $t, $n, 0) ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id) DO UPDATE SET n = n + excluded.n";
        foreach (var row in rows)
        {
            var k = row.Key;
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$j", k.JourneyId);
            insert.Parameters.AddWithValue("$m", k.Metric);
            insert.Parameters.AddWithValue("$d", (long)k.Day.DayNumber);
            insert.Parameters.AddWithValue("$s", k.StepId);
            insert.Parameters.AddWithValue("$v", k.Variant);
            insert.Parameters.AddWithValue("$c", k.Channel);
            insert.Parameters.AddWithValue("$t", k.TemplateId);
            insert.Parameters.AddWithValue("$n", row.Count);
            insert.ExecuteNonQuery();
        }
    }

    private static IEnumerable<byte[]> Documents(SqliteConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT document FROM profiles";
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            yield return (byte[])reader.GetValue(0);
        }
    }

    /// <summary>The error for a file written by a newer release.</summary>
    public static SqliteStoreException Newer(string filePath, int version) => new(
        $"The SQLite database '{filePath}' has schema version {version}, newer than version {CurrentVersion} that this version of " +
        "Omnichannel.Sdk.Sqlite knows. It was written by a newer release: upgrade the package, or use a backup taken before the upgrade.",
        filePath);

    // PRAGMA user_version is a signed 32-bit number: a negative one was set by hand or by another tool, never by a release.
    public static SqliteStoreException Unknown(string filePath, int version) => new(
        $"The SQLite database '{filePath}' has schema version {version}, which no release of Omnichannel.Sdk.Sqlite writes; it was " +
        "left unchanged. Restore a backup, or set PRAGMA user_version back to the version the file was at.",
        filePath);

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Rolls back the open transaction, if SQLite has not already done so after the error.</summary>
    public static void TryRollback(SqliteConnection connection)
    {
        try
        {
            Execute(connection, "ROLLBACK");
        }
        catch (SqliteException)
        {
            // "no transaction is active": SQLite rolled back on its own (I/O error, disk full).
        }
    }
}
