using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// An automation: what starts it (<see cref="Trigger"/>), who may enter (<see cref="Entry"/>), what ends it early
/// (<see cref="Exit"/>, <see cref="Goal"/>) and what it does (<see cref="Steps"/>). The JSON form is the public contract;
/// see <see cref="JourneyJson"/> and <c>journey.schema.json</c>.
/// </summary>
/// <param name="Id">The journey id (<c>lower-kebab</c> or <c>lower_snake</c>); the same across versions.</param>
/// <param name="Version">The version (1 or more). A running instance finishes on the version it started on.</param>
/// <param name="Name">A display name.</param>
/// <param name="Trigger">What starts an instance.</param>
/// <param name="Steps">
/// The steps. An instance starts at the first; a step goes on to the step it names (<c>next</c>, a branch's target) or,
/// when it names none, to the step after it in the list; after the last step the instance ends.
/// </param>
public sealed record JourneyDefinition(string Id, int Version, string Name, JourneyTrigger Trigger, IReadOnlyList<JourneyStep> Steps)
{
    /// <summary>What the journey is for, for people.</summary>
    public string? Description { get; init; }

    /// <summary>Who may enter and how often (defaults: re-entry after the previous instance ended, one instance at a time).</summary>
    public JourneyEntry Entry { get; init; } = JourneyEntry.Default;

    /// <summary>
    /// Events or segment conditions that end an instance at once, whatever step it is on. They also withdraw a message the
    /// instance planned that has not left yet (held for quiet hours or a retry), after the instance ended too: a condition
    /// is read again when the message is due.
    /// </summary>
    public IReadOnlyList<JourneyExitCriterion> Exit { get; init; } = [];

    /// <summary>The conversion that ends an instance and is recorded against the journey, the last step and the variant.</summary>
    public JourneyGoal? Goal { get; init; }
}

/// <summary>When a profile that meets the trigger may start a new instance.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ReEntryPolicy>))]
public enum ReEntryPolicy
{
    /// <summary><c>never</c>: once per profile (per correlation key value when there is one), ever.</summary>
    Never,

    /// <summary><c>afterPreviousEnded</c>: again once the previous instance has ended.</summary>
    AfterPreviousEnded,

    /// <summary>
    /// <c>afterCooldown</c>: again once <see cref="JourneyEntry.Cooldown"/> has passed since the previous instance started
    /// (per correlation value). A value's last entry is remembered until its cooldown is over; past 200 values entered
    /// within their cooldowns (per journey and person), a new value is refused rather than one of them forgotten.
    /// </summary>
    AfterCooldown,
}

/// <summary>
/// Entry rules: <c>{"reEntry": "afterCooldown", "cooldown": "P7D", "maxConcurrent": 2, "correlationKey": "cart_id", "condition": {segment rule}}</c>.
/// </summary>
public sealed record JourneyEntry
{
    /// <summary>The defaults: re-entry after the previous instance ended, one instance at a time, no key, no condition.</summary>
    public static JourneyEntry Default { get; } = new();

    /// <summary>When a profile may enter again (default <see cref="ReEntryPolicy.AfterPreviousEnded"/>).</summary>
    public ReEntryPolicy ReEntry { get; init; } = ReEntryPolicy.AfterPreviousEnded;

    /// <summary>The cooldown for <see cref="ReEntryPolicy.AfterCooldown"/> (required then, not allowed otherwise).</summary>
    public IsoDuration? Cooldown { get; init; }

    /// <summary>
    /// At most this many instances run at once per profile (at least 1). <see langword="null"/> (the default) means
    /// one at a time without a <see cref="CorrelationKey"/>, and no limit with one, so <c>.CorrelatedBy("cart_id")</c>
    /// runs one instance per cart however many carts the person has (the re-entry policy still applies per value).
    /// </summary>
    public int? MaxConcurrent { get; init; }

    /// <summary>The limit in force: <see cref="MaxConcurrent"/>, else 1 without a correlation key and no limit with one.</summary>
    internal int EffectiveMaxConcurrent => MaxConcurrent ?? (CorrelationKey is null ? 1 : int.MaxValue);

    /// <summary>
    /// A dotted property path of the trigger event (<c>cart_id</c>, <c>order_id</c>): one instance per value, and the
    /// re-entry policy applies per value. Only for event triggers.
    /// </summary>
    public string? CorrelationKey { get; init; }

    /// <summary>A segment rule the profile must satisfy to enter (e.g. reachable on some channel).</summary>
    public SegmentRule? Condition { get; init; }
}

/// <summary>What ends an instance at once, whatever step it is on.</summary>
public abstract record JourneyExitCriterion;

/// <summary><c>{"event": "order.placed", "where": [...]}</c>: the profile had a matching event.</summary>
/// <param name="EventType">The event type.</param>
public sealed record EventExitCriterion(string EventType) : JourneyExitCriterion
{
    /// <summary>Conditions on the event's properties, all of which must hold.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];
}

/// <summary><c>{"condition": {segment rule}}</c>: the profile satisfies the rule.</summary>
/// <param name="Condition">The rule.</param>
public sealed record SegmentExitCriterion(SegmentRule Condition) : JourneyExitCriterion;

/// <summary><c>{"event": "order.placed", "where": [...], "within": "P7D"}</c>: the conversion the journey aims at.</summary>
/// <param name="EventType">The conversion event type.</param>
/// <param name="Within">The conversion window, from the instance's start.</param>
/// <remarks>One goal event converts one entry per journey. An <c>order.placed</c> whose <c>order_id</c> the profile already
/// holds (an update of the order, or its webhook delivered again) is that order, not another: it converts no further entry
/// of a goal without <c>where</c>. A goal with <c>where</c> is met by the first copy that matches it (an order created
/// pending and updated to paid converts at the update).</remarks>
public sealed record JourneyGoal(string EventType, IsoDuration Within)
{
    /// <summary>Conditions on the event's properties, all of which must hold.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];
}

/// <summary>What starts a journey instance. JSON: an object with <c>"type"</c>: <c>event</c>, <c>segment</c>, <c>date</c> or <c>inactivity</c>.</summary>
public abstract record JourneyTrigger;

/// <summary><c>{"type": "event", "event": "cart.item_added", "where": [...], "maxAge": "P1D"}</c>: a matching event.</summary>
/// <remarks>An <c>order.placed</c> whose <c>order_id</c> the profile already holds (an update of the order, or a webhook
/// delivered again under a new event id) starts nothing: an order starts a journey once, whatever the arrival order of
/// its copies (each refused start is a <c>journey.entry_refused</c> timeline entry).</remarks>
/// <param name="EventType">The event type.</param>
public sealed record EventTrigger(string EventType) : JourneyTrigger
{
    /// <summary>The default <see cref="MaxAge"/>: one day (<c>P1D</c>).</summary>
    public static IsoDuration DefaultMaxAge { get; } = IsoDuration.FromDays(1);

    /// <summary>Conditions on the event's properties, all of which must hold.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];

    /// <summary>
    /// How old (its <see cref="CustomerEvent.Timestamp"/> against the engine's clock when it is processed) a matching event
    /// may be and still start an instance; an older one is refused (<c>journey.entry_refused</c> on her timeline, counted as
    /// <c>entry_refused</c>) but is kept on her profile like any event. Default <see cref="DefaultMaxAge"/> (one day), so a
    /// back-fill of last year's carts or orders, or a device that syncs weeks late, does not message her about them now
    /// (as Ometria's four hours, or AWS Customer Profiles' <c>EventExpiration</c>). <see langword="null"/> (JSON
    /// <c>"maxAge": null</c>): no limit. Must not be zero. Only the start is limited: an old event still answers waits,
    /// exits and goals by its own time.
    /// </summary>
    public IsoDuration? MaxAge { get; init; } = DefaultMaxAge;
}

/// <summary>Entering or leaving a segment.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SegmentTransition>))]
public enum SegmentTransition
{
    /// <summary><c>entered</c>.</summary>
    Entered,

    /// <summary><c>exited</c>.</summary>
    Exited,
}

/// <summary><c>{"type": "segment", "segment": "no-order-90d", "on": "entered", "maxAge": "P1D"}</c>: entering (or leaving) a segment.</summary>
/// <param name="SegmentId">The segment id.</param>
/// <param name="On">Entering or leaving.</param>
public sealed record SegmentTrigger(string SegmentId, SegmentTransition On) : JourneyTrigger
{
    /// <summary>
    /// How old (its <see cref="CustomerEvent.Timestamp"/> against the engine's clock when it is processed) the tracked event
    /// that made her enter (or leave) the segment may be and still start an instance; when it is older the transition is
    /// history: she is in the segment, but the journey is refused (<c>journey.entry_refused</c> on her timeline, counted as
    /// <c>entry_refused</c>), so an import of last year's orders does not send a review request or a "welcome, VIP" to every
    /// customer it puts into a segment. Default <see cref="EventTrigger.DefaultMaxAge"/> (one day). Transitions no event
    /// caused (time passing, a segment loaded at run time, a journey's <c>updateProfile</c>) are not limited.
    /// <see langword="null"/> (JSON <c>"maxAge": null</c>): no limit. Must not be zero.
    /// </summary>
    public IsoDuration? MaxAge { get; init; } = EventTrigger.DefaultMaxAge;
}

/// <summary>
/// <c>{"type": "date", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00", "annual": false}</c>: the date in a
/// trait, moved by <see cref="Offset"/>, at <see cref="LocalTime"/> in the customer's time zone. With
/// <see cref="Annual"/>, every year on the date's month and day (birthdays). A new trait value reschedules it. The trait
/// holds an ISO 8601 date or date-time; an annual date may also be written without a year (<c>--05-12</c>). Other text
/// (<c>05/12/1990</c>) is no date, as in segment rules.
/// </summary>
/// <param name="Trait">The dotted trait path holding the date.</param>
/// <param name="Offset">The signed offset from the date (<c>-P3D</c>: three days before).</param>
/// <param name="LocalTime">The time of day in the customer's zone.</param>
public sealed record DateTrigger(string Trait, IsoOffset Offset, TimeOnly LocalTime) : JourneyTrigger
{
    /// <summary>Whether it recurs every year (birthdays, anniversaries).</summary>
    public bool Annual { get; init; }
}

/// <summary>
/// <c>{"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "P7D", "maxAge": "P1D"}</c>:
/// an event was followed by none of <see cref="NoEventTypes"/> for <see cref="Within"/>.
/// </summary>
/// <remarks>An <c>order.placed</c> whose <c>order_id</c> the profile already holds (an update of the order, or its webhook
/// delivered again) is that order at its first time, as for goals, exits and waits: an edit of an order placed before the
/// <c>afterEvent</c> is no order after it, in either arrival order (an update arriving before its original counts at the
/// original's time once that arrives). Any <c>noEvent</c> inside the window answers it, not only the latest one.</remarks>
/// <param name="AfterEventType">The event that starts the clock (each new one restarts it).</param>
/// <param name="NoEventTypes">The events whose absence fires the trigger.</param>
/// <param name="Within">How long they must be absent.</param>
public sealed record InactivityTrigger(string AfterEventType, IReadOnlyList<string> NoEventTypes, IsoDuration Within) : JourneyTrigger
{
    /// <summary>
    /// How long after the deadline (the <c>afterEvent</c>'s time plus <see cref="Within"/>) the engine may learn of the
    /// <c>afterEvent</c> that set it and still start an instance; later, the deadline is history and the instance is refused
    /// (<c>journey.entry_refused</c> on her timeline when it falls due, counted as <c>entry_refused</c>). Default
    /// <see cref="EventTrigger.DefaultMaxAge"/> (one day), so an import of last year's orders does not send a win-back to
    /// every customer whose last order is older than <see cref="Within"/>, as a flow in Klaviyo or Braze starts only on
    /// events that happen once it is live. A deadline the engine knew before it passed still starts an instance when it
    /// is late (the engine was down). <see langword="null"/> (JSON <c>"maxAge": null</c>): no limit. Must not be zero.
    /// </summary>
    public IsoDuration? MaxAge { get; init; } = EventTrigger.DefaultMaxAge;
}
