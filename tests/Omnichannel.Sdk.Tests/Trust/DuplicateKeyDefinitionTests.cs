using System.Text.Json.Nodes;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Journeys.JourneyJsonTests;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// A key given twice in one object of a definition (found by <c>AuditU50Tests</c>' mutation property, seed 1326171830:
/// the journey reader threw "An item with the same key has already been added" from a value's node instead of refusing
/// the definition). RFC 8259 §4 leaves which of two equal names wins to the reader, so a definition that names a key
/// twice is refused, with the path of the second, wherever it is.
/// </summary>
public sealed class DuplicateKeyDefinitionTests
{
    [Theory]
    [InlineData("""{"id": "a", "type": "updateProfile", "set": {"prefs": {"a": 1, "a": 2}}}, {"id": "end", "type": "exit"}""", "$.steps[0].set.prefs.a")]
    [InlineData("""{"id": "a", "type": "updateProfile", "set": {"tier": "gold", "tier": "silver"}}, {"id": "end", "type": "exit"}""", "$.steps[0].set.tier")]
    [InlineData("""{"id": "a", "type": "exit", "type": "delay"}""", "$.steps[0].type")]
    public void AJourneyNamingAKeyTwice_IsRefusedWithThePath_NeverThrows(string steps, string path)
    {
        var json = Definition(steps);
        var one = JourneyJson.Parse(json);
        var many = JourneyJson.ParseMany("[" + json + "]");
        Assert.False(one.IsValid);
        Assert.Contains(one.Errors, e => e.Path == path && e.Message.Contains("twice", StringComparison.Ordinal));
        Assert.False(many.IsValid);
        Assert.Contains(many.Errors, e => e.Path == path.Replace("$.", "$[0].", StringComparison.Ordinal) && e.Message.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public void ASegmentNamingAKeyTwice_IsRefusedWithThePath()
    {
        var result = SegmentJson.Parse("""{"id": "s", "name": "S", "rule": {"trait": "tier", "op": "eq", "value": "gold", "value": "silver"}}""");
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == "$.rule.value" && e.Message.Contains("twice", StringComparison.Ordinal));
    }

    [Fact]
    public void AJourneyBuiltInCode_WithANodeNamingAKeyTwice_IsRefusedNotThrown()
    {
        var value = JsonNode.Parse("""{"a": 1, "a": 2}""");
        var definition = new JourneyDefinition(
            "j",
            1,
            "J",
            new EventTrigger("order.placed"),
            [new UpdateProfileStep("a", [new TraitUpdate(TraitUpdateKind.Set, "prefs", value)]) { Next = "end" }, new ExitStep("end")]);
        var errors = JourneyDefinitionValidator.Validate(definition);
        Assert.Contains(errors, e => e.Path.StartsWith("$.steps[0]", StringComparison.Ordinal) && e.Message.Contains("twice", StringComparison.Ordinal));
    }
}
