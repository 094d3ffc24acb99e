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
    /// The starts each side of the merges in this unit of work remembered (journey, correlation value, instant), before
    /// their records were folded into one: re-entry "afterCooldown" compares the running instances with them. Not stored.
    /// </summary>
    [JsonIgnore]
    public List<(string JourneyId, string? Key, DateTimeOffset StartedAt)> MergedStarts { get; } = [];

    [JsonIgnore]
    public bool IsEmpty => Instances.Count == 0 && Entries.Count == 0 && PendingConversions.Count == 0 && Scheduled.Count == 0 && Counters.Count == 0
        && Assignments.Count == 0 && HeldMessages.Count == 0 && Cancelled.Count == 0 && ExitsSeen.Count == 0
        && GoalsSeen.Count == 0;

    /// <summary>Cancels the held messages of an instance; forgets held and cancelled records that can no longer matter.</summary>
    public void CancelHeld(string instanceId, string reason, DateTimeOffset now)
    {
        foreach (var h in HeldMessages.Where(h => h.InstanceId == instanceId).ToList())
        {
            Cancelled[h.Key] = new CancelledMessage { Reason = reason, At = now, DueAt = h.DueAt };
            HeldMessages.Remove(h);
        }

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
        NextInstance = Math.Max(NextInstance, other.NextInstance);

        // Instance ids stay unique; message keys also carry the origin profile, so no key changes meaning. An id is
        // taken when this side knows it at all: a running instance, or a finished one whose messages are still held
        // or whose goal is still watched (else an exit here would cancel the other side's held messages).
        var taken = new HashSet<string>(Instances.Select(i => i.Id), StringComparer.Ordinal);
        taken.UnionWith(HeldMessages.Select(h => h.InstanceId));
        taken.UnionWith(PendingConversions.Select(c => c.InstanceId));
        var theirs = other.Instances.Select(i => i.Id).Concat(other.HeldMessages.Select(h => h.InstanceId)).Concat(other.PendingConversions.Select(c => c.InstanceId))
            .Where(taken.Contains).Distinct(StringComparer.Ordinal).ToList();
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
            if (!Assignments.TryGetValue(key, out var mine) || a.At < mine.At)
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
            else if (s.DueAt < mine.DueAt)
            {
                Scheduled[id] = s; // a date trigger (or a clock written before the stamps): the earlier one
            }
        }

        foreach (var (k, v) in other.Counters)
        {
            Counters[k] = Counters.GetValueOrDefault(k) + v;
        }

        NextInstance++;
    }

    /// <summary>Keeps <paramref name="seen"/> if it is the latest of its journey, version and key; at most 20 per journey.</summary>
    public void SawExit(ExitSeen seen) => KeepLatest(ExitsSeen, seen);

    /// <summary>Keeps <paramref name="seen"/> if it is the latest of its journey, version and key; at most 20 per journey.</summary>
    public void SawGoal(GoalSeen seen) => KeepLatest(GoalsSeen, seen);

    private const int MaxOutcomesSeenPerJourney = 20;

    private static void KeepLatest<T>(List<T> kept, T seen)
        where T : class, IOutcomeSeen
    {
        var mine = kept.Find(x => x.JourneyId == seen.JourneyId && x.Version == seen.Version && x.Key == seen.Key);
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

/// <summary>An exit or goal event a profile remembers for a journey (version), by event time.</summary>
internal interface IOutcomeSeen
{
    string JourneyId { get; }

    int Version { get; }

    string? Key { get; }

    DateTimeOffset At { get; }
}

/// <summary>An exit event of a journey (version), with the correlation value it named (null: every instance).</summary>
internal sealed class ExitSeen : IOutcomeSeen
{
    public required string JourneyId { get; set; }

    public int Version { get; set; }

    public string? Key { get; set; }

    public required string EventType { get; set; }

    /// <summary>The event's time (at most when it was processed).</summary>
    public DateTimeOffset At { get; set; }
}

/// <summary>A goal event of a journey (version): what the live goal path credits (its revenue is read from its properties).</summary>
internal sealed class GoalSeen : IOutcomeSeen
{
    public required string JourneyId { get; set; }

    public int Version { get; set; }

    public string? Key { get; set; }

    /// <summary>The event's time (at most when it was processed).</summary>
    public DateTimeOffset At { get; set; }

    public required string EventId { get; set; }

    public required string EventType { get; set; }

    public DateTimeOffset Timestamp { get; set; }

    public string Channel { get; set; } = ChannelNames.Web;

    public JsonObject? Properties { get; set; }

    /// <summary>Whether it already converted an entry of the journey: one conversion per goal event.</summary>
    public bool Credited { get; set; }
}

/// <summary>One running instance of a journey.</summary>
internal sealed class JourneyInstance
{
    /// <summary>Unique within the profile's lifetime (<c>journey-id#n</c>).</summary>
    public required string Id { get; set; }

    /// <summary>The profile the instance started on (kept through merges, so message keys stay unique).</summary>
    public required string OriginProfileId { get; set; }

    public required string JourneyId { get; set; }

    public required int Version { get; set; }

    /// <summary>The step the instance is on (waiting at, or about to run).</summary>
    public required string StepId { get; set; }

    /// <summary>How many steps it has run; part of message keys so a step run twice (a loop) sends twice, a retry never.</summary>
    public int Sequence { get; set; }

    public required DateTimeOffset StartedAt { get; set; }

    /// <summary>
    /// The start by event time: the trigger event's time (never after <see cref="StartedAt"/>). Goals and exit criteria
    /// only count events from then on. Null in documents written before it: <see cref="StartedAt"/>.
    /// </summary>
    public DateTimeOffset? EventStartedAt { get; set; }

    /// <summary>When the current wait (delay, wait-for-event timeout) ends; null while not waiting.</summary>
    public DateTimeOffset? WakeAt { get; set; }

    /// <summary>
    /// By event time, when the current wait-for-event began (the time of what moved the instance there): an event from
    /// before it, uploaded late, does not answer the wait. Null in documents written before it: any event answers. For a
    /// wait until a local time, when it began: a move of zone recomputes the wait from then at the earliest.
    /// </summary>
    public DateTimeOffset? WaitingSince { get; set; }

    /// <summary>When a segment-condition exit criterion may next change its answer.</summary>
    public DateTimeOffset? ExitCheckAt { get; set; }

    public string? CorrelationKey { get; set; }

    /// <summary>
    /// The incarnation of the journey id it started under (see <see cref="JourneyCatalog.IncarnationOf"/>); null for the
    /// first. An instance of an earlier incarnation belongs to a removed journey and ends, whatever was published since.
    /// </summary>
    public int? Incarnation { get; set; }

    public string? TriggerEventId { get; set; }

    public string? TriggerEventType { get; set; }

    /// <summary>The trigger event's properties (cart lines, order id), for templates and branch conditions.</summary>
    public JsonObject? Trigger { get; set; }

    /// <summary>What the instance recorded: <c>variant</c>, <c>correlationKey</c>, the last event matched by a wait.</summary>
    public JsonObject Context { get; set; } = [];

    public string? Variant { get; set; }

    public string? LastStepId { get; set; }

    public string? LastChannel { get; set; }
}

/// <summary>Re-entry bookkeeping for one journey (and correlation value).</summary>
internal sealed class JourneyEntryRecord
{
    public required string JourneyId { get; set; }

    public string? Key { get; set; }

    public DateTimeOffset LastStartedAt { get; set; }

    /// <summary>When an instance first started (kept through merges: re-entry "never" holds for the person).</summary>
    public DateTimeOffset? FirstStartedAt { get; set; }

    public DateTimeOffset? LastEndedAt { get; set; }
}

/// <summary>A journey message waiting in the outbox past the moment it was planned.</summary>
internal sealed class HeldMessage
{
    public required string Key { get; set; }

    public required string InstanceId { get; set; }

    public DateTimeOffset DueAt { get; set; }

    /// <summary>The journey (and version) that planned it; null in documents written before.</summary>
    public string? JourneyId { get; set; }

    public int Version { get; set; }

    /// <summary>Its instance's start by event time: exit criteria met from then on withdraw it once the instance ended.</summary>
    public DateTimeOffset? From { get; set; }

    public string? CorrelationKey { get; set; }
}

/// <summary>Why a queued message must not go out.</summary>
internal sealed class CancelledMessage
{
    public required string Reason { get; set; }

    public DateTimeOffset At { get; set; }

    public DateTimeOffset DueAt { get; set; }
}

/// <summary>A variant the person was assigned in a split, and when.</summary>
internal sealed class VariantAssignment
{
    /// <summary>The variant name, or <c>control</c> for the hold-out.</summary>
    public required string Variant { get; set; }

    public DateTimeOffset At { get; set; }
}

/// <summary>An ended instance still watched for its goal.</summary>
internal sealed class PendingConversion
{
    public required string JourneyId { get; set; }

    public required int Version { get; set; }

    public required string InstanceId { get; set; }

    public string? StepId { get; set; }

    public string? Variant { get; set; }

    public string? Channel { get; set; }

    /// <summary>The instance's start by event time: an event from before it does not convert (null in older documents: no bound).</summary>
    public DateTimeOffset? From { get; set; }

    /// <summary>The goal window's end; compared with the event's time, so a late event from inside the window still converts.</summary>
    public DateTimeOffset Until { get; set; }
}

/// <summary>A date or inactivity trigger waiting to fire.</summary>
internal sealed class ScheduledTrigger
{
    public DateTimeOffset DueAt { get; set; }

    /// <summary>What it was computed from (the trait value, or the event that started the inactivity clock).</summary>
    public string Basis { get; set; } = string.Empty;

    /// <summary>The basis that last fired, so a one-off date trigger fires once per value.</summary>
    public string? FiredBasis { get; set; }

    /// <summary>The customer's zone <see cref="DueAt"/> was computed in (a zone learned later moves it).</summary>
    public string? Zone { get; set; }

    /// <summary>Date: the trigger <see cref="DueAt"/> was computed from (a new version's date, offset or time moves it).</summary>
    public string? Trigger { get; set; }

    /// <summary>Date: the instant it last fired, so a date moved afterwards (a new zone or version) does not fire that occurrence again.</summary>
    public DateTimeOffset? DateFiredAt { get; set; }

    /// <summary>Inactivity: the latest <c>afterEvent</c>'s time (event time, at most the time it was processed).</summary>
    public DateTimeOffset? AfterAt { get; set; }

    /// <summary>Inactivity: the latest <c>noEvent</c>'s time; it cancels the clock if it falls inside the window after <see cref="AfterAt"/>.</summary>
    public DateTimeOffset? NoEventAt { get; set; }

    /// <summary>Inactivity: when the trigger last fired; an <c>afterEvent</c> from before then does not arm it again.</summary>
    public DateTimeOffset? FiredAt { get; set; }

    /// <summary>An inactivity clock with its stamps (clocks written before the stamps existed have none).</summary>
    [JsonIgnore]
    public bool IsClock => AfterAt is not null || NoEventAt is not null || FiredAt is not null;

    /// <summary>Two profiles' clocks of one journey as one person's: the latest of each stamp.</summary>
    public static ScheduledTrigger Fold(ScheduledTrigger a, ScheduledTrigger b)
    {
        var later = (b.AfterAt ?? DateTimeOffset.MinValue) > (a.AfterAt ?? DateTimeOffset.MinValue) ? b : a;
        return new ScheduledTrigger
        {
            DueAt = later.DueAt,
            Basis = later.Basis,
            AfterAt = later.AfterAt,
            NoEventAt = Max(a.NoEventAt, b.NoEventAt),
            FiredAt = Max(a.FiredAt, b.FiredAt),
        };
    }

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a > b ? a : b);
}

/// <summary>A variant a person was assigned in a journey's split, as <see cref="CustomerProfile.Experiments"/> shows it.</summary>
/// <param name="JourneyId">The journey.</param>
/// <param name="StepId">The split step.</param>
/// <param name="Variant">The variant's name, or <c>control</c> for the hold-out.</param>
/// <param name="AssignedAt">When she was first assigned (processing time).</param>
public sealed record ExperimentAssignment(string JourneyId, string StepId, string Variant, DateTimeOffset AssignedAt);

/// <summary>A running journey instance, as <see cref="CustomerProfile.Journeys"/> shows it.</summary>
/// <param name="InstanceId">The instance id (unique within the profile).</param>
/// <param name="JourneyId">The journey.</param>
/// <param name="Version">The version it runs on.</param>
/// <param name="StepId">The step it is on.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="WakeAt">When its current wait ends, or <see langword="null"/>.</param>
/// <param name="CorrelationKey">The correlation value it was started for, if any.</param>
/// <param name="Variant">The A/B variant it was assigned, if any.</param>
public sealed record JourneyInstanceInfo(
    string InstanceId,
    string JourneyId,
    int Version,
    string StepId,
    DateTimeOffset StartedAt,
    DateTimeOffset? WakeAt,
    string? CorrelationKey,
    string? Variant);
