using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit R: store bug classes from public reports, replayed on PostgreSQL.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditRPostgreSqlTests(PostgreSqlServer server)
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AfterTheServerDropsEveryConnection_AnEventIsStoredOnce_AndNoneIsLostOrDoubled()
    {
        // Connections killed under a pool (a failover, pg_terminate_backend, an idle timeout in a proxy):
        // the next command on a pooled connection fails on the dead socket. An event is either stored or answered as a
        // transient failure the caller retries; the retry is stored once.
        var connectionString = await server.DatabaseAsync("auditr_dropped_connections");
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var who = Identifier.Email("ann@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("r1", who))).Status);
        Assert.NotNull(await client.GetProfileAsync(who)); // a read connection in the pool too

        await using (var admin = new NpgsqlConnection(connectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", admin);
            await kill.ExecuteNonQueryAsync();
        }

        foreach (var id in new[] { "r2", "r3" })
        {
            var result = await client.TrackAsync(Event(id, who));
            for (var attempt = 0; result.Status == TrackStatus.StoreFailed && attempt < 3; attempt++)
            {
                result = await client.TrackAsync(Event(id, who));
            }

            Assert.Equal(TrackStatus.Accepted, result.Status);
            Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event(id, who))).Status);
        }

        var profile = await client.GetProfileAsync(who);
        Assert.Equal(["r1", "r2", "r3"], profile!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TextPostgreSqlCannotHold_InPropertiesAndTraits_IsStoredAndReadBack()
    {
        // PostgreSQL refuses U+0000 in text and jsonb (hasura #6782, open-metadata #31120: the INSERT fails and the event
        // is lost). Properties and traits are carried in the profile document, not in text columns.
        var connectionString = await server.DatabaseAsync("auditr_hostile_text");
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var who = Identifier.Email("zoe@example.com");
        var e = Event("t1", who) with
        {
            Traits = JsonData.From(new { first_name = "Zoë 🎉 \\u0000 \u2028", nickname = new string('x', 2_000) }),
        };

        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(e)).Status);
        await using var reopened = Build(connectionString);
        var profile = await reopened.GetRequiredService<IOmnichannelClient>().GetProfileAsync(who);
        Assert.Equal("Zoë 🎉 \\u0000 \u2028", profile!.Traits["first_name"]!.ToString());
    }

    [Fact]
    public async Task AProviderDisposedSynchronously_ClosesTheStore_InsteadOfThrowing()
    {
        // Audit U58 (dotnet/extensions#1005): `using var provider = services.BuildServiceProvider()` disposes with
        // Dispose(), which threw for a resolved service that is only IAsyncDisposable, as this store was.
        var connectionString = await server.DatabaseAsync("auditr_sync_dispose");
        var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var who = Identifier.Email("ann@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("d1", who))).Status);

        sp.Dispose(); // was: InvalidOperationException ('PostgreSqlOmnichannelStore' type only implements IAsyncDisposable)

        await using var reopened = Build(connectionString);
        Assert.Equal(["d1"], (await reopened.GetRequiredService<IOmnichannelClient>().GetProfileAsync(who))!.Timeline.Select(t => t.EventId));
    }

    private ServiceProvider Build(string connectionString)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
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
