using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Segments;

/// <summary>An event as a profile's <see cref="RuleHistory"/> keeps it: id, time, and only the properties rules read.</summary>
/// <param name="Id">The event id.</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Properties">
/// The referenced properties, keyed by their dotted path (<c>{"items.count": 3}</c>); <see langword="null"/> when rules
/// read none. Properties that were missing or <c>null</c> are absent.
/// </param>
internal sealed record RecordedEvent(string Id, DateTimeOffset Timestamp, JsonObject? Properties)
{
    /// <summary>The value of a recorded property (missing when the event did not have it).</summary>
    /// <param name="path">The dotted path, as the rule wrote it.</param>
    public RuleValue Property(string path) =>
        Properties is not null && Properties.TryGetPropertyValue(path, out var node) ? RuleValue.FromNode(node) : RuleValue.Missing;

    /// <summary>Whether every condition holds for this event at <paramref name="now"/>.</summary>
    public bool Matches(IReadOnlyList<PropertyCondition> where, DateTimeOffset now)
    {
        foreach (var c in where)
        {
            if (!ConditionMatcher.Matches(c.Condition, Property(c.Property), now))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The per-profile record of the events the loaded rules need: per event type, a time-ordered list of
/// <see cref="RecordedEvent"/>s keeping only the referenced properties. Stored inside the profile document.
/// </summary>
/// <remarks>
/// <para>
/// Memory: a profile costs, per retained event, about 100 bytes (the record, its id string of ~40 characters, the time)
/// plus, when rules read properties, about 150 bytes for the property object and ~60 bytes per recorded property
/// (more for long strings or arrays). Retention is bounded per type by <see cref="HistoryRequirements"/>: the longest
/// sliding window of any rule over the type, every event in a fixed window, and the first and last matching event for
/// "ever happened", <c>firstEvent</c> and <c>lastEvent</c> rules (so those cost two events per filter, whatever the
/// history). Only a rule that counts or aggregates over all time (no window) keeps every event of its type.
/// Example: "≥ 3 orders in 365 days" plus "last order more than 90 days ago" on a customer ordering weekly keeps ~52
/// orders with no properties: about 5 KB.
/// </para>
/// <para>Not thread-safe: it belongs to one profile, changed under the profile's lock.</para>
/// </remarks>
internal sealed class RuleHistory
{
    /// <summary>Events per type, oldest first (events with equal times in arrival order).</summary>
    [JsonInclude]
    public Dictionary<string, List<RecordedEvent>> Events { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The number of events kept, all types together.</summary>
    [JsonIgnore]
    public int Count => Events.Values.Sum(l => l.Count);

    /// <summary>The kept events of one type, oldest first.</summary>
    /// <param name="eventType">The event type.</param>
    public IReadOnlyList<RecordedEvent> EventsOf(string eventType) =>
        Events.TryGetValue(eventType, out var list) ? list : [];

    /// <summary>
    /// Records <paramref name="e"/> when some rule reads its type, in time order (a late event goes to its place).
    /// An id already recorded is ignored.
    /// </summary>
    /// <param name="e">The event.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <returns>Whether the event was recorded.</returns>
    public bool Record(CustomerEvent e, HistoryRequirements requirements)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(requirements);
        if (requirements.For(e.Type) is not { } need)
        {
            return false;
        }

        return Insert(e.Type, new RecordedEvent(e.Id, e.Timestamp, Project(e.Properties, need.Paths)));
    }

    /// <summary>
    /// Drops what no rule can count at <paramref name="now"/> or later: types no rule reads, and events outside every
    /// retention of their type (see <see cref="EventTypeRequirement"/>). Evaluations after a prune must be at
    /// <paramref name="now"/> or later.
    /// </summary>
    /// <param name="now">The earliest instant that will be evaluated from now on.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    public void Prune(DateTimeOffset now, HistoryRequirements requirements)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        List<string>? unneeded = null;
        foreach (var (type, list) in Events)
        {
            var need = requirements.For(type);
            if (need is null || list.Count == 0)
            {
                (unneeded ??= []).Add(type);
                continue;
            }

            if (!need.KeepAll)
            {
                PruneList(list, need, now);
            }
        }

        if (unneeded is not null)
        {
            foreach (var type in unneeded)
            {
                Events.Remove(type);
            }
        }
    }

    /// <summary>Adds every event of <paramref name="other"/> not already here (a profile merge); prune afterwards.</summary>
    /// <param name="other">The absorbed profile's history.</param>
    public void MergeFrom(RuleHistory other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (type, list) in other.Events)
        {
            foreach (var e in list)
            {
                Insert(type, e);
            }
        }
    }

    private bool Insert(string type, RecordedEvent recorded)
    {
        if (!Events.TryGetValue(type, out var list))
        {
            list = [];
            Events[type] = list;
        }

        // After the last event at or before this time; equal times are checked for the same id.
        var i = UpperBound(list, recorded.Timestamp);
        for (var j = i - 1; j >= 0 && list[j].Timestamp == recorded.Timestamp; j--)
        {
            if (list[j].Id == recorded.Id)
            {
                return false;
            }
        }

        // The same id at another time is a redelivery with a corrected time: rare, so a full scan is fine.
        if (list.Exists(x => x.Id == recorded.Id))
        {
            return false;
        }

        list.Insert(i, recorded);
        return true;
    }

    private static int UpperBound(List<RecordedEvent> list, DateTimeOffset time)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid].Timestamp <= time)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static void PruneList(List<RecordedEvent> list, EventTypeRequirement need, DateTimeOffset now)
    {
        DateTimeOffset? cutoff = null;
        foreach (var d in need.SlidingWindows)
        {
            var c = WindowMath.WindowStart(now, d);
            if (cutoff is null || c < cutoff)
            {
                cutoff = c;
            }
        }

        var keep = new bool[list.Count];
        var past = UpperBound(list, now);
        for (var i = 0; i < list.Count; i++)
        {
            var t = list[i].Timestamp;
            keep[i] = i >= past || (cutoff is { } c && t > c) || InFixed(need.FixedWindows, t);
        }

        foreach (var where in need.Anchors)
        {
            for (var i = 0; i < past; i++)
            {
                if (list[i].Matches(where, now))
                {
                    keep[i] = true;
                    break;
                }
            }

            for (var i = past - 1; i >= 0; i--)
            {
                if (list[i].Matches(where, now))
                {
                    keep[i] = true;
                    break;
                }
            }
        }

        var w = 0;
        for (var i = 0; i < list.Count; i++)
        {
            if (keep[i])
            {
                list[w++] = list[i];
            }
        }

        list.RemoveRange(w, list.Count - w);
    }

    private static bool InFixed(IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> windows, DateTimeOffset t)
    {
        foreach (var (from, to) in windows)
        {
            if (from <= t && t < to)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies the values at <paramref name="paths"/> (dotted, through objects) into a flat object keyed by path.</summary>
    internal static JsonObject? Project(JsonElement properties, IReadOnlyList<string> paths)
    {
        if (paths.Count == 0 || properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        JsonObject? result = null;
        foreach (var path in paths)
        {
            if (TryGetPath(properties, path, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
            {
                (result ??= new JsonObject())[path] = JsonSerializer.SerializeToNode(value);
            }
        }

        return result;
    }

    /// <summary>Reads a dotted path through nested objects.</summary>
    internal static bool TryGetPath(JsonElement root, string path, out JsonElement value)
    {
        value = root;
        var start = 0;
        while (true)
        {
            if (value.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var dot = path.IndexOf('.', start);
            var name = dot < 0 ? path.AsSpan(start) : path.AsSpan(start, dot - start);
            if (!value.TryGetProperty(name, out value))
            {
                return false;
            }

            if (dot < 0)
            {
                return true;
            }

            start = dot + 1;
        }
    }
}
