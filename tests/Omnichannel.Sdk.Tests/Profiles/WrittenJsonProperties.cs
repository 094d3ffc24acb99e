using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Fixture = Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// The timeline, the orders and the touches keep each element's JSON once written (<see cref="WrittenJson{T}"/>): the stored document
/// must be byte for byte what serialising every element again would give, whatever was added, replaced, trimmed,
/// reloaded or merged.
/// </summary>
public sealed class WrittenJsonProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    [Property(MaxTest = 200)]
    public void TheDocument_IsWhatWritingEveryEntryAgainGives(PositiveInt[] minutes, NonNegativeInt[] reloadAfter, PositiveInt length)
    {
        var timelineLength = 1 + (length.Get % 60); // short and long timelines, both sides of MinimumToKeep
        var p = new CustomerProfile("p1", Start);
        var reloads = reloadAfter.Select(r => r.Get % Math.Max(1, minutes.Length)).ToHashSet();
        for (var i = 0; i < minutes.Length; i++)
        {
            // Minutes repeat and go backwards: entries land in the middle, duplicates are refused, the oldest are trimmed.
            var at = Start.AddMinutes(minutes[i].Get % 500);
            ProfileCore.AddTimeline(p, new TimelineEntry($"e{minutes[i].Get % 700}", "product.viewed", i % 3 == 0 ? "web" : "email", at, i % 2 == 0 ? null : $"entry {i}"), timelineLength);
            ProfileFacts.PutOrder(p, $"o-{minutes[i].Get % 40}", minutes[i].Get % 97, i % 4 == 0 ? null : "GBP", at, $"e{i}"); // new, or a replaced order
            var touch = p.Touches.FindIndex(t => t.Key == $"m{minutes[i].Get % 30}"); // a new touch, or an outcome replacing one
            if (touch >= 0)
            {
                p.Touches[touch] = p.Touches[touch] with { SentAt = at, Channel = i % 2 == 0 ? "sms" : "email" };
            }
            else
            {
                p.Touches.Add(new Sdk.Measurement.Touch { Key = $"m{minutes[i].Get % 30}", Channel = "email", QueuedAt = at, JourneyId = i % 3 == 0 ? null : "j" });
            }

            var cached = ProfileSerializer.Serialize(p);
            Assert.Equal(Plain(p), cached);
            var shared = ProfileSerializer.SerializeShared(p); // what the in-memory store keeps: the same bytes, elements shared
            Assert.Equal(cached, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(cached.Length, shared.Length);
            Assert.Equal(shared.Shared is null, p.TimelineEntries.Count < WrittenJson<TimelineEntry>.MinimumToKeep && p.Orders.Count < WrittenJson<OrderFact>.MinimumToKeep
                && p.Touches.Count < WrittenJson<Sdk.Measurement.Touch>.MinimumToKeep);
            Assert.Equal(cached, ProfileSerializer.Serialize(p)); // written from the kept bytes the second time
            if (reloads.Contains(i))
            {
                p = ProfileSerializer.Deserialize(cached, p.Version);
                Assert.IsType<WrittenOnceList<TimelineEntry>>(p.TimelineEntries);
                Assert.IsType<WrittenOnceDictionary<OrderFact>>(p.Orders);
                Assert.IsType<WrittenOnceList<Sdk.Measurement.Touch>>(p.Touches);
                Assert.Equal(cached, ProfileSerializer.Serialize(p));
            }
        }
    }

    // The cart's and wishlist's changes keep each product's list bytes while the list holds the same changes; the lists
    // change in place (a change inserted among older ones, a fold past MaxCartOpsPerProduct, a removal compacting
    // them, an order dropping those 30 days before it), and none of it may leave stale bytes in the document.
    [Property(MaxTest = 200)]
    public void CartAndWishlistChanges_AreWrittenAsIfNothingWereKept(int[] steps, NonNegativeInt[] reloadAfter)
    {
        var p = new CustomerProfile("p1", Start);
        var reloads = reloadAfter.Select(r => r.Get % Math.Max(1, steps.Length)).ToHashSet();
        var n = 0;
        for (var i = 0; i < steps.Length; i++)
        {
            var s = steps[i] & int.MaxValue;
            var product = $"sku-{s % 7}";
            var at = Start.AddDays(s % 90).AddMinutes(s % 13); // late, early and equal instants
            switch ((s / 7) % 8)
            {
                case 0 or 1 or 2:
                    ProfileFacts.PutCartOp(p, product, new ItemOp($"e{n++}", at, Remove: false, Quantity: 1 + (s % 3), Name: "Kibble", Price: 4.5m, Currency: "GBP"));
                    break;
                case 3:
                    ProfileFacts.PutCartOp(p, product, new ItemOp($"e{n++}", at, Remove: true, Quantity: s % 2 == 0 ? null : 1m));
                    break;
                case 4:
                    ProfileFacts.PutWishlistOp(p, product, new ItemOp($"e{n++}", at, Remove: s % 3 == 0, Quantity: null, Name: "Toy"));
                    break;
                case 5:
                    for (var k = 0; k < ProfileFacts.MaxCartOpsPerProduct + 5; k++) // a "+" held down: the fold
                    {
                        ProfileFacts.PutCartOp(p, product, new ItemOp($"e{n++}", at.AddSeconds(k), Remove: false, Quantity: 1));
                    }

                    break;
                case 6:
                    ProfileFacts.PutOrder(p, $"o-{s % 5}", 10, "GBP", at, $"e{n++}");
                    ProfileFacts.ClearCartAfterOrders(p);
                    break;
                default:
                    _ = ProfileSerializer.Serialize(p); // written twice between changes
                    break;
            }

            var cached = ProfileSerializer.Serialize(p);
            Assert.Equal(Plain(p), cached);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(cached, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(cached, ProfileSerializer.Serialize(p));
            if (reloads.Contains(i))
            {
                p = ProfileSerializer.Deserialize(cached, p.Version);
                Assert.IsType<WrittenOnceGroups<ItemOp>>(p.CartOps);
                Assert.IsType<WrittenOnceGroups<ItemOp>>(p.WishlistOps);
                Assert.Equal(cached, ProfileSerializer.Serialize(p));
            }
        }
    }

    [Fact]
    public void AProductsUnchangedCartChanges_AreNotWrittenAgain()
    {
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 40; i++)
        {
            ProfileFacts.PutCartOp(p, $"sku-{i % 4}", new ItemOp($"e{i}", Start.AddMinutes(i), Remove: false, Quantity: 1));
        }

        var first = ProfileSerializer.SerializeShared(p);
        ProfileFacts.PutCartOp(p, "sku-0", new ItemOp("e-late", Start.AddMinutes(-1), Remove: false, Quantity: 2)); // inserted first
        var second = ProfileSerializer.SerializeShared(p);

        Assert.NotNull(first.Shared);
        Assert.Equal(4, second.Shared!.Elements.Count);
        Assert.Equal(3, Arrays(second.Shared).Intersect(Arrays(first.Shared), ReferenceEqualityComparer.Instance).Count()); // sku-1..3 shared
        Assert.Equal(Plain(p), second.Shared.ToArray());
    }

    [Fact]
    public void AMerge_WritesBothTimelines_AsIfNothingWereKept()
    {
        var a = new CustomerProfile("a", Start);
        var b = new CustomerProfile("b", Start);
        for (var i = 0; i < 40; i++)
        {
            ProfileCore.AddTimeline(i % 2 == 0 ? a : b, new TimelineEntry($"e{i}", "page.viewed", "web", Start.AddMinutes(i), null), 50);
        }

        _ = ProfileSerializer.Serialize(a); // both keep bytes now
        _ = ProfileSerializer.Serialize(b);
        ProfileCore.Merge(a, b, new MergeRecord("b", Identifier.Email("x@example.com"), "e-merge", "test", Start.AddHours(1)), 30, "GBP");

        Assert.Equal(30, a.TimelineEntries.Count);
        Assert.Equal(Plain(a), ProfileSerializer.Serialize(a));
    }

    // The same profile with its timeline and orders in plain collections, which the converters write element by element.
    // Each thread keeps its serialisation buffer: a small document written after a large one must hold nothing of it,
    // and escape text exactly as the serializer's own writer does.
    [Fact]
    public void ASmallDocumentAfterALargeOne_OnTheSameThread_IsExactlyItsOwn()
    {
        var large = new CustomerProfile("large", Start);
        for (var i = 0; i < 300; i++)
        {
            ProfileCore.AddTimeline(large, new TimelineEntry($"e{i}", "product.viewed", "web", Start.AddMinutes(i), $"LARGE-ONLY {i}"), 300);
        }

        var small = new CustomerProfile("small", Start);
        ProfileCore.AddTimeline(small, new TimelineEntry("e1", "product.viewed", "web", Start, "Zoë 😺 <b>&'\""), 10);
        byte[] expected = [];
        var fresh = new Thread(() => expected = ProfileSerializer.Serialize(small)); // a thread with no buffer yet
        fresh.Start();
        fresh.Join();

        Assert.True(ProfileSerializer.Serialize(large).Length > 20_000);
        var written = ProfileSerializer.Serialize(small);

        Assert.Equal(expected, written); // nothing of the large one, nothing after the document
        Assert.Contains(@"Zo\u00EB \uD83D\uDE3A \u003Cb\u003E\u0026\u0027\u0022", System.Text.Encoding.UTF8.GetString(written), StringComparison.Ordinal); // the serializer's default escaping
        Assert.DoesNotContain("LARGE-ONLY", System.Text.Encoding.UTF8.GetString(written), StringComparison.Ordinal);
        Assert.Equal("Zoë 😺 <b>&'\"", ProfileSerializer.Deserialize(written, 1).Timeline.Single().Summary);
    }

    // Shared with ReviewSession36Tests.
    // Kept runs are reused only where the very same elements stand in the same order under the same keys: elements moved
    // to another key, swapped, duplicated, removed from the middle or put back must all be written as they now stand.
    [Property(MaxTest = 300)]
    public void KeptRuns_FollowEveryMoveOfTheSameElements(NonNegativeInt[] steps)
    {
        var p = new CustomerProfile("p1", Start);
        var orders = Enumerable.Range(0, 40).Select(i => new OrderFact(i, "GBP", Start.AddMinutes(i), Start.AddMinutes(i), $"e{i}", $"e{i}")).ToArray();
        var entries = Enumerable.Range(0, 40).Select(i => new TimelineEntry($"t{i}", "product.viewed", "web", Start.AddMinutes(i), null)).ToArray();
        for (var i = 0; i < 24; i++)
        {
            p.Orders[$"o-{i}"] = orders[i];
            p.TimelineEntries.Add(entries[i]);
        }

        foreach (var step in steps)
        {
            var (op, a, b) = (step.Get % 7, (step.Get / 7) % 40, (step.Get / 280) % 40);
            var keys = p.Orders.Keys.ToList();
            switch (op)
            {
                case 0: p.Orders[$"o-{a}"] = orders[b]; break; // a new key, or an element moved or copied under another key
                case 1: p.Orders.Remove($"o-{a}"); break;
                case 2 when keys.Count >= 2:
                    var (x, y) = (keys[a % keys.Count], keys[b % keys.Count]);
                    (p.Orders[x], p.Orders[y]) = (p.Orders[y], p.Orders[x]);
                    break;
                case 3: p.TimelineEntries.Insert(a % (p.TimelineEntries.Count + 1), entries[b]); break;
                case 4 when p.TimelineEntries.Count > 0: p.TimelineEntries.RemoveAt(a % p.TimelineEntries.Count); break;
                case 5 when p.TimelineEntries.Count > 1:
                    var moved = p.TimelineEntries[a % p.TimelineEntries.Count];
                    p.TimelineEntries.RemoveAt(a % p.TimelineEntries.Count);
                    p.TimelineEntries.Insert(b % (p.TimelineEntries.Count + 1), moved);
                    break;
                default: p.TimelineEntries.Add(entries[a]); break;
            }

            var plain = Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p));
        }
    }

    // One element added to a long list costs the document a piece per run, not a placeholder per element; whole runs at
    // its end are joined JoinFanIn at a time (sixty-fifth session), so 1,000 entries are a few dozen pieces at most.
    [Fact]
    public void ALongTimeline_IsWrittenARunAtATime()
    {
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 1_000; i++)
        {
            p.TimelineEntries.Add(new TimelineEntry($"t{i}", "product.viewed", "web", Start.AddMinutes(i), null));
            _ = ProfileSerializer.SerializeShared(p); // written one commit at a time, as the engine does
        }

        var before = ProfileSerializer.SerializeShared(p).Shared!;
        p.TimelineEntries.RemoveAt(0); // the oldest trimmed
        p.TimelineEntries.Add(new TimelineEntry("t-new", "order.placed", "web", Start.AddDays(1), null));
        var after = ProfileSerializer.SerializeShared(p).Shared!;

        Assert.Equal(Plain(p), after.ToArray());
        Assert.InRange(after.Elements.Count, 2, JoinedRunsProperties.MostPieces(1_000));
        Assert.True(Arrays(after).Intersect(Arrays(before), ReferenceEqualityComparer.Instance).Count() >= after.Elements.Count - 2); // all but the ends shared
    }

    // The segment rule history keeps each type's events in runs: late events inserted among older ones, an order's
    // later event replacing its entry (the list copied), pruning as time passes, merges and reloads must all leave the
    // document byte for byte what writing every event again gives.
    [Property(MaxTest = 200)]
    public void RuleHistoryEvents_AreWrittenAsIfNothingWereKept(NonNegativeInt[] steps)
    {
        var requirements = Sdk.Segments.SegmentCatalog.Create([
            new Sdk.Segments.SegmentDefinition("spent", "spent", new Sdk.Segments.AggregateRule(Sdk.Segments.AggregateFunction.Sum, EventTypes.OrderPlaced,
                new Sdk.Segments.Condition(Sdk.Segments.ConditionOperator.Gte, 100)) { Property = "total", Window = Sdk.Segments.TimeWindow.Last(Fixture.D("P30D")) }),
            new Sdk.Segments.SegmentDefinition("viewer", "viewer", new Sdk.Segments.EventRule(EventTypes.ProductViewed) { Window = Sdk.Segments.TimeWindow.Last(Fixture.D("P20D")) }),
        ]).Requirements;
        var p = new CustomerProfile("p1", Start);
        var now = Start;
        for (var n = 0; n < steps.Length; n++)
        {
            var h = unchecked(((uint)steps[n].Get * 2654435761u) + ((uint)n * 40503u)); // small generated numbers spread out
            var (op, a) = ((int)(h % 6), (int)(h / 6 % 10_000));
            var at = now.AddHours(-((a * 37) % 400)); // late events land among older ones
            switch (op)
            {
                case 0 or 1:
                    p.RuleHistory.Record(Fixture.Ev(EventTypes.ProductViewed, at, id: a % 5 == 0 ? $"v{a}" : $"v-{n}"), requirements);
                    break;
                case 2 or 3: // an order, or a later event of an order already kept (its entry replaced)
                    p.RuleHistory.Record(Fixture.Ev(EventTypes.OrderPlaced, at, new { order_id = $"o{a % 30}", total = a % 90 }, id: $"e{n}"), requirements);
                    break;
                case 4:
                    now = now.AddHours(6 + (a % 30));
                    p.RuleHistory.Prune(now.AddDays(-10), requirements);
                    break;
                default:
                    var other = new Sdk.Segments.RuleHistory();
                    other.Record(Fixture.Ev(EventTypes.ProductViewed, at, id: $"m{n}"), requirements);
                    p.RuleHistory.MergeFrom(other);
                    break;
            }

            var plain = Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p));
            Assert.IsType<WrittenOnceLists<Sdk.Segments.RecordedEvent>>(p.RuleHistory.Events);
            Assert.Equal(p.RuleHistory.Events.Values.Any(l => l.Count >= WrittenJson<Sdk.Segments.RecordedEvent>.MinimumToKeep), shared.Shared is not null);
            if (a % 17 == 0)
            {
                p = ProfileSerializer.Deserialize(plain, p.Version);
                Assert.Equal(plain, ProfileSerializer.Serialize(p));
            }
        }
    }

    // Order conversions are kept too (written once per conversion): orders placed, sent again with another total, returned
    // by amount, credited to a journey and its variant, merged from another profile and trimmed as time passes replace a
    // conversion, never change one in place, so the document is what writing every conversion again gives.
    [Property(MaxTest = 200)]
    public void OrderConversions_AreWrittenAsIfNothingWereKept(NonNegativeInt[] steps)
    {
        var options = new Sdk.Measurement.MeasurementOptions();
        var p = new CustomerProfile("p1", Start);
        var now = Start;
        for (var n = 0; n < steps.Length; n++)
        {
            var h = unchecked(((uint)steps[n].Get * 2654435761u) + ((uint)n * 40503u)); // small generated numbers spread out
            var (op, a) = ((int)(h % 6), (int)(h / 6 % 10_000));
            var order = $"o{a % 25}";
            switch (op)
            {
                case 0 or 1: // a new order, or one sent again with another total
                    var placed = Fixture.Ev(EventTypes.OrderPlaced, now, new { order_id = order, total = 10 + (a % 90), currency = "GBP" }, id: $"e{n}");
                    Sdk.Measurement.MeasurementRecorder.OnEvent(p, placed, now, options, "GBP");
                    if (a % 3 == 0)
                    {
                        Sdk.Measurement.MeasurementRecorder.JourneyRevenue(p, "j1", a % 2 == 0 ? "A" : null, placed, now, options, "GBP");
                    }

                    break;
                case 2: // a return by amount
                    Sdk.Measurement.MeasurementRecorder.OnEvent(p, Fixture.Ev(EventTypes.OrderReturned, now, new { order_id = order, total = 1 + (a % 9), currency = "GBP" }, id: $"r{n}"), now, options, "GBP");
                    break;
                case 3: // another profile with its own conversions (one of them the same order) merged in
                    var other = new CustomerProfile($"p{n}", Start);
                    Sdk.Measurement.MeasurementRecorder.OnEvent(other, Fixture.Ev(EventTypes.OrderPlaced, now, new { order_id = order, total = 5 + (a % 40), currency = "GBP" }, id: $"m{n}"), now, options, "GBP");
                    Sdk.Measurement.MeasurementRecorder.Merge(p, other, options);
                    break;
                case 4: // time passes: conversions past their retention are trimmed at the next event
                    now = now.AddDays(1 + (a % 12));
                    Sdk.Measurement.MeasurementRecorder.OnEvent(p, Fixture.Ev(EventTypes.ProductViewed, now, id: $"v{n}"), now, options, "GBP");
                    break;
                default:
                    now = now.AddHours(1 + (a % 20));
                    break;
            }

            var plain = Plain(p);
            var shared = ProfileSerializer.SerializeShared(p);
            Assert.Equal(plain, shared.Bytes ?? shared.Shared!.ToArray());
            Assert.Equal(plain, ProfileSerializer.Serialize(p));
            Assert.Equal(p.OrderConversions.Count >= WrittenJson<Sdk.Measurement.OrderConversion>.MinimumToKeep, shared.Shared is not null); // nothing else here is kept
            if (a % 13 == 0)
            {
                p = ProfileSerializer.Deserialize(plain, p.Version);
                Assert.IsType<WrittenOnceDictionary<Sdk.Measurement.OrderConversion>>(p.OrderConversions);
                Assert.Equal(plain, ProfileSerializer.Serialize(p));
            }
        }
    }

    // A late event lands inside a kept run of the rule history: the run is reused up to it and after it, never across it.
    [Fact]
    public void ALateEventInTheRuleHistory_IsWrittenInItsPlace()
    {
        var requirements = Sdk.Segments.SegmentCatalog.Create([
            new Sdk.Segments.SegmentDefinition("viewer", "viewer", new Sdk.Segments.EventRule(EventTypes.ProductViewed) { Window = Sdk.Segments.TimeWindow.Last(Fixture.D("P20D")) }),
        ]).Requirements;
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < 40; i++)
        {
            p.RuleHistory.Record(Fixture.Ev(EventTypes.ProductViewed, Start.AddHours(i), id: $"v{i}"), requirements);
            _ = ProfileSerializer.SerializeShared(p);
        }

        var before = ProfileSerializer.SerializeShared(p).Shared!;
        p.RuleHistory.Record(Fixture.Ev(EventTypes.ProductViewed, Start.AddHours(5.5), id: "late"), requirements);
        var after = ProfileSerializer.SerializeShared(p).Shared!;

        Assert.Equal(Plain(p), after.ToArray());
        Assert.Equal(Plain(p), ProfileSerializer.Serialize(p));
        Assert.True(Arrays(after).Intersect(Arrays(before), ReferenceEqualityComparer.Instance).Any()); // the runs around it are shared
    }

    internal static byte[] Plain(CustomerProfile p)
    {
        var (timeline, orders, touches, cart, wishlist) = (p.TimelineEntries, p.Orders, p.Touches, p.CartOps, p.WishlistOps);
        var (history, conversions, returns, tallies) = (p.RuleHistory.Events, p.OrderConversions, p.Returns, p.Tallies);
        p.OrderConversions = new WrittenOnceDictionary<Sdk.Measurement.OrderConversion>(conversions, keep: false);
        p.RuleHistory.Events = history.ToDictionary(kv => kv.Key, kv => kv.Value.ToList(), StringComparer.Ordinal);
        p.TimelineEntries = [.. timeline];
        p.Orders = new WrittenOnceDictionary<OrderFact>(orders, keep: false);
        p.Returns = new WrittenOnceDictionary<OrderFact>(returns, keep: false);
        p.Tallies = new WrittenOnceDictionary<OrderFact>(tallies, keep: false);
        p.Touches = [.. touches];
        p.CartOps = cart.ToDictionary(kv => kv.Key, kv => kv.Value.ToList(), StringComparer.Ordinal);
        p.WishlistOps = wishlist.ToDictionary(kv => kv.Key, kv => kv.Value.ToList(), StringComparer.Ordinal);
        var (cancelled, keys) = (p.CancelledOrders, p.MessageKeys);
        p.MessageKeys = [.. keys];
        p.CancelledOrders = [];
        foreach (var c in cancelled)
        {
            p.CancelledOrders.Add(c);
        }

        try
        {
            return ProfileSerializer.Serialize(p);
        }
        finally
        {
            (p.CancelledOrders, p.MessageKeys) = (cancelled, keys);
            (p.TimelineEntries, p.Orders, p.Touches, p.CartOps, p.WishlistOps) = (timeline, orders, touches, cart, wishlist);
            p.RuleHistory.Events = history;
            (p.OrderConversions, p.Returns, p.Tallies) = (conversions, returns, tallies);
        }
    }

    /// <summary>The arrays a shared document's pieces lie in (a piece is a whole kept array, or a stretch of a kept run).</summary>
    internal static IEnumerable<byte[]> Arrays(Storage.SharedDocument shared) =>
        shared.Elements.Select(e => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(e, out var segment) ? segment.Array! : throw new InvalidOperationException("A piece not on an array."));
}
