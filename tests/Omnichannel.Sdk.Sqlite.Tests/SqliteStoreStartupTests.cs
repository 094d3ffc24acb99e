using System.Text;
using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

public sealed class SqliteStoreStartupTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Open_OnMissingFile_CreatesCurrentSchemaInWalMode()
    {
        var path = _folder.File();
        await using (var store = await Open(path))
        {
            Assert.Equal(Path.GetFullPath(path), store.FilePath);
        }

        Assert.Equal(SqliteSchema.CurrentVersion, Scalar<long>(path, "PRAGMA user_version"));
        Assert.Equal(SqliteSchema.ApplicationId, Scalar<long>(path, "PRAGMA application_id"));
        Assert.Equal("wal", Scalar<string>(path, "PRAGMA journal_mode"));
        var tables = Scalar<string>(path, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)");
        Assert.Equal("aliases,identifiers,measurements,outbox,outbox_keys,processed_events,profiles,segment_members,suppression,tombstones", tables);
    }

    [Fact]
    public async Task Open_OnEmptyExistingFile_Migrates()
    {
        var path = _folder.File();
        await File.WriteAllBytesAsync(path, []);
        await using (var store = await Open(path))
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", "doc"))).Status);
        }

        Assert.Equal(SqliteSchema.CurrentVersion, Scalar<long>(path, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Reopen_KeepsEverythingCommitted()
    {
        var path = _folder.File();
        await using (var store = await Open(path))
        {
            await store.CommitAsync(Commit("p1", "one", eventId: "e1") with { Claims = [new(Identifier.Email("a@x.io"), null)] });
            await store.CommitAsync(Commit("p2", "two"));
            await store.CommitAsync(Commit("p2", "two+one") with { ExpectedVersion = 1, Absorbed = [new("p1", 1)], Claims = [new(Identifier.Email("a@x.io"), "p1")] });
            await store.CommitAsync(Commit("p3", "three"));
            await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p3", SuppressionHashes = ["hash-1"] });
        }

        await using (var reopened = await Open(path))
        {
            var p2 = await reopened.LoadProfileAsync("p2");
            Assert.NotNull(p2);
            Assert.Equal(2, p2.Version);
            Assert.Equal("two+one", Encoding.UTF8.GetString(p2.Document));
            Assert.Equal("p2", await reopened.ResolveProfileIdAsync("p1"));
            Assert.Equal("p2", (await reopened.ResolveIdentifiersAsync([Identifier.Email("a@x.io")]))[Identifier.Email("a@x.io")]);
            Assert.True(await reopened.IsEventProcessedAsync("e1"));
            Assert.True(await reopened.IsSuppressedAsync("hash-1"));
            Assert.Equal(["p2"], await reopened.ListProfileIdsAsync(null, 10));
        }

        // Reopening does not migrate again or change the version.
        Assert.Equal(SqliteSchema.CurrentVersion, Scalar<long>(path, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Open_WhenSchemaIsNewer_RefusesNamingBothVersions()
    {
        var path = _folder.File();
        await (await Open(path)).DisposeAsync();
        Execute(path, $"PRAGMA user_version = {SqliteSchema.CurrentVersion + 5}");

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains($"schema version {SqliteSchema.CurrentVersion + 5}", ex.Message);
        Assert.Contains($"version {SqliteSchema.CurrentVersion} that this version", ex.Message);
        Assert.Contains(Path.GetFullPath(path), ex.Message);
        Assert.Equal(Path.GetFullPath(path), ex.FilePath);
    }

    [Fact]
    public async Task Open_WhenFileIsNotSqlite_RefusesNamingTheFile()
    {
        var path = _folder.File();
        var garbage = new byte[8192];
        new Random(42).NextBytes(garbage);
        await File.WriteAllBytesAsync(path, garbage);

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains(Path.GetFullPath(path), ex.Message);
        Assert.Contains("not a SQLite database", ex.Message);
        Assert.IsType<SqliteException>(ex.InnerException);
        Assert.Equal(garbage, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task Open_WhenDatabaseBelongsToAnotherApplication_RefusesAndLeavesItUnchanged()
    {
        var path = _folder.File();
        Execute(path, "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders (total) VALUES (9.5);");

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains("another application", ex.Message);
        Assert.Contains(Path.GetFullPath(path), ex.Message);
        Assert.Equal(0, Scalar<long>(path, "PRAGMA user_version"));
        Assert.Equal("delete", Scalar<string>(path, "PRAGMA journal_mode"));
        Assert.Equal(0, Scalar<long>(path, "SELECT count(*) FROM sqlite_master WHERE name = 'profiles'"));
    }

    [Fact]
    public async Task Open_WhenDirectoryIsMissing_RefusesNamingTheDirectory()
    {
        var path = Path.Combine(_folder.Path, "no-such-dir", "store.db");

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains(Path.Combine(_folder.Path, "no-such-dir"), ex.Message);
        Assert.Contains("does not exist", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "no-such-dir")));
    }

    [Fact]
    public async Task Open_WhenConnectionIsReadOnly_Refuses()
    {
        var path = _folder.File();
        await (await Open(path)).DisposeAsync();

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open($"Data Source={path};Mode=ReadOnly"));
        Assert.Contains(Path.GetFullPath(path), ex.Message);
    }

    [Fact]
    public async Task Open_WhenReadOnlyFileIsMissing_Refuses()
    {
        var path = _folder.File();

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open($"Data Source={path};Mode=ReadOnly"));
        Assert.Contains(Path.GetFullPath(path), ex.Message);
        Assert.False(File.Exists(path));
    }

    [Theory]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=shared;Mode=Memory;Cache=Shared")]
    public async Task Open_WhenDatabaseIsInMemory_RefusesWithAdvice(string connectionString)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Open(connectionString));
        Assert.Contains("UseInMemoryStore", ex.Message);
    }

    [Fact]
    public async Task Open_WithInvalidOptions_ListsEveryProblem()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = " ",
            MaxBatchSize = 0,
            MaxBatchDelay = TimeSpan.FromSeconds(-1),
        }));
        Assert.Contains("ConnectionString", ex.Message);
        Assert.Contains("MaxBatchSize", ex.Message);
        Assert.Contains("MaxBatchDelay", ex.Message);
    }

    [Fact]
    public async Task Open_WithTimeSpanMaxValues_IsRefusedNotFailingLater()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            BusyTimeout = TimeSpan.MaxValue,
            MaxBatchDelay = TimeSpan.MaxValue,
        }));
        Assert.Contains("BusyTimeout", ex.Message);
        Assert.Contains("MaxBatchDelay", ex.Message);
    }

    [Fact]
    public async Task Calls_AfterDispose_Throw()
    {
        var store = await Open(_folder.File());
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.LoadProfileAsync("p1"));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.CommitAsync(Commit("p1", "x")));
    }

    [Fact]
    public async Task Dispose_AppliesWritesAlreadyQueued()
    {
        var path = _folder.File();
        var store = await Open(path);
        var pending = Enumerable.Range(0, 50).Select(i => store.CommitAsync(Commit($"p{i:D2}", "x")).AsTask()).ToList();
        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(pending), r => Assert.Equal(CommitStatus.Committed, r.Status));
        Assert.Equal(50, Scalar<long>(path, "SELECT count(*) FROM profiles"));
    }

    private static Task<SqliteOmnichannelStore> Open(string connectionString) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = connectionString });

    private static ProfileCommit Commit(string id, string document, string? eventId = null) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes(document),
        EventId = eventId,
        ProcessedAt = T0,
    };

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(string path, string sql)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(string path, string sql)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }
}
