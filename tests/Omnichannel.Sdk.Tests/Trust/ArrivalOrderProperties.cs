using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>One generated event of one person: what it is, when it happened, which of her identifiers it carries.</summary>
/// <param name="Kind">Which kind of event (see <see cref="ArrivalOrderProperties.Build"/>).</param>
/// <param name="Variant">Picks values within the kind (product, topic, path, amount…).</param>
/// <param name="Minute">Event time in minutes after the start (small, so equal timestamps are common).</param>
/// <param name="IdentifierMask">Which identifiers it carries (bit i = identifier i; never zero).</param>
/// <param name="ArrivalKey">Sorts the events into their arrival order.</param>
public sealed record PersonEvent(int Kind, int Variant, int Minute, int IdentifierMask, int ArrivalKey);

/// <summary>FsCheck generators: a person with 2–4 identifiers and a stream of her events.</summary>
public static class PersonEventArbitrary
{
    public static Arbitrary<(int Identifiers, PersonEvent[] Events)> Streams() =>
        (from identifiers in Gen.Choose(2, 4)
         from events in Gen.ListOf(
                 from kind in Gen.Choose(0, 17)
                 from variant in Gen.Choose(0, 11)
                 from minute in Gen.Choose(0, 30)
                 from mask in Gen.Choose(1, (1 << identifiers) - 1)
                 from arrival in Gen.Choose(0, 1_000_000)
                 select new PersonEvent(kind, variant, minute, mask, arrival))
             .Select(l => l.Take(30).ToArray())
         select (identifiers, events))
        .ToArbitrary();
}

/// <summary>
/// Issue "One person, one truth", section 2: the same events give the same person in any arrival order. Events spread
/// over 2–4 of her identifiers, delivered in random order (merging as identifiers meet), end in a profile whose public
/// export equals the one built from the same events in time order with every identifier on every event. Both hosts run
/// live segments (windows, traits, reachability, cart statistics, aggregates, a composite): the memberships must agree;
/// the transitions on the way are processing history and are left out.
/// </summary>
public sealed class ArrivalOrderProperties
{
    private static readonly Identifier[] Person =
    [
        Identifier.CustomerId("c-42"),
        Identifier.Email("ann@example.com"),
        Identifier.AnonymousId("cookie-1"),
        Identifier.AnonymousId("cookie-2"),
    ];

    [Property(Arbitrary = [typeof(PersonEventArbitrary)], MaxTest = 100)]
    public void AnyArrivalOrder_GivesTheTimeOrderProfile((int Identifiers, PersonEvent[] Events) stream) =>
        Run(stream.Identifiers, stream.Events).GetAwaiter().GetResult();

    /// <summary>
    /// The identifiers are linked at any point of the arrival order (before, between or after her events), not only
    /// last: events after the link resolve straight to the one profile, events before it merge. Cancellations, hard
    /// bounces, complaints and redeemed points are in the streams too.
    /// </summary>
    [Property(Arbitrary = [typeof(PersonEventArbitrary)], MaxTest = 100)]
    public void AnyArrivalOrder_WithTheLinkAnywhere_GivesTheTimeOrderProfile((int Identifiers, PersonEvent[] Events) stream) =>
        Run(stream.Identifiers, stream.Events, linkAt: stream.Events.Length == 0 ? 0 : stream.Events.Sum(e => e.Variant + e.Minute) % (stream.Events.Length + 1)).GetAwaiter().GetResult();

    [Fact]
    public async Task AKnownHardCase_Converges()
    {
        // Remove before add (arrival), an order between, ties on time, and a leaf/object flip on one path.
        await Run(3,
        [
            new PersonEvent(2, 1, 10, 0b001, 1),
            new PersonEvent(1, 1, 5, 0b010, 2),
            new PersonEvent(4, 3, 7, 0b100, 3),
            new PersonEvent(0, 2, 7, 0b010, 4),
            new PersonEvent(0, 5, 7, 0b001, 5),
            new PersonEvent(6, 1, 9, 0b100, 6),
            new PersonEvent(7, 0, 3, 0b001, 7),
        ]);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 1)]
    public async Task OneMessagesOutcomes_UnderTwoIdentifiers_KeepTheirEarliestInstants_WhenTheProfilesMerge(int firstArrival, int secondArrival)
    {
        // Found by the property: an unsubscribe from one message under each identifier (09:28 and 09:30), on two
        // profiles until the link merged them, kept the surviving profile's instant instead of the earliest.
        await Run(2,
        [
            new PersonEvent(9, 7, 28, 0b10, firstArrival),
            new PersonEvent(9, 7, 30, 0b01, secondArrival),
            new PersonEvent(8, 11, 22, 0b10, 3),
            new PersonEvent(8, 11, 25, 0b01, 4),
        ]);
    }

    [Fact]
    public async Task TwoCancellations_ArrivingInEitherOrder_GiveTheSameDocument()
    {
        // Found by the property once cancellations were generated: the set of cancelled orders was written in insertion
        // order, so the stored document and the export depended on arrival order.
        await Run(2,
        [
            new PersonEvent(14, 0, 6, 0b01, 2),
            new PersonEvent(14, 1, 10, 0b10, 1),
            new PersonEvent(5, 0, 4, 0b01, 3),
            new PersonEvent(5, 1, 2, 0b10, 4),
        ], linkAt: 0);
    }

    private static async Task Run(int identifierCount, PersonEvent[] events, int? linkAt = null)
    {
        var ids = Person[..identifierCount];
        var start = OmnichannelTestHost.DefaultStart - TimeSpan.FromDays(2);
        var built = events.Select((e, i) => (Spec: e, Event: Build(e, i, start))).ToList();
        var link = new CustomerEvent
        {
            Id = "link",
            Type = "user.logged_in",
            Timestamp = start + TimeSpan.FromMinutes(60),
            Identifiers = ids,
        };

        // Expected: time order, every identifier on every event.
        await using var expectedHost = OmnichannelTestHost.Create(o => { o.Partitions = 1; AddSegments(o); });
        foreach (var (_, e) in built.OrderBy(b => b.Event.Timestamp).ThenBy(b => b.Event.Id, StringComparer.Ordinal))
        {
            await expectedHost.TrackAsync(e with { Identifiers = ids });
        }

        await expectedHost.TrackAsync(link);

        // Actual: arrival order, each event with its own identifiers, in a batch across partitions.
        await using var actualHost = OmnichannelTestHost.Create(o => { o.Partitions = 3; AddSegments(o); });
        var arriving = built
            .OrderBy(b => b.Spec.ArrivalKey)
            .Select(b => b.Event with { Identifiers = [.. ids.Where((_, i) => (b.Spec.IdentifierMask & (1 << i)) != 0)] })
            .ToList();
        var at = linkAt ?? arriving.Count;
        foreach (var r in await actualHost.Client.TrackBatchAsync(arriving.Take(at)))
        {
            Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
        }

        await actualHost.TrackAsync(link);
        foreach (var r in await actualHost.Client.TrackBatchAsync(arriving.Skip(at)))
        {
            Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
        }

        var expected = Comparable(await expectedHost.Client.ExportProfileAsync(ids[0]));
        var actual = Comparable(await actualHost.Client.ExportProfileAsync(ids[0]));
        Assert.True(expected == actual, $"in time order:\n{expected}\nas arrived:\n{actual}");
    }

    private static void AddSegments(OmnichannelOptions o)
    {
        foreach (var json in new[]
        {
            """{"id": "buyers", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""",
            """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
            """{"id": "reachable", "name": "x", "rule": {"reachable": "email", "topic": "newsletter"}}""",
            """{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""",
            """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 25}}""",
            """{"id": "both", "name": "x", "rule": {"all": [{"segment": "buyers"}, {"not": {"segment": "carters"}}]}}""",
        })
        {
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse(json).Value!);
        }
    }

    // The export without what depends on processing rather than on the events: ids, processing times, merge records.
    internal static string Comparable(JsonObject? export)
    {
        Assert.NotNull(export);
        export.Remove("id");
        export.Remove("createdAt");
        export.Remove("merges");
        export.Remove("conflicts");

        // Which event of an order converted it, and the credit its touches got, is decided when it is processed (as in
        // the aggregates): measurement bookkeeping, not the profile's state.
        export["internal"]?.AsObject().Remove("orderConversions");

        // Segment transitions happen when events are processed (a live segment enters and exits as they arrive); the
        // memberships they end in are a function of the events.
        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray().Where(t => t!["type"]!.GetValue<string>() is not ("segment.entered" or "segment.exited")).Select(t => t!.DeepClone())]);
        export["segments"] = string.Join(",", export["segments"]!.AsArray().Select(m => m!["segmentId"]?.GetValue<string>() ?? m.ToJsonString()).Order(StringComparer.Ordinal));
        var identifiers = export["identifiers"]!.AsArray()
            .Select(i => i!["type"]!.GetValue<string>() + ":" + i["value"]!.GetValue<string>())
            .Order(StringComparer.Ordinal);
        export["identifiers"] = string.Join(",", identifiers);
        return Canonical(export)!.ToJsonString();
    }

    // JSON objects are unordered: compare with keys sorted.
    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };

    internal static CustomerEvent Build(PersonEvent s, int index, DateTimeOffset start)
    {
        string[] products = ["sku-1", "sku-2", "sku-9"];
        string?[] currencies = ["GBP", "EUR", null];
        string?[] topics = [null, "newsletter", "offers"];
        var v = s.Variant;
        var (type, properties, traits, context) = s.Kind switch
        {
            0 => ("user.updated", (object?)null, v switch
            {
                0 => new { tier = "silver" },
                1 => new { tier = "gold" },
                2 => (object)new { address = "unknown" },
                3 => new { address = new { city = "Leeds" } },
                4 => new { address = new { zip = "LS1" } },
                5 => new { address = (string?)null },
                6 => new { nick = new { first = "A" } },
                7 => new { nick = "annie" },
                _ => new { tier = (string?)null },
            }, (EventContext?)null),
            1 => (EventTypes.CartItemAdded, new { product_id = products[v % 3], quantity = 1 + (v % 3), name = "P" + v }, null, null),
            2 => (EventTypes.CartItemRemoved, v % 2 == 0 ? new { product_id = products[v % 3] } : (object)new { product_id = products[v % 3], quantity = 1 }, null, null),
            3 => (EventTypes.WishlistItemAdded, new { product_id = products[v % 3], name = "W" + v }, null, null),
            4 => (EventTypes.WishlistItemRemoved, new { product_id = products[v % 3] }, null, null),
            5 or 6 => (EventTypes.OrderPlaced, new { order_id = "o" + (v % 4), total = 10 + v, currency = currencies[v % 3] }, null, null),
            7 => (EventTypes.ConsentChanged, new { channel = "email", topic = topics[v % 3], granted = v % 2 == 0 }, null, null),
            8 => (EventTypes.NewsletterSubscribed, new { channel = "email", topic = "newsletter" }, null, null),
            9 => (EventTypes.MessageUnsubscribed, new { channel = "email", message_id = "m" + v }, null, null),
            10 => ("page.viewed", null, null, new EventContext { TimeZone = v % 2 == 0 ? "Europe/London" : "America/New_York", Locale = v % 3 == 0 ? "en-GB" : "fr-FR" }),
            11 => (EventTypes.PreferencesUpdated, (v % 4) switch
            {
                0 or 2 => new { preferred_channels = new[] { v % 4 == 0 ? "sms" : "email" } },
                1 => v % 8 == 1 ? (object)new { max_messages = 1 + v, period = "P7D" } : new { max_messages = 1 + v },
                _ => new { period = v % 8 == 3 ? "P1D" : "P30D" },
            }, null, null),
            12 => (EventTypes.LoyaltyPointsEarned, new { points = v * 10 }, null, null),
            13 => (EventTypes.OrderReturned, new { order_id = "o" + (v % 4), total = v, currency = currencies[v % 3] }, null, null),
            14 => (EventTypes.OrderCancelled, new { order_id = "o" + (v % 4) }, null, null),
            15 => (EventTypes.MessageBounced, new { channel = v % 2 == 0 ? "email" : "Email", address = v % 3 == 0 ? "ANN@example.com" : "ann@example.com", bounce_type = v % 4 == 0 ? "soft" : "hard", message_id = "m" + v }, null, null),
            16 => (EventTypes.MessageComplained, new { channel = "email", message_id = "m" + v }, null, null),
            _ => (EventTypes.LoyaltyPointsRedeemed, new { points = v * 3 }, null, null),
        };

        return new CustomerEvent
        {
            Id = $"e-{index:D3}",
            Type = type,
            // The same instant is written with different offsets (an app in Kathmandu, a shop server in São Paulo…).
            Timestamp = (start + TimeSpan.FromMinutes(s.Minute)).ToOffset(TimeSpan.FromMinutes(new[] { 0, 345, -180, 840 }[(index + s.ArrivalKey) % 4])),
            Identifiers = [Person[0]],
            Channel = index % 3 == 0 ? ChannelNames.App : ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = context,
        };
    }
}
