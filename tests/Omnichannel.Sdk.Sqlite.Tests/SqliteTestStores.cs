using Omnichannel.Sdk.Sqlite;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>The store and commit shapes the store-level tests share: a store on a file with default options, and a commit of an empty document.</summary>
internal static class SqliteTestStores
{
    public static Task<SqliteOmnichannelStore> Open(string path) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + path });

    public static ProfileCommit Commit(string id, long expectedVersion, string[] segments) => new()
    {
        ProfileId = id,
        ExpectedVersion = expectedVersion,
        Document = "{}"u8.ToArray(),
        Segments = segments,
    };
}
