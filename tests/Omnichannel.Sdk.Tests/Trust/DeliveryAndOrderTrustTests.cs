using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// A second audit (seventh session): caps counted the wrong day or channel, a re-sent order converted twice, and quiet
/// hours ending in a repeated hour ended in the past. Each test failed before its fix.
/// </summary>
public sealed class DeliveryAndOrderTrustTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Fact]
    public async Task APerLocalDayCap_CountsMessagesDeferredByQuietHoursToTheSameMorning()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, null, PerLocalDay: true)),
            start: new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero),
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        var a = await host.Client.SendAsync(Known, Promo("a"));
        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        var b = await host.Client.SendAsync(Known, Promo("b"));
        await host.AdvanceAsync(TimeSpan.FromHours(12));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, a.Status);
        Assert.Equal(SendStatus.Skipped, b.Status);
        Assert.Single(email.Messages);
    }

    [Fact]
    public async Task ARollingCap_DoesNotCountAnEveningMessage_AgainstOneDeferredToTheMorning()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(1))),
            start: new DateTimeOffset(2026, 1, 5, 20, 50, 0, TimeSpan.Zero),
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("evening"))).Status); // 20:50, goes out now
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromMinutes(20)); // 21:10: quiet hours until 08:00, eleven hours after the first
        var morning = await host.Client.SendAsync(Known, Promo("morning"));

        Assert.Equal(SendStatus.Queued, morning.Status);
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 8, 0, 0, TimeSpan.Zero), morning.DueAt);
    }

    [Fact]
    public async Task AChannelCap_CountsAMessageThatFellBackToThatChannel()
    {
        var email = new FailingTransport(ChannelNames.Email).FailPermanently("mailbox unavailable");
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), Channel: ChannelNames.Sms));
            },
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email).AddTransport("sms", sms));
        await host.TrackAsync("user.signed_up", [Known, Ann, Identifier.Phone("+12125550101")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });

        await host.Client.SendAsync(Known, new MessageRequest { Key = "a", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "a" });
        await host.Engine.RunDispatchAsync();
        Assert.Single(sms.Messages); // email refused it for good: it went out by SMS

        var b = await host.Client.SendAsync(Known, new MessageRequest { Key = "b", Channels = [ChannelNames.Sms], TemplateId = "b" });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, b.Status);
        Assert.Single(sms.Messages);
    }

    [Fact]
    public async Task AnOrderSentAgain_WithTheSameOrderId_ConvertsOnce()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.MessageSent, [Known], new { channel = "sms", message_id = "m1", template_id = "promo" });
        await host.TrackAsync(EventTypes.MessageClicked, [Known], new { channel = "sms", message_id = "m1" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 150 });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 150 }); // a retry with a new event id

        Assert.Equal(1, (await host.ProfileAsync(Known)).Statistics.OrderCount);
        var conversions = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        Assert.Equal(1, conversions.Sum(r => r.Count));
        var revenue = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", AttributionModel.Linear) });
        Assert.Equal(150, revenue.Sum(r => r.Sum), 6);
    }

    [Theory]
    [InlineData("""{"order_id":"o1","total":150}""", """{"order_id":"o\u0031","total":150}""")]
    [InlineData("""{"order_id":"заказ-№1","total":150}""", """{"order_id":"заказ-№1","total":150}""")]
    public async Task AnOrderSentAgain_SpelledAnotherWayOrNotInAscii_ConvertsOnce(string first, string again)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known]) with { Properties = System.Text.Json.JsonDocument.Parse(first).RootElement.Clone() });
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known]) with { Properties = System.Text.Json.JsonDocument.Parse(again).RootElement.Clone() });

        Assert.Equal(1, (await host.ProfileAsync(Known)).Statistics.OrderCount);
        var conversions = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        Assert.Equal(1, conversions.Sum(r => r.Count));
    }

    [Fact]
    public async Task QuietHoursEndingInTheRepeatedHourOfAFallBackNight_EndAfterNow()
    {
        var now = new DateTimeOffset(2026, 10, 25, 1, 15, 0, TimeSpan.Zero); // 01:15 GMT: the second 01:15 in London
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.QuietHoursStart = new TimeOnly(1, 0);
                o.Delivery.QuietHoursEnd = new TimeOnly(1, 45);
            },
            start: now,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann], context: new EventContext { TimeZone = "Europe/London" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        var r = await host.Client.SendAsync(Known, Promo("a"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(now.AddMinutes(30), r.DueAt);
        Assert.Empty(email.Messages);
    }

    private static MessageRequest Promo(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Marketing };

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }
}
