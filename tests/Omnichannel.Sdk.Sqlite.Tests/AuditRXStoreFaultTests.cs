using System.Globalization;
using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit RX: store faults and resource exhaustion from public reports, replayed on SQLite.</summary>
public sealed class AuditRXStoreFaultTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task WhenTheDiskFills_NoEventIsAcknowledged_AndOnceSpaceIsFreedEachRetryIsStoredOnce()
    {
        // SQLITE_FULL (disk full, or a quota): the batch's transaction fails. Nothing may be answered Accepted that is not
        // stored, every failure must be transient, and once space is freed the same events are stored, each once, in an
        // intact file. The "disk" is the file's page limit (PRAGMA max_page_count on the writer).
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using var host = OmnichannelTestHost.Create(store: store);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("before")]))).Status);

        var pages = Convert.ToInt64(await store.ScalarOnWriterAsync("PRAGMA page_count"), CultureInfo.InvariantCulture);
        await store.ScalarOnWriterAsync("PRAGMA max_page_count = " + pages.ToString(CultureInfo.InvariantCulture));

        var events = Enumerable.Range(0, 20)
            .Select(i => host.Event("user.signed_up", [Identifier.CustomerId("full-" + i)], traits: new { bio = new string((char)('a' + i), 6_000) }))
            .ToList();
        var first = await host.Client.TrackBatchAsync(events).WaitAsync(Guard);
        Assert.Contains(first, r => r.Status == TrackStatus.StoreFailed && r.FailureReason!.Contains("full", StringComparison.Ordinal));
        Assert.All(first.Where(r => r.Status != TrackStatus.Accepted), r =>
        {
            Assert.Equal(TrackStatus.StoreFailed, r.Status);
            Assert.True(r.IsTransient);
        });

        await store.ScalarOnWriterAsync("PRAGMA max_page_count = 1073741823");

        var retried = await host.Client.TrackBatchAsync(events).WaitAsync(Guard);
        for (var i = 0; i < events.Count; i++)
        {
            // Accepted before: a duplicate now. Failed before: nothing of it was written, so it is applied now.
            Assert.Equal(first[i].Status == TrackStatus.Accepted ? TrackStatus.Duplicate : TrackStatus.Accepted, retried[i].Status);
            Assert.Single((await host.Client.GetProfileAsync(Identifier.CustomerId("full-" + i)))!.Timeline);
        }

        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("after")]))).Status);
        using var check = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        check.Open();
        using var command = check.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", command.ExecuteScalar());
    }

    [Fact]
    public async Task AnotherWriterHoldingTheLock_FailsEventsAsTransient_AndTheEngineRecoversWhenItLetsGo()
    {
        // "database is locked" (SQLITE_BUSY) from a second writer (another process, a migration tool, sqlite3 left in a
        // transaction) past the busy timeout: each event is a transient failure, never acknowledged; once the lock is
        // released the same events are stored once, without restarting the store.
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, BusyTimeout = TimeSpan.Zero });
        await using var host = OmnichannelTestHost.Create(store: store);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("before")]))).Status);

        var events = Enumerable.Range(0, 8).Select(i => host.Event("user.signed_up", [Identifier.CustomerId("busy-" + i)])).ToList();
        using (var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            other.Open();
            using var hold = other.CreateCommand();
            hold.CommandText = "BEGIN IMMEDIATE";
            hold.ExecuteNonQuery();

            var blocked = await host.Client.TrackBatchAsync(events).WaitAsync(Guard);
            Assert.All(blocked, r =>
            {
                Assert.Equal(TrackStatus.StoreFailed, r.Status);
                Assert.True(r.IsTransient);
                Assert.Contains("locked", r.FailureReason, StringComparison.Ordinal);
            });

            hold.CommandText = "ROLLBACK";
            hold.ExecuteNonQuery();
        }

        var retried = await host.Client.TrackBatchAsync(events).WaitAsync(Guard);
        Assert.All(retried, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Single((await host.Client.GetProfileAsync(Identifier.CustomerId("busy-" + i)))!.Timeline);
        }
    }
}
