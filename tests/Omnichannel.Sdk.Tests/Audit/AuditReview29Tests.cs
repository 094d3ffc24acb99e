using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the twenty-ninth session (U24-U26). U26 let a rendered email's <c>To</c> through when
/// <see cref="System.Net.Mail.MailAddress"/> read one mailbox out of it, but MailAddress reads lists and groups from the end
/// and returns the last mailbox, and the normaliser drops a <c>mailto:</c> link's query: both reached a second recipient
/// through any transport that reads the field as a list (the HTTP provider posts it as "to").
/// </summary>
public sealed class AuditReview29Tests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Theory]
    [InlineData("mallory@example.com ann@example.com")]
    [InlineData("g: mallory@example.com; <ann@example.com>")]
    [InlineData("<mallory@example.com> Ann <ann@example.com>")]
    [InlineData("mailto:ann@example.com?x,mallory@example.com")]
    [InlineData("\u200Bmailto:ann@example.com?bcc=mallory@example.com")]
    [InlineData("Ann <mailto:ann@example.com?x,mallory@example.com>")]
    public async Task AToThatAListParserReadsAsSeveralMailboxes_IsPassedOver(string to)
    {
        var (host, email) = Host(to);
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Empty(email.Messages);
    }

    // Probes that held: one mailbox in the forms MailKit and a provider read as her (display names quoted, plain or
    // RFC 2047-encoded, a quoted local part that needs no quotes, an IDN domain in its ASCII form).
    [Theory]
    [InlineData("\"Ann\"<ann@example.com>")]
    [InlineData("=?utf-8?q?Ann_Sm=C3=BCth?= <ann@example.com>")]
    [InlineData("\"Smith, Ann <x>\" <ann@example.com>")]
    [InlineData("\"ann\"@example.com")]
    [InlineData("<ann@example.com>")]
    public async Task OneMailboxThatIsHers_IsSent(string to)
    {
        var (host, email) = Host(to);
        await using var _ = host;
        await SignedUpWithConsent(host);

        var sent = await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Queued, sent.Status);
        Assert.Equal(to, ((EmailMessage)Assert.Single(email.Messages)).To);
    }

    private static async Task SignedUpWithConsent(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
    }

    private static MessageRequest Promo(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Marketing };

    private static (OmnichannelTestHost Host, RecordingTransport Email) Host(string to)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new Renderer(to) }.AddTransport("email", email));
        return (host, email);
    }

    private sealed class Renderer(string to) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = to, Subject = "Hi", TextBody = "Hi" });
    }

    // ---- U24: the 32-time cap dropped the time that answered the current window ----
    // Viewed, added to the cart 10 minutes later (the clock is answered), then kept adding every two hours for three
    // days with no new view: at the 33rd add the cap dropped the oldest time (the one inside the window), the clock was
    // armed again for the view three days before, and the reminder went out at once.
    [Fact]
    public async Task InactivityClock_ManyLaterNoEvents_DoNotDropTheOneThatAnsweredTheWindow()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse",
             "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["cart.item_added"], "within": "PT1H"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "browse-mail", "class": "transactional"}]}
            """)], start: new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        var ann = Identifier.CustomerId("ann");
        await rig.TrackAsync("user.signed_up", [ann, Identifier.Email("ann@example.com")]);
        await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p1", quantity = 1 });
        for (var i = 0; i < 40; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromHours(2));
            await rig.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p" + i, quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Empty(rig.Sent());
    }

    // ---- U25: at the limit, clearing an object (or replacing it by a leaf) was refused as a new path ----
    // "address": null names a path the profile does not hold as such (only address.city, address.zip): at
    // MaxTraitsPerProfile it was refused as new and her address stayed, although the write removes paths, never adds one.
    [Fact]
    public async Task AtTheTraitLimit_ClearingOrReplacingAnObject_StillApplies()
    {
        await using var host = OmnichannelTestHost.Create(o => o.MaxTraitsPerProfile = 3);
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync("identify", [ann], traits: new { address = new { city = "Leeds", zip = "LS1" }, name = "Ann" });
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync("identify", [ann], traits: new { address = (string?)null });
        var p = await host.ProfileAsync(ann);
        Assert.False(p.TryGetTrait("address.city", out _));
        Assert.False(p.TryGetTrait("address.zip", out _));

        await host.TrackAsync("identify", [ann], traits: new { home = new { city = "Leeds", zip = "LS1" } });
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync("identify", [ann], traits: new { home = "London" });
        p = await host.ProfileAsync(ann);
        Assert.True(p.TryGetTrait("home", out var home));
        Assert.Equal("London", home.GetString());
        Assert.False(p.TryGetTrait("home.city", out _));
        Assert.True(p.TraitValues.Count <= 3);
    }
}
