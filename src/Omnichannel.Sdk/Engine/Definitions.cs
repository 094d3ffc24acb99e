using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

// Segment and journey definitions: one immutable set, swapped atomically, so a unit of work never sees new segments
// with old journeys (or the reverse).
public sealed partial class OmnichannelEngine
{
    private volatile Definitions _definitions = null!;

    // Callers hold _scheduleLock, or run in the constructor.
    private void SetDefinitions(SegmentCatalog segments, JourneyCatalog journeys)
    {
        segments.Succeed(_definitions?.Segments);
        _definitions = new Definitions(segments, journeys, new JourneyServices
        {
            Segments = segments,
            Journeys = journeys,
            TimelineLength = _options.TimelineLength,
            MaxTraits = _options.MaxTraitsPerProfile,
            Currency = _options.Currency,
            Delivery = _options.Delivery,
            Measurement = _options.Measurement,
            Plan = PlanWithStoreFaultsMarkedAsync,
            HasTransport = channel => _delivery.For(channel).Count > 0,
        });
    }

    /// <summary>The definitions in force, and the services journeys run with (built once per set).</summary>
    private sealed record Definitions(SegmentCatalog Segments, JourneyCatalog Journeys, JourneyServices Services);
}
