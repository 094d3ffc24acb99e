using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U37: bug classes from public reports (round 37: a message between its plan and its hand-over). Between the
/// moment a journey step or <c>SendAsync</c> plans a message and the moment a transport gets it, quiet hours hold it,
/// retries back off and people change their minds; each test names its reports and runs through the public API on the
/// fake clock (the test kit).
/// </summary>
public sealed class AuditU37Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    // 22:30 UTC; the default zone is UTC and quiet hours run 21:00–08:00.
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Afternoon = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    // The reminder is the journey's last step: its instance completes when the reminder is planned.
    private static JourneyDefinition Cart(string stops, string mail = """{"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "topic": "cart"}""") => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         {{stops}},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {{mail}}]}
        """);

    private static readonly SegmentDefinition Carters =
        SegmentJson.Parse("""{"id": "carters", "name": "Carters", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!;

    private static async Task ConsentAndCart(JourneyRig rig, Identifier who)
    {
        await rig.TrackAsync(EventTypes.ConsentChanged, [who], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [who], new { product_id = "p1", quantity = 1, price = 10 });
    }

    // ---- 1. An exit condition met while the last reminder is held ----
    // Klaviyo's flow filters are "applied when people enter your flow, as well as before every email in the flow is sent"
    // (help.klaviyo.com/hc/en-us/articles/115002779051) and a segment-triggered flow "checks … each potential recipient is
    // still part of the segment at send time"; honeybadger-io/heya#45 ("remove people from campaigns when they no longer
    // match"), heya#9 (a message whose conditions no longer match is skipped), mautic/mautic#6405 (the queue kept messages
    // of contacts taken out of the campaign). A cart journey exits when her cart is empty (or when she is no longer in the
    // cart segment); the reminder is planned at 23:30 as its last step and held until 08:00; at 23:45 she empties her cart.
    // A running instance would have exited and withdrawn it; the completed one's reminder went out in the morning.
    [Theory]
    [InlineData("""{"condition": {"stat": "cartLineCount", "op": "eq", "value": 0}}""", true)]
    [InlineData("""{"condition": {"not": {"segment": "carters"}}}""", true)]
    [InlineData("""{"condition": {"stat": "cartLineCount", "op": "eq", "value": 0}}""", false)] // control: the cart stays full
    public async Task AnExitCondition_MetWhileTheLastReminderIsHeld_WithdrawsIt(string exit, bool emptiesTheCart)
    {
        await using var rig = JourneyRig.Create([Cart($"\"exit\": [{exit}]")], [Carters], o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, LateEvening);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await ConsentAndCart(rig, Ann);
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15)); // planned at 23:30, held until 08:00
        Assert.Empty(rig.Sent());

        if (emptiesTheCart)
        {
            await rig.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "p1" });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(emptiesTheCart ? [] : ["email:cart"], rig.Sent());
        if (emptiesTheCart)
        {
            Assert.Contains((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSkipped && t.Summary!.Contains("exit", StringComparison.Ordinal));
        }
    }

    // ---- 2. A flash sale's message held past the end of the sale ----
    // JasperFx/jasper#201 ("DeliverBy": a message not processed by its expiry is discarded), microsoftarchive/cqrs-journey#205
    // (stale messages processed first after downtime), smrchy/rsmq#58 ("add a valid-till field … once a message with an
    // expired valid-till is received you discard it"). The SDK has no expiry on a message; a journey says it with a
    // condition exit on the offer's end. The offer ends at 06:00 while its message is held until 08:00: nothing happens
    // at 06:00 (no event, and the instance ended when it planned the message), so only the check when the message leaves
    // can see that the condition now holds.
    [Theory]
    [InlineData(6, false)]
    [InlineData(10, true)] // control: the offer still runs at 08:00
    public async Task AMessageHeldPastTheEndOfItsOffer_IsNotSent_WhenTheJourneyExitsOnTheOffersEnd(int offerEndsAtHour, bool sent)
    {
        var sale = JourneyRig.Parse("""
            {"id": "sale", "version": 1, "name": "Flash sale", "trigger": {"type": "event", "event": "offer.granted"},
             "exit": [{"condition": {"trait": "offer_ends_at", "op": "moreThanAgo", "value": "PT1S"}}],
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "sale", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([sale], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var ends = new DateTimeOffset(2026, 1, 6, offerEndsAtHour, 0, 0, TimeSpan.Zero);
        await rig.TrackAsync("offer.granted", [Ann], new { offer = "flash" }, traits: new { offer_ends_at = ends.ToString("O") });
        Assert.Empty(rig.Sent()); // held until 08:00

        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(sent ? ["email:sale"] : [], rig.Sent());
    }

    // ---- 3. She buys while the reminder waits for a retry ----
    // mailchimp/mc-magento2#431 and TycheSoftwares/woocommerce-abandoned-cart#166, #874 (reminders sent after the order);
    // stopstalk/stopstalk-deployment#177 (mails waiting in the queue went out after the change that should have stopped
    // them). The provider is down when the reminder is due (a transient failure, the next attempt ten minutes later); she
    // orders five minutes after it failed. The exit event withdrew a held message only when it was timed before the
    // message's due time, so a message retrying past its due time still went; a goal (control) already withdrew it.
    [Theory]
    [InlineData("\"exit\": [{\"event\": \"order.placed\"}]")]
    [InlineData("\"goal\": {\"event\": \"order.placed\", \"within\": \"P2D\"}")]
    public async Task AnOrder_WhileTheReminderWaitsForARetry_StopsIt(string stops)
    {
        var email = new FailingTransport(ChannelNames.Email).FailTransiently(1);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Journeys.Add(Cart(stops));
                o.Delivery.Retry = null;
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(10);
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            },
            start: Afternoon,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(1, email.TransientFailures);

        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(email.Recorder!.Messages);
        Assert.Equal(1, email.Attempts);
    }

    // ---- 4. She ordered under her account; the reminder is held on the profile of the cart she filled as a guest ----
    // TycheSoftwares/woocommerce-abandoned-cart#166 / PR #167 (a guest who registers while ordering still got the guest
    // cart's reminder), mailchimp/mc-magento#29 (guest carts of a registered customer). Her cart (her browser's cookie and
    // email) plans its reminder at 23:30, held until 08:00; at 23:50 she orders under her customer id, a profile that knows
    // nothing of the cart; at 00:10 she logs in and the two profiles merge. The order is remembered on the merged profile
    // (audit JM), but only running instances read it: the completed instance's reminder went out in the morning.
    [Theory]
    [InlineData("\"exit\": [{\"event\": \"order.placed\"}]", true)]
    [InlineData("\"goal\": {\"event\": \"order.placed\", \"within\": \"P2D\"}", true)]
    [InlineData("\"exit\": [{\"event\": \"order.placed\"}]", false)] // control: no order, the reminder goes
    public async Task AnOrderUnderHerAccount_BeforeSheLogsIn_WithdrawsTheReminderHeldOnHerGuestProfile(string stops, bool orders)
    {
        await using var rig = JourneyRig.Create([Cart(stops)], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        await rig.TrackAsync("page.viewed", [Cookie, AnnMail]);
        await ConsentAndCart(rig, Cookie);
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15)); // 23:45: held until 08:00
        Assert.Empty(rig.Sent());

        if (orders)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.TrackAsync("user.logged_in", [Ann, Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(orders ? [] : ["email:cart"], rig.Sent());

        // A goal reached on the other profile converts the ended entry once, as had the two been linked all along.
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(orders && stops.Contains("goal", StringComparison.Ordinal) ? 1 : 0, stats.Converted);
    }

    // ---- 5. The renderer has nothing to say any more when the held message leaves ----
    // IMessageRenderer's contract: "Returning null means the template has nothing for this channel (the channel is passed
    // over)". TycheSoftwares/woocommerce-abandoned-cart#1028 ("reminder email fails to display real data for cart
    // details"), thirtybees/thirtybees#1651 (a cart's content is read as it is now, not as it was). A host's renderer
    // lists her cart and has nothing to send for an empty one; the reminder is held for quiet hours; she empties the
    // cart overnight. Rendered again in the morning the renderer says "nothing for this channel", and the message
    // rendered the evening before (listing the item she took out) was sent instead.
    [Fact]
    public async Task AHeldMessage_WhoseRendererHasNothingForTheChannelWhenItLeaves_IsNotSentAsPlanned()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: LateEvening, delivery: new DeliverySetup { Renderer = new CartRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1, price = 10 });
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "nudge", Channels = [ChannelNames.Email], TemplateId = "nudge", Topic = "cart" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "p1" });
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(email.Messages);
        var skipped = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSkipped);
        Assert.Contains("nothing for this channel", skipped.Summary, StringComparison.Ordinal);
    }

    private sealed class CartRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(profile.Cart.Count == 0
                ? null
                : new EmailMessage { MessageId = request.Key, From = "shop@kitty.example", To = address, Subject = "Your cart", TextBody = string.Join(", ", profile.Cart.Select(l => l.ProductId)) });
    }

    // ---- 6. A held message shows her cart, prices and language as they are when it leaves ----
    // TycheSoftwares/woocommerce-abandoned-cart#1028 and thirtybees/thirtybees#1651 (above); Braze's and Customer.io's
    // Liquid is rendered at send time. Planned at 22:30 with one item at 10 in English; overnight she adds a second item
    // and her app reports Spanish. The reminder that leaves at 08:00 lists both items, its total, in Spanish.
    [Fact]
    public async Task AHeldMessage_ShowsHerCartTotalAndLanguage_AsTheyAreWhenItLeaves()
    {
        var templates = TemplateRenderer.Load(
        [
            new TemplateDocument("nudge",
            [
                TemplateVariant.Email("Your cart", null, "{% for l in profile.cart %}{{ l.product_id }} {% endfor %}= {{ profile.cart_total }}"),
                TemplateVariant.Email("Tu carrito", null, "{% for l in profile.cart %}{{ l.product_id }} {% endfor %}= {{ profile.cart_total }}") with { Locale = "es" },
            ]),
        ]);
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: LateEvening,
            delivery: new DeliverySetup { Renderer = new TemplateMessageRenderer(templates.Renderer!, "shop@kitty.example") }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { Locale = "en-GB" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1, price = 10 });
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "nudge", Channels = [ChannelNames.Email], TemplateId = "nudge", Topic = "cart" });
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p2", quantity = 2, price = 5 }, context: new EventContext { Locale = "es-ES" });
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        var mail = Assert.IsType<EmailMessage>(Assert.Single(email.Messages));
        Assert.Equal("Tu carrito", mail.Subject);
        Assert.Equal("p1 p2 = 20", mail.TextBody!.Trim());
    }

    // ---- 7. A held transactional message after she changed her email ----
    // svsticky/constipated-koala#700 ("when changing my email … I will only receive emails at the new one"; mail kept
    // going to the old one). Audit Cons moved a held *marketing* email to the address she uses now; a receipt held by
    // transactional quiet hours (a host that defers them) follows the same rule: the old address may no longer be hers,
    // and one planned in the morning would go to the new one. Decided: the address she uses when it leaves.
    [Fact]
    public async Task AHeldTransactionalMessage_GoesToTheEmailSheChangedToMeanwhile()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer, start: LateEvening,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("old@example.com")]);
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "shipped", Channels = [ChannelNames.Email], TemplateId = "shipped", Class = MessageClass.Transactional });
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync("user.updated", [Ann, Identifier.Email("new@example.com")]);
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        Assert.Equal("new@example.com", Assert.IsType<EmailMessage>(Assert.Single(email.Messages)).To);
    }

    // ---- 8. A withdrawn held reminder frees its cap slot at once ----
    // Review 26 freed the slot of a reminder withdrawn by a goal or a removal; the condition exit of test 1 must do the
    // same: under one marketing email a day, the newsletter planned for the same morning goes once the reminder it would
    // have been counted with is withdrawn.
    [Fact]
    public async Task AReminderWithdrawnByAnExitCondition_KeepsNoCapSlot()
    {
        await using var rig = JourneyRig.Create([Cart("\"exit\": [{\"condition\": {\"stat\": \"cartLineCount\", \"op\": \"eq\", \"value\": 0}}]")],
            configure: o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(12)));
            },
            start: LateEvening);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await ConsentAndCart(rig, Ann);
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15));
        await rig.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "p1" });

        var news = await rig.Host.Client.SendAsync(Ann, new MessageRequest { Key = "news", Channels = [ChannelNames.Email], TemplateId = "cart" });
        Assert.Equal(SendStatus.Queued, news.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal("news", Assert.Single(rig.Recorder.Messages).MessageId);
    }

    // ---- 9. She buys while a second entry runs: the first entry's held reminder ----
    // TycheSoftwares/woocommerce-abandoned-cart#874 and #166 (reminders after the purchase), mailchimp/mc-magento2#431.
    // A cart add at 21:30 plans its reminder at 22:30 (held until 08:00; the entry ended); a second add at 22:40 starts a
    // new entry (re-entry after the previous ended), which waits its hour; she orders at 23:00. One goal event converts
    // one entry per journey, the latest started, so the running entry converted and the ended one, not credited, kept
    // its reminder: it went out at 08:00, after she bought. The goal is reached for both: now nothing goes, and the
    // journey counts one conversion.
    [Fact]
    public async Task AnOrder_CreditedToASecondEntry_StillWithdrawsTheFirstEntrysHeldReminder()
    {
        await using var rig = JourneyRig.Create([Cart("\"goal\": {\"event\": \"order.placed\", \"within\": \"P2D\"}")],
            configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening - TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await ConsentAndCart(rig, Ann);
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(10)); // 22:40: the first reminder is held
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p2", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 15 });
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        Assert.Empty(rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // The same with an order for another cart (the journey correlates by cart): the first cart's reminder still goes.
    [Fact]
    public async Task AnOrderForAnotherCart_CreditedToItsOwnEntry_LeavesTheFirstCartsHeldReminder()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"correlationKey": "cart_id"}, "goal": {"event": "order.placed", "within": "P2D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "topic": "cart"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening - TimeSpan.FromHours(1));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p2", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", cart_id = "c2", total = 15 });
        await rig.AdvanceAsync(TimeSpan.FromHours(12));

        Assert.Equal(["email:cart"], rig.Sent());
    }
}
