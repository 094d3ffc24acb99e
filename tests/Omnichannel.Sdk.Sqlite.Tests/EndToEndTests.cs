using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

public sealed class EndToEndTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task TrackedEvents_SurviveARestartOfTheServiceProvider()
    {
        var path = _folder.File();
        string[] bothIds;
        await using (var sp = Build(path))
        {
            var client = sp.GetRequiredService<IOmnichannelClient>();
            Assert.IsType<SqliteOmnichannelStore>(sp.GetRequiredService<OmnichannelEngine>().Store);

            var anonymous = await client.TrackAsync(Event("e1", EventTypes.ProductViewed, Identifier.AnonymousId("anon-1")));
            var known = await client.TrackAsync(Event("e2", EventTypes.ProductViewed, Identifier.Email("Ann@Example.com")));
            Assert.Equal(TrackStatus.Accepted, anonymous.Status);
            Assert.NotEqual(anonymous.ProfileId, known.ProfileId);
            bothIds = [anonymous.ProfileId!, known.ProfileId!];

            // The login joins the two: one profile absorbs the other.
            var login = await client.TrackAsync(Event("e3", EventTypes.ProductViewed, Identifier.AnonymousId("anon-1"), Identifier.Email("ann@example.com")));
            Assert.Equal(TrackStatus.Accepted, login.Status);
            var results = await client.TrackBatchAsync(Enumerable.Range(0, 20).Select(i => Event($"b{i}", EventTypes.ProductViewed, Identifier.Email("ann@example.com"))));
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        }

        await using (var sp = Build(path))
        {
            var client = sp.GetRequiredService<IOmnichannelClient>();
            var profile = await client.GetProfileAsync(Identifier.Email("ann@example.com"));
            Assert.NotNull(profile);
            Assert.True(profile.Has(Identifier.AnonymousId("anon-1")));
            Assert.Equal(23, profile.Timeline.Count);
            Assert.Single(profile.Merges);
            var absorbedId = profile.Merges[0].AbsorbedProfileId;
            Assert.Equal(bothIds.Order(StringComparer.Ordinal), new[] { absorbedId, profile.Id }.Order(StringComparer.Ordinal));
            Assert.Equal(profile.Id, (await client.GetProfileByIdAsync(absorbedId))?.Id);

            // Event ids were kept with the profiles: a re-sent event is a duplicate, not applied twice.
            Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event("e3", EventTypes.ProductViewed, Identifier.Email("ann@example.com")))).Status);
            Assert.Equal(23, (await client.GetProfileAsync(Identifier.Email("ann@example.com")))!.Timeline.Count);
        }
    }

    [Fact]
    public async Task HostStart_WithoutAHashKey_FailsSayingWhatToSet()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddOmnichannel().UseSqliteStore(_folder.File());
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Privacy.HashKey is required with a durable store", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostStart_WithCorruptDatabase_FailsNamingTheFile()
    {
        var path = _folder.File();
        await File.WriteAllTextAsync(path, "this is not a database, just some text that is long enough to be a header");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseSqliteStore(path);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<SqliteStoreException>(() => host.StartAsync());
        Assert.Contains(Path.GetFullPath(path), ex.Message);
    }

    [Fact]
    public void UseSqliteStore_AfterAnotherStore_ThrowsWithAdvice()
    {
        var builder = new ServiceCollection().AddOmnichannel().UseInMemoryStore();

        var ex = Assert.Throws<InvalidOperationException>(() => builder.UseSqliteStore(_folder.File()));
        Assert.Contains("Call only one of", ex.Message);
    }

    [Fact]
    public async Task UseSqliteStore_AppliesConfigureAndTheContainersClock()
    {
        var path = _folder.File();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseSqliteStore("Data Source=" + path, o =>
        {
            o.MaxBatchSize = 2;
            o.MaxBatchDelay = TimeSpan.FromHours(1);
        });
        await using var sp = services.BuildServiceProvider();
        var store = (SqliteOmnichannelStore)sp.GetRequiredService<OmnichannelEngine>().Store;
        Assert.Equal(Path.GetFullPath(path), store.FilePath);

        // Two commits fill a batch of 2 at once: the hour-long delay on the frozen fake clock never has to pass.
        var a = store.CommitAsync(new ProfileCommit { ProfileId = "a", ExpectedVersion = 0, Document = [1] }).AsTask();
        var b = store.CommitAsync(new ProfileCommit { ProfileId = "b", ExpectedVersion = 0, Document = [2] }).AsTask();
        await Task.WhenAll(a, b);
        Assert.Equal(1, store.TransactionCount);
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

    private CustomerEvent Event(string id, string type, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
    };
}
