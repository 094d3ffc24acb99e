using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit W: bug classes from public reports of comparable rule engines, replayed on segment definitions.</summary>
public sealed class AuditWDefinitionTests
{
    private static readonly DateTimeOffset Jan1 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static bool Holds(SegmentRule rule, string traitsJson) =>
        EvalProfile(rule, ProfileWithTraits(JsonNode.Parse(traitsJson)!), T0).IsMember;

    // Unomi/json-rules-engine: a date operand the validator accepts but the evaluator never reads as a date.
    [Theory]
    [InlineData("03/01/2024")]
    [InlineData("1 March 2024")]
    public void ANonIsoDateOperand_IsRefusedWithItsPath_NotAcceptedAsARuleThatNeverHolds(string operand)
    {
        var r = SegmentJson.Parse($$$"""{"id":"s","name":"s","rule":{"stat":"lastOrderAt","op":"gt","value":"{{{operand}}}"}}""");
        Assert.False(r.IsValid, "a date the evaluator reads as a plain string was accepted");
        Assert.Contains(r.Errors, e => e.Path == "$.rule.value");
    }

    // A C# DateTimeOffset given to the builder (JsonNode converts it implicitly) must validate, round-trip and match.
    [Fact]
    public void ABuilderDateTimeOffsetOperand_Validates_RoundTrips_AndMatches()
    {
        var def = Segment.Define("recent", "Ordered this year")
            .Where(r => r.All(
                r.Stat(ProfileStatisticNames.LastOrderAt).Gt(Jan1),
                r.Trait("signup").Between(Jan1, Jan1.AddMonths(6))))
            .Build();
        var back = SegmentJson.Parse(SegmentJson.Serialize(def));
        Assert.True(back.IsValid, string.Join("; ", back.Errors.Select(e => e.Path + " " + e.Message)));

        var p = ProfileWithTraits(new { signup = "2024-03-01T00:00:00+01:00" });
        Assert.True(EvalProfile(((AllRule)def.Rule).Rules[1], p, T0).IsMember);
        Assert.True(EvalProfile(((AllRule)back.Value!.Rule).Rules[1], p, T0).IsMember);
    }

    // Unicode normalization: "café" composed (NFC) and decomposed (NFD, as macOS/iOS send it) is one string.
    [Theory]
    [InlineData(ConditionOperator.Eq, "Caf\u00e9 Rouge", true)]
    [InlineData(ConditionOperator.Ne, "Caf\u00e9 Rouge", false)]
    [InlineData(ConditionOperator.Contains, "f\u00e9", true)]
    [InlineData(ConditionOperator.StartsWith, "Caf\u00e9", true)]
    public void StringOperators_SeeComposedAndDecomposedTextAsEqual(ConditionOperator op, string operand, bool expected)
    {
        Assert.Equal(expected, Holds(new TraitRule("shop", C(op, operand)), "{\"shop\": \"Cafe\\u0301 Rouge\"}"));
        Assert.Equal(expected, Holds(new TraitRule("shop", C(op, operand.Normalize(System.Text.NormalizationForm.FormD))), "{\"shop\": \"Caf\\u00e9 Rouge\"}"));
    }

    [Fact]
    public void In_SeesComposedAndDecomposedTextAsEqual() =>
        Assert.True(Holds(new TraitRule("city", C(ConditionOperator.In, Arr("Z\u00fcrich", "Paris"))), "{\"city\": \"Zu\\u0308rich\"}"));

    // GrowthBook-style $in/$nin on an array attribute: a tag list is "in" a list when one of its tags is.
    [Theory]
    [InlineData("""["a", "b"]""", true)]
    [InlineData("""["x", "b"]""", false)]
    [InlineData("""[]""", false)]
    public void InAndNotIn_OnAnArrayTrait_LookAtItsElements(string tags, bool anyInList)
    {
        var list = Arr("a", "c");
        Assert.Equal(anyInList, Holds(new TraitRule("tags", C(ConditionOperator.In, list.DeepClone())), $$$"""{"tags": {{{tags}}}}"""));
        Assert.Equal(!anyInList, Holds(new TraitRule("tags", C(ConditionOperator.NotIn, list.DeepClone())), $$$"""{"tags": {{{tags}}}}"""));
    }

    // JsonLogic/json-rules-engine: numbers compare by value whatever their JSON spelling.
    [Theory]
    [InlineData("-0.0", 0)]
    [InlineData("1e3", 1000)]
    [InlineData("1000.000", 1000)]
    [InlineData("1e-400", 0)]
    public void Numbers_CompareByValue_WhateverTheirJsonSpelling(string written, int operand) =>
        Assert.True(Holds(new TraitRule("n", C(ConditionOperator.Eq, operand)), $$$"""{"n": {{{written}}}}"""));
}
