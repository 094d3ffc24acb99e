using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U7: bug classes from public reports of comparable systems (round 7), replayed against the public API on a fake
/// clock: WhatsApp addresses in Twilio's form, pushes to a device that is gone, quiet hours when she changes zone while a
/// message is held, soft and hard bounces, zero quantities in a cart, one cart reminder for many adds, one cap for many
/// journeys started by one event, addresses written with a display name.
/// </summary>
public sealed class AuditU7Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    // Templates for direct sends: a journey that never starts carries them.
    private static readonly JourneyDefinition Templates = JourneyRig.Parse("""
        {"id": "templates", "version": 1, "name": "Templates", "trigger": {"type": "event", "event": "never.happens"},
         "steps": [{"id": "a", "type": "send", "channels": ["email"], "template": "offers", "topic": "offers", "next": "b"},
                   {"id": "b", "type": "send", "channels": ["push"], "template": "alert", "class": "transactional"}]}
        """);

    private static MessageRequest Marketing(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "offers", Topic = "offers" };

    private static MessageRequest Push(string key) =>
        new() { Key = key, Channels = [ChannelNames.Push], TemplateId = "alert", Class = MessageClass.Transactional };

    // ---- 1. A WhatsApp or SMS address in the form Twilio posts it ----

    // home-assistant/core#28065 ("Twilio integration phone number parser rejects whatsapp format"), chatwoot/chatwoot#12655
    // (Twilio WhatsApp posts `From: whatsapp:+919745786257`; contacts were duplicated until the prefix was normalised),
    // chatwoot/chatwoot#12314: Twilio's webhooks name a WhatsApp sender `whatsapp:+E164`, and RFC 5724 writes an SMS
    // address `sms:+E164`. The SDK already reads `tel:` (and `mailto:` for email). A reply posted with the phone exactly
    // as Twilio sends it is her number, not a refused event and not a second person.
    [Theory]
    [InlineData("whatsapp:+14155550101")]
    [InlineData("WhatsApp:+1 415 555 0101")]
    [InlineData("sms:+14155550101")]
    [InlineData("tel:+14155550101")]
    public async Task APhoneInTwiliosWhatsAppOrAnSmsUriForm_IsHerNumber(string posted)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Phone("+14155550101")]);
        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageReplied, [Identifier.Phone(posted)],
            new { channel = ChannelNames.WhatsApp, text = "Where is my order?" }, ChannelNames.WhatsApp));

        Assert.True(r.Status == TrackStatus.Accepted, string.Join("; ", r.Errors.Select(e => e.Field + " " + e.Message)));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(p.Id, r.ProfileId);
        Assert.Single(p.Identifiers, i => i.Type == IdentifierTypes.Phone);
    }

    // The prefix is a scheme, not a way around the rules: a scheme with nothing usable after it, or another scheme, is
    // still refused with its field.
    [Theory]
    [InlineData("whatsapp:")]
    [InlineData("whatsapp:hello")]
    [InlineData("messenger:+14155550101")]
    public async Task APhoneUriWithoutANumberOrWithAnotherScheme_IsRefusedWithItsField(string posted)
    {
        await using var host = OmnichannelTestHost.Create();
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.Phone(posted)]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field.StartsWith("identifiers[0]", StringComparison.Ordinal));
    }

    // ---- 2. A push to a device that is gone ----

    // republik/app#161 ("pushes are sent that never arrive" after an uninstall; APNs answers 410 Unregistered, FCM
    // registration-token-not-registered: "the session matching the device can simply be cleared"),
    // mixpanel/mixpanel-iphone#419 (remove the one invalid token, keep her other devices): a hard bounce reported for
    // her newest device sends her next push to the device she still has, not to the dead one again.
    [Theory]
    [InlineData(true)]  // the provider's report names the device
    [InlineData(false)] // it names only the message the SDK sent
    public async Task APushHardBounce_OnHerNewestDevice_SendsTheNextPushToHerOtherDevice(bool namesTheDevice)
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-old")], channel: ChannelNames.Push);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-new")], channel: ChannelNames.Push);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var first = await rig.Host.Client.SendAsync(Ann, Push("p1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.True(first.Status == SendStatus.Queued, first.Reason);
        Assert.Equal(["phone-new"], rig.Recorder.Sent<PushMessage>().Single().DeviceTokens);

        var r = await rig.Host.TrackAsync(EventTypes.MessageBounced, [Ann],
            namesTheDevice
                ? new { channel = ChannelNames.Push, address = "phone-new", bounce_type = "hard" }
                : (object)new { channel = ChannelNames.Push, message_id = "p1", bounce_type = "hard" },
            channel: ChannelNames.Push);
        Assert.True(r.Status == TrackStatus.Accepted, string.Join("; ", r.Errors.Select(e => e.Field + " " + e.Message)));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var second = await rig.Host.Client.SendAsync(Ann, Push("p2"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.True(second.Status == SendStatus.Queued, second.Reason);
        Assert.Equal(["phone-new", "phone-old"], rig.Recorder.Sent<PushMessage>().Select(m => m.DeviceTokens.Single()));
    }

    // The same reports, for the reachable rule: with her only device gone she is no longer reachable by push; a device
    // she registers after it makes her reachable again.
    [Fact]
    public async Task APushHardBounce_OnHerOnlyDevice_MakesHerUnreachableByPush_UntilANewDevice()
    {
        var reachable = SegmentJson.Parse("""{"id": "push-ok", "name": "Push", "rule": {"reachable": "push"}}""");
        Assert.True(reachable.IsValid, string.Join("; ", reachable.Errors.Select(e => e.Path + " " + e.Message)));
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(reachable.Value!));
        await host.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-1")], channel: ChannelNames.Push);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "push", granted = true });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("push-ok"));

        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "push", address = "phone-1", bounce_type = "hard" }, channel: ChannelNames.Push);
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("push-ok"));

        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-2")], channel: ChannelNames.Push);
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("push-ok"));
    }

    // ---- 3. Quiet hours when she changes zone while a message is held ----

    // autonomous-ai/autonomous-os#329 ("re-anchor schedules when the timezone changes": the runner went on firing on the old
    // zone), calcom/cal.diy#11452, rapidpro/rapidpro#1074 (per-contact time zones for scheduled sends): a marketing email
    // held by quiet hours (21:00–08:00) until 08:00 in London is not handed over at 03:00 her time after she flies to New
    // York; it waits for 08:00 in New York. Flying east, it is not handed over in her night either: since audit U48 it
    // goes at her new morning, 08:00 in London, earlier than the 08:00 New York (13:00 UTC) it was held for.
    [Theory]
    [InlineData("Europe/London", "America/New_York", 13)] // held for 08:00 London, then 08:00 New York
    [InlineData("America/New_York", "Europe/London", 8)] // held for 08:00 New York (13:00 London): moved to 08:00 London
    public async Task AMessageHeldByQuietHours_IsNotSentInHerNightAfterSheChangesZone(string from, string to, int heldUntilUtcHour)
    {
        var start = new DateTimeOffset(2026, 1, 12, 2, 30, 0, TimeSpan.Zero); // 02:30 London, 21:30 New York
        await using var rig = JourneyRig.Create([Templates], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], context: new EventContext { TimeZone = from });
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var offer = await rig.Host.Client.SendAsync(Ann, Marketing("m1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(rig.Sent());

        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync("app.opened", [Ann], channel: ChannelNames.Push, context: new EventContext { TimeZone = to }); // she landed

        var zone = TimeZoneInfo.FindSystemTimeZoneById(to);
        var sentAt = (DateTimeOffset?)null;
        for (var i = 0; i < 48 * 4 && sentAt is null; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromMinutes(15));
            if (rig.Sent().Count > 0)
            {
                sentAt = rig.Host.Time.GetUtcNow();
            }
        }

        Assert.NotNull(sentAt);
        var local = TimeZoneInfo.ConvertTime(sentAt.Value, zone);
        Assert.True(local.TimeOfDay >= new TimeSpan(8, 0, 0) && local.TimeOfDay < new TimeSpan(21, 0, 0), $"handed over at {local:HH:mm} in {to}");
        Assert.Equal(SendStatus.Queued, offer.Status);
        Assert.Equal(heldUntilUtcHour, sentAt.Value.UtcDateTime.Hour); // 08:00 where she is
    }

    // ---- 4. Soft bounces do not suppress; a hard one does ----

    // braze-inc/braze-docs#12874 ("Braze will continue sending to users who have soft bounced… a temporary delivery
    // failure"), Notifuse/notifuse#323 (only permanent bounces mark a contact as bounced): two soft bounces leave her
    // address mailable for marketing and transactional mail alike; a later hard bounce on the same address stops both.
    [Fact]
    public async Task SoftBounces_LeaveHerAddressMailable_AndAHardBounceThenStopsIt()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        for (var i = 0; i < 2; i++)
        {
            await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "Ann@Example.com", bounce_type = "soft" });
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
        }

        Assert.Equal(SendStatus.Queued, (await rig.Host.Client.SendAsync(Ann, Marketing("m1"))).Status);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(["email:offers"], rig.Sent());

        await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(SendStatus.Skipped, (await rig.Host.Client.SendAsync(Ann, Marketing("m2"))).Status);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(["email:offers"], rig.Sent());
    }

    // ---- 5. A zero quantity in a cart event ----

    // woocommerce/woocommerce#725 ("a quantity input of zero should remove the product"), stephenmcd/cartridge#38 (a zero
    // quantity line ended up on the invoice), silvershop/silvershop-core#568, TycheSoftwares/woocommerce-abandoned-cart#213
    // (no reminder for an empty cart): a cart event with quantity 0 is refused with its field rather than put in the
    // cart as a zero line (which would keep an "abandoned" cart with nothing in it); a removal of the whole line
    // (no quantity) empties it, and the cart-value segment follows.
    [Fact]
    public async Task AZeroQuantity_IsRefusedWithItsField_AndNeverAZeroLineInTheCart()
    {
        var hasCart = SegmentJson.Parse("""{"id": "has-cart", "name": "Has cart", "rule": {"stat": "cartLineCount", "op": "gt", "value": 0}}""");
        Assert.True(hasCart.IsValid, string.Join("; ", hasCart.Errors.Select(e => e.Path + " " + e.Message)));
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(hasCart.Value!));
        var zero = await host.Client.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "sku-1", quantity = 0, price = 10 }));
        Assert.Equal(TrackStatus.Rejected, zero.Status);
        Assert.Contains(zero.Errors, e => e.Field == "properties.quantity");

        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "sku-1", quantity = 2, price = 10 });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("has-cart"));
        var zeroRemove = await host.Client.TrackAsync(host.Event(EventTypes.CartItemRemoved, [Ann], new { product_id = "sku-1", quantity = 0 }));
        Assert.Equal(TrackStatus.Rejected, zeroRemove.Status);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "sku-1" });
        var p = await host.ProfileAsync(Ann);
        Assert.Empty(p.Cart);
        Assert.False(p.IsInSegment("has-cart"));
    }

    // ---- 6. One reminder for a cart built in several adds ----

    // TycheSoftwares/woocommerce-abandoned-cart#168 and #120 (a new cart record per visit sent the same shopper several
    // reminders), mailchimp/mc-woocommerce#1398: a cart journey triggered by every `cart.item_added` (the default
    // re-entry, one running instance at a time) sends one reminder for three adds within the hour, and a new one only
    // for a cart added to after the first reminder's journey ended.
    [Fact]
    public async Task ThreeAddsWithinTheHour_SendOneReminder_NotThree()
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "w", "type": "delay", "duration": "PT4H", "next": "s"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        foreach (var sku in new[] { "a", "b", "c" })
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = sku, quantity = 1, price = 5 });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Equal(["email:cart-reminder"], rig.Sent());

        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "d", quantity = 1, price = 5 });
        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Equal(["email:cart-reminder", "email:cart-reminder"], rig.Sent());
    }

    // ---- 7. One cap for several journeys started by one event ----

    // mautic/mautic#6729 (frequency rules ignored for campaign sends), braze-inc/braze-docs#75 (a rule is computed when a
    // message is sent): one signup starts three journeys that each send a marketing email at once; with a cap of one
    // marketing email a day she gets one, not three (the journeys plan in the same unit of work, so each must see the
    // ones planned before it).
    [Fact]
    public async Task ThreeJourneysStartedByOneEvent_SendOneEmail_UnderACapOfOne()
    {
        JourneyDefinition J(string id) => JourneyRig.Parse($$"""
            {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "{{id}}", "topic": "offers"}]}
            """);
        await using var rig = JourneyRig.Create([J("welcome"), J("first-offer"), J("app-invite")], configure: o =>
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Email)));
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Single(rig.Sent());
    }

    // ---- 8. An email address written with a display name ----

    // knadh/listmonk imports and mautic/mautic CSV imports of `"Ann Lee" <ann@example.com>` (the form a mail client copies),
    // SparkDevNetwork/Rock#4640 (padding and case): an address in name-addr form is either read as her address or refused
    // with its field; it is never a second person under the whole text.
    [Theory]
    [InlineData("\"Ann Lee\" <ann@example.com>")]
    [InlineData("Ann Lee <Ann@Example.com>")]
    [InlineData("<ann@example.com>")]
    public async Task AnAddressWithADisplayName_IsHerAddressOrRefused_NeverASecondPerson(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.Email(written)]));
        if (r.Status == TrackStatus.Accepted)
        {
            Assert.Equal((await host.ProfileAsync(Ann)).Id, r.ProfileId);
        }
        else
        {
            Assert.Equal(TrackStatus.Rejected, r.Status);
            Assert.Contains(r.Errors, e => e.Field.StartsWith("identifiers[0]", StringComparison.Ordinal));
        }
    }

    // ---- 9. A consent decision sent as text ----

    // alexta69/metube#944 (`bool("false")` is true: a pause resumed the subscription), mozmeao/basket#66 (a boolean false
    // was dropped, so people could not opt out), CenturyLinkLabs/panamax-api#180 (the flag came as "1"/"0"): `granted`
    // given as text ("false", "0", "no", "true") is refused with its field, never read as a grant (or a refusal), and her
    // decision stays what it was; a JSON `false` withdraws it.
    [Theory]
    [InlineData("\"false\"")]
    [InlineData("\"0\"")]
    [InlineData("\"no\"")]
    [InlineData("\"true\"")]
    [InlineData("0")]
    [InlineData("null")]
    public async Task AConsentDecisionSentAsText_IsRefusedWithItsField_AndChangesNothing(string granted)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        var r = await host.Client.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann],
            JsonData.Parse("{\"channel\": \"email\", \"topic\": \"offers\", \"granted\": " + granted + "}")));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field == "properties.granted");
        Assert.True((await host.ProfileAsync(Ann)).GetConsent("email", "offers")?.Granted);

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], JsonData.Parse("""{"channel": "email", "topic": "offers", "granted": false}"""));
        Assert.False((await host.ProfileAsync(Ann)).GetConsent("email", "offers")?.Granted);
    }

    // ---- 10. Events that share one timestamp ----

    // customerio/customerio-python#22 (two events with the same timestamp are two events, not deduplicated),
    // pymc-labs/decision-lab#58 ("deduplication by timestamp alone drops legitimate events"), PostHog/posthog#17211
    // (deduplication is by the event's id): three product views imported with one second-precision timestamp count three
    // in "at least 3 views in a day"; the same event id sent again is one.
    [Fact]
    public async Task EventsSharingOneTimestamp_CountEach_ButTheSameIdOnce()
    {
        var browsers = SegmentJson.Parse("""{"id": "browsers", "name": "Browsers", "rule": {"event": "product.viewed", "count": {"op": "gte", "value": 3}, "within": "P1D"}}""");
        Assert.True(browsers.IsValid, string.Join("; ", browsers.Errors.Select(e => e.Path + " " + e.Message)));
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(browsers.Value!));
        var at = host.Time.GetUtcNow();
        var first = host.Event("product.viewed", [Ann], new { product_id = "a" }, at: at) with { Id = "view-1" };
        await host.TrackAsync(first);
        Assert.Equal(TrackStatus.Duplicate, (await host.Client.TrackAsync(first)).Status);
        await host.TrackAsync(host.Event("product.viewed", [Ann], new { product_id = "b" }, at: at) with { Id = "view-2" });
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("browsers"));
        await host.TrackAsync(host.Event("product.viewed", [Ann], new { product_id = "a" }, at: at) with { Id = "view-3" });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("browsers"));
    }

    // ---- 11. An event property sent as null ----

    // apache/unomi#13 (UNOMI-32) and segment-boneyard/segment-docs#7143 for traits (audit U5); the same for an event's own
    // properties, as analytics clients serialise an unset field (`coupon: null`): a trigger's `where` "coupon exists" does
    // not start for an order whose coupon is null, and "coupon notExists" does.
    [Theory]
    [InlineData("exists", false)]
    [InlineData("notExists", true)]
    public async Task AnEventPropertySentAsNull_IsMissingForATriggersWhere(string op, bool starts)
    {
        var journey = JourneyRig.Parse($$"""
            {"id": "coupon", "version": 1, "name": "Coupon", "trigger": {"type": "event", "event": "order.placed", "where": [{"property": "coupon", "op": "{{op}}"}]},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": "o1", "total": 10, "currency": "GBP", "coupon": null}"""));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(starts ? ["email:thanks"] : [], rig.Sent());
    }
}
