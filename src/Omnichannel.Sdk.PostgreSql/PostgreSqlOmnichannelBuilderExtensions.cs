using Omnichannel.Sdk.PostgreSql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL store with Omnichannel.Sdk.</summary>
public static class PostgreSqlOmnichannelBuilderExtensions
{
    /// <summary>
    /// Stores profiles, identities, processed events and the outbox in PostgreSQL (see <see cref="PostgreSqlOmnichannelStore"/>).
    /// The schema is created and migrated when the engine is first resolved — at host start-up — so an unreachable
    /// server or a bad connection string fails the start with a <see cref="PostgreSqlStoreException"/>. The container closes it.
    /// </summary>
    /// <param name="builder">The builder from <c>AddOmnichannel</c>.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Adjusts the other settings.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">A store was already chosen.</exception>
    public static OmnichannelBuilder UsePostgreSqlStore(this OmnichannelBuilder builder, string connectionString, Action<PostgreSqlStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseStore(sp =>
        {
            var options = new PostgreSqlStoreOptions { ConnectionString = connectionString };
            configure?.Invoke(options);
            options.TimeProvider ??= sp.GetService<TimeProvider>();
            return PostgreSqlOmnichannelStore.Open(options);
        });
    }
}
