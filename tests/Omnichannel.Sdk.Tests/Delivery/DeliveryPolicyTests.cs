using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class DeliveryPolicyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static OmnichannelTestHost Host(Action<OmnichannelOptions>? configure = null, DeliverySetup? setup = null, DateTimeOffset? start = null) =>
        OmnichannelTestHost.Create(configure, start, delivery: setup ?? new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));

    private static async Task SignUp(OmnichannelTestHost host, string email = "ann@example.com", string? timeZone = null) =>
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email(email), Identifier.Phone("+447700900001")],
            context: timeZone is null ? null : new EventContext { TimeZone = timeZone }));

    private static MessageRequest Marketing(string key, string topic = "offers") => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "t", Topic = topic };

    [Fact]
    public async Task AnOptOutTopic_NeedsNoGrant_ButHonoursARefusal()
    {
        await using var host = Host(o => o.Delivery.OptOutTopics.Add("service-news"));
        await SignUp(host);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Marketing("n1", "service-news"))).Status);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Marketing("o1", "offers"))).Status);

        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "service-news", granted = false });
        var refused = await host.Client.SendAsync(Ann, Marketing("n2", "service-news"));
        Assert.Equal((SendStatus.Skipped, "email: no consent for service-news"), (refused.Status, refused.Reason));
    }

    [Fact]
    public async Task AComplaint_WithdrawsMarketingConsentForTheChannel_ButTransactionalMessagesStillGo()
    {
        await using var host = Host();
        await SignUp(host);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Marketing("m1"))).Status);

        await host.TrackAsync(EventTypes.MessageComplained, [Ann], new { channel = "email", message_id = "m1" });

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Marketing("m2"))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Marketing("r1") with { Class = MessageClass.Transactional })).Status);
    }

    [Fact]
    public async Task AnErasedPersonsAddress_IsNeverMessagedAgain_EvenAsANewProfile()
    {
        await using var host = Host();
        await SignUp(host);
        Assert.True(await host.Client.EraseProfileAsync(Ann, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        await host.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("ann-again"), Identifier.Email("ann@example.com")]));
        var r = await host.Client.SendAsync(Identifier.CustomerId("ann-again"),
            new MessageRequest { Key = "receipt", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });

        Assert.Equal((SendStatus.Skipped, "email: the address is suppressed"), (r.Status, r.Reason));
    }

    [Fact]
    public async Task QuietHoursWithDrop_SkipAMessage_WithTheReason()
    {
        await using var host = Host(o => o.Delivery.MarketingQuietHours = QuietHoursAction.Drop, start: new DateTimeOffset(2026, 7, 1, 22, 30, 0, TimeSpan.Zero));
        await SignUp(host);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        var r = await host.Client.SendAsync(Ann, Marketing("late"));

        Assert.Equal(SendStatus.Skipped, r.Status);
        Assert.StartsWith("quiet hours (21:00–08:00 UTC)", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuietHours_AcrossTheAutumnChange_EndAtEightLocalTime()
    {
        // 24 October 2026, 23:00 in New York (EDT, UTC−4); clocks go back on 1 November, so check that night too.
        var zone = "America/New_York";
        await using var host = Host(start: new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero)); // 23:00 EDT on 31 October
        await SignUp(host, timeZone: zone);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        var r = await host.Client.SendAsync(Ann, Marketing("autumn"));

        Assert.Equal(new DateTimeOffset(2026, 11, 1, 13, 0, 0, TimeSpan.Zero), r.DueAt); // 08:00 EST (UTC−5) after the change
    }

    [Fact]
    public async Task APerLocalDayCap_CountsByTheCustomersCalendarDay()
    {
        // Tokyo is UTC+9: 14:00 UTC is 23:00 local, and 15:30 UTC is already the next local day.
        await using var host = Host(o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, null, PerLocalDay: true));
        }, start: new DateTimeOffset(2026, 5, 4, 14, 0, 0, TimeSpan.Zero));
        await SignUp(host, timeZone: "Asia/Tokyo");
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Marketing("d1"))).Status);
        await host.AdvanceAsync(TimeSpan.FromMinutes(59));
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Marketing("d1-again"))).Status);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Marketing("d2"))).Status);
    }

    [Fact]
    public async Task TwoTransportsOfOneChannel_AreTriedInOrderOfPreference_AndAPermanentFailureMovesToTheNext()
    {
        var primary = new FailingTransport(ChannelNames.Sms).FailPermanently("invalid sender id");
        var backup = new RecordingTransport(ChannelNames.Sms);
        var setup = new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("backup", backup, preference: 2).AddTransport("primary", primary, preference: 1);
        await using var host = Host(setup: setup);
        await SignUp(host);

        await host.Client.SendAsync(Ann, new MessageRequest { Key = "code", Channels = [ChannelNames.Sms], TemplateId = "t", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, primary.Attempts);
        Assert.Equal(["code"], backup.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task ATransportThatKeepsFailing_OpensItsCircuit_AndLaterMessagesWaitWithoutCallingIt()
    {
        var failing = new FailingTransport(ChannelNames.Email).FailTransiently(1000);
        var setup = new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("flaky", failing);
        await using var host = Host(o =>
        {
            o.Delivery.QuickRetries = 0;
            o.Delivery.CircuitBreakerMinimumThroughput = 4;
            o.Delivery.CircuitBreakerBreakDuration = TimeSpan.FromMinutes(5);
        }, setup);
        await SignUp(host);
        for (var i = 0; i < 10; i++)
        {
            await host.Client.SendAsync(Ann, new MessageRequest { Key = $"k{i}", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
        }

        await host.Engine.RunDispatchAsync();
        var reached = failing.Attempts; // sends already in flight when the fourth failure was recorded still reach it
        Assert.InRange(reached, 4, 10);

        for (var i = 10; i < 20; i++)
        {
            await host.Client.SendAsync(Ann, new MessageRequest { Key = $"k{i}", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
        }

        await host.Engine.RunDispatchAsync();
        Assert.Equal(reached, failing.Attempts); // the circuit is open: later messages never reach the transport
        Assert.NotNull(await host.Store.GetNextOutboxDueAsync()); // they all wait for a retry; none was lost
    }
}
