using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// A failed migration must be reported as <see cref="SqliteStoreException"/> however often the store was opened before.
/// .NET 10's optimized code for <c>SqliteSchema.Migrate</c>, compiled once thousands of opens had taken the "already current"
/// path, lost the exception its <c>catch … when</c> filter had stored for the handler, so the handler threw a
/// <see cref="NullReferenceException"/> instead (CI, one run in three; design notes, "A failed migration's
/// NullReferenceException"). The many opens here make the runtime compile that optimized code before the failing ones.
/// </summary>
public sealed class MigrationAfterManyOpensTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Migrate_FailingAfterThousandsOfCurrentOpens_StillNamesTheStepAndKeepsTheVersion()
    {
        var current = _folder.File("current.db");
        await (await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = current })).DisposeAsync();
        using (var connection = Connect(current))
        {
            // The path every open of an up-to-date file takes: enough calls for tiered compilation to optimize the method.
            for (var i = 0; i < 30_000; i++)
            {
                SqliteSchema.Migrate(connection, SqliteSchema.CurrentVersion, current);
            }
        }

        var path = _folder.File("version-2.db");
        using (var connection = Connect(path))
        {
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, SqliteSchema.Migrations[1]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 2;");
            Execute(connection, "CREATE TABLE stray (x INTEGER); CREATE INDEX outbox_by_due ON stray (x);");

            // The failed step is rolled back each time, so the same file fails the same way again.
            for (var i = 0; i < 1_000; i++)
            {
                var ex = Assert.Throws<SqliteStoreException>(() => SqliteSchema.Migrate(connection, 2, path));
                Assert.Contains("from schema version 2 to 3", ex.Message);
                Assert.IsType<SqliteException>(ex.InnerException);
            }

            using var version = connection.CreateCommand();
            version.CommandText = "PRAGMA user_version";
            Assert.Equal(2L, version.ExecuteScalar());
        }
    }

    private static SqliteConnection Connect(string path) => RawSqlite.Connect(path);

    private static void Execute(SqliteConnection connection, string sql) => RawSqlite.Execute(connection, sql);
}
