using Omnichannel.Sdk.TestServers;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// The test run's throw-away PostgreSQL cluster (see <see cref="PostgreSqlCluster"/>, shared with the benchmarks):
/// started once, with fsync off, and deleted at the end.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private PostgreSqlCluster? _cluster;

    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port => Cluster.Port;

    /// <summary>A connection string for the maintenance database.</summary>
    public string AdminConnectionString => Cluster.AdminConnectionString;

    private PostgreSqlCluster Cluster => _cluster ?? throw new InvalidOperationException("The PostgreSQL server has not been started.");

    public async Task InitializeAsync() => _cluster = await PostgreSqlCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>A connection string for a database of the cluster.</summary>
    public string ConnectionString(string database) => Cluster.ConnectionString(database);

    /// <summary>Creates (once per name) a fresh database and returns its connection string.</summary>
    public Task<string> DatabaseAsync(string name) => Cluster.DatabaseAsync(name);
}

/// <summary>Every test class that needs the server joins this collection: one cluster per test run.</summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlServer>
{
    public const string Name = "PostgreSQL server";
}
