using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlOmnichannelStore"/>. Checked when the store opens.</summary>
public sealed partial class PostgreSqlStoreOptions
{
    /// <summary>An Npgsql connection string, such as <c>Host=db;Database=shop;Username=app;Password=…</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// The PostgreSQL schema that holds the store's tables; created when missing. Default <c>omnichannel</c>.
    /// Lower-case letters, digits and underscores, starting with a letter or underscore; not <c>pg_</c>… or
    /// <c>information_schema</c>, which PostgreSQL reserves.
    /// </summary>
    public string Schema { get; set; } = "omnichannel";

    /// <summary>The clock that stamps outbox keys; <see cref="TimeProvider.System"/> when <see langword="null"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Every problem with these settings; empty when they are valid.</summary>
    internal IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            problems.Add("ConnectionString is empty: give an Npgsql connection string such as 'Host=localhost;Database=shop;Username=app'.");
        }

        if (Schema is null || !SchemaName().IsMatch(Schema))
        {
            problems.Add($"Schema '{Schema}' is not a plain PostgreSQL name: use lower-case letters, digits and underscores (at most 63), starting with a letter or underscore.");
        }
        else if (Schema.StartsWith("pg_", StringComparison.Ordinal) || Schema == "information_schema")
        {
            // PostgreSQL refuses to create pg_* schemas, and pg_dump leaves information_schema out of backups.
            problems.Add($"Schema '{Schema}' is reserved by PostgreSQL (names starting with 'pg_', and information_schema): choose another name.");
        }

        return problems;
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
