namespace Omnichannel.Sdk.Tests.Identity;

/// <summary>The KittySupplies story: one person across web, laptop, phone, chat and the store.</summary>
public sealed class CustomerStoryTests
{
    [Fact]
    public async Task Story_AnonymousVisitorOnTwoDevicesLogsIn_KeepsCartAndWholeHistory()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneCountryCode = "44");
        var laptop = Identifier.AnonymousId("cookie-laptop");
        var phone = Identifier.AnonymousId("cookie-phone");
        var email = Identifier.Email("  Clara@Example.COM ");

        await host.TrackAsync(EventTypes.ProductViewed, [laptop], new { product_id = "tower-xl", name = "Cat tower XL", price = 89.90m },
            context: new EventContext { DeviceType = "desktop", Campaign = "spring-ads", UtmSource = "instagram" });
        host.Time.Advance(TimeSpan.FromMinutes(3));
        await host.TrackAsync(EventTypes.CartItemAdded, [laptop], new { product_id = "tower-xl", name = "Cat tower XL", quantity = 1, price = 89.90m, currency = "GBP" },
            context: new EventContext { DeviceType = "desktop" });
        host.Time.Advance(TimeSpan.FromHours(5));
        await host.TrackAsync(EventTypes.CartItemAdded, [phone], new { product_id = "salmon-treats", quantity = 2, price = 4.50m, currency = "GBP" }, channel: ChannelNames.App,
            context: new EventContext { DeviceType = "mobile", Os = "iOS 18", TimeZone = "Europe/London", Locale = "en-GB" });
        Assert.NotEqual((await host.ProfileAsync(laptop)).Id, (await host.ProfileAsync(phone)).Id);

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.logged_in", [phone, email], channel: ChannelNames.App);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.logged_in", [laptop, email, Identifier.CustomerId("C-1001")]);

        var clara = await host.ProfileAsync(Identifier.Email("clara@example.com"));
        Assert.Equal(clara.Id, (await host.ProfileAsync(laptop)).Id);
        Assert.Equal(clara.Id, (await host.ProfileAsync(phone)).Id);
        Assert.Equal(clara.Id, (await host.ProfileAsync(Identifier.CustomerId("C-1001"))).Id);
        Assert.Equal(["salmon-treats", "tower-xl"], clara.Cart.Select(l => l.ProductId).Order());
        Assert.Single(clara.Merges);
        Assert.Equal(LifecycleStage.Lead, clara.LifecycleStage);

        await host.TrackAsync(EventTypes.SupportTicketOpened, [email], new { ticket_id = "T-9", subject = "Does the tower fit a Maine Coon?" }, channel: ChannelNames.Chat);
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("C-1001")], new { order_id = "O-1", total = 98.90m, currency = "GBP" });
        host.Time.Advance(TimeSpan.FromDays(9));
        await host.TrackAsync(EventTypes.OrderReturned, [Identifier.LoyaltyCard("LC-77"), Identifier.CustomerId("C-1001")], new { order_id = "O-1", total = 9.00m, currency = "GBP" }, channel: ChannelNames.Store);

        clara = await host.ProfileAsync(Identifier.LoyaltyCard("LC-77"));
        Assert.Empty(clara.Cart);
        Assert.Equal(1, clara.Statistics.OrderCount);
        Assert.Equal(98.90m, clara.Statistics.TotalSpent);
        Assert.Equal(1, clara.Statistics.ReturnCount);
        Assert.Equal(9.00m, clara.Statistics.ReturnValue);
        Assert.Equal(LifecycleStage.Customer, clara.LifecycleStage);
        Assert.Equal("Europe/London", clara.TimeZone);
        Assert.Equal(["app", "chat", "store", "web"], clara.Statistics.ChannelsUsed.Order());
        Assert.Equal(8, clara.Timeline.Count);
        Assert.Equal(EventTypes.ProductViewed, clara.Timeline[0].Type);
        Assert.Equal(EventTypes.OrderReturned, clara.Timeline[^1].Type);
        Assert.Equal(2, clara.Statistics.Devices.Count);
    }
}
