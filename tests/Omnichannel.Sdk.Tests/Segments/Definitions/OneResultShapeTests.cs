using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

/// <summary>One parse result and one error shape for every kind of definition.</summary>
public sealed class OneResultShapeTests
{
    [Fact]
    public void SegmentsAndJourneys_ParseToTheSameResultShape_WithJsonPaths()
    {
        ParseResult<SegmentDefinition> segment = SegmentJson.Parse("""{"id": "s", "name": "S", "rule": {"trait": "tier", "op": "nope", "value": 1}}""");
        ParseResult<JourneyDefinition> journey = JourneyJson.Parse("""{"id": "j", "version": 1, "name": "J", "trigger": {"type": "event", "event": "x.y"}, "steps": []}""");
        ParseResult<IReadOnlyList<SegmentDefinition>> set = SegmentJson.ParseMany("""[{"id": "a", "name": "A", "rule": {"segment": "missing"}}]""");

        Assert.False(segment.IsValid);
        Assert.Null(segment.Value);
        Assert.Equal("$.rule.op", Assert.Single(segment.Errors).Path);
        Assert.Contains(journey.Errors, e => e.Path == "$.steps");
        Assert.StartsWith("$[0]", Assert.Single(set.Errors).Path, StringComparison.Ordinal);
    }

    [Fact]
    public void DefinitionException_CatchesBothKinds_FromRegistration()
    {
        var services = new ServiceCollection();
        var segment = Assert.ThrowsAny<DefinitionException>(() => services.AddOmnichannel().AddSegmentsFromJson("""{"id": "s", "name": "S", "rule": {}}"""));
        var journey = Assert.ThrowsAny<DefinitionException>(() => services.AddOmnichannel().AddJourneysFromJson("""{"id": "j"}"""));

        Assert.IsType<SegmentDefinitionException>(segment);
        Assert.IsType<JourneyDefinitionException>(journey);
        Assert.All(segment.Errors.Concat(journey.Errors), e => Assert.StartsWith("$", e.Path, StringComparison.Ordinal));
        Assert.StartsWith("The journey definition is invalid", journey.Message, StringComparison.Ordinal);
    }
}
