using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of the twenty-eighth session's changes to the core: inactivity clocks (audit U16) and verdict JSON (first hour, fifth pass).</summary>
public sealed class AuditReview28Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Browse(string noEvent = "order.placed") => JourneyRig.Parse($$"""
        {"id": "browse", "version": 1, "name": "Browse",
         "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["{{noEvent}}"], "within": "PT4H"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "browse-mail", "class": "transactional"}]}
        """);

    // A browse journey whose noEvent is not order.placed: a re-sent order changes nothing, the noEvent stops it.
    [Fact]
    public async Task AnInactivityJourney_WhoseNoEventIsNotAnOrder_IsStoppedByItsOwnEvent_AtItsTime()
    {
        await using var rig = JourneyRig.Create([Browse("cart.item_added")]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 90, currency = "GBP" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Empty(rig.Sent());
    }

    // After the clock fired, a re-sent old order does not undo or repeat it; a new view then a new order stops the next.
    [Fact]
    public async Task AfterTheClockFired_AReSentOldOrder_NeitherRepeatsNorStopsTheNextVisit_ANewOrderDoes()
    {
        await using var rig = JourneyRig.Create([Browse()]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(7));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Equal(["email:browse-mail"], rig.Sent());
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 80, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 30, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Equal(["email:browse-mail"], rig.Sent());
    }

    private static ExperimentVerdict EarlyVerdict() => ExperimentAnalysis.Evaluate(
        "sms-welcome",
        [new VariantObservation("control", 1, 0), new VariantObservation("a", 1, 0), new VariantObservation("b", 2, 0)],
        "control");

    // A verdict written before the attribute (plain numbers) still reads; and an app whose options read strictly or
    // write numbers as strings reads a verdict of this version (the type's handling reads both forms).
    [Fact]
    public void AVerdictWrittenBeforeTheChange_Reads_AndOrdinaryNumbersStayNumbers_UnderStrictOptions()
    {
        var verdict = ExperimentAnalysis.Evaluate(
            "promo", [new VariantObservation("control", 200, 20, 400, 8000), new VariantObservation("a", 200, 30, 600, 12000)], "control");
        var strict = new JsonSerializerOptions(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.Strict };
        var json = JsonSerializer.Serialize(verdict, strict);
        Assert.DoesNotContain("\"Infinity\"", json, StringComparison.Ordinal);
        var node = JsonNode.Parse(json)!;
        Assert.Equal(JsonValueKind.Number, node["variants"]![0]!["recipients"]!.GetValueKind());
        Assert.Equal(JsonValueKind.Number, node["variants"]![1]!["versusControl"]!["rateDifference"]!.GetValueKind());
        Assert.Equal(JsonValueKind.Number, node["sampleRatio"]!["chiSquare"]!.GetValueKind());

        var back = JsonSerializer.Deserialize<ExperimentVerdict>(json, strict)!;
        Assert.Equal(verdict.Variants.Select(v => v.ConversionRateInterval), back.Variants.Select(v => v.ConversionRateInterval));
        Assert.Equal(verdict.SampleRatio, back.SampleRatio);
        Assert.Equal(verdict.Variants[1].VersusControl!.RateDifferenceInterval, back.Variants[1].VersusControl!.RateDifferenceInterval);
    }

    // Every arm empty: NaN wherever a ratio of nothing is taken; the JSON is written and reads back to NaN.
    [Fact]
    public void AVerdictOfEmptyArms_WithNaNAnywhere_SerializesAndReadsBack()
    {
        var verdict = ExperimentAnalysis.Evaluate("empty", [new VariantObservation("control", 0, 0), new VariantObservation("a", 0, 0)], "control");
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var json = JsonSerializer.Serialize(verdict, options);
        var back = JsonSerializer.Deserialize<ExperimentVerdict>(json, options)!;
        Assert.Equal(JsonSerializer.Serialize(back, options), json);

        var early = EarlyVerdict();
        Assert.Equal(JsonSerializer.Serialize(early, options), JsonSerializer.Serialize(JsonSerializer.Deserialize<ExperimentVerdict>(JsonSerializer.Serialize(early, options), options), options));
    }
}
