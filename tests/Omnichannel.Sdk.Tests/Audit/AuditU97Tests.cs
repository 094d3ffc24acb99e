using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

public sealed class AuditU97Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static JourneyDefinition Browse(string cooldown) => JourneyRig.Parse($$"""
        {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
         "entry": {"correlationKey": "product_id", "reEntry": "afterCooldown", "cooldown": "{{cooldown}}"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
        """);

    [Fact]
    public async Task J1_ManyProductsInTheCooldown_TheFirstAgainIsRefused()
    {
        await using var rig = JourneyRig.Create([Browse("P30D")], start: Start);
        var ann = Identifier.Email("ann@example.com");
        for (var i = 0; i < 202; i++)
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p" + i });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p0" });
        await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p1" });
        Assert.Equal(200, rig.Sent().Count);
        var p = await rig.Host.ProfileAsync(ann);
        Assert.Contains(p.Timeline, t => t.Type == "journey.entry_refused" && t.Summary?.Contains("200 earlier entries are within their cooldown", StringComparison.Ordinal) == true);
        Assert.Contains(p.Timeline, t => t.Type == "journey.entry_refused" && t.Summary?.Contains("in cooldown until", StringComparison.Ordinal) == true);

        await rig.AdvanceAsync(TimeSpan.FromDays(30));
        await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p0" });
        await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p201" });
        Assert.Equal(202, rig.Sent().Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task J2_CooldownAcrossAMerge_BothEnded_ReadsTheLaterEntry(bool accountFirst)
    {
        var j = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "W", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "P7D"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "w", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([j], start: Start);
        var acct = Identifier.CustomerId("c-1");
        var mail = Identifier.Email("ann@example.com");
        var anon = Identifier.AnonymousId("anon-1");
        if (accountFirst)
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [acct, mail]);
            await rig.AdvanceAsync(TimeSpan.FromDays(3));
            await rig.TrackAsync(EventTypes.ProductViewed, [anon, Identifier.Email("ann@other.example")]);
        }
        else
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [anon, Identifier.Email("ann@other.example")]);
            await rig.AdvanceAsync(TimeSpan.FromDays(3));
            await rig.TrackAsync(EventTypes.ProductViewed, [acct, mail]);
        }

        Assert.Equal(2, rig.Sent().Count);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("user.logged_in", [acct, Identifier.Email("ann@other.example")]);
        var merged = await rig.Host.ProfileAsync(acct);
        Assert.True(merged.Has(anon), "the two profiles are one person");
        await rig.AdvanceAsync(TimeSpan.FromDays(4)); // day 8: 8 days after the first, 5 after the second
        await rig.TrackAsync(EventTypes.ProductViewed, [acct]);
        Assert.Equal(2, rig.Sent().Count);
        await rig.AdvanceAsync(TimeSpan.FromDays(2)); // day 10: 7 days after the second
        await rig.TrackAsync(EventTypes.ProductViewed, [acct]);
        Assert.Equal(3, rig.Sent().Count);
    }

    private static readonly DateTimeOffset Evening = new(2026, 3, 2, 22, 0, 0, TimeSpan.Zero);

    private static JourneyDefinition CartOffer() => JourneyRig.Parse("""
        {"id": "cart-offer", "version": 1, "name": "Cart offer", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "offer", "type": "send", "channels": ["email"], "template": "offer", "topic": "offers"}]}
        """);

    [Theory]
    [InlineData("topic-refused-earlier-late", false)]
    [InlineData("channel-refused-earlier-late", false)]
    [InlineData("topic-refused-then-channel-granted", false)]
    [InlineData("channel-refused-then-topic-granted", true)]
    [InlineData("unsubscribed-all", false)]
    [InlineData("tie-refusal-lower-id", false)]
    [InlineData("tie-refusal-higher-id", false)]
    [InlineData("other-profile-refused-then-merged", false)]
    [InlineData("nothing", true)]
    public async Task C1_ConsentChangedWhileTheOfferWaitsForMorning_IsReadWhenItLeaves(string change, bool sent)
    {
        await using var rig = JourneyRig.Create([CartOffer()], start: Evening, configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer);
        var ann = Identifier.Email("ann@example.com");
        var phone = Identifier.Phone("+14155550123");
        var h = rig.Host;
        var grantAt = Evening.AddHours(-1);
        await h.TrackAsync(h.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = true }, at: grantAt) with { Id = "m-grant" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p1" });
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        var late = Evening.AddMinutes(-30);
        switch (change)
        {
            case "topic-refused-earlier-late":
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = false }, at: late);
                break;
            case "channel-refused-earlier-late":
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = false }, at: late);
                break;
            case "topic-refused-then-channel-granted":
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = false }, at: late);
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
                break;
            case "channel-refused-then-topic-granted":
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = false }, at: late);
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = true });
                break;
            case "unsubscribed-all":
                await h.TrackAsync(EventTypes.MessageUnsubscribed, [ann], new { channel = "email" });
                break;
            case "tie-refusal-lower-id":
                await h.TrackAsync(h.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = false }, at: grantAt) with { Id = "a-refuse" });
                break;
            case "tie-refusal-higher-id":
                await h.TrackAsync(h.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = false }, at: grantAt) with { Id = "z-refuse" });
                break;
            case "other-profile-refused-then-merged":
                await h.TrackAsync(EventTypes.ConsentChanged, [phone], new { channel = "email", topic = "offers", granted = false }, at: late);
                await h.TrackAsync("user.logged_in", [phone, ann]);
                break;
        }

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 3, 8, 30, 0, TimeSpan.Zero));
        Assert.Equal(sent ? 1 : 0, rig.Sent().Count);
    }

    private static SegmentDefinition Seg(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    // Live membership, the members list and a preview of the same rule must agree at every instant, and with the
    // reference (the window read from the events' own times).
    [Theory]
    [InlineData("""{"event": "page.viewed", "within": "P7D"}""", "0", "within:P7D:1")]
    [InlineData("""{"event": "page.viewed", "count": {"op": "gte", "value": 2}, "within": "P7D"}""", "0,26", "within:P7D:2")]
    [InlineData("""{"event": "page.viewed", "count": {"op": "lt", "value": 2}, "within": "P7D"}""", "0,26", "within-lt:P7D:2")]
    [InlineData("""{"lastEvent": "page.viewed", "op": "moreThanAgo", "value": "P3D"}""", "0,26", "last-more:P3D")]
    [InlineData("""{"lastEvent": "page.viewed", "op": "withinLast", "value": "P3D"}""", "0,26", "last-within:P3D")]
    [InlineData("""{"firstEvent": "page.viewed", "op": "withinLast", "value": "P3D"}""", "26,0", "first-within:P3D")]
    public async Task S1_AWindowAtItsExactBoundaries_LiveListAndPreviewAgreeWithTheReference(string rule, string hoursCsv, string reference)
    {
        var seg = Seg("w", rule);
        var copy = Seg("w-preview", rule);
        var t0 = Start;
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(seg), start: t0.AddHours(30));
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync("user.signed_up", [ann], at: t0.AddHours(-200));
        // The events arrive in the order given, all late (at t0 + 30 h), stamped at their own hours.
        var times = hoursCsv.Split(',').Select(h => t0.AddHours(int.Parse(h, System.Globalization.CultureInfo.InvariantCulture)).AddMilliseconds(123)).ToList();
        foreach (var t in times)
        {
            await host.TrackAsync("page.viewed", [ann], at: t);
        }

        bool Expected(DateTimeOffset now)
        {
            var parts = reference.Split(':');
            var d = TimeSpan.FromDays(int.Parse(parts[1][1..^1], System.Globalization.CultureInfo.InvariantCulture));
            var inWindow = times.Count(t => now - d < t && t <= now);
            var last = times.Where(t => t <= now).Max();
            var first = times.Min();
            return parts[0] switch
            {
                "within" => inWindow >= int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture),
                "within-lt" => inWindow < int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture),
                "last-more" => last <= now - d,
                "last-within" => last > now - d,
                "first-within" => first > now - d,
                _ => throw new InvalidOperationException(),
            };
        }

        var boundaries = times.SelectMany(t => new[] { t.AddDays(3), t.AddDays(7) }).Where(b => b > host.Time.GetUtcNow()).Order().ToList();
        var log = new List<string>();
        foreach (var b in boundaries)
        {
            foreach (var at in new[] { b.AddTicks(-1), b, b.AddTicks(1), b.AddSeconds(1) })
            {
                if (at <= host.Time.GetUtcNow())
                {
                    continue;
                }

                await host.AdvanceToAsync(at);
                var p = await host.ProfileAsync(ann);
                var live = p.IsInSegment("w");
                var listed = (await host.Client.GetSegmentMembersAsync("w", limit: 10)).Contains(p.Id);
                var preview = (await host.Client.PreviewSegmentAsync(copy)).Matching == 1;
                var expected = Expected(at);
                if (live != expected || listed != expected || preview != expected)
                {
                    log.Add($"{at:O}: live {live}, list {listed}, preview {preview}, reference {expected}");
                }
            }
        }

        Assert.True(log.Count == 0, string.Join(Environment.NewLine, log));
    }

    // A topic that needs only no refusal (DeliveryOptions.OptOutTopics): every refusal path that reaches her while the
    // message waits for the morning, and after a one-day wait step, stops it; no decision at all lets it go.
    [Theory]
    [InlineData("none", "held", true)]
    [InlineData("channel-refused", "held", false)]
    [InlineData("topic-unsubscribed", "held", false)]
    [InlineData("other-topic-unsubscribed", "held", true)]
    [InlineData("complained", "held", false)]
    [InlineData("sms-stop", "held", true)] // another channel's opt-out: the email goes
    [InlineData("none", "wait", true)]
    [InlineData("channel-refused", "wait", false)]
    [InlineData("topic-unsubscribed", "wait", false)]
    [InlineData("complained", "wait", false)]
    public async Task C2_AnOptOutTopic_AnyRefusalWhileItWaits_StopsIt(string change, string how, bool sent)
    {
        var steps = how == "wait"
            ? """[{"id": "wait", "type": "delay", "duration": "P1D"}, {"id": "news", "type": "send", "channels": ["email"], "template": "news", "topic": "news"}]"""
            : """[{"id": "news", "type": "send", "channels": ["email"], "template": "news", "topic": "news"}]""";
        var journey = JourneyRig.Parse("""{"id": "news", "version": 1, "name": "News", "trigger": {"type": "event", "event": "cart.item_added"}, "steps": """ + steps + "}");
        await using var rig = JourneyRig.Create([journey], start: Evening, configure: o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
            o.Delivery.OptOutTopics.Add("news");
        });
        var ann = Identifier.Email("ann@example.com");
        var h = rig.Host;
        await h.TrackAsync("user.signed_up", [ann, Identifier.Phone("+14155550123")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p1" });
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        switch (change)
        {
            case "channel-refused":
                await h.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = false });
                break;
            case "topic-unsubscribed":
                await h.TrackAsync(EventTypes.MessageUnsubscribed, [ann], new { channel = "email", topic = "News" });
                break;
            case "other-topic-unsubscribed":
                await h.TrackAsync(EventTypes.MessageUnsubscribed, [ann], new { channel = "email", topic = "offers" });
                break;
            case "complained":
                await h.TrackAsync(EventTypes.MessageComplained, [ann], new { channel = "email" });
                break;
            case "sms-stop":
                await h.TrackAsync(EventTypes.MessageReplied, [Identifier.Phone("+14155550123")], new { channel = "sms", text = "STOP" }, channel: ChannelNames.Sms);
                break;
        }

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 4, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(sent ? 1 : 0, rig.Sent().Count);
    }

    // A held message is rendered again when it leaves: a trait she cleared, or one a merge brought, reads as it is then,
    // and an erasure while it waits sends nothing (Klaviyo and Braze render at send; a stale first name from before an
    // erasure or a correction is the report).
    [Theory]
    [InlineData("cleared", "Hi there, your cart is waiting")]
    [InlineData("renamed", "Hi Annie, your cart is waiting")]
    [InlineData("merged-newer-name", "Hi Anna, your cart is waiting")]
    [InlineData("merged-older-name", "Hi Ann, your cart is waiting")]
    [InlineData("erased", null)]
    public async Task T1_AHeldMessage_ReadsHerTraitsAsTheyAreWhenItLeaves(string change, string? expected)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "remind", "type": "send", "channels": ["email"], "template": "cart-named", "topic": "offers"}]}
            """);
        await using var host = OmnichannelTestHost.Create((Microsoft.Extensions.DependencyInjection.IServiceCollection services) => services
            .AddOmnichannel(o =>
            {
                o.Delivery.EmailFrom = "Kitty <hello@kitty.example>";
                o.Journeys.Add(journey);
            })
            .UseTemplates(new Omnichannel.Sdk.Templates.InMemoryTemplateSource(new Omnichannel.Sdk.Templates.TemplateDocument("cart-named", [
                Omnichannel.Sdk.Templates.TemplateVariant.Email("Your cart", "<p>Hi {{ profile.first_name | default: 'there' }}, your cart is waiting</p>")]))),
            new OmnichannelTestHostOptions { Start = Evening });
        var ann = Identifier.Email("ann@example.com");
        var acct = Identifier.CustomerId("c-7");
        await host.TrackAsync("user.signed_up", [ann], traits: new { first_name = "Ann" }, at: Evening.AddHours(-2));
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "offers", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [ann], new { product_id = "p1" });
        Assert.Empty(host.Sent.Messages);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        switch (change)
        {
            case "cleared":
                await host.TrackAsync("user.updated", [ann], traits: new Dictionary<string, object?> { ["first_name"] = null });
                break;
            case "renamed":
                await host.TrackAsync("user.updated", [ann], traits: new { first_name = "Annie" });
                break;
            case "merged-newer-name":
                await host.TrackAsync("user.updated", [acct, Identifier.Phone("+14155550123")], traits: new { first_name = "Anna" });
                await host.TrackAsync("user.logged_in", [acct, ann]);
                break;
            case "merged-older-name":
                await host.TrackAsync("user.updated", [acct, Identifier.Phone("+14155550123")], traits: new { first_name = "Anna" }, at: Evening.AddHours(-3));
                await host.TrackAsync("user.logged_in", [acct, ann]);
                break;
            case "erased":
                await host.Client.EraseProfileAsync(ann);
                break;
        }

        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 3, 8, 30, 0, TimeSpan.Zero));
        var sent = host.Sent.Messages.OfType<EmailMessage>().ToList();
        if (expected is null)
        {
            Assert.Empty(sent);
            return;
        }

        var email = Assert.Single(sent);
        Assert.Contains(expected, email.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("ann@example.com", email.To);
    }
}
