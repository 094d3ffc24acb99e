namespace Omnichannel.Sdk.Segments;

/// <summary>
/// What a set of segment definitions needs a profile's <see cref="RuleHistory"/> to keep: which event types, which of
/// their properties, and for how long.
/// </summary>
internal sealed class HistoryRequirements
{
    private readonly Dictionary<string, EventTypeRequirement> _types;

    private HistoryRequirements(Dictionary<string, EventTypeRequirement> types) => _types = types;

    /// <summary>Requirements of no rules: nothing is kept.</summary>
    public static HistoryRequirements None { get; } = new(new Dictionary<string, EventTypeRequirement>(StringComparer.Ordinal));

    /// <summary>The event types some rule reads, with what each needs.</summary>
    public IReadOnlyDictionary<string, EventTypeRequirement> Types => _types;

    /// <summary>What the rules need of <paramref name="eventType"/>, or <see langword="null"/> when no rule reads it.</summary>
    /// <param name="eventType">The event type.</param>
    public EventTypeRequirement? For(string eventType) => _types.GetValueOrDefault(eventType);

    /// <summary>Collects the requirements of every rule of <paramref name="definitions"/>.</summary>
    /// <param name="definitions">The definitions.</param>
    public static HistoryRequirements From(IEnumerable<SegmentDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        var builders = new Dictionary<string, EventTypeRequirement.Builder>(StringComparer.Ordinal);
        foreach (var d in definitions)
        {
            Collect(d.Rule, builders);
        }

        return new HistoryRequirements(builders.ToDictionary(kv => kv.Key, kv => kv.Value.Build(kv.Key), StringComparer.Ordinal));
    }

    private static void Collect(SegmentRule rule, Dictionary<string, EventTypeRequirement.Builder> builders)
    {
        EventTypeRequirement.Builder For(string type)
        {
            if (!builders.TryGetValue(type, out var b))
            {
                b = new EventTypeRequirement.Builder();
                builders[type] = b;
            }

            return b;
        }

        switch (rule)
        {
            case AllRule all:
                foreach (var r in all.Rules)
                {
                    Collect(r, builders);
                }

                break;
            case AnyRule any:
                foreach (var r in any.Rules)
                {
                    Collect(r, builders);
                }

                break;
            case NotRule not:
                Collect(not.Rule, builders);
                break;
            case EventRule e:
            {
                var b = For(e.EventType);
                b.AddPaths(e.Where);
                if (e.Window is null && e.Count is null)
                {
                    // "Ever happened": the first matching event answers it for good.
                    b.AddAnchor(e.Where);
                }
                else
                {
                    b.AddWindow(e.Window);
                }

                break;
            }

            case AggregateRule a:
            {
                var b = For(a.EventType);
                b.AddPaths(a.Where);
                if (a.Property is { } p)
                {
                    b.Paths.Add(p);
                }

                b.AddWindow(a.Window);
                break;
            }

            case RecencyRule r:
            {
                var b = For(r.EventType);
                b.AddPaths(r.Where);
                b.AddAnchor(r.Where);
                break;
            }
        }
    }
}

/// <summary>
/// What the rules need of one event type. An event is kept while any of these holds: <see cref="KeepAll"/>; it lies in
/// the future; it is still inside the longest sliding window (<see cref="SlidingWindows"/>); it lies in a fixed
/// window (<see cref="FixedWindows"/>, whose counts never expire); or it is the first or the last past event matching one
/// of <see cref="Anchors"/> (what <c>firstEvent</c>, <c>lastEvent</c> and "ever happened" rules read).
/// </summary>
/// <param name="EventType">The event type.</param>
/// <param name="Paths">The property paths rules read (sorted); only these are recorded.</param>
/// <param name="KeepAll">Some rule counts or aggregates over all time: every event is kept.</param>
/// <param name="SlidingWindows">The distinct sliding windows of rules over the type.</param>
/// <param name="FixedWindows">The fixed windows <c>[From, To)</c> of rules over the type.</param>
/// <param name="Anchors">The <c>where</c> filters whose first and last matching events must be kept.</param>
internal sealed record EventTypeRequirement(
    string EventType,
    IReadOnlyList<string> Paths,
    bool KeepAll,
    IReadOnlyList<IsoDuration> SlidingWindows,
    IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> FixedWindows,
    IReadOnlyList<IReadOnlyList<PropertyCondition>> Anchors)
{
    /// <summary>
    /// The sliding windows whose starts bound a prune: the longest window of days and hours (whose start is below every
    /// shorter one's) and every window with months or years. Pruning reads one window start each, not one per rule.
    /// </summary>
    public IReadOnlyList<IsoDuration> PruneWindows { get; } = Dominant(SlidingWindows);

    private static IsoDuration[] Dominant(IReadOnlyList<IsoDuration> windows)
    {
        var result = new List<IsoDuration>(windows.Count);
        IsoDuration? longest = null;
        foreach (var d in windows)
        {
            if (d.Years != 0 || d.Months != 0)
            {
                result.Add(d);
            }
            else if (longest is not { } l || TimeSpan.FromDays(d.Days) + d.Time > TimeSpan.FromDays(l.Days) + l.Time)
            {
                longest = d;
            }
        }

        if (longest is { } day)
        {
            result.Add(day);
        }

        return [.. result];
    }

    /// <summary>Accumulates the needs of the rules over one type.</summary>
    internal sealed class Builder
    {
        public SortedSet<string> Paths { get; } = new(StringComparer.Ordinal);

        public bool KeepAll { get; set; }

        public HashSet<IsoDuration> Sliding { get; } = [];

        public HashSet<(DateTimeOffset, DateTimeOffset)> Fixed { get; } = [];

        public List<IReadOnlyList<PropertyCondition>> Anchors { get; } = [];

        public void AddPaths(IReadOnlyList<PropertyCondition> where)
        {
            foreach (var c in where)
            {
                Paths.Add(c.Property);
            }
        }

        public void AddAnchor(IReadOnlyList<PropertyCondition> where)
        {
            // A filter that time alone changes has no stable first or last match: keep everything.
            if (ConditionMatcher.AnyTimeDependent(where))
            {
                KeepAll = true;
            }
            else
            {
                Anchors.Add(where);
            }
        }

        public void AddWindow(TimeWindow? window)
        {
            if (window?.Within is { } d)
            {
                Sliding.Add(d);
            }
            else if (window is { From: { } from, To: { } to })
            {
                Fixed.Add((from, to));
            }
            else
            {
                // No window (or an open-ended one): everything counts for ever.
                KeepAll = true;
            }
        }

        // Every kept type also keeps its first and last event, whatever the rules' filters and windows (two events at
        // most): a rule loaded at run time ("never ordered", "ordered ever", first or last order) then sees that she did
        // it, even when the loaded windows had let her events go (audit U35: a buyer was listed as "never ordered").
        public EventTypeRequirement Build(string type) => new(
            type,
            [.. Paths],
            KeepAll,
            [.. Sliding],
            [.. Fixed],
            [.. Anchors.Append([]).DistinctBy(AnchorKey)]);

        private static string AnchorKey(IReadOnlyList<PropertyCondition> where) =>
            string.Join("\u0001", where.Select(w => w.Property + "\u0002" + w.Condition.Op + "\u0002" + w.Condition.Value?.ToJsonString()));
    }
}
