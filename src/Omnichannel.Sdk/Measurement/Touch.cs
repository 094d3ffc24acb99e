namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// One message to the person and what became of it, kept on the profile (so it survives merges and goes with an
/// erasure). Immutable: an outcome replaces the touch (so its stored JSON can be kept once written, see WrittenJson). Stored in the profile document; trimmed to the longest attribution window and
/// <see cref="MeasurementOptions.MaxTouchesPerProfile"/>.
/// </summary>
internal sealed record Touch
{
    // The key's hash, worked out when the key is set: finding a message's touch compares hashes before strings (keys
    // of one shop's messages are alike in length and prefix, and a profile holds up to MaxTouchesPerProfile of them).
    // A function of the key, so equality is unchanged.
    private readonly string _key = string.Empty;
    private readonly int _keyHash = HashOf(string.Empty);

    public string Key
    {
        get => _key;
        init
        {
            _key = value;
            _keyHash = HashOf(value);
        }
    }

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

    /// <summary>The earliest bounce of the message, or <see langword="null"/>: a bounce counts once per message, whatever the arrival order.</summary>
    public DateTimeOffset? BouncedAt { get; init; }

    /// <summary>
    /// The earliest <c>message.failed</c> of the message, or <see langword="null"/>: "it failed finally" counts once per
    /// message, like the other outcomes, however often a provider reports it.
    /// </summary>
    public DateTimeOffset? FailureReportedAt { get; init; }

    /// <summary>The latest bounce or failure of the message (whatever the arrival order), or <see langword="null"/>.</summary>
    public DateTimeOffset? FailedAt { get; init; }

    // The address the message was handed over to (email, E.164 phone, device token), null for in-app and webhooks and
    // for touches written before it was kept: a hard bounce naming only the message suppresses this address, not the
    // one she uses now (she may have changed it since). Her own data, erased with the profile.
    [System.Text.Json.Serialization.JsonInclude]
    internal string? SentTo { get; init; }

    // The newest delivery, open or click of the message (whatever the arrival order), null before one and for touches
    // written before it was kept. A soft-bounce run counts the bounces after her newest reach of the address; the earliest
    // instants above (kept for measurement) hid a later reach, so a report of an early open arriving last moved her newest
    // reach back and the same reports suppressed in one arrival order and not in another (review of U87).
    [System.Text.Json.Serialization.JsonInclude]
    internal DateTimeOffset? ReachedAt { get; init; }

    // The provider's id for the message (DeliveryResult.ProviderMessageId of the hand-over that was accepted: Twilio's
    // MessageSid, SendGrid's message id), null when the transport gave none and for touches written before it was kept:
    // a status callback naming only that id (provider_message_id, no message_id) is this message's outcome (audit U77).
    [System.Text.Json.Serialization.JsonInclude]
    internal string? ProviderId { get; init; }

    // Which clicked links and unsubscribed topics were already reported (OutcomeDetail's fingerprints, ordinal order, at
    // most MaxReported): a report naming one of them again is a provider's webhook sent again and starts no journey; another
    // link or topic is a new action of hers. Null until the first such report, and for touches written before it was kept.
    [System.Text.Json.Serialization.JsonInclude]
    internal IReadOnlyList<string>? Reported { get; init; }

    /// <summary>At most this many distinct clicked links and unsubscribed topics are remembered per message.</summary>
    internal const int MaxReported = 32;

    /// <summary>
    /// The fingerprint of what a click or an unsubscribe names (its <c>url</c>, its <c>topic</c>; absent is a value too),
    /// or <see langword="null"/> for the other outcomes: 12 characters of the SHA-256 of the text (base64url), so a URL's
    /// own data (a token in its query) is not kept.
    /// </summary>
    internal static string? OutcomeDetail(CustomerEvent e)
    {
        var name = e.Type switch
        {
            EventTypes.MessageClicked => "url",
            EventTypes.MessageUnsubscribed => "topic",
            _ => null,
        };
        if (name is null)
        {
            return null;
        }

        var text = e.Properties.ValueKind == System.Text.Json.JsonValueKind.Object ? WellKnownProperties.String(e.Properties, name) ?? string.Empty : string.Empty;
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text), hash);
        return (name == "url" ? "c:" : "u:") + System.Buffers.Text.Base64Url.EncodeToString(hash[..9]);
    }

    // A touch stored before links and topics were remembered holds a click (an unsubscribe) but not which: every click
    // (unsubscribe) on it then repeats that one, as it did when it was stored, so a provider's webhook sent again after an
    // upgrade starts no journey again. Written as these entries once anything joins them ('*' is no base64url character).
    private const string AnyLink = "c:*", AnyTopic = "u:*";

    /// <summary>What was reported, a stored touch's clicks and unsubscribes of unknown links and topics as wildcards.</summary>
    internal IReadOnlyList<string>? Known => Reported ?? (ClickedAt, UnsubscribedAt) switch
    {
        (null, null) => null,
        (not null, null) => [AnyLink],
        (null, not null) => [AnyTopic],
        _ => [AnyLink, AnyTopic],
    };

    /// <summary>Whether <paramref name="detail"/> was reported before (for a touch stored before links were kept: any of its kind).</summary>
    internal bool HasReported(string detail) =>
        Known is { } r && (r.Contains(detail, StringComparer.Ordinal) || r.Contains(detail.StartsWith('c') ? AnyLink : AnyTopic, StringComparer.Ordinal));

    /// <summary>The remembered fingerprints with <paramref name="detail"/> added (the same list when held or full).</summary>
    internal IReadOnlyList<string>? WithReported(string? detail) =>
        detail is null || HasReported(detail) ? Reported : Known is { Count: >= MaxReported } full ? full : Union(Known, [detail]);

    /// <summary>Both lists of fingerprints, ordinal order, at most <see cref="MaxReported"/> (the first in that order).</summary>
    internal static IReadOnlyList<string>? Union(IReadOnlyList<string>? a, IReadOnlyList<string>? b)
    {
        if (a is null || b is null)
        {
            return a ?? b;
        }

        var all = new SortedSet<string>(a, StringComparer.Ordinal);
        all.UnionWith(b);
        return all.Count == a.Count ? a : [.. all.Take(MaxReported)];
    }

    /// <summary>
    /// The index of the touch of message <paramref name="key"/> in <paramref name="touches"/> (keys are unique there), or -1.
    /// Searched from the newest: outcomes mostly concern messages sent moments ago, and a profile keeps up to
    /// <see cref="MeasurementOptions.MaxTouchesPerProfile"/> (200) touches.
    /// </summary>
    internal static int IndexOf(List<Touch> touches, string key)
    {
        var hash = HashOf(key);
        for (var i = touches.Count - 1; i >= 0; i--)
        {
            if (touches[i]._keyHash == hash && string.Equals(touches[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The latest instant anything happened to the message.</summary>
    /// <remarks>
    /// Its newest reach too (review of the U87 CI fixes): the other instants are the earliest, so a touch opened long ago
    /// and again an hour ago was trimmed as expired once the old open was known, its newest reach with it, and a soft-bounce
    /// run it broke suppressed her when the old open arrived last (not when it arrived first).
    /// </remarks>
    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset LastAt => Later(Later(Later(Later(Later(QueuedAt, SentAt), DeliveredAt), OpenedAt), ClickedAt), ReachedAt);

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset? b) => b is { } v && v > a ? v : a;

    private static int HashOf(string? key) => key is null ? 0 : string.GetHashCode(key, StringComparison.Ordinal);

    /// <summary>
    /// Its outcomes as attribution sees them. A send or delivery at or before a bounce or failure did not reach the person
    /// and is no touch (a soft bounce's later delivery is); an open or a click is proof of reach whenever it came.
    /// </summary>
    public IEnumerable<TouchPoint> Points()
    {
        if (SentAt is { } s && !(FailedAt >= s)) yield return Point(TouchKind.Sent, s);
        if (DeliveredAt is { } d && !(FailedAt >= d)) yield return Point(TouchKind.Delivered, d);
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
    // A commit carries one to a few deltas (a conversion, an outcome), so a short list searched in order beats a
    // dictionary; it is dropped at every Take, so a profile held in memory between its events holds none.
    private List<(MeasurementKey Key, long Count, double Sum)>? _deltas;

    public bool IsEmpty => _deltas is null or { Count: 0 };

    public void Add(MeasurementKey key, long count, double sum = 0)
    {
        var deltas = _deltas ??= new List<(MeasurementKey, long, double)>(2);
        for (var i = 0; i < deltas.Count; i++)
        {
            if (deltas[i].Key.Equals(key))
            {
                deltas[i] = (key, deltas[i].Count + count, deltas[i].Sum + sum);
                return;
            }
        }

        deltas.Add((key, count, sum));
    }

    /// <summary>The collected deltas in key order (stores lock rows in this order, so concurrent commits cannot deadlock), and clears them.</summary>
    public IReadOnlyList<MeasurementDelta> Take()
    {
        var deltas = _deltas;
        _deltas = null;
        if (deltas is null)
        {
            return [];
        }

        var kept = 0;
        foreach (var (_, count, sum) in deltas)
        {
            kept += count != 0 || sum != 0 ? 1 : 0;
        }

        if (kept == 0)
        {
            return [];
        }

        var taken = new MeasurementDelta[kept];
        var n = 0;
        foreach (var (key, count, sum) in deltas)
        {
            if (count != 0 || sum != 0)
            {
                taken[n++] = new MeasurementDelta(key, count, sum);
            }
        }

        if (taken.Length > 1)
        {
            Array.Sort(taken, static (a, b) => MeasurementKey.Order.Compare(a.Key, b.Key)); // keys are distinct: no ties to keep stable
        }

        return taken;
    }
}

/// <summary>
/// What an order's conversion added to the aggregates (the conversion rows and the credit rows of every model), kept on
/// the profile for <see cref="MeasurementRecorder.OrderConversionRetention"/>: when two profiles that each converted the
/// same order (a browser and a server tracking one checkout under different identifiers) merge, the later conversion is
/// taken back, so one order converts once.
/// </summary>
/// <param name="At">The time of the event that converted it.</param>
/// <param name="EventId">Its id (ties between equal times).</param>
/// <param name="Deltas">The rows it added.</param>
internal sealed record OrderConversion(DateTimeOffset At, string EventId, ConversionDelta[] Deltas)
{
    /// <summary>The rows it added; none for an order only known by its returns (stored documents omit empty lists).</summary>
    public ConversionDelta[] Deltas { get; init; } = Deltas ?? [];

    /// <summary>
    /// The order's revenue by property path as its newest event gave it (<c>total</c> always), before returns;
    /// <see langword="null"/> while only returns of it are known (a return that came before its order).
    /// </summary>
    public RevenueByProperty? Gross { get; init; }

    /// <summary>When the event that gave <see cref="Gross"/> happened, and its id (the newest event of the order stands).</summary>
    public DateTimeOffset? GrossAt { get; init; }

    /// <inheritdoc cref="GrossAt"/>
    public string? GrossEventId { get; init; }

    /// <summary>The currency <see cref="Gross"/> named (upper case), or <see langword="null"/> when it named none.</summary>
    public string? GrossCurrency { get; init; }

    /// <summary>Returns of the order by return key (the profile's), with their value in the shop's currency.</summary>
    public Dictionary<string, double>? Returned { get; init; }

    /// <summary>The currency each return in <see cref="Returned"/> named, by return key; returns that named none are not here.</summary>
    public Dictionary<string, string>? ReturnedIn { get; init; }

    /// <summary>Journey revenue rows of the order (journey and variant revenue); never taken back at a merge.</summary>
    public List<ConversionDelta>? JourneyRows { get; init; }

    /// <summary>
    /// The day its converting event's conversion rows count on, in the zone then in force; <see langword="null"/> in
    /// documents written before it was kept (then the day of <see cref="At"/> in today's zone). Kept because the zone
    /// may change (<see cref="MeasurementOptions.TimeZone"/>): re-attribution finds those rows by it, not by a day it
    /// would compute again in another zone.
    /// </summary>
    public DateOnly? Day { get; init; }

    /// <summary>The day of its converting event's conversion rows: <see cref="Day"/>, else <see cref="At"/>'s in the zone now.</summary>
    public DateOnly DayIn(MeasurementOptions options) => Day ?? options.DayOf(At);
}

/// <summary>One row an order's conversion added.</summary>
/// <param name="Key">The aggregate's key.</param>
/// <param name="Count">What it added to the count.</param>
/// <param name="Sum">What it added to the sum.</param>
/// <param name="Property">The revenue property its sum follows, or <see langword="null"/> when its sum is no revenue.</param>
/// <param name="Share">Its sum per unit of that revenue (the credit share; 1 for a conversion row).</param>
/// <param name="Squared">Its sum is the share times the revenue squared (revenue squares, for Welch's test).</param>
internal sealed record ConversionDelta(MeasurementKey Key, long Count, double Sum, string? Property = null, double Share = 0, bool Squared = false);
