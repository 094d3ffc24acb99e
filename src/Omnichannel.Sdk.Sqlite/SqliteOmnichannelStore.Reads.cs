using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Storage;
using SQLitePCL;

namespace Omnichannel.Sdk.Sqlite;

// Reads: each on a pooled reader connection of its own (WAL: readers never wait for the writer); a point read on the
// writer connection when it is idle (RentPointReader).
public sealed partial class SqliteOmnichannelStore
{
    /// <inheritdoc />
    public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(profileId))
        {
            return ValueTask.FromResult<StoredProfile?>(null);
        }

        var reader = RentPointReader();
        try
        {
            using var row = reader.Command("SELECT version, document FROM profiles WHERE id = $p0", profileId).ExecuteReader();
            StoredProfile? profile = row.Read() ? new StoredProfile(profileId, row.GetInt64(0), row.GetFieldValue<byte[]>(1)) : null;
            return ValueTask.FromResult(profile);
        }
        finally
        {
            ReturnPointReader(reader);
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(profileId))
        {
            return ValueTask.FromResult<string?>(null);
        }

        var reader = RentPointReader();
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
            ReturnPointReader(reader);
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

        // The caller's list is read before the connection is taken: the writer's, when it is idle, holds every batch while
        // it is held, and the caller's code (an indexer, an enumerator) must not run then.
        if (identifiers.Count == 1)
        {
            var id = identifiers[0];

            // A default identifier (no type or value) has no owner, as in memory and in a batch (not a bind error).
            if (id.Type is null || id.Value is null || !StoredText.CanHold(id.Type) || !StoredText.CanHold(id.Value))
            {
                return ValueTask.FromResult(NoOwners);
            }

            var reader = RentPointReader();
            try
            {
                return ValueTask.FromResult<IReadOnlyDictionary<Identifier, string>>(
                    reader.Scalar("SELECT profile_id FROM identifiers WHERE type = $p0 AND value = $p1", id.Type, id.Value) is string owner
                        ? new Dictionary<Identifier, string> { [id] = owner }
                        : NoOwners);
            }
            finally
            {
                ReturnPointReader(reader);
            }
        }

        // Several: one statement for all of them (a JSON array of [type, value] pairs).
        var holdable = identifiers.Where(id => StoredText.CanHold(id.Type) && StoredText.CanHold(id.Value)).Distinct().ToList();
        if (holdable.Count == 0)
        {
            return ValueTask.FromResult(NoOwners);
        }

        var pairs = JsonPairsOf(holdable);
        var rowsReader = RentPointReader();
        try
        {
            Dictionary<Identifier, string>? found = null;
            using var rows = rowsReader.Command(
                "SELECT i.type, i.value, i.profile_id FROM json_each($p0) j JOIN identifiers i ON i.type = j.value ->> 0 AND i.value = j.value ->> 1",
                pairs).ExecuteReader();
            while (rows.Read())
            {
                (found ??= [])[new Identifier(rows.GetString(0), rows.GetString(1))] = rows.GetString(2);
            }

            return ValueTask.FromResult<IReadOnlyDictionary<Identifier, string>>(found ?? NoOwners);
        }
        finally
        {
            ReturnPointReader(rowsReader);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eventId);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(StoredText.CanHold(eventId) && Exists("SELECT 1 FROM processed_events WHERE event_id = $p0", eventId));
    }

    /// <inheritdoc />
    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(StoredText.CanHold(hash) && Exists("SELECT 1 FROM suppression WHERE hash = $p0", hash));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        var from = afterProfileId is null || StoredText.CanHold(afterProfileId) ? null : StoredText.FirstAfter(afterProfileId);
        if (afterProfileId is not null && from is null && !StoredText.CanHold(afterProfileId))
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([]);
        }

        var reader = RentReader();
        try
        {
            // BINARY collation compares UTF-8 bytes: code point order, as every store answers. A cursor this store cannot
            // hold (SQLite would compare U+FFFD) is replaced by the first text it can hold after it.
            using var rows = afterProfileId is null
                ? reader.Command("SELECT id FROM profiles ORDER BY id LIMIT $p0", (long)limit).ExecuteReader()
                : from is not null
                    ? reader.Command("SELECT id FROM profiles WHERE id >= $p0 ORDER BY id LIMIT $p1", from, (long)limit).ExecuteReader()
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
        if (!StoredText.CanHold(query.JourneyId) || !StoredText.CanHold(query.MetricPrefix))
        {
            return ValueTask.FromResult<IReadOnlyList<Measurement.MeasurementRow>>([]);
        }

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
            if (query.MetricUpperBound is { } below)
            {
                Add("metric < @", below);
            }
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
    public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(segmentId))
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([]);
        }

        var reader = RentReader();
        try
        {
            var exact = afterProfileId is null || StoredText.CanHold(afterProfileId);
            var from = exact ? afterProfileId ?? "" : StoredText.FirstAfter(afterProfileId!);
            if (from is null)
            {
                return ValueTask.FromResult<IReadOnlyList<string>>([]);
            }

            using var rows = reader.Command(
                exact
                    ? "SELECT profile_id FROM segment_members WHERE segment_id = $p0 AND profile_id > $p1 ORDER BY profile_id LIMIT $p2"
                    : "SELECT profile_id FROM segment_members WHERE segment_id = $p0 AND profile_id >= $p1 ORDER BY profile_id LIMIT $p2",
                segmentId,
                from,
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

    private bool HasClaimable(long nowTicks, object served)
    {
        var reader = RentPointReader();
        try
        {
            return reader.Scalar(
                Claimable,
                nowTicks,
                served) is not null;
        }
        finally
        {
            ReturnPointReader(reader);
        }
    }

    private bool Exists(string sql, string value)
    {
        var reader = RentPointReader();
        try
        {
            return reader.Scalar(sql, value) is not null;
        }
        finally
        {
            ReturnPointReader(reader);
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

    private long _pointReadsOnWriter; // under the gate

    /// <summary>Test hook: point reads served on the idle writer connection so far.</summary>
    internal long PointReadsOnWriter
    {
        get
        {
            lock (_writerGate)
            {
                return _pointReadsOnWriter;
            }
        }
    }

    /// <summary>Test hook: statements run on the writer connection so far (batches and point reads).</summary>
    internal long WriterStatementCount
    {
        get
        {
            lock (_writerGate)
            {
                return _writer.Executions;
            }
        }
    }

    /// <summary>
    /// The connection for a point read (a few rows by key): the writer's own when it is idle, else a pooled reader. The
    /// writer keeps its page cache across its own commits, while a reader's cache is dropped whenever any connection has
    /// committed since its last read, so a read there after every commit reads its pages from the file again. Taken only
    /// when free (the batch gate is not held and no transaction is open: never waited for), and held for the read alone,
    /// so a batch that comes meanwhile waits for that one statement at most. What the read sees is the same either way:
    /// the last committed state of the file, this store's and any other connection's. Give it back with
    /// <see cref="ReturnPointReader"/>.
    /// </summary>
    private SqliteStatements RentPointReader()
    {
        if (_writerGate.TryEnter())
        {
            if (!_writerClosed && Volatile.Read(ref _disposed) == 0 && _writer.Connection.Handle is { } db && raw.sqlite3_get_autocommit(db) != 0)
            {
                _pointReadsOnWriter++;
                return _writer;
            }

            _writerGate.Exit();
        }

        return RentReader();
    }

    private void ReturnPointReader(SqliteStatements reader)
    {
        if (ReferenceEquals(reader, _writer))
        {
            _writerGate.Exit();
            return;
        }

        ReturnReader(reader);
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

    private static string JsonPairsOf(List<Identifier> identifiers)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var id in identifiers)
            {
                json.WriteStartArray();
                json.WriteStringValue(id.Type);
                json.WriteStringValue(id.Value);
                json.WriteEndArray();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
