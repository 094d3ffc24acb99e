using System.Runtime.CompilerServices;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Applies one <see cref="Condition"/> to a value at an instant, and says when the answer can next change on its own
/// (only the date operators <c>withinLast</c>, <c>moreThanAgo</c> and <c>anniversaryWithin</c> depend on time).
/// </summary>
internal static class ConditionMatcher
{
    // Operands are read once per condition object, not once per evaluation.
    private static readonly ConditionalWeakTable<Condition, Operand> Operands = [];

    /// <summary>Whether the operator's answer can change with time alone.</summary>
    public static bool IsTimeDependent(ConditionOperator op) =>
        op is ConditionOperator.WithinLast or ConditionOperator.MoreThanAgo or ConditionOperator.AnniversaryWithin;

    /// <summary>Whether any of the conditions depends on time alone.</summary>
    public static bool AnyTimeDependent(IReadOnlyList<PropertyCondition> conditions)
    {
        foreach (var c in conditions)
        {
            if (IsTimeDependent(c.Condition.Op))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Applies a condition that does not depend on time (or at <paramref name="now"/>, ignoring when it changes).</summary>
    public static bool Matches(Condition condition, in RuleValue actual, DateTimeOffset now) => Matches(condition, actual, now, out _);

    /// <summary>Applies <paramref name="condition"/> to <paramref name="actual"/> at <paramref name="now"/>.</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="actual">The value read (missing when absent or null).</param>
    /// <param name="now">The evaluation instant.</param>
    /// <param name="next">The first instant after <paramref name="now"/> at which the answer changes, if time alone changes it.</param>
    public static bool Matches(Condition condition, in RuleValue actual, DateTimeOffset now, out DateTimeOffset? next) =>
        Matches(condition, OperandOf(condition), actual, now, out next);

    /// <summary>The operand of <paramref name="condition"/>, read once per condition object.</summary>
    internal static Operand OperandOf(Condition condition) => Operands.GetValue(condition, static c => new Operand(c));

    /// <summary>Applies <paramref name="condition"/>, whose operand the caller already has (hot loops).</summary>
    internal static bool Matches(Condition condition, Operand operand, in RuleValue actual, DateTimeOffset now, out DateTimeOffset? next, TimeZoneInfo? zone = null)
    {
        next = null;
        if (actual.Kind == RuleValueKind.Each)
        {
            return AnyOf(condition, operand, actual, now, out next, zone);
        }

        switch (condition.Op)
        {
            case ConditionOperator.Eq:
                return !actual.IsMissing && RuleValue.AreEqual(actual, operand.Value);
            case ConditionOperator.Ne:
                return actual.IsMissing || !RuleValue.AreEqual(actual, operand.Value);
            case ConditionOperator.Gt:
                return RuleValue.Compare(actual, operand.Value) is > 0;
            case ConditionOperator.Gte:
                return RuleValue.Compare(actual, operand.Value) is >= 0;
            case ConditionOperator.Lt:
                return RuleValue.Compare(actual, operand.Value) is < 0;
            case ConditionOperator.Lte:
                return RuleValue.Compare(actual, operand.Value) is <= 0;
            case ConditionOperator.In:
                return !actual.IsMissing && InList(actual, operand.Value);
            case ConditionOperator.NotIn:
                return actual.IsMissing || !InList(actual, operand.Value);
            case ConditionOperator.Contains:
                return Contains(actual, operand.Value);
            case ConditionOperator.StartsWith:
                return actual.Kind == RuleValueKind.String && operand.Value.Kind == RuleValueKind.String &&
                    actual.Text!.StartsWith(operand.Value.Text!, StringComparison.Ordinal);
            case ConditionOperator.Exists:
                return !actual.IsMissing;
            case ConditionOperator.NotExists:
                return actual.IsMissing;
            case ConditionOperator.Between:
                return operand.Value is { Kind: RuleValueKind.Array, Items.Count: 2 } range &&
                    RuleValue.Compare(actual, range.Items[0]) is >= 0 && RuleValue.Compare(actual, range.Items[1]) is <= 0;
            case ConditionOperator.WithinLast:
                return WithinLast(actual, operand.Duration, now, out next);
            case ConditionOperator.MoreThanAgo:
                return MoreThanAgo(actual, operand.Duration, now, out next);
            case ConditionOperator.AnniversaryWithin:
                return AnniversaryWithin(actual, operand.Duration, now, out next, zone ?? TimeZoneInfo.Utc);
            default:
                return false;
        }
    }

    // Audit U74 (PostHog/posthog#17824, braze-inc/braze-docs#3265): a path through a list of objects reaches one value per
    // element, and "category is shoes" holds for an order when any of its products is in shoes, as MongoDB, Braze's
    // `products[].category` and Segment's array filters read it. A negative operator is the complement of its positive
    // form over the same values ("category is not shoes": no product is), so `not` and `ne` agree. The answer can change
    // with time only when one of the values' answers does: the earliest of those is when to look again.
    private static bool AnyOf(Condition condition, Operand operand, in RuleValue each, DateTimeOffset now, out DateTimeOffset? next, TimeZoneInfo? zone)
    {
        next = null;
        var (positive, negate) = condition.Op switch
        {
            ConditionOperator.Ne => (ConditionOperator.Eq, true),
            ConditionOperator.NotIn => (ConditionOperator.In, true),
            ConditionOperator.NotExists => (ConditionOperator.Exists, true),
            _ => (condition.Op, false),
        };
        var test = positive == condition.Op ? condition : condition with { Op = positive };
        var any = false;
        var items = each.Items!;
        for (var i = 0; i < items.Count; i++)
        {
            any |= Matches(test, operand, items[i], now, out var change, zone);
            if (change is { } c && (next is null || c < next))
            {
                next = c;
            }
        }

        return any != negate;
    }

    private static bool InList(in RuleValue actual, in RuleValue list)
    {
        // An array value (tags) is in the list when one of its elements is: ["a", "b"] is in ["a"], and not notIn ["a"].
        if (actual.Kind == RuleValueKind.Array)
        {
            var elements = actual.Items!;
            for (var i = 0; i < elements.Count; i++)
            {
                if (InList(elements[i], list))
                {
                    return true;
                }
            }

            return false;
        }

        if (list.Kind != RuleValueKind.Array)
        {
            return RuleValue.AreEqual(actual, list);
        }

        // Indexing, not foreach: an interface enumerator would be allocated on every test.
        var items = list.Items!;
        for (var i = 0; i < items.Count; i++)
        {
            if (RuleValue.AreEqual(actual, items[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(in RuleValue actual, in RuleValue operand)
    {
        if (actual.Kind == RuleValueKind.String && operand.Kind == RuleValueKind.String)
        {
            return actual.Text!.Contains(operand.Text!, StringComparison.Ordinal);
        }

        if (actual.Kind == RuleValueKind.Array)
        {
            var items = actual.Items!;
            for (var i = 0; i < items.Count; i++)
            {
                if (RuleValue.AreEqual(items[i], operand))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // (now − D, now]: true from the date itself until the date leaves the window.
    private static bool WithinLast(in RuleValue actual, IsoDuration? duration, DateTimeOffset now, out DateTimeOffset? next)
    {
        next = null;
        if (duration is not { } d || !actual.TryGetInstant(out var date))
        {
            return false;
        }

        if (date > now)
        {
            next = date;
            return false;
        }

        if (date > WindowMath.WindowStart(now, d))
        {
            next = WindowMath.ExitInstant(date, d);
            return true;
        }

        return false;
    }

    // date ≤ now − D: false until the date leaves the window, then true for good.
    private static bool MoreThanAgo(in RuleValue actual, IsoDuration? duration, DateTimeOffset now, out DateTimeOffset? next)
    {
        next = null;
        if (duration is not { } d || !actual.TryGetInstant(out var date))
        {
            return false;
        }

        if (date <= WindowMath.WindowStart(now, d))
        {
            return true;
        }

        next = WindowMath.ExitInstant(date, d);
        return false;
    }

    // A birthday is a calendar date; "today" is the customer's local date, and the answer changes at her local midnight.
    private static bool AnniversaryWithin(in RuleValue actual, IsoDuration? duration, DateTimeOffset now, out DateTimeOffset? next, TimeZoneInfo zone)
    {
        next = null;
        DateTime day;
        if (duration is not { } d)
        {
            return false;
        }

        if (actual.Kind == RuleValueKind.String && LocalTime.TryParseYearless(actual.Text, out var yearless))
        {
            // A birthday given without her year ("--05-12", as annual date triggers read it).
            day = yearless.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        }
        else if (!actual.TryGetInstant(out var date))
        {
            return false;
        }
        else
        {
            // A calendar date: the date as written (a timestamp with an offset keeps its own date, as date triggers read it);
            // an instant (a statistic such as firstOrderAt) is the date it was where she lives, as "today" is, not its UTC
            // date (review 25: a first order at 08:00 in Tokyo had its anniversary the day before).
            day = actual.Kind == RuleValueKind.String && DateTimeOffset.TryParse(actual.Text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var written)
                ? written.DateTime.Date
                : LocalDate(date, zone);
        }

        var today = DateTime.SpecifyKind(LocalTime.DateOf(now, zone).ToDateTime(TimeOnly.MinValue), DateTimeKind.Utc);
        var holds = WindowMath.AnniversaryWithin(day, today, d);
        if (WindowMath.NextAnniversaryChange(day, today, d) is { } change)
        {
            next = LocalTime.StartOf(DateOnly.FromDateTime(change), zone);
        }

        return holds;
    }

    // The local calendar date of an instant; an instant at the very edge of the calendar keeps its UTC date.
    private static DateTime LocalDate(DateTimeOffset instant, TimeZoneInfo zone)
    {
        try
        {
            return DateTime.SpecifyKind(LocalTime.DateOf(instant, zone).ToDateTime(TimeOnly.MinValue), DateTimeKind.Utc);
        }
        catch (ArgumentOutOfRangeException)
        {
            return instant.UtcDateTime.Date;
        }
    }

    /// <summary>A condition's operand, read once.</summary>
    internal sealed class Operand
    {
        public Operand(Condition c)
        {
            Value = RuleValue.FromNode(c.Value);
            if (IsTimeDependent(c.Op) && Value.Kind == RuleValueKind.String && IsoDuration.TryParse(Value.Text, out var d, out _))
            {
                Duration = d;
            }
        }

        public RuleValue Value { get; }

        public IsoDuration? Duration { get; }
    }
}
