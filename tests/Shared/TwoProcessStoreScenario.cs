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
    /// <param name="transport">Its transport; null for a process that only tracks (no transport).</param>
    public static OmnichannelBuilder Engine(IServiceCollection services, TimeProvider time, IChannelTransport? transport, bool wait)
    {
        services.AddSingleton(time);
        var builder = services.AddOmnichannel(o =>
            {
                o.Partitions = 2;
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.Retry = null;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.CatchUpSegmentsAtStart = false;
            })
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Email("Your cart {{ journey.trigger.cart_id }}", null, "Still thinking?")])))
            .AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => wait
                    ? s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional)
                    : s.Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional))
                .Build());
        return transport is null ? builder : builder.AddTransport("recording", ChannelNames.Email, _ => transport);
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
    /// <summary>
    /// kagkarlsson/db-scheduler#561 (node A died holding "picked" executions; node B never ran them), JasperFx/wolverine#565
    /// (outboxed messages of a crashed node dispatched only an hour later): a process claims a message and hangs (or dies)
    /// in the send; the other process sends it once the lease ends, not before, and once. With
    /// <paramref name="startedAfterTheClaim"/>, the other process starts only after the claim (a restart beside a hung or
    /// crashed one): its start-up run finds the message leased, and must still send it when the lease ends.
    /// </summary>
    /// <remarks>
    /// The message is planned by the hung process's wake-up, an hour in on its own clock: on a store that signals planned
    /// work (PostgreSQL's NOTIFY), the surviving process looks at once, and with a message due on its clock it could claim
    /// it before the process that planned it (a race the scenario is not about; the survivor's clock still stands at the
    /// start, so it only arms a timer).
    /// </remarks>
    /// <param name="process">Builds one process (with its store, a one-hour wait in its journey) on a clock and a transport.</param>
    /// <param name="startedAfterTheClaim">Whether the surviving process starts after the other one claimed.</param>
    public static async Task AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEndsAsync(Func<FakeTimeProvider, IChannelTransport, ServiceProvider> process, bool startedAfterTheClaim)
    {
        var ann = Identifier.CustomerId("ann");
        var start = new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero);
        var survivorTime = new FakeTimeProvider(start);
        var hungTime = new FakeTimeProvider(start); // the hung process's clock stands still: its send never times out
        var survivorTransport = new RecordingTransport();
        await using var survivor = process(survivorTime, survivorTransport);
        if (!startedAfterTheClaim)
        {
            _ = survivor.GetRequiredService<OmnichannelEngine>(); // running before the other process starts
        }

        var hanging = new FailingTransport().TimeOut(1);
        var hung = process(hungTime, hanging);
        try
        {
            var other = hung.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(hungTime, "e1", "user.signed_up", ann, Identifier.Email("ann@example.com")))).Status);
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(hungTime, "e2", EventTypes.CartItemAdded, ann))).Status);
            var planned = start.AddHours(1);
            hungTime.SetUtcNow(planned); // its wait ends: the message is planned and claimed at once, on its clock
            Assert.True(await Eventually(() => hanging.Attempts == 1), "the hung process never claimed");
            _ = survivor.GetRequiredService<OmnichannelEngine>();

            var leaseEnd = planned + new DeliveryOptions().Lease;
            survivorTime.SetUtcNow(leaseEnd.AddTicks(-1));
            Assert.Empty(survivorTransport.Messages); // still leased: nothing can be claimed before its end

            survivorTime.SetUtcNow(leaseEnd);
            Assert.True(await Eventually(() => survivorTransport.Messages.Count > 0), "the message the hung process claimed was never sent");
            Assert.Equal("Your cart c1", Assert.Single(survivorTransport.Sent<EmailMessage>()).Subject);
        }
        finally
        {
            hungTime.Advance(TimeSpan.FromMinutes(1)); // its send times out; its late outcome is fenced off
            await hung.DisposeAsync();
        }

        Assert.Single(survivorTransport.Messages);
        Assert.Empty(hanging.Recorder!.Messages);
    }
}
