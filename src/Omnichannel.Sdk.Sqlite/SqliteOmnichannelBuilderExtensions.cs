using Omnichannel.Sdk.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store with Omnichannel.Sdk.</summary>
public static class SqliteOmnichannelBuilderExtensions
{
    /// <summary>
    /// Stores profiles, identities and processed events in a SQLite file (see <see cref="SqliteOmnichannelStore"/>).
    /// The database is opened, checked and migrated when the engine is first resolved — at host start-up — so a bad
    /// file or connection string fails the start with a <see cref="SqliteStoreException"/>. The container closes it.
    /// The group-commit delay runs on the container's <see cref="TimeProvider"/>.
    /// </summary>
    /// <param name="builder">The builder from <c>AddOmnichannel</c>.</param>
    /// <param name="connectionString">A connection string such as <c>Data Source=omnichannel.db</c>, or a file path.</param>
    /// <param name="configure">Adjusts the other settings.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">A store was already chosen.</exception>
    public static OmnichannelBuilder UseSqliteStore(this OmnichannelBuilder builder, string connectionString, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseStore(sp =>
        {
            var options = new SqliteStoreOptions { ConnectionString = connectionString };
            configure?.Invoke(options);
            options.TimeProvider ??= sp.GetService<TimeProvider>();
            return SqliteOmnichannelStore.Open(options);
        });
    }
}
