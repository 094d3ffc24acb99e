using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

/// <summary>A named audience: every profile for which <see cref="Rule"/> holds, live.</summary>
/// <param name="Id">The segment id (<c>lower-kebab</c> or <c>lower_snake</c>; referenced by other segments and journeys).</param>
/// <param name="Name">A display name.</param>
/// <param name="Rule">The rule a profile must satisfy.</param>
public sealed record SegmentDefinition(string Id, string Name, SegmentRule Rule)
{
    /// <summary>What the segment is for, for people.</summary>
    public string? Description { get; init; }
}

/// <summary>A node of a segment rule. The JSON form is the public contract; see <c>segment.schema.json</c>.</summary>
public abstract record SegmentRule;

/// <summary><c>{"all": [...]}</c>: every child holds (true when empty).</summary>
/// <param name="Rules">The children.</param>
public sealed record AllRule(IReadOnlyList<SegmentRule> Rules) : SegmentRule;

/// <summary><c>{"any": [...]}</c>: at least one child holds (false when empty).</summary>
/// <param name="Rules">The children.</param>
public sealed record AnyRule(IReadOnlyList<SegmentRule> Rules) : SegmentRule;

/// <summary><c>{"not": {...}}</c>: the child does not hold.</summary>
/// <param name="Rule">The child.</param>
public sealed record NotRule(SegmentRule Rule) : SegmentRule;

/// <summary><c>{"trait": "address.city", "op": "eq", "value": "Paris"}</c>: a condition on a profile trait.</summary>
/// <param name="Path">The dotted trait path.</param>
/// <param name="Condition">The operator and its operand.</param>
public sealed record TraitRule(string Path, Condition Condition) : SegmentRule;

/// <summary>
/// <c>{"stat": "orderCount", "op": "gte", "value": 3}</c>: a condition on a profile statistic or the lifecycle stage
/// (see <see cref="ProfileStatisticNames"/>).
/// </summary>
/// <param name="Statistic">The statistic's name.</param>
/// <param name="Condition">The operator and its operand.</param>
public sealed record StatisticRule(string Statistic, Condition Condition) : SegmentRule;

/// <summary>
/// <c>{"event": "order.placed", "where": [...], "count": {"op": "gte", "value": 3}, "within": "P365D"}</c>: how many
/// matching events the profile had in a window. No count means at least once; no window means ever.
/// </summary>
/// <param name="EventType">The event type.</param>
public sealed record EventRule(string EventType) : SegmentRule
{
    /// <summary>Conditions on the event's properties, all of which must hold.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];

    /// <summary>The count condition; <see langword="null"/> means at least once.</summary>
    public Condition? Count { get; init; }

    /// <summary>The window; <see langword="null"/> means ever.</summary>
    public TimeWindow? Window { get; init; }
}

/// <summary>
/// <c>{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P90D", "op": "gte", "value": 500}</c>:
/// a condition on an aggregate of an event property over a window.
/// </summary>
/// <param name="Function">The aggregate function.</param>
/// <param name="EventType">The event type.</param>
/// <param name="Condition">The condition on the aggregate's value.</param>
public sealed record AggregateRule(AggregateFunction Function, string EventType, Condition Condition) : SegmentRule
{
    /// <summary>The aggregated property path (not needed for <see cref="AggregateFunction.Count"/>).</summary>
    public string? Property { get; init; }

    /// <summary>Conditions on the event's properties, all of which must hold for an event to count.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];

    /// <summary>The window; <see langword="null"/> means ever.</summary>
    public TimeWindow? Window { get; init; }
}

/// <summary>
/// <c>{"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D"}</c> (or <c>firstEvent</c>): when the profile
/// last (or first) had an event. <c>moreThanAgo</c> is false for a profile that never had it.
/// </summary>
/// <param name="Which">First or last.</param>
/// <param name="EventType">The event type.</param>
/// <param name="Op"><see cref="ConditionOperator.WithinLast"/> or <see cref="ConditionOperator.MoreThanAgo"/>.</param>
/// <param name="Duration">The duration.</param>
public sealed record RecencyRule(RecencyKind Which, string EventType, ConditionOperator Op, IsoDuration Duration) : SegmentRule
{
    /// <summary>Conditions on the event's properties, all of which must hold for an event to count.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];
}

/// <summary><c>{"segment": "vip"}</c>: the profile is a member of another segment.</summary>
/// <param name="SegmentId">The other segment's id.</param>
public sealed record SegmentMembershipRule(string SegmentId) : SegmentRule;

/// <summary><c>{"reachable": "email", "topic": "newsletter"}</c>: the profile has an address on the channel and consent for the topic.</summary>
/// <param name="Channel">The channel (see <see cref="ChannelNames"/>).</param>
/// <param name="Topic">The topic, or <see langword="null"/> for the channel as a whole.</param>
public sealed record ReachableRule(string Channel, string? Topic) : SegmentRule;

/// <summary>First or last occurrence.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RecencyKind>))]
public enum RecencyKind
{
    /// <summary>The first occurrence (<c>firstEvent</c>).</summary>
    First,

    /// <summary>The last occurrence (<c>lastEvent</c>).</summary>
    Last,
}

/// <summary>Aggregate functions.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<AggregateFunction>))]
public enum AggregateFunction
{
    /// <summary><c>sum</c>.</summary>
    Sum,

    /// <summary><c>avg</c>.</summary>
    Avg,

    /// <summary><c>min</c>.</summary>
    Min,

    /// <summary><c>max</c>.</summary>
    Max,

    /// <summary><c>count</c>: the number of matching events (the property is optional; when given, only events that have it count).</summary>
    Count,

    /// <summary><c>distinct</c>: the number of distinct values of the property (array values count each element; two objects are one value when their members are equal, in any order).</summary>
    Distinct,
}

/// <summary>Condition operators, with their JSON names.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ConditionOperator>))]
public enum ConditionOperator
{
    /// <summary><c>eq</c>: equal (numbers by value, strings ordinally, booleans, dates as instants).</summary>
    Eq,

    /// <summary><c>ne</c>: not equal; true when the value is missing.</summary>
    Ne,

    /// <summary><c>gt</c>.</summary>
    Gt,

    /// <summary><c>gte</c>.</summary>
    Gte,

    /// <summary><c>lt</c>.</summary>
    Lt,

    /// <summary><c>lte</c>.</summary>
    Lte,

    /// <summary><c>in</c>: equal to one of an array of values (an array value: one of its elements is).</summary>
    In,

    /// <summary><c>notIn</c>: equal to none of an array of values (an array value: none of its elements is); true when the value is missing.</summary>
    NotIn,

    /// <summary><c>contains</c>: a string contains the operand (ordinal), or an array has an element equal to it.</summary>
    Contains,

    /// <summary><c>startsWith</c>: a string starts with the operand (ordinal).</summary>
    StartsWith,

    /// <summary><c>exists</c>: the value is present and not null (no operand).</summary>
    Exists,

    /// <summary><c>notExists</c>: the value is missing or null (no operand).</summary>
    NotExists,

    /// <summary><c>between</c>: <c>[low, high]</c>, both inclusive.</summary>
    Between,

    /// <summary><c>withinLast</c>: a date in (now − duration, now].</summary>
    WithinLast,

    /// <summary><c>moreThanAgo</c>: a date at or before now − duration.</summary>
    MoreThanAgo,

    /// <summary><c>anniversaryWithin</c>: the date's next anniversary (month and day) falls within [today, today + duration] (birthdays; a date without a year, <c>--05-12</c>, is read too; an instant such as <c>firstOrderAt</c> is the date it was in her time zone).</summary>
    AnniversaryWithin,
}

/// <summary>An operator and its operand (<see langword="null"/> for <c>exists</c>/<c>notExists</c>).</summary>
/// <param name="Op">The operator.</param>
/// <param name="Value">The operand as JSON: a scalar, an array (for <c>in</c>, <c>notIn</c>, <c>between</c>), or an ISO 8601 duration string for the date operators. For <c>gt</c>, <c>gte</c>, <c>lt</c>, <c>lte</c> and <c>between</c> a string is refused when it is a number written as text (<c>"30"</c>: write <c>30</c>; digits with a leading zero, <c>"02134"</c>, are a code and compare as text) or looks like a date but is no ISO 8601 instant (<c>"01/02/2024"</c>).</param>
public sealed record Condition(ConditionOperator Op, JsonNode? Value);

/// <summary><c>{"property": "category", "op": "eq", "value": "food"}</c>: a condition on an event property (dotted path).</summary>
/// <param name="Property">The dotted property path.</param>
/// <param name="Condition">The operator and its operand.</param>
public sealed record PropertyCondition(string Property, Condition Condition);

/// <summary>A time window: the last <see cref="Within"/> (events with <c>now − D &lt; time ≤ now</c>), or fixed bounds.</summary>
public sealed record TimeWindow
{
    /// <summary>A sliding window: events with <c>now − D &lt; time ≤ now</c>.</summary>
    public IsoDuration? Within { get; init; }

    /// <summary>A fixed window's start (inclusive).</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>A fixed window's end (exclusive).</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>A sliding window of the last <paramref name="duration"/>.</summary>
    /// <param name="duration">The duration.</param>
    public static TimeWindow Last(IsoDuration duration) => new() { Within = duration };

    /// <summary>A fixed window <c>[from, to)</c>.</summary>
    /// <param name="from">Start, inclusive.</param>
    /// <param name="to">End, exclusive.</param>
    public static TimeWindow Between(DateTimeOffset from, DateTimeOffset to) => new() { From = from, To = to };
}

/// <summary>The names of the profile statistics a <see cref="StatisticRule"/> can address.</summary>
public static class ProfileStatisticNames
{
    /// <summary>Number of orders (number).</summary>
    public const string OrderCount = "orderCount";

    /// <summary>Total spent (number).</summary>
    public const string TotalSpent = "totalSpent";

    /// <summary>Average order value (number).</summary>
    public const string AverageOrderValue = "averageOrderValue";

    /// <summary>First order time (date).</summary>
    public const string FirstOrderAt = "firstOrderAt";

    /// <summary>Last order time (date).</summary>
    public const string LastOrderAt = "lastOrderAt";

    /// <summary>First seen (date).</summary>
    public const string FirstSeen = "firstSeen";

    /// <summary>Last seen (date): her latest event; reports on messages sent to her (sent, delivered, failed, skipped, bounced) are not her activity.</summary>
    public const string LastSeen = "lastSeen";

    /// <summary>Number of events (number).</summary>
    public const string EventCount = "eventCount";

    /// <summary>Number of returns (number).</summary>
    public const string ReturnCount = "returnCount";

    /// <summary>Value returned (number).</summary>
    public const string ReturnValue = "returnValue";

    /// <summary>Cancelled orders (number).</summary>
    public const string CancelledOrderCount = "cancelledOrderCount";

    /// <summary>Loyalty points balance (number).</summary>
    public const string LoyaltyPoints = "loyaltyPoints";

    /// <summary>Referrals sent (number).</summary>
    public const string ReferralsSent = "referralsSent";

    /// <summary>Referrals converted (number).</summary>
    public const string ReferralsConverted = "referralsConverted";

    /// <summary>Channels used (array of strings; use <c>contains</c>); a channel the shop only sent her messages on is not one she used.</summary>
    public const string ChannelsUsed = "channelsUsed";

    /// <summary>Lifecycle stage (string: <c>visitor</c>, <c>lead</c>, <c>customer</c>, <c>repeatCustomer</c>).</summary>
    public const string LifecycleStage = "lifecycleStage";

    /// <summary>Number of cart lines (number).</summary>
    public const string CartLineCount = "cartLineCount";

    /// <summary>Cart value (number: sum of quantity × unit price).</summary>
    public const string CartValue = "cartValue";

    /// <summary>Time the cart was last changed (date).</summary>
    public const string CartUpdatedAt = "cartUpdatedAt";

    /// <summary>Every name above.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        OrderCount, TotalSpent, AverageOrderValue, FirstOrderAt, LastOrderAt, FirstSeen, LastSeen, EventCount, ReturnCount,
        ReturnValue, CancelledOrderCount, LoyaltyPoints, ReferralsSent, ReferralsConverted, ChannelsUsed, LifecycleStage,
        CartLineCount, CartValue, CartUpdatedAt,
    ];
}
