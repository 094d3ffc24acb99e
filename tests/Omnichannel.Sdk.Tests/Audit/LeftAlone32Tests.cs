using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Items earlier audits left alone, taken up in the thirty-second session. The wishlist kept every change of a product
/// without limit (audit U34 left it; audit U25 had bounded the cart's): a product wished thousands of times (a bot, a
/// heart button held down) made each later change check and replay them all. Nor were the products of either bounded:
/// a client adding thousands of products made every commit write them all.
/// </summary>
public sealed class LeftAlone32Tests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, string properties) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [Identifier.CustomerId("c1")],
        Properties = JsonDocument.Parse(properties).RootElement.Clone(),
    };

    private static CustomerEvent Wish(int i, string? name = null, string product = "sku") => Event($"w{i:D5}", EventTypes.WishlistItemAdded, T0.AddSeconds(i),
        name is null ? $$"""{"product_id": "{{product}}"}""" : $$"""{"product_id": "{{product}}", "name": "{{name}}"}""");

    [Fact]
    public void OneProductWishedThousandsOfTimes_KeepsABoundedListOfChanges_AndTheRightEntry()
    {
        var p = new CustomerProfile("p", T0);
        for (var i = 0; i < 2_000; i++)
        {
            ProfileCore.Apply(p, Wish(i, i == 10 ? "Socks" : i == 1_500 ? "Wool socks" : null), 200);
            Assert.True(p.WishlistOps["sku"].Count <= ProfileFacts.MaxWishlistOpsPerProduct, $"{p.WishlistOps["sku"].Count} changes kept after {i + 1} adds");
        }

        var item = Assert.Single(p.Wishlist);
        Assert.Equal(T0, item.AddedAt); // dated by the first add
        Assert.Equal("Wool socks", item.Name); // named by the newest name

        // A removal and a later add still count; the re-add dates the entry.
        ProfileCore.Apply(p, Event("r1", EventTypes.WishlistItemRemoved, T0.AddSeconds(5_000), """{"product_id": "sku"}"""), 200);
        Assert.Empty(p.Wishlist);
        ProfileCore.Apply(p, Wish(6_000), 200);
        Assert.Equal(T0.AddSeconds(6_000), Assert.Single(p.Wishlist).AddedAt);
    }

    [Fact]
    public void AMergeOfTwoLongWishlistHistories_StaysBounded()
    {
        var target = new CustomerProfile("a", T0);
        var other = new CustomerProfile("b", T0);
        for (var i = 0; i < 300; i++)
        {
            ProfileCore.Apply(target, Wish(2 * i), 200);
            ProfileCore.Apply(other, Wish((2 * i) + 1, i == 299 ? "Newest" : null), 200);
        }

        ProfileCore.Merge(target, other, new MergeRecord("b", Identifier.CustomerId("c1"), "m1", "test", T0.AddHours(1)), 200);

        Assert.True(target.WishlistOps["sku"].Count <= ProfileFacts.MaxWishlistOpsPerProduct);
        var item = Assert.Single(target.Wishlist);
        Assert.Equal(T0, item.AddedAt);
        Assert.Equal("Newest", item.Name);
    }

    private static CustomerEvent Cart(int i, string type, string product) =>
        Event($"c{i:D6}", type, T0.AddSeconds(i), $$"""{"product_id": "{{product}}", "quantity": 1, "price": 2}""");

    [Fact]
    public void ThousandsOfProductsAdded_KeepABoundedCart_AndTheHeldLinesStillChange()
    {
        var p = new CustomerProfile("p", T0);
        for (var i = 0; i < 3_000; i++)
        {
            ProfileCore.Apply(p, Cart(i, EventTypes.CartItemAdded, $"sku-{i}"), 200);
            ProfileCore.Apply(p, Wish(i, product: $"sku-{i}"), 200);
        }

        Assert.Equal(ProfileFacts.MaxItemProducts, p.CartOps.Count);
        Assert.Equal(ProfileFacts.MaxItemProducts, p.Cart.Count);
        Assert.Equal(ProfileFacts.MaxItemProducts, p.WishlistOps.Count);
        Assert.Equal(ProfileFacts.MaxItemProducts, p.Wishlist.Count);
        Assert.Contains(p.Cart, l => l.ProductId == "sku-0"); // the first ones stay: a full cart takes no new product

        // A held line still changes; a removal frees a place for a new product.
        ProfileCore.Apply(p, Cart(10_000, EventTypes.CartItemAdded, "sku-1"), 200);
        Assert.Equal(2, p.Cart.Single(l => l.ProductId == "sku-1").Quantity);
        ProfileCore.Apply(p, Event("rm", EventTypes.CartItemRemoved, T0.AddSeconds(10_001), """{"product_id": "sku-2"}"""), 200);
        ProfileCore.Apply(p, Cart(10_002, EventTypes.CartItemAdded, "new"), 200);
        Assert.Contains(p.Cart, l => l.ProductId == "new");
        Assert.DoesNotContain(p.Cart, l => l.ProductId == "sku-2");
        Assert.Equal(ProfileFacts.MaxItemProducts, p.CartOps.Count);
    }

    [Fact]
    public void ThousandsOfProductsAddedAndRemoved_KeepABoundedHistory_AndANewProductStillGetsIn()
    {
        var p = new CustomerProfile("p", T0);
        for (var i = 0; i < 3_000; i++)
        {
            ProfileCore.Apply(p, Cart(2 * i, EventTypes.CartItemAdded, $"sku-{i}"), 200);
            ProfileCore.Apply(p, Event($"r{i:D6}", EventTypes.CartItemRemoved, T0.AddSeconds((2 * i) + 1), $$"""{"product_id": "sku-{{i}}"}"""), 200);
            ProfileCore.Apply(p, Wish(2 * i, product: $"sku-{i}"), 200);
            ProfileCore.Apply(p, Event($"x{i:D6}", EventTypes.WishlistItemRemoved, T0.AddSeconds((2 * i) + 1), $$"""{"product_id": "sku-{{i}}"}"""), 200);
        }

        Assert.True(p.CartOps.Count <= ProfileFacts.MaxItemProducts, $"{p.CartOps.Count} products kept");
        Assert.True(p.WishlistOps.Count <= ProfileFacts.MaxItemProducts, $"{p.WishlistOps.Count} products kept");
        Assert.Empty(p.Cart);
        ProfileCore.Apply(p, Cart(10_000, EventTypes.CartItemAdded, "new"), 200);
        ProfileCore.Apply(p, Wish(10_000, product: "new"), 200);
        Assert.Equal("new", Assert.Single(p.Cart).ProductId);
        Assert.Equal("new", Assert.Single(p.Wishlist).ProductId);
    }

    [Fact]
    public void AMergeOfTwoFullCarts_StaysBounded()
    {
        var target = new CustomerProfile("a", T0);
        var other = new CustomerProfile("b", T0);
        for (var i = 0; i < 800; i++)
        {
            ProfileCore.Apply(target, Cart(i, EventTypes.CartItemAdded, $"a-{i}"), 200);
            ProfileCore.Apply(other, Cart(1_000 + i, EventTypes.CartItemAdded, $"b-{i}"), 200);
        }

        ProfileCore.Merge(target, other, new MergeRecord("b", Identifier.CustomerId("c1"), "m1", "test", T0.AddHours(1)), 200);

        Assert.Equal(ProfileFacts.MaxItemProducts, target.CartOps.Count);
        Assert.Equal(ProfileFacts.MaxItemProducts, target.Cart.Count);
        Assert.Equal(800, target.Cart.Count(l => l.ProductId.StartsWith("a-", StringComparison.Ordinal))); // hers first
    }

    [Property(MaxTest = 60)]
    public Property InTimeOrder_TheFoldedWishlist_IsTheWishlistOfEveryChange() => Prop.ForAll(
        Gen.ListOf(Gen.Frequency((8, Gen.Elements<string?>(null, null, "A", "B")), (1, Gen.Constant<string?>("-"))))
            .Select(l => l.ToArray()).Where(l => l.Length is > 0 and <= 400).ToArbitrary(),
        changes =>
        {
            // "-" is a removal, else an add with that name (or none). The model replays every change.
            var p = new CustomerProfile("p", T0);
            WishlistItem? model = null;
            for (var i = 0; i < changes.Length; i++)
            {
                var at = T0.AddSeconds(i);
                if (changes[i] == "-")
                {
                    ProfileCore.Apply(p, Event($"r{i:D5}", EventTypes.WishlistItemRemoved, at, """{"product_id": "sku"}"""), 200);
                    model = null;
                }
                else
                {
                    ProfileCore.Apply(p, Wish(i, changes[i]), 200);
                    model = model is null ? new WishlistItem("sku", changes[i], at) : changes[i] is null ? model : model with { Name = changes[i] };
                }
            }

            var kept = p.WishlistOps.GetValueOrDefault("sku")?.Count ?? 0;
            return (p.Wishlist.SingleOrDefault() == model && kept <= ProfileFacts.MaxWishlistOpsPerProduct)
                .Label($"model {model}, profile {p.Wishlist.SingleOrDefault()}, {kept} kept");
        });
}
