using System.Runtime.CompilerServices;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// A rule's <c>where</c> conditions made ready for hot loops: paths, conditions and their operands in arrays, read once
/// per list object (rules are immutable), so testing an event costs no lookups beyond the event's own properties.
/// </summary>
internal sealed class WhereFilter
{
    private static readonly ConditionalWeakTable<IReadOnlyList<PropertyCondition>, WhereFilter> Filters = [];

    private readonly string[] _paths;
    private readonly Condition[] _conditions;
    private readonly ConditionMatcher.Operand[] _operands;
    private readonly bool _timeDependent;

    private WhereFilter(IReadOnlyList<PropertyCondition> where)
    {
        _paths = new string[where.Count];
        _conditions = new Condition[where.Count];
        _operands = new ConditionMatcher.Operand[where.Count];
        for (var i = 0; i < where.Count; i++)
        {
            _paths[i] = where[i].Property;
            _conditions[i] = where[i].Condition;
            _operands[i] = ConditionMatcher.OperandOf(where[i].Condition);
        }

        _timeDependent = ConditionMatcher.AnyTimeDependent(where);
    }

    /// <summary>Whether there are no conditions (every event matches).</summary>
    public bool IsEmpty => _paths.Length == 0;

    /// <summary>The filter of <paramref name="where"/>.</summary>
    /// <param name="where">The conditions, as the rule holds them.</param>
    public static WhereFilter Of(IReadOnlyList<PropertyCondition> where) =>
        Filters.GetValue(where, static w => new WhereFilter(w));

    /// <summary>Whether every condition holds for <paramref name="e"/> at <paramref name="now"/> (same answer as <see cref="RecordedEvent.Matches"/>).</summary>
    /// <param name="e">The event.</param>
    /// <param name="now">The evaluation instant.</param>
    public bool Matches(RecordedEvent e, DateTimeOffset now) =>
        _paths.Length == 0 || (_timeDependent ? Evaluate(e, now) : e.MatchesRemembered(this, now));

    /// <summary>Tests every condition on <paramref name="e"/> (no remembering).</summary>
    /// <param name="e">The event.</param>
    /// <param name="now">The evaluation instant.</param>
    public bool Evaluate(RecordedEvent e, DateTimeOffset now)
    {
        if (_paths.Length > 0 && e.MatchesNoFilter == true)
        {
            return false;
        }

        for (var i = 0; i < _paths.Length; i++)
        {
            if (!ConditionMatcher.Matches(_conditions[i], _operands[i], e.Property(_paths[i]), now, out _))
            {
                return false;
            }
        }

        return true;
    }
}
