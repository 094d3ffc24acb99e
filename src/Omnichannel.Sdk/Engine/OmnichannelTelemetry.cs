using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Omnichannel.Sdk;

/// <summary>Names of the SDK's <see cref="Meter"/> and <see cref="ActivitySource"/>, for OpenTelemetry registration.</summary>
public static class OmnichannelTelemetry
{
    /// <summary>The name of the meter and the activity source: <c>Omnichannel.Sdk</c>.</summary>
    public const string Name = "Omnichannel.Sdk";

    internal static readonly ActivitySource ActivitySource = new(Name, "1.0.0");

    // The omnichannel.event.outcome tag of each status, made once: the tag is written for every event.
    private static readonly string?[] OutcomeNames = OutcomeNamesByValue();

    /// <summary>The <c>omnichannel.event.outcome</c> tag value of a status (its name in lower case).</summary>
    internal static string OutcomeName(TrackStatus status) =>
        (uint)status < (uint)OutcomeNames.Length && OutcomeNames[(int)status] is { } name ? name : status.ToString().ToLowerInvariant();

    private static string?[] OutcomeNamesByValue()
    {
        var values = Enum.GetValues<TrackStatus>();
        var names = new string?[values.Max(v => (int)v) + 1];
        foreach (var v in values)
        {
            names[(int)v] = v.ToString().ToLowerInvariant();
        }

        return names;
    }

    /// <summary>Span names (<c>omnichannel.*</c>), for samplers and filters.</summary>
    public static class Spans
    {
        /// <summary>One tracked event, from <c>TrackAsync</c> to its commit: a child of the caller's span.</summary>
        public const string Track = "omnichannel.track";

        /// <summary>A batch (<c>TrackBatchAsync</c>); each event has its own <see cref="ProcessEvent"/> span under it.</summary>
        public const string TrackBatch = "omnichannel.track_batch";

        /// <summary>One event applied to its profile on the partition worker, parented to the span that tracked it.</summary>
        public const string ProcessEvent = "omnichannel.event.process";

        /// <summary>A run of due profile wake-ups (segment windows, journey waits); one <see cref="ProfileWork"/> per profile under it.</summary>
        public const string WakeUp = "omnichannel.wake_up";

        /// <summary>Work on one profile outside an event: a wake-up, a delivery outcome, a segment backfill.</summary>
        public const string ProfileWork = "omnichannel.profile.work";

        /// <summary>One journey step run for one instance.</summary>
        public const string JourneyStep = "omnichannel.journey.step";

        /// <summary>One outbox message dispatched: the re-checks at send time and the sends through its channels.</summary>
        public const string Dispatch = "omnichannel.dispatch";

        /// <summary>One attempt to hand a message to a transport (a client span).</summary>
        public const string Send = "omnichannel.send";
    }
}

/// <summary>The engine's instruments. One per engine, created from the meter factory when there is one.</summary>
internal sealed class EngineMetrics : IDisposable
{
    private readonly Meter _meter;

    public EngineMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(OmnichannelTelemetry.Name) ?? new Meter(OmnichannelTelemetry.Name);
        EventsTracked = _meter.CreateCounter<long>("omnichannel.events.tracked", "{event}", "Events tracked, by outcome.");
        ProcessingDuration = _meter.CreateHistogram<double>("omnichannel.event.process.duration", "s", "Time from dequeue to commit of one event.");
        SendDuration = _meter.CreateHistogram<double>("omnichannel.send.duration", "s", "Time one transport took to accept or refuse a message, by channel and outcome.");
        ProfilesMerged = _meter.CreateCounter<long>("omnichannel.profiles.merged", "{profile}", "Profiles merged into another.");
        IdentityConflicts = _meter.CreateCounter<long>("omnichannel.identity.conflicts", "{identifier}", "Identifiers left unlinked because a rule would have been broken.");
        SegmentTransitions = _meter.CreateCounter<long>("omnichannel.segments.transitions", "{transition}", "Profiles entering or leaving a segment, by segment and direction.");
        Messages = _meter.CreateCounter<long>("omnichannel.messages", "{message}", "Messages by channel and outcome (sent, failed, skipped).");
        JourneySteps = _meter.CreateCounter<long>("omnichannel.journeys.activity", "{activity}", "What journey instances did (entered, sent, waiting, converted, exited...), by journey.");
        ProfilesErased = _meter.CreateCounter<long>("omnichannel.profiles.erased", "{profile}", "Profiles erased at the host's request.");
        EventsRefusedAsErased = _meter.CreateCounter<long>("omnichannel.events.refused_erased", "{event}", "Events refused because they carry an erased person's identifier or event id.");
        CommitConflicts = _meter.CreateCounter<long>("omnichannel.store.commit_conflicts", "{commit}", "Optimistic-concurrency conflicts that caused a retry.");
    }

    public Counter<long> EventsTracked { get; }

    public Histogram<double> SendDuration { get; }

    // The gauges' readers, cleared on disposal: a meter from an IMeterFactory outlives the engine (its Dispose does
    // nothing, and an instrument cannot be taken off a meter), so a disposed engine's gauges would still be observed,
    // beside a later engine's, and would keep the disposed engine reachable.
    private Func<long>? _queueDepth;
    private Func<long>? _outboxDue;
    private Func<double>? _wakeUpLag;

    /// <summary>Registers the gauges: queue depth, outbox messages found due, wake-up lag (read when a collector asks; none once disposed).</summary>
    public void ObserveGauges(Func<long> queueDepth, Func<long> outboxDue, Func<double> wakeUpLag)
    {
        _queueDepth = queueDepth;
        _outboxDue = outboxDue;
        _wakeUpLag = wakeUpLag;
        _meter.CreateObservableGauge("omnichannel.queue.depth", () => Observe(Volatile.Read(ref _queueDepth)), "{item}", "Events and profile work waiting in the partition queues.");
        _meter.CreateObservableGauge("omnichannel.outbox.due", () => Observe(Volatile.Read(ref _outboxDue)), "{message}", "Outbox messages due when the dispatcher last looked (up to one claim batch).");
        _meter.CreateObservableGauge("omnichannel.wake_up.lag", () => Observe(Volatile.Read(ref _wakeUpLag)), "s", "How late the last run of profile wake-ups started after the earliest one was due.");
    }

    private static Measurement<T>[] Observe<T>(Func<T>? read)
        where T : struct => read is null ? [] : [new Measurement<T>(read())];

    public Histogram<double> ProcessingDuration { get; }

    public Counter<long> ProfilesMerged { get; }

    public Counter<long> IdentityConflicts { get; }

    public Counter<long> CommitConflicts { get; }

    public Counter<long> ProfilesErased { get; }

    public Counter<long> EventsRefusedAsErased { get; }

    public Counter<long> SegmentTransitions { get; }

    public Counter<long> Messages { get; }

    public Counter<long> JourneySteps { get; }

    public void Dispose()
    {
        Volatile.Write(ref _queueDepth, null);
        Volatile.Write(ref _outboxDue, null);
        Volatile.Write(ref _wakeUpLag, null);
        _meter.Dispose(); // a meter of our own; one from a factory stays until the factory is disposed
    }
}
