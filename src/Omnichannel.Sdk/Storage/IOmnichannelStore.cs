namespace Omnichannel.Sdk.Storage;

/// <summary>
/// The storage contract. A store keeps profile documents with optimistic concurrency, the identity index
/// (identifier → profile), merge aliases, processed-event ids and the suppression list, and commits a profile's
/// change set atomically. Every store passes the conformance kit in <c>Omnichannel.Sdk.Testing.Conformance</c>.
/// Instants (wake-ups, due times, leases, processing times, tombstones) are kept to the 100-ns tick of their UTC instant
/// (a column of microseconds, such as PostgreSQL's <c>timestamptz</c>, is not enough: store <c>UtcTicks</c>); the
/// offset they were written with need not be kept.
/// </summary>
public interface IOmnichannelStore
{
    /// <summary>Loads a profile document, or <see langword="null"/> when there is none with this id.</summary>
    /// <param name="profileId">The profile id (not followed through merges).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default);

    /// <summary>Follows merge aliases: the id of the live profile that <paramref name="profileId"/> is now part of, or <see langword="null"/>.</summary>
    /// <param name="profileId">A current or merged-away profile id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default);

    /// <summary>Looks identifiers up in the identity index; identifiers that no profile holds are absent from the answer.</summary>
    /// <param name="identifiers">Normalised identifiers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default);

    /// <summary>Whether an event id was already committed (and not purged).</summary>
    /// <param name="eventId">The event id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits a change set atomically: all of it, or — when any expectation fails — nothing. An outbox key already
    /// accepted is such an expectation (<see cref="CommitStatus.MessageKeyTaken"/>): a message that will not be sent is
    /// never reported as queued.
    /// </summary>
    /// <param name="commit">The change set.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <see cref="CommitAsync"/> honours <see cref="ProfileCommit.FurtherEventIds"/>: checks each (a commit naming
    /// an id already processed is a <see cref="CommitStatus.DuplicateEvent"/>) and remembers each as processed. Only then
    /// does the engine commit a run of one profile's events at once. Default <see langword="false"/>: one event per commit.
    /// </summary>
    bool CommitsFurtherEventIds => false;

    /// <summary>
    /// Erases a profile in one transaction: its document (with its journey instances and wake-up), its identifiers, the
    /// aliases whose chain ends at it, its segment memberships, its pending outbox entries and the remembered keys of
    /// its journey messages and the processed ids of their outcome events (<c>j:{profile id}:…</c>, for its id and every
    /// id of the alias chain), the processed ids in <see cref="ProfileErasure.EventIds"/> (and no other id), the remembered
    /// keys in <see cref="ProfileErasure.MessageKeys"/> (and no other key); records
    /// the erasure's suppression hashes and tombstones (a tombstone for a hash already present is replaced). Nothing is written when
    /// the profile does not exist or its version is not <see cref="ProfileErasure.ExpectedVersion"/>; the answer is then
    /// <see langword="false"/>. A store that keeps files should also make the deleted bytes unreadable (SQLite:
    /// <c>secure_delete</c> and a WAL checkpoint).
    /// </summary>
    /// <param name="erasure">What to delete and what to remember.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default);

    /// <summary>Whether a hash is on the suppression list.</summary>
    /// <param name="hash">The hash.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds hashes to the suppression list without erasing anyone: the engine's record of an address a provider reported
    /// as a hard bounce (keyed hashes of the address as an identifier), so that no profile that holds the address —
    /// another cookie's, one merged later — is messaged there. Idempotent; <see cref="LiftErasureAsync"/> removes them.
    /// The default implementation adds nothing (stores written before it): a hard bounce then suppresses the address on
    /// the reporting profile only.
    /// </summary>
    /// <param name="hashes">Keyed hashes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.CompletedTask;
    }

    /// <summary>The tombstones among <paramref name="hashes"/> (those absent are simply not in the answer, in no particular order).</summary>
    /// <param name="hashes">Keyed hashes of identifiers or event ids.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lifts an erasure for some hashes: removes their tombstones and their suppression-list entries. Returns how many
    /// entries (tombstones plus suppression entries) were removed.
    /// </summary>
    /// <param name="hashes">Keyed hashes of identifiers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default);

    /// <summary>Forgets processed-event ids committed before <paramref name="processedBefore"/>; returns how many.</summary>
    /// <param name="processedBefore">The cut-off (processing time).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default);

    /// <summary>Lists live profile ids in code point order (the order of their UTF-8 bytes), after <paramref name="afterProfileId"/> (exclusive), at most <paramref name="limit"/>.</summary>
    /// <param name="afterProfileId">The last id of the previous page, or <see langword="null"/> for the first page.</param>
    /// <param name="limit">Page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Profiles whose wake-up (<see cref="ProfileCommit.WakeAt"/>) is at or before <paramref name="dueBy"/>, earliest first
    /// (ties by profile id, in code point order): every due one up to <paramref name="limit"/>, so an answer shorter than
    /// the limit means none more is due. The engine's scheduler reads it; pass
    /// <see cref="DateTimeOffset.MaxValue"/> and 1 for the next wake-up of all.
    /// </summary>
    /// <param name="dueBy">The cut-off, inclusive.</param>
    /// <param name="limit">Page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default);

    /// <summary>Members of a segment (as of their last commit), in code point order of profile id (the order of UTF-8 bytes), after <paramref name="afterProfileId"/> (exclusive).</summary>
    /// <param name="segmentId">The segment.</param>
    /// <param name="afterProfileId">The last id of the previous page, or <see langword="null"/> for the first page.</param>
    /// <param name="limit">Page size.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="limit"/> outbox entries due at or before <paramref name="now"/> whose lease is free or
    /// expired, earliest due first (ties by message key, in code point order): each is leased until <c>now + lease</c> and
    /// its <see cref="OutboxEntry.Attempt"/> goes up by one (the fencing token for <see cref="CompleteOutboxAsync"/> and
    /// <see cref="RescheduleOutboxAsync"/>). Every such entry up to the limit is taken (but those a concurrent claim is
    /// taking): the dispatcher reads an answer shorter than <paramref name="limit"/> as "nothing more is due now". Two
    /// concurrent claimers never lease the same entry.
    /// </summary>
    /// <param name="now">The current time.</param>
    /// <param name="lease">How long the claimer owns the entries.</param>
    /// <param name="limit">At most this many.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases as <see cref="ClaimOutboxAsync(DateTimeOffset, TimeSpan, int, CancellationToken)"/> does, taking only entries
    /// whose <see cref="OutboxEntry.Channel"/> is one of <paramref name="channels"/> or is <see langword="null"/> (any
    /// claimer): a process whose transports serve some channels (a worker for email, another for SMS, on one database)
    /// leaves the other channels' messages to the processes that serve them, instead of failing them. The order, the
    /// limit and "an answer shorter than the limit means nothing more is due" hold among those entries.
    /// <see langword="null"/> <paramref name="channels"/>: every entry. Channel names are compared ordinally.
    /// The default implementation ignores <paramref name="channels"/> and claims every entry (stores written before this
    /// method existed): each process then claims, and may fail, messages on channels it has no transport for.
    /// </summary>
    /// <param name="now">The current time.</param>
    /// <param name="lease">How long the claimer owns the entries.</param>
    /// <param name="limit">At most this many.</param>
    /// <param name="channels">The channels the claimer serves, or <see langword="null"/> for every entry.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default) =>
        ClaimOutboxAsync(now, lease, limit, cancellationToken);

    /// <summary>
    /// Removes a sent (or finally failed) entry. Its key stays remembered, so the same message is never enqueued again.
    /// Returns <see langword="false"/> when <paramref name="attempt"/> is not the entry's current attempt (the lease was lost
    /// to another claimer) or the entry is gone.
    /// </summary>
    /// <param name="messageKey">The entry's key.</param>
    /// <param name="attempt">The attempt number the claim returned.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default);

    /// <summary>Frees an entry's lease and sets when it is next due (a retry after a transient failure). Same fencing as <see cref="CompleteOutboxAsync"/>.</summary>
    /// <param name="messageKey">The entry's key.</param>
    /// <param name="attempt">The attempt number the claim returned.</param>
    /// <param name="dueAt">When to try again.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Brings a pending entry that no claimer holds forward to an earlier due time (a message held for the morning of the
    /// zone she left, when her new zone's morning comes sooner). Changes nothing, and returns <see langword="false"/>, when
    /// the entry is gone, leased (its lease may have run out: it was claimed), or already due at or before
    /// <paramref name="dueAt"/>. The default implementation changes nothing: such a message then leaves at its old due time,
    /// where it is checked again.
    /// </summary>
    /// <param name="messageKey">The entry's key.</param>
    /// <param name="dueAt">The new, earlier due time.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the entry moved.</returns>
    ValueTask<bool> AdvanceOutboxAsync(string messageKey, DateTimeOffset dueAt, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(false);
    }

    /// <summary>The earliest instant any pending entry is due or its lease ends, or <see langword="null"/> when the outbox is empty.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="GetNextOutboxDueAsync(CancellationToken)"/>, among the entries a claim limited to
    /// <paramref name="channels"/> could take (see <see cref="ClaimOutboxAsync(DateTimeOffset, TimeSpan, int, IReadOnlyCollection{string}?, CancellationToken)"/>):
    /// a message left for another process's channel does not wake this one. The default implementation ignores
    /// <paramref name="channels"/>.
    /// </summary>
    /// <param name="channels">The channels the claimer serves, or <see langword="null"/> for every entry.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default) =>
        GetNextOutboxDueAsync(cancellationToken);

    /// <summary>
    /// Reads measurement aggregates (the sums of every <see cref="ProfileCommit.Measurements"/> delta per key) matching
    /// the query, in <see cref="Measurement.MeasurementKey.Order"/>, at most <see cref="Measurement.MeasurementQuery.Limit"/>.
    /// Answered from an index on (journey, metric, day): the cost is the rows read, not the number of profiles.
    /// </summary>
    /// <param name="query">The filter.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentOutOfRangeException">The query's limit is not positive.</exception>
    ValueTask<IReadOnlyList<Measurement.MeasurementRow>> GetMeasurementsAsync(Measurement.MeasurementQuery query, CancellationToken cancellationToken = default);
}

/// <summary>
/// A message waiting to be sent: written in the same commit as the step that produced it, then leased and sent by the
/// dispatcher. The payload is opaque to the store.
/// </summary>
public sealed record OutboxEntry
{
    /// <summary>The idempotency key (a journey instance and step, or the host's own key). A key is accepted once, ever.</summary>
    public required string MessageKey { get; init; }

    /// <summary>The profile the message is for (erasing the profile removes its pending entries).</summary>
    public required string ProfileId { get; init; }

    /// <summary>When it may be sent (later than its creation for quiet hours or a retry).</summary>
    public required DateTimeOffset DueAt { get; init; }

    /// <summary>The engine's description of the message, as UTF-8 JSON.</summary>
    public required byte[] Payload { get; init; }

    /// <summary>How many times it was claimed (0 before the first claim).</summary>
    public int Attempt { get; init; }

    /// <summary>
    /// The channel the message is first tried on (<c>email</c>, <c>sms</c>, …), which a claim limited to channels matches;
    /// <see langword="null"/> when any claimer may take it (entries written before stores kept it). Its fallback
    /// channels, if any, are tried by the process that claimed it: register them beside the first channel's transport.
    /// A claimer with a transport for none of the channels left when it is due (consent for the first one withdrawn
    /// while it was held) hands it over: a new entry (key <c>{key}→{channel}</c>, the same payload) on the first of them.
    /// </summary>
    public string? Channel { get; init; }
}

/// <summary>What <see cref="IOmnichannelStore.EraseProfileAsync"/> deletes and what it leaves behind.</summary>
public sealed record ProfileErasure
{
    /// <summary>The profile to erase.</summary>
    public required string ProfileId { get; init; }

    /// <summary>
    /// The version the engine read the profile at; the erasure writes nothing when the profile has moved on (an event
    /// linked a new identifier meanwhile), and the engine reads it again. <see langword="null"/> erases whatever version.
    /// </summary>
    public long? ExpectedVersion { get; init; }

    /// <summary>Keyed hashes of the person's email addresses and phone numbers, never to be messaged again.</summary>
    public IReadOnlyCollection<string> SuppressionHashes { get; init; } = [];

    /// <summary>Keyed hashes of every identifier of the person and of the event ids she sent, so that they stay erased.</summary>
    public IReadOnlyList<Tombstone> Tombstones { get; init; } = [];

    /// <summary>
    /// The ids of the events of hers that the profile names, as the client sent them (a client may build one from an
    /// address: "signup-ann@example.com"). The store forgets them as processed: the event-id tombstones in
    /// <see cref="Tombstones"/> refuse them from now on, so no raw id of hers need stay. Ids the store cannot hold are skipped.
    /// </summary>
    public IReadOnlyCollection<string> EventIds { get; init; } = [];

    /// <summary>
    /// The host's keys of her messages that the profile names, as given (a host may build one from an address:
    /// "welcome-ann@example.com"), pending or not, and their hand-over keys (<c>{key}→{channel}</c>). The store forgets
    /// them as accepted keys (a key is otherwise remembered for ever; the engine keeps each one's keyed hash as a tombstone,
    /// so that it is still accepted once). Journey keys (<c>j:{profile id}:…</c>) are not listed: the store finds them by
    /// the profile's id. Keys it cannot hold are skipped.
    /// </summary>
    public IReadOnlyCollection<string> MessageKeys { get; init; } = [];

    /// <summary>
    /// When set, the store also forgets every accepted key it recorded for the profile or for a profile merged into it
    /// (its alias chain), however old (a profile names at most its last 500 keys; audit U102), and keeps, for each such
    /// key not in <see cref="MessageKeys"/>, the tombstone this returns for it (<see langword="null"/>: none), in the
    /// erasing transaction: the keyed hash under which the key is still refused (the store cannot make it). With each
    /// such key it forgets the processed ids of the message's outcome events, <c>{key}:sent</c>, <c>{key}:failed</c> and
    /// <c>{key}:cancelled</c> (the ids the engine gives them; <see cref="EventIds"/> names those of the keys it names).
    /// Keys recorded before the store kept their profile have none and stay. <see langword="null"/> (the default): only
    /// <see cref="MessageKeys"/> and journey keys are forgotten.
    /// </summary>
    public Func<string, Tombstone?>? MessageKeyTombstone { get; init; }
}

/// <summary>What an erasure leaves of one identifier or event id: its keyed hash, never the value.</summary>
/// <param name="Hash">The keyed hash (lowercase hex of an HMAC-SHA256).</param>
/// <param name="ErasedAt">When the erasure ran (UTC).</param>
/// <param name="AllowsReturn">
/// Whether events dated after <paramref name="ErasedAt"/> are accepted again (the host erased with
/// <c>EraseOptions.AllowReturn</c>); when <see langword="false"/> every event carrying the hash is refused.
/// </param>
public sealed record Tombstone(string Hash, DateTimeOffset ErasedAt, bool AllowsReturn);

/// <summary>A profile's scheduled wake-up: the instant time alone may change something of it (a segment window, a journey wait).</summary>
/// <param name="ProfileId">The profile.</param>
/// <param name="WakeAt">The instant.</param>
public sealed record ProfileWakeUp(string ProfileId, DateTimeOffset WakeAt);

/// <summary>A stored profile document.</summary>
/// <param name="ProfileId">The profile id.</param>
/// <param name="Version">The version, incremented by each commit (the first commit creates version 1).</param>
/// <param name="Document">The profile as UTF-8 JSON, opaque to the store.</param>
public sealed record StoredProfile(string ProfileId, long Version, byte[] Document)
{
    private readonly byte[]? _document = Document;
    private readonly SharedDocument? _shared;

    // The in-memory store's form: the document shared with the versions before it, made contiguous when asked for.
    internal StoredProfile(string profileId, long version, SharedDocument shared)
        : this(profileId, version, (byte[])null!) => _shared = shared;

    /// <summary>The profile as UTF-8 JSON, opaque to the store.</summary>
    public byte[] Document
    {
        get => _document ?? _shared!.ToArray();
        init => _document = value;
    }

    /// <summary>The document's length in bytes, without making it contiguous.</summary>
    internal int DocumentLength => _document?.Length ?? _shared!.Length;

    /// <summary>The shared form, when the store kept one (the in-memory store) and no contiguous document replaced it.</summary>
    internal SharedDocument? Shared => _document is null ? _shared : null;
}

/// <summary>
/// One atomic change: write a profile document with its wake-up and segment memberships, claim identifiers, absorb merged
/// profiles (their wake-ups and memberships go with them), and mark an event processed.
/// </summary>
public sealed record ProfileCommit
{
    /// <summary>The profile written.</summary>
    public required string ProfileId { get; init; }

    /// <summary>The version the writer read; 0 for a profile that must not exist yet.</summary>
    public required long ExpectedVersion { get; init; }

    private byte[]? _document;
    private readonly SharedDocument? _shared;

    /// <summary>A commit; every <see langword="required"/> member must be set.</summary>
    public ProfileCommit()
    {
    }

    // The engine's form for the in-memory store: the document shared with the versions before it (see SharedDocument);
    // Document, when a store (or a decorator of it) asks, is made contiguous then.
#pragma warning disable CS8618 // the engine's initialiser sets ProfileId; Document comes from the shared form
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    internal ProfileCommit(SharedDocument? shared) => _shared = shared;
#pragma warning restore CS8618

    /// <summary>The new document: the profile as UTF-8 JSON, opaque to the store.</summary>
    public required byte[] Document
    {
        get => _document ?? _shared?.ToArray() ?? throw new InvalidOperationException("The commit has no document.");
        init => _document = value;
    }

    /// <summary>The shared form of the document, when the engine made one and no contiguous document replaced it.</summary>
    internal SharedDocument? Shared => _document is null ? _shared : null;

    /// <summary>The document's length in bytes, without making it contiguous.</summary>
    internal int DocumentLength => _document?.Length ?? _shared?.Length ?? 0;

    /// <summary>Identifiers to point at <see cref="ProfileId"/>, each with the owner the writer saw.</summary>
    public IReadOnlyList<IdentifierClaim> Claims { get; init; } = [];

    /// <summary>Profiles merged into <see cref="ProfileId"/>: deleted, their ids aliased to it.</summary>
    public IReadOnlyList<AbsorbedProfile> Absorbed { get; init; } = [];

    /// <summary>The event this commit applies, remembered for de-duplication; <see langword="null"/> when none.</summary>
    public string? EventId { get; init; }

    /// <summary>
    /// Further events this commit applies after <see cref="EventId"/> (a run of one profile's events, written once), each
    /// checked and remembered like it. Empty unless the store declares <see cref="IOmnichannelStore.CommitsFurtherEventIds"/>.
    /// </summary>
    public IReadOnlyList<string> FurtherEventIds { get; init; } = [];

    /// <summary>Processing time, kept with the event id for retention.</summary>
    public DateTimeOffset ProcessedAt { get; init; }

    /// <summary>The profile's next wake-up after this commit (replaces the previous one); <see langword="null"/> for none.</summary>
    public DateTimeOffset? WakeAt { get; init; }

    /// <summary>The ids of the segments the profile is a member of after this commit (replaces the previous set).</summary>
    public IReadOnlyCollection<string> Segments { get; init; } = [];

    /// <summary>
    /// Messages to enqueue with this commit. An entry whose key the store already knows (pending or sent, for this profile
    /// or another) refuses the whole commit with <see cref="CommitStatus.MessageKeyTaken"/>: a message key is accepted once,
    /// ever, and a message that will not be sent is never reported as queued.
    /// </summary>
    public IReadOnlyList<OutboxEntry> Outbox { get; init; } = [];

    /// <summary>
    /// Measurement aggregates to change with this commit: each delta's count and sum are added to its key's row (created
    /// at zero when absent). Written only when the commit is; a refused commit changes no aggregate. Keys may repeat (they
    /// add up); writers send them in <see cref="Measurement.MeasurementKey.Order"/> so concurrent commits lock rows in one order.
    /// </summary>
    public IReadOnlyList<Measurement.MeasurementDelta> Measurements { get; init; } = [];
}

/// <summary>Point an identifier at the committed profile.</summary>
/// <param name="Identifier">The normalised identifier.</param>
/// <param name="ExpectedOwner">The profile that holds it now as the writer saw it, or <see langword="null"/> when none did.</param>
public sealed record IdentifierClaim(Identifier Identifier, string? ExpectedOwner);

/// <summary>A profile merged into the committed one.</summary>
/// <param name="ProfileId">The merged profile.</param>
/// <param name="ExpectedVersion">The version the writer read.</param>
public sealed record AbsorbedProfile(string ProfileId, long ExpectedVersion);

/// <summary>The outcome of a commit.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<CommitStatus>))]
public enum CommitStatus
{
    /// <summary>Everything was written.</summary>
    Committed,

    /// <summary>An expectation failed (a version or an identifier owner changed); nothing was written. Reload and retry.</summary>
    Conflict,

    /// <summary>The event id was already processed; nothing was written.</summary>
    DuplicateEvent,

    /// <summary>
    /// An outbox entry's message key was already accepted (for this profile or another: a key is accepted once, ever);
    /// nothing was written. Retrying does not help.
    /// </summary>
    MessageKeyTaken,
}

/// <summary>The outcome of a commit and the profile's new version.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Version">The new version when committed.</param>
public readonly record struct CommitResult(CommitStatus Status, long Version);
