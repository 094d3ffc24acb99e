using System.Data;
using Npgsql;
using NpgsqlTypes;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

// Reads: plain SELECTs; the hot ones (profile loads, alias and identifier lookups, the processed-event and suppression
// checks) go through the pipeline's reader, so concurrent ones share a round trip.
public sealed partial class PostgreSqlOmnichannelStore
{
    /// <inheritdoc />
    public async ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        // Before any answer made without the database: a cancelled call answers nothing (audit U30).
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(profileId))
        {
            return null;
        }

        return await ReadAsync(
            "SELECT version, document FROM profiles WHERE id = $1",
            async row => await row.ReadAsync().ConfigureAwait(false) ? new StoredProfile(profileId, row.GetInt64(0), row.GetFieldValue<byte[]>(1)) : null,
            cancellationToken,
            Text(profileId)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(profileId))
        {
            return null;
        }

        // Follows the alias chain on the server, bounded like the in-memory store so a damaged cycle cannot spin forever.
        return await ReadAsync(
            """
            WITH RECURSIVE chain (id, hops) AS (
                SELECT $1::text COLLATE "C", 0
                UNION ALL
                SELECT a.new_id, c.hops + 1 FROM chain c JOIN aliases a ON a.old_id = c.id
                WHERE c.hops < 1000 AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = c.id))
            SELECT c.id FROM chain c JOIN profiles p ON p.id = c.id LIMIT 1
            """,
            static async row => await row.ReadAsync().ConfigureAwait(false) ? row.GetString(0) : null,
            cancellationToken,
            Text(profileId)).ConfigureAwait(false);
    }

    /// <summary>
    /// The owners of a list of identifiers: one primary-key probe per identifier. A plain join with the unnested lists let
    /// a generic plan (which guesses 100 identifiers) hash the whole table — a sequential scan per lookup, growing with
    /// the customers; the <c>LIMIT</c> keeps the lateral subquery from being flattened back into that join.
    /// </summary>
    internal const string ResolveIdentifiersSql = """
        SELECT w.type, w.value, i.profile_id FROM unnest($1::text[], $2::text[]) AS w (type, value)
        CROSS JOIN LATERAL (SELECT profile_id FROM identifiers WHERE type = w.type AND value = w.value LIMIT 1) AS i
        """;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        cancellationToken.ThrowIfCancellationRequested();
        if (!identifiers.All(i => StoredText.CanHold(i.Type) && StoredText.CanHold(i.Value)))
        {
            identifiers = [.. identifiers.Where(i => StoredText.CanHold(i.Type) && StoredText.CanHold(i.Value))]; // nobody holds the others
        }

        if (identifiers.Count == 0)
        {
            return NoOwners;
        }

        return await ReadAsync(
            ResolveIdentifiersSql,
            static async rows =>
            {
                Dictionary<Identifier, string>? found = null;
                while (await rows.ReadAsync().ConfigureAwait(false))
                {
                    (found ??= [])[new Identifier(rows.GetString(0), rows.GetString(1))] = rows.GetString(2);
                }

                return (IReadOnlyDictionary<Identifier, string>?)found ?? NoOwners;
            },
            cancellationToken,
            TextArray(identifiers.Select(i => i.Type)),
            TextArray(identifiers.Select(i => i.Value))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventId);
        cancellationToken.ThrowIfCancellationRequested();
        return ExistsAsync("SELECT 1 FROM processed_events WHERE event_id = $1", eventId, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        cancellationToken.ThrowIfCancellationRequested();
        return ExistsAsync("SELECT 1 FROM suppression WHERE hash = $1", hash, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();

        // A cursor this store cannot hold (the server refuses a NUL, Npgsql an unpaired surrogate) is replaced by the
        // first text it can hold after it.
        var exact = afterProfileId is null || StoredText.CanHold(afterProfileId);
        var from = exact ? afterProfileId : StoredText.FirstAfter(afterProfileId!);
        if (!exact && from is null)
        {
            return [];
        }

        await using var command = from is null
            ? _dataSource.CreateCommand("SELECT id FROM profiles ORDER BY id LIMIT $1")
            : _dataSource.CreateCommand(exact ? "SELECT id FROM profiles WHERE id > $2 ORDER BY id LIMIT $1" : "SELECT id FROM profiles WHERE id >= $2 ORDER BY id LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
        if (from is not null)
        {
            command.Parameters.Add(Text(from));
        }

        return await ReadStringsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = _dataSource.CreateCommand(
            "SELECT id, wake_at FROM profiles WHERE wake_at IS NOT NULL AND wake_at <= $1 ORDER BY wake_at, id LIMIT $2");
        command.Parameters.Add(new NpgsqlParameter { Value = dueBy.UtcTicks });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
        await using var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var due = new List<ProfileWakeUp>();
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            due.Add(new ProfileWakeUp(rows.GetString(0), new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero)));
        }

        return due;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(segmentId))
        {
            return [];
        }

        var exact = afterProfileId is null || StoredText.CanHold(afterProfileId);
        var from = exact ? afterProfileId ?? "" : StoredText.FirstAfter(afterProfileId!);
        if (from is null)
        {
            return [];
        }

        await using var command = _dataSource.CreateCommand(exact
            ? "SELECT profile_id FROM segment_members WHERE segment_id = $1 AND profile_id > $2 ORDER BY profile_id LIMIT $3"
            : "SELECT profile_id FROM segment_members WHERE segment_id = $1 AND profile_id >= $2 ORDER BY profile_id LIMIT $3");
        command.Parameters.Add(Text(segmentId));
        command.Parameters.Add(Text(from));
        command.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
        return await ReadStringsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<Measurement.MeasurementRow>> GetMeasurementsAsync(Measurement.MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(query.JourneyId) || !StoredText.CanHold(query.MetricPrefix))
        {
            return [];
        }

        var where = new List<string>();
        await using var command = _dataSource.CreateCommand();
        void Filter(string clause, NpgsqlParameter value)
        {
            command.Parameters.Add(value);
            where.Add(clause.Replace("@", "$" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        if (query.JourneyId is { } journey)
        {
            Filter("journey_id = @", Text(journey));
        }

        if (!string.IsNullOrEmpty(query.MetricPrefix))
        {
            Filter("metric >= @", Text(query.MetricPrefix));
            if (query.MetricUpperBound is { } below)
            {
                Filter("metric < @", Text(below));
            }
        }

        if (query.From is { } from)
        {
            Filter("day >= @", new NpgsqlParameter { Value = from.DayNumber });
        }

        if (query.To is { } to)
        {
            Filter("day <= @", new NpgsqlParameter { Value = to.DayNumber });
        }

        command.Parameters.Add(new NpgsqlParameter { Value = (long)query.Limit });
        command.CommandText = "SELECT journey_id, step_id, variant, channel, template_id, day, metric, sum(n)::bigint, sum(amount) FROM measurements"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty)
            + " GROUP BY journey_id, metric, day, step_id, variant, channel, template_id" // the shards of a row (migration 5)
            + " ORDER BY journey_id, metric, day, step_id, variant, channel, template_id LIMIT $" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var answer = new List<Measurement.MeasurementRow>();
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            answer.Add(new Measurement.MeasurementRow(
                new Measurement.MeasurementKey(rows.GetString(0), rows.GetString(1), rows.GetString(2), rows.GetString(3), rows.GetString(4), DateOnly.FromDayNumber(rows.GetInt32(5)), rows.GetString(6)),
                rows.GetInt64(7),
                rows.GetDouble(8)));
        }

        return answer;
    }
}
