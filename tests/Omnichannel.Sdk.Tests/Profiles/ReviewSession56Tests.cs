using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Review of the fifty-sixth session (commit 2bf9d2f): a write after entries were only added appends them to the last
/// write's pieces, and the cart's clear reads the latest order's time from the statistics. The stored document must stay
/// byte for byte what writing every entry again gives, and the cart must be what a walk of every order gives.
/// </summary>
public sealed class ReviewSession56Tests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    private static byte[] Shared(CustomerProfile p)
    {
        var shared = ProfileSerializer.SerializeShared(p);
        return shared.Bytes ?? shared.Shared!.ToArray();
    }

    private static void AssertWritten(CustomerProfile p)
    {
        var plain = WrittenJsonProperties.Plain(p);
        Assert.Equal(plain, Shared(p));
        Assert.Equal(plain, ProfileSerializer.Serialize(p));
        Assert.Equal(plain, Shared(p)); // given again
    }

    // Two profiles written alternately on one thread (the converter's thread-static arrays and the scratch writer reused),
    // each under adds (crossing the 16-entry run boundary, past 64 between writes), replacements right after an add,
    // TryAdd of a known key, one element under two keys, removals, clears, merges both ways and reloads.
    [Property(MaxTest = 300)]
    public void AppendedWrites_AreWhatWritingEveryEntryAgainGives(NonNegativeInt[] steps)
    {
        var profiles = new[] { new CustomerProfile("a", Start), new CustomerProfile("b", Start) };
        for (var i = 0; i < 17; i++)
        {
            ProfileFacts.PutOrder(profiles[0], $"order:a-{i}", i, "GBP", Start.AddMinutes(i), $"a{i}");
        }

        var n = 0;
        foreach (var step in steps)
        {
            var s = step.Get;
            var which = s % 2;
            var p = profiles[which];
            var (op, a) = ((s / 2) % 12, (s / 24) % 90);
            var at = Start.AddMinutes(s % 997);
            var fact = new OrderFact(s % 89, "GBP", at, at, $"e{n}", $"e{n}");
            n++;
            switch (op)
            {
                case 0: // one new order
                    p.Orders[$"order:n-{n}"] = fact;
                    break;
                case 1: // many new orders between two writes: across a run's end, sometimes past 64
                    for (var k = 0; k < 1 + (a % 70); k++)
                    {
                        p.Orders.Add($"order:m-{n}-{k}", fact with { Total = k });
                    }

                    break;
                case 2: // added then replaced before the next write
                    p.Orders[$"order:r-{n}"] = fact;
                    p.Orders[$"order:r-{n}"] = fact with { Total = 1000 };
                    break;
                case 3 when p.Orders.Count > 0: // TryAdd of a known key (refused), then a new one
                    Assert.False(p.Orders.TryAdd(p.Orders.Keys.First(), fact));
                    Assert.True(p.Orders.TryAdd($"order:t-{n}", fact));
                    break;
                case 4 when p.Orders.Count > 0: // the same element under a second key
                    p.Orders[$"order:d-{n}"] = p.Orders.Values.Last();
                    break;
                case 5 when p.Orders.Count > 0: // a removal, then adds
                    p.Orders.Remove(p.Orders.Keys.ElementAt(a % p.Orders.Count));
                    p.Orders[$"order:x-{n}"] = fact;
                    p.Orders[$"order:y-{n}"] = fact;
                    break;
                case 6 when a % 4 == 0:
                    p.Orders.Clear();
                    break;
                case 7: // a merge, this way or the other
                    var other = profiles[1 - which];
                    var copy = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(other), other.Version);
                    ProfileCore.Merge(p, copy, new MergeRecord(copy.Id, Identifier.Email($"m{n}@example.com"), $"merge-{n}", "test", at), 30, "GBP");
                    break;
                case 8: // reloaded, then added to
                    profiles[which] = p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    p.Orders[$"order:l-{n}"] = fact;
                    break;
                case 9: // an order event through the facts (a new one, or an update under a known key)
                    ProfileFacts.ApplyOrder(p, $"order:n-{a}", s % 50, "GBP", at, $"e{n}", "GBP");
                    break;
                default:
                    break;
            }

            if (s % 3 == 0)
            {
                AssertWritten(profiles[1 - which]); // the other one written between this one's change and its write
            }

            AssertWritten(p);
        }
    }

    // Adds between writes, crossing the 16-entry boundary one at a time and in bunches, with the other profile written in
    // between: each write is the plain one.
    [Fact]
    public void AddsAcrossRunBoundaries_WithAnotherProfileWrittenBetween_AreThePlainWrite()
    {
        var a = new CustomerProfile("a", Start);
        var b = new CustomerProfile("b", Start);
        var n = 0;
        foreach (var bunch in new[] { 16, 1, 14, 1, 1, 15, 17, 33, 64, 65, 2, 31 })
        {
            foreach (var p in new[] { a, b })
            {
                for (var k = 0; k < bunch; k++, n++)
                {
                    p.Orders[$"order:{n}"] = new OrderFact(n, "GBP", Start.AddMinutes(n), Start.AddMinutes(n), $"e{n}", $"e{n}");
                }
            }

            AssertWritten(a);
            AssertWritten(b);
        }
    }

    // A stored document from before the statistics were kept (orders, no order statistics): a later order that came
    // before her latest one must clear the cart as of her latest order, as the walk of every order gave.
    [Fact]
    public void AnOlderDocumentWithoutOrderStatistics_ClearsTheCartAsOfHerLatestOrder()
    {
        var reference = new CustomerProfile("p", Start);
        Apply(reference, "c1", EventTypes.CartItemAdded, Start, """{"product_id":"early"}""");
        Apply(reference, "o1", EventTypes.OrderPlaced, Start.AddHours(2), """{"order_id":"o1","total":10}""");
        Apply(reference, "c2", EventTypes.CartItemAdded, Start.AddHours(1), """{"product_id":"before-o1"}""");
        Apply(reference, "c3", EventTypes.CartItemAdded, Start.AddHours(3), """{"product_id":"after-o1"}""");
        Assert.Equal(["after-o1"], reference.Cart.Select(l => l.ProductId));

        // The same document as an older version stored it: no order statistics.
        var node = JsonNode.Parse(ProfileSerializer.Serialize(reference))!.AsObject();
        node.Remove("statistics");
        var older = ProfileSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(node), reference.Version);
        Assert.Equal(0, older.Statistics.OrderCount);
        Assert.Equal(["after-o1"], older.Cart.Select(l => l.ProductId));

        // Orders that came before o1 arrive late, one after the other.
        foreach (var p in new[] { reference, older })
        {
            Apply(p, "o2", EventTypes.OrderPlaced, Start.AddMinutes(30), """{"order_id":"o2","total":5}""");
            Apply(p, "o3", EventTypes.OrderPlaced, Start.AddMinutes(45), """{"order_id":"o3","total":7}""");
        }

        Assert.Equal(ProfileFacts.LatestOrderAt(older), older.CartClearedAt);
        Assert.Equal(Start.AddHours(2), older.CartClearedAt);
        Assert.Equal(reference.Cart.Select(l => l.ProductId), older.Cart.Select(l => l.ProductId));
        Assert.Equal(["after-o1"], older.Cart.Select(l => l.ProductId));
        Assert.Equal(Start.AddHours(2), older.Statistics.LastOrderAt);
        Assert.Equal(3, older.Statistics.OrderCount);
    }

    // Orders placed, updated (the first time moving earlier), cancelled, returned, merged both ways and reloaded: the cart
    // is cleared as of the latest order's first time a walk of every order gives.
    [Property(MaxTest = 200)]
    public void TheCartIsClearedAsOfTheLatestOrderAWalkGives(NonNegativeInt[] steps)
    {
        var profiles = new[] { new CustomerProfile("a", Start), new CustomerProfile("b", Start) };
        var n = 0;
        foreach (var step in steps)
        {
            var s = step.Get;
            var which = s % 2;
            var p = profiles[which];
            var (op, a) = ((s / 2) % 7, (s / 14) % 6);
            var at = Start.AddMinutes(s % 600);
            var id = $"e{n++}";
            switch (op)
            {
                case 0:
                case 1: // a new order or an update of one (its first time may move earlier)
                    Apply(p, id, EventTypes.OrderPlaced, at, $$"""{"order_id":"o{{a}}","total":{{s % 40}}}""");
                    break;
                case 2:
                    Apply(p, id, EventTypes.CartItemAdded, at, $$"""{"product_id":"sku-{{a}}"}""");
                    break;
                case 3:
                    Apply(p, id, a % 2 == 0 ? EventTypes.OrderCancelled : EventTypes.OrderReturned, at, $$"""{"order_id":"o{{a}}","total":3}""");
                    break;
                case 4: // a merge, this way or the other
                    var other = profiles[1 - which];
                    var copy = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(other), other.Version);
                    ProfileCore.Merge(p, copy, new MergeRecord(copy.Id, Identifier.Email($"m{n}@example.com"), $"merge-{n}", "test", at), 30, "GBP");
                    break;
                case 5:
                    profiles[which] = p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    break;
                default:
                    Apply(p, id, EventTypes.CartItemRemoved, at, $$"""{"product_id":"sku-{{a}}"}""");
                    break;
            }

            if (op is 0 or 1 or 4)
            {
                Assert.Equal(ProfileFacts.LatestOrderAt(p), p.CartClearedAt);
            }

            Assert.Equal(ProfileFacts.LatestOrderAt(p), p.Statistics.LastOrderAt);
        }
    }

    private static void Apply(CustomerProfile p, string id, string type, DateTimeOffset at, string properties) =>
        ProfileCore.Apply(p, new CustomerEvent
        {
            Id = id,
            Type = type,
            Timestamp = at,
            Identifiers = [Identifier.CustomerId("c1")],
            Properties = JsonDocument.Parse(properties).RootElement.Clone(),
        }, 200, "GBP");
}
