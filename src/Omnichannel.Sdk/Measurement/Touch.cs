namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// One message to the person and what became of it, kept on the profile (so it survives merges and goes with an
/// erasure). Immutable: an outcome replaces the touch (so its stored JSON can be kept once written, see WrittenJson). Stored in the profile document; trimmed to the longest attribution window and
/// <see cref="MeasurementOptions.MaxTouchesPerProfile"/>.
/// </summary>
internal sealed record Touch
{
    public string Key { get; init; } = string.Empty;

    public string Channel { get; init; } = string.Empty;

    public string? JourneyId { get; init; }

    public string? StepId { get; init; }

    public string? Variant { get; init; }

    public string? TemplateId { get; init; }

    public DateTimeOffset QueuedAt { get; init; }

    public DateTimeOffset? SentAt { get; init; }

    public DateTimeOffset? DeliveredAt { get; init; }

    public DateTimeOffset? OpenedAt { get; init; }

    public DateTimeOffset? ClickedAt { get; init; }

    public DateTimeOffset? UnsubscribedAt { get; init; }

    /// <summary>The latest instant anything happened to the message.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset LastAt => Later(Later(Later(Later(QueuedAt, SentAt), DeliveredAt), OpenedAt), ClickedAt);

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset? b) => b is { } v && v > a ? v : a;

    /// <summary>Its outcomes as attribution sees them.</summary>
    public IEnumerable<TouchPoint> Points()
    {
        if (SentAt is { } s) yield return Point(TouchKind.Sent, s);
        if (DeliveredAt is { } d) yield return Point(TouchKind.Delivered, d);
        if (OpenedAt is { } o) yield return Point(TouchKind.Opened, o);
        if (ClickedAt is { } c) yield return Point(TouchKind.Clicked, c);
    }

    /// <summary>The canonical order of a profile's touches: when queued, then key (ordinal); independent of arrival order.</summary>
    public static int Compare(Touch a, Touch b)
    {
        var c = a.QueuedAt.CompareTo(b.QueuedAt);
        return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
    }

    private TouchPoint Point(TouchKind kind, DateTimeOffset at) => new(Key, kind, at, Channel, JourneyId, StepId, Variant, TemplateId);
}

/// <summary>
/// The aggregate changes one unit of work made, collected on the profile object and taken by the commit that writes it
/// (never stored in the document). A commit that fails discards the profile object and with it these deltas.
/// </summary>
internal sealed class MeasurementBuffer
{
    private readonly Dictionary<MeasurementKey, (long Count, double Sum)> _deltas = [];

    public bool IsEmpty => _deltas.Count == 0;

    public void Add(MeasurementKey key, long count, double sum = 0)
    {
        var (c, s) = _deltas.GetValueOrDefault(key);
        _deltas[key] = (c + count, s + sum);
    }

    /// <summary>The collected deltas in key order (stores lock rows in this order, so concurrent commits cannot deadlock), and clears them.</summary>
    public IReadOnlyList<MeasurementDelta> Take()
    {
        if (_deltas.Count == 0)
        {
            return [];
        }

        var list = new List<MeasurementDelta>(_deltas.Count);
        foreach (var (key, (count, sum)) in _deltas)
        {
            if (count != 0 || sum != 0)
            {
                list.Add(new MeasurementDelta(key, count, sum));
            }
        }

        if (list.Count > 1)
        {
            list.Sort(static (a, b) => MeasurementKey.Order.Compare(a.Key, b.Key)); // keys are distinct: no ties to keep stable
        }

        _deltas.Clear();
        return list;
    }
}
