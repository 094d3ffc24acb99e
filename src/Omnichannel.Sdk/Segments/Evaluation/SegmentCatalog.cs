using System.Collections.Concurrent;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// An immutable set of segment definitions ready to evaluate: in dependency order (a segment comes after every segment
/// it references), with the history its rules need and an index from events to the segments they can change.
/// </summary>
internal sealed partial class SegmentCatalog
{
    private readonly SegmentDefinition[] _ordered;
    private readonly Dictionary<string, int> _index;
    private readonly string[][] _dependsOn;
    private readonly string[][] _dependents;
    private readonly Dictionary<string, int[]> _byEventType;
    private readonly Dictionary<string, int[]> _byStatisticEventType;
    private readonly Dictionary<string, (int Segment, SegmentRule Rule, bool Cacheable)[]> _historyRulesByType;
    private readonly (string Path, int Segment)[] _byTraitPath;
    private readonly int[] _everyEvent;
    private readonly int[] _zoneDependent;
    private readonly int[][] _dependsOnIndexes;
    private readonly ConcurrentDictionary<string, bool[]> _byTypeCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool[]> _byStatisticTypeCache = new(StringComparer.Ordinal);

    private SegmentCatalog(SegmentDefinition[] ordered, IReadOnlyList<SegmentRule>? extraRules = null)
    {
        ExtraRules = extraRules is null ? [] : [.. extraRules.Select(MachineEngagement.Hide)]; // as journeys evaluate them (audit U82)
        _ordered = ordered;
        _index = new Dictionary<string, int>(ordered.Length, StringComparer.Ordinal);
        for (var i = 0; i < ordered.Length; i++)
        {
            _index[ordered[i].Id] = i;
        }

        _dependsOn = [.. ordered.Select(d => References(d.Rule).Distinct(StringComparer.Ordinal).ToArray())];
        _dependsOnIndexes = [.. _dependsOn.Select(ids => ids.Select(id => _index[id]).ToArray())];
        // Inverted in one pass (not a scan per segment): a catalog of 100,000 segments builds in linear time.
        var dependents = new List<string>[ordered.Length];
        for (var i = 0; i < ordered.Length; i++)
        {
            foreach (var j in _dependsOnIndexes[i])
            {
                (dependents[j] ??= []).Add(ordered[i].Id);
            }
        }

        _dependents = [.. dependents.Select(list => list is null ? [] : list.ToArray())];

        var byType = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var byStatisticType = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var historyRules = new Dictionary<string, List<(int, SegmentRule, bool)>>(StringComparer.Ordinal);
        var byTrait = new List<(string, int)>();
        var every = new List<int>();
        var zoned = new List<int>();
        for (var i = 0; i < ordered.Length; i++)
        {
            var reads = new RuleReads();
            reads.Collect(ordered[i].Rule);
            foreach (var type in reads.EventTypes)
            {
                Add(byType, type, i);
            }

            foreach (var type in reads.StatisticEventTypes)
            {
                Add(byStatisticType, type, i);
            }

            foreach (var (type, rule) in reads.HistoryRules)
            {
                Add(historyRules, type, (i, rule, LeafAnswerCache.IsCacheable(rule)));
            }

            foreach (var path in reads.TraitPaths)
            {
                byTrait.Add((path, i));
            }

            if (reads.EveryEvent)
            {
                every.Add(i);
            }

            if (reads.ZoneDependent)
            {
                zoned.Add(i);
            }
        }

        _byEventType = byType.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        _byStatisticEventType = byStatisticType.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        _historyRulesByType = historyRules.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        _byTraitPath = [.. byTrait];
        _everyEvent = [.. every];
        _zoneDependent = [.. zoned];
        static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
        {
            if (!map.TryGetValue(key, out var list))
            {
                list = [];
                map[key] = list;
            }

            list.Add(value);
        }

        Requirements = HistoryRequirements.From(ordered.Concat(ExtraRules.Select((r, i) => new SegmentDefinition("~rule-" + i, "~rule", r))));
    }

    /// <summary>Rules evaluated outside segments (journey conditions) whose event history profiles must keep too.</summary>
    internal IReadOnlyList<SegmentRule> ExtraRules { get; }

    /// <summary>This catalog's segments, keeping the history <paramref name="rules"/> need as well.</summary>
    /// <param name="rules">Rules evaluated outside segments.</param>
    internal SegmentCatalog WithExtraRules(IReadOnlyList<SegmentRule> rules) => new(_ordered, rules) { DefaultTimeZone = DefaultTimeZone, Incarnations = Incarnations, Predecessors = Predecessors };

    /// <summary>
    /// A digest of the definitions (each segment's JSON form, by id) and the default zone: what a profile's memberships
    /// and next checks were computed under (<c>CustomerProfile.SegmentsFingerprint</c>). A profile stored under another
    /// set (a deploy that changed, added or removed start-up segments, or a new default zone) is evaluated again in full
    /// when next touched (see <c>SegmentRuntime.RunDue</c>). Made on first use, after the zone is set.
    /// </summary>
    internal string Fingerprint => _fingerprint ??= MakeFingerprint();

    private string? _fingerprint;

    /// <summary>
    /// Fingerprints of the sets this engine had in force before this one (run-time changes since it started, at most
    /// <see cref="MaxPredecessors"/>): a profile evaluated under one of them was kept current by the change itself
    /// (back-fill, incarnations, the re-evaluation of segments not yet evaluated since loading), so it needs no full
    /// evaluation, only the new fingerprint.
    /// </summary>
    internal IReadOnlySet<string> Predecessors { get; set; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How many earlier sets <see cref="Predecessors"/> remembers (a profile under an older one is evaluated in full).</summary>
    internal const int MaxPredecessors = 256;

    /// <summary>Whether a profile whose segment state was computed under <paramref name="fingerprint"/> needs a full evaluation.</summary>
    internal bool IsForeign(string? fingerprint) =>
        !string.Equals(fingerprint, Fingerprint, StringComparison.Ordinal) && (fingerprint is null || !Predecessors.Contains(fingerprint));

    /// <summary>Remembers <paramref name="previous"/> (the set this one replaces in the same engine) and its predecessors.</summary>
    internal void Succeed(SegmentCatalog? previous)
    {
        if (previous is null || string.Equals(previous.Fingerprint, Fingerprint, StringComparison.Ordinal))
        {
            Predecessors = previous?.Predecessors ?? Predecessors;
            return;
        }

        var known = new HashSet<string>(previous.Predecessors.Count < MaxPredecessors ? previous.Predecessors : [], StringComparer.Ordinal) { previous.Fingerprint };
        known.Remove(Fingerprint);
        Predecessors = known;
    }

    private string MakeFingerprint()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes("zone:" + DefaultTimeZone + "\n"));
        foreach (var d in _ordered.OrderBy(d => d.Id, StringComparer.Ordinal))
        {
            string text;
            try
            {
                text = SegmentJson.Serialize(d);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or System.Text.Json.JsonException)
            {
                // A definition the JSON form cannot carry: unknown to any other run, so profiles are evaluated again.
                text = "unwritable:" + Guid.NewGuid().ToString("N");
            }

            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(d.Id + "\n" + text + "\n"));
        }

        return Convert.ToHexString(hash.GetHashAndReset(), 0, 12);
    }

    /// <summary>
    /// Segment id → how many times that id was removed at run time before its current definition was added (absent: never).
    /// Memberships reached under an earlier incarnation are stale (see <c>SegmentRuntime.Forget</c>).
    /// </summary>
    internal IReadOnlyDictionary<string, int> Incarnations { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>The incarnation of the loaded segment <paramref name="segmentId"/>; 0 for one never removed (or unknown).</summary>
    internal int IncarnationOf(string segmentId) => Incarnations.GetValueOrDefault(segmentId);

    /// <summary>The zone of customers whose own is unknown (<see cref="Delivery.DeliveryOptions.DefaultTimeZone"/>), for local dates.</summary>
    internal string? DefaultTimeZone { get; set; }

    /// <summary>
    /// Marks in <paramref name="dirty"/> (by position) the segments whose rules read the customer's local date: a new time
    /// zone changes their answer and their next check at once, whatever else the event touched.
    /// </summary>
    internal void MarkZoneDependent(bool[] dirty)
    {
        foreach (var i in _zoneDependent)
        {
            dirty[i] = true;
        }
    }

    /// <summary>A catalog with no segments.</summary>
    public static SegmentCatalog Empty { get; } = new([]);

    /// <summary>The definitions in dependency order: each comes after every segment its rule references.</summary>
    public IReadOnlyList<SegmentDefinition> Segments => _ordered;

    /// <summary>The number of segments.</summary>
    public int Count => _ordered.Length;

    /// <summary>What the rules need each profile's history to keep.</summary>
    internal HistoryRequirements Requirements { get; }

    /// <summary>
    /// Builds a catalog from definitions that already passed validation. Throws <see cref="ArgumentException"/> for
    /// what would make evaluation impossible: a duplicate id, a reference to an unknown segment, a cycle.
    /// </summary>
    /// <param name="definitions">The definitions, in any order.</param>
    public static SegmentCatalog Create(IEnumerable<SegmentDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        var byId = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        var input = new List<SegmentDefinition>();
        foreach (var given in definitions)
        {
            ArgumentNullException.ThrowIfNull(given, nameof(definitions));
            var d = MachineEngagement.Hide(given); // a machine's open or click is no open or click to a rule that does not name `machine` (audit U82)
            if (!byId.TryAdd(d.Id, d))
            {
                throw new ArgumentException($"Segment '{d.Id}' is defined twice.", nameof(definitions));
            }

            input.Add(d);
        }

        // Depth-first, dependencies first; input order is kept among independent segments. An explicit stack: a chain
        // of any length cannot overflow the call stack.
        var ordered = new List<SegmentDefinition>(input.Count);
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: in progress, true: done
        var path = new List<string>();
        var frames = new Stack<(SegmentDefinition Definition, IEnumerator<string> References)>();
        foreach (var root in input)
        {
            if (state.ContainsKey(root.Id))
            {
                continue;
            }

            Enter(root);
            while (frames.Count > 0)
            {
                var (d, references) = frames.Peek();
                if (!references.MoveNext())
                {
                    frames.Pop();
                    path.RemoveAt(path.Count - 1);
                    state[d.Id] = true;
                    ordered.Add(d);
                    continue;
                }

                var reference = references.Current;
                if (!byId.TryGetValue(reference, out var other))
                {
                    throw new ArgumentException($"Segment '{d.Id}' references unknown segment '{reference}'.", nameof(definitions));
                }

                if (state.TryGetValue(other.Id, out var done))
                {
                    if (!done)
                    {
                        var start = path.IndexOf(other.Id);
                        throw new ArgumentException($"Segments reference each other in a cycle: {string.Join(" → ", path.Skip(start).Append(other.Id))}.", nameof(definitions));
                    }

                    continue;
                }

                Enter(other);
            }
        }

        void Enter(SegmentDefinition d)
        {
            state[d.Id] = false;
            path.Add(d.Id);
            frames.Push((d, References(d.Rule).GetEnumerator()));
        }

        return new SegmentCatalog([.. ordered]);
    }

    /// <summary>Whether a segment with this id is in the catalog.</summary>
    /// <param name="segmentId">The segment id.</param>
    public bool Contains(string segmentId) => _index.ContainsKey(segmentId);

    /// <summary>The position of the segment with this id in <see cref="Segments"/>, or -1.</summary>
    /// <param name="segmentId">The segment id.</param>
    internal int IndexOf(string segmentId) => _index.TryGetValue(segmentId, out var i) ? i : -1;

    /// <summary>The definition with this id, or <see langword="null"/>.</summary>
    /// <param name="segmentId">The segment id.</param>
    public SegmentDefinition? Find(string segmentId) => _index.TryGetValue(segmentId, out var i) ? _ordered[i] : null;

    /// <summary>The segments the rule of <paramref name="segmentId"/> references directly (empty for an unknown id).</summary>
    /// <param name="segmentId">The segment id.</param>
    public IReadOnlyList<string> DependsOn(string segmentId) => _index.TryGetValue(segmentId, out var i) ? _dependsOn[i] : [];

    /// <summary>The segments whose rules reference <paramref name="segmentId"/> directly (empty for an unknown id).</summary>
    /// <param name="segmentId">The segment id.</param>
    public IReadOnlyList<string> Dependents(string segmentId) => _index.TryGetValue(segmentId, out var i) ? _dependents[i] : [];

    /// <summary>The positions in <see cref="Segments"/> of the segments the one at <paramref name="index"/> references.</summary>
    /// <param name="index">A position in <see cref="Segments"/>.</param>
    internal int[] DependsOnIndexes(int index) => _dependsOnIndexes[index];

    private static IEnumerable<string> References(SegmentRule rule) => SegmentReferences.Of(rule, "$").Select(r => r.SegmentId);

    /// <summary>
    /// The event types that change a statistic when applied to a profile (see <c>ProfileCore.Apply</c>);
    /// <see langword="null"/> when any event can (a merge re-evaluates everything anyway).
    /// </summary>
    internal static string[]? StatisticEventTypes(string statistic) => statistic switch
    {
        ProfileStatisticNames.OrderCount or ProfileStatisticNames.TotalSpent or ProfileStatisticNames.AverageOrderValue
            or ProfileStatisticNames.FirstOrderAt or ProfileStatisticNames.LastOrderAt => [Omnichannel.Sdk.EventTypes.OrderPlaced],
        ProfileStatisticNames.CancelledOrderCount => [Omnichannel.Sdk.EventTypes.OrderCancelled],
        ProfileStatisticNames.ReturnCount => [Omnichannel.Sdk.EventTypes.OrderReturned],

        // The value is in the headline currency, which (with no shop currency) the earliest order sets: a return that came
        // before any order counts once one names its currency.
        ProfileStatisticNames.ReturnValue => [Omnichannel.Sdk.EventTypes.OrderReturned, Omnichannel.Sdk.EventTypes.OrderPlaced],
        ProfileStatisticNames.LoyaltyPoints => [Omnichannel.Sdk.EventTypes.LoyaltyPointsEarned, Omnichannel.Sdk.EventTypes.LoyaltyPointsRedeemed],
        ProfileStatisticNames.ReferralsSent => [Omnichannel.Sdk.EventTypes.ReferralSent],
        ProfileStatisticNames.ReferralsConverted => [Omnichannel.Sdk.EventTypes.ReferralConverted],

        // An order empties the cart lines it follows.
        ProfileStatisticNames.CartLineCount or ProfileStatisticNames.CartValue or ProfileStatisticNames.CartUpdatedAt =>
            [Omnichannel.Sdk.EventTypes.CartItemAdded, Omnichannel.Sdk.EventTypes.CartItemRemoved, Omnichannel.Sdk.EventTypes.OrderPlaced],

        // firstSeen, lastSeen, eventCount, channelsUsed, lifecycleStage (identifiers are linked by any event), unknown.
        _ => null,
    };

    /// <summary>What one rule reads.</summary>
    private sealed class RuleReads
    {
        public HashSet<string> EventTypes { get; } = new(StringComparer.Ordinal);

        /// <summary>Event types that move a statistic the rule reads.</summary>
        public HashSet<string> StatisticEventTypes { get; } = new(StringComparer.Ordinal);

        /// <summary>Rules over the kept events of a type, with that type.</summary>
        public List<(string Type, SegmentRule Rule)> HistoryRules { get; } = [];

        public HashSet<string> TraitPaths { get; } = new(StringComparer.Ordinal);

        public bool EveryEvent { get; private set; }

        /// <summary>Whether the rule reads the customer's local date (<c>anniversaryWithin</c>), so her zone changes it.</summary>
        public bool ZoneDependent { get; private set; }

        public void Collect(SegmentRule rule)
        {
            ZoneDependent |= rule switch
            {
                TraitRule t => t.Condition.Op == ConditionOperator.AnniversaryWithin,
                StatisticRule s => s.Condition.Op == ConditionOperator.AnniversaryWithin,
                EventRule e => e.Where.Any(c => c.Condition.Op == ConditionOperator.AnniversaryWithin),
                AggregateRule a => a.Condition.Op == ConditionOperator.AnniversaryWithin || a.Where.Any(c => c.Condition.Op == ConditionOperator.AnniversaryWithin),
                RecencyRule r => r.Where.Any(c => c.Condition.Op == ConditionOperator.AnniversaryWithin),
                _ => false,
            };
            switch (rule)
            {
                case AllRule all:
                    all.Rules.ToList().ForEach(Collect);
                    break;
                case AnyRule any:
                    any.Rules.ToList().ForEach(Collect);
                    break;
                case NotRule not:
                    Collect(not.Rule);
                    break;
                case TraitRule t:
                    TraitPaths.Add(t.Path);
                    break;
                case EventRule e:
                    EventTypes.Add(e.EventType);
                    HistoryRules.Add((e.EventType, e));
                    break;
                case AggregateRule a:
                    EventTypes.Add(a.EventType);
                    HistoryRules.Add((a.EventType, a));
                    break;
                case RecencyRule r:
                    EventTypes.Add(r.EventType);
                    HistoryRules.Add((r.EventType, r));
                    break;
                case StatisticRule s when SegmentCatalog.StatisticEventTypes(s.Statistic) is { } types:
                    EventTypes.UnionWith(types);
                    StatisticEventTypes.UnionWith(types);
                    break;
                case StatisticRule or ReachableRule:
                    // Seen times, event counts, channels, the lifecycle stage (identifiers) and reachability
                    // (identifiers, consents) can move with any event.
                    EveryEvent = true;
                    break;
            }
        }
    }
}
