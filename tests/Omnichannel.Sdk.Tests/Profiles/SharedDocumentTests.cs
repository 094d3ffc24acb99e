using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// The in-memory store keeps each profile's document sharing its unchanged elements with the version before
/// (<see cref="SharedDocument"/>). Whoever reads it — the engine on a cold cache, a host, a store decorator — must get byte
/// for byte the document a contiguous write gives.
/// </summary>
public sealed class SharedDocumentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    private static IEnumerable<CustomerEvent> Views(string customer, int count, int from = 0) => Enumerable.Range(from, count).Select(i => new CustomerEvent
    {
        Id = $"{customer}-view-{i}",
        Type = "product.viewed",
        Timestamp = T0.AddMinutes(i),
        Identifiers = [Identifier.CustomerId(customer)],
        Properties = JsonData.From(new { product_id = $"sku-{i % 7}", note = "Zoë 😺 <b>" }),
    });

    [Fact]
    public async Task TheStoredDocument_IsShared_AndReadsAsTheContiguousOne()
    {
        var store = new InMemoryOmnichannelStore();
        await using (var engine = new OmnichannelEngine(new OmnichannelOptions(), store))
        {
            await engine.TrackBatchAsync(Views("c1", 40));
            foreach (var e in Views("c1", 10, from: 40))
            {
                await engine.TrackAsync(e); // one commit each, on top of shared versions
            }
        }

        var id = (await store.ResolveIdentifiersAsync([Identifier.CustomerId("c1")]))[Identifier.CustomerId("c1")];
        var stored = (await store.LoadProfileAsync(id))!;
        Assert.NotNull(stored.Shared); // 50 timeline entries: kept elements, shared
        var document = stored.Document;
        Assert.Equal(stored.DocumentLength, document.Length);
        var read = ProfileSerializer.Deserialize(stored);
        Assert.Equal(50, read.Timeline.Count);
        Assert.Equal(document, ProfileSerializer.Serialize(read)); // what a contiguous write of the same profile gives
        Assert.Equal(document, stored.Document); // made again on each read, never changed by one

        // A cold engine over the same store reads every entry back, and goes on from there.
        await using var again = new OmnichannelEngine(new OmnichannelOptions(), store);
        Assert.Equal(TrackStatus.Accepted, (await again.TrackAsync(Views("c1", 1, from: 50).Single())).Status);
        var profile = await again.GetProfileAsync(Identifier.CustomerId("c1"));
        Assert.Equal(51, profile!.Timeline.Count);
        Assert.Contains(profile.Timeline, t => t.EventId == "c1-view-0");
    }

    [Fact]
    public async Task AStoreDecorator_GetsTheContiguousDocument()
    {
        var inner = new InMemoryOmnichannelStore();
        var recording = new RecordingStore(inner);
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey; // any store but the in-memory one asks for a key
        await using (var engine = new OmnichannelEngine(options, recording))
        {
            await engine.TrackBatchAsync(Views("c2", 30));
        }

        Assert.NotEmpty(recording.Documents);
        var last = recording.Documents[^1];
        var stored = (await inner.LoadProfileAsync(recording.ProfileIds[^1]))!;
        Assert.Null(stored.Shared); // the decorator is not the in-memory store: the engine wrote bytes
        Assert.Equal(last, stored.Document);
        Assert.Equal(30, ProfileSerializer.Deserialize(last, 1).Timeline.Count);
    }

    [Fact]
    public async Task ACommitGivenADocument_KeepsIt_OverTheSharedForm()
    {
        var p = new CustomerProfile("p1", T0);
        for (var i = 0; i < 20; i++)
        {
            ProfileCore.AddTimeline(p, new TimelineEntry($"e{i}", "page.viewed", "web", T0.AddMinutes(i), null), 50);
        }

        var shared = ProfileSerializer.SerializeShared(p).Shared!;
        var commit = new ProfileCommit(shared) { ProfileId = "p1", ExpectedVersion = 0, Document = null! };
        Assert.Same(shared, commit.Shared);
        Assert.Equal(ProfileSerializer.Serialize(p), commit.Document);

        var replaced = commit with { Document = "{}"u8.ToArray() };
        Assert.Null(replaced.Shared); // a store must write what the host put there
        Assert.Equal("{}"u8.ToArray(), replaced.Document);

        var store = new InMemoryOmnichannelStore();
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(replaced)).Status);
        Assert.Equal("{}"u8.ToArray(), (await store.LoadProfileAsync("p1"))!.Document);
    }

    // Forwards everything to the in-memory store, keeping each commit's document as a durable store would read it.
    private sealed class RecordingStore(InMemoryOmnichannelStore inner) : IOmnichannelStore
    {
        public List<byte[]> Documents { get; } = [];

        public List<string> ProfileIds { get; } = [];

        public bool CommitsFurtherEventIds => inner.CommitsFurtherEventIds;

        public async ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
        {
            var result = await inner.CommitAsync(commit, cancellationToken);
            if (result.Status == CommitStatus.Committed)
            {
                lock (Documents)
                {
                    Documents.Add(commit.Document);
                    ProfileIds.Add(commit.ProfileId);
                }
            }

            return result;
        }

        public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default) => inner.LoadProfileAsync(profileId, cancellationToken);
        public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default) => inner.ResolveProfileIdAsync(profileId, cancellationToken);
        public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default) => inner.ResolveIdentifiersAsync(identifiers, cancellationToken);
        public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default) => inner.IsEventProcessedAsync(eventId, cancellationToken);
        public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default) => inner.EraseProfileAsync(erasure, cancellationToken);
        public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default) => inner.IsSuppressedAsync(hash, cancellationToken);
        public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => inner.FindTombstonesAsync(hashes, cancellationToken);
        public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => inner.LiftErasureAsync(hashes, cancellationToken);
        public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) => inner.PurgeProcessedEventsAsync(processedBefore, cancellationToken);
        public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default) => inner.ListProfileIdsAsync(afterProfileId, limit, cancellationToken);
        public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default) => inner.GetDueProfilesAsync(dueBy, limit, cancellationToken);
        public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default) => inner.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken);
        public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) => inner.ClaimOutboxAsync(now, lease, limit, cancellationToken);
        public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default) => inner.CompleteOutboxAsync(messageKey, attempt, cancellationToken);
        public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default) => inner.RescheduleOutboxAsync(messageKey, attempt, dueAt, cancellationToken);
        public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) => inner.GetNextOutboxDueAsync(cancellationToken);
        public ValueTask<IReadOnlyList<Sdk.Measurement.MeasurementRow>> GetMeasurementsAsync(Sdk.Measurement.MeasurementQuery query, CancellationToken cancellationToken = default) => inner.GetMeasurementsAsync(query, cancellationToken);
    }
}
