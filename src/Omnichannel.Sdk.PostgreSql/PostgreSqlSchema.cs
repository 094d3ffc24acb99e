using Npgsql;

namespace Omnichannel.Sdk.PostgreSql;

/// <summary>
/// The versioned schema: migration N brings <c>schema_version</c> from N-1 to N, each in its own transaction under a
/// transaction-scoped advisory lock, so processes that start together migrate one after the other.
/// </summary>
internal static class PostgreSqlSchema
{
    /// <summary>The migrations, in order; index i brings the schema to version i + 1. Append only, never edit a shipped one.</summary>
    /// <remarks>Ids are <c>COLLATE "C"</c> so that ORDER BY is ordinal; instants are UTC ticks (exact, like the SQLite store).</remarks>
    public static readonly IReadOnlyList<string> Migrations =
    [
        """
        CREATE TABLE profiles (
            id text COLLATE "C" NOT NULL PRIMARY KEY,
            version bigint NOT NULL,
            document bytea NOT NULL,
            wake_at bigint);
        CREATE INDEX profiles_by_wake_at ON profiles (wake_at, id) WHERE wake_at IS NOT NULL;
        CREATE TABLE identifiers (
            type text COLLATE "C" NOT NULL,
            value text COLLATE "C" NOT NULL,
            profile_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (type, value));
        CREATE INDEX identifiers_by_profile ON identifiers (profile_id);
        CREATE TABLE aliases (
            old_id text COLLATE "C" NOT NULL PRIMARY KEY,
            new_id text COLLATE "C" NOT NULL);
        CREATE INDEX aliases_by_new_id ON aliases (new_id);
        CREATE TABLE processed_events (
            event_id text COLLATE "C" NOT NULL PRIMARY KEY,
            processed_at bigint NOT NULL);
        CREATE INDEX processed_events_by_time ON processed_events (processed_at);
        CREATE TABLE suppression (
            hash text COLLATE "C" NOT NULL PRIMARY KEY);
        CREATE TABLE segment_members (
            segment_id text COLLATE "C" NOT NULL,
            profile_id text COLLATE "C" NOT NULL,
            PRIMARY KEY (segment_id, profile_id));
        CREATE INDEX segment_members_by_profile ON segment_members (profile_id);
        CREATE TABLE outbox (
            message_key text COLLATE "C" NOT NULL PRIMARY KEY,
            profile_id text COLLATE "C" NOT NULL,
            due_at bigint NOT NULL,
            payload bytea NOT NULL,
            attempt integer NOT NULL,
            leased_until bigint);
        CREATE INDEX outbox_by_due ON outbox (due_at, message_key);
        CREATE INDEX outbox_by_profile ON outbox (profile_id);
        -- Outlives the outbox rows: a message key is accepted once, ever.
        CREATE TABLE outbox_keys (
            message_key text COLLATE "C" NOT NULL PRIMARY KEY,
            created_at bigint NOT NULL);
        """,
        """
        -- Keyed hashes of erased identifiers and event ids (never values): events carrying them are refused.
        CREATE TABLE tombstones (
            hash text COLLATE "C" NOT NULL PRIMARY KEY,
            erased_at bigint NOT NULL,
            allows_return boolean NOT NULL);
        """,
        """
        -- Measurement aggregates, changed in the same transaction as the profile commit that caused them. Keyed by journey
        -- and metric first: a journey's or a metric's rows are one range. day: days since 0001-01-01 (UTC).
        CREATE TABLE measurements (
            journey_id text COLLATE "C" NOT NULL,
            metric text COLLATE "C" NOT NULL,
            day integer NOT NULL,
            step_id text COLLATE "C" NOT NULL,
            variant text COLLATE "C" NOT NULL,
            channel text COLLATE "C" NOT NULL,
            template_id text COLLATE "C" NOT NULL,
            n bigint NOT NULL,
            amount double precision NOT NULL,
            PRIMARY KEY (journey_id, metric, day, step_id, variant, channel, template_id));
        CREATE INDEX measurements_by_metric ON measurements (metric, day);
        """,
    ];

    /// <summary>The schema version this code writes.</summary>
    public static int CurrentVersion => Migrations.Count;

    /// <summary>Creates the schema when missing and applies the pending migrations; refuses a newer schema.</summary>
    public static void Migrate(NpgsqlConnection connection, string schema)
    {
        while (true)
        {
            using var transaction = connection.BeginTransaction();

            // One lock per schema name: two processes opening the same store queue here, others do not wait.
            Execute(connection, $"SELECT pg_advisory_xact_lock(hashtext('omnichannel.migrate.' || '{schema}'))");
            Execute(connection, $"CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            Execute(connection, $"CREATE TABLE IF NOT EXISTS \"{schema}\".schema_version (version integer NOT NULL)");
            using var read = new NpgsqlCommand($"SELECT max(version) FROM \"{schema}\".schema_version", connection);
            var version = read.ExecuteScalar() is int v ? v : 0;
            if (version > CurrentVersion)
            {
                throw new PostgreSqlStoreException(
                    $"The PostgreSQL schema '{schema}' has schema version {version}, newer than version {CurrentVersion} that this version of " +
                    "Omnichannel.Sdk.PostgreSql knows. It was migrated by a newer release: upgrade the package, or use another schema.");
            }

            if (version == CurrentVersion)
            {
                transaction.Commit();
                return;
            }

            Execute(connection, $"SET LOCAL search_path TO \"{schema}\"");
            Execute(connection, Migrations[version]);
            Execute(connection, $"DELETE FROM \"{schema}\".schema_version; INSERT INTO \"{schema}\".schema_version (version) VALUES ({version + 1})");
            transaction.Commit();
        }
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
