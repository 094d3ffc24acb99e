using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Two processes on one durable store (Audit U55): the engine set-up each process runs (a cart journey, optionally with a
/// one-hour wait, sending by email to a recording transport) and the scenarios both stores must pass. The store is added
/// by the caller (<c>UseSqliteStore</c>, <c>UsePostgreSqlStore</c>).
/// </summary>
internal static class TwoProcessStoreScenario
{
    /// <summary>The longest a test waits (real time) for work the engines' timers started in the background.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>Waits (real time, bounded by <see cref="Bound"/>) for background work; never moves the clock.</summary>
    public static async Task<bool> Eventually(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < Bound)
        {
            await Task.Delay(10);
        }

        return condition();
    }

    /// <summary>One process's engine, without its store.</summary>
    public static OmnichannelBuilder Engine(IServiceCollection services, TimeProvider time, IChannelTransport transport, bool wait)
    {
        services.AddSingleton(time);
        return services.AddOmnichannel(o =>
            {
                o.Partitions = 2;
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.Retry = null;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.CatchUpSegmentsAtStart = false;
            })
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Email("Your cart {{ journey.trigger.cart_id }}", null, "Still thinking?")])))
            .AddTransport("recording", ChannelNames.Email, _ => transport)
            .AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => wait
                    ? s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional)
                    : s.Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional))
                .Build());
    }

    /// <summary>An event at the clock's now; a cart event carries its cart and product.</summary>
    public static CustomerEvent Event(TimeProvider time, string id, string type, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = type == EventTypes.CartItemAdded ? JsonData.From(new { cart_id = "c1", product_id = "p1" }) : default,
    };

    /// <summary>
    /// HangfireIO/Hangfire#1674 (every worker ran the same job on SQLite), #1952 and #2380 (one job run by two servers): two
    /// processes on one store, customers tracked through either, every wait falling due at one instant that both engines'
    /// timers (and their looks in the store) reach: each customer's message is sent exactly once.
    /// </summary>
    /// <param name="process">Builds one process (with its store) on the shared clock and its own transport, waits on.</param>
    public static async Task WaitsFallingDueTogether_SendEachMessageOnceAsync(Func<FakeTimeProvider, RecordingTransport, ServiceProvider> process)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));
        var first = new RecordingTransport();
        var second = new RecordingTransport();
        await using var a = process(time, first);
        await using var b = process(time, second);
        var engines = new[] { a.GetRequiredService<OmnichannelEngine>(), b.GetRequiredService<OmnichannelEngine>() };
        for (var i = 0; i < 12; i++)
        {
            var who = Identifier.CustomerId("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var mail = Identifier.Email("c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "@example.com");
            Assert.Equal(TrackStatus.Accepted, (await engines[i % 2].TrackAsync(Event(time, "s" + i, "user.signed_up", who, mail))).Status);
            Assert.Equal(TrackStatus.Accepted, (await engines[(i + 1) % 2].TrackAsync(Event(time, "c" + i, EventTypes.CartItemAdded, who))).Status);
        }

        time.Advance(TimeSpan.FromHours(1));
        Assert.True(await Eventually(() => first.Messages.Count + second.Messages.Count >= 12), "not every wait ran");

        // Their outcomes recorded before the clock jumps past the leases: a send still in flight when a lease ends on a
        // fake clock is the documented "longer than its lease" case (event id 35), not this class.
        await Task.WhenAll(engines.Select(e => e.RunDueAsync()));
        await Task.WhenAll(engines.Select(e => e.RunDispatchAsync()));
        time.Advance(TimeSpan.FromMinutes(10)); // leases end, looks are made again: nothing is sent a second time
        await Task.WhenAll(engines.Select(e => e.RunDueAsync()));
        await Task.WhenAll(engines.Select(e => e.RunDispatchAsync()));

        var all = first.Messages.Concat(second.Messages).ToList();
        Assert.Equal(12, all.Count);
        Assert.Equal(12, all.Select(m => ((EmailMessage)m).To).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(12, all.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).Count());
    }
}
