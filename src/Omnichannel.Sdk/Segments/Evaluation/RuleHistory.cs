using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Segments;

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
/// history; but every matching order for a non-empty filter, since an order's values can change). Only a rule that counts or aggregates over all time (no window) keeps every event of its type.
/// Every kept type also keeps its own first and last event, so a rule loaded at run time knows whether she ever did it.
/// Example: "≥ 3 orders in 365 days" plus "last order more than 90 days ago" on a customer ordering weekly keeps ~52
/// orders with no properties: about 5 KB.
/// </para>
/// <para>
/// In memory (not stored), a profile being evaluated also holds per retained event its properties as typed values
/// (~70 bytes each) and the answers of the <c>where</c> filters tried on it (~50 bytes plus 8 per filter), and per
/// event type an index of ids (~30 bytes per event): evaluation then reads each property and tests each filter once.
/// </para>
/// <para>Not thread-safe: it belongs to one profile, changed under the profile's lock.</para>
/// </remarks>
internal sealed partial class RuleHistory
{
    // Set by Combine: the last insert replaced a kept entry (an order seen before), which rules may have counted.
    private bool _replaced;

    // Remembered answers of history rules (in memory only; see LeafAnswerCache for why they stay exact).
    private LeafAnswerCache? _leafAnswers;

    // Per type, the instant before which a prune removes nothing from its list (in memory only; forgotten on insert).
    private Dictionary<string, PruneFloor>? _pruneFloors;

    /// <summary>Events per type, oldest first (events with equal times in arrival order).</summary>
    /// <remarks>Recorded events never change once recorded (a change replaces the entry), so a long list's stored JSON is
    /// kept in runs and written again only where it changed (see <c>WrittenJson</c>).</remarks>
    [JsonInclude]
    [JsonConverter(typeof(WrittenOnceListsConverter<RecordedEvent>))]
    public Dictionary<string, List<RecordedEvent>> Events { get; set; } = new WrittenOnceLists<RecordedEvent>();

    /// <summary>The number of events kept, all types together.</summary>
    [JsonIgnore]
    public int Count => Events.Values.Sum(l => l.Count);

    /// <summary>The kept events of one type, oldest first.</summary>
    /// <param name="eventType">The event type.</param>
    public IReadOnlyList<RecordedEvent> EventsOf(string eventType) =>
        Events.TryGetValue(eventType, out var list) ? list : [];

    /// <summary>The remembered answers of history rules over this history (created on first use, never stored).</summary>
    internal LeafAnswerCache Answers => _leafAnswers ??= new LeafAnswerCache();

    /// <summary>The kept list of one type, or <see langword="null"/>: its identity tells the answer cache whether the list was replaced.</summary>
    /// <param name="eventType">The event type.</param>
    internal List<RecordedEvent>? ListOf(string eventType) => Events.TryGetValue(eventType, out var list) ? list : null;

    /// <summary>The kept events of one type, oldest first, as a span (valid until the history next changes).</summary>
    /// <param name="eventType">The event type.</param>
    internal ReadOnlySpan<RecordedEvent> SpanOf(string eventType) =>
        Events.TryGetValue(eventType, out var list) ? CollectionsMarshal.AsSpan(list) : default;

    /// <summary>
    /// Records <paramref name="e"/> when some rule reads its type, in time order (a late event goes to its place).
    /// An id already recorded is ignored.
    /// </summary>
    /// <param name="e">The event.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <returns>Whether the event was recorded.</returns>
    public bool Record(CustomerEvent e, HistoryRequirements requirements) => Record(e, requirements, out _);

    /// <summary>As <see cref="Record(CustomerEvent, HistoryRequirements)"/>, giving the event as recorded.</summary>
    /// <param name="e">The event.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <param name="recorded">The recorded event, or <see langword="null"/> when nothing was recorded.</param>
    /// <returns>Whether the event was recorded.</returns>
    public bool Record(CustomerEvent e, HistoryRequirements requirements, out RecordedEvent? recorded) => Record(e, requirements, null, out recorded, out _);

    /// <summary>
    /// As <see cref="Record(CustomerEvent, HistoryRequirements)"/>, with what the profile knows of the event's order or keyed
    /// loyalty or referral event (its facts keep it, while this history may have pruned the key's entry): its earliest
    /// time, and which report is the newest.
    /// </summary>
    /// <param name="e">The event.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <param name="fact">
    /// The order's (or tally's) fact, already updated with <paramref name="e"/>; <see langword="null"/> when unknown. An
    /// older report than the fact's newest never brings its own values: it moves the key's kept entry earlier, and when the
    /// entry was pruned (with the newest values, which matched no filter) nothing is recorded.
    /// </param>
    /// <param name="recorded">The recorded event, or <see langword="null"/> when nothing was recorded.</param>
    /// <param name="replaced">
    /// Whether it replaced a kept entry of the same order (new values or an earlier time): rules that counted the old entry
    /// may not count the new one.
    /// </param>
    /// <param name="orderId">The order's id as the profile knows it (<see cref="WellKnownProperties.OrderId"/>); when null, the event's <c>order_id</c>.</param>
    /// <returns>Whether the event was recorded.</returns>
    internal bool Record(CustomerEvent e, HistoryRequirements requirements, OrderFact? fact, out RecordedEvent? recorded, out bool replaced, string? orderId = null)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(requirements);
        recorded = null;
        replaced = _replaced = false;
        if (requirements.For(e.Type) is not { } need)
        {
            return false;
        }

        // An order is recorded once per order_id (an update or a client's retry with a new event id is the same order):
        // at its first time, with its newest values — what the profile's order facts keep, in any arrival order.
        // Audit U70: a loyalty or referral event naming its transaction likewise, once per key (what the profile counts).
        var id = e.Type == EventTypes.OrderPlaced && (orderId ?? WellKnownProperties.String(e.Properties, "order_id")) is { Length: > 0 } known ? OrderKeyPrefix + known
            : ProfileCore.TallyKey(e) is { } tally ? TallyKeyPrefix + tally : e.Id;
        var entry = new RecordedEvent(id, e.Timestamp, Project(e.Properties, need.Paths));
        bool? newest = null;
        if (IsKeyedEntry(entry) && fact is not null)
        {
            if (fact.At < e.Timestamp)
            {
                // A later event of an order whose entry a prune may have let go: it goes back at the order's first time (and
                // is pruned again there), not in today's windows as a new order. Audit U93: a keyed loyalty or referral
                // entry likewise, at the first time its tally fact keeps.
                entry = entry with { Timestamp = fact.At, ValuesAt = e.Timestamp };
            }

            // An older report arriving after the newest (08:22's correction to 50, then 08:09's 150): the entry keeps the
            // newest values. When the entry is gone, the prune let it go with them, matching no filter; it is not recorded
            // again with the older values (which read "ever 100 or more"), and its earlier first time is the restore's.
            newest = !Stamp.Newer(fact.UpdatedAt, fact.EventId, e.Timestamp, e.Id);
            if (newest == false && !HasEntry(e.Type, id))
            {
                // Review of session 58: but its time may now be the key's first, and so her first event of the type, which
                // the restore does not put back while a filter matches an entry without properties ("no coupon"). The
                // entry goes back at that time without the newest values, known to match no filter (and is pruned again
                // when neither first nor last).
                if (fact.At != e.Timestamp)
                {
                    return false;
                }

                entry = Bare(id, fact);
            }
        }

        recorded = Insert(e.Type, entry, newest);
        replaced = recorded is not null && _replaced;
        return recorded is not null;
    }

    /// <summary>
    /// Puts back the profile's first and last orders (from its order facts, which keep every order for good) when this
    /// history lost them: an order entry moves to an earlier time when the order is re-sent with one (or a merge knows
    /// one), so the kept last order can become an earlier one while the real last, pruned as "neither first nor last", is
    /// gone (review of audit U35); a document written before U35 kept no first or last order at all. A restored entry has
    /// no properties and matches no <c>where</c> filter (<see cref="RecordedEvent.MatchesNoFilter"/>; review of session 58:
    /// before, the restore waited for every filter to reject an entry without properties, audit U90). That is exact: an
    /// order missing here was pruned as matching none of them with its newest values (every matching order stays, and a
    /// later event of the order records it again).
    /// </summary>
    /// <param name="orders">The profile's orders, by key (<c>order:{order_id}</c>, or <c>event:{event id}</c>).</param>
    /// <param name="firstAt">The profile's first order time.</param>
    /// <param name="lastAt">The profile's last order time.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <param name="now">The current instant: only past orders are restored.</param>
    /// <returns>Whether an order was put back (every rule over orders may then answer otherwise).</returns>
    internal bool RestoreFirstAndLastOrder(IReadOnlyDictionary<string, OrderFact> orders, DateTimeOffset? firstAt, DateTimeOffset? lastAt, HistoryRequirements requirements, DateTimeOffset now)
    {
        if (requirements.For(EventTypes.OrderPlaced) is not { KeepAll: false } need || firstAt is not { } first || first > now)
        {
            return false;
        }

        var list = ListOf(EventTypes.OrderPlaced);
        var past = list is null ? 0 : UpperBound(list, now);
        var keptFirst = past > 0 ? list![0].Timestamp : (DateTimeOffset?)null;
        var keptLast = past > 0 ? list![past - 1].Timestamp : (DateTimeOffset?)null;
        var last = lastAt is { } l && l <= now ? l : (DateTimeOffset?)null;
        var needFirst = keptFirst is not { } kf || kf > first;
        var needLast = last is { } la && (keptLast is not { } kl || kl < la);
        if (!needFirst && !needLast)
        {
            return false;
        }

        var restored = false;
        foreach (var (key, fact) in orders)
        {
            if ((needFirst && fact.At == first) || (needLast && fact.At == last))
            {
                var id = key.StartsWith(OrderKeyPrefix, StringComparison.Ordinal) ? key : key["event:".Length..];
                restored |= Insert(EventTypes.OrderPlaced, Bare(id, fact)) is not null;
                needFirst &= fact.At != first;
                needLast &= fact.At != last;
                if (!needFirst && !needLast)
                {
                    break;
                }
            }
        }

        return restored;
    }

    /// <summary>
    /// Audit U93: as <see cref="RestoreFirstAndLastOrder"/>, for the keyed loyalty and referral entries (<c>tally:</c>) of
    /// each of the four tally types, from the profile's tally facts (<see cref="CustomerProfile.Tallies"/>, keyed
    /// <c>{type}:{id}</c>, which keep each key's first time). An entry moves earlier when its key is reported again with an
    /// earlier time, so the kept last entry can become an earlier one while the real last, pruned as neither first nor
    /// last, is gone. The facts are trimmed at <see cref="ProfileCore.MaxTallies"/> keys (the least recently updated go):
    /// a forgotten key is not restored.
    /// </summary>
    /// <param name="tallies">The profile's tally facts.</param>
    /// <param name="eventType">The one type to restore, or <see langword="null"/> for the four.</param>
    /// <param name="requirements">What the loaded rules need.</param>
    /// <param name="now">The current instant: only past entries are restored.</param>
    /// <returns>Whether an entry was put back.</returns>
    internal bool RestoreFirstAndLastTallies(IReadOnlyDictionary<string, OrderFact> tallies, string? eventType, HistoryRequirements requirements, DateTimeOffset now)
    {
        if (tallies.Count == 0)
        {
            return false;
        }

        var restored = false;
        foreach (var type in TallyTypes)
        {
            if ((eventType is null || eventType == type) && requirements.For(type) is { KeepAll: false } need)
            {
                restored |= RestoreTallies(tallies, type, need, now);
            }
        }

        return restored;
    }

    private static readonly string[] TallyTypes =
        [EventTypes.LoyaltyPointsEarned, EventTypes.LoyaltyPointsRedeemed, EventTypes.ReferralSent, EventTypes.ReferralConverted];

    private bool RestoreTallies(IReadOnlyDictionary<string, OrderFact> tallies, string type, EventTypeRequirement need, DateTimeOffset now)
    {
        var prefix = type + ":";
        string? firstKey = null, lastKey = null;
        OrderFact? firstFact = null, lastFact = null;
        DateTimeOffset first = default, last = default;
        foreach (var (key, fact) in tallies)
        {
            if (fact.At > now || !key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // Ties by key, so the entry put back is the same in any arrival order.
            if (firstKey is null || fact.At < first || (fact.At == first && string.CompareOrdinal(key, firstKey) < 0))
            {
                (firstKey, first, firstFact) = (key, fact.At, fact);
            }

            if (lastKey is null || fact.At > last || (fact.At == last && string.CompareOrdinal(key, lastKey) > 0))
            {
                (lastKey, last, lastFact) = (key, fact.At, fact);
            }
        }

        if (firstKey is null)
        {
            return false;
        }

        var list = ListOf(type);
        var past = list is null ? 0 : UpperBound(list, now);
        var needFirst = past == 0 || list![0].Timestamp > first;
        var needLast = past == 0 || list![past - 1].Timestamp < last;
        if (!needFirst && !needLast)
        {
            return false;
        }

        var restored = false;
        if (needFirst)
        {
            restored |= Insert(type, Bare(TallyKeyPrefix + firstKey, firstFact!)) is not null;
        }

        if (needLast && lastKey != firstKey)
        {
            restored |= Insert(type, Bare(TallyKeyPrefix + lastKey, lastFact!)) is not null;
        }

        return restored;
    }

    // A restored entry: at the key's first time, without properties, dated with its newest report's time, so an older
    // report arriving later does not read as newer than what the entry stands for. Review of session 58: it matches no
    // filter (MatchesNoFilter), which is what its key's newest values did when the prune let it go; so the restore no
    // longer waits for every filter to reject an entry without properties (audit U90's condition): with "no coupon"
    // loaded, a key's report moving it earlier could leave the real last or first one pruned for good.
    private static RecordedEvent Bare(string id, OrderFact fact) =>
        new(id, fact.At, null) { ValuesAt = fact.UpdatedAt > fact.At ? fact.UpdatedAt : null, MatchesNoFilter = true };

    // The id of an order's entry: no event id starts so (event ids are the host's, and "order:" ones would only
    // collide with an order of that id, which is the same order).
    private const string OrderKeyPrefix = "order:";

    /// <summary>Adds every event of <paramref name="other"/> not already here (a profile merge); prune afterwards.</summary>
    /// <param name="other">The absorbed profile's history.</param>
    /// <param name="facts">
    /// What both profiles know of their orders and keyed loyalty and referral events, by entry id (<c>order:{order_id}</c>,
    /// <c>tally:{type}:{id}</c>): the merged fact's earliest time (this side may have pruned an entry that the other side
    /// still keeps at a later time) and newest report (a side's entry holds its own newest report's values: when that
    /// report is not the merged newest, the entry is stale and goes).
    /// </param>
    public void MergeFrom(RuleHistory other, MergeFacts? facts = null)
    {
        ArgumentNullException.ThrowIfNull(other);
        _leafAnswers?.OnMerged();

        // Audit U93: a key's entry whose values lost to the other side's newer report goes before the two combine (08:09's
        // 150 kept on one side, 08:22's correction to 50 pruned on the other): the entries' own times cannot tell two
        // reports of one instant apart, the facts' event ids do.
        if (facts is not null)
        {
            foreach (var type in Events.Keys.ToList())
            {
                foreach (var e in Events[type].ToList())
                {
                    if (IsKeyedEntry(e) && facts.Stale(e, ours: true))
                    {
                        Remove(type, e);
                    }
                }
            }
        }

        foreach (var (type, list) in other.Events)
        {
            foreach (var e in list.ToList()) // Insert may replace a list (an order on both sides)
            {
                if (facts is null || !IsKeyedEntry(e) || !facts.Stale(e, ours: false))
                {
                    Insert(type, e);
                }
            }
        }

        // Audit U90: every kept entry of a key at the merged first time. The other side may know an earlier time of an
        // order it no longer keeps (its entry pruned as neither first nor last): this side's entry then stayed at its later
        // time, and was read as her last order (o0's update of 08:33 kept here, its 08:22 pruned there: 08:33, not o2's
        // 08:27). Audit U93: keyed loyalty and referral entries likewise, from the tally facts.
        if (facts is not null)
        {
            foreach (var type in Events.Keys.ToList())
            {
                foreach (var e in Events[type].ToList())
                {
                    if (IsKeyedEntry(e) && facts.Merged(e.Id) is { } fact && fact.At < e.Timestamp)
                    {
                        Insert(type, e with { Timestamp = fact.At, ValuesAt = e.ValuesAt ?? e.Timestamp });
                    }
                }
            }
        }
    }

    private bool HasEntry(string type, string id) =>
        ListOf(type) is { } list && (list is RecordedList ? IdsOf(list).Contains(id) : list.Exists(x => x.Id == id));

    // Takes one entry out; the list is replaced, not edited (see Combine).
    private void Remove(string type, RecordedEvent e)
    {
        var replaced = new RecordedList(Events[type]);
        replaced.Remove(e);
        Events[type] = replaced;
        _pruneFloors?.Remove(type);
    }

    // newest: whether the recorded event is its key's newest report (null: unknown, the entries' times decide).
    private RecordedEvent? Insert(string type, RecordedEvent recorded, bool? newest = null)
    {
        if (!Events.TryGetValue(type, out var list) || list is not RecordedList)
        {
            // A list read from a document (or set from outside) is copied once into one that carries its id index.
            list = list is null ? new RecordedList() : new RecordedList(list);
            Events[type] = list;
        }

        // After the last event at or before this time; equal times are checked for the same id.
        var i = UpperBound(list, recorded.Timestamp);
        for (var j = i - 1; j >= 0 && list[j].Timestamp == recorded.Timestamp; j--)
        {
            if (list[j].Id == recorded.Id)
            {
                return IsKeyedEntry(recorded) ? Combine(type, list, j, recorded, newest) : null;
            }
        }

        // The same id at another time is a redelivery with a corrected time: rare, so the ids are indexed, not scanned.
        var ids = IdsOf(list);
        if (!ids.Add(recorded.Id))
        {
            return IsKeyedEntry(recorded) ? Combine(type, list, list.FindIndex(x => x.Id == recorded.Id), recorded, newest) : null;
        }

        // Among events of one instant, by id: the list is then the same whatever order they arrived in.
        while (i > 0 && list[i - 1].Timestamp == recorded.Timestamp && string.CompareOrdinal(list[i - 1].Id, recorded.Id) > 0)
        {
            i--;
        }

        list.Insert(i, recorded);
        _pruneFloors?.Remove(type);
        _leafAnswers?.OnInserted(type, recorded);
        return recorded;
    }

    private static bool IsOrderEntry(RecordedEvent e) => e.Id.StartsWith(OrderKeyPrefix, StringComparison.Ordinal);

    internal const string TallyKeyPrefix = "tally:";

    // An entry recorded once per natural key (an order, a keyed loyalty or referral event): another event of it combines.
    private static bool IsKeyedEntry(RecordedEvent e) => IsOrderEntry(e) || e.Id.StartsWith(TallyKeyPrefix, StringComparison.Ordinal);

    // Another event of an order already recorded: the entry keeps the earliest time and the values of the newest event
    // (ties by the values' text, so arrival order never decides). The list is replaced, not edited: remembered answers
    // and the id index are tied to the list's identity.
    // When the profile's fact says whether the incoming event is its key's newest report (newest), that decides: ties of
    // time then go by event id, as the fact's do.
    private RecordedEvent? Combine(string type, List<RecordedEvent> list, int at, RecordedEvent incoming, bool? newest)
    {
        var known = list[at];
        var knownValuesAt = known.ValuesAt ?? known.Timestamp;
        var incomingValuesAt = incoming.ValuesAt ?? incoming.Timestamp;
        var takeIncoming = newest ?? (incomingValuesAt > knownValuesAt
            || (incomingValuesAt == knownValuesAt && string.CompareOrdinal(incoming.Properties?.ToJsonString(), known.Properties?.ToJsonString()) switch
            {
                > 0 => true,
                0 => incoming.MatchesNoFilter is null && known.MatchesNoFilter == true, // the real values over the stand-in
                _ => false,
            }));
        var time = incoming.Timestamp < known.Timestamp ? incoming.Timestamp : known.Timestamp;
        var valuesAt = takeIncoming ? incomingValuesAt : knownValuesAt;
        var combined = new RecordedEvent(known.Id, time, takeIncoming ? incoming.Properties : known.Properties)
        {
            ValuesAt = valuesAt > time ? valuesAt : null,
            MatchesNoFilter = takeIncoming ? incoming.MatchesNoFilter : known.MatchesNoFilter,
        };
        if (combined.Equals(known))
        {
            return null;
        }

        var replaced = new RecordedList(list);
        replaced.RemoveAt(at);
        Events[type] = replaced;
        _replaced = true;
        return Insert(type, combined);
    }

    // The ids of a list, built on first use and kept in step by Insert and Prune; rebuilt when the list changed behind
    // their back.
    private static HashSet<string> IdsOf(List<RecordedEvent> list)
    {
        var kept = (RecordedList)list;
        if (kept.Ids is not { } ids || ids.Count != list.Count)
        {
            ids = new HashSet<string>(list.Count, StringComparer.Ordinal);
            foreach (var e in list)
            {
                ids.Add(e.Id);
            }

            kept.Ids = ids;
        }

        return ids;
    }

    /// <summary>
    /// A kept list with the index of its ids (duplicate detection without a scan). A field, not a weak table keyed by the
    /// list: such a table takes a lock on every update and gives the collector a dependent handle per list to trace.
    /// </summary>
    private sealed class RecordedList : List<RecordedEvent>
    {
        public RecordedList()
        {
        }

        public RecordedList(IEnumerable<RecordedEvent> items)
            : base(items)
        {
        }

        public HashSet<string>? Ids { get; set; }
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

    /// <summary>A list's prune floor: valid for that list object and those requirements only.</summary>
    private readonly record struct PruneFloor(List<RecordedEvent> List, EventTypeRequirement Need, DateTimeOffset At);
}

/// <summary>
/// The facts of a merge's keyed entries (orders, keyed loyalty and referral events), by entry id: the merged profile's, the
/// absorbed side's, and this side's from before the merge (for keys both sides knew; a key only this side knew is
/// unchanged).
/// </summary>
/// <param name="Merged">The merged fact of an entry id.</param>
/// <param name="Theirs">The absorbed side's fact of an entry id.</param>
/// <param name="OursBefore">This side's facts, before the merge, of the keys both sides knew.</param>
internal sealed record MergeFacts(Func<string, OrderFact?> Merged, Func<string, OrderFact?> Theirs, IReadOnlyDictionary<string, OrderFact>? OursBefore)
{
    /// <summary>
    /// Whether a side's entry holds an older report's values than the merged newest: its side's newest report (whose values
    /// a side's entry holds) is not the merged one. Without that side's fact (trimmed), by the entry's own values time.
    /// </summary>
    public bool Stale(RecordedEvent e, bool ours)
    {
        if (Merged(e.Id) is not { } merged)
        {
            return false;
        }

        var side = ours ? (OursBefore is not null && OursBefore.TryGetValue(e.Id, out var before) ? before : merged) : Theirs(e.Id);
        return side is null
            ? (e.ValuesAt ?? e.Timestamp) < merged.UpdatedAt
            : side.EventId != merged.EventId || side.UpdatedAt != merged.UpdatedAt;
    }
}
