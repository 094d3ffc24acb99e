using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// One step of a journey. JSON: an object with <c>"id"</c> (unique in the journey) and <c>"type"</c>: <c>send</c>,
/// <c>delay</c>, <c>delayUntilLocalTime</c>, <c>delayUntilDateTrait</c>, <c>waitForEvent</c>, <c>branch</c>, <c>split</c>,
/// <c>updateProfile</c>, <c>emit</c>, <c>webhook</c> or <c>exit</c>.
/// </summary>
/// <param name="Id">The step id (<c>lower-kebab</c> or <c>lower_snake</c>), unique within the journey; targets name it.</param>
public abstract record JourneyStep(string Id);

/// <summary>A step that goes on to one step: the one it names in <see cref="Next"/>, else the one after it in the list.</summary>
/// <param name="Id">The step id.</param>
public abstract record ContinuingStep(string Id) : JourneyStep(Id)
{
    /// <summary>The step to go on to; <see langword="null"/> for the next one in the list (or the end after the last).</summary>
    public string? Next { get; init; }
}

/// <summary>
/// <c>{"type": "send", "channels": ["push", "email"], "template": "cart-reminder", "topic": "cart", "class": "marketing"}</c>:
/// sends on the first channel the profile can receive, falling back through the list in order.
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Channels">The channels in fallback order (at least one).</param>
/// <param name="TemplateId">The template id.</param>
public sealed record SendStep(string Id, IReadOnlyList<string> Channels, string TemplateId) : ContinuingStep(Id)
{
    /// <summary>The consent topic (e.g. <c>cart</c>, <c>newsletter</c>), or <see langword="null"/> for the channel as a whole.</summary>
    public string? Topic { get; init; }

    /// <summary>Marketing (default) or transactional.</summary>
    public MessageClass Class { get; init; } = MessageClass.Marketing;
}

/// <summary><c>{"type": "delay", "duration": "PT1H"}</c>: waits for a duration (not zero).</summary>
/// <param name="Id">The step id.</param>
/// <param name="Duration">How long.</param>
public sealed record DelayStep(string Id, IsoDuration Duration) : ContinuingStep(Id);

/// <summary>
/// <c>{"type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday", "friday"]}</c>: waits until the next time of
/// day, in the customer's zone, on one of the allowed days (every day when there is no <c>days</c>). A time the clock skips
/// that day (spring forward) is read as that far past the jump (02:30 on a day jumping from 02:00 to 03:00 is 03:30); a
/// time it shows twice (fall back) is the first pass, or the second when the wait starts between them.
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="LocalTime">The time of day.</param>
public sealed record DelayUntilLocalTimeStep(string Id, TimeOnly LocalTime) : ContinuingStep(Id)
{
    /// <summary>The allowed days; empty for every day.</summary>
    public IReadOnlyList<DayOfWeek> Days { get; init; } = [];
}

/// <summary>
/// <c>{"type": "delayUntilDateTrait", "trait": "refill_due_at", "offset": "-P3D", "localTime"?: "09:00"}</c>: waits until
/// the date in a trait moved by an offset (at a local time when given); goes on at once when that is past.
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Trait">The dotted trait path holding the date.</param>
/// <param name="Offset">The signed offset.</param>
public sealed record DelayUntilDateTraitStep(string Id, string Trait, IsoOffset Offset) : ContinuingStep(Id)
{
    /// <summary>The time of day in the customer's zone, or <see langword="null"/> for the exact instant.</summary>
    public TimeOnly? LocalTime { get; init; }
}

/// <summary>One awaited event of a <see cref="WaitForEventStep"/>: <c>{"event": "order.placed", "where": [...], "next": "thanks"}</c>.</summary>
/// <param name="EventType">The event type.</param>
/// <param name="Next">The step to go on to, or <see langword="null"/> (only with <see cref="WaitForEventStep.RestartOnMatch"/>) to restart the timer and keep waiting.</param>
public sealed record EventBranch(string EventType, string? Next)
{
    /// <summary>Conditions on the event's properties, all of which must hold.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];
}

/// <summary>
/// <c>{"type": "waitForEvent", "branches": [{"event", "where"?, "next"?}], "timeout": "P7D", "timeoutNext"?: "sms", "restartOnMatch"?: true}</c>:
/// waits for one of the events (first matching branch wins) or the timeout. With <see cref="RestartOnMatch"/>, a
/// matching branch with no <c>next</c> restarts the timeout and keeps waiting. When her profiles merge while it waits, an
/// event another of them saw after the wait began and before the timeout answers it too (a cart on a device, the order on
/// her account).
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Branches">The awaited events (at least one).</param>
/// <param name="Timeout">How long to wait (not zero).</param>
public sealed record WaitForEventStep(string Id, IReadOnlyList<EventBranch> Branches, IsoDuration Timeout) : JourneyStep(Id)
{
    /// <summary>The step to go on to on timeout; <see langword="null"/> for the next one in the list.</summary>
    public string? TimeoutNext { get; init; }

    /// <summary>Whether a match on a branch with no <c>next</c> restarts the timer.</summary>
    public bool RestartOnMatch { get; init; }
}

/// <summary>One case of a <see cref="BranchStep"/>: <c>{"condition": {...}, "next": "push"}</c>.</summary>
/// <param name="Condition">The condition.</param>
/// <param name="Next">The step to go to when it holds.</param>
public sealed record ConditionalBranch(JourneyCondition Condition, string Next);

/// <summary>
/// <c>{"type": "branch", "branches": [{"condition", "next"}], "else"?: "email"}</c>: goes to the first branch whose
/// condition holds, else to <see cref="Else"/> (or the next step in the list).
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Branches">The cases, in order (at least one).</param>
public sealed record BranchStep(string Id, IReadOnlyList<ConditionalBranch> Branches) : JourneyStep(Id)
{
    /// <summary>The step when no condition holds; <see langword="null"/> for the next one in the list.</summary>
    public string? Else { get; init; }
}

/// <summary>One variant of a <see cref="SplitStep"/>: <c>{"name": "a", "weight": 50, "next": "email-a"}</c>.</summary>
/// <param name="Name">The variant name (unique within the step; statistics are recorded against it).</param>
/// <param name="Weight">The relative weight (positive).</param>
/// <param name="Next">The step the variant goes to.</param>
public sealed record SplitVariant(string Name, int Weight, string Next);

/// <summary>
/// <c>{"type": "split", "variants": [{"name", "weight", "next"}], "controlWeight"?: 10}</c>: an A/B split, assigned by a
/// stable hash of the profile id and journey id. Profiles in the control group (weight <see cref="ControlWeight"/>) take no
/// further step and are measured against the goal.
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Variants">The variants (at least one).</param>
public sealed record SplitStep(string Id, IReadOnlyList<SplitVariant> Variants) : JourneyStep(Id)
{
    /// <summary>The control group's weight, or <see langword="null"/> for no control group.</summary>
    public int? ControlWeight { get; init; }
}

/// <summary>How an <see cref="UpdateProfileStep"/> changes a trait.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<TraitUpdateKind>))]
public enum TraitUpdateKind
{
    /// <summary><c>set</c>: to a JSON value.</summary>
    Set,

    /// <summary><c>unset</c>: removes the trait.</summary>
    Unset,

    /// <summary>
    /// <c>increment</c>: adds a number (negative to decrement); a missing trait counts as 0, a number sent as text
    /// (<c>"100"</c>) as its number, and a trait holding anything else (other text, a boolean, a list) is left as it is.
    /// </summary>
    Increment,
}

/// <summary>One change to a trait.</summary>
/// <param name="Kind">Set, unset or increment.</param>
/// <param name="Trait">The dotted trait path.</param>
/// <param name="Value">The value for set (any JSON), the number for increment, <see langword="null"/> for unset.</param>
public sealed record TraitUpdate(TraitUpdateKind Kind, string Trait, JsonNode? Value);

/// <summary>
/// <c>{"type": "updateProfile", "set"?: {"trait": value}, "unset"?: ["trait"], "increment"?: {"trait": 1}}</c>: changes
/// traits (each trait at most once).
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="Updates">The changes (at least one).</param>
public sealed record UpdateProfileStep(string Id, IReadOnlyList<TraitUpdate> Updates) : ContinuingStep(Id);

/// <summary>
/// <c>{"type": "emit", "event": "journey.cart_recovered", "properties"?: {...}}</c>: emits an event to the host. It is also
/// applied to her profile (segments and journeys see it), but it is the journey's doing, not her activity: it moves
/// neither <c>lastSeen</c> nor <c>channelsUsed</c>.
/// </summary>
/// <param name="Id">The step id.</param>
/// <param name="EventType">The event type.</param>
public sealed record EmitStep(string Id, string EventType) : ContinuingStep(Id)
{
    /// <summary>The event's properties.</summary>
    public JsonObject? Properties { get; init; }
}

/// <summary><c>{"type": "webhook", "url": "https://...", "payload"?: "{{ profile.id }}"}</c>: calls a webhook.</summary>
/// <remarks>
/// A call to the host's own system (as <see cref="EmitStep"/> is), not a message to the person: it has no class, consent or
/// topic, and it is made for a person in the global control group too (<c>Measurement.GlobalControlShare</c> holds out
/// marketing messages; her journey still runs). A host whose webhook touches her in its turn (a mailing house, an ad
/// audience) does so on its own authority (audit U92).
/// </remarks>
/// <param name="Id">The step id.</param>
/// <param name="Url">The absolute http or https URL.</param>
public sealed record WebhookStep(string Id, string Url) : ContinuingStep(Id)
{
    /// <summary>
    /// A payload template (Liquid, rendering JSON), or <see langword="null"/> for the default payload. Every output is
    /// JSON-encoded by where it stands: escaped string content inside a JSON string (<c>"{{ profile.traits.nick }}"</c>),
    /// a whole JSON value outside one (<c>{{ profile.statistics.order_count }}</c>), so no value can change the payload's
    /// structure. A payload that does not render to valid JSON skips the step, with the reason on the timeline.
    /// </summary>
    public string? Payload { get; init; }
}

/// <summary><c>{"type": "exit", "reason"?: "no consent"}</c>: ends the instance with a recorded reason.</summary>
/// <param name="Id">The step id.</param>
public sealed record ExitStep(string Id) : JourneyStep(Id)
{
    /// <summary>The reason recorded on the timeline.</summary>
    public string? Reason { get; init; }
}

/// <summary>
/// A branch condition. JSON: a segment rule of any kind (on the profile), <c>{"trigger": "total", "op": "gte", "value": 50}</c>
/// (on the trigger event's properties), <c>{"context": "variant", "op": "eq", "value": "a"}</c> (on the instance's
/// context), combined with <c>all</c>, <c>any</c> and <c>not</c>. A condition with no <c>trigger</c> or <c>context</c>
/// leaf reads as one <see cref="ProfileCondition"/>.
/// </summary>
public abstract record JourneyCondition;

/// <summary>A segment rule of any kind, on the profile.</summary>
/// <param name="Rule">The rule.</param>
public sealed record ProfileCondition(SegmentRule Rule) : JourneyCondition;

/// <summary><c>{"trigger": "total", "op": "gte", "value": 50}</c>: a condition on a property of the event that started the instance.</summary>
/// <param name="Path">The dotted property path.</param>
/// <param name="Condition">The operator and operand.</param>
public sealed record TriggerCondition(string Path, Condition Condition) : JourneyCondition;

/// <summary>
/// <c>{"context": "variant", "op": "eq", "value": "a"}</c>: a condition on the instance's context (what it captured and
/// recorded: <c>variant</c>, <c>correlationKey</c>, values set by the engine).
/// </summary>
/// <param name="Path">The dotted context path.</param>
/// <param name="Condition">The operator and operand.</param>
public sealed record ContextCondition(string Path, Condition Condition) : JourneyCondition;

/// <summary><c>{"all": [...]}</c>: every child holds.</summary>
/// <param name="Conditions">The children.</param>
public sealed record AllCondition(IReadOnlyList<JourneyCondition> Conditions) : JourneyCondition;

/// <summary><c>{"any": [...]}</c>: at least one child holds.</summary>
/// <param name="Conditions">The children.</param>
public sealed record AnyCondition(IReadOnlyList<JourneyCondition> Conditions) : JourneyCondition;

/// <summary><c>{"not": {...}}</c>: the child does not hold.</summary>
/// <param name="Condition">The child.</param>
public sealed record NotCondition(JourneyCondition Condition) : JourneyCondition;
