using System.Text;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Issue "Bad input and faults", section 6: storage faults are loud.</summary>
public sealed class StorageFaultTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Task<SqliteOmnichannelStore> Open(string path, bool check = true) =>
        SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, CheckIntegrityOnOpen = check });

    private static ProfileCommit Commit(string id, string document) => new() { ProfileId = id, ExpectedVersion = 0, Document = Encoding.UTF8.GetBytes(document), ProcessedAt = T0 };

    [Fact]
    public async Task DeletingTheFiles_WhileTheEngineRuns_FailsEveryLaterEvent_InsteadOfAcceptingIt()
    {
        var path = _folder.File();
        await using (var store = await Open(path))
        {
            await using var host = OmnichannelTestHost.Create(store: store);
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("before")]))).Status);

            foreach (var file in Directory.GetFiles(_folder.Path))
            {
                File.Delete(file);
            }

            for (var i = 0; i < 50; i++)
            {
                var r = await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("after-" + i)]));
                Assert.Equal(TrackStatus.StoreFailed, r.Status);
                Assert.Contains("was deleted or moved", r.FailureReason, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task ReplacingTheFile_WhileTheStoreIsOpen_FailsEveryLaterCommit()
    {
        var path = _folder.File();
        await using var store = await Open(path);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit("p1", "one"))).Status);

        var other = _folder.File("other.db");
        await using (var second = await Open(other))
        {
            await second.CommitAsync(Commit("x", "x"));
        }

        File.Move(other, path, overwrite: true);

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(async () => await store.CommitAsync(Commit("p2", "two")));
        Assert.Contains(OperatingSystem.IsLinux() ? "was replaced" : "was deleted", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SqliteStoreException>(async () => await store.CommitAsync(Commit("p3", "three")));
    }

    [Fact]
    public async Task AFileWithAnIntactHeaderAndGarbagePages_FailsAtOpen_WithTheVerdict()
    {
        var path = _folder.File();
        await using (var store = await Open(path))
        {
            for (var i = 0; i < 200; i++)
            {
                await store.CommitAsync(Commit("p" + i, new string('x', 2000)));
            }
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var pageSize = (bytes[16] << 8) | bytes[17];
        var random = new Random(7);
        for (var i = pageSize * 3; i < Math.Min(bytes.Length, pageSize * 12); i++)
        {
            bytes[i] = (byte)random.Next(256);
        }

        await File.WriteAllBytesAsync(path, bytes);

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => Open(path));
        Assert.Contains("quick_check", ex.Message, StringComparison.Ordinal);

        // The check can be skipped, for inspecting such a file.
        await using var unchecked_ = await Open(path, check: false);
        Assert.Equal(path, unchecked_.FilePath);
    }
}
