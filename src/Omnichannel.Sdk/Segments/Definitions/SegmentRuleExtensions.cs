namespace Omnichannel.Sdk.Segments;

/// <summary>Refinements of event, aggregate and recency rules for the fluent builder (each returns a new rule).</summary>
public static class SegmentRuleExtensions
{
    private static readonly ConditionBuilder<Condition> Conditions = new(c => c);

    /// <summary>The number of matching events, e.g. <c>.Count(c =&gt; c.Gte(3))</c>.</summary>
    /// <param name="rule">The event rule.</param>
    /// <param name="count">Builds the count condition.</param>
    public static EventRule Count(this EventRule rule, Func<ConditionBuilder<Condition>, Condition> count)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(count);
        return rule with { Count = count(Conditions) };
    }

    /// <summary>Counts only events in the last <paramref name="duration"/>.</summary>
    /// <param name="rule">The event rule.</param>
    /// <param name="duration">The window.</param>
    public static EventRule Within(this EventRule rule, IsoDuration duration) => rule with { Window = TimeWindow.Last(duration) };

    /// <summary>Counts only events in the last <paramref name="duration"/> (ISO 8601, e.g. <c>P365D</c>).</summary>
    /// <param name="rule">The event rule.</param>
    /// <param name="duration">The window.</param>
    /// <exception cref="FormatException"><paramref name="duration"/> is not an ISO 8601 duration.</exception>
    public static EventRule Within(this EventRule rule, string duration) => rule.Within(IsoDuration.Parse(duration));

    /// <summary>Counts only events in <c>[from, to)</c>.</summary>
    /// <param name="rule">The event rule.</param>
    /// <param name="from">Start, inclusive.</param>
    /// <param name="to">End, exclusive.</param>
    public static EventRule Between(this EventRule rule, DateTimeOffset from, DateTimeOffset to) => rule with { Window = TimeWindow.Between(from, to) };

    /// <summary>Counts only events whose properties satisfy every condition (written with <c>r.Property(...)</c>).</summary>
    /// <param name="rule">The event rule.</param>
    /// <param name="conditions">The conditions.</param>
    public static EventRule Where(this EventRule rule, params PropertyCondition[] conditions) => rule with { Where = [.. rule.Where, .. conditions] };

    /// <summary>Aggregates only events in the last <paramref name="duration"/>.</summary>
    /// <param name="rule">The aggregate rule.</param>
    /// <param name="duration">The window.</param>
    public static AggregateRule Within(this AggregateRule rule, IsoDuration duration) => rule with { Window = TimeWindow.Last(duration) };

    /// <summary>Aggregates only events in the last <paramref name="duration"/> (ISO 8601, e.g. <c>P90D</c>).</summary>
    /// <param name="rule">The aggregate rule.</param>
    /// <param name="duration">The window.</param>
    /// <exception cref="FormatException"><paramref name="duration"/> is not an ISO 8601 duration.</exception>
    public static AggregateRule Within(this AggregateRule rule, string duration) => rule.Within(IsoDuration.Parse(duration));

    /// <summary>Aggregates only events in <c>[from, to)</c>.</summary>
    /// <param name="rule">The aggregate rule.</param>
    /// <param name="from">Start, inclusive.</param>
    /// <param name="to">End, exclusive.</param>
    public static AggregateRule Between(this AggregateRule rule, DateTimeOffset from, DateTimeOffset to) => rule with { Window = TimeWindow.Between(from, to) };

    /// <summary>Aggregates only events whose properties satisfy every condition.</summary>
    /// <param name="rule">The aggregate rule.</param>
    /// <param name="conditions">The conditions.</param>
    public static AggregateRule Where(this AggregateRule rule, params PropertyCondition[] conditions) => rule with { Where = [.. rule.Where, .. conditions] };

    /// <summary>Considers only events whose properties satisfy every condition.</summary>
    /// <param name="rule">The recency rule.</param>
    /// <param name="conditions">The conditions.</param>
    public static RecencyRule Where(this RecencyRule rule, params PropertyCondition[] conditions) => rule with { Where = [.. rule.Where, .. conditions] };
}
