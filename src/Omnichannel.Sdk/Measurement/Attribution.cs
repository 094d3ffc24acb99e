namespace Omnichannel.Sdk.Measurement;

/// <summary>How a conversion's credit is shared among the touches that preceded it within their windows.</summary>
public enum AttributionModel
{
    /// <summary>All credit to the most recent eligible touch (the default; ties go to the later message key, ordinal).</summary>
    LastTouch,

    /// <summary>All credit to the earliest eligible touch.</summary>
    FirstTouch,

    /// <summary>Equal shares: 1/n to each of the n eligible touches.</summary>
    Linear,

    /// <summary>
    /// Shares proportional to <c>2^(−age / half-life)</c>, age being the time from the touch to the conversion: a touch
    /// one half-life older than another earns half its credit (the exponential "time decay" model of Google Analytics).
    /// </summary>
    TimeDecay,
}

/// <summary>The kind of a touch: the strongest outcome of a message the person had, weakest first.</summary>
public enum TouchKind
{
    /// <summary>A transport accepted the message.</summary>
    Sent,

    /// <summary>The provider reported delivery.</summary>
    Delivered,

    /// <summary>The person opened it (email pixel, push open, in-app view).</summary>
    Opened,

    /// <summary>The person clicked a link in it.</summary>
    Clicked,
}

/// <summary>One outcome of one message, as attribution sees it.</summary>
/// <param name="MessageKey">The message's idempotency key (several touch points of one message share it).</param>
/// <param name="Kind">The outcome.</param>
/// <param name="At">When it happened.</param>
/// <param name="Channel">The channel the message went out on.</param>
/// <param name="JourneyId">The journey that sent it, or <see langword="null"/>.</param>
/// <param name="StepId">The journey step, or <see langword="null"/>.</param>
/// <param name="Variant">The experiment variant, or <see langword="null"/>.</param>
/// <param name="TemplateId">The template, or <see langword="null"/>.</param>
public sealed record TouchPoint(string MessageKey, TouchKind Kind, DateTimeOffset At, string Channel, string? JourneyId = null, string? StepId = null, string? Variant = null, string? TemplateId = null);

/// <summary>A touch's share of one conversion.</summary>
/// <param name="Touch">The touch point that qualified the message (its strongest outcome within its window).</param>
/// <param name="Credit">The share, in (0, 1]; the shares of one conversion sum to 1.</param>
public sealed record AttributedTouch(TouchPoint Touch, double Credit);

/// <summary>How long after each kind of touch a conversion is still credited to it.</summary>
public sealed class AttributionWindows
{
    /// <summary>After a click; default 7 days.</summary>
    public TimeSpan Clicked { get; set; } = TimeSpan.FromDays(7);

    /// <summary>After an open; default 1 day.</summary>
    public TimeSpan Opened { get; set; } = TimeSpan.FromDays(1);

    /// <summary>After delivery; default 1 day.</summary>
    public TimeSpan Delivered { get; set; } = TimeSpan.FromDays(1);

    /// <summary>After sending; default 1 day.</summary>
    public TimeSpan Sent { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The window of a kind.</summary>
    /// <param name="kind">The touch kind.</param>
    public TimeSpan For(TouchKind kind) => kind switch
    {
        TouchKind.Clicked => Clicked,
        TouchKind.Opened => Opened,
        TouchKind.Delivered => Delivered,
        _ => Sent,
    };

    /// <summary>The longest window (how long touches must be kept).</summary>
    public TimeSpan Longest => new[] { Clicked, Opened, Delivered, Sent }.Max();
}

/// <summary>
/// Attribution as pure functions: which touches a conversion is credited to, and how much each gets under a model. No
/// clock, no I/O; the engine calls them inside the profile's unit of work and the same conversion can be read under every
/// model.
/// </summary>
public static class Attribution
{
    /// <summary>
    /// The eligible touches of a conversion, one per message: a message qualifies when one of its touch points is at or
    /// before <paramref name="conversionAt"/> and no older than the window of its kind; the strongest qualifying point
    /// (clicked over opened over delivered over sent) stands for the message. Ordered by time, then message key (ordinal).
    /// </summary>
    /// <param name="touches">The person's touch points (any order, any message).</param>
    /// <param name="conversionAt">When the conversion happened.</param>
    /// <param name="windows">The windows per kind.</param>
    /// <returns>The qualifying touch point of each eligible message.</returns>
    public static IReadOnlyList<TouchPoint> Eligible(IEnumerable<TouchPoint> touches, DateTimeOffset conversionAt, AttributionWindows windows)
    {
        ArgumentNullException.ThrowIfNull(touches);
        ArgumentNullException.ThrowIfNull(windows);
        var best = new Dictionary<string, TouchPoint>(StringComparer.Ordinal);
        foreach (var t in touches)
        {
            if (t.At > conversionAt || conversionAt - t.At > windows.For(t.Kind))
            {
                continue;
            }

            if (!best.TryGetValue(t.MessageKey, out var known) || t.Kind > known.Kind || (t.Kind == known.Kind && t.At > known.At))
            {
                best[t.MessageKey] = t;
            }
        }

        return [.. best.Values.OrderBy(t => t.At).ThenBy(t => t.MessageKey, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Shares one conversion among its eligible touches under a model. The shares sum to 1 (up to rounding) when any touch
    /// is eligible; the answer is empty when none is (the conversion is unattributed).
    /// </summary>
    /// <param name="touches">The person's touch points.</param>
    /// <param name="conversionAt">When the conversion happened.</param>
    /// <param name="windows">The windows per kind.</param>
    /// <param name="model">The model.</param>
    /// <param name="halfLife">The half-life of <see cref="AttributionModel.TimeDecay"/>; must be positive.</param>
    /// <returns>Each eligible message's qualifying touch point with its share, in time order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="halfLife"/> is not positive, or the model is unknown.</exception>
    public static IReadOnlyList<AttributedTouch> Credit(IEnumerable<TouchPoint> touches, DateTimeOffset conversionAt, AttributionWindows windows, AttributionModel model, TimeSpan halfLife)
    {
        if (halfLife <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(halfLife), halfLife, "the time-decay half-life must be positive");
        }

        var eligible = Eligible(touches, conversionAt, windows);
        if (eligible.Count == 0)
        {
            return [];
        }

        switch (model)
        {
            case AttributionModel.LastTouch:
                return [new AttributedTouch(eligible[^1], 1)];
            case AttributionModel.FirstTouch:
                return [new AttributedTouch(eligible[0], 1)];
            case AttributionModel.Linear:
                return [.. eligible.Select(t => new AttributedTouch(t, 1.0 / eligible.Count))];
            case AttributionModel.TimeDecay:
                // Weights relative to the newest touch (exponent ≤ 0), so no weight overflows however old the touches.
                var newest = eligible[^1].At;
                var weights = eligible.Select(t => Math.Pow(2, -(newest - t.At).TotalSeconds / halfLife.TotalSeconds)).ToArray();
                var total = weights.Sum();
                return [.. eligible.Select((t, i) => new AttributedTouch(t, weights[i] / total))];
            default:
                throw new ArgumentOutOfRangeException(nameof(model), model, "unknown attribution model");
        }
    }
}
