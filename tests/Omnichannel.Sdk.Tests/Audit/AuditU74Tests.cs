using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>FsCheck generators for audit U74: customers' orders, each a list of products whose category is a pool index or missing (-1) or null (-2).</summary>
public static class U74Arbitrary
{
    public static Arbitrary<int[][]> Orders() =>
        Gen.ArrayOf(Gen.ArrayOf(Gen.Choose(-2, AuditU74Tests.Categories.Length - 1)).Select(p => p.Take(4).ToArray()))
            .Select(c => c.Take(4).ToArray())
            .Where(c => c.Length > 0)
            .ToArbitrary();
}

/// <summary>
/// Audit U74: product catalogue data inside events — orders and refunds carrying a list of products (Segment's
/// <c>products</c>, GA4's <c>items</c>), each with its own category, price and quantity, quantities and prices sent as
/// text or negative, product ids sent as numbers — read by segments, journeys and the profile, against the reports of
/// PostHog, Braze, Segment, WooCommerce and GTM4WP. Public API only, the test kit's fake clock; each test names its reports.
/// </summary>
public sealed class AuditU74Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly Identifier BobMail = Identifier.Email("bob@example.com");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Categories the property draws from (case and a numeric string included).</summary>
    internal static readonly string[] Categories = ["shoes", "Shoes", "hats", "bags", "10"];

    // Ann's order holds shoes (80, tagged "sale") and a hat (20); Bob's only a hat.
    private static object AnnsOrder => new
    {
        order_id = "a1",
        total = 100,
        currency = "GBP",
        products = new object[]
        {
            new { product_id = "tee", sku = "TEE-1", category = "shoes", price = 80, quantity = "2", tags = new[] { "sale" } },
            new { product_id = 7, category = "hats", price = "20", quantity = 1 },
        },
    };

    private static object BobsOrder => new
    {
        order_id = "b1",
        total = 20,
        currency = "GBP",
        products = new object[] { new { product_id = "cap", category = "hats", price = 20, quantity = 1 } },
    };

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static OmnichannelTestHost Host(IEnumerable<SegmentDefinition> segments) =>
        OmnichannelTestHost.Create(o =>
        {
            foreach (var s in segments)
            {
                o.Segments.Add(s);
            }
        }, start: Start);

    // Her profile and the members list must agree; the caller compares with a preview.
    private static async Task<bool> InAsync(OmnichannelTestHost host, Identifier who, string segmentId)
    {
        var p = await host.ProfileAsync(who);
        var live = p.Segments.Any(m => m.SegmentId == segmentId);
        var listed = (await host.Client.GetSegmentMembersAsync(segmentId)).Contains(p.Id);
        Assert.True(live == listed, $"{segmentId}: profile says {live}, members list {listed}");
        return live;
    }

    // ---- 1. A where on a property of each product in the order ----
    // PostHog/posthog#17824 ("I am sending a list of products represented as objects inside the order property. Currently,
    // I cannot access any of the individual fields"), braze-inc/braze-docs#3265 and #3222 (nested event properties:
    // `products[].category` triggers and segments on any element), segment-boneyard/segment-docs#2253 (filters on
    // `properties.products.product_id` reach every object of the array). Before, `products.category` read nothing through
    // the list, so "bought shoes" held for no one and "did not buy shoes" (ne, notIn, notExists) for everyone; the
    // definition was valid. Now a path through a list reads each element: a positive operator holds when any product
    // matches, a negative one when none does, and `not` agrees with `ne`.
    [Theory]
    [InlineData("""{"property": "products.category", "op": "eq", "value": "shoes"}""", true, false)]
    [InlineData("""{"property": "products.category", "op": "ne", "value": "shoes"}""", false, true)]
    [InlineData("""{"property": "products.category", "op": "in", "value": ["shoes", "bags"]}""", true, false)]
    [InlineData("""{"property": "products.category", "op": "notIn", "value": ["shoes"]}""", false, true)]
    [InlineData("""{"property": "products.category", "op": "startsWith", "value": "sho"}""", true, false)]
    [InlineData("""{"property": "products.price", "op": "gte", "value": 50}""", true, false)]
    [InlineData("""{"property": "products.price", "op": "between", "value": [10, 30]}""", false, true)] // Ann's hat price is text
    [InlineData("""{"property": "products.tags", "op": "contains", "value": "sale"}""", true, false)]
    [InlineData("""{"property": "products.category", "op": "exists"}""", true, true)]
    [InlineData("""{"property": "products.colour", "op": "notExists"}""", true, true)]
    [InlineData("""{"property": "products.category", "op": "notExists"}""", false, false)]
    [InlineData("""{"property": "products.0.sku", "op": "eq", "value": "TEE-1"}""", true, false)] // an index, as the path syntax allows
    public async Task AWhereOnAPropertyOfEachProduct_HoldsWhenAnyProductMatches(string condition, bool ann, bool bob)
    {
        var inJson = Json("json", $$"""{"event": "order.placed", "where": [{{condition}}]}""");
        var negated = Json("not", "{\"not\": {\"event\": \"order.placed\", \"where\": [" + condition + "]}}");
        var csharp = Segment.Define("csharp", "x").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("products.category").Eq("shoes"))).Build();
        await using var host = Host([inJson, csharp, negated]);
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.OrderPlaced, [Ann], AnnsOrder)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.OrderPlaced, [Bob], BobsOrder)).Status);

        Assert.Equal((ann, bob), (await InAsync(host, Ann, "json"), await InAsync(host, Bob, "json")));
        Assert.Equal((true, false), (await InAsync(host, Ann, "csharp"), await InAsync(host, Bob, "csharp"))); // C#: "bought shoes"
        Assert.Equal((!ann, !bob), (await InAsync(host, Ann, "not"), await InAsync(host, Bob, "not")));
        Assert.Equal((ann ? 1 : 0) + (bob ? 1 : 0), (await host.Client.PreviewSegmentAsync(inJson)).Matching);
    }

    // ---- 2. How many units she bought: a sum over every product's quantity, quantities sent as text ----
    // PostHog/posthog#17824 (aggregating a field of the objects in a list), GTM4WP and WooCommerce data layers sending
    // `quantity: "2"` (duracelltomi/gtm4wp#289: ids and numbers typed inconsistently). Before, `sum` of
    // `products.quantity` was no amount at all, so "bought 5 units or more" never held. Now an event's amount at a path
    // through a list is the sum of the amounts it reaches (numbers as text included, as everywhere amounts are read).
    [Fact]
    public async Task ASumOverEachProductsQuantity_CountsEveryUnit_QuantitiesSentAsTextIncluded()
    {
        SegmentDefinition[] segments =
        [
            Json("units-5", """{"aggregate": "sum", "event": "order.placed", "property": "products.quantity", "op": "gte", "value": 5}"""),
            Json("max-3", """{"aggregate": "max", "event": "order.placed", "property": "products.quantity", "op": "gte", "value": 3}"""),
            Json("categories-2", """{"aggregate": "distinct", "event": "order.placed", "property": "products.category", "op": "gte", "value": 2}"""),
        ];
        await using var host = Host(segments);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], AnnsOrder); // 2 + 1 units, shoes and hats
        Assert.False(await InAsync(host, Ann, "units-5"));
        Assert.True(await InAsync(host, Ann, "max-3"));
        Assert.True(await InAsync(host, Ann, "categories-2"));

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "a2", total = 10, products = new object[] { new { product_id = "sock", quantity = "2.0", category = "shoes" } } });
        Assert.True(await InAsync(host, Ann, "units-5"));
        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(segments[0])).Matching);
    }

    // ---- 3. A journey started by an order that holds a product of one category ----
    // braze-inc/braze-docs#3265 (a campaign triggered on a nested property of the purchase's products), PostHog/posthog#17824.
    // A cross-sell journey for people who bought shoes: before, its trigger's `products.category` read nothing and no one
    // entered. Also a branch on the trigger's products (a `trigger` condition reads the same way).
    [Fact]
    public async Task AJourneyTriggeredByAnOrderWithAProductOfACategory_StartsForThatOrderOnly()
    {
        var journey = JourneyRig.Parse("""
            {"id": "shoe-care", "version": 1, "name": "Shoe care", "trigger": {"type": "event", "event": "order.placed",
              "where": [{"property": "products.category", "op": "eq", "value": "shoes"}]},
             "steps": [{"id": "b", "type": "branch", "branches": [
                         {"condition": {"trigger": "products.tags", "op": "contains", "value": "sale"}, "next": "sale"}], "else": "full"},
                       {"id": "full", "type": "send", "channels": ["email"], "template": "shoe-care", "class": "transactional", "next": "end"},
                       {"id": "sale", "type": "send", "channels": ["email"], "template": "shoe-care-sale", "class": "transactional"},
                       {"id": "end", "type": "delay", "duration": "PT1M"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("user.signed_up", [Bob, BobMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Bob], BobsOrder);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], AnnsOrder);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(["email:shoe-care-sale"], rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("shoe-care")).Entered);
    }

    // ---- 4. A refund by products: negative quantities, numbers as text, a product id sent as a number ----
    // woocommerce/woocommerce-ios#16609 and woocommerce/woocommerce-android#15221 (refund line items come with negative
    // quantities, "-2 means 2 items were refunded", sometimes positive), duracelltomi/gtm4wp#289 and
    // woocommerce/woocommerce-google-analytics-integration#78 (one product sent as 39910 in one event and "39910" in the
    // next), Segment's `Order Refunded` with products and no amount. Already right: a refunded line is worth |quantity| ×
    // its price as the order had it, whatever the sign or the spelling.
    [Fact]
    public async Task ARefundByProducts_WithNegativeQuantitiesAndIdsAsNumbers_IsWorthWhatTheOrderCharged()
    {
        await using var host = Host([]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new
        {
            order_id = "o1",
            total = 55,
            currency = "GBP",
            products = new object[]
            {
                new { product_id = "tee", quantity = "2", price = "12.50" },
                new { product_id = 39910, quantity = 1, price = 30 },
            },
        });
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", currency = "GBP", products = new object[] { new { product_id = "tee", quantity = -1 } } });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r2", currency = "GBP", products = new object[] { new { product_id = "39910", quantity = "-1" } } });
        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal((1, 55m, 2, 42.5m), (s.OrderCount, s.TotalSpent, s.ReturnCount, s.ReturnValue));
    }

    // ---- 5. A cart line added under a numeric id and removed under its text ----
    // duracelltomi/gtm4wp#289 ("item_id" 39910 as a number in add_to_cart, a string elsewhere), Automattic/wp-calypso#2216
    // (a cart's product_id came back as a string instead of an integer). Already right: 39910 and "39910" are one product,
    // so the removal empties the line and "has something in the cart" follows.
    [Fact]
    public async Task ACartLineAddedUnderANumericId_IsRemovedUnderItsText()
    {
        var inCart = Segment.Define("cart", "x").Where(r => r.Stat(ProfileStatisticNames.CartLineCount).Gte(1)).Build();
        await using var host = Host([inCart]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = 39910, quantity = "2", price = "9.99" });
        var line = Assert.Single((await host.ProfileAsync(Ann)).Cart);
        Assert.Equal(("39910", 2m), (line.ProductId, line.Quantity));
        Assert.True(await InAsync(host, Ann, "cart"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.CartItemRemoved, [Ann], new { product_id = "39910" });
        Assert.Empty((await host.ProfileAsync(Ann)).Cart);
        Assert.False(await InAsync(host, Ann, "cart"));
    }

    // ---- 6. A conversion counted only for orders holding a product of one category ----
    // PostHog/posthog#17824 (filtering a conversion goal on a field of the order's products), braze-inc/braze-docs#3265.
    // Measurement's conversion `where` read the path as segments did, so a "shoe order" conversion was never credited.
    [Fact]
    public async Task AConversionWhereOnEachProductsCategory_CreditsOnlyTheOrderWithThatProduct()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.Conversions.Add(new ConversionDefinition("shoe-order", EventTypes.OrderPlaced)
        {
            RevenueProperty = "total",
            Where = [new PropertyCondition("products.category", new Condition(ConditionOperator.Eq, JsonValue.Create("shoes")))],
        }), start: Start);
        foreach (var (who, order) in new[] { (Ann, AnnsOrder), (Bob, BobsOrder) })
        {
            var message = "m-" + who.Value;
            await host.TrackAsync(EventTypes.MessageSent, [who], new { channel = "email", message_id = message, template_id = "promo" });
            await host.TrackAsync(EventTypes.MessageClicked, [who], new { channel = "email", message_id = message });
            await host.TrackAsync(EventTypes.OrderPlaced, [who], order);
        }

        var today = host.Engine.Options.Measurement.DayOf(host.Time.GetUtcNow());
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery
        {
            MetricPrefix = MeasurementMetrics.Credit("shoe-order", AttributionModel.Linear),
            From = today.AddDays(-1),
            To = today,
        });
        Assert.Equal(1.0, rows.Sum(r => r.Sum), 9);
    }

    // ---- 7. A journey's goal: an order with a product of the category it promotes ----
    // braze-inc/braze-docs#3265 (conversion events filtered on nested properties), Customer.io and Iterable goals on a
    // purchase's items. A cross-sell reminder whose goal is "bought a bag": an order of hats does not end it, one
    // holding a bag does. Before, the goal's `products.category` never matched and the reminder went to a buyer.
    [Fact]
    public async Task AJourneysGoalOnEachProductsCategory_IsReachedOnlyByAnOrderHoldingIt()
    {
        var journey = JourneyRig.Parse("""
            {"id": "bags", "version": 1, "name": "Bags", "trigger": {"type": "event", "event": "product.viewed"},
             "goal": {"event": "order.placed", "within": "P7D", "where": [{"property": "products.category", "op": "eq", "value": "bags"}]},
             "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "bags", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync("user.signed_up", [Bob, BobMail]);
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "tote" });
        await rig.TrackAsync(EventTypes.ProductViewed, [Bob], new { product_id = "tote" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "a9", total = 60, products = new object[] { new { product_id = "cap", category = "hats" }, new { product_id = "tote", category = "bags" } } });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Bob], BobsOrder);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Equal(["email:bags"], rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("bags")).Converted);
    }

    // ---- 7b. What a path reached through the products, kept in her stored document ----
    // The same class as test 1 across a restart: the values a path reached through a list are kept with the profile
    // (under a marked key) and read back by the next process, so a windowed "bought shoes in the last 7 days" still holds
    // after the restart and ends when the window passes, as a preview says.
    [Fact]
    public async Task WhatAPathReachedThroughTheProducts_IsKeptWithTheProfile_AcrossARestart()
    {
        var store = new InMemoryOmnichannelStore();
        var shoes7 = Json("shoes-7d", """{"event": "order.placed", "within": "P7D", "where": [{"property": "products.category", "op": "eq", "value": "shoes"}]}""");
        OmnichannelTestHost On(DateTimeOffset start) => OmnichannelTestHost.Create(o => o.Segments.Add(shoes7), start, store);
        await using (var first = On(Start))
        {
            await first.TrackAsync(EventTypes.OrderPlaced, [Ann], AnnsOrder);
            Assert.True(await InAsync(first, Ann, "shoes-7d"));
        }

        await using var second = On(Start.AddDays(3));
        Assert.True(await InAsync(second, Ann, "shoes-7d"));
        Assert.Equal(1, (await second.Client.PreviewSegmentAsync(shoes7)).Matching);
        await second.AdvanceAsync(TimeSpan.FromDays(5));
        Assert.False(await InAsync(second, Ann, "shoes-7d"));
        Assert.Equal(0, (await second.Client.PreviewSegmentAsync(shoes7)).Matching);
    }

    // ---- 8. Property: any product matches, negations are complements, live equals preview ----
    // The rule of tests 1–3 for every list of products: up to four customers, each one order of up to four products
    // whose category is one of five values (case and a numeric string among them), missing, or null. For eq, ne, in,
    // notIn, exists and notExists on `products.category`: live membership and the members list equal the model (any
    // product's category holds / none does), `not` is the exact complement, and a preview counts the live members.
    [Property(Arbitrary = [typeof(U74Arbitrary)], MaxTest = 25)]
    public void AnyProductMatches_NegationsAreComplements_AndLiveEqualsPreview(int[][] orders) =>
        RunProperty(orders).GetAwaiter().GetResult();

    private static async Task RunProperty(int[][] orders)
    {
        (string Op, string Operand, Func<IReadOnlyList<string>, bool> Model)[] rules =
        [
            ("eq", "\"shoes\"", v => v.Contains("shoes")),
            ("ne", "\"shoes\"", v => !v.Contains("shoes")),
            ("in", "[\"shoes\", 10]", v => v.Contains("shoes")),
            ("notIn", "[\"shoes\", \"bags\"]", v => !v.Contains("shoes") && !v.Contains("bags")),
            ("exists", string.Empty, v => v.Count > 0),
            ("notExists", string.Empty, v => v.Count == 0),
        ];
        var segments = rules.SelectMany((r, i) =>
        {
            var condition = $$"""{"property": "products.category", "op": "{{r.Op}}"{{(r.Operand.Length > 0 ? ", \"value\": " + r.Operand : string.Empty)}}}""";
            return new[]
            {
                Json("r" + i, "{\"event\": \"order.placed\", \"where\": [" + condition + "]}"),
                Json("n" + i, "{\"not\": {\"event\": \"order.placed\", \"where\": [" + condition + "]}}"),
            };
        }).ToArray();
        await using var host = Host(segments);
        var values = new List<IReadOnlyList<string>>();
        for (var c = 0; c < orders.Length; c++)
        {
            var products = new JsonArray();
            foreach (var k in orders[c])
            {
                var product = new JsonObject { ["product_id"] = "p" + products.Count };
                if (k >= 0)
                {
                    product["category"] = Categories[k];
                }
                else if (k == -2)
                {
                    product["category"] = null;
                }

                products.Add(product);
            }

            values.Add([.. orders[c].Where(k => k >= 0).Select(k => Categories[k])]);
            var r = await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c" + c)], JsonData.Parse(new JsonObject { ["order_id"] = "o" + c, ["products"] = products }.ToJsonString()));
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        for (var i = 0; i < rules.Length; i++)
        {
            var expected = 0;
            for (var c = 0; c < orders.Length; c++)
            {
                var model = rules[i].Model(values[c]);
                expected += model ? 1 : 0;
                Assert.True(model == await InAsync(host, Identifier.CustomerId("c" + c), "r" + i), $"{rules[i].Op} for c{c} [{string.Join(",", values[c])}]");
                Assert.True(!model == await InAsync(host, Identifier.CustomerId("c" + c), "n" + i), $"not {rules[i].Op} for c{c}");
            }

            Assert.Equal(expected, (await host.Client.PreviewSegmentAsync(segments[2 * i])).Matching);
        }
    }
}
