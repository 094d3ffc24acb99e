using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>Issue "Bad input and faults", section 5: delivery under faults, each message once.</summary>
public sealed class DispatchChaosTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    // Ignores its cancellation token and never completes for one address.
    private sealed class HangingTransport(string hangFor) : IChannelTransport
    {
        public RecordingTransport Recorder { get; } = new(ChannelNames.Email);

        public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (((EmailMessage)message).To != hangFor)
            {
                return Recorder.SendAsync(message, cancellationToken);
            }

            Hanging.TrySetResult();
            return new ValueTask<DeliveryResult>(new TaskCompletionSource<DeliveryResult>().Task);
        }
    }

    private sealed class ThrowingTransport(Exception error) : IChannelTransport
    {
        public int Calls;

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            throw error;
        }
    }

    private sealed class UnsetResultTransport : IChannelTransport
    {
        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default) => ValueTask.FromResult(default(DeliveryResult));
    }

    // Takes `delay` of the fake clock's time to send, like a slow provider.
    private sealed class SlowTransport(OmnichannelTestHost[] hosts, TimeSpan delay) : IChannelTransport
    {
        public RecordingTransport Recorder { get; } = new(ChannelNames.Email);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            hosts[0].Time.Advance(delay);
            await Task.Yield();
            return await Recorder.SendAsync(message, cancellationToken);
        }
    }

    private static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Transactional };

    private static async Task SignUp(OmnichannelTestHost host, Identifier id, string email) =>
        await host.TrackAsync(host.Event("user.signed_up", [id, Identifier.Email(email)]));

    [Fact]
    public async Task ATransportThatNeverCompletes_DoesNotStallOtherCustomers()
    {
        var hanging = new HangingTransport("ann@example.com");
        await using var host = OmnichannelTestHost.Create(o => { o.Delivery.Retry = null; o.Delivery.SendTimeout = TimeSpan.FromSeconds(5); },
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("hanging", hanging));
        await SignUp(host, Ann, "ann@example.com");
        await SignUp(host, Bob, "bob@example.com");
        await host.Client.SendAsync(Ann, Receipt("ann-1"));

        var stuck = host.Engine.RunDispatchAsync();
        await host.Client.SendAsync(Bob, Receipt("bob-1"));
        var other = host.Engine.RunDispatchAsync();
        Assert.True(await Task.Run(() => SpinWait.SpinUntil(() => hanging.Recorder.Messages.Count > 0, TimeSpan.FromSeconds(60))), "bob's message waited for ann's hanging send");

        // The hanging call is bounded by the SDK itself, token or not: moving the fake clock past the time-out ends it.
        await hanging.Hanging.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var all = Task.WhenAll(stuck, other);
        for (var step = 0; step < 200 && !all.IsCompleted; step++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(5));
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(50))); // real time: waiting for the engine's threads, not for the clock
        }

        await all.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["bob-1"], hanging.Recorder.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task AHangingSend_DoesNotHoldBackTheMessagesClaimedWithIt()
    {
        // 21 receipts held for quiet hours fall due together at 08:00, and one dispatch run takes them, DispatchBatchSize
        // (8) at a time. The first claimed hangs. The run used to wait for its whole batch before claiming more, so the
        // other 13 waited for the hanging one's time-out; they go out now while it hangs.
        var hanging = new HangingTransport("ann@example.com");
        await using var host = OmnichannelTestHost.Create(
            o => { o.Delivery.Retry = null; o.Delivery.SendTimeout = TimeSpan.FromSeconds(5); o.Delivery.DispatchBatchSize = 8; o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer; },
            start: new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero),
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("hanging", hanging));
        await SignUp(host, Ann, "ann@example.com");
        await SignUp(host, Bob, "bob@example.com");
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Receipt("a-ann"))).Status);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Bob, Receipt($"b-{i:00}"))).Status);
        }

        host.Time.Advance(TimeSpan.FromHours(10)); // 08:00: the dispatcher's timer starts one run in the background
        await hanging.Hanging.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var allWhileHanging = await Task.Run(() => SpinWait.SpinUntil(() => hanging.Recorder.Messages.Count == 20, TimeSpan.FromSeconds(30)));
        var sentWhileHanging = hanging.Recorder.Messages.Count;

        var run = host.Engine.RunDispatchAsync();
        for (var step = 0; step < 200 && !run.IsCompleted; step++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(5)); // past the hanging send's time-out
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(50))); // real time: waiting for the engine's threads, not for the clock
        }

        await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(allWhileHanging, $"{sentWhileHanging} of bob's 20 receipts went out while ann's send hung");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"b-{i:00}"), hanging.Recorder.Messages.Select(m => m.MessageId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AnArgumentException_IsPermanent_AndNotRetried()
    {
        var throwing = new ThrowingTransport(new ArgumentException("bad address"));
        await using var host = OmnichannelTestHost.Create(o => { o.Delivery.Retry!.MaxRetryAttempts = 2; o.Delivery.MaxAttempts = 12; },
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("throwing", throwing));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("r-1"));
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, throwing.Calls);
        var failed = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("bad address", failed.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIOException_IsTransient_AndRetried() =>
        Assert.Equal(3, await CallsOverAnHourAsync(new IOException("connection reset"), maxAttempts: 3));

    [Fact]
    public async Task AHostHook_DecidesWhatIsTransient() =>
        Assert.Equal(2, await CallsOverAnHourAsync(new InvalidOperationException("provider says 421"), maxAttempts: 2,
            isTransient: ex => ex.Message.Contains("421", StringComparison.Ordinal)));

    // A receipt through a transport that always throws, dispatched now and again an hour later (retries a minute apart):
    // how many times the transport was called.
    private static async Task<int> CallsOverAnHourAsync(Exception thrown, int maxAttempts, Func<Exception, bool>? isTransient = null)
    {
        var throwing = new ThrowingTransport(thrown);
        await using var host = OmnichannelTestHost.Create(o =>
            {
                o.Delivery.Retry = null; o.Delivery.MaxAttempts = maxAttempts; o.Delivery.RetryDelay = TimeSpan.FromMinutes(1); o.Delivery.CircuitBreaker.MinimumThroughput = 1000;
                o.Delivery.IsTransientException = isTransient;
            },
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("throwing", throwing));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("r-1"));
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();
        return throwing.Calls;
    }

    [Fact]
    public async Task ADefaultResult_IsNeverRecordedAsSent()
    {
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("unset", new UnsetResultTransport()));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("r-1"));
        await host.Engine.RunDispatchAsync();

        var p = await host.ProfileAsync(Ann);
        Assert.DoesNotContain(p.Timeline, t => t.Type == EventTypes.MessageSent);
        Assert.Contains(p.Timeline, t => t.Type == EventTypes.MessageFailed && t.Summary!.Contains("no result", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnSmsOverTheSegmentLimit_IsNotSent()
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(o => o.Delivery.MaxSmsSegments = 3, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("sms", sms));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Phone("+447700900001")]));

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = new string('x', 1000), Channels = [ChannelNames.Sms], TemplateId = new string('x', 1000), Class = MessageClass.Transactional });

        Assert.Equal(SendStatus.Skipped, r.Status);
        Assert.Contains("segments; at most 3", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoEnginesOnOneOutbox_ASendThatOutlivesItsLease_IsReported_AndTheMessageGoesOnce()
    {
        var store = new InMemoryOmnichannelStore();
        var hosts = new OmnichannelTestHost[1];
        var slow = new SlowTransport(hosts, TimeSpan.FromSeconds(4));
        await using var first = OmnichannelTestHost.Create(o => { o.Delivery.Lease = TimeSpan.FromMinutes(1); o.Delivery.Retry = null; }, store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("slow", slow));
        hosts[0] = first;
        await using var second = OmnichannelTestHost.Create(o => { o.Delivery.Lease = TimeSpan.FromMinutes(1); o.Delivery.Retry = null; }, store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("slow", slow));
        await SignUp(first, Ann, "ann@example.com");
        await first.Client.SendAsync(Ann, Receipt("r-1"));

        await Task.WhenAll(first.Engine.RunDispatchAsync(), second.Engine.RunDispatchAsync());

        Assert.Equal(["r-1"], slow.Recorder.Messages.Select(m => m.MessageId));
        Assert.Empty(slow.Recorder.DuplicateMessageIds);
    }

    // Accepts or refuses for good, as told, and records what it accepted.
    private sealed class SwitchingTransport : IChannelTransport
    {
        public RecordingTransport Recorder { get; } = new(ChannelNames.Email);

        public bool Refuse { get; set; }

        public int Calls;

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            return Refuse ? ValueTask.FromResult(DeliveryResult.PermanentFailure("mailbox unavailable")) : Recorder.SendAsync(message, cancellationToken);
        }
    }

    // Audit RX's finding: a transport accepted the message, then the commit recording "sent" failed (a store fault, not a
    // crash). The entry was claimed again at the end of its lease, nothing on the profile said it had gone, and it was
    // sent a second time. The process remembers what its transports accepted until the outcome is recorded.
    [Fact]
    public async Task AnAcceptedMessage_WhoseSentOutcomeCouldNotBeRecorded_IsRecordedLater_NotSentAgain()
    {
        var store = new Engine.FlakyStore(new InMemoryOmnichannelStore()) { FailCommitOnce = c => c.EventId == "r-1:sent" };
        var transport = new SwitchingTransport();
        await using var host = OmnichannelTestHost.Create(o => { o.Delivery.Retry = null; o.Delivery.Lease = TimeSpan.FromMinutes(2); }, store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("switching", transport));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("r-1"));

        await host.Engine.RunDispatchAsync();       // accepted; recording it fails: the entry stays claimed
        Assert.Equal(1, transport.Calls);
        host.Time.Advance(TimeSpan.FromMinutes(3)); // past the lease: claimed again
        await host.Engine.RunDispatchAsync();
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, transport.Calls);
        Assert.Equal(["r-1"], transport.Recorder.Messages.Select(m => m.MessageId));
        Assert.Null(await store.GetNextOutboxDueAsync());
        var profile = await host.ProfileAsync(Ann);
        Assert.Single(profile.Timeline, t => t.Type == EventTypes.MessageSent);
    }

    [Theory]
    [InlineData(false, EventTypes.MessageSent)]
    [InlineData(true, EventTypes.MessageFailed)]
    public async Task AnOutcomeRecorded_WhoseOutboxEntryCouldNotBeCompleted_IsNotSentAgain(bool refuseFirst, string outcome)
    {
        var store = new Engine.FlakyStore(new InMemoryOmnichannelStore()) { FailCompleteOutboxOnce = true };
        var transport = new SwitchingTransport { Refuse = refuseFirst };
        await using var host = OmnichannelTestHost.Create(o => { o.Delivery.Retry = null; o.Delivery.Lease = TimeSpan.FromMinutes(2); }, store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("switching", transport));
        await SignUp(host, Ann, "ann@example.com");
        await host.Client.SendAsync(Ann, Receipt("r-1"));

        await host.Engine.RunDispatchAsync(); // outcome recorded on the profile, then the completion fails: the entry stays claimed
        transport.Refuse = false;             // what a second send would now do: deliver it
        host.Time.Advance(TimeSpan.FromMinutes(3)); // past the lease: claimed again
        await host.Engine.RunDispatchAsync();
        await host.Engine.RunDispatchAsync();

        Assert.Equal(1, transport.Calls);
        Assert.Equal(refuseFirst ? 0 : 1, transport.Recorder.Messages.Count);
        Assert.Equal(2, store.OutboxCompletions);
        Assert.Null(await store.GetNextOutboxDueAsync());
        var profile = await host.ProfileAsync(Ann);
        Assert.Single(profile.Timeline, t => t.Type == outcome);
        Assert.DoesNotContain(profile.Timeline, t => t.Type is EventTypes.MessageSent or EventTypes.MessageFailed && t.Type != outcome);
    }

    // Held again for her quiet hours (she moved to Tokyo while the message waited for the New York morning): when the
    // profile could not record the move (a store fault), the outbox entry used to move anyway, and caps went on counting
    // the message at the New York morning. Now nothing moves until both can: the entry is checked again after its lease.
    [Fact]
    public async Task AMessageHeldAgainForQuietHours_WhoseProfileCouldNotRecordIt_IsHeldAgainAfterItsLease_AndSentOnce()
    {
        var lateEveningInNewYork = new DateTimeOffset(2026, 1, 6, 3, 30, 0, TimeSpan.Zero);
        var store = new Engine.FlakyStore(new InMemoryOmnichannelStore());
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => { o.Delivery.Retry = null; o.Delivery.Lease = TimeSpan.FromMinutes(2); }, store: store, start: lateEveningInNewYork,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "America/New_York" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" });
        var newYorkMorning = queued.DueAt!.Value;
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = "Asia/Tokyo" }));

        store.FailCommitOnce = c => c.EventId is null; // the commit that moves the log entry
        await host.AdvanceToAsync(newYorkMorning);     // 22:00 in Tokyo: held again; recording it fails
        Assert.Empty(email.Messages);

        await host.AdvanceAsync(TimeSpan.FromMinutes(3)); // past the lease: checked again, held again, recorded this time
        var tokyoMorning = new DateTimeOffset(2026, 1, 6, 23, 0, 0, TimeSpan.Zero);
        var profile = await host.Engine.GetProfileAsync(Ann);
        Assert.Equal(tokyoMorning, Assert.Single(profile!.MessageLog, m => m.Key == "promo").At);
        Assert.Empty(email.Messages);

        await host.AdvanceToAsync(tokyoMorning + TimeSpan.FromMinutes(1));
        Assert.Equal(["promo"], email.Messages.Select(m => m.MessageId));
    }
}
