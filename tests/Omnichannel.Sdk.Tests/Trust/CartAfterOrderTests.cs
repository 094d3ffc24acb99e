namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// An order empties the cart as of the order's first time. An update of the same order (its <c>order_id</c> sent again,
/// later) is not a new checkout: it must not empty a cart filled after the order, in any arrival order.
/// </summary>
public sealed class CartAfterOrderTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-7");

    [Fact]
    public async Task AnOrderUpdate_KeepsWhatWasAddedToTheCartAfterTheOrder()
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-1);
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "old", quantity = 1 }, at: t);
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 20 }, at: t.AddMinutes(1));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "sku-2", quantity = 1 }, at: t.AddMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 25 }, at: t.AddMinutes(20)); // the order, updated

        var p = await host.ProfileAsync(Known);
        Assert.Equal(["sku-2"], p.Cart.Select(l => l.ProductId));
        Assert.Equal(t.AddMinutes(1), p.CartClearedAt);
        Assert.Equal(25, p.Statistics.TotalSpent);
    }

    [Fact]
    public async Task AnOrderUpdate_ArrivingBeforeItsOrder_GivesTheCartOfTimeOrder()
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-1);
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 25 }, at: t.AddMinutes(20)); // the update first
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "sku-2", quantity = 1 }, at: t.AddMinutes(10));
        Assert.Empty((await host.ProfileAsync(Known)).Cart); // as far as is known, the order came after it

        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "old", quantity = 1 }, at: t);
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 20 }, at: t.AddMinutes(1)); // then the order itself

        var p = await host.ProfileAsync(Known);
        Assert.Equal(["sku-2"], p.Cart.Select(l => l.ProductId));
        Assert.Equal(t.AddMinutes(1), p.CartClearedAt);
    }

    [Fact]
    public async Task ANewOrder_StillEmptiesTheCart()
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-1);
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 20 }, at: t);
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "sku-2", quantity = 1 }, at: t.AddMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 30 }, at: t.AddMinutes(20));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "sku-3", quantity = 2 }, at: t.AddMinutes(30));

        var p = await host.ProfileAsync(Known);
        Assert.Equal(["sku-3"], p.Cart.Select(l => l.ProductId));
        Assert.Equal(t.AddMinutes(20), p.CartClearedAt);
    }

    [Fact]
    public async Task AMergedProfile_KeepsTheCartFilledAfterAnOrderTheOtherSideUpdated()
    {
        var cookie = Identifier.AnonymousId("anon-1");
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-1);
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 20 }, at: t);
        await host.TrackAsync(EventTypes.CartItemAdded, [cookie], new { product_id = "sku-2", quantity = 1 }, at: t.AddMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], new { order_id = "o1", total = 20 }, at: t.AddMinutes(20)); // the same order, seen on the cookie later
        await host.TrackAsync("user.logged_in", [Known, cookie], at: t.AddMinutes(30));

        var p = await host.ProfileAsync(Known);
        Assert.Equal(["sku-2"], p.Cart.Select(l => l.ProductId));
        Assert.Equal(1, p.Statistics.OrderCount);
    }
}
