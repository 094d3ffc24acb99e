using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite;

// One commit applied by the writer loop: every expectation checked before the first write, then the rows written.
public sealed partial class SqliteOmnichannelStore
{
    private static CommitResult ApplyCommit(SqliteStatements w, ProfileCommit commit, long nowTicks)
    {
        // Every check comes before the first write, so a refused commit has written nothing even before its savepoint is rolled back.
        // The checks of the profile's own rows are one statement: the event processed, the version, an alias of the id,
        // and how many segment rows it has (none and none wanted, the usual case, needs no look at them).
        // The same statement tells whether the membership set is the one wanted: as many rows as wanted segments, each of
        // them wanted (no separate read of the rows).
        var wanted = commit.Segments.Count == 0 ? null : new HashSet<string>(commit.Segments, StringComparer.Ordinal);
        var wantedJson = wanted is null ? "[]" : JsonArrayOf([.. wanted]);
        // A single claim (a new profile's first identifier, the usual one) has its owner read by the same statement too.
        const string Check =
            "SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = $p0), (SELECT version FROM profiles WHERE id = $p1), " +
            "EXISTS (SELECT 1 FROM aliases WHERE old_id = $p1), (SELECT count(*) FROM segment_members WHERE profile_id = $p1), " +
            "(SELECT count(*) FROM segment_members WHERE profile_id = $p1 AND segment_id IN (SELECT value FROM json_each($p2)))";
        var eventId = commit.EventId is null ? DBNull.Value : (object)commit.EventId;
        var oneClaim = commit.Claims.Count == 1 ? commit.Claims[0] : null;
        bool processed, aliased;
        long currentVersion, members, membersWanted;
        string? oneClaimOwner = null;
        using (var check = oneClaim is null
            ? w.Command(Check, eventId, commit.ProfileId, wantedJson).ExecuteReader()
            : w.Command(
                Check + ", (SELECT profile_id FROM identifiers WHERE type = $p3 AND value = $p4)",
                eventId,
                commit.ProfileId,
                wantedJson,
                oneClaim.Identifier.Type,
                oneClaim.Identifier.Value).ExecuteReader())
        {
            check.Read();
            processed = check.GetInt64(0) != 0;
            currentVersion = check.IsDBNull(1) ? 0 : check.GetInt64(1);
            aliased = check.GetInt64(2) != 0;
            members = check.GetInt64(3);
            membersWanted = check.GetInt64(4);
            oneClaimOwner = oneClaim is null || check.IsDBNull(5) ? null : check.GetString(5);
        }

        // A run's further event ids: one statement for all of them (a JSON array), whatever their number.
        var further = commit.FurtherEventIds.Count == 0 ? null : JsonArrayOf(commit.FurtherEventIds);
        if (further is not null)
        {
            processed |= Convert.ToInt64(w.Scalar("SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id IN (SELECT value FROM json_each($p0)))", further), System.Globalization.CultureInfo.InvariantCulture) != 0;
        }

        if (processed)
        {
            return new CommitResult(CommitStatus.DuplicateEvent, 0);
        }

        if (currentVersion != commit.ExpectedVersion || (commit.ExpectedVersion == 0 && aliased))
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
            var owner = oneClaim is not null
                ? oneClaimOwner
                : w.Scalar("SELECT profile_id FROM identifiers WHERE type = $p0 AND value = $p1", c.Identifier.Type, c.Identifier.Value) as string;
            if (owner != c.ExpectedOwner)
            {
                return new CommitResult(CommitStatus.Conflict, 0);
            }
        }

        // A key accepted before (another person's message, or one long ago) would be dropped: refused, not lost.
        foreach (var entry in commit.Outbox)
        {
            if (Convert.ToInt64(w.Scalar("SELECT EXISTS (SELECT 1 FROM outbox_keys WHERE message_key = $p0)", entry.MessageKey), System.Globalization.CultureInfo.InvariantCulture) != 0)
            {
                return new CommitResult(CommitStatus.MessageKeyTaken, 0);
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
            // A key is accepted once, ever: outbox_keys remembers it after the row is completed, with the profile it was
            // accepted for (audit U102: her erasure finds it there).
            if (w.ExecuteCount("INSERT INTO outbox_keys (message_key, created_at, profile_id) VALUES ($p0, $p1, $p2) ON CONFLICT (message_key) DO NOTHING", entry.MessageKey, nowTicks, entry.ProfileId) == 1)
            {
                w.Execute(
                    "INSERT INTO outbox (message_key, profile_id, due_at, payload, attempt, leased_until, channel) VALUES ($p0, $p1, $p2, $p3, 0, NULL, $p4)",
                    entry.MessageKey,
                    entry.ProfileId,
                    entry.DueAt.UtcTicks,
                    entry.Payload,
                    entry.Channel is null ? DBNull.Value : entry.Channel);
            }
        }

        // The membership set becomes the wanted one: untouched when it is already (the common case), otherwise only the rows
        // that leave are deleted and those that arrive inserted, one statement each, and only the statement that has rows to
        // change: the check counted the rows there (members) and those of them wanted (membersWanted), so some leave when
        // members > membersWanted and some arrive when fewer than all wanted ones are there.
        if (members > membersWanted)
        {
            w.Execute("DELETE FROM segment_members WHERE profile_id = $p0 AND segment_id NOT IN (SELECT value FROM json_each($p1))", commit.ProfileId, wantedJson);
        }

        if (wanted is not null && membersWanted < wanted.Count)
        {
            w.Execute("INSERT OR IGNORE INTO segment_members (segment_id, profile_id) SELECT value, $p0 FROM json_each($p1)", commit.ProfileId, wantedJson);
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

        if (further is not null)
        {
            w.Execute("INSERT INTO processed_events (event_id, processed_at) SELECT value, $p1 FROM json_each($p0)", further, commit.ProcessedAt.UtcTicks);
        }

        return new CommitResult(CommitStatus.Committed, version);
    }

    private static string JsonArrayOf(IReadOnlyList<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var v in values)
            {
                json.WriteStringValue(v);
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
