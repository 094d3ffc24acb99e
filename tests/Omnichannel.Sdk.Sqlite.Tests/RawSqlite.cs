using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>A test's own connection to a database file, beside the store's (no pooling: closed means closed).</summary>
internal static class RawSqlite
{
    public static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
