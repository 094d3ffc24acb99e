using System.Text;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U99: erasure everywhere her data lands, round 2 (U63 was round 1). What was added since U63 that keeps something
/// about a person (message keys and outcome ids, order facts and tallies, held and retried messages, journey entries,
/// pending reports, other people's referral records), checked through the public API after <c>EraseProfileAsync</c>.
/// </summary>
public sealed class AuditU99Tests
{
    private const string AnnMail = "ann.u99@example.com";
    private const string AnnPhone = "+14155550199";
    private const string BobMail = "bob.u99@example.com";
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u99");
    private static readonly Identifier Bob = Identifier.CustomerId("c-bob-u99");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly EraseOptions MayReturn = new() { AllowReturn = true };

    private static OmnichannelTestHost Host(IChannelTransport email, Action<OmnichannelOptions>? configure = null, IOmnichannelStore? store = null, IChannelTransport? sms = null)
    {
        var delivery = new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email);
        if (sms is not null)
        {
            delivery.AddTransport("sms", sms);
        }

        return OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                configure?.Invoke(o);
            },
            start: Morning,
            store: store,
            delivery: delivery);
    }

    private static MessageRequest Transactional(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional };

    // ---- 1. PostHog #20221's class ("the distinct_id itself could contain PII"), U63's event ids for message keys: a host's
    // key built from her address ("welcome-ann@example.com") is remembered by the store for ever, so that the key is
    // accepted once. Her erasure deleted her pending entries and forgot journey keys (j:{profile id}:…) but left every
    // host key of hers, sent or pending, readable in the store (and in SQLite's outbox_keys, AuditU99SqliteTests). ----
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HerMessageKeysBuiltFromHerAddress_AreForgotten_SentPendingAndPastTheTimeline(bool trimmedTimeline)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        // The engine's dispatcher runs as soon as a message is queued (the fake clock fires a timer due now at once), so the
        // "reminder" would race the erasure (CI saw it sent first, 4 messages where 3 were expected). The provider refuses it
        // for an hour instead: pending in the outbox at her erasure, whichever comes first.
        var provider = new RefusingForAnHour(email, "reminder-");
        await using var host = Host(provider, o =>
        {
            o.TimelineLength = trimmedTimeline ? 5 : 200;
            o.Delivery.Retry = null; // no quick retries on the fake clock: the refusal is rescheduled at once
        });
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)]);
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email(BobMail)]);
        var welcome = "welcome-" + AnnMail;
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional(welcome))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Bob, Transactional("welcome-" + BobMail))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count);
        for (var i = 0; i < (trimmedTimeline ? 10 : 0); i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
            await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" + i }); // her timeline drops the outcome event
        }

        var before = await host.ProfileAsync(Ann);
        Assert.Equal(trimmedTimeline, !before.Timeline.Any(t => t.EventId == welcome + ":sent")); // the case it means to test

        var later = "reminder-" + AnnMail;
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional(later))).Status); // pending: refused for an hour
        var store = Assert.IsType<InMemoryOmnichannelStore>(host.Store);
        Assert.Contains(welcome, store.AcceptedMessageKeys); // the test sees them before
        Assert.Contains(later, store.AcceptedMessageKeys);

        Assert.True(await host.Client.EraseProfileAsync(Ann, MayReturn));

        Assert.DoesNotContain(store.AcceptedMessageKeys, k => k.Contains(AnnMail, StringComparison.Ordinal));
        Assert.Contains("welcome-" + BobMail, store.AcceptedMessageKeys);
        Assert.False(await store.IsEventProcessedAsync(welcome + ":sent"));
        Assert.DoesNotContain(store.QueuedProcessedIds, id => id.Contains(AnnMail, StringComparison.Ordinal));
        Assert.True(await store.IsEventProcessedAsync("welcome-" + BobMail + ":sent"));
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(Bob, Transactional("welcome-" + BobMail))).Status);

        // A key is still accepted once, ever (its keyed hash stays): she comes back (AllowReturn) and the host's job sends
        // her old key again, or a pending one of hers: refused, nothing queued; a new key goes to her new address.
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann.new.u99@example.com")]);
        foreach (var old in new[] { welcome, later })
        {
            var again = await host.Client.SendAsync(Ann, Transactional(old));
            Assert.Equal(SendStatus.Duplicate, again.Status);
            Assert.Contains("since erased", again.Reason, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(store.AcceptedMessageKeys, k => k.Contains(AnnMail, StringComparison.Ordinal));
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional("welcome-back-u99"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(3, email.Messages.Count);
        Assert.Equal("ann.new.u99@example.com", Assert.IsType<EmailMessage>(email.Messages[^1]).To);
        var tried = provider.Refused;
        Assert.InRange(tried, 0, 1); // once, if the dispatcher reached it before her erasure
        await host.AdvanceAsync(TimeSpan.FromHours(2)); // past the refusal: her erased reminder is not tried again
        await host.Engine.RunDispatchAsync();
        Assert.Equal(tried, provider.Refused);
        Assert.Equal(3, email.Messages.Count);
    }

    /// <summary>Refuses messages whose key starts with a prefix for an hour (a transient failure); passes the rest on.</summary>
    private sealed class RefusingForAnHour(RecordingTransport inner, string prefix) : IChannelTransport
    {
        private int _refused;

        public int Refused => Volatile.Read(ref _refused);

        public string Channel => inner.Channel;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (!message.MessageId.StartsWith(prefix, StringComparison.Ordinal))
            {
                return inner.SendAsync(message, cancellationToken);
            }

            Interlocked.Increment(ref _refused);
            return ValueTask.FromResult(DeliveryResult.TransientFailure("busy", TimeSpan.FromHours(1)));
        }
    }

    // ---- 1b. Found by AuditU87Properties with the first version of fix 1 (the keys forgotten, no hash kept): a key of
    // hers sent again after her erasure was lifted went out a second time. A key is accepted once, ever. ----
    [Fact]
    public async Task AKeyOfHersSentAgainAfterHerErasureWasLifted_IsStillADuplicate()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)]);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional("m-again"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.True(await host.Client.LiftErasureAsync(Ann));
        Assert.True(await host.Client.LiftErasureAsync(Identifier.Email(AnnMail)));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)]);

        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(Ann, Transactional("m-again"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional("m-new"))).Status);
    }

    // ---- 2. Segment/PostHog "late events recreate the deleted person", and this SDK's own rule for a provider's report on
    // an old message (it does not bring her back): a shop's report on an order she placed before her erasure (shipped,
    // returned, cancelled, the order sent again) carrying her customer id, dated after the erasure, re-created her profile
    // with that order when the erasure allowed her back, and reached the profile she has after coming back. ----
    [Theory]
    [InlineData(EventTypes.OrderShipped, false)]
    [InlineData(EventTypes.OrderReturned, false)]
    [InlineData(EventTypes.OrderCancelled, false)]
    [InlineData(EventTypes.OrderPlaced, false)]
    [InlineData(EventTypes.OrderShipped, true)]
    [InlineData(EventTypes.OrderReturned, true)]
    public async Task AShopsLateReportOnHerOrderBeforeTheErasure_NeitherBringsHerBackNorReachesHerNewProfile(string type, bool cameBack)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, Identifier.Email(AnnMail)], new { order_id = "o-ann-1", total = 30, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = 1042, total = 12, currency = "EUR" }); // a numeric id
        Assert.True(await host.Client.EraseProfileAsync(Ann, MayReturn));
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        if (cameBack)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann.new.u99@example.com")]))).Status);
        }

        foreach (object props in new object[] { new { order_id = "o-ann-1", total = 30, currency = "EUR" }, new { order_id = 1042, total = 12, currency = "EUR" } })
        {
            var late = await host.Client.TrackAsync(host.Event(type, [Ann], props));
            Assert.Equal(TrackStatus.Erased, late.Status);
            Assert.Contains(late.Errors, e => e.Message.Contains("the order belonged to a profile erased", StringComparison.Ordinal));
        }

        var now = await host.Client.GetProfileAsync(Ann);
        if (cameBack)
        {
            Assert.NotNull(now);
            Assert.Equal(0, now.Statistics.OrderCount);
            Assert.DoesNotContain(now.Timeline, t => t.Type.StartsWith("order.", StringComparison.Ordinal));
        }
        else
        {
            Assert.Null(now);
        }

        // A new order of hers is her own act after the erasure: it brings her back, as before.
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-ann-2", total = 5, currency = "EUR" }))).Status);
        Assert.Equal(1, (await host.ProfileAsync(Ann)).Statistics.OrderCount);
    }

    // ---- 3. The same for a loyalty points transaction and a referral she had: a correction of an old transaction is the
    // shop's report on her history, a new transaction is new. ----
    [Fact]
    public async Task AShopsLateCorrectionOfHerPointsTransaction_DoesNotBringHerBack_ANewTransactionDoes()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync(EventTypes.LoyaltyPointsEarned, [Ann], new { points = 100, transaction_id = "tx-ann-1" });
        await host.TrackAsync(EventTypes.ReferralSent, [Ann], new { referral_code = "ANN", referral_id = "ref-ann-1" });
        Assert.True(await host.Client.EraseProfileAsync(Ann, MayReturn));
        await host.AdvanceAsync(TimeSpan.FromDays(1));

        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event(EventTypes.LoyaltyPointsEarned, [Ann], new { points = 120, transaction_id = "tx-ann-1" }))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event(EventTypes.ReferralSent, [Ann], new { referral_code = "ANN", referral_id = "ref-ann-1" }))).Status);
        Assert.Null(await host.Client.GetProfileAsync(Ann));
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.LoyaltyPointsEarned, [Ann], new { points = 7, transaction_id = "tx-ann-2" }))).Status);
        Assert.NotNull(await host.Client.GetProfileAsync(Ann));
    }

    // ---- 4. Held: the fact tombstones refuse only her own orders and keys. Bob's order with another id, and an order
    // report naming no order id, are taken as before; an erasure without AllowReturn refuses by her identifiers as before. ----
    [Fact]
    public async Task Held_OtherPeoplesOrders_AndAnOrderReportNamingNoOrder_AreTakenAsBefore()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, Identifier.Email(AnnMail)], new { order_id = "o-ann-1", total = 30 });
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob], new { order_id = "o-bob-1", total = 30 });
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderShipped, [Bob], new { order_id = "o-bob-1" }))).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], new { order_id = "o-bob-2", total = 3 }))).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderShipped, [Bob], new { tracking = "x" }))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-ann-9", total = 3 }))).Status);
        Assert.Equal(2, (await host.ProfileAsync(Bob)).Statistics.OrderCount);

        // A new customer whose order carries the same id as one of hers (another store's numbering) carries nothing of hers.
        var carol = Identifier.CustomerId("c-carol-u99");
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [carol], new { order_id = "o-ann-1", total = 8 }))).Status);
        Assert.Equal(1, (await host.ProfileAsync(carol)).Statistics.OrderCount);
    }

    // ---- 5. Held (gitcoin #8850, CiviCRM #18763, Mautic #6405: a deleted contact still mailed by something planned
    // before): every kind of message of hers waiting when she is erased — held for quiet hours, waiting in a journey's
    // delay, waiting for its retry after a transient failure, planned for later — is never sent, by dispatch or by time;
    // and after all of it no store document, member list, measurement key, outbox row, remembered key or processed id
    // holds her address, phone, customer id, first name, a product id of her journey's cooldown records or her order id. ----
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // control: without the erasure, each of them goes
    public async Task Held_EverythingOfHersWaitingAtHerErasure_IsNeverSent_AndNothingOfHersRemainsInTheStore(bool erase)
    {
        var journey = JourneyJson.Parse("""
            {"id": "browse-u99", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"correlationKey": "product_id", "reEntry": "afterCooldown", "cooldown": "P30D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT4H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """).Value!;
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new FailingTransport(ChannelNames.Sms).FailTransiently(1000);
        await using var host = Host(email, o =>
        {
            o.Journeys.Add(journey);
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "viewers", "name": "x", "rule": {"event": "product.viewed"}}""").Value!);
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
            o.Delivery.Retry = null;
        }, sms: sms);
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail), Identifier.Phone(AnnPhone)], traits: new { first_name = "Annabel" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email(BobMail)]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-ann-77", total = 30 });
        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 2, 23, 0, 0, TimeSpan.Zero));
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "sku-ann-secret" }); // a journey waits 4 h
        Assert.Single((await host.ProfileAsync(Ann)).Journeys);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "sms-1", Channels = [ChannelNames.Sms], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        await host.Engine.RunDispatchAsync(); // the text fails for now: waiting for its retry
        Assert.Equal(1, sms.Attempts);
        Assert.NotNull(await host.Store.GetNextOutboxDueAsync());
        var offer = await host.Client.SendAsync(Ann, new MessageRequest { Key = "offer-1", Channels = [ChannelNames.Email], TemplateId = "offer" });
        Assert.Equal(SendStatus.Queued, offer.Status); // held for the morning
        Assert.True(offer.DueAt > host.Time.GetUtcNow());
        Assert.Empty(email.Messages);
        var sentBefore = email.Messages.Count;
        var attemptsBefore = sms.Attempts;

        if (!erase)
        {
            await host.AdvanceAsync(TimeSpan.FromDays(3));
            await host.Engine.RunDispatchAsync();
            Assert.Equal(["offer-1"], email.Messages.Where(m => m.MessageId == "offer-1").Select(m => m.MessageId));
            Assert.Equal(2, email.Messages.Count); // the offer and the journey's email
            Assert.True(sms.Attempts > attemptsBefore, "the text is retried");
            return;
        }

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        await host.AdvanceAsync(TimeSpan.FromDays(3));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(sentBefore, email.Messages.Count);
        Assert.Equal(attemptsBefore, sms.Attempts);

        var stored = new StringBuilder();
        foreach (var id in await host.Store.ListProfileIdsAsync(null, 100))
        {
            stored.Append(Encoding.UTF8.GetString((await host.Store.LoadProfileAsync(id))!.Document)).Append('\n');
        }

        foreach (var row in await host.Store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery()))
        {
            stored.Append(row.Key).Append('\n');
        }

        foreach (var entry in await host.Store.ClaimOutboxAsync(Morning.AddDays(60), TimeSpan.FromMinutes(1), 100))
        {
            stored.Append(entry.MessageKey).Append(' ').Append(entry.ProfileId).Append(' ').Append(Encoding.UTF8.GetString(entry.Payload)).Append('\n');
        }

        var store = Assert.IsType<InMemoryOmnichannelStore>(host.Store);
        stored.AppendJoin('\n', store.AcceptedMessageKeys).Append('\n').AppendJoin('\n', store.QueuedProcessedIds).Append('\n');
        stored.AppendJoin('\n', await host.Client.GetSegmentMembersAsync("viewers"));
        var text = stored.ToString();
        Assert.Contains(BobMail, text, StringComparison.Ordinal); // the search reads what is there
        Assert.All(new[] { AnnMail, AnnPhone, Ann.Value, "Annabel", "sku-ann-secret", "o-ann-77" }, v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));
        var bobId = (await host.ProfileAsync(Bob)).Id;
        Assert.All(await host.Store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10), d => Assert.Equal(bobId, d.ProfileId));
    }

    // ---- 6. Held: Bob's referral naming her converts on his profile; nothing of her stays there after her erasure (the
    // referral's key is its referral_id, never her customer id), and the timeline summarises no referral. ----
    [Fact]
    public async Task Held_BobsReferralNamingHer_KeepsNothingOfHersAfterHerErasure()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)], traits: new { first_name = "Annabel" });
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email(BobMail)]);
        await host.TrackAsync(EventTypes.ReferralConverted, [Bob], new { referral_code = "BOB", referred_customer_id = Ann.Value, referral_id = "ref-1" });
        Assert.True(await host.Client.EraseProfileAsync(Ann));

        var bob = Encoding.UTF8.GetString((await host.Store.LoadProfileAsync((await host.ProfileAsync(Bob)).Id))!.Document);
        Assert.Contains(BobMail, bob, StringComparison.Ordinal);
        Assert.DoesNotContain(Ann.Value, bob, StringComparison.Ordinal);
        Assert.Equal(1, (await host.ProfileAsync(Bob)).Statistics.ReferralsConverted);
    }

    // ---- 7. Held: after her erasure her old cookie comes back with another person's email (a shared browser), and a
    // late delivery report for her old message arrives. The cookie is linked to the new person marked with the erasure's
    // time: her own events through it dated before the erasure stay out; the report is refused and re-creates nothing. ----
    [Fact]
    public async Task Held_HerOldCookieReturningWithAnotherPerson_AndALateReportOnHerMessage_BringNothingOfHersBack()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        var cookie = Identifier.AnonymousId("cookie-ann-u99");
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail), cookie], traits: new { first_name = "Annabel" });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Transactional("receipt-u99"))).Status);
        await host.Engine.RunDispatchAsync();
        var queuedBefore = host.Event(EventTypes.ProductViewed, [cookie], new { product_id = "sku-old" }); // stamped now, sent later
        Assert.True(await host.Client.EraseProfileAsync(Ann, MayReturn));
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var carol = Identifier.Email("carol.u99@example.com");
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [carol, cookie]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(queuedBefore)).Status);
        var report = await host.Client.TrackAsync(host.Event(EventTypes.MessageDelivered, [Identifier.Email(AnnMail)], new { message_id = "receipt-u99", channel = "email" }));
        Assert.Equal(TrackStatus.Erased, report.Status);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Email(AnnMail)));
        var carols = await host.ProfileAsync(carol);
        Assert.DoesNotContain(carols.Timeline, t => t.Type == EventTypes.ProductViewed);
        Assert.False(carols.Traits.ContainsKey("first_name"));
    }
}
