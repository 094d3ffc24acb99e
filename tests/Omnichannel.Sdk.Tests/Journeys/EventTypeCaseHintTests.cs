using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>
/// Event types are compared exactly, so <c>Cart.Item_Added</c> would never match <c>cart.item_added</c>: every place that
/// refuses one only in the wrong case (journey and segment definitions, the event at the door) names the type to write.
/// </summary>
public sealed class EventTypeCaseHintTests
{
    [Fact]
    public void AJourneyTrigger_InTheWrongCase_SuggestsTheLowerCaseType()
    {
        var result = JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "Cart.Item_Added"},
             "steps": [{"id": "end", "type": "exit"}]}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.trigger.event", error.Path);
        Assert.Contains("'Cart.Item_Added' is not a valid event type", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("(did you mean 'cart.item_added'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInvalidTypeThatIsNotOnlyACaseSlip_GetsNoSuggestion()
    {
        var result = JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "Cart Item Added"},
             "steps": [{"id": "end", "type": "exit"}]}
            """);

        Assert.DoesNotContain("did you mean", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASegmentEventRule_InTheWrongCase_SuggestsTheLowerCaseType()
    {
        var result = SegmentJson.Parse("""{"id": "buyers", "name": "Buyers", "rule": {"event": "Order.Placed", "count": {"op": "gte", "value": 1}}}""");

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.rule.event", error.Path);
        Assert.EndsWith("(did you mean 'order.placed'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEvent_InTheWrongCase_IsRejectedWithTheTypeToWrite()
    {
        await using var host = OmnichannelTestHost.Create();

        var rejected = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("Order.Placed", [Identifier.Email("ann@example.com")]));

        Assert.Equal(TrackStatus.Rejected, rejected.Result.Status);
        var error = Assert.Single(rejected.Result.Errors);
        Assert.Equal("type", error.Field);
        Assert.EndsWith("(did you mean 'order.placed'?)", error.Message, StringComparison.Ordinal);
    }
}
