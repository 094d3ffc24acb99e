using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Issue "One person, one truth", sections 2 and 3: time order decides, not arrival order; consent as people mean it.</summary>
public sealed class ArrivalOrderAndConsentTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    private static OmnichannelTestHost Host() => OmnichannelTestHost.Create(
        o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
        delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }
            .AddTransport("email", new RecordingTransport(ChannelNames.Email))
            .AddTransport("sms", new RecordingTransport(ChannelNames.Sms)));

    private DateTimeOffset Ago(OmnichannelTestHost host, TimeSpan by) => host.Time.GetUtcNow() - by;

    [Theory]
    [InlineData(EventTypes.CartItemAdded, EventTypes.CartItemRemoved)]
    [InlineData(EventTypes.WishlistItemAdded, EventTypes.WishlistItemRemoved)]
    public async Task ARemoval_BeatsAnOlderAdd_ThatArrivesLater(string add, string remove)
    {
        await using var host = Host();
        await host.TrackAsync(host.Event(remove, [Ann], new { product_id = "sku-9" }, at: Ago(host, TimeSpan.FromMinutes(5))));
        await host.TrackAsync(host.Event(add, [Ann], new { product_id = "sku-9", quantity = 1 }, at: Ago(host, TimeSpan.FromMinutes(10))));

        var p = await host.ProfileAsync(Ann);
        Assert.Empty(p.Cart);
        Assert.Empty(p.Wishlist);
    }

    [Fact]
    public async Task CartQuantities_ReplayInEventTimeOrder()
    {
        await using var host = Host();
        await host.TrackAsync(host.Event(EventTypes.CartItemRemoved, [Ann], new { product_id = "sku-1", quantity = 1 }, at: Ago(host, TimeSpan.FromMinutes(5))));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "sku-1", quantity = 3, name = "Tower" }, at: Ago(host, TimeSpan.FromMinutes(10))));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "sku-1", quantity = 1 }, at: Ago(host, TimeSpan.FromMinutes(1))));

        var line = Assert.Single((await host.ProfileAsync(Ann)).Cart);
        Assert.Equal((3m, "Tower"), (line.Quantity, line.Name));
    }

    [Fact]
    public async Task TheHeadlineCurrency_IsTheEarliestOrdersByEventTime_InAnyArrivalOrder()
    {
        await using var host = Host();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 20, currency = "EUR" }, at: Ago(host, TimeSpan.FromDays(4))));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 30, currency = "GBP" }, at: Ago(host, TimeSpan.FromDays(5))));

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(("GBP", 30m), (s.Currency, s.TotalSpent));
    }

    [Fact]
    public async Task ALeafReplacedByAnObject_AndTheReverse_ConvergeInAnyOrder()
    {
        await using var host = Host();
        var t = host.Time.GetUtcNow();

        // address: object at T-3, leaf at T-2, object again at T-1 — sent newest first.
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { address = new { city = "Leeds" } }, at: t - TimeSpan.FromMinutes(1)));
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { address = "unknown" }, at: t - TimeSpan.FromMinutes(2)));
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { address = new { zip = "LS1" } }, at: t - TimeSpan.FromMinutes(3)));

        // nick: leaf at T-1 replaces an object at T-2 that arrives later.
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { nick = "annie" }, at: t - TimeSpan.FromMinutes(1)));
        await host.TrackAsync(host.Event("user.updated", [Ann], traits: new { nick = new { first = "A" } }, at: t - TimeSpan.FromMinutes(2)));

        var traits = (await host.ProfileAsync(Ann)).Traits.ToJsonString();
        Assert.Equal("""{"address":{"city":"Leeds"},"nick":"annie"}""", traits);
    }

    [Fact]
    public async Task EqualTimestamps_AreSettledByEventId_InAnyArrivalOrder()
    {
        async Task<string> Run(bool reversed)
        {
            await using var host = Host();
            var at = host.Time.GetUtcNow();
            CustomerEvent E(string id, string tier, string zone) => host.Event("user.updated", [Ann], traits: new { tier }, at: at, context: new EventContext { TimeZone = zone }) with { Id = id };
            var events = new[] { E("e-1", "silver", "Europe/London"), E("e-2", "gold", "Europe/Paris") };
            foreach (var e in reversed ? events.Reverse() : events)
            {
                await host.TrackAsync(e);
            }

            var p = await host.ProfileAsync(Ann);
            return p.Traits["tier"]!.GetValue<string>() + "|" + p.TimeZone;
        }

        Assert.Equal("gold|Europe/Paris", await Run(false));
        Assert.Equal("gold|Europe/Paris", await Run(true));
    }

    [Theory]
    [InlineData(EventTypes.MessageUnsubscribed)]
    [InlineData(EventTypes.MessageComplained)]
    public async Task AChannelWideRefusal_NewerThanATopicOptIn_WithdrawsTheTopic(string refusal)
    {
        await using var host = Host();
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], at: Ago(host, TimeSpan.FromDays(11))));
        await host.TrackAsync(host.Event(EventTypes.NewsletterSubscribed, [Ann], new { channel = "email", topic = "newsletter" }, at: Ago(host, TimeSpan.FromDays(10))));
        await host.TrackAsync(host.Event(refusal, [Ann], new { channel = "email", message_id = "m-0" }, at: Ago(host, TimeSpan.FromDays(1))));

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "n1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        Assert.Equal(SendStatus.Skipped, r.Status);

        var p = await host.ProfileAsync(Ann);
        Assert.False(p.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    [Fact]
    public async Task ATopicOptIn_NewerThanAChannelWideOptOut_AppliesToThatTopicOnly()
    {
        await using var host = Host();
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], at: Ago(host, TimeSpan.FromDays(11))));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }, at: Ago(host, TimeSpan.FromDays(10))));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "orders-news", granted = true }, at: Ago(host, TimeSpan.FromDays(1))));

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "a", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "orders-news" })).Status);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "b", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" })).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task APartOfTheContactLimitLeftOut_KeepsTheNewestValueByEventTime_InAnyArrivalOrder(bool newestFirst)
    {
        // She set "3 per week", then changed the count to 5: it used to become "5 per (nothing)" when the change arrived
        // first, so her own limit stopped applying.
        await using var host = Host();
        var older = host.Event(EventTypes.PreferencesUpdated, [Ann], new { max_messages = 3, period = "P7D" }, at: Ago(host, TimeSpan.FromMinutes(10)));
        var newer = host.Event(EventTypes.PreferencesUpdated, [Ann], new { max_messages = 5 }, at: Ago(host, TimeSpan.FromMinutes(5)));
        foreach (var e in newestFirst ? new[] { newer, older } : [older, newer])
        {
            await host.TrackAsync(e);
        }

        var preferences = (await host.ProfileAsync(Ann)).Preferences!;
        Assert.Equal((5, TimeSpan.FromDays(7)), (preferences.MaxMessages, preferences.Period));
        Assert.Equal(newer.Timestamp, preferences.UpdatedAt);
    }

    [Fact]
    public void AStoredLimitWrittenAsOneDecision_StillGivesItsPartsTheirStamps()
    {
        var at = OmnichannelTestHost.DefaultStart;
        var p = new CustomerProfile("p1", at);
        p.PreferenceFacts["limit"] = new PreferenceFact(null, 3, TimeSpan.FromDays(7), at, "e1");
        var change = new CustomerEvent { Id = "e2", Type = EventTypes.PreferencesUpdated, Timestamp = at.AddMinutes(1), Identifiers = [Ann], Properties = JsonData.From(new { max_messages = 5 }) };
        var stale = new CustomerEvent { Id = "e0", Type = EventTypes.PreferencesUpdated, Timestamp = at.AddMinutes(-1), Identifiers = [Ann], Properties = JsonData.From(new { period = "P1D" }) };

        ProfileCore.Apply(p, change, 200);
        ProfileCore.Apply(p, stale, 200);

        Assert.Equal((5, TimeSpan.FromDays(7)), (p.Preferences!.MaxMessages, p.Preferences.Period));
    }

    [Fact]
    public async Task AChannelWideOptIn_NewerThanATopicOptOut_DoesNotLiftThatTopic()
    {
        // Audit (Braze subscription groups, Customer.io topics): she left the newsletter, then ticked "email me about my
        // orders and offers" at checkout. The general yes used to re-subscribe her to the newsletter she had left.
        await using var host = Host();
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Email("ann@example.com")], at: Ago(host, TimeSpan.FromDays(11))));
        await host.TrackAsync(host.Event(EventTypes.NewsletterSubscribed, [Ann], new { channel = "email", topic = "newsletter" }, at: Ago(host, TimeSpan.FromDays(10))));
        await host.TrackAsync(host.Event(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email", topic = "newsletter" }, at: Ago(host, TimeSpan.FromDays(5))));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: Ago(host, TimeSpan.FromDays(1))));

        var letter = await host.Client.SendAsync(Ann, new MessageRequest { Key = "n1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        Assert.Equal(SendStatus.Skipped, letter.Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "o1", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" })).Status);
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);

        // Subscribing to the newsletter itself again lifts it.
        await host.TrackAsync(EventTypes.NewsletterSubscribed, [Ann], new { channel = "email", topic = "newsletter" });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "n2", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
    }

    [Theory]
    [InlineData("email", "ANN@Example.com", "ann@example.com")]
    [InlineData("sms", "+1 (212) 555-0101", "+12125550101")]
    public async Task AddressesInOutcomeEvents_AreNormalisedLikeIdentifiers(string channel, string raw, string normalised)
    {
        await using var host = Host();
        var id = channel == "email" ? Identifier.Email(normalised) : Identifier.Phone(normalised);
        await host.TrackAsync("user.signed_up", [Ann, id]);
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel, address = raw, bounce_type = "hard", message_id = "m-1" });

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt", Channels = [channel], TemplateId = "t", Class = MessageClass.Transactional });
        Assert.Equal((SendStatus.Skipped, $"{channel}: the address is suppressed"), (r.Status, r.Reason));
    }

    [Fact]
    public async Task ABounceTypeTheSdkDoesNotKnow_IsReportedInTheResult()
    {
        await using var host = Host();
        var r = await host.Client.TrackAsync(host.Event(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "permanent" }));

        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Equal("properties.bounce_type", Assert.Single(r.Errors).Field);
    }

    [Fact]
    public async Task ASoftBounce_DoesNotSuppress()
    {
        await using var host = Host();
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "soft" });

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, r.Status);
    }

    [Fact]
    public async Task OneInstantWrittenWithDifferentOffsets_GivesTheSameProfile_InAnyArrivalOrder()
    {
        async Task<string> Run(bool reversed)
        {
            await using var host = OmnichannelTestHost.Create();
            var utc = host.Time.GetUtcNow() - TimeSpan.FromHours(1);
            var a = new CustomerEvent { Id = "a", Type = "page.viewed", Timestamp = utc, Identifiers = [Known], Channel = "web", Context = new EventContext { DeviceType = "mobile" } };
            var b = new CustomerEvent { Id = "b", Type = "cart.item_added", Timestamp = utc.ToOffset(TimeSpan.FromHours(5.75)), Identifiers = [Known], Channel = "web", Properties = JsonData.From(new { product_id = "x" }), Context = new EventContext { DeviceType = "mobile" } };
            var c = new CustomerEvent { Id = "c", Type = "order.placed", Timestamp = utc.ToOffset(TimeSpan.FromHours(-3)), Identifiers = [Known], Channel = "web", Properties = JsonData.From(new { order_id = "o", total = 1 }) };
            foreach (var e in reversed ? new[] { c, b, a } : new[] { a, b, c })
            {
                await host.TrackAsync(e);
            }

            var x = (await host.Client.ExportProfileAsync(Known))!;
            x.Remove("id"); x.Remove("createdAt");
            return x.ToJsonString();
        }

        // The first and last seen instants came from whichever event arrived first, with its offset.
        var inOrder = await Run(false);
        Assert.Equal(inOrder, await Run(true));
        Assert.Contains("\"firstSeen\":\"2026-01-05T08:00:00\\u002B00:00\"", inOrder, StringComparison.Ordinal);
    }
}
