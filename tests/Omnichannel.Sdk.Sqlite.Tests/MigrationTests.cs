using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

public sealed class MigrationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Open_OnVersionOneDatabase_MigratesAndKeepsItsRows()
    {
        var path = _folder.File();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 1;");
            Execute(connection, "INSERT INTO profiles (id, version, document) VALUES ('p1', 4, x'7B7D'); INSERT INTO identifiers VALUES ('email', 'a@x.io', 'p1');");
        }

        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });

        var p1 = await store.LoadProfileAsync("p1");
        Assert.Equal(4, p1?.Version);
        Assert.Equal("{}"u8.ToArray(), p1?.Document);
        Assert.Equal("p1", (await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io")]))[Identifier.Email("a@x.io")]);
        Assert.Empty(await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10));

        // The columns and tables of the later migrations are there and used.
        var t = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var r = await store.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 4, Document = [1], WakeAt = t, Segments = ["vip"] });
        Assert.Equal(new CommitResult(CommitStatus.Committed, 5), r);
        Assert.Equal([new ProfileWakeUp("p1", t)], await store.GetDueProfilesAsync(t, 10));
        Assert.Equal(["p1"], await store.ListSegmentMembersAsync("vip", null, 10));
    }

    [Fact]
    public async Task Open_OnVersionTwoDatabase_AddsTheOutboxAndKeepsItsRows()
    {
        var path = _folder.File();
        var t = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, SqliteSchema.Migrations[1]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 2;");
            Execute(connection, $"INSERT INTO profiles (id, version, document, wake_at) VALUES ('p1', 2, x'7B7D', {t.UtcTicks}); INSERT INTO segment_members VALUES ('vip', 'p1');");
        }

        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }))
        {
            Assert.Equal(2, (await store.LoadProfileAsync("p1"))?.Version);
            Assert.Equal([new ProfileWakeUp("p1", t)], await store.GetDueProfilesAsync(t, 10));
            Assert.Equal(["p1"], await store.ListSegmentMembersAsync("vip", null, 10));
            Assert.Null(await store.GetNextOutboxDueAsync());

            var r = await store.CommitAsync(new ProfileCommit
            {
                ProfileId = "p1",
                ExpectedVersion = 2,
                Document = [1],
                Outbox = [new OutboxEntry { MessageKey = "m1", ProfileId = "p1", DueAt = t, Payload = [42] }],
            });
            Assert.Equal(new CommitResult(CommitStatus.Committed, 3), r);
            Assert.Equal(t, await store.GetNextOutboxDueAsync());
        }

        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox_keys), " +
                "(SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'outbox_by_due')";
            using var row = command.ExecuteReader();
            Assert.True(row.Read());
            Assert.Equal(((long)SqliteSchema.CurrentVersion, 1L, 1L, 1L), (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2), row.GetInt64(3)));
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
