using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Time-driven work with the silos' own timers on (one shared fake clock): a journey's wait ends, and its message goes
/// out, once, at its instant, on the silos; when silos die, the survivors' sweep of the store's wake-up index and outbox
/// still fires every wake-up and sends every message once.
/// </summary>
public sealed class ClusterWakeUpTests
{
    private const int Customers = 30;
    private const string CartJourney = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "reminder", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryOmnichannelStore _store = new();
    private readonly RecordingTransport _recorder = new(ChannelNames.Email);

    [Fact]
    public async Task AJourneyWait_EndsAtItsInstant_AndItsMessageGoesOutOnce()
    {
        await using var cluster = await StartAsync();
        await AddCartsAsync(cluster);

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(_time.GetUtcNow().AddMinutes(1), await cluster.Engines[0].GetNextWakeUpAsync());
        Assert.Empty(_recorder.Messages);

        _time.Advance(TimeSpan.FromMinutes(1));
        await WaitUntilAsync(() => _recorder.Messages.Count >= Customers, "every reminder sent");
        await AssertEachSentOnceAsync();
    }

    [Fact]
    public async Task WhenTwoOfThreeSilosDie_TheSurvivorFiresTheirWakeUpsAndSendsTheirMessages_Once()
    {
        await using var cluster = await StartAsync();
        await AddCartsAsync(cluster);

        var dying = cluster.Engines.Skip(1).ToList();
        await cluster.KillSilosAsync(keep: 1);
        foreach (var engine in dying)
        {
            // Their engines are gone with them: nothing of theirs can fire.
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.TrackAsync(new ClusterEvents(_time).Event("x", EventTypes.ProductViewed, null, Identifier.CustomerId("x"))));
        }

        _time.Advance(TimeSpan.FromHours(1));
        await WaitUntilAsync(() => _recorder.Messages.Count >= Customers, "every reminder sent by the surviving silo");
        await AssertEachSentOnceAsync();
    }

    private async Task<InProcessCluster> StartAsync() => await InProcessCluster.StartAsync(3, services =>
    {
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            o.Delivery.Retry!.Delay = TimeSpan.Zero;
        })
            .AddJourneysFromJson("[" + CartJourney + "]")
            .UseStore(_ => _store)
            .AddTransport("recorder", ChannelNames.Email, _ => _recorder)
            .UseOrleans(o => o.Sweep = TimeSpan.FromSeconds(10));
    });

    private async Task AddCartsAsync(InProcessCluster cluster)
    {
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        var client = new OmnichannelClusterClient(cluster.Client, options);
        var events = new ClusterEvents(_time);
        var results = await client.TrackBatchAsync(Enumerable.Range(0, Customers).Select(i =>
            events.Event($"cart-{i}", EventTypes.CartItemAdded, new { cart_id = $"c{i}", product_id = "litter", price = 10 }, Identifier.Email($"c{i}@example.com"))));
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
    }

    private async Task AssertEachSentOnceAsync()
    {
        Assert.Equal(Customers, _recorder.Messages.Count);
        Assert.Empty(_recorder.DuplicateMessageIds);
        Assert.Equal(Customers, _recorder.Messages.Cast<EmailMessage>().Select(m => m.To).Distinct().Count());
        Assert.Empty(await _store.GetDueProfilesAsync(_time.GetUtcNow(), 10));
    }

    // A real cluster's work happens on its own threads: wait for the condition, with a deadline, never for a time.
    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"Not reached within a minute: {what}.");
            }

            await Task.Delay(10);
        }
    }
}
