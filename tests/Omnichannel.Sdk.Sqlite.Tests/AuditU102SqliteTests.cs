using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U102 on SQLite: <c>outbox_keys</c> records the profile each key was accepted for (schema version 7), so that her
/// erasure forgets every key of hers, not only the 500 her profile names; a file from version 6 is upgraded, its keys left
/// without a profile.
/// </summary>
public sealed class AuditU102SqliteTests : IDisposable
{
    private const string Email = "ann.u102.sqlite@example.com";
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Her 502 keys built from her address, sent: after her erasure her address is in neither file; Bob's key stays taken.</summary>
    [Fact]
    public async Task HerKeysPastTheFiveHundredHerProfileNames_LeaveNoTraceInTheFile_AndBobsKeyIsStillTaken()
    {
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            start: T0,
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("c-ann-u102");
        var bob = Identifier.CustomerId("c-bob-u102");
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email(Email)]);
        await host.TrackAsync("user.signed_up", [bob, Identifier.Email("bob.keeper.u102@example.com")]);
        static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "r", Class = MessageClass.Transactional };
        for (var i = 0; i < 502; i++)
        {
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Receipt($"receipt-{i}-{Email}"))).Status);
        }

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(bob, Receipt("receipt-bob.keeper.u102@example.com"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(503, email.Messages.Count);

        Assert.True(await host.Client.EraseProfileAsync(ann));

        var bytes = DatabaseFileBytes.Read(path);
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her address is still in the files");
        Assert.True(DatabaseFileBytes.Contains(bytes, "bob.keeper.u102@example.com"), "the other person's data must still be readable");
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Receipt($"receipt-0-{Email}"))).Status);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Receipt("receipt-bob.keeper.u102@example.com"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(503, email.Messages.Count);
    }

    /// <summary>
    /// A file at schema version 6 (keys without a profile) is upgraded: its keys stay, without a profile (an erasure cannot
    /// tell whose they are), and are still refused; keys accepted after the upgrade carry their profile, are found by the
    /// new index and forgotten with her, each keeping its hash.
    /// </summary>
    [Fact]
    public async Task AFileFromSchemaSix_IsUpgraded_ItsKeysStayUnowned_AndKeysAcceptedSinceGoWithHerErasure()
    {
        var path = _folder.File();
        using (var connection = Open(path))
        {
            for (var i = 0; i < 6; i++)
            {
                Execute(connection, SqliteSchema.Migrations[i]);
            }

            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 6;");
            Execute(connection, $"INSERT INTO profiles (id, version, document) VALUES ('p1', 1, x'7B7D'); INSERT INTO outbox_keys (message_key, created_at) VALUES ('old-{Email}', {T0.UtcTicks});");
        }

        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }))
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit
            {
                ProfileId = "p1",
                ExpectedVersion = 1,
                Document = [1],
                Outbox = [new OutboxEntry { MessageKey = $"new-{Email}", ProfileId = "p1", DueAt = T0, Payload = [42] }],
            })).Status);
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit
            {
                ProfileId = "p2",
                ExpectedVersion = 0,
                Document = [2],
                Outbox = [new OutboxEntry { MessageKey = "bob-key", ProfileId = "p2", DueAt = T0, Payload = [43] }],
            })).Status);
            Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(new ProfileCommit
            {
                ProfileId = "p3",
                ExpectedVersion = 0,
                Document = [3],
                Outbox = [new OutboxEntry { MessageKey = $"old-{Email}", ProfileId = "p3", DueAt = T0, Payload = [44] }],
            })).Status);

            Assert.True(await store.EraseProfileAsync(new ProfileErasure
            {
                ProfileId = "p1",
                MessageKeyTombstone = key => new Tombstone("hash:" + key, T0, AllowsReturn: false),
            }));
            Assert.Equal(["hash:new-" + Email], (await store.FindTombstonesAsync(["hash:new-" + Email, "hash:old-" + Email, "hash:bob-key"])).Select(t => t.Hash));
        }

        using (var connection = Open(path))
        {
            Assert.Equal((long)SqliteSchema.CurrentVersion, Scalar(connection, "PRAGMA user_version"));
            Assert.Equal(7L, Scalar(connection, "PRAGMA user_version"));
            Assert.Equal(
                ["bob-key p2", $"old-{Email} -"],
                Rows(connection, "SELECT message_key || ' ' || coalesce(profile_id, '-') FROM outbox_keys ORDER BY message_key"));

            // The erasure's look-up of a profile's keys reads the new index, not the whole table.
            var plan = string.Join(" | ", Rows(connection,
                "EXPLAIN QUERY PLAN WITH RECURSIVE chain(id) AS (SELECT 'p1' UNION SELECT a.old_id FROM aliases a JOIN chain c ON a.new_id = c.id) " +
                "SELECT message_key FROM outbox_keys WHERE profile_id IN (SELECT id FROM chain)", column: 3));
            Assert.Contains("outbox_keys_by_profile", plan, StringComparison.Ordinal);
        }
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<string> Rows(SqliteConnection connection, string sql, int column = 0)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(column));
        }

        return rows;
    }
}
