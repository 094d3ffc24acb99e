using Microsoft.Data.Sqlite;

namespace Omnichannel.Sdk.Sqlite;

/// <summary>
/// One open connection and its prepared statements, reused call after call. Not thread-safe: a connection is used by
/// one caller at a time (the writer loop, or a reader rented from the pool).
/// </summary>
internal sealed class SqliteStatements(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    /// <summary>Statements run on this connection so far (test hook; the connection's user is its only caller at a time).</summary>
    public long Executions { get; private set; }

    /// <summary>The command for <paramref name="sql"/>, with its parameters bound to <paramref name="values"/> in order ($p0, $p1, …).</summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<object> values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("$p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
            }

            command.Prepare();
            _commands[sql] = command;
        }

        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        Executions++;
        return command;
    }

    public void Execute(string sql, params ReadOnlySpan<object> values) => Command(sql, values).ExecuteNonQuery();

    public int ExecuteCount(string sql, params ReadOnlySpan<object> values) => Command(sql, values).ExecuteNonQuery();

    /// <summary>The first column of the first row, or <see langword="null"/> when there is no row (or it is NULL).</summary>
    public object? Scalar(string sql, params ReadOnlySpan<object> values)
    {
        var value = Command(sql, values).ExecuteScalar();
        return value is DBNull ? null : value;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}
