using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing.Tests.ConformanceKit;

/// <summary>
/// A store over the in-memory one whose calls a mutant may replace, one at a time: each replacement breaks (or, for the
/// legitimate variants, merely changes) one rule of the contract. Calls not replaced go to the inner store.
/// </summary>
internal sealed class BrokenStore(IOmnichannelStore inner) : IOmnichannelStore
{
    public IOmnichannelStore Inner { get; } = inner;

    public Func<ProfileCommit, ValueTask<CommitResult>>? Commit { get; init; }

    public Func<string, ValueTask<StoredProfile?>>? Load { get; init; }

    public Func<IReadOnlyList<Identifier>, ValueTask<IReadOnlyDictionary<Identifier, string>>>? Resolve { get; init; }

    public Func<ProfileErasure, ValueTask<bool>>? Erase { get; init; }

    public Func<DateTimeOffset, int, ValueTask<IReadOnlyList<ProfileWakeUp>>>? DueProfiles { get; init; }

    public Func<DateTimeOffset, TimeSpan, int, ValueTask<IReadOnlyList<OutboxEntry>>>? Claim { get; init; }

    public Func<string, int, ValueTask<bool>>? Complete { get; init; }

    public Func<string, int, DateTimeOffset, ValueTask<bool>>? Reschedule { get; init; }

    public Func<string, DateTimeOffset, ValueTask<bool>>? Advance { get; init; }

    public Func<DateTimeOffset, ValueTask<int>>? Purge { get; init; }

    public Func<string?, int, ValueTask<IReadOnlyList<string>>>? ListIds { get; init; }

    public Func<IReadOnlyCollection<string>, ValueTask<IReadOnlyList<Tombstone>>>? Tombstones { get; init; }

    public Func<ValueTask<DateTimeOffset?>>? NextOutboxDue { get; init; }

    public bool? FurtherEventIds { get; init; }

    public bool CommitsFurtherEventIds => FurtherEventIds ?? Inner.CommitsFurtherEventIds;

    public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default) =>
        Load?.Invoke(profileId) ?? Inner.LoadProfileAsync(profileId, cancellationToken);

    public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default) =>
        Inner.ResolveProfileIdAsync(profileId, cancellationToken);

    public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default) =>
        Resolve?.Invoke(identifiers) ?? Inner.ResolveIdentifiersAsync(identifiers, cancellationToken);

    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default) =>
        Inner.IsEventProcessedAsync(eventId, cancellationToken);

    public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default) =>
        Commit?.Invoke(commit) ?? Inner.CommitAsync(commit, cancellationToken);

    public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default) =>
        Erase?.Invoke(erasure) ?? Inner.EraseProfileAsync(erasure, cancellationToken);

    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default) =>
        Inner.IsSuppressedAsync(hash, cancellationToken);

    public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) =>
        Tombstones?.Invoke(hashes) ?? Inner.FindTombstonesAsync(hashes, cancellationToken);

    public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) =>
        Inner.LiftErasureAsync(hashes, cancellationToken);

    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) =>
        Purge?.Invoke(processedBefore) ?? Inner.PurgeProcessedEventsAsync(processedBefore, cancellationToken);

    public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default) =>
        ListIds?.Invoke(afterProfileId, limit) ?? Inner.ListProfileIdsAsync(afterProfileId, limit, cancellationToken);

    public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default) =>
        DueProfiles?.Invoke(dueBy, limit) ?? Inner.GetDueProfilesAsync(dueBy, limit, cancellationToken);

    public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default) =>
        Inner.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken);

    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) =>
        Claim?.Invoke(now, lease, limit) ?? Inner.ClaimOutboxAsync(now, lease, limit, cancellationToken);

    public ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) =>
        Inner.SuppressAsync(hashes, cancellationToken);

    // Claims limited to channels go to the inner store: the mutants and variants change the unlimited claim only.
    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default) =>
        channels is null ? ClaimOutboxAsync(now, lease, limit, cancellationToken) : Inner.ClaimOutboxAsync(now, lease, limit, channels, cancellationToken);

    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(IReadOnlyCollection<string>? channels, CancellationToken cancellationToken = default) =>
        channels is null ? GetNextOutboxDueAsync(cancellationToken) : Inner.GetNextOutboxDueAsync(channels, cancellationToken);

    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default) =>
        Complete?.Invoke(messageKey, attempt) ?? Inner.CompleteOutboxAsync(messageKey, attempt, cancellationToken);

    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default) =>
        Reschedule?.Invoke(messageKey, attempt, dueAt) ?? Inner.RescheduleOutboxAsync(messageKey, attempt, dueAt, cancellationToken);

    public ValueTask<bool> AdvanceOutboxAsync(string messageKey, DateTimeOffset dueAt, CancellationToken cancellationToken = default) =>
        Advance?.Invoke(messageKey, dueAt) ?? Inner.AdvanceOutboxAsync(messageKey, dueAt, cancellationToken);

    public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) =>
        NextOutboxDue?.Invoke() ?? Inner.GetNextOutboxDueAsync(cancellationToken);

    public ValueTask<IReadOnlyList<MeasurementRow>> GetMeasurementsAsync(MeasurementQuery query, CancellationToken cancellationToken = default) =>
        Inner.GetMeasurementsAsync(query, cancellationToken);
}
