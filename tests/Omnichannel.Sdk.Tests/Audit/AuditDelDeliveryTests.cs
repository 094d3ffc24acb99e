using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Del: the delivery pipeline, attacked the way public bug reports of comparable systems describe.</summary>
public sealed class AuditDelDeliveryTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    // Noon UTC: outside the default quiet hours (21:00–08:00 in UTC, her zone when she has none).
    private static readonly DateTimeOffset Noon = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A transport that runs a hook during each call (something happening while the provider is busy) and answers as told.</summary>
    private sealed class HookTransport(string channel, Func<int, Task<DeliveryResult>> answer) : IChannelTransport
    {
        public string Channel { get; } = channel;

        public int Attempts;

        public List<OutboundMessage> Accepted { get; } = [];

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var attempt = Interlocked.Increment(ref Attempts);
            var result = await answer(attempt);
            if (result.IsAccepted)
            {
                lock (Accepted)
                {
                    Accepted.Add(message);
                }
            }

            return result;
        }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    private static async Task SignUpWithConsent(OmnichannelTestHost host)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+12125550101")]));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
    }

    [Fact]
    public async Task AnOptOut_ArrivingWhileTheFirstAttemptFails_StopsTheQuickRetry_OfAMarketingMessage()
    {
        OmnichannelTestHost? hostRef = null;
        var email = new HookTransport(ChannelNames.Email, async attempt =>
        {
            if (attempt == 1)
            {
                // She clicks "unsubscribe" on an earlier mail while the provider times out on this one.
                await hostRef!.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false });
                return DeliveryResult.TransientFailure("gateway timeout");
            }

            return DeliveryResult.Accepted("p-1");
        });
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        hostRef = host;
        await SignUpWithConsent(host);

        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(email.Accepted);
        var p = await host.ProfileAsync(Ann);
        Assert.DoesNotContain(p.Timeline, t => t.Type == EventTypes.MessageSent);
    }

    [Fact]
    public async Task AFallbackChannel_IsNotUsed_WhenItsConsentIsWithdrawnWhileThePrimaryChannelFails()
    {
        OmnichannelTestHost? hostRef = null;
        var email = new HookTransport(ChannelNames.Email, async _ =>
        {
            await hostRef!.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = false }); // she texts STOP meanwhile
            return DeliveryResult.PermanentFailure("mailbox unavailable");
        });
        var sms = new HookTransport(ChannelNames.Sms, _ => Task.FromResult(DeliveryResult.Accepted("s-1")));
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms", sms));
        hostRef = host;
        await SignUpWithConsent(host);

        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, email.Attempts);
        Assert.Equal(0, sms.Attempts);
        var p = await host.ProfileAsync(Ann);
        var failed = Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("consent", failed.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFallbackChannel_StillCarriesATransactionalMessage_AfterAMarketingOptOut()
    {
        OmnichannelTestHost? hostRef = null;
        var email = new HookTransport(ChannelNames.Email, async _ =>
        {
            await hostRef!.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = false });
            return DeliveryResult.PermanentFailure("mailbox unavailable");
        });
        var sms = new HookTransport(ChannelNames.Sms, _ => Task.FromResult(DeliveryResult.Accepted("s-1")));
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms", sms));
        hostRef = host;
        await SignUpWithConsent(host);

        await host.Client.SendAsync(Ann, new MessageRequest { Key = "order-1", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(["order-1"], sms.Accepted.Select(m => m.MessageId));
    }

    private sealed class RendersOnceRenderer : IMessageRenderer
    {
        private int _calls;

        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1
                ? ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = "Hi", TextBody = "Hi" })
                : throw new InvalidOperationException($"The variable 'first_name' is missing for {address} (+12125550101)");
    }

    [Fact]
    public async Task ARenderingFailureAtDelivery_IsLogged_WithoutTheAddressTheRendererQuoted()
    {
        var logs = new List<string>();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ListLogger(logs)).SetMinimumLevel(LogLevel.Debug));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero));
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        var transport = new RecordingTransport(ChannelNames.Email);
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, factory,
            delivery: new DeliverySetup { Renderer = new RendersOnceRenderer() }.AddTransport("email", transport));
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [Ann, Identifier.Email("ann@example.com")] });
        await engine.TrackAsync(new CustomerEvent { Id = "e2", Type = EventTypes.ConsentChanged, Timestamp = time.GetUtcNow(), Identifiers = [Ann], Properties = JsonData.From(new { channel = "email", granted = true }) });

        var queued = await engine.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        Assert.True(queued.DueAt > time.GetUtcNow()); // held for quiet hours, so rendered again when it leaves
        time.Advance(TimeSpan.FromHours(11));
        await engine.RunDispatchAsync();

        Assert.Single(transport.Messages); // as planned
        Assert.Contains(logs, l => l.Contains("Rendering message promo again at delivery failed", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("ann@", StringComparison.OrdinalIgnoreCase) || l.Contains("2125550101", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFallbackToSms_KeepsTheSmsCap_ThatAnotherMessageAlreadyUses()
    {
        // The email answers once both messages are planned: a send is dispatched as soon as it is committed, and the
        // fallback must not run before the second message exists (that order is another case).
        var bothPlanned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var email = new HookTransport(ChannelNames.Email, async _ =>
        {
            await bothPlanned.Task;
            return DeliveryResult.PermanentFailure("mailbox unavailable");
        });
        var sms = new HookTransport(ChannelNames.Sms, _ => Task.FromResult(DeliveryResult.Accepted("s-1")));
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), Channel: ChannelNames.Sms)),
            start: Noon,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms", sms));
        await SignUpWithConsent(host);

        // The first is planned (and counted) on email; the second then finds the SMS cap free.
        var first = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-a", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "a", Topic = "offers" });
        var second = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-b", Channels = [ChannelNames.Sms], TemplateId = "b", Topic = "offers" });
        Assert.Equal((SendStatus.Queued, SendStatus.Queued), (first.Status, second.Status));
        bothPlanned.SetResult();
        await host.Engine.RunDispatchAsync();

        // The email bounces off the provider: falling back to SMS would be her second SMS of the day.
        Assert.Single(sms.Accepted);
        var p = await host.ProfileAsync(Ann);
        Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageSent);
        var failed = Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("frequency cap", failed.Summary, StringComparison.Ordinal);
    }

    /// <summary>
    /// Review of the fallback cap check: it read the log, and the log moved the message to SMS only after the send's
    /// outcome. An SMS planned while the fallback SMS was with the provider found the cap free, and both went out.
    /// </summary>
    [Fact]
    public async Task AnSmsPlannedWhileAFallbackSmsIsWithTheProvider_CountsTheFallback()
    {
        var smsAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var smsCalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var email = new HookTransport(ChannelNames.Email, _ => Task.FromResult(DeliveryResult.PermanentFailure("mailbox unavailable")));
        var sms = new HookTransport(ChannelNames.Sms, async _ =>
        {
            smsCalled.TrySetResult();
            await smsAnswered.Task;
            return DeliveryResult.Accepted("s-1");
        });
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), Channel: ChannelNames.Sms)),
            start: Noon,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms", sms));
        await SignUpWithConsent(host);

        var first = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-a", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "a", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, first.Status);
        var dispatch = host.Engine.RunDispatchAsync();
        await smsCalled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the email failed; the fallback SMS is with the provider

        var second = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-b", Channels = [ChannelNames.Sms], TemplateId = "b", Topic = "offers" });
        smsAnswered.SetResult();
        await dispatch;
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, second.Status);
        Assert.Single(sms.Accepted);
    }

    [Fact]
    public async Task AProvidersRetryAfterOfYears_DoesNotParkTheMessageForYears()
    {
        var email = new HookTransport(ChannelNames.Email, attempt => Task.FromResult(attempt == 1
            ? DeliveryResult.TransientFailure("429 too many requests", TimeSpan.FromDays(365 * 60))
            : DeliveryResult.Accepted("p-1")));
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        await SignUpWithConsent(host);

        await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Accepted);

        await host.AdvanceAsync(TimeSpan.FromDays(31));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(["receipt"], email.Accepted.Select(m => m.MessageId));
    }

    [Fact]
    public async Task ABounceReportedTwice_CountsOneBouncedMessage()
    {
        var email = new HookTransport(ChannelNames.Email, _ => Task.FromResult(DeliveryResult.Accepted("p-1")));
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        await SignUpWithConsent(host);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Accepted);

        // The provider's webhook is delivered twice (at-least-once), each copy with an id of its own; then the hard bounce.
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", message_id = "promo", bounce_type = "soft" });
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", message_id = "promo", bounce_type = "soft" });
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", message_id = "promo", bounce_type = "hard" });

        var rows = await host.Engine.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { MetricPrefix = Omnichannel.Sdk.Measurement.MeasurementMetrics.Bounced });
        Assert.Equal(1, rows.Where(r => r.Key.Metric == Omnichannel.Sdk.Measurement.MeasurementMetrics.Bounced).Sum(r => r.Count));
    }

    /// <summary>
    /// Review of the fix above: counting a bounce only while no failure was known made the count depend on arrival order
    /// (a provider's failure report, then its bounce: none; the other way round: one).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABounceAndAFailureOfOneMessage_CountOneBounce_InEitherOrder(bool failureFirst)
    {
        var email = new HookTransport(ChannelNames.Email, _ => Task.FromResult(DeliveryResult.Accepted("p-1")));
        await using var host = OmnichannelTestHost.Create(start: Noon, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        await SignUpWithConsent(host);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        await host.Engine.RunDispatchAsync();

        object failed = new { channel = "email", message_id = "promo", reason = "mailbox unavailable" };
        object bounced = new { channel = "email", message_id = "promo", bounce_type = "hard" };
        foreach (var (type, properties) in failureFirst ? [(EventTypes.MessageFailed, failed), (EventTypes.MessageBounced, bounced)] : new[] { (EventTypes.MessageBounced, bounced), (EventTypes.MessageFailed, failed) })
        {
            await host.TrackAsync(type, [Ann], properties);
        }

        var rows = await host.Engine.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { MetricPrefix = Omnichannel.Sdk.Measurement.MeasurementMetrics.Bounced });
        Assert.Equal(1, rows.Where(r => r.Key.Metric == Omnichannel.Sdk.Measurement.MeasurementMetrics.Bounced).Sum(r => r.Count));
    }
}
