namespace Omnichannel.Sdk.Tests.Profiles;

public sealed class ProfileTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@x.io");

    [Fact]
    public async Task Traits_LateEventNeverOverwritesNewerValue()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("x.a", [Ann], traits: new { tier = "gold", address = new { city = "Paris" } }, at: now));
        await host.TrackAsync(host.Event("x.a", [Ann], traits: new { tier = "silver", address = new { city = "Lyon", zip = "69001" } }, at: now.AddHours(-1)));

        var p = await host.ProfileAsync(Ann);
        Assert.Equal("gold", p.Traits["tier"]!.GetValue<string>());
        Assert.Equal("Paris", p.Traits["address"]!["city"]!.GetValue<string>());
        Assert.Equal("69001", p.Traits["address"]!["zip"]!.GetValue<string>());
        Assert.True(p.TryGetTrait("address.city", out var city));
        Assert.Equal("Paris", city.GetString());
    }

    [Fact]
    public async Task Traits_NullRemovesAndOlderEventCannotResurrect()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("x.a", [Ann], traits: new { nickname = "Annie" }, at: now.AddMinutes(-10)));
        await host.TrackAsync(host.Event("x.a", [Ann], traits: JsonData.Parse("""{"nickname": null}"""), at: now));
        await host.TrackAsync(host.Event("x.a", [Ann], traits: new { nickname = "Old" }, at: now.AddMinutes(-5)));

        var p = await host.ProfileAsync(Ann);
        Assert.False(p.TryGetTrait("nickname", out _));
        Assert.False(p.Traits.ContainsKey("nickname"));
    }

    [Fact]
    public async Task Cart_OutOfOrderOrder_StillEmptiesEarlierLinesOnly()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20 }, at: now.AddMinutes(-5)));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "bought", quantity = 1 }, at: now.AddMinutes(-10)));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "later", quantity = 2, price = 3.5 }, at: now));

        var p = await host.ProfileAsync(Ann);
        var line = Assert.Single(p.Cart);
        Assert.Equal("later", line.ProductId);
        Assert.Equal(2, line.Quantity);
        Assert.Equal(3.5m, line.UnitPrice);
    }

    [Fact]
    public async Task Cart_AddAndRemoveQuantities()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 3 });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await host.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "p1", quantity = 1 });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p2" });
        await host.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "p2" });

        var line = Assert.Single((await host.ProfileAsync(Ann)).Cart);
        Assert.Equal(3, line.Quantity);
    }

    [Fact]
    public async Task Wishlist_AddRemove()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p1", name = "Feather wand" });
        await host.TrackAsync(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p2" });
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.TrackAsync(EventTypes.WishlistItemRemoved, [Ann], new { product_id = "p2" });

        var item = Assert.Single((await host.ProfileAsync(Ann)).Wishlist);
        Assert.Equal("Feather wand", item.Name);
    }

    [Fact]
    public async Task Statistics_OrdersReturnsLoyaltyReferralsAndCurrencies()
    {
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10.10m, currency = "gbp" });
        host.Time.Advance(TimeSpan.FromDays(3));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 19.90m, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 100m, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderCancelled, [Ann], new { order_id = "o3" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o2", total = -5m }, channel: ChannelNames.Store);
        await host.TrackAsync(EventTypes.LoyaltyPointsEarned, [Ann], new { points = 120 });
        await host.TrackAsync(EventTypes.LoyaltyPointsRedeemed, [Ann], new { points = 20 });
        await host.TrackAsync(EventTypes.ReferralSent, [Ann]);
        await host.TrackAsync(EventTypes.ReferralConverted, [Ann]);

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(3, s.OrderCount);
        Assert.Equal("GBP", s.Currency);
        Assert.Equal(30.00m, s.TotalSpent);
        Assert.Equal(15.00m, s.AverageOrderValue);
        Assert.Equal(100m, s.SpentByCurrency["EUR"]);
        Assert.Equal(t0, s.FirstOrderAt);
        Assert.Equal(t0.AddDays(3), s.LastOrderAt);
        Assert.Equal(1, s.CancelledOrderCount);
        Assert.Equal(5m, s.ReturnValue);
        Assert.Equal(100m, s.LoyaltyPoints);
        Assert.Equal(1, s.ReferralsSent);
        Assert.Equal(1, s.ReferralsConverted);
        Assert.Equal(t0, s.FirstSeen);
        Assert.Equal(t0.AddDays(3), s.LastSeen);
        Assert.Equal(t0.AddDays(3), s.LastSeenByChannel[ChannelNames.Store]);
    }

    [Fact]
    public async Task Consent_NewestDecisionWinsEvenWhenItArrivesFirst()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event(EventTypes.NewsletterUnsubscribed, [Ann], at: now));
        await host.TrackAsync(host.Event(EventTypes.NewsletterSubscribed, [Ann], at: now.AddDays(-1)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true, source = "checkout" }, at: now));
        await host.TrackAsync(host.Event(EventTypes.MessageUnsubscribed, [Ann], new { channel = "sms", topic = "offers", message_id = "m1" }, at: now));

        var p = await host.ProfileAsync(Ann);
        Assert.False(p.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.True(p.GetConsent(ChannelNames.Sms)!.Granted);
        Assert.Equal("checkout", p.GetConsent(ChannelNames.Sms, "order_updates")!.Source);
        Assert.False(p.GetConsent(ChannelNames.Sms, "offers")!.Granted);
    }

    [Fact]
    public async Task Preferences_TimeZoneAndLocale_FromNewestContext()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("x.a", [Ann], at: now, context: new EventContext { TimeZone = "Europe/Madrid", Locale = "es-ES" }));
        await host.TrackAsync(host.Event("x.a", [Ann], at: now.AddHours(-1), context: new EventContext { TimeZone = "America/Mexico_City", Locale = "es-MX" }));
        await host.TrackAsync(EventTypes.PreferencesUpdated, [Ann], new { preferred_channels = new[] { "whatsapp", "email" }, max_messages = 2, period = "P7D" });

        var p = await host.ProfileAsync(Ann);
        Assert.Equal("Europe/Madrid", p.TimeZone);
        Assert.Equal("es-ES", p.Locale);
        Assert.Equal(["whatsapp", "email"], p.Preferences!.PreferredChannels);
        Assert.Equal(2, p.Preferences.MaxMessages);
        Assert.Equal(TimeSpan.FromDays(7), p.Preferences.Period);
    }

    [Fact]
    public async Task Lifecycle_VisitorLeadCustomerRepeat()
    {
        await using var host = OmnichannelTestHost.Create();
        var anon = Identifier.AnonymousId("a1");
        await host.TrackAsync(EventTypes.ProductViewed, [anon], new { product_id = "p" });
        Assert.Equal(LifecycleStage.Visitor, (await host.ProfileAsync(anon)).LifecycleStage);
        await host.TrackAsync(EventTypes.NewsletterSubscribed, [anon, Ann]);
        Assert.Equal(LifecycleStage.Lead, (await host.ProfileAsync(anon)).LifecycleStage);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { total = 5 });
        Assert.Equal(LifecycleStage.Customer, (await host.ProfileAsync(anon)).LifecycleStage);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { total = 5 });
        Assert.Equal(LifecycleStage.RepeatCustomer, (await host.ProfileAsync(anon)).LifecycleStage);
    }

    [Fact]
    public async Task Timeline_KeepsMostRecentInTimeOrder()
    {
        await using var host = OmnichannelTestHost.Create(o => o.TimelineLength = 3);
        var now = host.Time.GetUtcNow();
        foreach (var minutes in new[] { 10, 30, 20, 40, 5 })
        {
            await host.TrackAsync(host.Event("x.tick", [Ann], new { m = minutes }, at: now.AddMinutes(-minutes)));
        }

        var p = await host.ProfileAsync(Ann);
        Assert.Equal([now.AddMinutes(-20), now.AddMinutes(-10), now.AddMinutes(-5)], p.Timeline.Select(t => t.Timestamp));
        Assert.Equal(5, p.Statistics.EventCount);
    }

    [Fact]
    public async Task Duplicates_SameEventIdTwice_AppliedOnce()
    {
        await using var host = OmnichannelTestHost.Create();
        var e = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });
        var first = await host.Client.TrackAsync(e);
        var second = await host.Client.TrackAsync(e with { Properties = JsonData.From(new { order_id = "o1", total = 999 }) });
        var batch = await host.Client.TrackBatchAsync([e, e]);

        Assert.Equal(TrackStatus.Accepted, first.Status);
        Assert.Equal(TrackStatus.Duplicate, second.Status);
        Assert.All(batch, r => Assert.Equal(TrackStatus.Duplicate, r.Status));
        Assert.Equal(10m, (await host.ProfileAsync(Ann)).Statistics.TotalSpent);
    }

    [Fact]
    public async Task Duplicates_ForgottenAfterRetention_WhenTheClockPasses()
    {
        await using var host = OmnichannelTestHost.Create(o => o.DeduplicationRetention = TimeSpan.FromHours(2));
        var e = host.Event("x.a", [Ann]);
        await host.TrackAsync(e);
        host.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Duplicate, (await host.Client.TrackAsync(e)).Status);

        // The hourly purge at 3 h forgets ids processed more than 2 h before.
        host.Time.Advance(TimeSpan.FromHours(2));
        Assert.False(await host.Store.IsEventProcessedAsync(e.Id));
        Assert.Equal(0, await host.Engine.PurgeProcessedEventsAsync());
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
    }

    [Fact]
    public async Task Export_ContainsAllDataOfThePerson()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann, Identifier.AnonymousId("a9")], new { product_id = "p1" }, traits: new { first_name = "Ann" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        var json = (await host.Client.ExportProfileAsync(Identifier.AnonymousId("a9")))!;
        Assert.Equal("Ann", json["traits"]!["first_name"]!.GetValue<string>());
        Assert.Equal(2, json["identifiers"]!.AsArray().Count);
        Assert.Equal("p1", json["cart"]![0]!["productId"]!.GetValue<string>());
        Assert.Equal(2, json["timeline"]!.AsArray().Count);
        Assert.Equal("Lead", json["lifecycleStage"]!.GetValue<string>());
        Assert.True(json["consents"]![0]!["granted"]!.GetValue<bool>());
        Assert.Null(await host.Client.ExportProfileAsync(Identifier.Email("nobody@x.io")));
    }

    [Fact]
    public async Task Erase_AllowingReturn_ThenRetrack_StartsAFreshProfileAndSuppressesAddresses()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, Identifier.Phone("+14155550100"), Identifier.AnonymousId("a1")], new { total = 50 });
        var erased = await host.ProfileAsync(Ann);

        Assert.True(await host.Client.EraseProfileAsync(Identifier.AnonymousId("a1"), new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));

        Assert.Null(await host.Client.GetProfileAsync(Ann));
        Assert.Null(await host.Client.GetProfileByIdAsync(erased.Id));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email("ANN@x.io")));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Phone("+1 415 555 0100")));
        Assert.False(await host.Client.IsSuppressedAsync(Identifier.Email("bob@x.io")));
        Assert.False(await host.Client.EraseProfileAsync(Ann));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1)); // she comes back after the erasure
        var again = await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" });
        var fresh = await host.ProfileAsync(Ann);
        Assert.NotEqual(erased.Id, again.ProfileId);
        Assert.Equal(0, fresh.Statistics.OrderCount);
        Assert.Equal(1, fresh.Statistics.EventCount);
    }
}
