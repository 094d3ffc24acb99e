namespace Omnichannel.Sdk.Segments;

/// <summary>Writes segment rules in C#; each method returns the model rule (or a step towards it).</summary>
public sealed class RuleBuilder
{
    private RuleBuilder()
    {
    }

    /// <summary>The builder (it has no state).</summary>
    public static RuleBuilder Instance { get; } = new();

    /// <summary><c>{"all": [...]}</c>: every rule holds.</summary>
    /// <param name="rules">The rules.</param>
    public AllRule All(params SegmentRule[] rules) => new(rules);

    /// <summary><c>{"any": [...]}</c>: at least one rule holds.</summary>
    /// <param name="rules">The rules.</param>
    public AnyRule Any(params SegmentRule[] rules) => new(rules);

    /// <summary><c>{"not": {...}}</c>: the rule does not hold.</summary>
    /// <param name="rule">The rule.</param>
    public NotRule Not(SegmentRule rule) => new(rule);

    /// <summary><c>{"trait": path, ...}</c>: a condition on a profile trait; finish with an operator (<c>.Eq("vip")</c>).</summary>
    /// <param name="path">The dotted trait path.</param>
    public ConditionBuilder<TraitRule> Trait(string path) => new(c => new TraitRule(path, c));

    /// <summary><c>{"stat": name, ...}</c>: a condition on a profile statistic (see <see cref="ProfileStatisticNames"/>).</summary>
    /// <param name="statistic">The statistic's name.</param>
    public ConditionBuilder<StatisticRule> Stat(string statistic) => new(c => new StatisticRule(statistic, c));

    /// <summary><c>{"event": type}</c>: the profile had the event at least once, ever; refine with <c>.Count</c>, <c>.Within</c>, <c>.Where</c>.</summary>
    /// <param name="eventType">The event type.</param>
    public EventRule Event(string eventType) => new(eventType);

    /// <summary><c>{"aggregate": "sum", ...}</c>; finish with an operator, then refine with <c>.Within</c>, <c>.Where</c>.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property to add up.</param>
    public ConditionBuilder<AggregateRule> Sum(string eventType, string property) => Aggregate(AggregateFunction.Sum, eventType, property);

    /// <summary><c>{"aggregate": "avg", ...}</c>.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property to average.</param>
    public ConditionBuilder<AggregateRule> Avg(string eventType, string property) => Aggregate(AggregateFunction.Avg, eventType, property);

    /// <summary><c>{"aggregate": "min", ...}</c>.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property.</param>
    public ConditionBuilder<AggregateRule> Min(string eventType, string property) => Aggregate(AggregateFunction.Min, eventType, property);

    /// <summary><c>{"aggregate": "max", ...}</c>.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property.</param>
    public ConditionBuilder<AggregateRule> Max(string eventType, string property) => Aggregate(AggregateFunction.Max, eventType, property);

    /// <summary><c>{"aggregate": "distinct", ...}</c>: the number of distinct values of the property.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property.</param>
    public ConditionBuilder<AggregateRule> Distinct(string eventType, string property) => Aggregate(AggregateFunction.Distinct, eventType, property);

    /// <summary><c>{"aggregate": "count", ...}</c>: the number of matching events (only those having <paramref name="property"/> when given).</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property events must have, or <see langword="null"/>.</param>
    public ConditionBuilder<AggregateRule> CountOf(string eventType, string? property = null) => Aggregate(AggregateFunction.Count, eventType, property);

    /// <summary>An aggregate of any function.</summary>
    /// <param name="function">The function.</param>
    /// <param name="eventType">The event type.</param>
    /// <param name="property">The property (optional only for <see cref="AggregateFunction.Count"/>).</param>
    public ConditionBuilder<AggregateRule> Aggregate(AggregateFunction function, string eventType, string? property) =>
        new(c => new AggregateRule(function, eventType, c) { Property = property });

    /// <summary><c>{"lastEvent": type, ...}</c>: when the profile last had the event.</summary>
    /// <param name="eventType">The event type.</param>
    public RecencyBuilder LastEvent(string eventType) => new(RecencyKind.Last, eventType);

    /// <summary><c>{"firstEvent": type, ...}</c>: when the profile first had the event.</summary>
    /// <param name="eventType">The event type.</param>
    public RecencyBuilder FirstEvent(string eventType) => new(RecencyKind.First, eventType);

    /// <summary><c>{"segment": id}</c>: the profile is a member of another segment.</summary>
    /// <param name="segmentId">The other segment's id.</param>
    public SegmentMembershipRule Segment(string segmentId) => new(segmentId);

    /// <summary><c>{"reachable": channel, "topic": topic}</c>: the profile has an address on the channel and consent.</summary>
    /// <param name="channel">The channel (see <see cref="ChannelNames"/>).</param>
    /// <param name="topic">The topic, or <see langword="null"/> for the channel as a whole.</param>
    public ReachableRule Reachable(string channel, string? topic = null) => new(channel, topic);

    /// <summary>A condition on an event property, for <c>.Where(...)</c>; finish with an operator.</summary>
    /// <param name="path">The dotted property path.</param>
    public ConditionBuilder<PropertyCondition> Property(string path) => new(c => new PropertyCondition(path, c));
}

/// <summary>Finishes a <c>lastEvent</c>/<c>firstEvent</c> rule with its operator.</summary>
public sealed class RecencyBuilder
{
    private readonly RecencyKind _which;
    private readonly string _eventType;

    internal RecencyBuilder(RecencyKind which, string eventType)
    {
        _which = which;
        _eventType = eventType;
    }

    /// <summary><c>withinLast</c>: the event happened in the last <paramref name="duration"/>.</summary>
    /// <param name="duration">The duration.</param>
    public RecencyRule WithinLast(IsoDuration duration) => new(_which, _eventType, ConditionOperator.WithinLast, duration);

    /// <summary><c>withinLast</c> with an ISO 8601 duration such as <c>P30D</c>.</summary>
    /// <param name="duration">The duration.</param>
    /// <exception cref="FormatException"><paramref name="duration"/> is not an ISO 8601 duration.</exception>
    public RecencyRule WithinLast(string duration) => WithinLast(IsoDuration.Parse(duration));

    /// <summary><c>moreThanAgo</c>: the event happened, and at least <paramref name="duration"/> ago (false when it never happened).</summary>
    /// <param name="duration">The duration.</param>
    public RecencyRule MoreThanAgo(IsoDuration duration) => new(_which, _eventType, ConditionOperator.MoreThanAgo, duration);

    /// <summary><c>moreThanAgo</c> with an ISO 8601 duration such as <c>P90D</c>.</summary>
    /// <param name="duration">The duration.</param>
    /// <exception cref="FormatException"><paramref name="duration"/> is not an ISO 8601 duration.</exception>
    public RecencyRule MoreThanAgo(string duration) => MoreThanAgo(IsoDuration.Parse(duration));
}
