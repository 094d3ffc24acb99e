using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Shared;
using Omnichannel.Sdk.Tests.Templates;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U104: inputs that crash or stall the engine, or lose acknowledged work, found by fuzzing the public API —
/// definitions whose bad parts repeat (checked by the work they cost as they grow, never by the clock), events whose
/// well-known properties hold hostile values beside valid events, and templates nested and looped past their limits. Each
/// case is spread from one FsCheck int by SplitMix64's finaliser (deterministic across processes, so a failing int replays).
/// </summary>
public sealed class AuditU104Properties
{
    private static Random Seeded(int step, int salt) => new((int)(AuditU95Tests.Spread(step, salt) & int.MaxValue));

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "…";

    // ---- definitions: a bad or good part repeated n times costs work linear in n ----

    // A part of a segment rule or a journey, valid or not, that a definition may hold many times (i: its index).
    private static readonly Func<int, string>[] SegmentParts =
    [
        i => "{\"trait\":1,\"op\":\"eq\",\"value\":1}",
        i => "{\"trait\":\"t" + i + "\",\"op\":\"eq\",\"value\":1}",
        i => "{\"trait\":\"t\",\"op\":\"zz\",\"value\":1}",
        i => "{\"trait\":\"t\",\"op\":\"eq\",\"value\":1,\"u" + i + "\":1}",
        i => "{\"event\":1,\"within\":\"P1D\"}",
        i => "{\"event\":\"e\",\"where\":[{\"property\":[],\"op\":\"eq\",\"value\":1}],\"within\":\"PX\"}",
        i => "{\"aggregate\":\"sum\",\"event\":\"order.placed\",\"property\":{},\"op\":\"gt\",\"value\":\"x\"}",
        i => "{\"not\":{\"stat\":\"nope\",\"op\":\"gt\",\"value\":1}}",
        i => "{\"segment\":\"missing-" + i + "\"}",
        i => "{\"trait\":\"t\",\"op\":\"in\",\"value\":[{},[],null]}",
        i => "null",
        i => "{\"all\":[{\"trait\":true},{\"any\":7}]}",
    ];

    private static readonly Func<int, string>[] JourneySteps =
    [
        i => "{\"id\":\"d" + i + "\",\"type\":\"delay\",\"duration\":1}",
        i => "{\"id\":\"d" + i + "\",\"type\":\"delay\",\"duration\":\"PT1H\"}",
        i => "{\"id\":\"b" + i + "\",\"type\":\"branch\",\"branches\":[{\"condition\":{\"trait\":1},\"next\":\"zz" + i + "\"}],\"else\":\"yy\"}",
        i => "{\"id\":\"s" + i + "\",\"type\":\"send\",\"channels\":[\"pigeon\"],\"template\":7}",
        i => "{\"id\":\"u" + i + "\",\"type\":\"updateProfile\",\"set\":{\"a.b\":{},\"\":1}}",
        i => "{\"id\":\"x\",\"type\":\"exit\"}",
        i => "{\"type\":\"nope\",\"u" + i + "\":[]}",
        i => "7",
    ];

    private static string Segment(Func<int, string> part, int n) =>
        "{\"id\":\"s\",\"name\":\"x\",\"rule\":{\"any\":[" + string.Join(',', Enumerable.Range(0, n).Select(part)) + "]}}";

    private static string Journey(Func<int, string> step, int n) =>
        "{\"id\":\"j\",\"version\":1,\"name\":\"x\",\"trigger\":{\"type\":\"event\",\"event\":\"a\"},\"steps\":[" + string.Join(',', Enumerable.Range(0, n).Select(step)) + "]}";

    // Bytes allocated reading it: the work a definition costs, counted the same on any machine (no clock). A read that
    // throws anything fails the property where it is called.
    private static long AllocatedReading(string json, bool journey)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        if (journey)
        {
            AssertReadOrRefused(JourneyJson.Parse(json), json);
        }
        else
        {
            AssertReadOrRefused(SegmentJson.Parse(json), json);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    internal static void AssertReadOrRefused<T>(ParseResult<T> result, string json)
        where T : class
    {
        if (result.IsValid)
        {
            Assert.NotNull(result.Value);
            return;
        }

        Assert.NotEmpty(result.Errors);
        Assert.All(result.Errors, e =>
        {
            Assert.StartsWith("$", e.Path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(e.Message), Shorten(json));
        });
    }

    /// <summary>
    /// A segment or journey holding one to three kinds of part (valid or not) repeated n times, then eight times as many,
    /// is read or refused with paths, and the second read costs at most sixteen times the first (linear, with slack for
    /// sorting the errors: a quadratic read costs about sixty-four times).
    /// </summary>
    [Property(MaxTest = 25)]
    public void ADefinitionsRepeatedParts_AreReadOrRefusedWithPaths_InWorkLinearInTheirNumber(int step)
    {
        var r = Seeded(step, 1);
        var journey = r.Next(2) == 0;
        var kinds = journey ? JourneySteps : SegmentParts;
        var mix = Enumerable.Range(0, r.Next(1, 4)).Select(_ => kinds[r.Next(kinds.Length)]).ToArray();
        string Part(int i) => mix[i % mix.Length](i);
        var n = journey ? r.Next(60, 120) : r.Next(150, 300); // a journey's eight times as many stay under its 1,000 steps
        string Make(int count) => journey ? Journey(Part, count) : Segment(Part, count);

        _ = AllocatedReading(Make(n), journey); // first use of each code path out of the count
        var small = AllocatedReading(Make(n), journey);
        var large = AllocatedReading(Make(8 * n), journey);
        Assert.True(large <= 16 * small, $"{large:N0} bytes for {8 * n} parts against {small:N0} for {n}: {Shorten(Make(2))}");
    }

    /// <summary>
    /// Found by the property above: every unreadable part was compared with every validator error (a list of paths walked
    /// per error), so a segment of 32,000 unreadable rules (1 MB) took seconds and gigabytes of allocation; and sorting the
    /// errors by path tokenised both paths with a regular expression at every comparison (a journey of 560 bad steps
    /// allocated 63 MB, twenty-three times what 70 did).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ManyUnreadableParts_AreRefusedEachAtItsPath_InWorkLinearInTheirNumber(bool journey)
    {
        string Make(int n) => journey ? Journey(i => JourneySteps[i % 2 == 0 ? 3 : 4](i), n) : Segment(SegmentParts[0], n);
        var n = journey ? 120 : 500; // a journey's eight times as many stay under its 1,000 steps
        _ = AllocatedReading(Make(n), journey);
        var small = AllocatedReading(Make(n), journey);
        var large = AllocatedReading(Make(8 * n), journey);

        Assert.True(large <= 16 * small, $"{large:N0} bytes for {8 * n} parts against {small:N0} for {n}");
        var errors = journey ? JourneyJson.Parse(Make(3)).Errors : SegmentJson.Parse(Make(3)).Errors;
        Assert.StartsWith(journey ? "$.steps[0]." : "$.rule.any[0].trait", errors[0].Path, StringComparison.Ordinal);
    }

    /// <summary>Mutated valid definitions (audit U50's mutator) carrying this round's hostile values are read or refused with paths.</summary>
    [Property(MaxTest = 100)]
    public void AMutatedDefinition_WithThisRoundsHostileValues_IsReadOrRefusedWithPaths(int step)
    {
        var r = Seeded(step, 2);
        var journey = r.Next(2) == 0;
        var json = journey
            ? """{"id":"j","version":1,"name":"x","trigger":{"type":"event","event":"order.placed"},"entry":{"reEntry":"never"},"exit":[{"event":"order.cancelled"}],"steps":[{"id":"d","type":"delay","duration":"PT1H"},{"id":"b","type":"branch","branches":[{"condition":{"trigger":"total","op":"gte","value":50},"next":"s"}],"else":"e"},{"id":"s","type":"send","channels":["email"],"template":"t"},{"id":"e","type":"exit"}]}"""
            : """{"id":"s","name":"x","rule":{"all":[{"trait":"tier","op":"in","value":["vip","gold"]},{"aggregate":"sum","event":"order.placed","property":"total","within":"P30D","op":"gt","value":10},{"event":"cart.item_added","where":[{"property":"price","op":"between","value":[1,9]}],"count":{"op":"gte","value":2},"within":"P7D"}]}}""";
        json = AuditU50JsonMutator.Mutate(json, r);
        json = Hostile.Aggregate(json, (text, h) => r.Next(4) == 0 ? ReplaceOneValue(text, h, r) : text);
        if (journey)
        {
            AssertReadOrRefused(JourneyJson.Parse(json), json);
            AssertReadOrRefused(JourneyJson.ParseMany("[" + json + "," + json + "]"), json);
        }
        else
        {
            AssertReadOrRefused(SegmentJson.Parse(json), json);
            AssertReadOrRefused(SegmentJson.ParseMany("[" + json + "," + json + "]"), json);
        }
    }

    // This round's values, beyond U50's: decimal's edge, numbers past double and text that reads like numbers or times.
    internal static readonly string[] Hostile =
    [
        "79228162514264337593543950336", "-79228162514264337593543950336", "7.9228162514264337593543950335E+28", "1e-400", "-0", "1E+15",
        "1000000000000000.5", "\"NaN\"", "\"-Infinity\"", "\"\\ufeff1\"", "\"2016-12-31T23:59:60Z\"", "\"2026-06-01T11:00:00.1234567891234Z\"",
        "\"0001-01-01T00:00:00+14:00\"", "\"9999-12-31T23:59:59-14:00\"", "\"2026-06-01T11:00:00\"", "\"P1Y2M3W4DT5H6M7.123456789S\"", "\"PT-1H\"",
        "\"\"", "\"   \"", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
    ];

    private static string ReplaceOneValue(string json, string value, Random r)
    {
        // A string or number value after a colon, replaced as text (the mutated document need not parse as JSON any more).
        var colons = Enumerable.Range(0, json.Length).Where(i => json[i] == ':').ToList();
        if (colons.Count == 0)
        {
            return json;
        }

        var at = colons[r.Next(colons.Count)] + 1;
        var end = at;
        if (end < json.Length && json[end] == '"')
        {
            end = json.IndexOf('"', end + 1);
            end = end < 0 ? json.Length : end + 1;
        }
        else
        {
            while (end < json.Length && (char.IsAsciiDigit(json[end]) || json[end] is '-' or '.' or 'e' or 'E' or '+'))
            {
                end++;
            }
        }

        return json[..at] + value + json[end..];
    }

    // ---- events: hostile well-known properties beside valid events ----

    private const string Segments = """
        [
          {"id":"spend","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","within":"P30D","op":"gt","value":10}},
          {"id":"avg-price","name":"x","rule":{"aggregate":"avg","event":"cart.item_added","property":"price","within":"P30D","op":"gte","value":1}},
          {"id":"min-quantity","name":"x","rule":{"aggregate":"min","event":"cart.item_added","property":"quantity","within":"P30D","op":"lt","value":3}},
          {"id":"cart","name":"x","rule":{"stat":"cartValue","op":"gt","value":10}},
          {"id":"points","name":"x","rule":{"stat":"loyaltyPoints","op":"gt","value":10}},
          {"id":"spent","name":"x","rule":{"stat":"totalSpent","op":"between","value":[1,1000]}},
          {"id":"gbp","name":"x","rule":{"event":"order.placed","where":[{"property":"total","op":"gt","value":40},{"property":"currency","op":"eq","value":"GBP"}],"count":{"op":"gte","value":1},"within":"P1D"}}
        ]
        """;

    private static OmnichannelTestHost EventHost() => OmnichannelTestHost.Create(services => services
        .AddOmnichannel(o => o.Delivery.EmailFrom = "Shop <hello@shop.example>")
        .AddSegmentsFromJson(Segments)
        .AddJourneysFromJson("""[{"id":"confirm","version":1,"name":"Confirm","trigger":{"type":"event","event":"order.placed"},"steps":[{"id":"send","type":"send","channels":["email"],"template":"confirm","class":"transactional"}]}]""")
        .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("confirm",
            [TemplateVariant.Email("Order {{ journey.trigger.order_id }} {{ journey.trigger.total | times: 2 }}",
                "<p>{% for i in journey.trigger.items %}{{ i.product_id }} {{ i.price | plus: 1 }} x {{ i.quantity }}{% endfor %} {{ profile.cart | size }}</p>")]))));

    private static readonly string[] EventValues =
    [
        "1e400", "-1e400", "-0", "1e-400", "79228162514264337593543950336", "-79228162514264337593543950336", "\"NaN\"", "\"Infinity\"", "\"\"", "\" \"",
        "\"\\ufeff\"", "{}", "[]", "true", "null", "[[[[1]]]]", "0.0000000000000000000000000001", "1000000000000000", "1000000000000000.5", "-1000000000000000",
        "1000000", "1000001", "0", "-1", "2147483648", "9223372036854775808", "\"12\"", "\"1e400\"", "\"2016-12-31T23:59:60Z\"", "[null]", "[{}]",
        "[{\"product_id\":\"p\",\"quantity\":1e400,\"price\":1e400}]", "[{\"product_id\":{},\"quantity\":\"x\",\"price\":[]}]", "\"ann@example.com\"", "\"+15555550100\"",
        "\"P99999999Y\"", "\"PT0S\"",
    ];

    private static readonly (string Type, string[] Fields)[] WellKnown =
    [
        (EventTypes.OrderPlaced, ["order_id", "total", "currency", "items", "products", "items[0].quantity", "items[0].price", "items[0].product_id", "email", "phone"]),
        (EventTypes.OrderReturned, ["order_id", "return_id", "total", "currency", "items"]),
        (EventTypes.CheckoutStarted, ["total", "currency", "items"]),
        (EventTypes.CartItemAdded, ["product_id", "quantity", "price", "currency"]),
        (EventTypes.CartItemRemoved, ["product_id", "quantity"]),
        (EventTypes.WishlistItemAdded, ["product_id", "price"]),
        (EventTypes.LoyaltyPointsEarned, ["points"]),
        (EventTypes.LoyaltyPointsRedeemed, ["points"]),
        (EventTypes.PreferencesUpdated, ["period", "max_messages"]),
    ];

    private static JsonObject ValidProperties(string type, string order) => type switch
    {
        EventTypes.OrderPlaced => new() { ["order_id"] = order, ["total"] = 42.5, ["currency"] = "GBP", ["items"] = new JsonArray(new JsonObject { ["product_id"] = "p1", ["quantity"] = 2, ["price"] = 21.25 }) },
        EventTypes.OrderReturned => new() { ["order_id"] = order, ["return_id"] = "r-" + order, ["total"] = 10, ["currency"] = "GBP" },
        EventTypes.CheckoutStarted => new() { ["total"] = 10, ["currency"] = "GBP" },
        EventTypes.CartItemAdded => new() { ["product_id"] = "p1", ["quantity"] = 2, ["price"] = 5 },
        EventTypes.CartItemRemoved => new() { ["product_id"] = "p1", ["quantity"] = 1 },
        EventTypes.WishlistItemAdded => new() { ["product_id"] = "p1" },
        EventTypes.LoyaltyPointsEarned or EventTypes.LoyaltyPointsRedeemed => new() { ["points"] = 5 },
        _ => new() { ["max_messages"] = 3 },
    };

    // What the README's event reference says of a value in a field it checks: the field the refusal names, or null when
    // the value is one it takes (or a field it does not check, when either answer is allowed: a field is then optional).
    private static string? Refused(string type, string field, string value)
    {
        decimal? number = decimal.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;
        bool isNull = value == "null";
        bool Amount(decimal max, bool positive) => number is { } x && (positive ? x > 0 : x >= -max) && x <= max;
        return (type, field) switch
        {
            (EventTypes.OrderPlaced or EventTypes.OrderReturned or EventTypes.CheckoutStarted, "total") when !isNull && value[0] != '"' && !Amount(1_000_000_000_000_000m, false) => "properties.total",
            (EventTypes.CartItemAdded, "price") when !isNull && value[0] != '"' && !Amount(1_000_000_000_000_000m, false) => "properties.price",
            (EventTypes.CartItemAdded or EventTypes.CartItemRemoved, "quantity") when !isNull && value[0] != '"' && !Amount(1_000_000m, true) => "properties.quantity",
            (EventTypes.LoyaltyPointsEarned or EventTypes.LoyaltyPointsRedeemed, "points") when isNull || (value[0] != '"' && !Amount(1_000_000_000_000_000m, false)) => "properties.points",
            (EventTypes.CartItemAdded or EventTypes.CartItemRemoved or EventTypes.WishlistItemAdded, "product_id") when value is "null" or "\"\"" or "\" \"" or "{}" or "[]" or "true" => "properties.product_id",
            _ => null,
        };
    }

    /// <summary>
    /// A well-known event whose property holds a hostile value, in a batch between valid events: refused with that
    /// property's path where the README's reference refuses it, answered (accepted, or refused with a path) otherwise; every
    /// valid event of the batch is applied (her order counted, his cart line kept), the engine takes an event after it,
    /// and her profile exports.
    /// </summary>
    [Property(MaxTest = 80)]
    public void AHostileWellKnownProperty_IsRefusedAtItsPath_AndTheValidEventsBesideItApply(int step) => RunHostileProperty(step).GetAwaiter().GetResult();

    private static async Task RunHostileProperty(int step)
    {
        var r = Seeded(step, 3);
        await using var host = EventHost();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a guard against a hang, not a measure
        var batch = new List<CustomerEvent>();
        var hostile = new Dictionary<int, string?>();
        var good = new List<(Identifier Who, string Type)>();
        var count = r.Next(2, 8);
        for (var i = 0; i < count; i++)
        {
            var (type, fields) = WellKnown[r.Next(WellKnown.Length)];
            var props = ValidProperties(type, $"o-{step}-{i}");
            if (r.Next(3) == 0)
            {
                var field = fields[r.Next(fields.Length)];
                var value = EventValues[r.Next(EventValues.Length)];
                var target = props;
                var name = field;
                if (field.StartsWith("items[0].", StringComparison.Ordinal))
                {
                    if (props["items"] is not JsonArray)
                    {
                        props["items"] = new JsonArray(new JsonObject { ["product_id"] = "p1", ["quantity"] = 1, ["price"] = 2 });
                    }

                    target = (JsonObject)props["items"]![0]!;
                    name = field["items[0].".Length..];
                }

                target[name] = "@@U104@@";
                var json = props.ToJsonString().Replace("\"@@U104@@\"", value, StringComparison.Ordinal);
                hostile[batch.Count] = field.Contains('[', StringComparison.Ordinal) ? null : Refused(type, field, value);
                batch.Add(host.Event(type, [Identifier.CustomerId($"h-{step}-{i}")], JsonDocument.Parse(json).RootElement.Clone()));
            }
            else
            {
                var who = Identifier.CustomerId($"g-{step}-{i}");
                good.Add((who, type));
                batch.Add(host.Event(type, [who], JsonDocument.Parse(props.ToJsonString()).RootElement.Clone()));
            }
        }

        var results = await host.Client.TrackBatchAsync(batch, timeout.Token);
        Assert.Equal(batch.Count, results.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var what = $"{batch[i].Type} {batch[i].Properties.GetRawText()}: {results[i].Status} {string.Join("; ", results[i].Errors)} {results[i].FailureReason}";
            if (!hostile.TryGetValue(i, out var refusedAt))
            {
                Assert.True(results[i].Status == TrackStatus.Accepted, "valid " + what);
                continue;
            }

            Assert.True(results[i].Status is TrackStatus.Accepted or TrackStatus.Rejected, what);
            if (refusedAt is not null)
            {
                Assert.True(results[i].Status == TrackStatus.Rejected && results[i].Errors.Any(e => e.Field == refusedAt), $"expected {refusedAt}: {what}");
            }

            Assert.All(results[i].Errors, e => Assert.StartsWith("properties", e.Field, StringComparison.Ordinal));

            // The same event alone is answered as it was in the batch.
            var alone = await host.Client.TrackAsync(batch[i] with { Id = batch[i].Id + "-alone" }, timeout.Token);
            Assert.Equal(results[i].Status, alone.Status);
            _ = JsonSerializer.Serialize(await host.Client.ExportProfileAsync(batch[i].Identifiers[0], timeout.Token));
        }

        foreach (var (who, type) in good)
        {
            var profile = await host.ProfileAsync(who);
            if (type == EventTypes.OrderPlaced)
            {
                Assert.Equal(1, profile.Statistics.OrderCount);
            }
            else if (type == EventTypes.CartItemAdded)
            {
                Assert.True(profile.CartLines.ContainsKey("p1"), $"{who.Value}'s cart line");
            }
        }

        await host.AdvanceAsync(TimeSpan.FromDays(31));
        var after = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Identifier.CustomerId($"after-{step}")], new { order_id = "after", total = 5 }), timeout.Token);
        Assert.Equal(TrackStatus.Accepted, after.Status);
    }

    /// <summary>
    /// Found by the property above: <c>points</c> is required, but a <c>null</c> passed the check and was counted as 0 —
    /// the event accepted, her points unchanged, and nothing said why.
    /// </summary>
    [Theory]
    [InlineData(EventTypes.LoyaltyPointsEarned)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    public async Task ALoyaltyEventWithNullPoints_IsRefusedAtPoints_AndTheBatchsOthersApply(string type)
    {
        await using var host = EventHost();
        var who = Identifier.CustomerId("u104-points");
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event(type, [who], JsonDocument.Parse("""{"points":null}""").RootElement.Clone()),
            host.Event(EventTypes.LoyaltyPointsEarned, [who], new { points = 20 }),
        ]);

        Assert.Equal(TrackStatus.Rejected, results[0].Status);
        Assert.Equal("properties.points", Assert.Single(results[0].Errors).Field);
        Assert.Equal(TrackStatus.Accepted, results[1].Status);
        Assert.Equal(20, (await host.ProfileAsync(who)).Statistics.LoyaltyPoints);
    }

    // ---- templates: nesting, loops and hostile data within their limits ----

    private static readonly string[] Openers = ["{% if true %}", "{% for i in (1..3) %}", "{% unless false %}", "{% capture c %}", "{% case 1 %}{% when 1 %}", "{% for i in (1..2000000000) %}", "{% tablerow i in (1..100000) %}"];

    private static readonly string[] Closers = ["{% endif %}", "{% endfor %}", "{% endunless %}", "{% endcapture %}", "{% endcase %}", "{% endfor %}", "{% endtablerow %}"];

    private static readonly string[] Middles =
    [
        "{{ profile.traits.deep }}", "{{ profile.traits.big | times: 2 }}", "{{ profile.traits.text | split: '' | join: profile.traits.text | size }}",
        "{{ profile.first_name | append: profile.first_name | upcase }}", "{% assign x = profile.traits.list | sort | reverse | first %}{{ x }}", "x",
        "{{ profile.traits.big | divided_by: 0 }}", "{{ 'NaN' | plus: profile.traits.big }}", "{% cycle 'a', 'b' %}",
    ];

    /// <summary>
    /// Blocks nested to a random depth (below and past the 32-block limit), loops of two billion iterations, tablerows and
    /// hostile profile data: the template is refused at load with a line and column inside its source, or renders, or
    /// fails its render with a message (the budget); never an exception, never the stack.
    /// </summary>
    [Property(MaxTest = 150)]
    public void ANestedLoopingTemplate_WithHostileData_IsRefusedWithAPosition_OrRendersWithinItsBudget(int step)
    {
        var r = Seeded(step, 4);
        var depth = r.Next(1, 45);
        var open = new List<int>();
        var source = new System.Text.StringBuilder("Hi ");
        for (var i = 0; i < depth; i++)
        {
            var k = r.Next(Openers.Length);
            open.Add(k);
            source.Append(Openers[k]).Append(r.Next(3) == 0 ? "\n" : string.Empty).Append(Middles[r.Next(Middles.Length)]);
        }

        for (var i = open.Count - 1; i >= 0; i--)
        {
            source.Append(r.Next(12) == 0 ? "{% endraw %}" : Closers[open[i]]);
        }

        var text = source.ToString();
        var loaded = TemplateRenderer.Load([new TemplateDocument("m", [TemplateVariant.Email("S {{ profile.first_name }}", text)])]);
        if (!loaded.Succeeded)
        {
            var lines = text.Split('\n');
            Assert.All(loaded.Errors, e =>
            {
                Assert.NotEqual(TemplateErrorKind.Render, e.Kind);
                Assert.True(e.Line >= 1 && e.Line <= lines.Length && e.Column >= 1 && e.Column <= lines[e.Line - 1].Length + 1, $"{e} in {Shorten(text)}");
            });
            return;
        }

        var deep = (object)1;
        for (var i = r.Next(1, 60); i > 0; i--)
        {
            deep = new Dictionary<string, object?> { ["a"] = deep };
        }

        var profile = Templates.TemplateTestData.Clara()
            .WithTrait("big", new object[] { 1e300, double.MaxValue, 79228162514264337593543950335m, -0.0 }[r.Next(4)])
            .WithTrait("text", new string('a', r.Next(0, 3000)))
            .WithTrait("list", Enumerable.Range(0, r.Next(0, 2000)).Select(i => (object)(i % 3 == 0 ? "x" + i : i)).ToArray());
        profile.TraitValues["deep"] = new TraitValue(JsonData.From(deep), Templates.TemplateTestData.Start);
        var result = loaded.Renderer.Render("m", ChannelNames.Email, Templates.TemplateTestData.Context(profile));
        if (!result.Succeeded)
        {
            Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message), Shorten(text)));
        }
    }
}
