using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>First hour, fifth pass (twenty-eighth session): an ASP.NET Core shop on PostgreSQL with SMS over HTTP, double opt-in and an A/B split.</summary>
public sealed class AuditFirstHourFifthTests
{
    // An arm with a single recipient has an unbounded revenue interval (−∞, +∞): the admin endpoint's Results.Ok(verdict)
    // threw "NET number values such as positive and negative infinity cannot be written as valid JSON" (a 500).
    private static ExperimentVerdict EarlyVerdict() => ExperimentAnalysis.Evaluate(
        "sms-welcome",
        [new VariantObservation("control", 1, 0), new VariantObservation("a", 1, 0), new VariantObservation("b", 2, 0)],
        "control");

    [Theory]
    [InlineData(JsonSerializerDefaults.Web)]
    [InlineData(JsonSerializerDefaults.General)]
    public void AnEarlyVerdict_WithUnboundedIntervals_SerializesAsJson_AndReadsBack(JsonSerializerDefaults defaults)
    {
        var verdict = EarlyVerdict();
        Assert.Contains(verdict.Variants, v => double.IsInfinity(v.RevenuePerRecipientInterval.Upper));
        var options = new JsonSerializerOptions(defaults);

        var json = JsonSerializer.Serialize(verdict, options);

        var node = JsonNode.Parse(json)!;
        var arm = node[defaults == JsonSerializerDefaults.Web ? "variants" : "Variants"]![0]!;
        var interval = arm[defaults == JsonSerializerDefaults.Web ? "revenuePerRecipientInterval" : "RevenuePerRecipientInterval"]!;
        Assert.Equal("Infinity", interval[defaults == JsonSerializerDefaults.Web ? "upper" : "Upper"]!.GetValue<string>());
        var back = JsonSerializer.Deserialize<ExperimentVerdict>(json, options)!;
        Assert.Equal(verdict.Variants.Select(v => v.RevenuePerRecipientInterval), back.Variants.Select(v => v.RevenuePerRecipientInterval));
        Assert.Equal(verdict.Evidence, back.Evidence);
    }

    [Fact]
    public void FiniteNumbers_StayJsonNumbers()
    {
        var verdict = ExperimentAnalysis.Evaluate(
            "promo", [new VariantObservation("control", 200, 20, 400, 8000), new VariantObservation("a", 200, 30, 600, 12000)], "control");

        var node = JsonNode.Parse(JsonSerializer.Serialize(verdict, new JsonSerializerOptions(JsonSerializerDefaults.Web)))!;

        var rate = node["variants"]![1]!["conversionRateInterval"]!["lower"]!;
        Assert.Equal(JsonValueKind.Number, rate.GetValueKind());
        Assert.Equal(JsonValueKind.Number, node["sampleRatio"]!["pValue"]!.GetValueKind());
    }
}
