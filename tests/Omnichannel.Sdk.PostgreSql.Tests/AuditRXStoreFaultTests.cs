using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit RX: store faults and resource exhaustion from public reports, replayed on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditRXStoreFaultTests(PostgreSqlServer server)
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AfterAFailoverToAReadOnlyServerEnds_TheNextEventIsStored_WithoutARestart()
    {
        // npgsql/efcore.pg#1306, brettwooldridge/HikariCP#1802: after a failover the pool keeps sessions on a read-only
        // server and every write fails with 25006 until the process restarts. Here new sessions are read-only while the
        // "failover" lasts (the database's default), and the sessions opened meanwhile stay read-only after it ends.
        var connectionString = await server.DatabaseAsync("auditrx_read_only_failover");
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var who = Identifier.Email("ann@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("ro1", who))).Status);

        await using var admin = new NpgsqlConnection(connectionString);
        await admin.OpenAsync();
        await Execute(admin, $"ALTER DATABASE \"{database}\" SET default_transaction_read_only = on");
        await Execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");

        // While the server is read-only: never acknowledged, always transient (the first try may meet a killed socket).
        var sawReadOnly = false;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var failed = await client.TrackAsync(Event("ro2", who)).AsTask().WaitAsync(Guard);
            Assert.Equal(TrackStatus.StoreFailed, failed.Status);
            Assert.True(failed.IsTransient);
            sawReadOnly |= failed.FailureReason!.Contains("read-only", StringComparison.Ordinal);
        }

        Assert.True(sawReadOnly);

        await Execute(admin, $"ALTER DATABASE \"{database}\" RESET default_transaction_read_only");

        // The fault is gone: the very next try is stored, once.
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("ro2", who)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("ro3", who)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event("ro2", who)).AsTask().WaitAsync(Guard)).Status);
        var profile = await client.GetProfileAsync(who);
        Assert.Equal(["ro1", "ro2", "ro3"], profile!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ARowLockedPastTheLockTimeout_FailsThatEventAlone_AsTransient_AndTheRestOfTheBatchIsStored()
    {
        // A lock_timeout (55P03) or statement_timeout (57014) on one profile's row (a long transaction from a report or a
        // migration, HangfireIO/Hangfire.PostgreSql lock timeouts): that event is a transient failure, its neighbours in
        // the batch (which share the group commit) are stored, and the retry after the lock is gone is stored once.
        var connectionString = new NpgsqlConnectionStringBuilder(await server.DatabaseAsync("auditrx_lock_timeout")) { Options = "-c lock_timeout=200" }.ConnectionString;
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        var bob = Identifier.Email("bob@example.com");
        var cy = Identifier.Email("cy@example.com");
        foreach (var (id, who) in new[] { ("l1", ann), ("l2", bob), ("l3", cy) })
        {
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event(id, who))).Status);
        }

        var annId = (await client.GetProfileAsync(ann))!.Id;
        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            await using var tx = await admin.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM omnichannel.profiles WHERE id = $1 FOR UPDATE", admin, tx))
            {
                lockRow.Parameters.AddWithValue(annId);
                await lockRow.ExecuteNonQueryAsync();
            }

            var results = await client.TrackBatchAsync([Event("b1", bob), Event("a1", ann), Event("c1", cy), Event("b2", bob)]).WaitAsync(Guard);
            Assert.Equal([TrackStatus.Accepted, TrackStatus.StoreFailed, TrackStatus.Accepted, TrackStatus.Accepted], results.Select(r => r.Status));
            Assert.True(results[1].IsTransient);
            await tx.RollbackAsync();
        }

        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("a1", ann)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(["a1", "l1"], (await client.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(["b1", "b2", "l2"], (await client.GetProfileAsync(bob))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(["c1", "l3"], (await client.GetProfileAsync(cy))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SixteenPartitions_OnAPoolOfOneConnection_StoreEveryEvent_WithoutDeadlock()
    {
        // Pool exhaustion (npgsql/npgsql "The connection pool has been exhausted"; HangfireIO/Hangfire workers outnumbering
        // Max Pool Size): more partitions, reads and commits at once than connections must queue, never deadlock. The
        // store holds one connection for one round trip and never waits for a second while holding one.
        var connectionString = new NpgsqlConnectionStringBuilder(await server.DatabaseAsync("auditrx_pool_of_one")) { MaxPoolSize = 1, Timeout = 60 }.ConnectionString;
        await using var sp = Build(connectionString, partitions: 16);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var people = Enumerable.Range(0, 40).Select(i => Identifier.Email($"p{i}@example.com")).ToList();

        var batch = client.TrackBatchAsync(Enumerable.Range(0, 200).Select(i => Event($"e{i}", people[i % people.Count])));
        var reads = people.Select(p => client.GetProfileAsync(p).AsTask()).ToList();
        var results = await batch.WaitAsync(Guard);
        await Task.WhenAll(reads).WaitAsync(Guard);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        foreach (var p in people)
        {
            Assert.Equal(5, (await client.GetProfileAsync(p).AsTask().WaitAsync(Guard))!.Timeline.Count);
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private ServiceProvider Build(string connectionString, int partitions = 2)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = partitions;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        }).UsePostgreSqlStore(connectionString);
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = EventTypes.ProductViewed,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
    };
}
