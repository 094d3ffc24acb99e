using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U44: bug classes from public reports of comparable systems (round 44: identity over time — changed addresses,
/// shared devices, recycled ids), replayed against the public API on a fake clock.
/// </summary>
public sealed class AuditU44Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly Identifier OldMail = Identifier.Email("ann@oldjob.example");
    private static readonly Identifier NewMail = Identifier.Email("ann@home.example");
    private static readonly Identifier BobMail = Identifier.Email("bob@example.com");
    private static readonly Identifier OldPhone = Identifier.Phone("+14155550111");
    private static readonly Identifier NewPhone = Identifier.Phone("+14155550122");
    private static readonly Identifier Kiosk = Identifier.DeviceId("family-ipad");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static MessageRequest Mail(string key, MessageClass kind = MessageClass.Transactional) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = kind };

    private static OmnichannelTestHost Host(RecordingTransport email, RecordingTransport? sms = null, DateTimeOffset? start = null)
    {
        var setup = new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport(ChannelNames.Email, email);
        if (sms is not null)
        {
            setup.AddTransport(ChannelNames.Sms, sms);
        }

        return OmnichannelTestHost.Create(start: start ?? Morning, delivery: setup);
    }

    private static string To(OutboundMessage m) => m switch
    {
        EmailMessage e => e.To,
        SmsMessage s => s.To,
        _ => "<other>",
    };

    // ---- 1. She changes her email; a report of a reader's action on a message sent to her old address (an open, a
    // click, a complaint, an unsubscribe: the provider's webhook names the address it went to) is not her giving that
    // address again. Customer.io and Braze send to the email she last gave (the profile's email attribute), not to the
    // one a tracking pixel last fired for; Apple Mail Privacy Protection opens every message delivered to an inbox that
    // still forwards (Braze/Klaviyo "machine opens"). ----
    [Theory]
    [InlineData(EventTypes.MessageOpened)]
    [InlineData(EventTypes.MessageClicked)]
    [InlineData(EventTypes.MessageComplained)]
    [InlineData(EventTypes.MessageUnsubscribed)]
    public async Task SheChangesHerEmail_AReportOnAnOldMessageToTheOldAddress_DoesNotSendHerMailBackThere(string report)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, OldMail]);
        await host.Client.SendAsync(Ann, Mail("welcome"));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(OldMail.Value, To(Assert.Single(email.Messages)));

        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.updated", [Ann, NewMail]); // she gives her new address
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(report, [OldMail], new { channel = ChannelNames.Email }, channel: ChannelNames.Email);

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.Client.SendAsync(Ann, Mail("order-confirmation"));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count);
        Assert.Equal("ann@home.example", To(email.Messages[1]));
    }

    // ---- 2. A reassigned number: she moves to a new phone and her old number goes to a stranger, who texts the shop
    // ("who is this?"). Carriers recycle numbers within months (the FCC's Reassigned Numbers Database exists for this);
    // an inbound reply names the number it came from, not a number she gave, so her order texts stay on her new phone.
    // The stranger signing up with that number and his own customer id is not merged into her. ----
    [Fact]
    public async Task AReassignedNumber_ItsNewOwnersReply_DoesNotSendHerTextsToHim_AndHisSignUpIsNotMergedIntoHer()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = Host(email, sms);
        var carl = Identifier.CustomerId("carl");
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.AdvanceAsync(TimeSpan.FromDays(90));
        await host.TrackAsync("user.updated", [Ann, NewPhone]); // her new number
        await host.AdvanceAsync(TimeSpan.FromDays(30));
        await host.TrackAsync(EventTypes.MessageReplied, [OldPhone], new { channel = ChannelNames.Sms, text = "who is this?" }, channel: ChannelNames.Sms);
        var signUp = await host.TrackAsync("user.signed_up", [carl, OldPhone]);
        Assert.Equal("identifiers[1]", Assert.Single(signUp.NotLinked).Field);

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "shipped", Channels = [ChannelNames.Sms], TemplateId = "shipped", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();
        Assert.Equal(NewPhone.Value, To(Assert.Single(sms.Messages)));
        Assert.NotEqual((await host.ProfileAsync(carl)).Id, (await host.ProfileAsync(Ann)).Id);
        Assert.False((await host.ProfileAsync(carl)).Has(OldPhone));
    }

    // ---- 3. A message held for quiet hours is addressed when it leaves: she changed her email in the night, so the
    // morning's message goes to the new address (Customer.io and Braze send to the address on the profile at send time). ----
    [Fact]
    public async Task AMessageHeldForQuietHours_GoesToTheAddressSheGaveWhileItWaited()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email, start: new DateTimeOffset(2026, 3, 2, 22, 30, 0, TimeSpan.Zero));
        await host.TrackAsync("user.signed_up", [Ann, OldMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Email, granted = true });
        var queued = await host.Client.SendAsync(Ann, Mail("spring-sale", MessageClass.Marketing));
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync("user.updated", [Ann, NewMail]);
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(NewMail.Value, To(Assert.Single(email.Messages)));
    }

    // ---- 4. A family iPad: Ann's cart, then Bob signs in on the same device (rudderlabs/rudder-transformer#1180;
    // Segment's merge protection: an anonymous id not reset at logout must not join two user ids). Bob gets no part of
    // Ann's cart, his cart is his, and her cart keeps only her line. ----
    [Fact]
    public async Task AFamilyDevice_TheSecondPersonToSignIn_GetsNoneOfTheFirstPersonsCart()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.logged_in", [Ann, NewMail, Kiosk]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Kiosk], new { product_id = "lipstick", quantity = 1 });
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        var bobIn = await host.TrackAsync("user.logged_in", [Bob, BobMail, Kiosk]);
        Assert.Equal("identifiers[2]", Assert.Single(bobIn.NotLinked).Field); // the device
        await host.TrackAsync(EventTypes.CartItemAdded, [Bob, Kiosk], new { product_id = "drill", quantity = 1 });

        var ann = await host.ProfileAsync(Ann);
        var bob = await host.ProfileAsync(Bob);
        Assert.NotEqual(ann.Id, bob.Id);
        Assert.Equal("lipstick", Assert.Single(ann.Cart).ProductId);
        Assert.Equal("drill", Assert.Single(bob.Cart).ProductId);
        Assert.False(bob.Has(NewMail));
        Assert.False(ann.Has(BobMail));
    }

    // ---- 5. Erasure of one of two people who used one device (PostHog/posthog#20187: deleting a person must not
    // touch another). Whichever is erased, the other keeps her identifiers, orders and cart, and her next event with the
    // device lands on her. ----
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TwoPeopleOnOneDevice_ErasingOne_LeavesTheOtherEverythingThatIsHers(bool eraseTheFirst)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.logged_in", [Ann, NewMail, Kiosk]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, Kiosk], new { order_id = "A-1", total = 30m, currency = "EUR" });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("user.logged_in", [Bob, BobMail, Kiosk]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob, Kiosk], new { order_id = "B-1", total = 50m, currency = "EUR" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.CartItemAdded, [Bob, Kiosk], new { product_id = "drill", quantity = 1 });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann, Kiosk], new { product_id = "lipstick", quantity = 1 });

        var (gone, goneMail, kept, keptMail, keptSpent, keptProduct) = eraseTheFirst
            ? (Ann, NewMail, Bob, BobMail, 50m, "drill")
            : (Bob, BobMail, Ann, NewMail, 30m, "lipstick");
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await host.Client.EraseProfileAsync(gone));
        Assert.Null(await host.Client.GetProfileAsync(goneMail));

        var p = await host.ProfileAsync(kept);
        Assert.True(p.Has(keptMail));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(keptSpent, p.Statistics.TotalSpent);
        Assert.Equal(keptProduct, Assert.Single(p.Cart).ProductId);
        var next = await host.TrackAsync("page.viewed", [kept, Kiosk]);
        Assert.Equal(p.Id, next.ProfileId);
        Assert.Equal(p.Id, (await host.ProfileAsync(kept)).Id);
    }

    // ---- 6. Consent and suppression across the change (Iterable and Customer.io keep subscription state on the person
    // when the email changes; a hard bounce is about one address). Her opt-out, given at her old address, holds at the
    // new one; a late hard bounce of the old inbox she closed suppresses that inbox only, and her order mail goes to the
    // new one. ----
    [Fact]
    public async Task SheChangesHerEmail_HerOptOutFollowsHer_AndTheClosedOldInboxsBounceDoesNotBlockTheNewOne()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, OldMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Email, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(3));
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [OldMail], new { channel = ChannelNames.Email }, channel: ChannelNames.Email);
        await host.AdvanceAsync(TimeSpan.FromDays(30));
        await host.TrackAsync("user.updated", [Ann, NewMail]);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.MessageBounced, [OldMail], new { channel = ChannelNames.Email, address = OldMail.Value, bounce_type = "hard" }, channel: ChannelNames.Email);

        var promo = await host.Client.SendAsync(Ann, Mail("spring-sale", MessageClass.Marketing));
        var order = await host.Client.SendAsync(Ann, Mail("order-confirmation"));
        await host.Engine.RunDispatchAsync();
        Assert.NotEqual(SendStatus.Queued, promo.Status);
        Assert.Equal(SendStatus.Queued, order.Status);
        Assert.Equal(NewMail.Value, To(Assert.Single(email.Messages)));
    }
}
