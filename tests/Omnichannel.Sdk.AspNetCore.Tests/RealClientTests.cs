using Xunit;
using static Omnichannel.Sdk.AspNetCore.Tests.NpmClients;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// The proof with the real clients from the npm registry, unchanged: each sends to the endpoint on loopback and
/// the result is read through the SDK's public API.
/// </summary>
public sealed class RealClientTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [NpmFact]
    public Task SegmentAnalyticsNode_ShopJourney() => ShopJourneyAsync("segment");

    [NpmFact]
    public Task RudderStackNodeSdk_ShopJourney() => ShopJourneyAsync("rudderstack");

    private async Task ShopJourneyAsync(string client)
    {
        var anon = $"anon-{client}-{Guid.NewGuid():N}";
        var legacy = $"legacy-{client}-{Guid.NewGuid():N}";
        var user = $"user-{client}-{Guid.NewGuid():N}";
        var email = $"clara.{Guid.NewGuid():N}@example.com";
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        var second = 0;

        // Segment's client takes the event time as `timestamp`; RudderStack's as `originalTimestamp`, which the server
        // corrects by the client's clock skew (sentAt).
        object Args(object message)
        {
            var at = start.AddSeconds(second++).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
            var d = System.Text.Json.JsonSerializer.SerializeToNode(message)!.AsObject();
            d[client == "segment" ? "timestamp" : "originalTimestamp"] = at;
            return d;
        }

        object Track(string id, string name, object properties) => Call("track", Args(new { userId = id, @event = name, properties }));

        // 1. An anonymous visitor's page views and cart.
        await SendAsync(client, server.BaseAddress, TrackingServer.WebsiteKey,
            Call("page", Args(new { anonymousId = anon, name = "Home", properties = new { path = "/", url = "https://shop.example/" } })),
            Call("page", Args(new { anonymousId = anon, name = "Cat towers", properties = new { path = "/cats/towers" } })),
            Call("track", Args(new { anonymousId = anon, @event = "Product Added", properties = new { product_id = "tower-xl", name = "Tower XL", price = 89.9, quantity = 1, currency = "EUR" } })));
        var visitor = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Equal("tower-xl", Assert.Single(visitor.Cart).ProductId);
        Assert.True(visitor.IsInSegment("cart-builders"));
        Assert.Equal(2, visitor.Timeline.Count(t => t.Type == "page.viewed"));

        // 2. Login: identify merges the anonymous profile into the known one, which keeps the cart.
        await SendAsync(client, server.BaseAddress, TrackingServer.WebsiteKey,
            Call("identify", Args(new { userId = user, anonymousId = anon, traits = new { email, first_name = "Clara" } })));
        var known = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(known.Id, (await server.ProfileAsync(Identifier.AnonymousId(anon))).Id);
        Assert.Equal(known.Id, (await server.ProfileAsync(Identifier.Email(email))).Id);
        Assert.Equal("tower-xl", Assert.Single(known.Cart).ProductId);
        Assert.Equal("Clara", known.Traits["first_name"]!.GetValue<string>());
        Assert.True(known.IsInSegment("cart-builders"));

        // 3. Every e-commerce event of the Spec, one malformed message (Product Added without a product), and alias.
        await SendAsync(client, server.BaseAddress, TrackingServer.WebsiteKey,
            Track(user, "Products Searched", new { query = "cat bed" }),
            Track(user, "Product Viewed", new { product_id = "bed-round", name = "Round bed", price = 35, currency = "EUR" }),
            Track(user, "Product Added to Wishlist", new { product_id = "bed-round", name = "Round bed" }),
            Track(user, "Product Added", new { sku = "mouse-toy", price = 4.5, quantity = 2, currency = "EUR" }),
            Track(user, "Product Added", new { quantity = 1 }),
            Track(user, "Product Removed", new { product_id = "mouse-toy", quantity = 1 }),
            Track(user, "Cart Viewed", new { cart_id = "c-1" }),
            Track(user, "Checkout Started", new { order_id = "o-1", value = 94.4, currency = "EUR" }),
            Track(user, "Order Completed", new { order_id = "o-1", revenue = 94.4, currency = "EUR", products = new object[] { new { product_id = "tower-xl", quantity = 1, price = 89.9 }, new { product_id = "mouse-toy", quantity = 1, price = 4.5 } } }),
            Track(user, "Order Completed", new { order_id = "o-2", total = 20, currency = "EUR", products = new object[] { new { product_id = "food", quantity = 2, price = 10 } } }),
            Track(user, "Order Refunded", new { order_id = "o-2", total = 20, currency = "EUR" }),
            Track(user, "Order Cancelled", new { order_id = "o-2" }),
            Call("alias", Args(new { previousId = legacy, userId = user })));
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.True(p.Has(Identifier.AnonymousId(legacy)));
        Assert.Equal(2, p.Statistics.OrderCount);
        Assert.Equal(114.4m, p.Statistics.TotalSpent);
        Assert.Equal(1, p.Statistics.ReturnCount);
        Assert.Equal(1, p.Statistics.CancelledOrderCount);
        Assert.Empty(p.Cart);
        Assert.Equal("bed-round", Assert.Single(p.Wishlist).ProductId);
        Assert.True(p.IsInSegment("customers"));
        Assert.False(p.IsInSegment("cart-builders"));
        foreach (var type in new[]
        {
            EventTypes.ProductSearched, EventTypes.ProductViewed, EventTypes.WishlistItemAdded, EventTypes.CartItemRemoved, EventTypes.CartViewed,
            EventTypes.CheckoutStarted, EventTypes.OrderReturned, EventTypes.OrderCancelled, "user.aliased", "user.identified",
        })
        {
            Assert.Contains(p.Timeline, t => t.Type == type);
        }

        Assert.Equal(2, p.Timeline.Count(t => t.Type == EventTypes.CartItemAdded));   // the malformed one was dropped alone
        Assert.Equal(2, p.Timeline.Count(t => t.Type == EventTypes.OrderPlaced));

        // 4. The answer to an accepted batch is lost; the client retries the same batch: no double counting.
        var lostBefore = server.LostAnswers;
        server.LoseNextBatchAnswer();
        await SendAsync(client, server.BaseAddress, TrackingServer.WebsiteKey,
            Track(user, "Order Completed", new { order_id = "o-3", total = 10, currency = "EUR" }),
            Track(user, "Review Written", new { product_id = "bed-round", stars = 5 }));
        Assert.Equal(lostBefore + 1, server.LostAnswers);
        p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(3, p.Statistics.OrderCount);
        Assert.Equal(124.4m, p.Statistics.TotalSpent);
        Assert.Single(p.Timeline, t => t.Type == "review_written");
        Assert.True(p.Timeline.All(t => t.Timestamp <= DateTimeOffset.UtcNow && t.Timestamp >= start.AddSeconds(-5)), "event times follow the clients' clocks");
    }
}
