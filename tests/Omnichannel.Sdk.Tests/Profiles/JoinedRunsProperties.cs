using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Issue 14 (sixty-fifth session): kept runs at a collection's end are joined <see cref="WrittenJson{T}.JoinFanIn"/> at a
/// time into runs of the next level, so a profile whose orders only grow keeps O(log n) pieces per commit instead of one per
/// <see cref="WrittenJson{T}.RunLength"/> orders. The stored document must stay byte for byte what writing every element
/// again gives, whatever appends, updates, removals, front trims and reloads come between the joins.
/// </summary>
public sealed class JoinedRunsProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The most pieces a collection of <paramref name="count"/> elements that only grew at its end may take: fewer than
    /// <see cref="WrittenJson{T}.JoinFanIn"/> whole runs per level, the short runs after them, and the brackets' room.
    /// </summary>
    internal static int MostPieces(int count)
    {
        var levels = 1;
        for (long size = (long)WrittenJson<OrderFact>.RunLength * WrittenJson<OrderFact>.JoinFanIn; count >= size; size *= WrittenJson<OrderFact>.JoinFanIn)
        {
            levels++;
        }

        return (levels * (WrittenJson<OrderFact>.JoinFanIn - 1)) + WrittenJson<OrderFact>.RunLength + 2;
    }

    // Orders appended in commits of 1 to 64, with updates of known orders, removals, a merge's worth added at once, and
    // reloads between them: every write is what writing each order again gives, and the document holds O(log n) pieces plus
    // a few per order updated or removed since the last reload (each splits the run that held it).
    [Property(MaxTest = 40)]
    public void GrowingOrders_AreWrittenAsIfNothingWereKept(NonNegativeInt[] steps, PositiveInt seed)
    {
        var p = new CustomerProfile("p1", Start);
        var n = 0;
        var random = new Random(seed.Get);
        var changed = 0; // orders updated or removed since the last reload
        foreach (var step in steps.Take(60))
        {
            var s = step.Get;
            switch (random.Next(20))
            {
                case 0 when p.Orders.Count > 0: // an update of a known order (a replaced value under its key)
                    var key = p.Orders.Keys.ElementAt(random.Next(p.Orders.Count));
                    ProfileFacts.PutOrder(p, key, s % 89, "GBP", Start.AddMinutes(random.Next(10_000)), $"u{n++}");
                    changed++;
                    break;
                case 1 when p.Orders.Count > 0:
                    p.Orders.Remove(p.Orders.Keys.ElementAt(random.Next(p.Orders.Count)));
                    changed++;
                    break;
                case 2: // a reload: the kept runs are gone, and the next write is a walk
                    p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    changed = 0;
                    break;
                case var op:
                    var count = 1 + random.Next(64) + (op == 3 ? 300 : 0); // sometimes a merge's worth at once
                    for (var k = 0; k < count; k++, n++)
                    {
                        ProfileFacts.PutOrder(p, $"order:o-{n}", n % 97, n % 4 == 0 ? null : "GBP", Start.AddMinutes(n), $"e{n}");
                    }

                    break;
            }

            var plain = WrittenJsonProperties.Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p)); // written again from what was kept (and joined)
            if (shared.Shared is { } pieces)
            {
                Assert.InRange(pieces.Elements.Count, 1, MostPieces(p.Orders.Count) + (3 * changed));
            }
        }
    }

    // A long timeline (a shop that keeps thousands of entries) trimmed at its front and appended at its end, with an entry
    // sometimes replaced in the middle: joined runs are trimmed from the front like any other, and each write is what
    // writing every entry again gives.
    [Property(MaxTest = 40)]
    public void ALongTimeline_TrimmedAndAppended_IsWrittenAsIfNothingWereKept(NonNegativeInt[] steps)
    {
        var p = new CustomerProfile("p1", Start);
        var n = 0;
        foreach (var step in steps.Take(60))
        {
            var s = step.Get;
            var add = 1 + (s % 90);
            for (var k = 0; k < add; k++, n++)
            {
                p.TimelineEntries.Add(new TimelineEntry($"t{n}", "product.viewed", n % 3 == 0 ? "email" : "web", Start.AddMinutes(n), n % 5 == 0 ? null : $"entry {n}"));
            }

            var trim = Math.Min(p.TimelineEntries.Count - 1, (s / 90) % 70);
            p.TimelineEntries.RemoveRange(0, trim);
            if (s % 11 == 0)
            {
                var at = (s / 11) % p.TimelineEntries.Count;
                p.TimelineEntries[at] = p.TimelineEntries[at] with { Summary = "replaced" };
            }

            var plain = WrittenJsonProperties.Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p));
        }
    }

    // The join itself: after 4,096 + 300 orders appended one commit at a time, the orders are two levels of joined runs and
    // a short tail, and a reload writes them the same.
    [Fact]
    public void OrdersAppendedOneAtATime_AreJoinedIntoTwoLevels()
    {
        var p = new CustomerProfile("p1", Start);
        var counts = new List<int>();
        for (var i = 0; i < 4_396; i++)
        {
            ProfileFacts.PutOrder(p, $"order:o-{i}", i % 90, "GBP", Start.AddMinutes(i), $"e{i}");
            counts.Add(ProfileSerializer.SerializeShared(p).Shared?.Elements.Count ?? 0);
        }

        var plain = WrittenJsonProperties.Plain(p);
        Assert.Equal(plain, ProfileSerializer.SerializeShared(p).Shared!.ToArray());
        Assert.True(counts.Max() <= MostPieces(4_396), $"at most {MostPieces(4_396)} pieces, got {counts.Max()}");

        // 4,396 = one run of 4,096, one of 256 and two of 16, then the last 12 orders as a short run each (they are built into
        // one full run with the next 4): 16 pieces (the head's other collections are short and keep none). Without joins the
        // 4,384 orders in full runs would be 274 pieces.
        Assert.Equal(4 + 12, counts[^1]);
        var reloaded = ProfileSerializer.Deserialize(plain, p.Version);
        Assert.Equal(plain, ProfileSerializer.Serialize(reloaded));
        Assert.Equal(plain, ProfileSerializer.Serialize(reloaded));
    }
}
