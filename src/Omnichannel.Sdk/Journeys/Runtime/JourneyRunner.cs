using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Journeys;

/// <summary>What the engine lends the journey runner: catalogs, settings and the delivery pipeline.</summary>
internal sealed class JourneyServices
{
    public required SegmentCatalog Segments { get; init; }

    public required JourneyCatalog Journeys { get; init; }

    public required int TimelineLength { get; init; }

    /// <summary><see cref="OmnichannelOptions.MaxTraitsPerProfile"/>.</summary>
    public int MaxTraits { get; init; } = OmnichannelOptions.DefaultMaxTraitsPerProfile;

    /// <summary><see cref="OmnichannelOptions.Currency"/>.</summary>
    public string? Currency { get; init; }

    public required DeliveryOptions Delivery { get; init; }

    /// <summary>Runs a message through the delivery policies and renders it; the outbox entry is written with the commit.</summary>
    public required Func<CustomerProfile, MessageRequest, DateTimeOffset, CancellationToken, ValueTask<(SendResult Result, OutboxEntry? Entry)>> Plan { get; init; }

    /// <summary>Measurement settings (conversion revenue of journey goals).</summary>
    public Measurement.MeasurementOptions Measurement { get; init; } = new();

    /// <summary>Whether a transport is registered for a channel.</summary>
    public required Func<string, bool> HasTransport { get; init; }
}

/// <summary>
/// Runs journeys for one profile inside one unit of work (an event, a wake-up): starts instances, moves them through
/// their steps until each waits or ends, and records everything on the profile. Everything it does is committed with
/// the profile at once; messages go to the outbox in the same commit. No I/O of its own.
/// </summary>
internal sealed partial class JourneyRunner(CustomerProfile p, JourneyServices services, DateTimeOffset now, CancellationToken cancellationToken)
{
    /// <summary>Steps an instance may run in one go without waiting (a guard against loops with no wait in them).</summary>
    internal const int MaxStepsWithoutWaiting = 100;

    /// <summary>How long after its goal window closes an ended instance is still watched, for events uploaded late.</summary>
    internal static readonly TimeSpan LateEventGrace = TimeSpan.FromDays(30);

    private const int MaxEntryRecordsPerJourney = 200;

    /// <summary>How far from where an annual date fired the same occurrence can be moved (a year apart from the next one).</summary>
    internal static readonly TimeSpan SameOccurrence = TimeSpan.FromDays(183);
    private const int MaxEmitDepth = 4;

    private readonly Queue<CustomerEvent> _emitted = new();
    private readonly List<SegmentChange> _updatedChanges = []; // segment moves made by updateProfile steps, not yet acted on
    private bool _profileUpdated; // an updateProfile step wrote since the last drain
    private HashSet<JourneyInstance>? _answeredLate; // made on first use: rare, and a runner is made per event
    private bool _traitsChanged = true;
    private JsonElement _given; // the traits the event being handled gave (not history), for dates given late on their day
    private HashSet<string>? _writtenByStep; // traits an updateProfile step set as text while this runner ran (live, as _given)
    private bool _lateDates; // a date trigger was made due now (given or moved late on its local day)
    private bool _repeatOrder;

    // Audit U95: an order's first report (by event time) arriving after a later report of it: heard as the order placed
    // (a goal, a trigger), not as its update; an entry that a later report of it already started is not started again.
    private bool _firstReportLate;

    private bool _repeatOutcome;

    // Audit U81: the report as it arrived, when the event is that report placed on its message late (see OnEventAsync).
    private CustomerEvent? _asArrived;

    private CustomerEvent? _placed;

    // Journeys (and arms) whose first entry, still running, the event reaches: ended "credited to a later entry", the
    // experiment counts her conversion through the later entry it credits (a repeat).
    private HashSet<string>? _firstEntriesReached;

    /// <summary>Messages, webhooks and host events to write to the outbox with the commit.</summary>
    public List<OutboxEntry> Outbox { get; } = [];

    /// <summary>Segment transitions caused by the journeys (profile updates, emitted events).</summary>
    public List<SegmentChange> Changes { get; } = [];

    /// <summary>What happened, for metrics and logs: (journey, what).</summary>
    public List<(string JourneyId, string What)> Activity { get; } = [];

    /// <summary>Journeys her state names that this engine does not have loaded (their instances ended, their held messages
    /// withdrawn): reported once per engine, as a process that registers other journeys than its neighbours does this.</summary>
    public HashSet<string> NotLoaded { get; } = new(StringComparer.Ordinal);

    private JourneyCatalog Catalog => services.Journeys;

    private JourneyState State => p.JourneyData ??= new();

    /// <summary>An event was applied to the profile (and segments re-evaluated, giving <paramref name="changes"/>).</summary>
    /// <param name="e">The event.</param>
    /// <param name="changes">The segment transitions it caused.</param>
    /// <param name="merged">Whether profiles were merged by it (traits may then have changed without the event naming them).</param>
    /// <param name="repeatOrder">Whether it is an order the profile already held (same <c>order_id</c>, another event id):
    /// an update or a retried webhook, which starts no journey again.</param>
    /// <param name="repeatOutcome">Whether it is an outcome its message's touch already held (a provider's webhook sent
    /// again): it starts no journey again.</param>
    /// <param name="byTime">Those of <paramref name="changes"/> that time alone made (checks due before the event, settled
    /// with it): the event's age or history mark does not refuse the journeys they start.</param>
    /// <param name="firstReportLate">Audit U95: it is the first report of an order the profile held (older by event time
    /// than every report heard before it): <paramref name="repeatOrder"/> is then false, as in event-time order.</param>
    /// <param name="asArrived">Audit U81: for a report placed on its message late (it named only a provider's id the
    /// profile learned after it), the report as it arrived, which the journeys heard then: a trigger, goal, exit or awaited
    /// event that matched it is not matched again; only what <paramref name="e"/> matches and it did not (a condition on
    /// what its message adds: <c>journey_id</c>, <c>step_id</c>, <c>variant</c>, <c>template_id</c>, the channel) is.</param>
    public async ValueTask OnEventAsync(CustomerEvent e, IReadOnlyList<SegmentChange> changes, bool merged = false, bool repeatOrder = false, bool repeatOutcome = false,
        IReadOnlyList<SegmentChange>? byTime = null, CustomerEvent? asArrived = null, bool firstReportLate = false)
    {
        if (Catalog.IsEmpty && p.JourneyData is null)
        {
            return;
        }

        _asArrived = asArrived;
        _placed = asArrived is null ? null : e;

        // A time zone learned late moves local-time date triggers, as a trait change does.
        _repeatOrder = repeatOrder && e.Type == EventTypes.OrderPlaced;
        _firstReportLate = firstReportLate && e.Type == EventTypes.OrderPlaced;
        _repeatOutcome = repeatOutcome;
        _traitsChanged = merged || e.Traits.ValueKind == JsonValueKind.Object || !string.IsNullOrWhiteSpace(e.Context?.TimeZone);
        _given = e.Context is { Historical: true } ? default : e.Traits;
        if (merged)
        {
            ResolveMergedInstances();
            EndInstancesInLeftArms(); // audit U89: an instance in the arm she did not keep sends nothing more of it
            p.JourneyData?.MergedStarts.Clear(); // read once, by the rules above
            EndOnMergedOutcomes(); // the other profile saw a goal or exit event after an instance started: as if linked all along
            ConvertPendingOnMergedGoals(); // likewise for entries that ended, whose last message may still be held
            WithdrawHeldOnMergedExits();
            RearmInactivityClocks(); // before anything runs: the folded clocks answer for the person
            await AnswerMergedWaitsAsync().ConfigureAwait(false); // her other profile saw what a wait here waits for
        }

        if (_traitsChanged)
        {
            MoveLocalWaits(EventTime(e)); // before anything due runs: a wait that moved later is no longer due
        }

        // Inactivity clocks hear a noEvent before anything due runs: a cart and its order uploaded late together (an
        // offline phone syncing) cancel the clock by event time instead of firing the reminder first.
        CancelInactivityClocks(e);

        // Likewise a wait-for whose timeout is due but whose awaited event happened before it (uploaded late, or the
        // engine was down past the timeout): the event answers it instead of the timeout branch running first.
        HoldTimeoutsAnsweredBy(e);
        await RunDueAsync().ConfigureAwait(false);
        await HandleEventAsync(e, changes, byTime).ConfigureAwait(false);
        if (_answeredLate is { Count: > 0 })
        {
            _answeredLate.Clear();
            await RunDueAsync().ConfigureAwait(false); // one the event did not move after all times out now
        }

        if (_lateDates)
        {
            _lateDates = false;
            await RunDueAsync().ConfigureAwait(false); // a date given or moved late on its local day fires with the event
        }

        await DrainEmittedAsync().ConfigureAwait(false);
        Finish();
    }

    // Waits for an event whose timeout is due at `now` although `e`, which they await, happened before it.
    private void HoldTimeoutsAnsweredBy(CustomerEvent e)
    {
        if (p.JourneyData is not { Instances.Count: > 0 } state)
        {
            return;
        }

        var at = OutcomeTime(e); // a re-sent order is the order placed at its first time
        foreach (var instance in state.Instances)
        {
            if (instance.WakeAt is { } timeout && timeout <= now && at < timeout
                && (instance.WaitingSince is not { } since || at >= since)
                && Catalog.Find(instance.JourneyId, instance.Version) is { } journey
                && journey.Step(instance.StepId) is WaitForEventStep wait
                && Correlates(instance, journey.Definition, e)
                && wait.Branches.Any(b => Matches(b.EventType, b.Where, e)))
            {
                (_answeredLate ??= new(ReferenceEqualityComparer.Instance)).Add(instance);
            }
        }
    }

    /// <summary>Time passed (the profile's wake-up), with the segment transitions it caused.</summary>
    public async ValueTask OnWakeAsync(IReadOnlyList<SegmentChange> changes)
    {
        if (Catalog.IsEmpty && p.JourneyData is null)
        {
            return;
        }

        await RunDueAsync().ConfigureAwait(false);
        await StartFromSegmentsAsync(changes).ConfigureAwait(false);
        await DrainEmittedAsync().ConfigureAwait(false);
        Finish();
    }

    /// <summary>The earliest instant something journey-related is due for the profile.</summary>
    public static DateTimeOffset? NextWake(CustomerProfile p)
    {
        if (p.JourneyData is not { } s)
        {
            return null;
        }

        DateTimeOffset? min = null;
        void Consider(DateTimeOffset? at)
        {
            if (at is { } a && a != DateTimeOffset.MaxValue && (min is not { } m || a < m))
            {
                min = a;
            }
        }

        foreach (var i in s.Instances)
        {
            Consider(i.WakeAt);
            Consider(i.ExitCheckAt);
        }

        foreach (var t in s.Scheduled.Values)
        {
            Consider(t.DueAt);
        }

        return min;
    }

    /// <summary>A stable variant bucket in [0, total) from the profile and journey ids: the same customer, the same variant.</summary>
    internal static int Bucket(string profileId, string journeyId, string stepId, int total)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(profileId + "\n" + journeyId + "\n" + stepId), digest);
        return (int)(BitConverter.ToUInt64(digest) % (ulong)total);
    }

    // Runs everything due at or before now, earliest first, each at its turn.
    private async ValueTask RunDueAsync()
    {
        if (p.JourneyData is not { } state)
        {
            return;
        }

        if (state.Instances.Exists(i => Catalog.Find(i.JourneyId, i.Version) is not { } j || j.IsSuperseded(i.StepId, Catalog) || Catalog.IsStale(i)))
        {
            foreach (var instance in state.Instances.ToArray())
            {
                if (state.Instances.Contains(instance))
                {
                    CheckVersion(instance);
                }
            }
        }

        // A newer version moved a date trigger (offset, time): reschedule before anything due fires on the old instant.
        if (state.Scheduled.Count > 0 && Catalog.Dated.Any(j => DateTriggerChanged(p, Catalog, j.Id)))
        {
            ScheduleDates(onlyUnscheduled: true);
        }

        if (NextWake(p) is not { } next || next > now)
        {
            return;
        }

        for (var guard = 0; guard < 10_000; guard++)
        {
            var instance = State.Instances.Where(i => (i.WakeAt <= now || i.ExitCheckAt <= now) && _answeredLate?.Contains(i) != true).MinBy(i => Min(i.WakeAt, i.ExitCheckAt));
            var trigger = State.Scheduled.Where(kv => kv.Value.DueAt <= now).OrderBy(kv => kv.Value.DueAt).FirstOrDefault();
            if (instance is null && trigger.Key is null)
            {
                return;
            }

            if (instance is not null && (trigger.Key is null || Min(instance.WakeAt, instance.ExitCheckAt) <= trigger.Value.DueAt))
            {
                await WakeAsync(instance).ConfigureAwait(false);
            }
            else
            {
                await FireScheduledAsync(trigger.Key!, trigger.Value).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask WakeAsync(JourneyInstance instance)
    {
        if (instance.ExitCheckAt <= now)
        {
            instance.ExitCheckAt = null;
            CheckSegmentExits(instance);
            if (!State.Instances.Contains(instance))
            {
                return;
            }
        }

        if (instance.WakeAt is not { } at || at > now)
        {
            return;
        }

        instance.WakeAt = null;
        if (Catalog.Find(instance.JourneyId, instance.Version) is not { } journey)
        {
            return; // CheckVersion already ended it
        }

        switch (journey.Step(instance.StepId))
        {
            case WaitForEventStep wait:
                Count(journey.Id, $"step:{wait.Id}:timed_out");
                Timeline(instance, "journey.timed_out", $"{wait.Id}: no awaited event within {wait.Timeout}");
                await RunAsync(instance, journey, wait.TimeoutNext ?? journey.After(wait.Id), at).ConfigureAwait(false);
                break;
            case ContinuingStep delay:
                await RunAsync(instance, journey, Next(journey, delay), at).ConfigureAwait(false);
                break;
            default:
                End(instance, "exited", $"woke on step '{instance.StepId}', which does not wait", watchGoal: false);
                break;
        }
    }

    private async ValueTask FireScheduledAsync(string journeyId, ScheduledTrigger scheduled)
    {
        var journey = Catalog.FindLatest(journeyId);
        switch (journey?.Definition.Trigger)
        {
            case DateTrigger t:
                var dateDue = scheduled.DueAt;
                if (t.Annual && scheduled.DateFiredOn is { } wished && LocalTime.DateOf(dateDue, Zone) == wished)
                {
                    // Audit U64: one wish per local day, whatever corrections arrived since (a value corrected back, her
                    // zone moved west): the day she was wished is not wished again.
                    scheduled.DueAt = NextAnnual(t, notOn: wished) ?? DateTimeOffset.MaxValue;
                    break;
                }

                scheduled.FiredBasis = scheduled.Basis;
                scheduled.DateFiredAt = now;
                scheduled.DateFiredOn = t.Annual ? LocalTime.DateOf(dateDue, Zone) : null;
                scheduled.DueAt = t.Annual ? NextAnnual(t) ?? DateTimeOffset.MaxValue : DateTimeOffset.MaxValue;
                var trigger = new JsonObject { ["trait"] = t.Trait, ["value"] = p.TryGetTrait(t.Trait, out var v) ? JsonNode.Parse(v.GetRawText()) : null };
                await TryStartAsync(journey, null, $"date {t.Trait} {t.Offset} at {t.LocalTime:HH:mm}", trigger, dateDue).ConfigureAwait(false);
                break;
            case InactivityTrigger t:
                var deadline = scheduled.DueAt;
                scheduled.DueAt = DateTimeOffset.MaxValue;
                if (t.MaxAge is { } maxAge && scheduled.AfterLearnedAt is { } learned && maxAge.AddTo(deadline) < learned)
                {
                    // The afterEvent was tracked long after its deadline (an import of last year's orders): history. Not
                    // counted as fired, so a newer afterEvent of the same import still sets the clock it would have set.
                    scheduled.RefusedAfterAt = scheduled.AfterAt;
                    Skip(journeyId, $"its deadline {deadline:u} ({t.Within} after {t.AfterEventType} at {scheduled.AfterAt:u}) had passed more than the trigger's "
                        + $"maxAge {maxAge} before that event was tracked ({learned:u}): track events as they happen, or give the trigger a longer maxAge "
                        + "(\"maxAge\": null for no limit)", $"no {string.Join("/", t.NoEventTypes)} within {t.Within} after {t.AfterEventType}", null);
                    break;
                }

                // Kept (not removed), by event time: an afterEvent from before the deadline arriving late does not fire it
                // again, whatever order events arrive in; a later one is a new period of inactivity.
                scheduled.FiredAt = deadline;
                await TryStartAsync(journey, null, $"no {string.Join("/", t.NoEventTypes)} within {t.Within} after {t.AfterEventType}", new JsonObject { ["afterEvent"] = t.AfterEventType }, deadline).ConfigureAwait(false);
                break;
            default:
                State.Scheduled.Remove(journeyId); // the journey was removed or its trigger changed
                break;
        }
    }

    // When the event happened; never later than now (a clock running slightly ahead moves nothing into the future).
    private DateTimeOffset EventTime(CustomerEvent e) => e.Timestamp < now ? e.Timestamp : now;

    /// <summary>
    /// Waits for a local time of day or a date in a trait that had not ended when the event happened (at
    /// <paramref name="at"/>) are computed again with her zone and traits as they are now: she moved (09:00 in London
    /// became 09:00 in New York), or the date changed. A local time counts from when she moved (or the wait began, if
    /// later), so a move never makes the wait end in the past; a date that moved into the past ends the wait now, as at
    /// the step. <paramref name="datesOnly"/>: only waits on a date trait (a journey's write changes traits, not her zone).
    /// </summary>
    /// <returns>Whether a wait moved to now or before (it is due).</returns>
    private bool MoveLocalWaits(DateTimeOffset at, bool datesOnly = false)
    {
        var due = false;
        foreach (var instance in p.JourneyData is { Instances.Count: > 0 } s ? s.Instances : [])
        {
            if (instance.WakeAt is not { } wakeAt || wakeAt <= at || Catalog.Find(instance.JourneyId, instance.Version)?.Step(instance.StepId) is not { } step)
            {
                continue;
            }

            DateTimeOffset? moved = step switch
            {
                DelayUntilLocalTimeStep local when !datesOnly => JourneyClock.NextLocalTime(instance.WaitingSince is { } since && since > at ? since : at, Zone, local.LocalTime, local.Days, instance.WaitingSince),
                DelayUntilDateTraitStep dated => JourneyClock.FromTrait(p, dated.Trait, dated.Offset, dated.LocalTime, Zone), // no date now: the wait stands
                _ => null,
            };
            if (moved is { } m && m != wakeAt)
            {
                instance.WakeAt = m;
                due |= m <= now;
                Timeline(instance, "journey.wait_moved", $"{step.Id}: waiting until {m:u} (was {wakeAt:u})");
            }
        }

        return due;
    }

    // For goals, exit criteria, waits for an event and inactivity clocks: an order sent again with its order_id (an update, a retry with a new event id) is the
    // order placed at its first time (the profile keeps one order per id, with the earliest time), not a new order.
    private DateTimeOffset OutcomeTime(CustomerEvent e)
    {
        var at = EventTime(e);
        return e.Type == EventTypes.OrderPlaced && e.Properties.ValueKind == JsonValueKind.Object
            && WellKnownProperties.String(e.Properties, "order_id") is { Length: > 0 } id
            && p.Orders.TryGetValue(WellKnownProperties.OrderKey(id), out var order) && order.At < at
            ? order.At
            : at;
    }

    private static DateTimeOffset Since(JourneyInstance instance) => instance.EventStartedAt ?? instance.StartedAt;
}
