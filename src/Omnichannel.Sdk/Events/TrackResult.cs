namespace Omnichannel.Sdk;

/// <summary>What happened to one tracked event.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<TrackStatus>))]
public enum TrackStatus
{
    /// <summary>The event was applied and durably committed.</summary>
    Accepted,

    /// <summary>An event with this id was already applied; nothing changed.</summary>
    Duplicate,

    /// <summary>The event is invalid; see <see cref="TrackResult.Errors"/>. Nothing changed.</summary>
    Rejected,

    /// <summary>
    /// The event was valid but applying it fails the same way every time (a bug, never a property of the input; see
    /// <see cref="TrackResult.FailureReason"/>). Not transient. Nothing changed.
    /// </summary>
    Failed,

    /// <summary>
    /// The event concerns an erased person: it carries an identifier on an erasure tombstone (or its id was one of hers).
    /// Nothing changed; <see cref="TrackResult.Errors"/> says which identifier, by position, never by value. Sending it
    /// again gives the same answer until the host lifts the erasure.
    /// </summary>
    Erased,

    /// <summary>
    /// The store failed (an I/O or database error, a file removed under it) or kept reporting concurrent changes, so the
    /// event was not applied. Transient (<see cref="TrackResult.IsTransient"/>): send the same event again — it is applied
    /// once. <see cref="TrackResult.FailureReason"/> says what the store reported. Nothing changed.
    /// </summary>
    StoreFailed,
}

/// <summary>One problem found in an event.</summary>
/// <param name="Field">The field it concerns, as a path: <c>type</c>, <c>identifiers[1].value</c>, <c>properties.total</c>.</param>
/// <param name="Message">What is wrong.</param>
public sealed record ValidationError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>The outcome of tracking one event.</summary>
public sealed record TrackResult
{
    /// <summary>The event's id (as given, possibly empty for a rejected event).</summary>
    public required string EventId { get; init; }

    /// <summary>Accepted, duplicate, rejected, erased or failed.</summary>
    public required TrackStatus Status { get; init; }

    /// <summary>The profile the event was applied to (accepted events).</summary>
    public string? ProfileId { get; init; }

    /// <summary>
    /// Every problem of a <see cref="TrackStatus.Rejected"/> event (each with its field path), or the identifier of an
    /// <see cref="TrackStatus.Erased"/> one; empty otherwise.
    /// </summary>
    public IReadOnlyList<ValidationError> Errors { get; init; } = [];

    /// <summary>
    /// The identifiers of an <see cref="TrackStatus.Accepted"/> event that were not linked to its profile (a per-type
    /// limit, or another person's profile that could not be merged with this one), each by position
    /// (<c>identifiers[1]</c>) with the reason, never by value; empty when every identifier was linked. The same refusals
    /// are recorded on the profile as <see cref="CustomerProfile.Conflicts"/>.
    /// </summary>
    public IReadOnlyList<ValidationError> NotLinked { get; init; } = [];

    /// <summary>
    /// Parts of an <see cref="TrackStatus.Accepted"/> event that were not applied, each with its field path and why; the
    /// rest of the event was applied. <c>context.timeZone</c> is listed when it is a raw UTC offset (<c>+02:00</c>,
    /// <c>UTC+2</c>: the Segment Spec's <c>context.timezone</c> is an IANA zone name, and an offset has no daylight
    /// saving) or a zone this machine does not know; the profile then keeps the zone it had. A Segment Spec property name
    /// sent without the SDK's own (only the tracking API translates them) is listed too: <c>properties.revenue</c> or
    /// <c>properties.value</c> without <c>total</c> on <c>order.placed</c>, <c>order.returned</c> or
    /// <c>checkout.started</c> (the amount counts 0), <c>properties.orderId</c> without <c>order_id</c> on
    /// <c>order.placed</c>, <c>order.returned</c> or <c>order.cancelled</c> (each event is an order of its own); the
    /// property itself is kept. Empty otherwise.
    /// </summary>
    public IReadOnlyList<ValidationError> Ignored { get; init; } = [];

    /// <summary>
    /// Why a <see cref="TrackStatus.Failed"/> or <see cref="TrackStatus.StoreFailed"/> event was not applied (without
    /// personal data); <see langword="null"/> otherwise.
    /// </summary>
    public string? FailureReason { get; init; }

    /// <summary>The segments the profile entered or left because of this event (or because time had passed until it).</summary>
    public IReadOnlyList<Segments.SegmentChange> SegmentChanges { get; init; } = [];

    /// <summary>
    /// Whether sending the same event again may succeed: <see langword="true"/> only for a <see cref="TrackStatus.Failed"/>
    /// event whose cause can pass (commit conflicts, a store fault); <see langword="false"/> for a rejected event and for a
    /// failure that would repeat identically.
    /// </summary>
    public bool IsTransient { get; init; }

    /// <summary>Whether the event is durably applied (now or before): accepted or duplicate.</summary>
    public bool IsAcknowledged => Status is TrackStatus.Accepted or TrackStatus.Duplicate;
}

/// <summary>Thrown by <see cref="IOmnichannelClient.TrackAsync"/> helpers that require success. Says whether a retry can help.</summary>
public sealed class EventRejectedException : Exception
{
    /// <summary>Creates the exception from a result.</summary>
    /// <param name="result">The result that was not accepted.</param>
    public EventRejectedException(TrackResult result)
        : base($"Event '{result.EventId}' was {Describe(result.Status)}: {result.FailureReason ?? string.Join("; ", result.Errors)}")
    {
        Result = result;
    }

    /// <summary>The result.</summary>
    public TrackResult Result { get; }

    /// <summary>Whether sending the same event again may succeed (<see cref="TrackResult.IsTransient"/>).</summary>
    public bool IsTransient => Result.IsTransient;

    private static string Describe(TrackStatus status) => status == TrackStatus.StoreFailed ? "not stored (the store failed)" : status.ToString().ToLowerInvariant();
}
