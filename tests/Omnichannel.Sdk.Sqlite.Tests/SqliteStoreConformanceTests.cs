using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Testing.Conformance;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>The storage contract, on a real SQLite file per test.</summary>
public sealed class SqliteStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IOmnichannelStore> CreateStoreAsync() =>
        await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File() });

    public void Dispose() => _folder.Dispose();
}

/// <summary>The storage contract again with group commit off (one transaction per commit) and NORMAL durability.</summary>
public sealed class SqliteStoreWithoutGroupCommitConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override async Task<IOmnichannelStore> CreateStoreAsync() =>
        await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = "Data Source=" + _folder.File(),
            MaxBatchSize = 1,
            Durability = SqliteDurability.Normal,
        });

    public void Dispose() => _folder.Dispose();
}
