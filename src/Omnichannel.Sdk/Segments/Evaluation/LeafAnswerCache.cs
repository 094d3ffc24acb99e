namespace Omnichannel.Sdk.Segments;

/// <summary>
/// A profile's remembered answers of history rules (<see cref="EventRule"/>, <see cref="RecencyRule"/>, count, sum and
/// average <see cref="AggregateRule"/>s), in memory only, so that re-evaluating a segment does not walk the history of a
/// rule that nothing changed for.
/// </summary>
/// <remarks>
/// <para>
/// Why a remembered answer stays exact. A history rule with time-independent conditions reads only its <em>counted</em>
/// events (those of its type, inside its fixed window, passing its filter): its answer as a function of time is fixed
/// by that set. An answer computed at <c>t0</c> holds, with the same next check, at every instant in
/// <c>[t0, next)</c> — the next check is the first instant the answer changes. So the answer is reused at
/// <c>now</c> when <c>t0 ≤ now &lt; next</c> and the counted set is unchanged. The set changes only by
/// <see cref="RuleHistory"/> inserting an event the rule counts (<see cref="OnInserted"/> then forgets the answer; an event
/// the rule does not count changes nothing) or by the kept list being replaced (checked by identity). Pruning removes
/// only events no rule can count from the prune instant on, which changes no answer at or after it.
/// </para>
/// <para>
/// Rules whose filter or condition depends on time, and min, max and distinct aggregates (whose next check may be an
/// approximation, see <c>RecomputeLimit</c>), are never remembered.
/// </para>
/// <para>Not thread-safe: it belongs to one profile's history, used under the profile's lock.</para>
/// </remarks>
internal sealed class LeafAnswerCache
{
    /// <summary>Kept lists shorter than this are walked every time: cheap, and small profiles then carry no cache.</summary>
    public const int MinEvents = 16;

    // Made at the first entry: most profiles' kept lists stay under MinEvents, and a hot profile then holds no dictionary.
    private Dictionary<SegmentRule, Entry>? _entries;
    private Dictionary<string, List<Entry>>? _byType;

    // The segments of _catalog (by position) evaluated on this profile since it was loaded: their stored membership and
    // next check are current, so only what can change them needs re-evaluating them (see SegmentRuntime.OnEvent).
    private SegmentCatalog? _catalog;
    private ulong[] _evaluated = [];

    /// <summary>
    /// The catalog whose unloaded segments were last cleared from the profile's memberships and checks: until a merge
    /// (which may bring other ids), only that catalog's segments are written there, so clearing again finds nothing.
    /// </summary>
    public SegmentCatalog? ForgottenFor { get; set; }

    /// <summary>
    /// A merge brought another profile's history, memberships and checks: no stored answer is known current any more,
    /// and unloaded segments may be back (remembered rule answers stay: inserts forgot those the merge changed).
    /// </summary>
    public void OnMerged()
    {
        _catalog = null;
        _evaluated = [];
        ForgottenFor = null;
    }

    /// <summary>The profile's evaluation subject, kept between evaluations (see <c>SegmentRuntime</c>).</summary>
    public SegmentSubject? Subject { get; set; }

    /// <summary>The number of rules with an entry.</summary>
    public int Count => _entries?.Count ?? 0;

    /// <summary>Whether the segment at <paramref name="index"/> of <paramref name="catalog"/> was evaluated on this profile since it was loaded.</summary>
    /// <param name="catalog">The catalog (by reference: a new catalog starts with none evaluated).</param>
    /// <param name="index">The segment's position in the catalog.</param>
    public bool WasEvaluated(SegmentCatalog catalog, int index) =>
        ReferenceEquals(_catalog, catalog) && (_evaluated[index >> 6] & (1UL << (index & 63))) != 0;

    /// <summary>Notes that the segment at <paramref name="index"/> of <paramref name="catalog"/> was just evaluated.</summary>
    /// <param name="catalog">The catalog.</param>
    /// <param name="index">The segment's position in the catalog.</param>
    public void MarkEvaluated(SegmentCatalog catalog, int index)
    {
        if (!ReferenceEquals(_catalog, catalog))
        {
            _catalog = catalog;
            _evaluated = new ulong[(catalog.Count + 63) >> 6];
        }

        _evaluated[index >> 6] |= 1UL << (index & 63);
    }

    /// <summary>Whether the answer of <paramref name="rule"/> may be remembered at all.</summary>
    /// <param name="rule">A history rule.</param>
    public static bool IsCacheable(SegmentRule rule) => rule switch
    {
        EventRule e => !ConditionMatcher.AnyTimeDependent(e.Where) && (e.Count is null || !ConditionMatcher.IsTimeDependent(e.Count.Op)),
        RecencyRule r => !ConditionMatcher.AnyTimeDependent(r.Where),
        AggregateRule a => a.Function is AggregateFunction.Count or AggregateFunction.Sum or AggregateFunction.Avg &&
            !ConditionMatcher.AnyTimeDependent(a.Where) && !ConditionMatcher.IsTimeDependent(a.Condition.Op),
        _ => false,
    };

    /// <summary>The entry of <paramref name="rule"/> for the kept <paramref name="list"/> of its type (emptied when the list was replaced).</summary>
    /// <param name="rule">The rule (by reference).</param>
    /// <param name="eventType">The rule's event type.</param>
    /// <param name="list">The kept list of the rule's type now.</param>
    public Entry For(SegmentRule rule, string eventType, List<RecordedEvent> list)
    {
        _entries ??= new(ReferenceEqualityComparer.Instance);
        _byType ??= new(StringComparer.Ordinal);
        if (!_entries.TryGetValue(rule, out var entry))
        {
            entry = new Entry(rule, IsCacheable(rule), RunningWindow.Supports(rule)) { List = list };
            _entries[rule] = entry;
            if (!_byType.TryGetValue(eventType, out var entries))
            {
                entries = [];
                _byType[eventType] = entries;
            }

            entries.Add(entry);
        }
        else if (!ReferenceEquals(entry.List, list))
        {
            entry.List = list;
            entry.Forget();
            entry.Window = null;
        }

        return entry;
    }

    /// <summary>An event was inserted in the kept list of <paramref name="eventType"/>: forgets the answers of the rules that count it.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="e">The inserted event.</param>
    public void OnInserted(string eventType, RecordedEvent e)
    {
        if (_byType is null || !_byType.TryGetValue(eventType, out var entries))
        {
            return;
        }

        foreach (var entry in entries)
        {
            if (entry.Cacheable && Counts(entry.Rule, e))
            {
                entry.Forget();
                if (entry.Window is { } w && !w.OnInserted(e))
                {
                    entry.Window = null;
                }
            }
        }
    }

    /// <summary>
    /// Whether a cacheable history rule can count <paramref name="e"/> at some instant: inside its fixed window and passing
    /// its (time-independent) filter. An aggregate's contribution is not checked: answering yes too often only costs a
    /// re-evaluation. A rule that is not <see cref="IsCacheable"/> must be taken to count every event of its type.
    /// </summary>
    /// <param name="rule">A cacheable history rule.</param>
    /// <param name="e">A recorded event of the rule's type.</param>
    public static bool Counts(SegmentRule rule, RecordedEvent e)
    {
        var (where, window) = rule switch
        {
            EventRule r => (r.Where, r.Window),
            AggregateRule r => (r.Where, r.Window),
            RecencyRule r => (r.Where, (TimeWindow?)null),
            _ => (null, null),
        };
        if (where is null)
        {
            return true;
        }

        if (window is { Within: null } w && ((w.From is { } from && e.Timestamp < from) || (w.To is { } to && e.Timestamp >= to)))
        {
            return false;
        }

        // Time-independent filters answer the same at any instant (tested, not remembered: the event is new).
        var filter = WhereFilter.Of(where);
        return filter.IsEmpty || filter.Evaluate(e, e.Timestamp);
    }

    /// <summary>What is remembered for one rule.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="cacheable">Whether its answer may be remembered (<see cref="IsCacheable"/>).</param>
    /// <param name="running">Whether a <see cref="RunningWindow"/> can answer it.</param>
    internal sealed class Entry(SegmentRule rule, bool cacheable, bool running)
    {
        private bool _has;
        private DateTimeOffset _at;
        private SegmentEvaluation _answer;

        public SegmentRule Rule { get; } = rule;

        public bool Cacheable { get; } = cacheable;

        public bool Running { get; } = running;

        /// <summary>The kept list the entry was computed from.</summary>
        public List<RecordedEvent>? List { get; set; }

        /// <summary>The rule's running window, when it has one.</summary>
        public RunningWindow? Window { get; set; }

        /// <summary>The remembered answer, if it is still exact at <paramref name="now"/>.</summary>
        public bool TryGet(DateTimeOffset now, out SegmentEvaluation answer)
        {
            answer = _answer;
            return _has && now >= _at && (_answer.NextCheckAt is not { } next || now < next);
        }

        /// <summary>Remembers the answer computed at <paramref name="at"/>.</summary>
        public void Set(DateTimeOffset at, SegmentEvaluation answer)
        {
            _has = true;
            _at = at;
            _answer = answer;
        }

        /// <summary>Forgets the answer (the window, if any, stays).</summary>
        public void Forget() => _has = false;
    }
}
