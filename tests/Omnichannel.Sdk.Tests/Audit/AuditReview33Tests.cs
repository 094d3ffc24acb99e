using System.Globalization;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audits U33 (complaints and bounces on custom channels, legacy addresses) and U34 (null preferences, empty
/// channel lists, wishlist names, timeline summaries cut at 200), as a hostile host and as an upgrade would try them.
/// </summary>
public sealed class AuditReview33Tests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    private static (OmnichannelTestHost Host, RecordingTransport Email) EmailHost(Action<OmnichannelOptions>? configure = null)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                configure?.Invoke(o);
            },
            start: Start,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        return (host, email);
    }

    private static MessageRequest Promo(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Marketing };

    // ---- U33 ----

    // A host's own identifier type that is no messaging channel (its Shopify customer id), and its shop's events sent on
    // channel "shopify": a complaint forwarded on that channel with the message_id of an email the SDK sent must stop
    // email. Before: U33 took "shopify" for a messaging channel, withdrew only it, and her next promotion went out.
    [Theory]
    [InlineData("shopify")]
    [InlineData("membership")]
    public async Task AComplaintOnAnEventOfANonMessagingCustomType_WithAnEmailsMessageId_StopsEmail(string type)
    {
        var (host, email) = EmailHost(o => o.Identity.AddType(new IdentifierRule(type)));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann, new Identifier(type, "4711")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.Client.SendAsync(Known, Promo("p1"));
        await host.Engine.RunDispatchAsync();

        var complaint = await host.TrackAsync(EventTypes.MessageComplained, [Known], new { message_id = "p1" }, channel: type);
        var after = await host.Client.SendAsync(Known, Promo("p2"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(TrackStatus.Accepted, complaint.Status);
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, null)!.Granted);
        Assert.Equal(SendStatus.Skipped, after.Status);
        Assert.Single(email.Messages);
    }

    // Without a message_id such a complaint names nothing to stop: refused with its field, as before U33 (accepted, it
    // withdrew consent on a channel nothing sends on, and email went on).
    [Fact]
    public async Task AComplaintOnAnEventOfANonMessagingCustomType_WithoutMessageId_IsRefused()
    {
        var (host, _) = EmailHost(o => o.Identity.AddType(new IdentifierRule("shopify")));
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        var refused = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync(EventTypes.MessageComplained, [Known], new { }, channel: "shopify"));
        Assert.Contains(refused.Result.Errors, e => e.Field == "properties.channel");
    }

    // An unsubscribe from one topic of a custom channel stops that topic there only. Held.
    [Fact]
    public async Task AnUnsubscribeFromATopicOfACustomChannel_WithdrawsThatTopicOnly()
    {
        var (host, _) = EmailHost(o => o.Identity.AddType(new IdentifierRule("line")));
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann, new Identifier("line", "U1")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [Known], new { channel = "LINE", topic = "promo" }, channel: "line");
        var p = await host.ProfileAsync(Known);
        Assert.False(p.GetConsent("line", "promo")!.Granted);
        Assert.True(p.GetConsent("line", null)!.Granted);
        Assert.True(p.GetConsent(ChannelNames.Email, null)!.Granted);
    }

    // A hard bounce naming the legacy address in its mailto: form, or with needless quotes, suppresses the address she
    // holds. Before: the prefix and quotes were kept, so "mailto:ann@example..com" was suppressed and the next receipt
    // went to ann@example..com.
    [Theory]
    [InlineData("mailto:ann@example..com")]
    [InlineData("MAILTO:Ann@Example..com?subject=Bounce")]
    [InlineData("\"ann\"@example..com")]
    [InlineData("ann@example...com")]
    public async Task AHardBounceNamingALegacyAddressInAnotherForm_SuppressesIt(string spelled)
    {
        OmnichannelOptions? options = null;
        var (host, email) = EmailHost(o =>
        {
            options = o;
            o.Identity.Rules[IdentifierTypes.Email].Normalizer = BeforeU31;
        });
        await using var _ = host;
        var stored = spelled.EndsWith("...com", StringComparison.Ordinal) ? "ann@example...com" : "ann@example..com";
        await host.TrackAsync("user.signed_up", [Known, Identifier.Email(stored)]);
        options!.Identity.Rules[IdentifierTypes.Email].Normalizer = IdentifierNormalizers.Email; // the upgrade

        var bounce = await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = spelled, bounce_type = "hard" });
        var after = await host.Client.SendAsync(Known, Promo("r1") with { Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(TrackStatus.Accepted, bounce.Status);
        Assert.Equal(SendStatus.Skipped, after.Status);
        Assert.Empty(email.Messages);
    }

    // Hostile addresses in a bounce, a complaint and an unsubscribe: refused with their field (never another exception),
    // at once even for 30,000 dots; none of them is a real address once its empty labels are closed. Held.
    [Theory]
    [InlineData("@")]
    [InlineData("@@")]
    [InlineData("..@..")]
    [InlineData("a@..")]
    [InlineData("a@..com")]
    [InlineData("a@example..com.")]
    [InlineData("a@ex ample..com")]
    [InlineData("a@example..com, b@example.com")]
    [InlineData("a@b@example..com")]
    [InlineData("a@com..")]
    [InlineData("dots")]
    public async Task AHostileAddress_IsRefusedWithItsField_InEveryOutcome(string address)
    {
        var (host, _) = EmailHost();
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        foreach (var (type, props) in new (string, object)[]
        {
            (EventTypes.MessageBounced, new { channel = "email", address, bounce_type = "hard" }),
            (EventTypes.MessageComplained, new { channel = "email", address }),
            (EventTypes.MessageUnsubscribed, new { channel = "email", address }),
        })
        {
            var refused = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync(type, [Known], props));
            Assert.Contains(refused.Result.Errors, e => e.Field == "properties.address");
        }
    }

    [Fact]
    public async Task AnAddressOfThirtyThousandDots_OrUnicode_IsAnsweredAtOnce()
    {
        var (host, _) = EmailHost();
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        foreach (var address in new[]
        {
            "a@" + new string('.', 30_000) + "com", "a@b" + new string('.', 30_000) + "com" + new string('.', 3_000),
            "änn@exämple..com", "😀@😀..😀", "a@xn--..com",
        })
        {
            try
            {
                var r = await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address, bounce_type = "hard" });
                // Accepted only as the email rule reads it once its dots are closed (the rule itself lets any letters through).
                Assert.True(IdentifierNormalizers.Email(address.Replace("..", ".", StringComparison.Ordinal), new IdentityOptions(), out _, out _));
                Assert.Equal(TrackStatus.Accepted, r.Status);
            }
            catch (EventRejectedException refused)
            {
                Assert.Contains(refused.Result.Errors, e => e.Field is "properties.address" or "properties" or "event");
            }
        }
    }

    // For every text: a bounce's address is accepted or refused with a field, never another exception; accepted only
    // when the email rule accepts it once its runs of dots are closed.
    [Property(MaxTest = 60)]
    public bool ABounceOfAnyAddress_IsAcceptedOnlyWhenValidOnceItsDotsAreClosed(NonNull<string> raw, byte dots)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var address = raw.Get.Replace("\0", "", StringComparison.Ordinal) + "@ex" + new string('.', dots % 5) + "ample.com";
            var (host, _) = EmailHost();
            await using var __ = host;
            await host.TrackAsync("user.signed_up", [Known, Ann]);
            try
            {
                await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address, bounce_type = "hard" });
            }
            catch (EventRejectedException refused)
            {
                return refused.Result.Errors.Count > 0;
            }

            var closed = address.Trim();
            while (closed.Contains("..", StringComparison.Ordinal))
            {
                closed = closed.Replace("..", ".", StringComparison.Ordinal);
            }

            return IdentifierNormalizers.Email(closed, new IdentityOptions(), out _, out _)
                || IdentifierNormalizers.Email(address, new IdentityOptions(), out _, out _);
        }
    }

    // ---- U34 ----

    // Her limit across a merge: the newest decision by event time wins whichever profile holds it and whichever arrives
    // first; a null lifts the limit only when it is the newer one. Held.
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task APreferenceNull_AcrossAMerge_IsTheNewestDecisionInAnyOrder(bool nullIsNewer, bool nullOnCookie)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        var value = JsonData.Parse("""{"preferred_channels": ["sms"], "max_messages": 2, "period": "P7D"}""");
        var cleared = JsonData.Parse("""{"preferred_channels": null, "max_messages": null}""");
        var (tValue, tNull) = nullIsNewer ? (Start.AddMinutes(10), Start.AddMinutes(20)) : (Start.AddMinutes(20), Start.AddMinutes(10));
        await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [nullOnCookie ? Ann : Cookie], value, at: tValue));
        await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [nullOnCookie ? Cookie : Ann], cleared, at: tNull));
        await host.TrackAsync("user.logged_in", [Cookie, Ann]);

        var prefs = (await host.ProfileAsync(Ann)).Preferences!;
        Assert.Equal(nullIsNewer ? [] : ["sms"], prefs.PreferredChannels);
        Assert.Equal(nullIsNewer ? null : 2, prefs.MaxMessages);
        Assert.Equal(TimeSpan.FromDays(7), prefs.Period);
        var export = (await host.Client.ExportProfileAsync(Ann))!.ToJsonString();
        Assert.Contains(nullIsNewer ? "\"preferredChannels\":[]" : "\"preferredChannels\":[\"sms\"]", export, StringComparison.Ordinal);
    }

    // A limit she set caps her marketing; once she lifts it with null the third message of the week goes out. Held.
    [Fact]
    public async Task ALiftedLimit_StopsCapping_AndASetLimitStillCaps()
    {
        var (host, email) = EmailHost();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.PreferencesUpdated, [Known], new { max_messages = 2, period = "P7D" });
        var sent = new List<SendStatus>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add((await host.Client.SendAsync(Known, Promo("a" + i))).Status);
            await host.Engine.RunDispatchAsync();
            await host.AdvanceAsync(TimeSpan.FromHours(1));
        }

        await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Known], JsonData.Parse("""{"max_messages": null}""")));
        var lifted = await host.Client.SendAsync(Known, Promo("b"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal([SendStatus.Queued, SendStatus.Queued, SendStatus.Skipped], sent);
        Assert.Equal(SendStatus.Queued, lifted.Status);
        Assert.Equal(3, email.Messages.Count);
    }

    // A summary cut exactly at the limit, with a surrogate pair or a letter and its combining mark straddling it.
    // Before: "e" + U+0301 across the cut kept the bare "e" (another letter than she wrote). Now a whole character or
    // none; 199 and 200 units are unchanged.
    [Theory]
    [InlineData(199, "", "")]
    [InlineData(200, "", "")]
    [InlineData(201, "", "…")]
    [InlineData(199, "😀", "…")]
    [InlineData(199, "e\u0301y", "…")]
    [InlineData(198, "e\u0301y", "e\u0301…")]
    [InlineData(199, "👍🏽", "…")]
    public async Task ATimelineSummary_IsCutAtTheLimit_OnAWholeCharacter(int xs, string tail, string expectedTail)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var name = new string('x', xs) + tail;
        await host.TrackAsync(EventTypes.ProductViewed, [Known], new { product_id = "p1", name });
        var summary = (await host.ProfileAsync(Known)).Timeline.Single().Summary!;
        var expected = expectedTail.Length == 0 && name.Length <= 200 ? name
            : name.Length > 200 && tail.Length == 0 ? new string('x', 200) + "…"
            : new string('x', xs) + expectedTail;
        Assert.Equal(expected, summary);
    }

    // For every name: the summary is at most 200 units and an ellipsis, a prefix of whole text elements of the name.
    [Property(MaxTest = 60)]
    public bool ATimelineSummary_IsAPrefixOfWholeCharacters(NonNull<string> raw, byte pad)
    {
        var name = new string('y', 150 + pad % 60) + raw.Get;
        var cut = TextCut.Prefix(name, 200);
        if (name.Length <= 200)
        {
            return cut == name;
        }

        var kept = cut[..^1];
        var boundaries = new HashSet<int>(StringInfo.ParseCombiningCharacters(name)) { name.Length };
        return cut.EndsWith('…') && kept.Length <= 200 && name.StartsWith(kept, StringComparison.Ordinal) && boundaries.Contains(kept.Length);
    }

    // A wishlist item taken off and added again without a name: dated by the re-add, and nameless (the removal ended the
    // item; its earlier name is not carried over), in any arrival order. Held as documented.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AWishlistItem_RemovedAndAddedAgainWithoutAName_IsTheSameInAnyArrivalOrder(int order)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        var events = new[]
        {
            host.Event(EventTypes.WishlistItemAdded, [Known], JsonData.Parse("""{"product_id": "p1", "name": "Lamp"}"""), at: Start.AddMinutes(1)),
            host.Event(EventTypes.WishlistItemRemoved, [Known], JsonData.Parse("""{"product_id": "p1"}"""), at: Start.AddMinutes(2)),
            host.Event(EventTypes.WishlistItemAdded, [Known], JsonData.Parse("""{"product_id": "p1"}"""), at: Start.AddMinutes(3)),
            host.Event(EventTypes.WishlistItemAdded, [Known], JsonData.Parse("""{"product_id": "p1", "name": "Desk lamp"}"""), at: Start.AddMinutes(4)),
        };
        var ordered = order switch { 0 => events, 1 => events.Reverse().ToArray(), _ => [events[2], events[0], events[3], events[1]] };
        foreach (var e in ordered)
        {
            await host.Client.TrackAsync(e);
        }

        var item = Assert.Single((await host.ProfileAsync(Known)).Wishlist);
        Assert.Equal("Desk lamp", item.Name);
        Assert.Equal(Start.AddMinutes(3), item.AddedAt);
    }

    private static bool BeforeU31(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        normalized = raw.Trim().ToLowerInvariant();
        error = null;
        return true;
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = "Hi", TextBody = "Hi" });
    }
}
