using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of session 57 (see docs/design-notes.md, "Review of session 57"): order statistics moved in place by an order
/// sent again, cancelled orders kept as written, distinct keys of objects and lists.
/// </summary>
public sealed class ReviewSession57Tests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    private static string Statistics(ProfileStatistics s) => JsonSerializer.Serialize(s);

    // The statistics a walk of her orders and returns gives: both copied in their order onto a fresh profile, recomputed.
    private static string Walked(CustomerProfile p, string? shopCurrency)
    {
        var copy = new CustomerProfile("copy", Start);
        foreach (var (key, order) in p.Orders)
        {
            copy.Orders[key] = order;
        }

        foreach (var (key, r) in p.Returns)
        {
            copy.Returns[key] = r;
        }

        ProfileFacts.RecomputeOrders(copy, shopCurrency);
        ProfileFacts.RecomputeReturns(copy, shopCurrency);
        ProfileFacts.Headline(copy.Statistics, shopCurrency);
        return Statistics(copy.Statistics);
    }

    // ---- (a) an order sent again moves the statistics in place ----

    // The in-place step checked the order's old and new totals and the currency's sum, not the other orders: a huge order
    // and its negative (a test order and its reversal sent as orders) leave a small, "exact" sum, but the walk's partial
    // sum with the huge one had to round the 2.05 after it (30 digits) to 2.0. Taking 2.05 out and putting 2.15 in gave
    // 2.10; a walk gives 2.2. The statistics were not what a walk writes (nor the right number).
    [Fact]
    public void AnUpdateInPlace_AfterAHugeOrderRoundedTheSum_IsWhatAWalkGives()
    {
        var p = new CustomerProfile("p", Start);
        ProfileFacts.ApplyOrder(p, "order:a", 5_000_000_000_000_000_000_000_000_000m, "GBP", Start, "a", null);
        ProfileFacts.ApplyOrder(p, "order:d", 2.05m, "GBP", Start.AddMinutes(1), "d1", null);
        ProfileFacts.ApplyOrder(p, "order:b", -5_000_000_000_000_000_000_000_000_000m, "GBP", Start.AddMinutes(2), "b", null);
        Assert.Equal(Walked(p, null), Statistics(p.Statistics));

        ProfileFacts.ApplyOrder(p, "order:d", 2.15m, "GBP", Start.AddMinutes(3), "d2", null);
        Assert.Equal(Walked(p, null), Statistics(p.Statistics));
    }

    // The stored document left out a total of 0.00 (equal to 0, a default) and read it back as 0, while her sum kept the
    // scale it gave (1.00): after a reload, the order sent again moved 1.00 to 2.00 in place where a walk of her reloaded
    // orders gives 2 (before session 57 every order sent again was walked, and the sum came back to 2). A zero with
    // decimals is written now, so a reload gives back what was stored.
    [Fact]
    public void AnUpdateInPlace_AfterAReload_OfAnOrderOfZeroWithDecimals_IsWhatAWalkGives()
    {
        var p = new CustomerProfile("p", Start);
        ProfileFacts.ApplyOrder(p, "order:a", 0.00m, "GBP", Start, "a", null);
        ProfileFacts.ApplyOrder(p, "order:b", 1m, "GBP", Start.AddMinutes(1), "b1", null);
        p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);
        Assert.Equal(2, p.Orders["order:a"].Total.Scale);

        ProfileFacts.ApplyOrder(p, "order:b", 2m, "GBP", Start.AddMinutes(2), "b2", null);
        Assert.Equal(Walked(p, null), Statistics(p.Statistics));
        Assert.Equal("2.00", p.Statistics.TotalSpent.ToString(CultureInfo.InvariantCulture));
    }

    // Totals of every scale from 0 to 28, negatives, a negative zero, huge ones and their negatives.
    private static readonly decimal[] Totals =
    [
        0m, 1m, 10.5m, 10.50m, 2.05m, 2.15m, -2.5m, 99.99m, 5.000m, 3.00000001m, 7.0000000001m,
        0.0000000000000000000000000001m, 1_000_000_000_000_000_000m, -1_000_000_000_000_000_000m, 123456789012345678.12345678m,
        5_000_000_000_000_000_000_000_000_000m, -5_000_000_000_000_000_000_000_000_000m, decimal.Negate(0.00m), 79_000_000_000_000_000_000m,
    ];

    private static readonly string?[] Currencies = ["GBP", "EUR", null];

    // Every sequence of placements, orders sent again (before, at or after their time), returns of them (before or after
    // them, naming a currency or not), and reloads from the stored document gives the statistics a walk gives, byte for
    // byte (decimal scale included), with a shop currency or none.
    [Property(MaxTest = 1000)]
    public void OrderStatistics_AfterAnySequence_AreWhatAWalkGives_ByteForByte(NonNegativeInt[] steps, bool shopCurrency)
    {
        var shop = shopCurrency ? "GBP" : null;
        var p = new CustomerProfile("p", Start);
        var n = 0;
        foreach (var step in steps)
        {
            n++;
            var h = unchecked((uint)((step.Get * 2654435761L) + (n * 40503L)));
            var k = h % 5;
            var seen = p.Orders.Count + p.Returns.Count > 0; // a profile no order or return reached has no headline yet
            var total = Totals[(h >> 3) % Totals.Length];
            var currency = (h >> 8) % 4 == 0 ? Currencies[(h >> 11) % 3] : Currencies[k % 3];
            var at = Start.AddMinutes((h >> 14) % 6 * 10);
            switch ((h >> 18) % 8)
            {
                case 0:
                    try
                    {
                        ProfileFacts.ApplyReturn(p, $"r:{k}:{(h >> 22) % 2}", Math.Abs(total) % 100, (h >> 24) % 2 == 0 ? null : currency, $"order:{k}", at, $"e{n:D4}", shop);
                    }
                    catch (OverflowException)
                    {
                        return;
                    }

                    break;
                case 1:
                    var bytes = ProfileSerializer.Serialize(p);
                    p = ProfileSerializer.Deserialize(bytes, n);
                    if (!seen)
                    {
                        continue;
                    }

                    break;
                default:
                    try
                    {
                        ProfileFacts.ApplyOrder(p, $"order:{k}", total, currency, at, $"e{n:D4}", shop);
                    }
                    catch (OverflowException)
                    {
                        return; // a sum beyond decimal's range: the event is refused (checked), nothing to compare
                    }

                    break;
            }

            Assert.Equal(Walked(p, shop), Statistics(p.Statistics));
        }
    }

    // ---- (c) distinct keys of objects and lists ----

    private static RuleValue Value(string json) => RuleValue.FromElement(JsonDocument.Parse(json).RootElement.Clone());

    // Different values never share a key, whatever their text looks like: a string spelling a key, quotes and delimiters
    // inside names and strings, "1" against 1, an empty object against null, a list against its joined text.
    [Theory]
    [InlineData("""{"a": "1"}""", """{"a": 1}""")]
    [InlineData("""{"a": {}}""", """{}""")]
    [InlineData("""{"a": {}}""", """{"a": []}""")]
    [InlineData("""{"a": [null]}""", """{"a": []}""")]
    [InlineData("""{"a": ["x,y"]}""", """{"a": ["x", "y"]}""")]
    [InlineData("""{"a": "x\",\"b\":\"y"}""", """{"a": "x", "b": "y"}""")]
    [InlineData("""{"a\":s\"x\",\"b": "y"}""", """{"a": "x", "b": "y"}""")]
    [InlineData("""{"a": "n:1"}""", """{"a": 1}""")]
    [InlineData("""{"a": "b:1"}""", """{"a": true}""")]
    [InlineData("""{"a": {"b": 1}}""", """{"a.b": 1}""")]
    [InlineData("""[1, 2]""", """[[1, 2]]""")]
    [InlineData("""["{}"]""", """[{}]""")]
    [InlineData("""{"a": 1, "b": 2}""", """{"a": 2, "b": 1}""")]
    public void DifferentValues_HaveDifferentKeys(string a, string b)
    {
        Assert.NotEqual(Value(a).DistinctKey(), Value(b).DistinctKey());
        Assert.False(RuleValue.SameValue(Value(a), Value(b)));
    }

    // Objects equal member by member, in any order, a null member not there, numbers in any spelling: one key.
    [Theory]
    [InlineData("""{"a": 1, "b": [1.0, "x"]}""", """{"b": [1, "x"], "a": 1.00}""")]
    [InlineData("""{"a": null, "b": {}}""", """{"b": {"c": null}}""")]
    public void EqualValues_HaveOneKey(string a, string b)
    {
        Assert.Equal(Value(a).DistinctKey(), Value(b).DistinctKey());
        Assert.True(RuleValue.SameValue(Value(a), Value(b)));
    }

    private static readonly string[] Texts = ["x", "1", "{}", "[]", "a\"b", ",", "s:x", "n:1", "", "é"];

    // A value of nested objects and lists, its bits spread over each choice; and its canonical text (members sorted, null
    // members dropped, numbers without trailing zeros) written alongside, independently of the engine's key.
    private static JsonNode? Tree(ref uint h, int depth)
    {
        h = unchecked((h * 2654435761u) + 40503u);
        switch ((h >> 7) % (depth >= 4 ? 4u : 6u))
        {
            case 0:
                return null;
            case 1:
                return JsonValue.Create(((h >> 11) % 4) switch { 0 => 1m, 1 => 1.0m, 2 => -2.50m, _ => 0m });
            case 2:
                return JsonValue.Create(Texts[(h >> 11) % Texts.Length]);
            case 3:
                return JsonValue.Create((h >> 11) % 2 == 0);
            case 4:
                var list = new JsonArray();
                for (var i = 0; i < (h >> 13) % 3; i++)
                {
                    list.Add(Tree(ref h, depth + 1));
                }

                return list;
            default:
                var o = new JsonObject();
                var count = (h >> 13) % 3;
                for (var i = 0; i < count; i++)
                {
                    o[Texts[(h >> (16 + (i * 4))) % Texts.Length]] = Tree(ref h, depth + 1);
                }

                return o;
        }
    }

    private static string Canonical(JsonNode? n) => n switch
    {
        null => "null",
        JsonObject o => "{" + string.Join(",", o.Where(m => m.Value is not null).OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => JsonSerializer.Serialize(m.Key) + ":" + Canonical(m.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        JsonValue v when v.TryGetValue<decimal>(out var d) => "n" + (d / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => "s" + JsonSerializer.Serialize(n.GetValue<string>()),
    };

    // Two objects (or lists) share a key exactly when their canonical texts are equal, read from an event (a JsonElement)
    // or a trait (a JsonObject) alike.
    [Property(MaxTest = 600)]
    public void TwoValues_ShareAKey_ExactlyWhenTheyAreEqual(NonNegativeInt a, NonNegativeInt b, bool asElements)
    {
        uint ha = unchecked((uint)(a.Get * 2654435761L)), hb = unchecked((uint)((b.Get * 2654435761L) + 40503L));
        var x = new JsonObject { ["v"] = Tree(ref ha, 0) };
        var y = new JsonObject { ["v"] = Tree(ref hb, 0) };
        RuleValue Of(JsonObject o) => asElements ? Value(o.ToJsonString()) : RuleValue.FromNode(o);
        var equal = Canonical(x) == Canonical(y);
        Assert.Equal(equal, Of(x).DistinctKey() == Of(y).DistinctKey());
        Assert.Equal(equal, RuleValue.SameValue(Of(x), Of(y)));
    }

    // ---- (b) cancelled orders keep their written array until the next add ----

    private static CustomerEvent Cancelled(Identifier who, string order, int i) => new()
    {
        Id = $"cancel-{who.Value}-{i}", Type = EventTypes.OrderCancelled, Timestamp = Start.AddMinutes(i), Identifiers = [who],
        Properties = JsonData.From(new { order_id = order }),
    };

    // Past the size kept (16), through cancellations sent again, new ones, and a merge that brings the other side's: a
    // document a load returned stays as loaded, and each stored document is what a fresh write of it gives (sorted, with
    // ids that need escaping, a quote and a non-ASCII letter).
    [Fact]
    public async Task CancelledOrdersKeptAsWritten_ThroughResendsAndAMerge_LeaveLoadedDocumentsAsLoaded()
    {
        var store = new Storage.InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), store);
        var (ann, cookie) = (Identifier.CustomerId("ann"), Identifier.AnonymousId("anon-1"));
        for (var i = 0; i < 20; i++)
        {
            await engine.TrackAsync(Cancelled(ann, $"o-{(i * 7) % 23}-é\"", i));
            await engine.TrackAsync(Cancelled(cookie, $"o-{i % 5}-anon", 100 + i));
        }

        var id = (await store.ResolveIdentifiersAsync([ann]))[ann];
        var loaded = (await store.LoadProfileAsync(id))!;
        var asLoaded = loaded.Document.ToArray();
        var fresh = ProfileSerializer.Serialize(ProfileSerializer.Deserialize(loaded));
        Assert.Equal(asLoaded, fresh);

        await engine.TrackAsync(Cancelled(ann, "o-0-é\"", 200)); // again: nothing added
        await engine.TrackAsync(Cancelled(ann, "o-new", 201));
        await engine.TrackAsync(new CustomerEvent { Id = "login", Type = "user.logged_in", Timestamp = Start.AddMinutes(300), Identifiers = [ann, cookie] });
        await engine.TrackAsync(Cancelled(ann, "o-1-anon", 301)); // the merged side's: nothing added

        Assert.Equal(asLoaded, loaded.Document.ToArray());
        var now = (await store.LoadProfileAsync(id))!;
        var profile = ProfileSerializer.Deserialize(now);
        Assert.Equal(20 + 1 + 5, profile.Statistics.CancelledOrderCount);
        Assert.Equal(now.Document.ToArray(), ProfileSerializer.Serialize(ProfileSerializer.Deserialize(now)));
        Assert.Equal(ProfileSerializer.Serialize(profile), ProfileSerializer.Serialize((await engine.GetProfileAsync(ann))!));
    }
}
