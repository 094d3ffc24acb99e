using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Workers with transports for some channels only, on one durable store (left alone by audit U67): an email worker and
/// an SMS worker, each tracking too. A message is sent by the worker of its channel, whichever process planned it; the
/// other never claims it, so it neither fails it ("no transport is registered") nor moves it to a fallback channel.
/// </summary>
internal static class ChannelClaimsScenario
{
    /// <summary>Builds one process on the shared store: the given transport only, the same journeys.</summary>
    public delegate ServiceProvider Process(FakeTimeProvider time, Action<OmnichannelBuilder> configure);

    public static async Task EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedItAsync(Process process)
    {
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var (time, emails, texts, byEmail, bySms) = (workers.Time, workers.Emails, workers.Texts, workers.ByEmail, workers.BySms);
        await byEmail.RunDueAsync();
        await bySms.RunDueAsync();

        // Planned on the email worker: a text (her cart) and, through the SMS worker, an email (her welcome).
        var ann = Identifier.CustomerId("ann-channels");
        Assert.Equal(TrackStatus.Accepted, (await bySms.TrackAsync(Event(time, "s1", "user.signed_up", ann, Identifier.Email("ann-channels@example.com"), Identifier.Phone("+14155550123")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "c1", EventTypes.CartItemAdded, ann))).Status);
        for (var round = 0; round < 3; round++)
        {
            // Both dispatch, in either order, more than once: only the right one ever claims each message.
            await byEmail.RunDispatchAsync();
            await bySms.RunDispatchAsync();
            await byEmail.RunDispatchAsync();
        }

        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1 && emails.Messages.Count >= 1), "a worker did not send the message of its channel that the other process planned");
        Assert.Equal("Your cart c1", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Equal("Welcome", Assert.Single(emails.Sent<EmailMessage>()).Subject);
        Assert.Single(texts.Messages);
        Assert.Single(emails.Messages);

        var profile = await byEmail.GetProfileAsync(ann);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type is "message.failed" or "message.skipped");
        Assert.Equal(2, profile.Timeline.Count(t => t.Type == "message.sent"));
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync()); // both completed: nothing left for anyone
    }

    /// <summary>
    /// The email worker alone, with the SMS worker stopped: the text waits in the store (the email worker neither fails
    /// it nor wakes for it, its clock moving on) until an SMS worker starts, which sends it.
    /// </summary>
    public static async Task AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannelAsync(Process process)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var emails = new RecordingTransport(ChannelNames.Email);
        await using var emailWorker = process(time, b => Configure(b).AddTransport("email", ChannelNames.Email, _ => emails));
        var byEmail = emailWorker.GetRequiredService<OmnichannelEngine>();
        var ann = Identifier.CustomerId("bea-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "s1", "user.signed_up", ann, Identifier.Email("bea-channels@example.com"), Identifier.Phone("+14155550124")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "c1", EventTypes.CartItemAdded, ann))).Status);
        await byEmail.RunDispatchAsync();
        time.Advance(TimeSpan.FromHours(2));
        await byEmail.RunDueAsync();
        await byEmail.RunDispatchAsync();

        Assert.Equal(["Welcome"], emails.Sent<EmailMessage>().Select(m => m.Subject));
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync([ChannelNames.Email]));
        Assert.NotNull(await byEmail.Store.GetNextOutboxDueAsync());
        var waiting = await byEmail.GetProfileAsync(ann);
        Assert.DoesNotContain(waiting!.Timeline, t => t.Type is "message.failed" or "message.skipped");

        var texts = new RecordingTransport(ChannelNames.Sms);
        await using var smsWorker = process(time, b => Configure(b).AddTransport("sms", ChannelNames.Sms, _ => texts));
        var bySms = smsWorker.GetRequiredService<OmnichannelEngine>(); // its start looks in the outbox
        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1), "the SMS worker, started later, did not send the text left in the store");
        await bySms.RunDispatchAsync();
        Assert.Equal("Your cart c1", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    /// <summary>
    /// Review of session 45: a marketing message on [email, sms] held for her quiet hours, whose email consent she withdraws
    /// while it waits. When it leaves, the email worker claims it (its first channel is email) and finds only the text to
    /// send, which it has no transport for: it hands the message to the SMS worker, which sends it. It failed it ("sms: no
    /// transport is registered"), and the SMS worker, which could have sent it, never claimed it.
    /// </summary>
    public static async Task AHeldMessageLeftWithAChannelOnlyAnotherWorkerServes_IsSentByThatWorkerAsync(Process process)
    {
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 22, 0, 0, TimeSpan.Zero));
        var (emails, texts, byEmail, bySms) = (workers.Emails, workers.Texts, workers.ByEmail, workers.BySms);
        var cy = await HeldOfferWithItsEmailWithdrawnAsync(workers, "cy", "+14155550125");

        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1), "the text was not sent by the SMS worker");
        await bySms.RunDispatchAsync();
        Assert.Equal("Offer", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Empty(emails.Messages);
        var profile = await byEmail.GetProfileAsync(cy);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type is "message.failed" or "message.skipped");
        Assert.Single(profile.Timeline, t => t.Type == "message.sent");
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    /// <summary>
    /// Left alone in audit U67 and session 45 ("SQLite has no signal"): a text the email worker plans is sent by the SMS
    /// worker within seconds, not at the SMS worker's next timed look (a minute). PostgreSQL's NOTIFY did this already;
    /// SQLite now looks at PRAGMA data_version every second. Nobody dispatches by hand here.
    /// </summary>
    public static async Task AMessageAnotherProcessPlans_IsSentWithinSeconds_NotAtTheNextTimedLookAsync(Process process)
    {
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var (time, emails, texts, byEmail, bySms) = (workers.Time, workers.Emails, workers.Texts, workers.ByEmail, workers.BySms);
        await byEmail.RunDueAsync();
        await bySms.RunDueAsync(); // both started: their first looks are behind them
        time.Advance(TimeSpan.FromSeconds(2));

        var eve = Identifier.CustomerId("eve-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "u1", "user.updated", eve, Identifier.Phone("+14155550127")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "c1", EventTypes.CartItemAdded, eve))).Status);
        for (var second = 0; second < 5; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1)); // five seconds in all, far from the minute of the timed look
        }

        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1), "the SMS worker did not send the text within five seconds");
        Assert.Equal("Your cart c1", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Empty(emails.Messages);
    }

    /// <summary>
    /// Left alone in session 45: a message on [email, sms] whose email fails for good on the email worker, which has no
    /// SMS transport. The fallback is handed to the SMS worker, which sends the text; email is not tried again. It was
    /// failed ("sms: no transport is registered") while the SMS worker could have sent it.
    /// </summary>
    public static async Task AFallbackAfterAPermanentFailure_IsSentByTheWorkerOfTheFallbackChannelAsync(Process process)
    {
        var emails = new FailingTransport(ChannelNames.Email);
        emails.FailPermanently("mailbox unavailable");
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), emails);
        var (time, texts, byEmail, bySms) = (workers.Time, workers.Texts, workers.ByEmail, workers.BySms);
        var dee = Identifier.CustomerId("dee-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "u1", "user.updated", dee, Identifier.Email("dee-channels@example.com"), Identifier.Phone("+14155550126")))).Status);
        var queued = await bySms.SendAsync(dee, new MessageRequest { Key = "receipt-dee", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, queued.Status);
        for (var round = 0; round < 3; round++)
        {
            await bySms.RunDispatchAsync();
            await byEmail.RunDispatchAsync();
            await bySms.RunDispatchAsync();
        }

        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1), "the fallback text was not sent by the SMS worker");
        await bySms.RunDispatchAsync();
        Assert.Equal("Offer", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Equal(1, emails.Attempts); // email, refused for good, was not tried again
        var profile = await byEmail.GetProfileAsync(dee);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type is "message.failed" or "message.skipped");
        Assert.Single(profile.Timeline, t => t.Type == "message.sent");
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    /// <summary>
    /// Left alone last session: a fallback handed to the worker of its channel that then failed there too was recorded
    /// with that worker's reason only ("sms/sms: number not in service"); why her email had failed was lost with the
    /// hand-over. The reasons of the channels tried before go with the message.
    /// </summary>
    public static async Task AFallbackThatFailsToo_IsRecordedWithTheReasonsOfEveryChannelTriedAsync(Process process)
    {
        var emails = new FailingTransport(ChannelNames.Email);
        emails.FailPermanently("mailbox unavailable");
        var texts = new FailingTransport(ChannelNames.Sms);
        texts.FailPermanently("number not in service");
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), emails, texts);
        var (time, byEmail, bySms) = (workers.Time, workers.ByEmail, workers.BySms);
        var eve = Identifier.CustomerId("eve-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "u1", "user.updated", eve, Identifier.Email("eve-channels@example.com"), Identifier.Phone("+14155550127")))).Status);
        Assert.Equal(SendStatus.Queued, (await bySms.SendAsync(eve, new MessageRequest { Key = "receipt-eve", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Transactional })).Status);
        for (var round = 0; round < 3; round++)
        {
            await bySms.RunDispatchAsync();
            await byEmail.RunDispatchAsync();
            await bySms.RunDispatchAsync();
        }

        for (var look = 0; look < 50 && !(await byEmail.GetProfileAsync(eve))!.Timeline.Any(t => t.Type == "message.failed"); look++)
        {
            await bySms.RunDispatchAsync(); // the SMS worker's outcome, recorded on its own dispatcher
        }

        var failed = Assert.Single((await byEmail.GetProfileAsync(eve))!.Timeline, t => t.Type == "message.failed");
        Assert.Contains("mailbox unavailable", failed.Summary, StringComparison.Ordinal);
        Assert.Contains("number not in service", failed.Summary, StringComparison.Ordinal);
        Assert.True(failed.Summary!.IndexOf("mailbox unavailable", StringComparison.Ordinal) < failed.Summary.IndexOf("number not in service", StringComparison.Ordinal), failed.Summary);
        Assert.Equal(1, emails.Attempts);
        Assert.Equal(1, texts.Attempts);
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    /// <summary>
    /// Review of the forty-seventh session: a marketing message on [email, sms] held for her quiet hours, whose email
    /// consent she withdraws while it waits, then whose text fails too. The email worker's check finds "email: no
    /// consent" and hands the message over with it; the SMS worker's check, over the same channels, finds it again. The
    /// final failure named it twice ("email: no consent for …; email: no consent for …; sms/sms: …"): each channel's
    /// reason is named once.
    /// </summary>
    public static async Task AHeldMessageHandedOverByItsCheck_ThatFailsThere_NamesEachReasonOnceAsync(Process process)
    {
        var texts = new FailingTransport(ChannelNames.Sms);
        texts.FailPermanently("number not in service");
        await using var workers = TwoWorkers.Start(process, new DateTimeOffset(2026, 3, 1, 22, 0, 0, TimeSpan.Zero), sms: texts);
        var (byEmail, bySms) = (workers.ByEmail, workers.BySms);
        var cy = await HeldOfferWithItsEmailWithdrawnAsync(workers, "dot", "+14155550128");

        for (var look = 0; look < 50 && !(await byEmail.GetProfileAsync(cy))!.Timeline.Any(t => t.Type == "message.failed"); look++)
        {
            await bySms.RunDispatchAsync();
        }

        var failed = Assert.Single((await byEmail.GetProfileAsync(cy))!.Timeline, t => t.Type == "message.failed");
        Assert.Contains("number not in service", failed.Summary, StringComparison.Ordinal);
        var consent = failed.Summary!.IndexOf("email: no consent", StringComparison.Ordinal);
        Assert.True(consent >= 0, failed.Summary);
        Assert.True(failed.Summary.IndexOf("email: no consent", consent + 1, StringComparison.Ordinal) < 0, "a reason named twice: " + failed.Summary);
        Assert.Equal(1, texts.Attempts);
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    /// <summary>
    /// A marketing offer on [email, sms] planned by the email worker at 22:00 and held for her quiet hours; her email
    /// consent withdrawn (through the SMS worker) while it waits; the clock past its due time and both workers' dispatch
    /// run three times. Returns her customer id.
    /// </summary>
    private static async Task<Identifier> HeldOfferWithItsEmailWithdrawnAsync(TwoWorkers workers, string name, string phone)
    {
        var (time, byEmail, bySms) = (workers.Time, workers.ByEmail, workers.BySms);
        var who = Identifier.CustomerId(name + "-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Event(time, "u1", "user.updated", who, Identifier.Email(name + "-channels@example.com"), Identifier.Phone(phone)))).Status);
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(Consent(time, "k1", who, ChannelNames.Email, true))).Status);
        Assert.Equal(TrackStatus.Accepted, (await bySms.TrackAsync(Consent(time, "k2", who, ChannelNames.Sms, true))).Status);
        var queued = await byEmail.SendAsync(who, new MessageRequest { Key = "promo-" + name, Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        Assert.True(queued.DueAt > time.GetUtcNow(), "the offer is held for her quiet hours");

        Assert.Equal(TrackStatus.Accepted, (await bySms.TrackAsync(Consent(time, "k3", who, ChannelNames.Email, false))).Status);
        time.SetUtcNow(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        for (var round = 0; round < 3; round++)
        {
            await byEmail.RunDispatchAsync();
            await bySms.RunDispatchAsync();
        }

        return who;
    }

    /// <summary>An email worker and an SMS worker on the shared store, each with the same journeys and templates.</summary>
    private sealed class TwoWorkers(FakeTimeProvider time, RecordingTransport emails, RecordingTransport texts, ServiceProvider emailWorker, ServiceProvider smsWorker) : IAsyncDisposable
    {
        public FakeTimeProvider Time { get; } = time;

        /// <summary>What the email worker sent (the recorder behind a <see cref="FailingTransport"/> when one was given).</summary>
        public RecordingTransport Emails { get; } = emails;

        public RecordingTransport Texts { get; } = texts;

        public OmnichannelEngine ByEmail { get; } = emailWorker.GetRequiredService<OmnichannelEngine>();

        public OmnichannelEngine BySms { get; } = smsWorker.GetRequiredService<OmnichannelEngine>();

        /// <summary>
        /// Starts both at <paramref name="start"/>; the email worker sends through <paramref name="email"/> and the SMS
        /// worker through <paramref name="sms"/> when given.
        /// </summary>
        public static TwoWorkers Start(Process process, DateTimeOffset start, IChannelTransport? email = null, IChannelTransport? sms = null)
        {
            var time = new FakeTimeProvider(start);
            var emails = new RecordingTransport(ChannelNames.Email);
            var texts = new RecordingTransport(ChannelNames.Sms);
            var emailWorker = process(time, b => Configure(b).AddTransport("email", ChannelNames.Email, _ => email ?? emails));
            var smsWorker = process(time, b => Configure(b).AddTransport("sms", ChannelNames.Sms, _ => sms ?? texts));
            return new TwoWorkers(time, (email as FailingTransport)?.Recorder ?? emails, (sms as FailingTransport)?.Recorder ?? texts, emailWorker, smsWorker);
        }

        public async ValueTask DisposeAsync()
        {
            await smsWorker.DisposeAsync();
            await emailWorker.DisposeAsync();
        }
    }

    private static CustomerEvent Consent(TimeProvider time, string id, Identifier who, string channel, bool granted) => new()
    {
        Id = id,
        Type = EventTypes.ConsentChanged,
        Timestamp = time.GetUtcNow(),
        Identifiers = [who],
        Properties = JsonData.From(new { channel, granted }),
    };

    private static OmnichannelBuilder Configure(OmnichannelBuilder builder) => builder
        .UseTemplates(new InMemoryTemplateSource(
            new TemplateDocument("cart", [TemplateVariant.Sms("Your cart {{ journey.trigger.cart_id }}")]),
            new TemplateDocument("welcome", [TemplateVariant.Email("Welcome", null, "Hello")]),
            new TemplateDocument("promo", [TemplateVariant.Email("Offer", null, "Hello"), TemplateVariant.Sms("Offer")])))
        .AddJourney(Journey.Define("cart", "Cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .Steps(s => s.Send("remind", [ChannelNames.Sms], "cart", null, MessageClass.Transactional))
            .Build())
        .AddJourney(Journey.Define("welcome", "Welcome")
            .TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(s => s.Send("hello", [ChannelNames.Email], "welcome", null, MessageClass.Transactional))
            .Build());

    /// <summary>The services of one process before its store and transports: two partitions, a fixed hash key.</summary>
    public static OmnichannelBuilder Services(IServiceCollection services, TimeProvider time)
    {
        services.AddSingleton(time);
        return services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Delivery.EmailFrom = "shop@example.com";
            o.Delivery.Retry = null;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            o.CatchUpSegmentsAtStart = false;
        });
    }

    private static CustomerEvent Event(TimeProvider time, string id, string type, params Identifier[] identifiers) => TwoProcessStoreScenario.Event(time, id, type, identifiers);
}
