namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// Journey statistics of a store written before the measurement aggregates existed (SQLite schema 4, PostgreSQL schema 3):
/// a journey's counters were kept only in each profile document (<c>JourneyState.Counters</c>) and its running instances
/// were counted by scanning the profiles. The migration that creates the aggregates calls this in its own transaction,
/// so a journey's statistics read after the upgrade what they read before it (entries, completions, exits, steps, and
/// the instances still running as <c>active</c>) instead of starting from zero and counting the running instances' ends
/// below zero. The counters carry no day: their rows are dated <see cref="UnknownDay"/> (0001-01-01), so totals include
/// them and a report of dated windows does not.
/// </summary>
internal static class JourneyCounterBackfill
{
    /// <summary>The day of rows whose day the earlier version did not record.</summary>
    public static readonly DateOnly UnknownDay = DateOnly.MinValue;

    /// <summary>The aggregate rows the given profile documents' journey counters and running instances add up to.</summary>
    /// <param name="documents">Every stored profile document (an absorbed profile's document is gone; its counters were folded into the survivor).</param>
    /// <param name="unreadable">Called with the index of a document that cannot be read: its counters are left out rather than the upgrade failing.</param>
    public static IReadOnlyList<MeasurementDelta> FromDocuments(IEnumerable<byte[]> documents, Action<int>? unreadable = null)
    {
        var totals = new Dictionary<MeasurementKey, long>();
        var at = new DateTimeOffset(UnknownDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var index = 0;
        foreach (var document in documents)
        {
            CustomerProfile p;
            try
            {
                p = ProfileSerializer.Deserialize(document, 0);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException or InvalidOperationException)
            {
                unreadable?.Invoke(index++);
                continue;
            }

            index++;
            if (p.JourneyData is not { } state)
            {
                continue;
            }

            foreach (var (key, count) in state.Counters)
            {
                var bar = key.IndexOf('|', StringComparison.Ordinal);
                if (bar <= 0 || count == 0)
                {
                    continue;
                }

                Add(MeasurementKey.Of(key[..bar], null, null, null, null, at, MeasurementMetrics.JourneyPrefix + key[(bar + 1)..]), count);
            }

            foreach (var instance in state.Instances)
            {
                Add(MeasurementKey.Of(instance.JourneyId, null, null, null, null, at, MeasurementMetrics.JourneyPrefix + "active"), 1);
            }
        }

        return [.. totals.OrderBy(kv => kv.Key.JourneyId, StringComparer.Ordinal).ThenBy(kv => kv.Key.Metric, StringComparer.Ordinal)
            .Select(kv => new MeasurementDelta(kv.Key, kv.Value))];

        void Add(MeasurementKey key, long count) => totals[key] = totals.GetValueOrDefault(key) + count;
    }
}
