using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Omnichannel.Sdk;

/// <summary>Names of the SDK's <see cref="Meter"/> and <see cref="ActivitySource"/>, for OpenTelemetry registration.</summary>
public static class OmnichannelTelemetry
{
    /// <summary>The name of the meter and the activity source: <c>Omnichannel.Sdk</c>.</summary>
    public const string Name = "Omnichannel.Sdk";

    internal static readonly ActivitySource ActivitySource = new(Name, "1.0.0");
}

/// <summary>The engine's instruments. One per engine, created from the meter factory when there is one.</summary>
internal sealed class EngineMetrics : IDisposable
{
    private readonly Meter _meter;

    public EngineMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(OmnichannelTelemetry.Name) ?? new Meter(OmnichannelTelemetry.Name);
        EventsTracked = _meter.CreateCounter<long>("omnichannel.events.tracked", "{event}", "Events tracked, by outcome.");
        ProcessingDuration = _meter.CreateHistogram<double>("omnichannel.events.duration", "ms", "Time from dequeue to commit of one event.");
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

    public Histogram<double> ProcessingDuration { get; }

    public Counter<long> ProfilesMerged { get; }

    public Counter<long> IdentityConflicts { get; }

    public Counter<long> CommitConflicts { get; }

    public Counter<long> ProfilesErased { get; }

    public Counter<long> EventsRefusedAsErased { get; }

    public Counter<long> SegmentTransitions { get; }

    public Counter<long> Messages { get; }

    public Counter<long> JourneySteps { get; }

    public void Dispose() => _meter.Dispose();
}
