using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Journeys;

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

    /// <summary>
    /// Audit U92: the arm it took at each split it passed (split id to variant name, <c>control</c> included). <see
    /// cref="Variant"/> is the last split's arm only: a merge reads this to tell whether the instance is in the arm of a
    /// split the person did not keep. Null in older documents and for an instance that passed no split.
    /// </summary>
    public Dictionary<string, string>? Arms { get; set; }

    /// <summary>
    /// A later entry of a person already assigned at the split (sticky): counted in the journey's statistics, which
    /// count instances, but not again in the experiment's arms, which count people. False in older documents.
    /// </summary>
    public bool RepeatEntry { get; set; }

    public string? LastStepId { get; set; }

    public string? LastChannel { get; set; }

    /// <summary>
    /// When <see cref="LastStepId"/> and <see cref="LastChannel"/> took each of their recent values (journeys with a goal;
    /// the newest <see cref="StepCredit.MaxKept"/>): a goal event from before a step ran, uploaded late, is credited to
    /// the step before it. Null in older documents (the last step is credited).
    /// </summary>
    public List<StepCredit>? Credits { get; set; }
}

/// <summary>A step a conversion can be credited to, the channel a message last went out on then, and when it ran.</summary>
internal sealed class StepCredit
{
    /// <summary>How many an instance keeps (a daily loop would keep one a day).</summary>
    public const int MaxKept = 16;

    public required string StepId { get; set; }

    public string? Channel { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary>
    /// The step and channel to credit for a goal reached at <paramref name="at"/> (event time): the last that had run by
    /// then (<paramref name="stepId"/> and <paramref name="channel"/>, the instance's last, when nothing ran after it);
    /// none when every kept one ran later.
    /// </summary>
    public static (string? StepId, string? Channel) Credited(List<StepCredit>? credits, string? stepId, string? channel, DateTimeOffset at)
    {
        if (credits is not { Count: > 0 } || credits[^1].At <= at)
        {
            return (stepId, channel);
        }

        for (var i = credits.Count - 1; i >= 0; i--)
        {
            if (credits[i].At <= at)
            {
                return (credits[i].StepId, credits[i].Channel);
            }
        }

        return (null, null);
    }
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

    /// <summary>
    /// Audit U95: the <c>order_id</c> of the order report that started its last entry (null for other triggers): that
    /// order's first report arriving after it (a later report of it arrived first) does not start the journey again.
    /// </summary>
    public string? OrderId { get; set; }
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

    /// <summary>Audit U92: the send step that planned it. Null in older documents.</summary>
    public string? StepId { get; set; }

    /// <summary>
    /// Audit U92: the arms its instance had taken when it planned the message (<see cref="JourneyInstance.Arms"/>): a merge
    /// that keeps another arm withdraws it, though its instance may have ended. Null in older documents and for a message
    /// planned before any split.
    /// </summary>
    public Dictionary<string, string>? Arms { get; set; }
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

    /// <summary>
    /// Audit U88: whether <paramref name="a"/> was made before <paramref name="b"/> (the one a merge keeps); at one instant
    /// the ordinal first variant name, so the answer does not depend on which profile absorbs the other.
    /// </summary>
    public static bool Before(VariantAssignment a, VariantAssignment b) =>
        a.At < b.At || (a.At == b.At && string.CompareOrdinal(a.Variant, b.Variant) < 0);
}

/// <summary>An ended instance still watched for its goal.</summary>
internal sealed class PendingConversion
{
    public required string JourneyId { get; set; }

    public required int Version { get; set; }

    public required string InstanceId { get; set; }

    public string? StepId { get; set; }

    public string? Variant { get; set; }

    /// <summary>The ended instance was a repeat entry (see <see cref="JourneyInstance.RepeatEntry"/>).</summary>
    public bool RepeatEntry { get; set; }

    public string? Channel { get; set; }

    /// <summary>The ended instance's <see cref="JourneyInstance.Credits"/>.</summary>
    public List<StepCredit>? Credits { get; set; }

    /// <summary>The instance's start by event time: an event from before it does not convert (null in older documents: no bound).</summary>
    public DateTimeOffset? From { get; set; }

    /// <summary>
    /// The ended instance's correlation value (its cart, its order…): a goal event naming another one does not convert it,
    /// as it would not have converted the running instance. Null when the journey correlates by nothing, and in older
    /// documents (any goal event).
    /// </summary>
    public string? CorrelationKey { get; set; }

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

    /// <summary>
    /// Annual date: her local date of the occurrence that last fired (the day she was wished), so the same date written
    /// another way, or scheduled on another profile of hers in another zone, is not fired again that day.
    /// </summary>
    public DateOnly? DateFiredOn { get; set; }

    /// <summary>Inactivity: the latest <c>afterEvent</c>'s time (event time, at most the time it was processed).</summary>
    public DateTimeOffset? AfterAt { get; set; }

    /// <summary>
    /// Inactivity, in documents written before audit U24 only: the latest <c>noEvent</c>'s time (a maximum, which hid a
    /// purchase inside the window behind a later one). Read once into <see cref="NoEvents"/>, then cleared.
    /// </summary>
    public DateTimeOffset? NoEventAt { get; set; }

    /// <summary>
    /// Inactivity: the times of the <c>noEvent</c>s other than orders heard since <see cref="AfterAt"/> (or before any),
    /// ascending, thinned to what can still decide a window. Orders are read from the profile's orders at their first
    /// time instead, so an update arriving before its original is that order at its first time once the original came.
    /// </summary>
    public List<DateTimeOffset>? NoEvents { get; set; }

    /// <summary>
    /// Inactivity: the deadline it last fired for (the processing time in documents written before the twenty-second
    /// session); an <c>afterEvent</c> from before then does not arm it again, a later one starts a new period of inactivity.
    /// </summary>
    public DateTimeOffset? FiredAt { get; set; }

    /// <summary>Inactivity: the <see cref="AfterAt"/> whose deadline was refused as history (see <see cref="Journeys.InactivityTrigger.MaxAge"/>).</summary>
    public DateTimeOffset? RefusedAfterAt { get; set; }

    /// <summary>
    /// Inactivity: when the engine learned of the <c>afterEvent</c> at <see cref="AfterAt"/> (processing time), so a deadline
    /// that had long passed by then (an import) is told from one the engine knew and reached late (it was down).
    /// </summary>
    public DateTimeOffset? AfterLearnedAt { get; set; }

    /// <summary>An inactivity clock with its stamps (clocks written before the stamps existed have none).</summary>
    [JsonIgnore]
    public bool IsClock => AfterAt is not null || NoEventAt is not null || NoEvents is { Count: > 0 } || FiredAt is not null || RefusedAfterAt is not null;

    /// <summary>
    /// Date: whether <paramref name="done"/> (one profile's) already fired for the same trait value the occurrence that
    /// <paramref name="due"/> (another profile's of hers) still has due: a one-off date fires once per value, an annual
    /// date once per occurrence, wherever her profiles had it scheduled before they merged.
    /// </summary>
    public static bool FiredWhatIsDue(ScheduledTrigger done, ScheduledTrigger due) =>
        done.FiredBasis is { } fired && fired == due.Basis && due.DueAt != DateTimeOffset.MaxValue
        && ((fired == done.Basis && done.DueAt == DateTimeOffset.MaxValue)
            // Review 26b: a trait cleared after it fired keeps what fired (Basis empty): a one-off fired for that value, an
            // annual date for the occurrence it fired. Else the other profile's same value, still due, fired it again.
            || (done.Basis.Length == 0 && done.DateFiredOn is null)
            || ((fired == done.Basis || done.Basis.Length == 0) && done.DateFiredAt is { } at && (due.DueAt - at).Duration() <= JourneyRunner.SameOccurrence));

    /// <summary>Two profiles' clocks of one journey as one person's: the latest of each stamp.</summary>
    public static ScheduledTrigger Fold(ScheduledTrigger a, ScheduledTrigger b)
    {
        var later = (b.AfterAt ?? DateTimeOffset.MinValue) > (a.AfterAt ?? DateTimeOffset.MinValue) ? b : a;
        var earlier = ReferenceEquals(later, a) ? b : a;

        // The earlier clock's deadline had passed, unfired (the engine was down), when the later afterEvent was learned, and
        // that afterEvent happened before it: on one profile the deadline the engine knew fires first (what is due runs
        // before an event), and the later afterEvent, inside the inactivity that fired, sets nothing. So the earlier clock
        // answers for the person; else a late-learned newer afterEvent would be refused as history and the deadline lost
        // (and a refusal the other profile already made of it does not stand: that afterEvent is inside the fired inactivity).
        // Only a deadline learned before it passed counts: one learned after (an import) may be refused as history, and then
        // the later afterEvent sets the clock as it does on one profile.
        var known = earlier.IsClock && earlier.DueAt != DateTimeOffset.MaxValue && earlier.AfterLearnedAt is { } knownAt && knownAt <= earlier.DueAt
            && later.AfterLearnedAt is { } learned && earlier.DueAt <= learned && later.AfterAt < earlier.DueAt;
        if (known)
        {
            later = earlier;
        }

        return new ScheduledTrigger
        {
            DueAt = later.DueAt,
            Basis = later.Basis,
            AfterAt = later.AfterAt,
            AfterLearnedAt = later.AfterLearnedAt,
            NoEventAt = Max(a.NoEventAt, b.NoEventAt),
            NoEvents = a.NoEvents is null && b.NoEvents is null ? null : [.. (a.NoEvents ?? []).Union(b.NoEvents ?? []).Order()], // thinned at the re-arm
            FiredAt = Max(a.FiredAt, b.FiredAt),
            RefusedAfterAt = known ? later.RefusedAfterAt : Max(a.RefusedAfterAt, b.RefusedAfterAt),
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
