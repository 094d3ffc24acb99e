using System.Text;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit ER on SQLite: an erasure racing other work leaves none of her values in the database or WAL bytes.</summary>
public sealed class AuditEraseRaceSqliteTests : IDisposable
{
    private const string Email = "ann.racewell@example.com";
    private const string Phone = "+447700900456";
    private const string CustomerId = "c-ann-racewell";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AnErasureWhileAnotherConnectionReads_LeavesHerValuesInNoFile_OnceTheReaderIsDone()
    {
        // A backup or a reporting query holds a read snapshot while she is erased: the WAL cannot be truncated then. It
        // must be, once the reader is gone, at the next write, not only at the next erasure.
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, BusyTimeout = TimeSpan.FromMilliseconds(50) });
        await using var host = OmnichannelTestHost.Create(store: store);
        Identifier[] ann = [Identifier.Email(Email), Identifier.Phone(Phone), Identifier.CustomerId(CustomerId)];
        for (var i = 0; i < 5; i++)
        {
            await host.TrackAsync(EventTypes.ProductViewed, ann, new { product_id = $"p{i}" });
        }

        await host.TrackAsync("user.signed_up", [Identifier.Email("bob.keeper@example.com")]);
        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), Email), "the test must see her address before the erasure");

        await using (var reader = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await reader.OpenAsync();
            await using var tx = reader.BeginTransaction(deferred: true);
            await using (var read = reader.CreateCommand())
            {
                read.Transaction = tx;
                read.CommandText = "SELECT count(*) FROM profiles";
                Assert.True(Convert.ToInt64(await read.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 2);
            }

            Assert.True(await host.Client.EraseProfileAsync(ann[0]));
            await tx.RollbackAsync();
        }

        var later = await host.TrackAsync(EventTypes.ProductViewed, [Identifier.Email("bob.keeper@example.com")], new { product_id = "p9" });
        Assert.True(later.IsAcknowledged);
        Assert.Empty(await store.ResolveIdentifiersAsync(ann));
        AssertErased(DatabaseFileBytes.Read(path));
        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), "bob.keeper@example.com"));
    }

    private static void AssertErased(byte[] bytes)
    {
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her email is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, Phone), "her phone is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, CustomerId), "her customer id is still in the files");
    }
}
