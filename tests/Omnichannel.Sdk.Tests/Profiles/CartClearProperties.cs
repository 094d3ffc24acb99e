using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Issue 14 (sixty-fifth session): an order used to rebuild every product she ever put in her cart (a customer with 300
/// products' changes kept paid 300 rebuilds and 600 allocations per order). When the clear moves later only the lines she
/// has are rebuilt. The profile must be exactly what rebuilding every product gives, whatever the changes, orders, late
/// earlier orders and removed orders came before.
/// </summary>
public sealed class CartClearProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    [Property(MaxTest = 300)]
    public void AClearedCart_IsWhatRebuildingEveryProductGives(NonNegativeInt[] steps, int seed)
    {
        var p = new CustomerProfile("p1", Start);
        var n = 0;
        var random = new Random(seed);
        foreach (var _ in steps)
        {
            var s = random.Next(1_000_000);
            var product = $"sku-{s % 6}";
            var at = Start.AddDays(random.Next(120)).AddHours(s % 5); // changes and orders spread past the 30 days' retention
            switch (random.Next(6))
            {
                case 0 or 1:
                    ProfileFacts.PutCartOp(p, product, new ItemOp($"e{n++}", at, Remove: false, Quantity: 1 + (s % 3), Name: "Kibble", Price: 4.5m, Currency: "GBP"));
                    break;
                case 2:
                    ProfileFacts.PutCartOp(p, product, new ItemOp($"e{n++}", at, Remove: true, Quantity: s % 2 == 0 ? null : 1m));
                    break;
                case 3 or 4: // a new order, or one arriving late (earlier than the latest): the clear moves later or earlier
                    ProfileFacts.PutOrder(p, $"order:o-{n}", s % 50, "GBP", at, $"e{n++}");
                    Clear(ref p);
                    break;
                default: // an order removed (a merge's recompute, an erasure of part of her history): the clear moves back or goes
                    if (p.Orders.Count > 0)
                    {
                        p.Orders.Remove(p.Orders.Keys.ElementAt(s % p.Orders.Count));
                        Clear(ref p);
                    }

                    break;
            }
        }
    }

    // The clear on two copies read from her document (the same dictionaries, entry for entry), one as it is now and one as it
    // was (every product walked): the same bytes. And on the live profile, the same lines and changes (a live dictionary
    // that lost entries fills their slots again, so its order may differ from a reloaded one's; the values may not).
    private static void Clear(ref CustomerProfile p)
    {
        var document = ProfileSerializer.Serialize(p);
        var now = ProfileSerializer.Deserialize(document, p.Version);
        var before = ProfileSerializer.Deserialize(document, p.Version);
        ProfileFacts.ClearCartAfterOrders(now);
        RebuildEveryProduct(before);
        Assert.Equal(WrittenJsonProperties.Plain(before), WrittenJsonProperties.Plain(now));

        ProfileFacts.ClearCartAfterOrders(p);
        Assert.Equal(before.CartClearedAt, p.CartClearedAt);
        Assert.Equal(before.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal), p.CartLines.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(
            before.CartOps.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, string.Join(",", kv.Value))),
            p.CartOps.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, string.Join(",", kv.Value))));
        if (p.Orders.Count % 3 == 0)
        {
            p = now; // go on from the copy sometimes: what it holds must do as well
        }
    }

    // The clear as it was before the sixty-fifth session: every product's changes trimmed and its line rebuilt.
    private static void RebuildEveryProduct(CustomerProfile p)
    {
        var at = p.Orders.Count == 0 ? null : ProfileFacts.LatestOrderAt(p);
        if (at == p.CartClearedAt)
        {
            return;
        }

        p.CartClearedAt = at;
        foreach (var product in p.CartOpsIfAny?.Keys.ToList() ?? [])
        {
            if (at is { } cleared)
            {
                p.CartOps[product].RemoveAll(o => o.At <= cleared - ProfileFacts.ClearedCartRetention);
            }

            ProfileFacts.RebuildCartLine(p, product);
        }
    }
}
