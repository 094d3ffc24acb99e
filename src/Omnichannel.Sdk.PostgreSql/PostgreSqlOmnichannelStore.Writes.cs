using System.Data;
using Npgsql;
using NpgsqlTypes;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

// Writes: the commit (one call of omnichannel_commit, or of omnichannel_try_commit in a group, with the measurement deltas),
// erasure and tombstones. The outbox's claims are in PostgreSqlOmnichannelStore.Outbox.cs.
public sealed partial class PostgreSqlOmnichannelStore
{
    /// <inheritdoc />
    public bool CommitsFurtherEventIds => true;

    /// <inheritdoc />
    /// <remarks>
    /// Commits made at the same time (the engine's partitions) share a transaction: see <see cref="RunCommitsAsync"/>.
    /// The result is known, and returned, only once that transaction is durable.
    /// </remarks>
    public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        foreach (var entry in commit.Outbox)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(commit));
            if (entry.MessageKey is null || entry.ProfileId is null || entry.Payload is null)
            {
                throw new ArgumentException($"Outbox entry '{entry.MessageKey}' needs a MessageKey, a ProfileId and a Payload.", nameof(commit));
            }
        }

        // Checked here, before the commit joins a group: text the server would refuse must fail this commit alone.
        if (StoredText.Problem(commit) is { } problem)
        {
            throw new ArgumentException(problem, nameof(commit));
        }

        // Before the answer made without the database: a cancelled call answers nothing (audit U30).
        cancellationToken.ThrowIfCancellationRequested();
        if (commit.Absorbed.Any(a => a.ProfileId == commit.ProfileId))
        {
            return ValueTask.FromResult(new CommitResult(CommitStatus.Conflict, 0));
        }

        var pending = new PendingCommit(commit, cancellationToken);
        if (!_commits.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(PostgreSqlOmnichannelStore));
        }

        return new ValueTask<CommitResult>(pending.Done.Task);
    }

    /// <summary>One commit in its own transaction: the server's SQLSTATE says why it was refused.</summary>
    private async Task<CommitResult> CommitAloneAsync(ProfileCommit commit, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand();
        command.CommandText = CommitStatement(commit, command.Parameters, grouped: false);
        try
        {
            var version = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return new CommitResult(CommitStatus.Committed, version);
        }
        catch (PostgresException ex) when (ex.SqlState == "OCDUP")
        {
            return new CommitResult(CommitStatus.DuplicateEvent, 0);
        }
        catch (PostgresException ex) when (ex.SqlState == "OCKEY")
        {
            return new CommitResult(CommitStatus.MessageKeyTaken, 0);
        }
        catch (PostgresException ex) when (ex.SqlState == "OCCNF" || IsRace(ex))
        {
            // Another writer got there first (a changed version, a moved identifier, a deadlock between two merges): nothing was written.
            return new CommitResult(CommitStatus.Conflict, 0);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            ForgetReadOnlySessions();
            throw;
        }
    }

    /// <summary>
    /// The statement of one commit, its parameters added to <paramref name="p"/>. One statement: the server-side function
    /// checks every expectation with the write that depends on it and aborts on the first that fails — the statement
    /// (<c>omnichannel_commit</c>, alone) or the commit's subtransaction (<c>omnichannel_try_commit</c>, in a group,
    /// which then returns 0 for a duplicate event and -1 for a conflict). Outbox keys repeated within a commit: the first wins.
    /// </summary>
    private string CommitStatement(ProfileCommit commit, NpgsqlParameterCollection p, bool grouped)
    {
        var entries = commit.Outbox.Count > 1 ? commit.Outbox.DistinctBy(e => e.MessageKey, StringComparer.Ordinal).ToList() : commit.Outbox;
        var statement = CommitStatement(commit, entries, p, grouped);
        if (!entries.Any(e => e.Channel is not null))
        {
            return statement;
        }

        // The rows' channels, set by the same statement once the commit has written them (omnichannel_outbox_channels).
        p.Add(new NpgsqlParameter { Value = entries.Select(e => e.Channel).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return WithChannels.GetOrAdd((statement, p.Count), static k => k.Statement
            .Replace("SELECT omnichannel_", "SELECT omnichannel_outbox_channels(omnichannel_", StringComparison.Ordinal)
            .Replace("$17)", $"$17), $13, ${k.Parameter}::text[])", StringComparison.Ordinal));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Statement, int Parameter), string> WithChannels = new();

    private string CommitStatement(ProfileCommit commit, IReadOnlyList<OutboxEntry> entries, NpgsqlParameterCollection p, bool grouped)
    {
        // Measurement deltas go in the same statement (so the same transaction): a data-modifying CTE that joins the
        // commit's result runs after it and is undone with it when an expectation fails (alone: the statement aborts;
        // in a group: it adds nothing unless the commit's version came back). One row per key (an upsert may not touch
        // a row twice), in key order so concurrent commits lock rows in one order.
        var deltas = commit.Measurements.Count == 0 ? [] : commit.Measurements
            .GroupBy(d => d.Key)
            .Select(g => new Measurement.MeasurementDelta(g.Key, g.Sum(d => d.Count), g.Sum(d => d.Sum)))
            .OrderBy(d => d.Key, Measurement.MeasurementKey.Order)
            .ToList();
        p.Add(new NpgsqlParameter { Value = (object?)commit.EventId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = commit.ProcessedAt.UtcTicks });
        p.Add(Text(commit.ProfileId));
        p.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = commit.ExpectedVersion });
        p.Add(new NpgsqlParameter<byte[]> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = commit.Document });
        p.Add(new NpgsqlParameter { Value = commit.WakeAt is { } w ? w.UtcTicks : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        p.Add(TextArray(commit.Absorbed.Select(a => a.ProfileId)));
        p.Add(BigintArray(commit.Absorbed.Select(a => a.ExpectedVersion)));
        p.Add(TextArray(commit.Claims.Select(c => c.Identifier.Type)));
        p.Add(TextArray(commit.Claims.Select(c => c.Identifier.Value)));
        p.Add(new NpgsqlParameter { Value = commit.Claims.Select(c => c.ExpectedOwner).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(TextArray(commit.Segments));
        p.Add(TextArray(entries.Select(e => e.MessageKey)));
        p.Add(TextArray(entries.Select(e => e.ProfileId)));
        p.Add(BigintArray(entries.Select(e => e.DueAt.UtcTicks)));
        p.Add(new NpgsqlParameter { Value = entries.Select(e => e.Payload).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        p.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = _time.GetUtcNow().UtcTicks });
        if (deltas.Count == 0)
        {
            if (commit.FurtherEventIds.Count > 0)
            {
                p.Add(TextArray(commit.FurtherEventIds)); // $18
                return grouped ? TryCommitEventsCall : CommitEventsCall;
            }

            return grouped ? TryCommitCall : CommitCall;
        }

        p.Add(TextArray(deltas.Select(d => d.Key.JourneyId)));
        p.Add(TextArray(deltas.Select(d => d.Key.Metric)));
        p.Add(new NpgsqlParameter { Value = deltas.Select(d => d.Key.Day.DayNumber).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(TextArray(deltas.Select(d => d.Key.StepId)));
        p.Add(TextArray(deltas.Select(d => d.Key.Variant)));
        p.Add(TextArray(deltas.Select(d => d.Key.Channel)));
        p.Add(TextArray(deltas.Select(d => d.Key.TemplateId)));
        p.Add(BigintArray(deltas.Select(d => d.Count)));
        p.Add(new NpgsqlParameter { Value = deltas.Select(d => d.Sum).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        p.Add(new NpgsqlParameter<short> { NpgsqlDbType = NpgsqlDbType.Smallint, TypedValue = MeasurementShard(commit.ProfileId) });
        if (commit.FurtherEventIds.Count > 0)
        {
            p.Add(TextArray(commit.FurtherEventIds)); // $28
            return grouped ? TryCommitEventsWithMeasurements : CommitEventsWithMeasurements;
        }

        return grouped ? TryCommitWithMeasurements : CommitWithMeasurements;
    }

    // The same statements for a run (ProfileCommit.FurtherEventIds), its ids the last parameter.
    private static string WithFurtherEvents(string statement, int parameter) => statement
        .Replace("omnichannel_try_commit($1,", $"omnichannel_try_commit_events(${parameter}::text[], $1,", StringComparison.Ordinal)
        .Replace("omnichannel_commit($1,", $"omnichannel_commit_events(${parameter}::text[], $1,", StringComparison.Ordinal);

    private static readonly string CommitEventsCall = WithFurtherEvents(CommitCall, 18);

    private static readonly string TryCommitEventsCall = WithFurtherEvents(TryCommitCall, 18);

    private static readonly string CommitEventsWithMeasurements = WithFurtherEvents(CommitWithMeasurements, 28);

    private static readonly string TryCommitEventsWithMeasurements = WithFurtherEvents(TryCommitWithMeasurements, 28);

    private const string CommitCall = "SELECT omnichannel_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

    private const string TryCommitCall = "SELECT omnichannel_try_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

    private const string CommitWithMeasurements =
        """
        WITH c AS (SELECT omnichannel_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) AS version),
             m AS (
                INSERT INTO measurements AS m (journey_id, metric, day, step_id, variant, channel, template_id, n, amount, shard)
                SELECT d.*, $27::smallint FROM c CROSS JOIN unnest($18::text[], $19::text[], $20::integer[], $21::text[], $22::text[], $23::text[], $24::text[], $25::bigint[], $26::double precision[]) AS d
                ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id, shard)
                DO UPDATE SET n = m.n + excluded.n, amount = m.amount + excluded.amount)
        SELECT version FROM c
        """;

    private const string TryCommitWithMeasurements =
        """
        WITH c AS (SELECT omnichannel_try_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) AS version),
             m AS (
                INSERT INTO measurements AS m (journey_id, metric, day, step_id, variant, channel, template_id, n, amount, shard)
                SELECT d.*, $27::smallint FROM c CROSS JOIN unnest($18::text[], $19::text[], $20::integer[], $21::text[], $22::text[], $23::text[], $24::text[], $25::bigint[], $26::double precision[]) AS d
                WHERE c.version > 0
                ON CONFLICT (journey_id, metric, day, step_id, variant, channel, template_id, shard)
                DO UPDATE SET n = m.n + excluded.n, amount = m.amount + excluded.amount)
        SELECT version FROM c
        """;

    /// <inheritdoc />
    /// <remarks>
    /// PostgreSQL deletes by marking row versions dead: their bytes stay in the table and index pages (and in the WAL
    /// segments and any base backup) until <c>VACUUM</c> reclaims the space and later writes reuse it. <c>VACUUM</c> does not
    /// overwrite the freed space; only <c>VACUUM FULL</c> (which rewrites the table, under an exclusive lock) leaves no
    /// copy in the live files, and WAL archives and backups keep theirs until they expire. See the package README.
    /// </remarks>
    public async ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(erasure);
        ArgumentNullException.ThrowIfNull(erasure.ProfileId);
        // Before any answer made without the database: a cancelled call answers nothing (audit U30).
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(erasure.ProfileId))
        {
            return false; // no profile has that id
        }

        if (!erasure.SuppressionHashes.All(StoredText.CanHold) || !erasure.Tombstones.All(t => StoredText.CanHold(t?.Hash)))
        {
            throw new ArgumentException("A suppression hash or tombstone holds a NUL or an unpaired surrogate, which the store cannot keep as given.", nameof(erasure));
        }

        var profileId = erasure.ProfileId;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Audit U102: in the same round trip, every key accepted for her or a profile merged into her (past the 500 her
        // document names), found through the alias chain as the journey keys are below; undone with the rest when her
        // profile was not deleted (gone, or a version the erasure did not read).
        var tombstoneOf = erasure.MessageKeyTombstone;
        var ownedKeys = new List<string>();
        int deleted;
        var first = new NpgsqlBatch(connection, transaction);
        await using (first.ConfigureAwait(false))
        {
            var deleteProfile = Add(
                first,
                "DELETE FROM profiles WHERE id = $1 AND ($2::bigint IS NULL OR version = $2)",
                Text(profileId),
                new NpgsqlParameter { Value = erasure.ExpectedVersion is { } v ? v : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            if (tombstoneOf is not null)
            {
                Add(
                    first,
                    "WITH RECURSIVE chain(id) AS (SELECT $1::text COLLATE \"C\" UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                    "DELETE FROM outbox_keys k USING chain WHERE k.profile_id = chain.id RETURNING k.message_key",
                    Text(profileId));
            }

            var rows = await first.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (rows.ConfigureAwait(false))
            {
                do
                {
                    while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        ownedKeys.Add(rows.GetString(0));
                    }
                }
                while (await rows.NextResultAsync(cancellationToken).ConfigureAwait(false));
            }

            deleted = deleteProfile.RecordsAffected;
        }

        if (deleted == 0)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        // Each found key's hash, so that it is still accepted once (those the erasure names are in its tombstones already).
        var tombstones = erasure.Tombstones.ToList();
        if (ownedKeys.Count > 0)
        {
            var seen = tombstones.Select(t => t.Hash).ToHashSet(StringComparer.Ordinal);
            foreach (var key in ownedKeys)
            {
                if (tombstoneOf!(key) is { } t && StoredText.CanHold(t.Hash) && seen.Add(t.Hash))
                {
                    tombstones.Add(t);
                }
            }
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch.ConfigureAwait(false))
        {
            Add(batch, "DELETE FROM identifiers WHERE profile_id = $1", Text(profileId));
            // Journey message keys, and the ids of their outcome events, name the profile they started on
            // (j:{profile id}:…): a key range per id she had, found before the aliases that name those ids go.
            Add(
                batch,
                "WITH RECURSIVE chain(id) AS (SELECT $1::text COLLATE \"C\" UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                "DELETE FROM outbox_keys k USING chain WHERE k.message_key >= 'j:' || chain.id || ':' AND k.message_key < 'j:' || chain.id || ';'",
                Text(profileId));
            Add(
                batch,
                "WITH RECURSIVE chain(id) AS (SELECT $1::text COLLATE \"C\" UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                "DELETE FROM processed_events e USING chain WHERE e.event_id >= 'j:' || chain.id || ':' AND e.event_id < 'j:' || chain.id || ';'",
                Text(profileId));
            // Her own event ids as sent (one may hold her address): their tombstones refuse them from now on. Audit U102:
            // and the outcome ids of the keys found above ({key}:sent…), as the engine names those of the keys it names.
            Add(batch, "DELETE FROM processed_events WHERE event_id = ANY($1::text[])", TextArray(erasure.EventIds.Where(StoredText.CanHold).Concat(ownedKeys.SelectMany(Omnichannel.Sdk.Privacy.Erasure.OutcomeIdsOf))));

            // Every alias whose chain ends here (a profile absorbed by one absorbed in turn): the ids she had.
            Add(
                batch,
                "WITH RECURSIVE chain(id) AS (SELECT $1::text COLLATE \"C\" UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                "DELETE FROM aliases WHERE new_id IN (SELECT id FROM chain)",
                Text(profileId));
            Add(batch, "DELETE FROM segment_members WHERE profile_id = $1", Text(profileId));
            // Audit U99: the keys of her messages her document names (a host may build one from her address).
            Add(batch, "DELETE FROM outbox_keys WHERE message_key = ANY($1::text[])", TextArray(erasure.MessageKeys.Where(StoredText.CanHold)));
            Add(batch, "DELETE FROM outbox WHERE profile_id = $1", Text(profileId));
            Add(batch, "INSERT INTO suppression (hash) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", TextArray(erasure.SuppressionHashes));
            Add(
                batch,
                "INSERT INTO tombstones (hash, erased_at, allows_return) SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[]) " +
                "ON CONFLICT (hash) DO UPDATE SET erased_at = excluded.erased_at, allows_return = excluded.allows_return",
                TextArray(tombstones.Select(t => t.Hash)),
                new NpgsqlParameter { Value = tombstones.Select(t => t.ErasedAt.UtcTicks).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                new NpgsqlParameter { Value = tombstones.Select(t => t.AllowsReturn).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        if (!hashes.All(StoredText.CanHold))
        {
            hashes = [.. hashes.Where(StoredText.CanHold)]; // no tombstone has the others
        }

        if (hashes.Count == 0)
        {
            return [];
        }

        // Through the reader: a new customer's tombstone check shares a round trip with the other partitions' reads.
        return await ReadAsync(
            "SELECT hash, erased_at, allows_return FROM tombstones WHERE hash = ANY($1)",
            static async rows =>
            {
                List<Tombstone>? found = null;
                while (await rows.ReadAsync().ConfigureAwait(false))
                {
                    (found ??= []).Add(new Tombstone(rows.GetString(0), new DateTimeOffset(rows.GetInt64(1), TimeSpan.Zero), rows.GetBoolean(2)));
                }

                return (IReadOnlyList<Tombstone>?)found ?? [];
            },
            cancellationToken,
            TextArray(hashes.Distinct(StringComparer.Ordinal))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        hashes = [.. hashes.Where(StoredText.CanHold)];
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var n = await CountAsync(connection, "DELETE FROM tombstones WHERE hash = ANY($1)", cancellationToken, TextArray(hashes)).ConfigureAwait(false)
            + await CountAsync(connection, "DELETE FROM suppression WHERE hash = ANY($1)", cancellationToken, TextArray(hashes)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return n;
    }

    /// <inheritdoc />
    public async ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        cancellationToken.ThrowIfCancellationRequested();
        var kept = hashes.Distinct(StringComparer.Ordinal).Where(StoredText.CanHold).ToArray();
        if (kept.Length == 0)
        {
            return;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await CountAsync(connection, "INSERT INTO suppression (hash) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", cancellationToken, TextArray(kept)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM processed_events WHERE processed_at < $1");
        command.Parameters.Add(new NpgsqlParameter { Value = processedBefore.UtcTicks });
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            ForgetReadOnlySessions();
            throw;
        }
    }

    // The measurement shard of a profile's commits (see migration 5): stable for a profile, so one person's rows stay few.
    private static short MeasurementShard(string profileId)
    {
        var h = 2166136261u; // FNV-1a
        foreach (var ch in profileId)
        {
            h = (h ^ ch) * 16777619u;
        }

        return (short)(h % MeasurementShards);
    }

    private const uint MeasurementShards = 16;
}
