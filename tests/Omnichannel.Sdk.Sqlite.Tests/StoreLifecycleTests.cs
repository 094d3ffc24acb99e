using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit Stx: opening one file from several stores at once, stale version reads, and failed migrations.</summary>
public sealed class StoreLifecycleTests : IDisposable
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromMinutes(2);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Migrate_WhenAnotherStoreMigratedSinceTheCheck_DoesNotApplyAMigrationTwice()
    {
        // Two stores opening one new file: both read version 0, then both migrate, one after the other.
        var path = _folder.File();
        using var first = Connect(path);
        using var second = Connect(path);
        Assert.Equal(0, SqliteSchema.Check(first, path));
        Assert.Equal(0, SqliteSchema.Check(second, path));

        SqliteSchema.Migrate(first, 0);
        SqliteSchema.Migrate(second, 0);

        Assert.Equal((long)SqliteSchema.CurrentVersion, Scalar(second, "PRAGMA user_version"));
        Assert.Equal(1L, Scalar(second, "SELECT count(*) FROM sqlite_master WHERE name = 'profiles'"));
    }

    [Fact]
    public void Migrate_WhenANewerReleaseMigratedSinceTheCheck_RefusesAndLeavesTheNewerVersion()
    {
        // An older binary read the current version; a newer one then moved the file on before the older one wrote.
        var path = _folder.File();
        using var older = Connect(path);
        SqliteSchema.Migrate(older, 0);
        var seen = SqliteSchema.Check(older, path);
        using (var newer = Connect(path))
        {
            Execute(newer, $"PRAGMA user_version = {SqliteSchema.CurrentVersion + 1}");
        }

        var ex = Assert.Throws<SqliteStoreException>(() => SqliteSchema.Migrate(older, seen));

        Assert.Contains($"schema version {SqliteSchema.CurrentVersion + 1}", ex.Message);
        Assert.Contains($"version {SqliteSchema.CurrentVersion} that this version", ex.Message);
        Assert.Equal((long)SqliteSchema.CurrentVersion + 1, Scalar(older, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Open_ManyStoresAtOnceOnANewFile_AllSucceedAndMigrateOnce()
    {
        var path = _folder.File();
        using var start = new Barrier(8);
        // Own threads (LongRunning), not pool threads: eight blocked at the barrier would wait for the pool to grow.
        var opening = Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait(SafetyTimeout);
                return SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap()).ToList();

        var stores = await Task.WhenAll(opening).WaitAsync(SafetyTimeout);
        try
        {
            Assert.Equal(CommitStatus.Committed, (await stores[0].CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = [1] })).Status);
            Assert.NotNull(await stores[7].LoadProfileAsync("p1"));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }

        using var connection = Connect(path);
        Assert.Equal((long)SqliteSchema.CurrentVersion, Scalar(connection, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Open_WhenAMigrationFailsMidway_KeepsTheOldVersionAndNamesTheStep()
    {
        // A version-2 file in which migration 3's second statement will fail: its first statement must be undone too.
        var path = _folder.File();
        using (var connection = Connect(path))
        {
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, SqliteSchema.Migrations[1]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 2;");
            Execute(connection, "CREATE TABLE stray (x INTEGER); CREATE INDEX outbox_by_due ON stray (x);");
        }

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }));

        Assert.Contains("from schema version 2 to 3", ex.Message);
        Assert.Contains("left at version 2", ex.Message);
        Assert.Contains(Path.GetFullPath(path), ex.Message);
        using (var connection = Connect(path))
        {
            Assert.Equal(2L, Scalar(connection, "PRAGMA user_version"));
            Assert.Equal(0L, Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"));
        }
    }

    [Fact]
    public async Task Open_OnVersionOneDatabase_AppliesEachLaterStepOnceInOrder()
    {
        var path = _folder.File();
        using (var connection = Connect(path))
        {
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 1;");
        }

        await (await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path })).DisposeAsync();
        await (await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path })).DisposeAsync();

        using var check = Connect(path);
        Assert.Equal((long)SqliteSchema.CurrentVersion, Scalar(check, "PRAGMA user_version"));
        Assert.Equal(1L, Scalar(check, "SELECT count(*) FROM pragma_table_info('profiles') WHERE name = 'wake_at'"));
        Assert.Equal(1L, Scalar(check, "SELECT count(*) FROM sqlite_master WHERE name = 'measurements'"));
    }

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 30000");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
