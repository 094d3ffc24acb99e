using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

/// <summary>What the host calls: track events; read, export and erase profiles; manage and query segments.</summary>
/// <remarks>
/// What a cancellation token means on every call (audit U29): a token already cancelled makes the call throw
/// <see cref="OperationCanceledException"/> before it does anything. A token cancelled during the call makes it either
/// complete fully and report its result, or throw <see cref="OperationCanceledException"/> having done nothing visible:
/// an event (or a whole batch) a worker has started is applied and reported, never half a batch; a message whose
/// planning has started is queued and reported, or — cancelled inside it (a renderer, a store read) — not queued at all.
/// A cancellation is never logged as an error nor counted as a store failure. One exception: segment and journey
/// changes are in force once the call passed validation; the token then stops only the follow-up (a segment's backfill,
/// the visit of profiles with running instances), and a journey call cancelled there throws although the journey stays
/// published or removed.
/// </remarks>
public interface IOmnichannelClient
{
    /// <summary>
    /// Validates, resolves and applies one event. Completes once the event is durably committed (accepted),
    /// recognised as a duplicate, rejected with every problem listed, or failed (<see cref="TrackResult.IsTransient"/>
    /// says whether sending it again can help). A bad event is a result, never an exception; the limits it is checked
    /// against are on <see cref="OmnichannelOptions"/>.
    /// </summary>
    /// <param name="customerEvent">The event.</param>
    /// <param name="cancellationToken">Cancels the call while no worker has started the event (then nothing is applied); once started, the call reports its result.</param>
    ValueTask<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tracks many events: valid ones are applied, invalid ones rejected; one bad event never stops the others.
    /// Returns one result per event, in the order given, always (only cancellation or disposal ends the call early).
    /// A batch with nothing to queue (empty, or every event rejected) returns its results at once, disposal or not.
    /// </summary>
    /// <remarks>
    /// One person's events are applied in the order given: events that share an identifier, directly or through other
    /// events of the batch (a page view by anonymous id and email links a later identify by that email to a later screen
    /// by that anonymous id), or whose identifiers one stored profile holds. So the batch ends in the profiles that
    /// tracking its events one at a time gives (which claim on an identifier comes first decides whose it is). Events of
    /// different customers run concurrently, and one customer's events are brought together so that a store that
    /// supports it commits them at once (<see cref="Storage.IOmnichannelStore.CommitsFurtherEventIds"/>): an event never
    /// overtakes an earlier one of her events. Each result completes once its event is durable.
    /// </remarks>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    Task<IReadOnlyList<TrackResult>> TrackBatchAsync(IEnumerable<CustomerEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Finds the profile that holds an identifier (normalised first), or <see langword="null"/>.</summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<CustomerProfile?> GetProfileAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>Reads a profile by id, following merges (an absorbed profile's id finds the profile it became part of).</summary>
    /// <param name="profileId">The profile id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<CustomerProfile?> GetProfileByIdAsync(string profileId, CancellationToken cancellationToken = default);

    /// <summary>
    /// All data held about one person, as JSON (GDPR art. 15 access request), or <see langword="null"/> when unknown. The
    /// shape is <c>docs/schemas/profile-export.schema.json</c> (<c>format</c> = <c>omnichannel-profile-export/1</c>):
    /// identifiers, traits, statistics, cart, wishlist, consents (the current decision per channel and topic, with time
    /// and source) and the consent changes still on the timeline, preferences, segments, running journeys, the message
    /// log, suppressed addresses, timeline, merges and identity conflicts (another person's identifier only as its keyed
    /// hash), and under <c>internal</c> every other field the profile document holds (journey history, the event facts
    /// kept for segment rules, wake-ups).
    /// </summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<JsonObject?> ExportProfileAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a person (GDPR art. 17, CCPA) and keeps her erased (<see cref="Privacy.EraseOptions.Default"/>): see the
    /// overload with <see cref="Privacy.EraseOptions"/>. Returns <see langword="false"/> when no profile holds the identifier.
    /// </summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> EraseProfileAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a person: her profile (traits, orders, consents, timeline, message log, journey instances and their
    /// wake-ups), her identifiers, the aliases of profiles merged into hers, her segment memberships and her pending
    /// outbox entries go in one store transaction. What stays is keyed hashes (HMAC-SHA256 under
    /// <c>Privacy.HashKey</c>), never values: each address she could be messaged at on the suppression list (email,
    /// phone, device id, her id on a custom channel such as <c>line</c>; never messaged again on any class, also after a
    /// return with <see cref="Privacy.EraseOptions.AllowReturn"/>, until <see cref="LiftErasureAsync"/>), and a tombstone for every identifier and for the ids of her events the profile names. Events carrying
    /// an erased identifier — replays, and events already queued when the erasure ran — are then refused with
    /// <see cref="TrackStatus.Erased"/> (or, with <see cref="Privacy.EraseOptions.AllowReturn"/>, only those dated at or
    /// before the erasure). Conflict records on other profiles already hold only a hash of her identifiers.
    /// Returns <see langword="false"/> when no profile holds the identifier.
    /// </summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="options">Whether she may come back; <see cref="Privacy.EraseOptions.Default"/> keeps her erased.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="InvalidOperationException">The profile kept changing during the erasure (every attempt of <c>MaxCommitAttempts</c>); nothing was erased.</exception>
    ValueTask<bool> EraseProfileAsync(Identifier identifier, Privacy.EraseOptions options, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lifts the erasure of one identifier (the person asked to come back), or the suppression of an address (she asks
    /// to be messaged there again): its tombstone and its suppression-list entries (erasure, hard bounce, soft-bounce
    /// run) are removed, and so are the suppression of the address on the profile that holds it and its soft-bounce
    /// count, so events carrying it are accepted and messages to it are sent again. Another person's profile that
    /// reported a bounce of the address keeps its own entry. Returns <see langword="false"/> when there was nothing to
    /// lift.
    /// </summary>
    /// <param name="identifier">The identifier (normalised first).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="InvalidOperationException">The lift on her profile could not be recorded (the store kept failing); calling it again is safe.</exception>
    ValueTask<bool> LiftErasureAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether an address (email, phone, device id, an id on a custom channel) is on the suppression list: it belongs to an
    /// erased person (an erasure recorded by an earlier version of the SDK listed only emails and phones), or a provider
    /// reported it as a hard bounce, under whichever profile (before the forty-fifth session's version, a hard bounce was
    /// kept on the reporting profile only).
    /// </summary>
    /// <param name="identifier">The identifier (normalised first).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends a message to the person holding <paramref name="recipient"/> through the delivery pipeline (idempotency by
    /// <see cref="Delivery.MessageRequest.Key"/>, address and consent, suppression, frequency caps, quiet hours, rendering,
    /// outbox); the dispatcher sends it when due and records the outcome on the profile.
    /// </summary>
    /// <param name="recipient">Any identifier of the person.</param>
    /// <param name="request">The message.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The request has no key, no template id, or no channel (or a null or blank one).</exception>
    ValueTask<Delivery.SendResult> SendAsync(Identifier recipient, Delivery.MessageRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a one-click unsubscribe (RFC 8058) from the token of a <c>List-Unsubscribe</c> link: a
    /// <c>message.unsubscribed</c> event for the message's profile, channel and topic (consent withdrawn for that topic, or
    /// for the whole channel's marketing, every topic included, when the message had none), stamped with the time of the
    /// call. Idempotent: the same link posted again within an hour of the refusal it recorded adds nothing (a double click,
    /// a mail client's retry); posted an hour or more later, it restates the refusal at that time, so a grant stamped
    /// between the two clicks that arrives late does not outrank her newest decision. Call it from a <c>POST</c> handler only — mail scanners fetch links with <c>GET</c> (the ASP.NET Core package's
    /// <c>MapOmnichannelUnsubscribe</c> does this for you). A cluster client forwards it to a silo.
    /// </summary>
    /// <param name="token">The <c>t</c> query parameter of the link.</param>
    /// <param name="cancellationToken">Cancels the wait (the unsubscribe may still be recorded).</param>
    /// <returns>What was done; a forged, altered or malformed token is <see cref="Delivery.UnsubscribeStatus.InvalidToken"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The unsubscribe could not be recorded (the store kept failing); post the same link again.</exception>
    ValueTask<Delivery.UnsubscribeStatus> UnsubscribeAsync(string token, CancellationToken cancellationToken = default);

    /// <summary>
    /// What an unsubscribe link is about — its channel and topic — or <see langword="null"/> when the token does not verify.
    /// Records nothing: for the page a <c>GET</c> of the link shows (it should name what she is leaving). Verified locally
    /// with <c>OmnichannelOptions.Privacy</c>'s hash keys, so a cluster client needs the silos' keys.
    /// </summary>
    /// <param name="token">The <c>t</c> query parameter of the link.</param>
    /// <returns>The link's channel and topic (<see langword="null"/> topic: all marketing on the channel).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is <see langword="null"/>.</exception>
    Delivery.UnsubscribeLink? ReadUnsubscribeLink(string token);

    /// <summary>The loaded segments, referenced segments first.</summary>
    IReadOnlyList<SegmentDefinition> Segments { get; }

    /// <summary>
    /// Adds a segment, or replaces the one with the same id, at run time. Events from now on are evaluated against it;
    /// existing profiles are re-evaluated in the background (the returned backfill reports progress and completes when done).
    /// Event history is kept only for event types the loaded rules reference, so a new rule over a type no rule used
    /// before sees events from when it was loaded, and one over a kept type sees only the history the loaded rules kept
    /// (a longer window than theirs does not reach events they let go); profile data (traits, statistics, consent) is
    /// always complete.
    /// </summary>
    /// <param name="segment">The definition.</param>
    /// <param name="progress">Receives progress after each page of profiles.</param>
    /// <param name="cancellationToken">Cancels the backfill.</param>
    /// <exception cref="SegmentDefinitionException">The definition is invalid (every error, with its path), or references an unknown segment or makes a cycle.</exception>
    ValueTask<SegmentBackfill> UpsertSegmentAsync(SegmentDefinition segment, IProgress<SegmentBackfillProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Unloads a segment. Returns <see langword="false"/> when no segment has this id.</summary>
    /// <param name="segmentId">The segment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="SegmentDefinitionException">Another loaded segment references it.</exception>
    ValueTask<bool> RemoveSegmentAsync(string segmentId, CancellationToken cancellationToken = default);

    /// <summary>How many profiles would be in a segment now ("audience size"), without loading it or committing anything.</summary>
    /// <param name="segment">The definition.</param>
    /// <param name="cancellationToken">Cancels the count.</param>
    /// <exception cref="SegmentDefinitionException">The definition is invalid.</exception>
    ValueTask<SegmentPreview> PreviewSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken = default);

    /// <summary>A page of a segment's members (profile ids in ordinal order, after <paramref name="afterProfileId"/>).</summary>
    /// <param name="segmentId">A loaded segment.</param>
    /// <param name="afterProfileId">The last id of the previous page, or <see langword="null"/> for the first.</param>
    /// <param name="limit">Page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentException">No such segment is loaded.</exception>
    ValueTask<IReadOnlyList<string>> GetSegmentMembersAsync(string segmentId, string? afterProfileId = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>The newest version of each loaded journey.</summary>
    IReadOnlyList<Journeys.JourneyDefinition> Journeys { get; }

    /// <summary>
    /// Publishes a journey at run time: a new one, or a new version of a loaded one. New instances start on the newest
    /// version; running instances finish on the version they started on, except that an instance waiting on a step the
    /// new version no longer has is ended, with the reason on the profile's timeline.
    /// </summary>
    /// <param name="journey">The definition (built with <see cref="Journeys.Journey.Define"/> or parsed with <see cref="Journeys.JourneyJson"/>).</param>
    /// <param name="cancellationToken">Cancels the background visit of profiles with running instances (the journey stays published).</param>
    /// <returns>How many profiles with running instances were visited.</returns>
    /// <exception cref="Journeys.JourneyDefinitionException">The definition is invalid (every error with its JSON path), a send step names a template the templates given to <c>UseTemplates</c> do not hold (<c>$.steps[i].template</c>), or the version is already published with different content.</exception>
    Task<int> PublishJourneyAsync(Journeys.JourneyDefinition journey, CancellationToken cancellationToken = default);

    /// <summary>Unloads every version of a journey; its running instances end, with the reason recorded, when next touched, and no message it planned goes out after the removal (one held for quiet hours or a retry is withdrawn). <see langword="false"/> when no journey has this id.</summary>
    /// <param name="journeyId">The journey id.</param>
    /// <param name="cancellationToken">Cancels the background visit of profiles with running instances.</param>
    Task<bool> RemoveJourneyAsync(string journeyId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A journey's statistics summed over every profile: entries (and refusals), completions, exits by reason,
    /// conversions by step, variant and channel, and per step what happened. Read from the store's measurement
    /// aggregates (the cost is the journey's counters and days, not the number of profiles): for back-office pages and
    /// reports. Zeros for a loaded journey nobody entered; a removed journey's counts still answer.
    /// </summary>
    /// <param name="journeyId">The journey id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentException">No journey with this id is loaded and the store holds no statistics under it (a
    /// misspelt id); the message lists the loaded ids.</exception>
    Task<Journeys.JourneyStatistics> GetJourneyStatisticsAsync(string journeyId, CancellationToken cancellationToken = default);
}
