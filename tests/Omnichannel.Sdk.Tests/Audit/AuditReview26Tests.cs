using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audits U7 and U8 (twenty-sixth session), a hostile tester's cases against the public API on a fake clock:
/// phones in <c>whatsapp:</c>, <c>sms:</c> and <c>tel:</c> forms (spacing, case, queries, several recipients, no plus),
/// a push device suppressed by a hard bounce (re-registered, merged), a held message of a removed journey (caps after its
/// withdrawal) and an order update that must not convert a second entry (arrival order reversed, merges).
/// </summary>
public sealed class AuditReview26Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    // ---- 1. Phone forms ----

    // Every form of her number in the forms Twilio, RFC 5724 and RFC 3966 write it, with odd spacing and case, is her
    // number: one profile with one phone, the one she signed up with in E.164.
    [Theory]
    [InlineData("whatsapp:+14155550101")]
    [InlineData("WHATSAPP:+14155550101")]
    [InlineData("  whatsapp:  +1 (415) 555-0101  ")]
    [InlineData("whatsapp:+1.415.555.0101")]
    [InlineData("sms:+14155550101?body=hello%20there")]
    [InlineData("SMS:+1-415-555-0101?body=")]
    [InlineData("sms: +1 415 555 0101 ?body=x")]
    [InlineData("Tel:+1-415-555-0101")]
    [InlineData("whatsapp:14155550101")] // no plus, in the default country's own reading
    public async Task EveryUriFormOfHerNumber_IsOneProfileWithOnePhone(string posted)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.Phone(posted)]);
        await host.TrackAsync("user.logged_in", [Ann, Identifier.Phone("+14155550101")]);

        var p = await host.ProfileAsync(Ann);
        Assert.Equal("+14155550101", Assert.Single(p.Identifiers, i => i.Type == IdentifierTypes.Phone).Value);
        Assert.Equal(p.Id, (await host.ProfileAsync(Identifier.Phone(posted))).Id);
    }

    // A form that names more than one number, or one that is not decoded, is refused with its field: never read as one of
    // the numbers (that would merge two people) nor as their digits run together.
    [Theory]
    [InlineData("sms:+14155550101,+14155550102")]
    [InlineData("sms:+14155550101;+14155550102")]
    [InlineData("sms:%2B14155550101")]
    [InlineData("whatsapp%3A%2B14155550101")]
    [InlineData("whatsapp:whatsapp:+14155550101")]
    [InlineData("tel:sms:+14155550101")]
    [InlineData("sms:?body=+14155550101")]
    [InlineData("whatsapp:+14155550101?body=hi")]
    public async Task APhoneUriNamingSeveralNumbersOrStillEncoded_IsRefusedWithItsField(string posted)
    {
        await using var host = OmnichannelTestHost.Create();
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.Phone(posted)]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field.StartsWith("identifiers[0]", StringComparison.Ordinal));
    }

    // WhatsApp has no national numbers: its addresses are always international, and Meta's Cloud API writes them
    // without the plus (wa_id "447700900461"). In a shop whose default country is not the number's, such an address was
    // read as a national number of the default country: refused, or worse, another person's number.
    [Theory]
    [InlineData("US", "whatsapp:447700900461", "+447700900461")]
    [InlineData("DE", "whatsapp:14155550101", "+14155550101")]
    [InlineData("GB", "whatsapp:14155550101", "+14155550101")]
    [InlineData("DE", "whatsapp:00447700900461", "+447700900461")]
    public async Task AWhatsAppAddressWithoutThePlus_IsReadAsInternational(string region, string posted, string expected)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = region);
        var r = await host.Client.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Phone(posted)]));
        Assert.True(r.Status == TrackStatus.Accepted, string.Join("; ", r.Errors.Select(e => e.Field + " " + e.Message)));
        Assert.Equal(expected, Assert.Single((await host.ProfileAsync(Ann)).Identifiers, i => i.Type == IdentifierTypes.Phone).Value);
    }

    // Property: for every valid national number, its whatsapp:, sms: and tel: forms (any case, any spacing, with a body)
    // normalise exactly as its E.164 form does.
    [Property(MaxTest = 300)]
    public Property EveryUriForm_NormalisesAsItsE164Form()
    {
        var options = new IdentityOptions();
        var gen =
            from line in Gen.Choose(200, 999)
            from rest in Gen.Choose(2_000_000, 9_999_999)
            from scheme in Gen.Elements("whatsapp:", "WhatsApp:", "WHATSAPP:", "sms:", "SMS:", "tel:", "TEL:")
            from space in Gen.Elements("", " ", "  ")
            from body in Gen.Elements("", "?body=hi", "?body=", "?body=%2B1")
            select (e164: "+1" + line + rest, scheme, space, body);
        return Prop.ForAll(gen.ToArbitrary(), t =>
        {
            Assert.True(IdentifierNormalizers.Phone(t.e164, options, out var expected, out var why), why);
            var posted = t.space + t.scheme + t.space + t.e164 + (t.scheme.StartsWith('s') || t.scheme.StartsWith('S') ? t.body : string.Empty) + t.space;
            Assert.True(IdentifierNormalizers.Phone(posted, options, out var got, out var error), posted + ": " + error);
            Assert.Equal(expected, got);
        });
    }

    // A number first seen as whatsapp: is erased like any other: the E.164 form and the whatsapp: form are both refused
    // afterwards, and her SMS hard bounce reported with the whatsapp: form suppresses the same number.
    [Fact]
    public async Task ANumberFirstSeenAsWhatsApp_IsErasedAndRefusedInEveryForm()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.MessageReplied, [Identifier.Phone("whatsapp:+14155550101")], new { channel = ChannelNames.WhatsApp, text = "hi" }, ChannelNames.WhatsApp);
        Assert.True(await host.Client.EraseProfileAsync(Identifier.Phone("+1 415 555 0101")));
        foreach (var form in new[] { "+14155550101", "whatsapp:+14155550101", "sms:+14155550101?body=x" })
        {
            var r = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.Phone(form)]));
            Assert.Equal(TrackStatus.Erased, r.Status);
        }
    }

    [Fact]
    public async Task AHardBounceNamingTheWhatsAppForm_SuppressesHerNumber()
    {
        var reachable = Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "wa-ok", "name": "WA", "rule": {"reachable": "whatsapp"}}""");
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(reachable.Value!));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Phone("+14155550101")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.WhatsApp, granted = true });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("wa-ok"));

        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.WhatsApp, address = "whatsapp:+14155550101", bounce_type = "hard" }, ChannelNames.WhatsApp);
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("wa-ok"));
    }

    // ---- 2. A push device a hard bounce called gone ----

    private static readonly JourneyDefinition Templates = JourneyRig.Parse("""
        {"id": "templates", "version": 1, "name": "Templates", "trigger": {"type": "event", "event": "never.happens"},
         "steps": [{"id": "a", "type": "send", "channels": ["email"], "template": "offers", "topic": "offers", "next": "b"},
                   {"id": "b", "type": "send", "channels": ["push"], "template": "alert", "class": "transactional"}]}
        """);

    private static MessageRequest Push(string key) =>
        new() { Key = key, Channels = [ChannelNames.Push], TemplateId = "alert", Class = MessageClass.Transactional };

    // Two profiles merge, one of whose devices is suppressed (the newest): the merged profile passes over it.
    [Theory]
    [InlineData(true)]  // the bounce arrives before the merge
    [InlineData(false)] // after it
    public async Task AMergeBringingASuppressedDevice_PassesOverIt(bool bounceFirst)
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-old")], channel: ChannelNames.Push);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("app.opened", [Identifier.DeviceId("tablet")], channel: ChannelNames.Push);
        if (bounceFirst)
        {
            await rig.TrackAsync(EventTypes.MessageBounced, [Identifier.DeviceId("tablet")], new { channel = ChannelNames.Push, address = "tablet", bounce_type = "hard" }, channel: ChannelNames.Push);
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync("user.logged_in", [Ann, Identifier.DeviceId("tablet")], channel: ChannelNames.Push);
        if (!bounceFirst)
        {
            await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Push, address = "tablet", bounce_type = "hard" }, channel: ChannelNames.Push);
        }

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(2, p.Identifiers.Count(i => i.Type == IdentifierTypes.DeviceId));
        var sent = await rig.Host.Client.SendAsync(Ann, Push("p1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.True(sent.Status == SendStatus.Queued, sent.Reason);
        Assert.Equal(["phone-old"], rig.Recorder.Sent<PushMessage>().Single().DeviceTokens);
    }

    // The device the bounce called gone opens the app again (the same token): pinned as it is, it stays suppressed
    // for push, like an email address after a hard bounce (the decision is written in the design notes).
    [Fact]
    public async Task ASuppressedDevice_SeenAgain_StaysSuppressed()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-1")], channel: ChannelNames.Push);
        await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Push, address = "phone-1", bounce_type = "hard" }, channel: ChannelNames.Push);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-1")], channel: ChannelNames.Push);

        var sent = await rig.Host.Client.SendAsync(Ann, Push("p1"));
        Assert.NotEqual(SendStatus.Queued, sent.Status);
        Assert.Empty(rig.Recorder.Sent<PushMessage>());
    }

    // A bounce naming the device in another case is another device (device ids are compared exactly): it suppresses
    // nothing of hers, and her push still goes.
    [Fact]
    public async Task APushBounceNamingTheDeviceInAnotherCase_SuppressesNothingOfHers()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("app.opened", [Ann, Identifier.DeviceId("phone-1")], channel: ChannelNames.Push);
        await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Push, address = "PHONE-1", bounce_type = "hard" }, channel: ChannelNames.Push);
        var sent = await rig.Host.Client.SendAsync(Ann, Push("p1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.True(sent.Status == SendStatus.Queued, sent.Reason);
        Assert.Equal(["phone-1"], rig.Recorder.Sent<PushMessage>().Single().DeviceTokens);
    }

    // ---- 3. A held message of a removed journey ----

    private const string CartReminder = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """;

    private const string CartWithGoal = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """;

    private const string Welcome = """
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "newsletter.opened"},
         "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello"}]}
        """;

    // gophish/gophish#719's class, for caps: the reminder held until 08:00 is withdrawn (the journey removed, or its goal
    // reached) at night; another marketing email planned before 08:00 for the same morning is within a cap of one a day,
    // because the withdrawn message never goes. It was skipped for the cap: the withdrawn message kept its slot.
    [Theory]
    [InlineData("removed")]
    [InlineData("goal")]
    public async Task AWithdrawnHeldMessage_KeepsNoCapSlot(string how)
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse(how == "goal" ? CartWithGoal : CartReminder), JourneyRig.Parse(Welcome)],
            configure: o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Email));
            },
            start: LateEvening);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15)); // planned 23:30, held until 08:00
        if (how == "goal")
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        }
        else
        {
            Assert.True(await rig.Engine.RemoveJourneyAsync("cart"));
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(7)); // 06:45: still quiet
        await rig.TrackAsync("newsletter.opened", [Ann]);
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(["email:hello"], rig.Sent());
    }

    // The cap still counts a held message that is not withdrawn (the test above is not green for want of a cap).
    [Fact]
    public async Task AHeldMessageNotWithdrawn_StillTakesItsCapSlot()
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse(CartReminder), JourneyRig.Parse(Welcome)],
            configure: o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), ChannelNames.Email));
            },
            start: LateEvening);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(8));
        await rig.TrackAsync("newsletter.opened", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(["email:cart"], rig.Sent());
    }

    // A new version with the same steps is not a removal: the held reminder goes (what an earlier step planned stays
    // planned); removed and published again as version 2, it does not.
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public async Task AHeldMessage_OfAJourneyRepublishedWithTheSameSteps(bool removedFirst, int expectedSends)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(CartReminder)], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: LateEvening);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15));
        if (removedFirst)
        {
            Assert.True(await rig.Engine.RemoveJourneyAsync("cart"));
        }

        await rig.Engine.PublishJourneyAsync(JourneyRig.Parse(CartReminder.Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal)));
        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(expectedSends, rig.Sent().Count);
    }

    // ---- 4. An order update and a second entry's goal ----

    private const string Browse = """
        {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
         "entry": {"reEntry": "afterPreviousEnded"},
         "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"}]}
        """;

    // The update arrives before the order it updates (webhooks race): still one conversion for one order.
    [Fact]
    public async Task AnOrderUpdateArrivingBeforeTheOrder_ConvertsOneEntry()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Browse)]);
        await rig.TrackAsync("product.viewed", [Ann, AnnMail], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("product.viewed", [Ann], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        var placedAt = rig.Host.Time.GetUtcNow();
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 65, status = "updated" });
        await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 70 }, at: placedAt);
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("browse")).Converted);
    }

    // The two entries were made on two profiles (her device and her account) that merge before the order's update: the
    // update converts neither; the order converted one entry before the merge.
    [Fact]
    public async Task AnOrderUpdateAfterAMergeOfTheEntries_ConvertsNothingMore()
    {
        var device = Identifier.AnonymousId("dev-1");
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Browse)]);
        await rig.TrackAsync("product.viewed", [device], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("product.viewed", [Ann, AnnMail], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 70 });
        var converted = (await rig.Engine.GetJourneyStatisticsAsync("browse")).Converted;
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync("user.logged_in", [Ann, device]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 65, status = "updated" });
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(1, converted);
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("browse")).Converted);
    }
}
