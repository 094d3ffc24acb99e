using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Issue 14 (forty-eighth session): a commit that touches no order gives the orders' last written pieces again, without
/// visiting an order; it may do so only because every change to the orders, returns, tallies and order conversions moves
/// <see cref="WrittenOnceDictionary{T}.Version"/>. The stored document must stay byte for byte what writing every entry
/// again gives, whatever sequence of new orders, updates under a known key, direct replacements, removals, returns,
/// tallies, merges and reloads came before.
/// </summary>
public sealed class OrdersWrittenOnceProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    [Property(MaxTest = 300)]
    public void OrdersWrittenAgain_AreWhatWritingEveryOrderAgainGives(NonNegativeInt[] steps)
    {
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 20; i++)
        {
            ProfileFacts.PutOrder(p, $"order:o-{i}", i, "GBP", Start.AddMinutes(i), $"e{i}");
        }

        var n = 0;
        foreach (var step in steps)
        {
            var s = step.Get;
            var (op, a) = (s % 10, (s / 10) % 30);
            var at = Start.AddMinutes(s % 997);
            var key = $"order:o-{a}";
            switch (op)
            {
                case 0: // a new order, or an update of a known one (the newest values, the earliest time): a value replaced under its key
                    ProfileFacts.PutOrder(p, key, s % 89, a % 3 == 0 ? null : "GBP", at, $"e{n++}");
                    break;
                case 1 when p.Orders.TryGetValue(key, out var known): // replaced under its key, the same count, no key added
                    p.Orders[key] = known with { Total = known.Total + 1 };
                    break;
                case 2:
                    p.Orders.Remove(key);
                    break;
                case 3:
                    ProfileFacts.ApplyReturn(p, $"return:r-{a % 20}", s % 13, "GBP", key, at, $"e{n++}", "GBP");
                    break;
                case 4:
                    ProfileFacts.PutFact(p.Tallies, $"loyalty.points_earned:t-{a % 25}", s % 50, null, at, $"e{n++}");
                    if (s % 7 == 0 && p.Tallies.Count > 0)
                    {
                        p.Tallies.Remove(p.Tallies.Keys.First());
                    }

                    break;
                case 5: // a merge: the other profile's orders, some under keys this one holds
                    var other = new CustomerProfile($"b{n}", Start);
                    for (var k = 0; k < 1 + (s % 5); k++)
                    {
                        ProfileFacts.PutOrder(other, $"order:o-{(a + k) % 30}", k, "GBP", at.AddMinutes(k), $"m{n}-{k}");
                    }

                    ProfileFacts.PutFact(other.Tallies, $"referral.sent:t-{a % 25}", 1, null, at, $"m{n}");
                    ProfileCore.Merge(p, other, new MergeRecord(other.Id, Identifier.Email($"b{n++}@example.com"), $"merge-{n}", "test", at), 30, "GBP");
                    break;
                case 6:
                    p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    break;
                case 7 when s % 3 == 0:
                    p.Orders.Clear();
                    break;
                default: // nothing changed: the next write is the last one's again
                    break;
            }

            var plain = WrittenJsonProperties.Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p));
            var again = ProfileSerializer.SerializeShared(p); // unchanged since: given again, nothing visited
            Assert.Equal(plain, again.Bytes ?? again.Shared!.ToArray());
            if (p.Orders.Count >= WrittenJson<OrderFact>.MinimumToKeep)
            {
                Assert.Equal(0, p.Orders.Written.Visited);
            }
        }
    }

    // Every writer moves the version, a value replaced under its key included (which Dictionary's own version misses).
    [Fact]
    public void EveryChange_MovesTheVersion_AndOnlyAChange()
    {
        var orders = new WrittenOnceDictionary<OrderFact>();
        var fact = new OrderFact(1, "GBP", Start, Start, "e1", "e1");
        var seen = new List<long> { orders.Version };
        orders["a"] = fact;
        seen.Add(orders.Version);
        orders["a"] = fact with { Total = 2 }; // replaced under its key
        seen.Add(orders.Version);
        orders.Add("b", fact);
        seen.Add(orders.Version);
        orders.TryAdd("c", fact);
        seen.Add(orders.Version);
        orders.Remove("b");
        seen.Add(orders.Version);
        orders.Clear();
        seen.Add(orders.Version);
        Assert.Equal(seen.Count, seen.Distinct().Count());

        orders["a"] = fact;
        var before = orders.Version;
        _ = orders.TryGetValue("a", out _);
        _ = orders.ContainsKey("a");
        _ = orders.ContainsKey("a".AsSpan());
        _ = orders.Values.Count;
        foreach (var _ in orders)
        {
        }

        Assert.Equal(before, orders.Version);
    }

    // The case a check of the count or the keys alone would miss: one order's value replaced under its key, through the
    // engine's own writer, after a write that was given again.
    [Fact]
    public void AnOrderUpdatedUnderItsKey_IsWrittenAgain()
    {
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 499; i++)
        {
            ProfileFacts.PutOrder(p, $"order:o-{i}", i, "GBP", Start.AddMinutes(i), $"e{i}");
        }

        _ = ProfileSerializer.SerializeShared(p);
        var unchanged = ProfileSerializer.SerializeShared(p);
        Assert.Equal(0, p.Orders.Written.Visited);

        ProfileFacts.PutOrder(p, "order:o-250", 12345.67m, "EUR", Start.AddDays(1), "e-update");
        var updated = ProfileSerializer.SerializeShared(p).Shared!;

        Assert.Equal(499, p.Orders.Written.Visited);
        Assert.Equal(WrittenJsonProperties.Plain(p), updated.ToArray());
        Assert.NotEqual(unchanged.Shared!.ToArray(), updated.ToArray());
        Assert.Contains("12345.67", System.Text.Encoding.UTF8.GetString(updated.ToArray()), StringComparison.Ordinal);
    }

    // Fifty-sixth session: a write after entries were only added (her new orders) appends them to the last write's
    // pieces instead of walking every order. Any number of adds between writes (across a run's length and past
    // MaxAddedBetweenWrites), with updates, removals and reloads now and then, must still give what writing every order
    // again gives; and a write after adds alone visits only what was added, while no entry was ever removed.
    [Property(MaxTest = 300)]
    public void OrdersAddedBetweenWrites_AreAppended_AsWritingEveryOrderAgainGives(NonNegativeInt[] steps)
    {
        var p = new CustomerProfile("p1", Start);
        var next = 0;
        var removed = false;
        foreach (var step in steps)
        {
            var s = step.Get;
            var (op, a) = (s % 12, s / 12);
            var before = p.Orders.Count;
            var writtenBefore = p.Orders.Count >= WrittenJson<OrderFact>.MinimumToKeep;
            var onlyAdds = true;
            switch (op)
            {
                case 0: // an update of a known order: its value replaced under its key
                    if (p.Orders.Count > 0)
                    {
                        ProfileFacts.PutOrder(p, $"order:o-{a % p.Orders.Count}", a % 89, "GBP", Start.AddMinutes(a % 500), $"u{next++}");
                        onlyAdds = false;
                    }

                    break;
                case 1 when s % 5 == 0 && p.Orders.Count > 0: // a removal: from here on, adds may fill its place in the order
                    p.Orders.Remove(p.Orders.Keys.First());
                    removed = true;
                    onlyAdds = false;
                    break;
                case 2 when s % 3 == 0:
                    p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    onlyAdds = false; // a fresh dictionary: its first write walks it
                    break;
                default: // new orders: 1 to 80 of them since the last write
                    for (var k = 0; k < 1 + (a % 80); k++)
                    {
                        var n = next++;
                        ProfileFacts.PutOrder(p, $"order:n-{n}", n % 97, n % 4 == 0 ? null : "GBP", Start.AddMinutes(n), $"e{n}");
                    }

                    break;
            }

            var added = p.Orders.Count - before;
            var plain = WrittenJsonProperties.Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            if (onlyAdds && writtenBefore && !removed && added is > 0 and <= WrittenOnceDictionary<OrderFact>.MaxAddedBetweenWrites)
            {
                Assert.Equal(added, p.Orders.Written.Visited); // appended: the orders before were not visited
            }

            Assert.Equal(plain, ProfileSerializer.Serialize(p)); // written again from what was kept
        }
    }

    // A customer with 10,000 orders, one new order per commit as the engine writes them: each write visits only its new
    // order, and the document's pieces stay O(log n) (whole runs joined JoinFanIn at a time), not one per 16 orders.
    [Fact]
    public void ANewOrder_OfACustomerWithTenThousandOrders_IsAppendedWithoutVisitingTheOthers()
    {
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 10_000; i++)
        {
            ProfileFacts.PutOrder(p, $"order:o-{i}", i % 90, "GBP", Start.AddMinutes(i), $"e{i}");
            _ = ProfileSerializer.SerializeShared(p);
            if (i >= WrittenJson<OrderFact>.MinimumToKeep)
            {
                Assert.Equal(1, p.Orders.Written.Visited);
            }
        }

        ProfileFacts.PutOrder(p, "order:last", 5, "GBP", Start.AddDays(30), "e-last");
        var shared = ProfileSerializer.SerializeShared(p).Shared!;
        Assert.Equal(1, p.Orders.Written.Visited);
        Assert.Equal(WrittenJsonProperties.Plain(p), shared.ToArray());
        Assert.InRange(shared.Elements.Count, 2, JoinedRunsProperties.MostPieces(10_001));
    }
}
