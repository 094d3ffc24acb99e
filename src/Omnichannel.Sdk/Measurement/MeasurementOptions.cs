using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// A conversion: an event type, optionally narrowed by conditions on its properties (the segment condition model), and
/// where its revenue is. Every matching event is one conversion, attributed to the touches before it.
/// </summary>
/// <param name="Id">The name the aggregates use (<c>conversion:&lt;id&gt;</c>); letters, digits, <c>_</c>, <c>-</c>, <c>.</c>.</param>
/// <param name="EventType">The event type, e.g. <c>order.placed</c>.</param>
public sealed record ConversionDefinition(string Id, string EventType)
{
    /// <summary>Conditions on the event's properties, all of which must hold; none by default.</summary>
    public IReadOnlyList<PropertyCondition> Where { get; init; } = [];

    /// <summary>The dotted property path holding the revenue (a number, in the shop's currency), e.g. <c>total</c>; <see langword="null"/> for none. With <c>OmnichannelOptions.Currency</c> set, an event whose <c>currency</c> is another converts without revenue (money is never added across currencies).</summary>
    public string? RevenueProperty { get; init; }
}

/// <summary>Measurement settings: conversions, attribution windows and models, and the global control group.</summary>
public sealed class MeasurementOptions
{
    /// <summary>
    /// The conversions to measure. Default: one, <c>order</c> — every <c>order.placed</c> with its revenue in <c>total</c>.
    /// Clear the list to measure none.
    /// </summary>
    public IList<ConversionDefinition> Conversions { get; } = [new ConversionDefinition("order", EventTypes.OrderPlaced) { RevenueProperty = "total" }];

    /// <summary>Attribution windows per touch kind (clicked 7 days; opened, delivered and sent 1 day); each 0 to 90 days.</summary>
    public AttributionWindows Windows { get; } = new();

    /// <summary>The model reports use unless asked for another; default <see cref="AttributionModel.LastTouch"/>. Aggregates are kept for every model.</summary>
    public AttributionModel DefaultModel { get; set; } = AttributionModel.LastTouch;

    /// <summary>The half-life of <see cref="AttributionModel.TimeDecay"/>; default 7 days; more than 0.</summary>
    public TimeSpan TimeDecayHalfLife { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The share of people held out of every marketing message (the global control group), in [0, 0.5]; default 0 (none).
    /// Assignment is a stable hash of the profile id when the person is first seen, kept through merges; transactional
    /// messages are still sent. Each withheld message counts as <see cref="MeasurementMetrics.HeldOut"/>.
    /// </summary>
    public double GlobalControlShare { get; set; }

    /// <summary>
    /// How often the engine decides every journey's experiment on its own (the auto-winner of
    /// <c>OmnichannelEngine.DecideExperimentAsync</c>): at each tick, a journey whose split has a winner under
    /// <see cref="AutoDecideSettings"/> gets its next version, which sends new entrants to the winner, with the evidence in
    /// its description. Default <see langword="null"/>: only when <c>DecideExperimentAsync</c> is called. 1 minute to 30 days.
    /// </summary>
    public TimeSpan? DecideExperimentsEvery { get; set; }

    /// <summary>
    /// The settings of automatic decisions: by default the always-valid (sequential) mode, so that looking at every tick
    /// does not inflate false positives, and at least 1,000 recipients per arm.
    /// </summary>
    public ExperimentSettings AutoDecideSettings { get; set; } = new();

    /// <summary>
    /// A click stamped less than this after its message was handed over (the message's <c>message.sent</c>, else its
    /// delivery report) is read as a mail security gateway's (Microsoft Safe Links, Mimecast, Barracuda, Proofpoint follow
    /// every link of a message seconds after it arrives): it stays on her timeline with <c>machine: true</c> and
    /// <c>machine_reason: "scanner_window"</c>, but counts no click, credits no conversion and moves no journey or segment
    /// (audit U82). Default <see cref="TimeSpan.Zero"/>: off, since a person may click a link in a receipt or a sign-in mail
    /// within seconds; 0 to 1 hour. A click on a message the profile does not hold, or whose hand-over it has not heard of
    /// yet, is not judged by it, nor is one that carries <c>machine</c> already. Sources: gophish/gophish#2115 (Safe Links
    /// clicks "a few seconds after receiving it"), putyourlightson/craft-campaign#546 (scanner bursts a median 43 seconds
    /// after the send, 97 % within five minutes).
    /// </summary>
    public TimeSpan ScannerClickWindow { get; set; }

    /// <summary>Touches kept per person (oldest dropped first); default 200; 1 to 10,000.</summary>
    public int MaxTouchesPerProfile { get; set; } = 200;

    /// <summary>
    /// The time zone (IANA id, e.g. <c>America/New_York</c>) whose calendar days the aggregates are counted in: the day of
    /// <see cref="MeasurementKey.Day"/>, of <see cref="MeasurementQuery.From"/> and <see cref="MeasurementQuery.To"/>, and
    /// of a report's days. Default <c>UTC</c>. A shop's "Monday" is then its own Monday: an order at 23:30 in New York
    /// counts on that day, not on the next UTC day. Changing it later does not move rows already counted; corrections
    /// made after the change (a refund, a late outcome) count on the new zone's day.
    /// </summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>
    /// The calendar day, in <see cref="TimeZone"/>, of an instant: the day its aggregate rows count on, and what
    /// <see cref="MeasurementQuery.From"/>/<see cref="MeasurementQuery.To"/> and a report's days mean (the shop's "today" is
    /// <c>DayOf(timeProvider.GetUtcNow())</c>). UTC's day when the zone is not known on this machine (the engine refuses
    /// such a zone at start).
    /// </summary>
    /// <param name="at">The instant.</param>
    /// <returns>Its day in the zone.</returns>
    public DateOnly DayOf(DateTimeOffset at)
    {
        var zone = ResolvedZone();
        return zone is null ? DateOnly.FromDateTime(at.UtcDateTime) : LocalTime.DateOf(at, zone);
    }

    // Swapped whole (one reference): engines on many threads read it.
    private ResolvedTimeZone? _zone;

    private sealed record ResolvedTimeZone(string Id, TimeZoneInfo? Zone);

    // Null for UTC: the common case converts nothing.
    private TimeZoneInfo? ResolvedZone()
    {
        var id = TimeZone;
        var known = _zone;
        if (known is null || !string.Equals(known.Id, id, StringComparison.Ordinal))
        {
            var zone = Delivery.DeliveryOptions.TimeZoneOrNull(id);
            known = new ResolvedTimeZone(id, zone is null || zone.HasSameRules(TimeZoneInfo.Utc) ? null : zone);
            _zone = known;
        }

        return known.Zone;
    }

    /// <summary>Every problem with the settings, each naming its field.</summary>
    public IEnumerable<string> Validate()
    {
        if (DecideExperimentsEvery is { } every && (every < TimeSpan.FromMinutes(1) || every > TimeSpan.FromDays(30)))
        {
            yield return $"Measurement.{nameof(DecideExperimentsEvery)} must be between 1 minute and 30 days, or null (was {every})";
        }

        if (ScannerClickWindow < TimeSpan.Zero || ScannerClickWindow > TimeSpan.FromHours(1))
        {
            yield return $"Measurement.{nameof(ScannerClickWindow)} must be between 0 (off) and 1 hour (was {ScannerClickWindow})";
        }

        if (AutoDecideSettings is null)
        {
            yield return $"Measurement.{nameof(AutoDecideSettings)} is required";
        }
        else
        {
            foreach (var problem in AutoDecideSettings.Validate())
            {
                yield return $"Measurement.{nameof(AutoDecideSettings)}.{problem}";
            }
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Conversions.Count; i++)
        {
            var c = Conversions[i];
            var path = $"Measurement.Conversions[{i}]";
            if (c is null)
            {
                yield return $"{path} must not be null";
                continue;
            }

            if (string.IsNullOrEmpty(c.Id) || c.Id.Length > 64 || !c.Id.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.'))
            {
                yield return $"{path}.Id must be 1 to 64 letters, digits, '_', '-' or '.' (was '{c.Id}')";
            }
            else if (!ids.Add(c.Id))
            {
                yield return $"{path}.Id '{c.Id}' is used twice";
            }

            if (string.IsNullOrWhiteSpace(c.EventType))
            {
                yield return $"{path}.EventType is required";
            }

            if (c.RevenueProperty is { } r && string.IsNullOrWhiteSpace(r))
            {
                yield return $"{path}.RevenueProperty must be null or a property path";
            }

            if (c.Where is null || c.Where.Any(w => w is null || string.IsNullOrWhiteSpace(w.Property) || w.Condition is null))
            {
                yield return $"{path}.Where must hold conditions with a property and a condition";
            }
        }

        foreach (var (name, value) in new[] { ("Clicked", Windows.Clicked), ("Opened", Windows.Opened), ("Delivered", Windows.Delivered), ("Sent", Windows.Sent) })
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromDays(90))
            {
                yield return $"Measurement.Windows.{name} must be between 0 and 90 days (was {value})";
            }
        }

        if (TimeDecayHalfLife <= TimeSpan.Zero)
        {
            yield return $"Measurement.TimeDecayHalfLife must be positive (was {TimeDecayHalfLife})";
        }

        if (!Enum.IsDefined(DefaultModel))
        {
            yield return $"Measurement.DefaultModel is not a model ({DefaultModel})";
        }

        if (Delivery.DeliveryOptions.TimeZoneOrNull(TimeZone) is null)
        {
            yield return $"Measurement.{nameof(TimeZone)}: '{TimeZone}' is not a time zone id known to this machine";
        }

        if (double.IsNaN(GlobalControlShare) || GlobalControlShare is < 0 or > 0.5)
        {
            yield return $"Measurement.GlobalControlShare must be between 0 and 0.5 (was {GlobalControlShare})";
        }

        if (MaxTouchesPerProfile is < 1 or > 10_000)
        {
            yield return $"Measurement.MaxTouchesPerProfile must be between 1 and 10000 (was {MaxTouchesPerProfile})";
        }
    }
}
