using System.Globalization;

namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// The key of one measurement aggregate: who (journey, step, variant), how (channel, template), when (a calendar day, UTC unless <see cref="MeasurementOptions.TimeZone"/> says otherwise) and what
/// (<see cref="Metric"/>, one of <see cref="MeasurementMetrics"/>). A dimension that does not apply is the empty string,
/// never <see langword="null"/> (stores use it in a primary key).
/// </summary>
/// <param name="JourneyId">The journey, or empty for messages and conversions outside journeys.</param>
/// <param name="StepId">The journey step, or empty.</param>
/// <param name="Variant">The experiment variant (an A/B split's variant name, <c>control</c>), or empty.</param>
/// <param name="Channel">The channel (<c>email</c>, <c>sms</c> …), or empty.</param>
/// <param name="TemplateId">The message template, or empty.</param>
/// <param name="Day">The calendar day the change happened on, in <see cref="MeasurementOptions.TimeZone"/> (UTC by default).</param>
/// <param name="Metric">What is counted, e.g. <c>sent</c>, <c>clicked</c>, <c>credit:order:last_touch</c>.</param>
public sealed record MeasurementKey(string JourneyId, string StepId, string Variant, string Channel, string TemplateId, DateOnly Day, string Metric)
{
    /// <summary>The longest a dimension or metric may be (characters); longer values are cut (stores index them).</summary>
    public const int MaxLength = 200;

    /// <summary>A key with absent dimensions normalised to empty strings and every dimension cut to <see cref="MaxLength"/>.</summary>
    /// <remarks>
    /// Answers a key made recently on this thread when it is equal (keys are immutable): an order keeps its rows' keys on
    /// the profile for a month, and the orders of one day share them, so the profiles in memory share one instance.
    /// </remarks>
    /// <remarks>The day is <paramref name="at"/>'s in <paramref name="zone"/>'s <see cref="MeasurementOptions.TimeZone"/>; in UTC when it is <see langword="null"/> (the epoch rows that hold no day).</remarks>
    internal static MeasurementKey Of(string? journeyId, string? stepId, string? variant, string? channel, string? templateId, DateTimeOffset at, string metric, MeasurementOptions? zone = null)
    {
        var day = zone is null ? DateOnly.FromDateTime(at.UtcDateTime) : zone.DayOf(at);
        var recent = s_recent ??= new MeasurementKey?[RecentKeys];
        var slot = (int)((uint)(day.DayNumber ^ (metric.Length * 31) ^ ((channel?.Length ?? 0) * 7) ^ ((journeyId?.Length ?? 0) * 3)) % RecentKeys);
        if (recent[slot] is { } k && k.Day == day && k.Metric == metric && k.JourneyId == (journeyId ?? "") && k.StepId == (stepId ?? "")
            && k.Variant == (variant ?? "") && k.Channel == (channel ?? "") && k.TemplateId == (templateId ?? ""))
        {
            return k;
        }

        return recent[slot] = new(Cut(journeyId), Cut(stepId), Cut(variant), Cut(channel), Cut(templateId), day, Cut(metric));
    }

    private const int RecentKeys = 16;

    [ThreadStatic]
    private static MeasurementKey?[]? s_recent;

    // Never between the two halves of a surrogate pair: the half left over is not text a store can hold (SQLite and
    // PostgreSQL keep U+FFFD instead, so the stored key differed from the one the in-memory store keeps).
    private static string Cut(string? s) =>
        s is null ? string.Empty : s.Length <= MaxLength ? s : s[..(char.IsHighSurrogate(s[MaxLength - 1]) ? MaxLength - 1 : MaxLength)];

    /// <summary>
    /// The order stores answer in: by journey, metric, day, step, variant, channel, template, each text compared by Unicode
    /// code point (the order of UTF-8 bytes, as SQLite and PostgreSQL compare; UTF-16 ordinal order except that a
    /// character above U+FFFF comes after U+E000–U+FFFF).
    /// </summary>
    public static IComparer<MeasurementKey> Order { get; } = Comparer<MeasurementKey>.Create(static (a, b) =>
    {
        var c = Storage.StoredText.Compare(a.JourneyId, b.JourneyId);
        if (c == 0) c = Storage.StoredText.Compare(a.Metric, b.Metric);
        if (c == 0) c = a.Day.CompareTo(b.Day);
        if (c == 0) c = Storage.StoredText.Compare(a.StepId, b.StepId);
        if (c == 0) c = Storage.StoredText.Compare(a.Variant, b.Variant);
        if (c == 0) c = Storage.StoredText.Compare(a.Channel, b.Channel);
        if (c == 0) c = Storage.StoredText.Compare(a.TemplateId, b.TemplateId);
        return c;
    });

    /// <summary>The day as the stores keep it: days since 0001-01-01.</summary>
    internal int DayNumber => Day.DayNumber;

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{JourneyId}/{StepId}/{Variant}/{Channel}/{TemplateId}/{Day:yyyy-MM-dd}/{Metric}");
}

/// <summary>A change to one aggregate, written in the same commit as the profile change that caused it.</summary>
/// <param name="Key">The aggregate.</param>
/// <param name="Count">Added to the count (may be negative, e.g. <c>journey:active</c> when an instance ends).</param>
/// <param name="Sum">Added to the sum: revenue in the shop's currency, or fractional conversion credit (0..1 per conversion).</param>
public sealed record MeasurementDelta(MeasurementKey Key, long Count, double Sum = 0);

/// <summary>One aggregate as stored: totals of every delta written for its key.</summary>
/// <param name="Key">The aggregate.</param>
/// <param name="Count">The summed counts.</param>
/// <param name="Sum">The summed amounts (revenue, credit); IEEE double precision.</param>
public sealed record MeasurementRow(MeasurementKey Key, long Count, double Sum);

/// <summary>
/// Which aggregates to read (<see cref="Storage.IOmnichannelStore.GetMeasurementsAsync"/>). Every filter is optional;
/// stores answer from an index on (journey, metric, day) so the cost is the number of rows in the answer.
/// </summary>
public sealed record MeasurementQuery
{
    /// <summary>Only this journey (exact; empty string for rows outside journeys); <see langword="null"/> for all.</summary>
    public string? JourneyId { get; init; }

    /// <summary>Only metrics starting with this prefix (ordinal, e.g. <c>journey:</c> or <c>credit:order:</c>); <see langword="null"/> for all.</summary>
    public string? MetricPrefix { get; init; }

    /// <summary>First day (in <see cref="MeasurementOptions.TimeZone"/>), inclusive; <see langword="null"/> for no lower bound.</summary>
    public DateOnly? From { get; init; }

    /// <summary>Last day (in <see cref="MeasurementOptions.TimeZone"/>), inclusive; <see langword="null"/> for no upper bound.</summary>
    public DateOnly? To { get; init; }

    /// <summary>At most this many rows (default 100,000); the answer is cut, in key order, beyond it.</summary>
    public int Limit { get; init; } = 100_000;

    /// <summary>Whether a row belongs to the answer (the in-memory store's filter, and the reference for the others).</summary>
    public bool Matches(MeasurementKey key) =>
        (JourneyId is null || key.JourneyId == JourneyId)
        && (MetricPrefix is null || key.Metric.StartsWith(MetricPrefix, StringComparison.Ordinal))
        && (From is not { } from || key.Day >= from)
        && (To is not { } to || key.Day <= to);

    /// <summary>Throws when the query cannot be answered.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Limit"/> is not positive.</exception>
    public void Validate() => ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, "query.Limit");

    /// <summary>
    /// The upper bound (exclusive) of the code point range of metrics starting with <see cref="MetricPrefix"/> (the prefix
    /// with its last code point incremented: U+D7FF is followed by U+E000, U+FFFF by U+10000), for a store's range scan;
    /// <see langword="null"/> without a prefix, or when the prefix is made of U+10FFFF alone (no bound above it).
    /// </summary>
    public string? MetricUpperBound => PrefixEnd(MetricPrefix);

    internal static string? PrefixEnd(string? prefix)
    {
        while (!string.IsNullOrEmpty(prefix))
        {
            var last = prefix[^1];
            if (char.IsLowSurrogate(last) && prefix.Length >= 2 && char.IsHighSurrogate(prefix[^2]))
            {
                var next = char.ConvertToUtf32(prefix[^2], last) + 1;
                if (next <= 0x10FFFF)
                {
                    return prefix[..^2] + char.ConvertFromUtf32(next);
                }

                prefix = prefix[..^2]; // past U+10FFFF: the bound of what comes before it
                continue;
            }

            return prefix[..^1] + (last switch
            {
                '\uD7FF' => "\uE000",
                '\uFFFF' => "\U00010000",
                _ => ((char)(last + 1)).ToString(),
            });
        }

        return null;
    }
}

/// <summary>The metric names the SDK writes. Touch metrics are keyed by the message's journey, step, variant, channel and template.</summary>
public static class MeasurementMetrics
{
    /// <summary>A transport accepted the message (<c>message.sent</c>).</summary>
    public const string Sent = "sent";

    /// <summary>The provider reported delivery (<c>message.delivered</c>).</summary>
    public const string Delivered = "delivered";

    /// <summary>The person opened it (<c>message.opened</c>), counted once per message.</summary>
    public const string Opened = "opened";

    /// <summary>The person clicked (<c>message.clicked</c>), counted once per message.</summary>
    public const string Clicked = "clicked";

    /// <summary>The person unsubscribed from it (<c>message.unsubscribed</c>).</summary>
    public const string Unsubscribed = "unsubscribed";

    /// <summary>It bounced (<c>message.bounced</c>).</summary>
    public const string Bounced = "bounced";

    /// <summary>It failed finally (<c>message.failed</c>).</summary>
    public const string Failed = "failed";

    /// <summary>A marketing message withheld because the person is in the global control group.</summary>
    public const string HeldOut = "held_out";

    /// <summary>Prefix of journey lifecycle counters, e.g. <c>journey:entered</c>, <c>journey:step:welcome:sent</c>, <c>journey:active</c>.</summary>
    public const string JourneyPrefix = "journey:";

    /// <summary>Conversions of a definition (count) and their revenue (sum): <c>conversion:&lt;definition&gt;</c>, with no touch dimensions.</summary>
    public static string Conversion(string definitionId) => "conversion:" + definitionId;

    /// <summary>Conversion credit (sum, 0..1 each) a touch earned under a model: <c>credit:&lt;definition&gt;:&lt;model&gt;</c>; the count is conversions credited.</summary>
    public static string Credit(string definitionId, AttributionModel model) => $"credit:{definitionId}:{ModelName(model)}";

    /// <summary>Revenue a touch earned under a model: <c>revenue:&lt;definition&gt;:&lt;model&gt;</c>.</summary>
    public static string Revenue(string definitionId, AttributionModel model) => $"revenue:{definitionId}:{ModelName(model)}";

    /// <summary>The snake_case name of a model (<c>last_touch</c>, <c>first_touch</c>, <c>linear</c>, <c>time_decay</c>).</summary>
    public static string ModelName(AttributionModel model) => model switch
    {
        AttributionModel.LastTouch => "last_touch",
        AttributionModel.FirstTouch => "first_touch",
        AttributionModel.Linear => "linear",
        AttributionModel.TimeDecay => "time_decay",
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model"),
    };
}
