using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Segments;

/// <summary>An event as a profile's <see cref="RuleHistory"/> keeps it: id, time, and only the properties rules read.</summary>
/// <param name="Id">The event id.</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="Properties">
/// The referenced properties, keyed by their dotted path (<c>{"items.count": 3}</c>); <see langword="null"/> when rules
/// read none. Properties that were missing or <c>null</c> are absent. A path that reached values through a list is kept
/// as <c>*path</c> with the list of them (<see cref="RuleHistory.Project"/>).
/// </param>
internal sealed record RecordedEvent(string Id, DateTimeOffset Timestamp, JsonObject? Properties)
{
    // The recorded properties as typed values, converted once on first read (not serialized): a read is then a short
    // array scan instead of a JSON lookup and conversion.
    [JsonIgnore]
    private TypedProperties? _typed;

    // A copy (`with`) must not share the cache of properties it may replace.
    private RecordedEvent(RecordedEvent original)
    {
        Id = original.Id;
        Timestamp = original.Timestamp;
        Properties = original.Properties;
        ValuesAt = original.ValuesAt;
        MatchesNoFilter = original.MatchesNoFilter;
    }

    /// <summary>
    /// For an order recorded once per <c>order_id</c> (see <see cref="RuleHistory"/>): the time of the event whose values
    /// it holds when that is later than <see cref="Timestamp"/> (the order's first time); <see langword="null"/> otherwise.
    /// </summary>
    [JsonInclude]
    public DateTimeOffset? ValuesAt { get; init; }

    /// <summary>
    /// Review of session 58: <see langword="true"/> for a keyed entry put back without its values, which are known to match
    /// no <c>where</c> filter (its key's newest report was pruned for that, and an older report moved it earlier): a
    /// non-empty filter rejects it, whatever it tests (<c>notExists</c> included). <see langword="null"/> otherwise.
    /// </summary>
    [JsonInclude]
    public bool? MatchesNoFilter { get; init; }

    /// <summary>The value of a recorded property (missing when the event did not have it).</summary>
    /// <param name="path">The dotted path, as the rule wrote it.</param>
    public RuleValue Property(string path)
    {
        if (Properties is null)
        {
            return RuleValue.Missing;
        }

        var typed = _typed ??= new TypedProperties(Properties);
        var paths = typed.Paths;
        for (var i = 0; i < paths.Length; i++)
        {
            if (ReferenceEquals(paths[i], path) || string.Equals(paths[i], path, StringComparison.Ordinal))
            {
                return typed.Values[i];
            }
        }

        return RuleValue.Missing;
    }

    // The answers of time-independent filters for this event, remembered per filter object (not serialized). Replaced
    // whole when a filter is added, so a concurrent reader sees either set, both right.
    [JsonIgnore]
    private FilterAnswers? _answers;

    /// <summary>
    /// The answer of a time-independent <paramref name="filter"/> for this event, computed once and remembered (the
    /// event's recorded properties never change, so neither does the answer).
    /// </summary>
    /// <param name="filter">A filter with no time-dependent condition.</param>
    /// <param name="now">The evaluation instant (ignored by such filters).</param>
    internal bool MatchesRemembered(WhereFilter filter, DateTimeOffset now)
    {
        var answers = _answers;
        if (answers is not null)
        {
            var filters = answers.Slots;
            for (var i = 0; i < answers.Count; i++)
            {
                if (ReferenceEquals(filters[i], filter))
                {
                    return (answers.Bits & (1UL << i)) != 0;
                }
            }
        }

        var result = filter.Evaluate(this, now);
        var count = answers?.Count ?? 0;
        if (count < 64)
        {
            // The array grows by doubling; a slot past a published count is invisible to readers of that count.
            var slots = answers?.Slots;
            if (slots is null || slots.Length == count)
            {
                var grown = new WhereFilter[Math.Min(64, Math.Max(4, count * 2))];
                slots?.CopyTo(grown, 0);
                slots = grown;
            }

            slots[count] = filter;
            _answers = new FilterAnswers(slots, count + 1, (answers?.Bits ?? 0) | (result ? 1UL << count : 0));
        }

        return result;
    }

    /// <summary>Whether every condition holds for this event at <paramref name="now"/>.</summary>
    public bool Matches(IReadOnlyList<PropertyCondition> where, DateTimeOffset now)
    {
        if (where.Count > 0 && MatchesNoFilter == true)
        {
            return false;
        }

        for (var i = 0; i < where.Count; i++)
        {
            var c = where[i];
            if (!ConditionMatcher.Matches(c.Condition, Property(c.Property), now))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Equality of the recorded data (the cache of typed values is not part of it).</summary>
    /// <param name="other">The other event.</param>
    public bool Equals(RecordedEvent? other) =>
        other is not null && Id == other.Id && Timestamp.Equals(other.Timestamp) && Nullable.Equals(ValuesAt, other.ValuesAt) && MatchesNoFilter == other.MatchesNoFilter && EqualityComparer<JsonObject?>.Default.Equals(Properties, other.Properties);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, Timestamp, Properties);

    /// <summary>Filters and their answers for this event: bit <c>i</c> is the answer of <c>Slots[i]</c>, for <c>i &lt; Count</c>.</summary>
    private sealed record FilterAnswers(WhereFilter[] Slots, int Count, ulong Bits);

    /// <summary>The recorded properties converted to <see cref="RuleValue"/>s, in the object's order.</summary>
    private sealed class TypedProperties
    {
        public TypedProperties(JsonObject properties)
        {
            Paths = new string[properties.Count];
            Values = new RuleValue[properties.Count];
            var i = 0;
            foreach (var (path, node) in properties)
            {
                // Audit U74: a key marked by RuleHistory.Project holds the values its path reached through a list.
                if (path.Length > 0 && path[0] == RuleHistory.EachMark && node is JsonArray reached)
                {
                    Paths[i] = path[1..];
                    var items = new List<RuleValue>(reached.Count);
                    foreach (var item in reached)
                    {
                        items.Add(RuleValue.FromNode(item));
                    }

                    Values[i] = RuleValue.FromEach(items);
                }
                else
                {
                    Paths[i] = path;
                    Values[i] = RuleValue.FromNode(node);
                }

                i++;
            }
        }

        public string[] Paths { get; }

        public RuleValue[] Values { get; }
    }
}
