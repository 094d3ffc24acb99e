using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// A profile's journey state, committed with the profile: running instances, what re-entry rules need to remember,
/// conversions still being watched for, scheduled date and inactivity triggers, and the profile's share of each journey's
/// statistics.
/// </summary>
internal sealed class JourneyState
{
    public List<JourneyInstance> Instances { get; set; } = [];

    /// <summary>Per journey and correlation value: when an instance last started and ended (bounded per journey).</summary>
    public List<JourneyEntryRecord> Entries { get; set; } = [];

    /// <summary>Instances that ended without converting, watched for the goal until their window closes.</summary>
    public List<PendingConversion> PendingConversions { get; set; } = [];

    /// <summary>Journey id → the instant its date or inactivity trigger fires for this profile.</summary>
    public Dictionary<string, ScheduledTrigger> Scheduled { get; set; } = new(StringComparer.Ordinal);

    /// <summary>"journey|counter" → count; summed over profiles for <see cref="JourneyStatistics"/>.</summary>
    public Dictionary<string, long> Counters { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Numbers instances of this profile, so instance ids (and the message keys built from them) never repeat.</summary>
    public long NextInstance { get; set; }

    /// <summary>
    /// "journey|split step" → the variant the person was assigned: an experiment assignment belongs to the person, so a
    /// merge keeps it (the earlier one wins) and a later pass through the split gets the same variant.
    /// </summary>
    public Dictionary<string, VariantAssignment> Assignments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Messages of instances that wait in the outbox (quiet hours, retries), so a goal or an exit can cancel them.</summary>
    public List<HeldMessage> HeldMessages { get; set; } = [];

    /// <summary>Message key → why it must not go out any more (checked again when the message leaves the outbox).</summary>
    public Dictionary<string, CancelledMessage> Cancelled { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The latest exit event seen per journey, version and correlation value (by event time), so an instance whose
    /// trigger arrives after it, back-dated, or whose profile merges with the one that saw it still exits on it.
    /// </summary>
    public List<ExitSeen> ExitsSeen { get; set; } = [];

    /// <summary>
    /// Likewise the latest goal event per journey, version and correlation value, with what crediting it needs, so an
    /// instance whose trigger arrives after it, back-dated, or whose profile merges with the one that saw it converts.
    /// </summary>
    public List<GoalSeen> GoalsSeen { get; set; } = [];

    /// <summary>
    /// Events the journeys' <c>waitForEvent</c> steps wait for, the newest <see cref="MaxOutcomesSeenPerJourney"/> per
    /// journey, so a merge answers an instance of the other profile that was waiting when she did it.
    /// </summary>
    public List<WaitAnswerSeen> WaitAnswersSeen { get; set; } = [];

    /// <summary>
    /// The starts each side of the merges in this unit of work remembered (journey, correlation value, instant), before
    /// their records were folded into one: re-entry "afterCooldown" compares the running instances with them. Not stored.
    /// </summary>
    [JsonIgnore]
    public List<(string JourneyId, string? Key, DateTimeOffset StartedAt)> MergedStarts { get; } = [];

    /// <summary>
    /// Which side of this unit of work's merges each ended entry (<see cref="PendingConversion"/>) and remembered goal
    /// (<see cref="GoalSeen"/>) came from (0: this profile; 1, 2…: the profiles absorbed, in order), by reference: a goal a
    /// profile saw and did not credit to its own ended entry (another cart's order, seen while that entry ran) must not
    /// convert it at a merge; only the other side's goals are news to it. Not stored.
    /// </summary>
    [JsonIgnore]
    public Dictionary<object, int> MergedSides { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Audit U89: running instances this unit's merges found in an arm of a split other than the one the person keeps
    /// (<see cref="VariantAssignment.Before"/>), with the split and her kept arm: the runner ends each one that is still in
    /// that arm's own steps, so she is not sent the content of an arm she is not counted in. Not stored.
    /// </summary>
    [JsonIgnore]
    public List<(JourneyInstance Instance, string SplitId, string KeptVariant)> LeftArms { get; } = [];

    /// <summary>
    /// Audit U92: held messages this unit's merges found planned in an arm the person did not keep, with the split and her
    /// kept arm: the runner withdraws each one whose step her kept arm does not also reach, whether or not its instance
    /// still runs. Not stored.
    /// </summary>
    [JsonIgnore]
    public List<(HeldMessage Held, string SplitId, string KeptVariant)> LeftHeld { get; } = [];

    /// <summary>The side <paramref name="item"/> came from in this unit's merges (see <see cref="MergedSides"/>).</summary>
    public int SideOf(object item) => MergedSides.GetValueOrDefault(item);

    [JsonIgnore]
    public bool IsEmpty => Instances.Count == 0 && Entries.Count == 0 && PendingConversions.Count == 0 && Scheduled.Count == 0 && Counters.Count == 0
        && Assignments.Count == 0 && HeldMessages.Count == 0 && Cancelled.Count == 0 && ExitsSeen.Count == 0
        && GoalsSeen.Count == 0 && WaitAnswersSeen.Count == 0;

    /// <summary>Cancels the held messages of an instance; forgets held and cancelled records that can no longer matter.</summary>
    public void CancelHeld(string instanceId, string reason, DateTimeOffset now)
    {
        foreach (var h in HeldMessages.Where(h => h.InstanceId == instanceId).ToList())
        {
            Withdraw(h, reason, now);
        }

        Forget(now);
    }

    /// <summary>Cancels one held message (the dispatcher reads <see cref="Cancelled"/> when it is due).</summary>
    public void Withdraw(HeldMessage h, string reason, DateTimeOffset now)
    {
        Cancelled[h.Key] = new CancelledMessage { Reason = reason, At = now, DueAt = h.DueAt };
        HeldMessages.Remove(h);
    }

    private void Forget(DateTimeOffset now)
    {
        // Kept past the message's due time long enough for a slow or retried dispatch to read it.
        HeldMessages.RemoveAll(h => h.DueAt < now - TimeSpan.FromDays(7));
        foreach (var (key, c) in Cancelled.Where(kv => kv.Value.DueAt < now - TimeSpan.FromDays(7)).ToList())
        {
            Cancelled.Remove(key);
        }
    }

    public void Count(string journeyId, string counter, long by = 1)
    {
        var key = journeyId + "|" + counter;
        Counters[key] = Counters.GetValueOrDefault(key) + by;
    }

    /// <summary>Folds another profile's state in (a merge): nothing is lost, counters add up.</summary>
    public void Absorb(JourneyState other)
    {
        // Sides are numbered before anything is folded: what this profile holds and has not yet been given a side is its own (0).
        var side = MergedSides.Count == 0 ? 1 : MergedSides.Values.Max() + 1;
        foreach (var item in PendingConversions.Cast<object>().Concat(GoalsSeen))
        {
            MergedSides.TryAdd(item, 0);
        }

        foreach (var item in other.PendingConversions.Cast<object>().Concat(other.GoalsSeen))
        {
            MergedSides[item] = side;
        }

        var issuedHere = NextInstance;
        NextInstance = Math.Max(NextInstance, other.NextInstance);

        // Instance ids stay unique within the profile; message keys also carry the origin profile, so no key changes
        // meaning. An id is taken when this side knows it at all (a running instance, or a finished one whose messages
        // are still held or whose goal is still watched: else an exit here would cancel the other side's held messages)
        // or may have issued it before (an instance a removal or its last step ended): the other side's instance then
        // gets a number this profile never gave, so one id never names two runs of her history.
        var taken = new HashSet<string>(Instances.Select(i => i.Id), StringComparer.Ordinal);
        taken.UnionWith(HeldMessages.Select(h => h.InstanceId));
        taken.UnionWith(PendingConversions.Select(c => c.InstanceId));
        var theirs = other.Instances.Select(i => i.Id).Concat(other.HeldMessages.Select(h => h.InstanceId)).Concat(other.PendingConversions.Select(c => c.InstanceId))
            .Where(id => taken.Contains(id) || MayHaveIssued(id, issuedHere)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var id in theirs)
        {
            var journeyId = id[..Math.Max(0, id.LastIndexOf('#'))];
            var renamed = $"{journeyId}#{++NextInstance}";
            foreach (var pc in other.PendingConversions.Where(c => c.InstanceId == id))
            {
                pc.InstanceId = renamed;
            }

            foreach (var h in other.HeldMessages.Where(h => h.InstanceId == id))
            {
                h.InstanceId = renamed;
            }

            foreach (var instance in other.Instances.Where(i => i.Id == id))
            {
                instance.Id = renamed;
            }
        }

        foreach (var instance in other.Instances)
        {
            Instances.Add(instance);
        }

        foreach (var (key, a) in other.Assignments)
        {
            if (!Assignments.TryGetValue(key, out var mine) || VariantAssignment.Before(a, mine))
            {
                Assignments[key] = a;
            }
        }

        foreach (var r in Entries.Concat(other.Entries))
        {
            MergedStarts.Add((r.JourneyId, r.Key, r.LastStartedAt));
            if (r.FirstStartedAt is { } first)
            {
                MergedStarts.Add((r.JourneyId, r.Key, first));
            }
        }

        MergedStarts.AddRange(other.MergedStarts);
        foreach (var e in other.Entries)
        {
            var mine = Entries.Find(x => x.JourneyId == e.JourneyId && x.Key == e.Key);
            if (mine is null)
            {
                Entries.Add(e);
            }
            else
            {
                mine.FirstStartedAt = Min(mine.FirstStartedAt ?? mine.LastStartedAt, e.FirstStartedAt ?? e.LastStartedAt);
                mine.OrderId = mine.LastStartedAt > e.LastStartedAt ? mine.OrderId : e.OrderId; // the last entry's order
                mine.LastStartedAt = mine.LastStartedAt > e.LastStartedAt ? mine.LastStartedAt : e.LastStartedAt;
                mine.LastEndedAt = mine.LastEndedAt is { } a && e.LastEndedAt is { } b ? (a > b ? a : b) : mine.LastEndedAt ?? e.LastEndedAt;
            }
        }

        PendingConversions.AddRange(other.PendingConversions);
        HeldMessages.AddRange(other.HeldMessages);
        foreach (var (key, c) in other.Cancelled)
        {
            Cancelled.TryAdd(key, c);
        }

        foreach (var x in other.ExitsSeen)
        {
            SawExit(x);
        }

        foreach (var x in other.GoalsSeen)
        {
            SawGoal(x);
        }

        foreach (var x in other.WaitAnswersSeen)
        {
            SawWaitAnswer(x);
        }

        foreach (var (id, s) in other.Scheduled)
        {
            if (!Scheduled.TryGetValue(id, out var mine))
            {
                Scheduled[id] = s;
            }
            else if (mine.IsClock && s.IsClock)
            {
                // An inactivity clock is the person's: the latest stamps of both; the runner re-derives DueAt after the merge.
                Scheduled[id] = ScheduledTrigger.Fold(mine, s);
            }
            else if (ScheduledTrigger.FiredWhatIsDue(mine, s))
            {
                // Kept: this profile already fired the date the other still has due (the same value: her account was wished
                // at 09:00 UTC, her phone's profile in Honolulu had it at 09:00 there). The runner moves it to her zone.
            }
            else if (ScheduledTrigger.FiredWhatIsDue(s, mine) || s.DueAt < mine.DueAt)
            {
                Scheduled[id] = s; // a date trigger (or a clock written before the stamps): the earlier one, unless fired
            }

            if (mine is not null && Scheduled[id] is { IsClock: false } kept)
            {
                // When and on which of her days the date last fired for her, on either profile: the runner does not fire that
                // day again, whichever way the kept profile writes it ("--03-12" there, "1990-03-12" here) and in whichever zone.
                // Review of audit U64: the wished day is taken on its own, the later of the two: since U64 a corrected value
                // keeps its day without an instant, and taken from the side with the later instant (last year's, on the
                // other profile) the day she was wished today was lost and she was wished again.
                var last = (mine.DateFiredAt ?? DateTimeOffset.MinValue) >= (s.DateFiredAt ?? DateTimeOffset.MinValue) ? mine : s;
                var day = (mine.DateFiredOn ?? DateOnly.MinValue) >= (s.DateFiredOn ?? DateOnly.MinValue) ? mine.DateFiredOn : s.DateFiredOn;
                (kept.DateFiredAt, kept.DateFiredOn) = (last.DateFiredAt, day);
            }
        }

        foreach (var (k, v) in other.Counters)
        {
            Counters[k] = Counters.GetValueOrDefault(k) + v;
        }

        NextInstance++;
    }

    /// <summary>The n of an instance id "journey#n"; <see cref="long.MaxValue"/> when it has none.</summary>
    internal static long InstanceNumber(string id) =>
        long.TryParse(id.AsSpan(id.LastIndexOf('#') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : long.MaxValue;

    // "journey#n" with n at most what this profile had numbered (or no number): it may be one of its own past instances.
    private static bool MayHaveIssued(string id, long issued) => InstanceNumber(id) is var n && (n == long.MaxValue || n <= issued);

    /// <summary>Keeps <paramref name="seen"/> if it is the latest of its journey, version and key; at most 20 per journey.</summary>
    public void SawExit(ExitSeen seen) => KeepLatest(ExitsSeen, seen);

    /// <summary>
    /// Keeps <paramref name="seen"/> if it is the latest of its journey, version and key; at most 20 per journey. Audit U95:
    /// an order's reports (its <c>order_id</c>) are one goal event, kept beside other orders' at the order's first time and
    /// credited once any report of it converted an entry; its correction arriving first, or on the other profile of a merge,
    /// neither hides an earlier order nor converts a second entry.
    /// </summary>
    public void SawGoal(GoalSeen seen)
    {
        if (OrderOf(seen) is not { } order)
        {
            // Review rv59: another goal event's latest-per-key record never stands over an order's (an order that named no
            // order_id replaced a credited order's record, and that order's late first report converted a second entry).
            KeepLatest(GoalsSeen, seen, x => OrderOf(x) is null);
            return;
        }

        var same = GoalsSeen.Find(x => x.JourneyId == seen.JourneyId && x.Version == seen.Version && x.Key == seen.Key && OrderOf(x) == order);
        if (same is not null)
        {
            if (seen.At < same.At)
            {
                seen.Credited |= same.Credited;
                GoalsSeen[GoalsSeen.IndexOf(same)] = seen;
            }
            else
            {
                same.Credited |= seen.Credited;
            }

            return;
        }

        GoalsSeen.Add(seen);
        if (GoalsSeen.Count(x => x.JourneyId == seen.JourneyId) > MaxOutcomesSeenPerJourney)
        {
            GoalsSeen.Remove(GoalsSeen.Where(x => x.JourneyId == seen.JourneyId).MinBy(x => x.At)!);
        }
    }

    /// <summary>The <c>order_id</c> of a remembered order goal (as <see cref="OrderIdText"/> reads it); null for other goals.</summary>
    internal static string? OrderOf(GoalSeen seen) =>
        seen.EventType == EventTypes.OrderPlaced ? OrderIdText(seen.Properties?["order_id"]) : null;

    /// <summary>An <c>order_id</c> as the profile keys it: a string's text, a number's one text (<see cref="NumericKey"/>).</summary>
    internal static string? OrderIdText(JsonNode? id)
    {
        if (id is not JsonValue v)
        {
            return null;
        }

        switch (v.GetValueKind())
        {
            case System.Text.Json.JsonValueKind.String:
                return v.GetValue<string>();
            case System.Text.Json.JsonValueKind.Number:
                using (var number = System.Text.Json.JsonDocument.Parse(v.ToJsonString()))
                {
                    return NumericKey.Text(number.RootElement);
                }

            default:
                return null;
        }
    }

    /// <summary>Keeps <paramref name="seen"/> (once per journey, version and event); the newest 20 per journey by event time.</summary>
    public void SawWaitAnswer(WaitAnswerSeen seen)
    {
        if (WaitAnswersSeen.Exists(x => x.JourneyId == seen.JourneyId && x.Version == seen.Version && x.EventId == seen.EventId))
        {
            return;
        }

        WaitAnswersSeen.Add(seen);
        if (WaitAnswersSeen.Count(x => x.JourneyId == seen.JourneyId) > MaxOutcomesSeenPerJourney)
        {
            WaitAnswersSeen.Remove(WaitAnswersSeen.Where(x => x.JourneyId == seen.JourneyId).MinBy(x => x.At)!);
        }
    }

    private const int MaxOutcomesSeenPerJourney = 20;

    // alike: which kept records may stand for seen's (all with its journey, version and key when null).
    private static void KeepLatest<T>(List<T> kept, T seen, Predicate<T>? alike = null)
        where T : class, IOutcomeSeen
    {
        var mine = kept.Find(x => x.JourneyId == seen.JourneyId && x.Version == seen.Version && x.Key == seen.Key && (alike is null || alike(x)));
        if (mine is not null && mine.At >= seen.At)
        {
            return;
        }

        if (mine is not null)
        {
            kept.Remove(mine);
        }

        kept.Add(seen);
        if (kept.Count(x => x.JourneyId == seen.JourneyId) > MaxOutcomesSeenPerJourney)
        {
            kept.Remove(kept.Where(x => x.JourneyId == seen.JourneyId).MinBy(x => x.At)!);
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
