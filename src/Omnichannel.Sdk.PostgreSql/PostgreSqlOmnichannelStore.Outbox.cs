using Npgsql;
using NpgsqlTypes;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.PostgreSql;

// The outbox: claims lease due rows with a fencing attempt number (FOR UPDATE SKIP LOCKED, so two claimers never lease
// the same row); completion and rescheduling check that number.
public sealed partial class PostgreSqlOmnichannelStore
{
    /// <inheritdoc />
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) =>
        ClaimOutboxAsync(now, lease, limit, null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var nowTicks = now.UtcTicks;

        // Saturate rather than overflow: a lease past the end of time is simply held forever.
        var leasedUntil = lease.Ticks >= DateTimeOffset.MaxValue.UtcTicks - nowTicks ? DateTimeOffset.MaxValue.UtcTicks : nowTicks + lease.Ticks;

        // One statement picks and leases; SKIP LOCKED lets concurrent claimers (other processes) take other rows instead of
        // waiting, and the outer condition re-checks a row that another claimer leased and committed in the meantime.
        await using var command = _dataSource.CreateCommand(
            """
            UPDATE outbox SET attempt = attempt + 1, leased_until = $2
            WHERE message_key IN (
                SELECT message_key FROM outbox
                WHERE due_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                  AND ($4::text[] IS NULL OR channel IS NULL OR channel = ANY ($4::text[]))
                ORDER BY due_at, message_key LIMIT $3
                FOR UPDATE SKIP LOCKED)
              AND due_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
            RETURNING message_key, profile_id, due_at, payload, attempt, channel
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = nowTicks });
        command.Parameters.Add(new NpgsqlParameter { Value = leasedUntil });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)limit });
        command.Parameters.Add(ChannelsParameter(channels));
        var claimed = new List<OutboxEntry>();
        try
        {
            await using var rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed.Add(new OutboxEntry
                {
                    MessageKey = rows.GetString(0),
                    ProfileId = rows.GetString(1),
                    DueAt = new DateTimeOffset(rows.GetInt64(2), TimeSpan.Zero),
                    Payload = rows.GetFieldValue<byte[]>(3),
                    Attempt = rows.GetInt32(4),
                    Channel = rows.IsDBNull(5) ? null : rows.GetString(5),
                });
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            ForgetReadOnlySessions();
            throw;
        }

        // RETURNING gives no order; the contract's is earliest due first, then key.
        claimed.Sort(static (x, y) => x.DueAt != y.DueAt ? x.DueAt.CompareTo(y.DueAt) : StoredText.Compare(x.MessageKey, y.MessageKey));
        return claimed;
    }

    /// <inheritdoc />
    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default) =>
        ChangeOneOutboxRowAsync("DELETE FROM outbox WHERE message_key = $1 AND attempt = $2", messageKey, cancellationToken, attempt);

    /// <inheritdoc />
    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default) =>
        ChangeOneOutboxRowAsync("UPDATE outbox SET due_at = $3, leased_until = NULL WHERE message_key = $1 AND attempt = $2", messageKey, cancellationToken, attempt, dueAt.UtcTicks);

    /// <inheritdoc />
    public ValueTask<bool> AdvanceOutboxAsync(string messageKey, DateTimeOffset dueAt, CancellationToken cancellationToken = default) =>
        ChangeOneOutboxRowAsync("UPDATE outbox SET due_at = $2 WHERE message_key = $1 AND leased_until IS NULL AND due_at > $2", messageKey, cancellationToken, dueAt.UtcTicks);

    // One statement on one message's row ($1 the key, then the values): whether it changed exactly that row. A key no row
    // can hold changes nothing; a cancelled call answers nothing, before any answer made without the database (audit U30).
    private async ValueTask<bool> ChangeOneOutboxRowAsync(string sql, string messageKey, CancellationToken cancellationToken, params object[] values)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        cancellationToken.ThrowIfCancellationRequested();
        if (!StoredText.CanHold(messageKey))
        {
            return false;
        }

        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.Add(Text(messageKey));
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            ForgetReadOnlySessions();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) =>
        GetNextOutboxDueAsync(null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default)
    {
        // Free rows: their due_at. Leased rows: the later of due and lease end. NULL when the outbox is empty.
        await using var command = _dataSource.CreateCommand(
            "SELECT min(greatest(due_at, coalesce(leased_until, due_at))) FROM outbox WHERE $1::text[] IS NULL OR channel IS NULL OR channel = ANY ($1::text[])");
        command.Parameters.Add(ChannelsParameter(channels));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long ticks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : null;
    }

    // A claim's channels: the channels served, or NULL for every entry; a row without a channel is anyone's.
    private static NpgsqlParameter ChannelsParameter(IReadOnlyCollection<string>? channels) =>
        new() { Value = channels is null ? DBNull.Value : channels.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
