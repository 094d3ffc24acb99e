using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit R: store bug classes from public reports, replayed on SQLite.</summary>
public sealed class AuditRSqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AnOutsideReaderHoldingATransaction_DoesNotLockTheEngineOut()
    {
        // "database is locked" (SQLITE_BUSY): a reporting job or a backup
        // open on the file: in rollback-journal mode a reader's open transaction blocks every writer. The store runs in
        // WAL mode: the events are stored while the reader keeps its snapshot.
        var path = _folder.File();
        await using var sp = Build(path);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("w0"))).Status);

        using var reader = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString());
        reader.Open();
        using var snapshot = reader.BeginTransaction(deferred: true);
        using (var read = reader.CreateCommand())
        {
            read.Transaction = snapshot;
            read.CommandText = "SELECT count(*) FROM profiles";
            Assert.Equal(1L, (long)read.ExecuteScalar()!);
        }

        var results = await client.TrackBatchAsync(Enumerable.Range(1, 50).Select(i => Event($"w{i}")));

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(51, (await client.GetProfileAsync(Identifier.Email("ann@example.com")))!.Timeline.Count(t => t.EventId.StartsWith('w')));
        snapshot.Commit();
    }

    [Fact]
    public async Task TimestampsWithSubMillisecondTicks_SurviveARestartExactly()
    {
        // Stores that keep milliseconds (JavaScript Date) or microseconds (PostgreSQL timestamptz) lose the last digits of
        // a .NET time, and an exact-match de-duplication or ordering by time then disagrees after a reload.
        var path = _folder.File();
        var at = new DateTimeOffset(2026, 2, 1, 8, 59, 59, TimeSpan.FromHours(5.75)).AddTicks(1_234_567);
        await using (var sp = Build(path))
        {
            Assert.Equal(TrackStatus.Accepted, (await sp.GetRequiredService<IOmnichannelClient>().TrackAsync(Event("t1") with { Timestamp = at })).Status);
        }

        await using (var sp = Build(path))
        {
            var entry = Assert.Single((await sp.GetRequiredService<IOmnichannelClient>().GetProfileAsync(Identifier.Email("ann@example.com")))!.Timeline);
            Assert.Equal(at.UtcTicks, entry.Timestamp.UtcTicks);
        }
    }

    private ServiceProvider Build(string path)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        }).UseSqliteStore(path);
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id) => new()
    {
        Id = id,
        Type = EventTypes.ProductViewed,
        Timestamp = _time.GetUtcNow(),
        Identifiers = [Identifier.Email("ann@example.com")],
    };
}
