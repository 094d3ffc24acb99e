using System.Text.Json.Nodes;

namespace Omnichannel.Sdk;

/// <summary>What the host calls: track events, read, export and erase profiles.</summary>
public interface IOmnichannelClient
{
    /// <summary>
    /// Validates, resolves and applies one event. Completes once the event is durably committed (accepted),
    /// recognised as a duplicate, rejected with every problem listed, or failed.
    /// </summary>
    /// <param name="customerEvent">The event.</param>
    /// <param name="cancellationToken">Cancels waiting; an event already queued may still be applied.</param>
    ValueTask<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tracks many events: valid ones are applied, invalid ones rejected; one bad event never stops the others.
    /// Returns one result per event, in the order given.
    /// </summary>
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

    /// <summary>All data held about one person, as JSON (GDPR access request), or <see langword="null"/> when unknown.</summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<JsonObject?> ExportProfileAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>
    /// Erases a person (GDPR): the profile, its identifiers and its history are deleted; a one-way hash of each email
    /// and phone is kept on a suppression list so the person is never messaged again by accident.
    /// Returns <see langword="false"/> when no profile holds the identifier.
    /// </summary>
    /// <param name="identifier">Any identifier of the person.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> EraseProfileAsync(Identifier identifier, CancellationToken cancellationToken = default);

    /// <summary>Whether an email or phone belongs to an erased person (is on the suppression list).</summary>
    /// <param name="identifier">The identifier (normalised first).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default);
}
