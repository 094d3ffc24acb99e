using Npgsql;

namespace Omnichannel.Sdk.PostgreSql;

/// <summary>
/// The versioned schema: migration N brings <c>schema_version</c> from N-1 to N, each in its own transaction under a
/// transaction-scoped advisory lock, so processes that start together migrate one after the other.
/// </summary>
internal static partial class PostgreSqlSchema
{
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

            try
            {
                Execute(connection, $"SET LOCAL search_path TO \"{schema}\"");
                Execute(connection, Migrations[version]);
                if (version + 1 == MeasurementsVersion)
                {
                    BackfillJourneyCounters(connection);
                }

                Execute(connection, $"DELETE FROM \"{schema}\".schema_version; INSERT INTO \"{schema}\".schema_version (version) VALUES ({version + 1})");
                transaction.Commit();
            }
            catch (PostgresException ex)
            {
                // The server refused the step (not a lost connection): the transaction rolls back with its dispose.
                throw new PostgreSqlStoreException(
                    $"Migrating the PostgreSQL schema '{schema}' from schema version {version} to {version + 1} failed: {ex.MessageText} (SQLSTATE {ex.SqlState}). " +
                    $"The migration was rolled back and the schema left at version {version}. Fix the cause (permissions, an object " +
                    "created by hand in the schema) and open the store again.",
                    ex);
            }
        }
    }

    /// <summary>The schema version that created the measurement aggregates (journey statistics were in the documents before).</summary>
    public const int MeasurementsVersion = 4;

    /// <summary>
    /// In the migration to <see cref="MeasurementsVersion"/>, in its transaction (search path set): the journey counters and
    /// running instances that schema 3 kept only in the profile documents become aggregate rows (see
    /// <see cref="Omnichannel.Sdk.Measurement.JourneyCounterBackfill"/>), so journey statistics do not restart from zero after the upgrade.
    /// </summary>
    private static void BackfillJourneyCounters(NpgsqlConnection connection)
    {
        // One document at a time (the sums are made before any insert, when the reader is done).
        foreach (var row in Omnichannel.Sdk.Measurement.JourneyCounterBackfill.FromDocuments(Documents(connection)))
        {
            var k = row.Key;
            using var insert = new NpgsqlCommand(
                "INSERT INTO measurements (journey_id, metric, day, step_id, variant, channel, template_id, n, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) " +
                "ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id) DO UPDATE SET n = measurements.n + excluded.n",
                connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = k.JourneyId });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.Metric });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.Day.DayNumber });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.StepId });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.Variant });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.Channel });
            insert.Parameters.Add(new NpgsqlParameter { Value = k.TemplateId });
            insert.Parameters.Add(new NpgsqlParameter { Value = row.Count });
            insert.ExecuteNonQuery();
        }
    }

    private static IEnumerable<byte[]> Documents(NpgsqlConnection connection)
    {
        using var read = new NpgsqlCommand("SELECT document FROM profiles", connection);
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            yield return (byte[])reader.GetValue(0);
        }
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
