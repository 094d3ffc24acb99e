using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U67: several engines on one durable store, engine side, on a durable look-alike (<see cref="FlakyStore"/> around
/// one in-memory store, which the engine treats as another process's store). The SQLite and PostgreSQL suites replay the
/// store side (<c>AuditU67SqliteTests</c>, <c>AuditU67PostgreSqlTests</c>).
/// </summary>
public sealed class AuditU67Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u67-private");
    private static readonly Identifier Bob = Identifier.CustomerId("bob-u67-private");

    // Report: commaai/miniray#80 (a failed job's back-off held up scheduling of the others; fixed with a per-job retry
    // deadline), Hangfire/Quartz pollers. Before: while one profile's wake-up kept failing (a poison document), the engine's
    // retry pause (growing to 5 minutes) also switched its look in the store off, so a wait another process committed and
    // then stopped ran only at the next retry, up to 5 minutes late instead of within a look. Now the look skips only the
    // failed profiles and arms the timer for anyone else's wake-up.
    [Fact]
    public async Task AWakeUpThatKeepsFailing_DoesNotHoldBackAWaitAnotherProcessLeft()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        var survivorStore = new FlakyStore(shared);
        await using var survivor = new OmnichannelEngine(Options(), survivorStore, time);
        Assert.Equal(TrackStatus.Accepted, (await survivor.TrackAsync(Event("a1", "cart.item_added", start, Ann))).Status);
        var annId = (await survivor.GetProfileAsync(Ann))!.Id;
        survivorStore.Rewrite = c => c.ProfileId == annId ? throw new IOException("poison") : c;

        // Her wait falls due and fails at every run: the pause grows to its 5-minute ceiling.
        time.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < 10; i++)
        {
            await survivor.RunDueAsync();
        }

        var failedAt = time.GetUtcNow();
        Assert.Equal(failedAt + TimeSpan.FromMinutes(5), survivor.NextWakeAt);

        // Another process (her document is poison there too) commits Bob's one-minute wait and stops.
        await using (var stopped = new OmnichannelEngine(Options(), new FlakyStore(shared) { Rewrite = survivorStore.Rewrite }, time))
        {
            Assert.Equal(TrackStatus.Accepted, (await stopped.TrackAsync(Event("b1", "quick.started", failedAt, Bob))).Status);
        }

        Assert.Equal(1, (await survivor.GetJourneyStatisticsAsync("quick")).Active);
        for (var minute = 0; minute < 2; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1)); // a look each minute; Bob's wait is due after the first
        }

        Assert.True(
            await AuditU55Tests.Eventually(() => survivor.GetJourneyStatisticsAsync("quick").GetAwaiter().GetResult().Active == 0),
            "the wait another process left ran only at the failing profile's next retry");
        Assert.True(time.GetUtcNow() < failedAt + TimeSpan.FromMinutes(5));
        Assert.Equal(start + TimeSpan.FromHours(1), await survivor.GetNextWakeUpAsync()); // hers still fails, and stays due
        await survivor.RunDueAsync(); // after the run the timer started: hers is retried after the (kept) pause
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(5), survivor.NextWakeAt);
    }

    // Report: JasperFx/wolverine#565 and MassTransit's outbox ("delivered by whichever instance runs the delivery service"),
    // the PostgreSQL README's "several web servers and workers on one database". Before: a web process that registers no
    // transport claimed the messages it planned, as every engine dispatches, and failed each one ("no transport is
    // registered for this channel"): the worker beside it, which has the transport, never saw them. Now an engine with no
    // transport on a shared store claims nothing; the worker sends the message (at its look here: FlakyStore does not
    // signal), and nothing is recorded as failed.
    [Fact]
    public async Task AMessagePlannedByAProcessWithoutTransports_IsLeftForTheWorker_NotFailed()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        var sent = new RecordingTransport();
        await using var worker = new OmnichannelEngine(SendOptions(), new FlakyStore(shared), time, delivery: new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport(ChannelNames.Email, sent));
        await worker.RunDueAsync();
        await using var web = new OmnichannelEngine(SendOptions(), new FlakyStore(shared), time, delivery: new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new StubMessageRenderer() });
        Assert.Equal(TrackStatus.Accepted, (await web.TrackAsync(new CustomerEvent
        {
            Id = "w1",
            Type = "user.signed_up",
            Timestamp = start,
            Identifiers = [Ann, Identifier.Email("ann-u67@example.com")],
        })).Status);
        Assert.Equal(0, await web.RunDispatchAsync()); // the web process claims nothing

        time.Advance(TimeSpan.FromMinutes(1)); // the worker's look
        Assert.True(await AuditU55Tests.Eventually(() => sent.Messages.Count > 0), "the worker never sent the message the web process planned");
        await worker.RunDispatchAsync();
        Assert.Equal("hello", Assert.Single(sent.Sent<Omnichannel.Sdk.Delivery.EmailMessage>()).Subject);
        var timeline = (await worker.GetProfileAsync(Ann))!.Timeline;
        Assert.DoesNotContain(timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains(timeline, t => t.Type == EventTypes.MessageSent);
    }

    private static OmnichannelOptions SendOptions()
    {
        var o = AuditU55Tests.Options();
        o.Journeys.Add(JourneyJson.Parse("""
        {"id": "hello", "version": 1, "name": "Hello", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
        """).Value!);
        return o;
    }

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, Identifier who) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [who],
        Properties = type == "cart.item_added" ? JsonData.From(new { cart_id = "c1", product_id = "p1" }) : default,
    };

    private static OmnichannelOptions Options()
    {
        var o = AuditU55Tests.Options();
        o.Journeys.Add(JourneyJson.Parse("""
        {"id": "quick", "version": 1, "name": "Quick", "trigger": {"type": "event", "event": "quick.started"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1M"}, {"id": "done", "type": "exit"}]}
        """).Value!);
        return o;
    }
}
