using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// First hour, twelfth pass: the PostgreSQL README's "web servers and workers on one database", followed literally. The
/// web process registers the journeys and no transport; the worker, told to "register the transports on the processes
/// that should send", registers its transports only. The worker ran her wake-up and ended her journey ("no longer
/// loaded"), and withdrew the message the web process planned ("the journey was removed"), with nothing in its log: the
/// engine cannot tell a removed journey from another process's. Now the reasons name both causes and the engine warns
/// once per journey (event 233) that every process must register the same journeys.
/// </summary>
public sealed class FirstHourTwelfthPassTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-fh12-private");

    [Fact]
    public async Task AWorkerWithoutTheJourney_EndsHerWait_AndSaysWhy_OnTheTimelineAndOnceInItsLog()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        await using (var web = new OmnichannelEngine(WebOptions("PT1H"), new FlakyStore(shared), time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }))
        {
            Assert.Equal(TrackStatus.Accepted, (await web.TrackAsync(SignUp("s1", start, Ann))).Status);
            Assert.Equal(TrackStatus.Accepted, (await web.TrackAsync(SignUp("s2", start, Identifier.CustomerId("bob-fh12-private")))).Status);
        }

        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        var sent = new RecordingTransport();
        await using var worker = new OmnichannelEngine(WorkerOptions(), new FlakyStore(shared), time, logs, delivery: new DeliverySetup().AddTransport(ChannelNames.Email, sent));
        time.Advance(TimeSpan.FromHours(1));
        await worker.RunDueAsync();

        var exited = Assert.Single((await worker.GetProfileAsync(Ann))!.Timeline, t => t.Type == "journey.exited");
        Assert.Equal("welcome: the journey is no longer loaded (removed, or not registered on the process that ran her wake-up or event)", exited.Summary);
        var warning = Assert.Single(lines, l => l.StartsWith("Journey welcome is not loaded on this engine", StringComparison.Ordinal)); // two profiles, one line
        Assert.Contains("register the same journeys", warning, StringComparison.Ordinal);
        Assert.DoesNotContain("fh12-private", string.Concat(lines), StringComparison.Ordinal);
        Assert.Empty(sent.Messages);
    }

    [Fact]
    public async Task AWorkerWithoutTheJourney_WithdrawsTheMessageTheWebPlanned_AndSaysWhy()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        await using (var web = new OmnichannelEngine(WebOptions(null), new FlakyStore(shared), time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }))
        {
            Assert.Equal(TrackStatus.Accepted, (await web.TrackAsync(SignUp("s1", start, Ann))).Status);
        }

        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        var sent = new RecordingTransport();
        await using var worker = new OmnichannelEngine(WorkerOptions(), new FlakyStore(shared), time, logs, delivery: new DeliverySetup().AddTransport(ChannelNames.Email, sent));
        await worker.RunDispatchAsync();

        Assert.Empty(sent.Messages);
        Assert.Contains((await worker.GetProfileAsync(Ann))!.Timeline, t => t.Summary is { } s
            && s.Contains("the journey was removed before the message was due (or is not registered on the process that dispatched it)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Journey welcome is not loaded on this engine", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWorkerWithTheSameJourneys_SendsTheWelcome_AndWarnsNothing()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        await using (var web = new OmnichannelEngine(WebOptions("PT1H"), new FlakyStore(shared), time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }))
        {
            Assert.Equal(TrackStatus.Accepted, (await web.TrackAsync(SignUp("s1", start, Ann))).Status);
        }

        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        var sent = new RecordingTransport();
        await using var worker = new OmnichannelEngine(WebOptions("PT1H"), new FlakyStore(shared), time, logs,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport(ChannelNames.Email, sent));
        time.Advance(TimeSpan.FromHours(1));
        await worker.RunDueAsync();
        await worker.RunDispatchAsync();

        Assert.Single(sent.Messages);
        Assert.DoesNotContain((await worker.GetProfileAsync(Ann))!.Timeline, t => t.Type == "journey.exited");
        Assert.DoesNotContain(lines, l => l.Contains("is not loaded on this engine", StringComparison.Ordinal));
    }

    // The root README's Suppression paragraph: a hard bounce is in her export as "email:#" and the keyed hash, and (since
    // the forty-fifth session) on the store's suppression list, which IsSuppressedAsync answers for, as for an erasure.
    [Fact]
    public async Task AHardBouncedAddress_IsInHerExportAsAHash_AndOnTheSuppressionList()
    {
        await using var host = OmnichannelTestHost.Create();
        var mail = Identifier.Email("clara-fh12@example.com");
        await host.TrackAsync("user.signed_up", [Ann, mail]);
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = mail.Value, bounce_type = "hard" });

        Assert.True(await host.Client.IsSuppressedAsync(mail));
        var entry = (string)Assert.Single((await host.Client.ExportProfileAsync(Ann))!["suppressedAddresses"]!.AsArray())!;
        Assert.Matches("^email:#[0-9a-f]{64}$", entry);

        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.True(await host.Client.IsSuppressedAsync(mail));
    }

    private static CustomerEvent SignUp(string id, DateTimeOffset at, Identifier who) => new()
    {
        Id = id,
        Type = "user.signed_up",
        Timestamp = at,
        Identifiers = [who, Identifier.Email(who.Value + "@example.com")],
    };

    // The web process: the shop's journeys (a welcome, after a wait or at once).
    private static OmnichannelOptions WebOptions(string? wait)
    {
        var o = WorkerOptions();
        var steps = wait is null ? string.Empty : $$"""{"id": "wait", "type": "delay", "duration": "{{wait}}"}, """;
        o.Journeys.Add(JourneyJson.Parse($$"""
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{{steps}}{"id": "hello", "type": "send", "channels": ["email"], "template": "welcome", "class": "transactional"}]}
        """).Value!);
        return o;
    }

    // The worker as the README's sentence reads: its transports and nothing else.
    private static OmnichannelOptions WorkerOptions()
    {
        var o = new OmnichannelOptions { Partitions = 2 };
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return o;
    }
}
