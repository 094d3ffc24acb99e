namespace Omnichannel.Sdk.Segments;

/// <summary>
/// The running aggregate of one history rule over its window: the rule's counted events (time and contributed value) from
/// the window's start on, in time order, with the count, sum and number of numeric values of those at or before the
/// last evaluation instant. Moving to a later instant takes the events that left out and the ones that arrived in,
/// one step each; an event inserted at the end is one step too. So a count, sum or average rule over a window of days
/// or hours is answered in time proportional to what changed, not to the window.
/// </summary>
/// <remarks>
/// <para>
/// Rules: <see cref="EventRule"/> counts and <see cref="AggregateRule"/> count, sum and average, with time-independent
/// filters and conditions, and no window, a fixed window, or a sliding window without months or years (whose exits are
/// not in time order). The answer is the same as the full walk's (<c>SegmentEvaluator.CountWalk</c> and
/// <c>RunningWalk</c>), next check included: a property test checks that.
/// </para>
/// <para>
/// When a counted event is inserted before the last one kept here (a late event, a merge), or when an evaluation goes
/// back in time, the window is dropped and built again from the kept events. An event in the future of the evaluation
/// instant stays out of the aggregate until an evaluation reaches its time; while one is pending, <see cref="TryEvaluate"/>
/// declines and the full walk answers (entries and exits interleave).
/// </para>
/// <para>Memory: 8 bytes per counted event in the window for counts, 24 with values; in memory only.</para>
/// </remarks>
internal sealed class RunningWindow
{
    private readonly SegmentRule _rule;
    private readonly WhereFilter _filter;
    private readonly Condition? _condition;
    private readonly ConditionMatcher.Operand? _operand;
    private readonly AggregateFunction _function;
    private readonly bool _withValues;
    private readonly IsoDuration? _sliding;
    private long[] _times = new long[8];
    private decimal[] _values = [];
    private bool[] _isNumber = [];
    private int _head;
    private int _in;
    private int _end;
    private DateTimeOffset _at;

    // The running aggregate over [_head, _in).
    private decimal _sum;
    private int _numbers;
    private int _negatives;
    private bool _overflowed;

    private RunningWindow(SegmentRule rule, DateTimeOffset at)
    {
        _rule = rule;
        _at = at;
        switch (rule)
        {
            case EventRule e:
                _condition = e.Count;
                _function = AggregateFunction.Count;
                _sliding = e.Window?.Within;
                break;
            case AggregateRule a:
                _condition = a.Condition;
                _function = a.Function;
                _withValues = a.Function != AggregateFunction.Count;
                _sliding = a.Window?.Within;
                break;
        }

        _filter = WhereFilter.Of(rule switch
        {
            EventRule e => e.Where,
            AggregateRule a => a.Where,
            _ => [],
        });
        _operand = _condition is null ? null : ConditionMatcher.OperandOf(_condition);
        if (_withValues)
        {
            _values = new decimal[8];
            _isNumber = new bool[8];
        }
    }

    /// <summary>The instant the aggregate is at.</summary>
    public DateTimeOffset At => _at;

    /// <summary>Whether a running window can answer <paramref name="rule"/>.</summary>
    /// <param name="rule">A history rule.</param>
    public static bool Supports(SegmentRule rule) => rule switch
    {
        EventRule e => !ConditionMatcher.AnyTimeDependent(e.Where) && (e.Count is null || !ConditionMatcher.IsTimeDependent(e.Count.Op)) && !IsCalendar(e.Window),
        AggregateRule a => a.Function is AggregateFunction.Count or AggregateFunction.Sum or AggregateFunction.Avg &&
            !ConditionMatcher.AnyTimeDependent(a.Where) && !ConditionMatcher.IsTimeDependent(a.Condition.Op) && !IsCalendar(a.Window),
        _ => false,
    };

    /// <summary>Builds the window of a supported <paramref name="rule"/> at <paramref name="now"/> from the kept events of its type.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="events">The kept events of the rule's type, in time order.</param>
    /// <param name="now">The evaluation instant.</param>
    public static RunningWindow Build(SegmentRule rule, ReadOnlySpan<RecordedEvent> events, DateTimeOffset now)
    {
        var w = new RunningWindow(rule, now);
        var start = w._sliding is { } d ? WindowMath.WindowStart(now, d) : (DateTimeOffset?)null;
        foreach (var e in events)
        {
            if ((start is not { } s || e.Timestamp > s) && w.Contribution(e, filtered: false, out var value, out var isNumber))
            {
                w.Push(e.Timestamp, value, isNumber);
            }
        }

        return w;
    }

    /// <summary>
    /// Takes in an event inserted in the kept list, which the rule's fixed window and filter let in. Returns
    /// <see langword="false"/> when the window cannot follow (the event goes before the last one here): drop it then.
    /// </summary>
    /// <param name="e">The inserted event.</param>
    public bool OnInserted(RecordedEvent e)
    {
        if (!Contribution(e, filtered: true, out var value, out var isNumber))
        {
            return true;
        }

        // Already out of the window at every instant from _at on: it can never count.
        if (_sliding is { } d && e.Timestamp <= WindowMath.WindowStart(_at, d))
        {
            return true;
        }

        if (_end > _head && e.Timestamp.UtcTicks < _times[_end - 1])
        {
            return false;
        }

        Push(e.Timestamp, value, isNumber);
        return true;
    }

    /// <summary>
    /// The rule's answer at <paramref name="now"/> (not before <see cref="At"/>), or <see langword="false"/> when an event
    /// after <paramref name="now"/> is pending (the caller then walks the kept events).
    /// </summary>
    /// <param name="now">The evaluation instant.</param>
    /// <param name="answer">The answer, next check included.</param>
    public bool TryEvaluate(DateTimeOffset now, out SegmentEvaluation answer)
    {
        answer = default;
        if (now < _at)
        {
            return false;
        }

        Advance(now);
        if (_in < _end || _overflowed)
        {
            return false;
        }

        var result = Holds(_in - _head, _sum, _numbers);
        if (_sliding is not { } exitAfter || StaysAsItFalls(result))
        {
            answer = new(result, null);
            return true;
        }

        try
        {
            answer = Exits(result, exitAfter);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    // Only exits remain, in time order, each taking its event out (events at the same time leave together).
    private SegmentEvaluation Exits(bool result, IsoDuration exitAfter)
    {
        var count = _in - _head;
        var sum = _sum;
        var numbers = _numbers;
        for (var j = _head; j < _in; j++)
        {
            count--;
            if (_withValues && _isNumber[j])
            {
                numbers--;
                sum -= _values[j];
            }

            var t = _times[j];
            if (j + 1 < _in && _times[j + 1] == t)
            {
                continue;
            }

            if (Holds(count, sum, numbers) != result)
            {
                return new(result, WindowMath.ExitInstant(new DateTimeOffset(t, TimeSpan.Zero), exitAfter));
            }
        }

        return new(result, null);
    }

    private static bool IsCalendar(TimeWindow? window) => window?.Within is { } d && (d.Years != 0 || d.Months != 0);

    // Whether the answer cannot change while the aggregate only falls (no pending event): a count, or a sum of values
    // none of which is negative, that fails "≥"/">" or passes "≤"/"<" (or, with no condition, is zero) stays so.
    private bool StaysAsItFalls(bool result)
    {
        if (_function == AggregateFunction.Avg || (_function == AggregateFunction.Sum && _negatives > 0))
        {
            return false;
        }

        if (_condition is null)
        {
            return !result;
        }

        return result ? _condition.Op is ConditionOperator.Lt or ConditionOperator.Lte : _condition.Op is ConditionOperator.Gt or ConditionOperator.Gte;
    }

    private bool Holds(int count, decimal sum, int numbers)
    {
        if (_condition is null)
        {
            return count >= 1;
        }

        var value = _function switch
        {
            AggregateFunction.Count => RuleValue.FromNumber(count),
            AggregateFunction.Sum => RuleValue.FromNumber(sum),
            _ => numbers == 0 ? RuleValue.Missing : RuleValue.FromNumber(sum / numbers),
        };
        return ConditionMatcher.Matches(_condition, _operand!, value, _at, out _);
    }

    private void Advance(DateTimeOffset now)
    {
        _at = now;
        var nowTicks = now.UtcTicks;
        while (_in < _end && _times[_in] <= nowTicks)
        {
            Apply(_in, enter: true);
            _in++;
        }

        if (_sliding is { } d)
        {
            var start = WindowMath.WindowStart(now, d).UtcTicks;
            while (_head < _in && _times[_head] <= start)
            {
                Apply(_head, enter: false);
                _head++;
            }
        }
    }

    private void Apply(int i, bool enter)
    {
        if (!_withValues || !_isNumber[i])
        {
            return;
        }

        var v = _values[i];
        _numbers += enter ? 1 : -1;
        if (v < 0)
        {
            _negatives += enter ? 1 : -1;
        }

        try
        {
            _sum = enter ? _sum + v : _sum - v;
        }
        catch (OverflowException)
        {
            // Out of decimal's range: the full walk (which saturates) answers from now on.
            _overflowed = true;
        }
    }

    private void Push(DateTimeOffset t, decimal value, bool isNumber)
    {
        if (_end == _times.Length)
        {
            Compact();
        }

        _times[_end] = t.UtcTicks;
        if (_withValues)
        {
            _values[_end] = value;
            _isNumber[_end] = isNumber;
        }

        _end++;
        if (t <= _at)
        {
            // In the aggregate at once (Build adds events up to its instant this way, in order).
            Apply(_in, enter: true);
            _in++;
        }
    }

    // Drops what left the window, and grows the arrays when more than half full.
    private void Compact()
    {
        var live = _end - _head;
        var size = live * 2 > _times.Length ? _times.Length * 2 : _times.Length;
        var times = new long[size];
        Array.Copy(_times, _head, times, 0, live);
        _times = times;
        if (_withValues)
        {
            var values = new decimal[size];
            var isNumber = new bool[size];
            Array.Copy(_values, _head, values, 0, live);
            Array.Copy(_isNumber, _head, isNumber, 0, live);
            _values = values;
            _isNumber = isNumber;
        }

        _in -= _head;
        _end -= _head;
        _head = 0;
    }

    // What the rule counts: an event of its type in its fixed window passing its filter (already checked when
    // `filtered`), with a value for aggregates.
    private bool Contribution(RecordedEvent e, bool filtered, out decimal value, out bool isNumber)
    {
        value = 0;
        isNumber = false;
        if (!filtered)
        {
            var window = _rule switch
            {
                EventRule r => r.Window,
                AggregateRule r => r.Window,
                _ => null,
            };
            if (window is { Within: null } w && ((w.From is { } from && e.Timestamp < from) || (w.To is { } to && e.Timestamp >= to)))
            {
                return false;
            }

            if (!_filter.Matches(e, e.Timestamp))
            {
                return false;
            }
        }

        if (_rule is not AggregateRule { Property: var property })
        {
            return true;
        }

        if (property is null)
        {
            // Count without a property: the event itself (sum and average of nothing are never asked without one).
            return _function == AggregateFunction.Count;
        }

        var v = e.Property(property);
        if (v.IsMissing)
        {
            return false;
        }

        if (_function is AggregateFunction.Sum or AggregateFunction.Avg)
        {
            v = RuleValue.AsAmount(v);
        }

        if (v.Kind == RuleValueKind.Number)
        {
            value = v.Number;
            isNumber = true;
        }

        return true;
    }
}
