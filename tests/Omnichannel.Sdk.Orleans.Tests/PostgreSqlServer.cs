using Omnichannel.Sdk.TestServers;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>The test run's throw-away PostgreSQL cluster (see <see cref="PostgreSqlCluster"/>): started once, deleted at the end.</summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private PostgreSqlCluster? _cluster;

    private PostgreSqlCluster Cluster => _cluster ?? throw new InvalidOperationException("The PostgreSQL server has not been started.");

    public async Task InitializeAsync() => _cluster = await PostgreSqlCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Creates (once per name) a fresh database and returns its connection string.</summary>
    public Task<string> DatabaseAsync(string name) => Cluster.DatabaseAsync(name);
}

/// <summary>Every test class that needs the server joins this collection: one server per test run.</summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlServer>
{
    public const string Name = "PostgreSQL server";
}
