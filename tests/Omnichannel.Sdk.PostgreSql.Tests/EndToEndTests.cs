using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>The engine on the PostgreSQL store, registered through <c>UsePostgreSqlStore</c>.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class EndToEndTests(PostgreSqlServer server)
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task TrackedEvents_SurviveARestartOfTheServiceProvider()
    {
        var connectionString = await server.DatabaseAsync("e2e_restart");
        string anonymousId;
        await using (var sp = Build(connectionString))
        {
            var client = sp.GetRequiredService<IOmnichannelClient>();
            Assert.IsType<PostgreSqlOmnichannelStore>(sp.GetRequiredService<OmnichannelEngine>().Store);
            var anonymous = await client.TrackAsync(Event("e1", EventTypes.ProductViewed, null, Identifier.AnonymousId("anon-1")));
            Assert.Equal(TrackStatus.Accepted, anonymous.Status);
            anonymousId = anonymous.ProfileId!;
            await client.TrackAsync(Event("e2", EventTypes.ProductViewed, null, Identifier.Email("Ann@Example.com")));

            // The login joins the two profiles: one absorbs the other.
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("e3", EventTypes.ProductViewed, null, Identifier.AnonymousId("anon-1"), Identifier.Email("ann@example.com")))).Status);
            var results = await client.TrackBatchAsync(Enumerable.Range(0, 20).Select(i => Event($"b{i}", EventTypes.ProductViewed, null, Identifier.Email("ann@example.com"))));
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        }

        await using (var sp = Build(connectionString))
        {
            var client = sp.GetRequiredService<IOmnichannelClient>();
            var profile = await client.GetProfileAsync(Identifier.Email("ann@example.com"));
            Assert.NotNull(profile);
            Assert.True(profile.Has(Identifier.AnonymousId("anon-1")));
            Assert.Equal(23, profile.Timeline.Count);
            Assert.Equal(profile.Id, (await client.GetProfileByIdAsync(anonymousId))?.Id);
            Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event("e3", EventTypes.ProductViewed, null, Identifier.Email("ann@example.com")))).Status);
        }
    }

    [Fact]
    public async Task TwoEnginesOnOneDatabase_IngestingTheSameCustomersConcurrently_EndWithExactCounts()
    {
        var connectionString = await server.DatabaseAsync("e2e_two_engines");
        await using var a = Build(connectionString);
        await using var b = Build(connectionString);
        var clients = new[] { a.GetRequiredService<IOmnichannelClient>(), b.GetRequiredService<IOmnichannelClient>() };

        // 200 orders of 5 customers, alternately to the two engines, all at once.
        var events = Enumerable.Range(0, 200)
            .Select(i => Event($"o{i}", EventTypes.OrderPlaced, new { order_id = $"O-{i}", total = 10, currency = "USD" }, Identifier.CustomerId($"C-{i % 5}")))
            .ToList();
        var results = await Task.WhenAll(events.Select((e, i) => Task.Run(async () => await clients[i % 2].TrackAsync(e))));
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var store = (PostgreSqlOmnichannelStore)a.GetRequiredService<OmnichannelEngine>().Store;
        Assert.Equal(5, (await store.ListProfileIdsAsync(null, 100)).Count);
        for (var c = 0; c < 5; c++)
        {
            foreach (var client in clients)
            {
                var profile = await client.GetProfileAsync(Identifier.CustomerId($"C-{c}"));
                Assert.NotNull(profile);
                Assert.Equal(40, profile.Statistics.OrderCount);
            }
        }
    }

    [Fact]
    public async Task HostStart_WithAnUnreachableServer_FailsWithAStoreError()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UsePostgreSqlStore("Host=127.0.0.1;Port=1;Username=postgres;Timeout=3");
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<PostgreSqlStoreException>(() => host.StartAsync());
        Assert.Contains("port 1", ex.Message);
    }

    [Fact]
    public async Task UsePostgreSqlStore_AppliesConfigure()
    {
        var connectionString = await server.DatabaseAsync("e2e_configure");
        await using var sp = Build(connectionString, o => o.Schema = "shop_customers");
        var store = (PostgreSqlOmnichannelStore)sp.GetRequiredService<OmnichannelEngine>().Store;
        Assert.Equal("shop_customers", store.Schema);
    }

    [Fact]
    public void UsePostgreSqlStore_AfterAnotherStore_ThrowsWithAdvice()
    {
        var builder = new ServiceCollection().AddOmnichannel().UseInMemoryStore();

        var ex = Assert.Throws<InvalidOperationException>(() => builder.UsePostgreSqlStore("Host=localhost"));
        Assert.Contains("Call only one of", ex.Message);
    }

    private ServiceProvider Build(string connectionString, Action<PostgreSqlStoreOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        }).UsePostgreSqlStore(connectionString, configure);
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, string type, object? properties, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = properties is null ? default : JsonData.From(properties),
    };
}
