using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk;

// Measurement: touches, conversions and the global control group are recorded inside the profile's unit of work, and
// their aggregate deltas are committed with it (ProfileCommit.Measurements); reads go to the store's aggregates.
public sealed partial class OmnichannelEngine
{
    /// <summary>
    /// A journey's statistics: entries, completions, exits by reason, conversions by step, variant and channel, and per
    /// step what happened. Read from the store's measurement aggregates (maintained in the same commit as each change),
    /// so the cost is the journey's number of counters and days, not the number of profiles.
    /// </summary>
    /// <param name="journeyId">The journey id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<JourneyStatistics> GetJourneyStatisticsAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journeyId);
        var rows = await _store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = journeyId, MetricPrefix = MeasurementMetrics.JourneyPrefix }, cancellationToken).ConfigureAwait(false);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            var name = r.Key.Metric[MeasurementMetrics.JourneyPrefix.Length..];
            counters[name] = counters.GetValueOrDefault(name) + r.Count;
        }

        return JourneyStatistics.From(journeyId, counters, counters.GetValueOrDefault("active"));
    }

    /// <summary>
    /// Reads measurement aggregates (sends, deliveries, opens, clicks, unsubscribes, conversions, credit and revenue per
    /// model, journey counters) per journey, step, variant, channel, template and UTC day. See <see cref="MeasurementMetrics"/>.
    /// </summary>
    /// <param name="query">The filter; the cost is the rows in the answer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException">The query's limit is not positive.</exception>
    public ValueTask<IReadOnlyList<MeasurementRow>> GetMeasurementsAsync(MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return _store.GetMeasurementsAsync(query, cancellationToken);
    }

    private CustomerEvent Measure(CustomerProfile p, CustomerEvent e, DateTimeOffset now) =>
        MeasurementRecorder.OnEvent(p, e, now, _options.Measurement);

    // A marketing message to a person in the global control group is withheld, recorded like any skipped message.
    private SendResult? HeldOutOfMarketing(CustomerProfile p, MessageRequest request, DateTimeOffset now)
    {
        if (!MeasurementRecorder.HoldsOut(p, request, request.Channels[0], now, _options.Measurement))
        {
            return null;
        }

        const string reason = "held out: the person is in the global control group";
        RememberKey(p, request.Key);
        ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":skipped", EventTypes.MessageSkipped, "system", now, reason), _options.TimelineLength);
        _metrics.Messages.Add(1, new KeyValuePair<string, object?>("channel", "none"), new KeyValuePair<string, object?>("outcome", "held_out"));
        return new SendResult(request.Key, SendStatus.Skipped, null, null, reason);
    }
}
