using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Journeys;

/// <summary>An exit or goal event a profile remembers for a journey (version), by event time.</summary>
internal interface IOutcomeSeen
{
    string JourneyId { get; }

    int Version { get; }

    string? Key { get; }

    DateTimeOffset At { get; }
}

/// <summary>An exit event of a journey (version), with the correlation value it named (null: every instance).</summary>
internal sealed class ExitSeen : IOutcomeSeen
{
    public required string JourneyId { get; set; }

    public int Version { get; set; }

    public string? Key { get; set; }

    public required string EventType { get; set; }

    /// <summary>The event's time (at most when it was processed).</summary>
    public DateTimeOffset At { get; set; }
}

/// <summary>A goal event of a journey (version): what the live goal path credits (its revenue is read from its properties).</summary>
internal sealed class GoalSeen : IOutcomeSeen
{
    public required string JourneyId { get; set; }

    public int Version { get; set; }

    public string? Key { get; set; }

    /// <summary>The event's time (at most when it was processed).</summary>
    public DateTimeOffset At { get; set; }

    public required string EventId { get; set; }

    public required string EventType { get; set; }

    public DateTimeOffset Timestamp { get; set; }

    public string Channel { get; set; } = ChannelNames.Web;

    public JsonObject? Properties { get; set; }

    /// <summary>Whether it already converted an entry of the journey: one conversion per goal event.</summary>
    public bool Credited { get; set; }
}

/// <summary>
/// An event a journey (version) waits for in a <c>waitForEvent</c> step, remembered by event time so that an instance
/// waiting on another profile of hers is answered by it when the two are merged (a cart on a device, the order on her
/// account, the device linked later).
/// </summary>
internal sealed class WaitAnswerSeen
{
    public required string JourneyId { get; set; }

    public int Version { get; set; }

    public string? Key { get; set; }

    /// <summary>The event's time (an order sent again: when it was first placed).</summary>
    public DateTimeOffset At { get; set; }

    public required string EventId { get; set; }

    public required string EventType { get; set; }

    public DateTimeOffset Timestamp { get; set; }

    public JsonObject? Properties { get; set; }
}
