using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>Issue 12, parts 1 and 2: erasure removes the person everywhere, and she stays erased.</summary>
public sealed class ErasureTests
{
    private static readonly Identifier Jane = Identifier.Email("jane@example1.com");

    [Fact]
    public async Task Erase_OfTheProfileHoldingAnAddress_LeavesNoTraceOfItInAnotherProfilesConflicts()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("abc123"), Jane]);
        var b = await host.TrackAsync("user.signed_up", [Identifier.CustomerId("abc456"), Jane]);
        var conflict = Assert.Single((await host.ProfileAsync(Identifier.CustomerId("abc456"))).Conflicts);
        Assert.Equal(IdentifierTypes.Email, conflict.IdentifierType);

        Assert.True(await host.Client.EraseProfileAsync(Identifier.CustomerId("abc123")));

        var export = (await host.Client.ExportProfileAsync(Identifier.CustomerId("abc456")))!.ToJsonString();
        Assert.DoesNotContain("jane@example1.com", export, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("abc123", export, StringComparison.Ordinal);
        Assert.Contains(conflict.IdentifierHash, export, StringComparison.Ordinal);
        Assert.DoesNotContain("jane", Encoding.UTF8.GetString((await host.Store.LoadProfileAsync(b.ProfileId!))!.Document), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Erase_RemovesOutboxEntriesWakeUpsAndJourneyInstancesOfThePerson()
    {
        // 22:30: a marketing message waits for the end of quiet hours (08:00) in the outbox; the order journey waits 30 days.
        var start = new DateTimeOffset(2026, 7, 1, 22, 30, 0, TimeSpan.Zero);
        await using var host = OmnichannelTestHost.Create(
            o => o.Journeys.Add(JourneyScenarios.OrderUpdates()),
            start,
            delivery: new DeliverySetup { Renderer = new EmailRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        Identifier[] ann = [Identifier.CustomerId("ann"), Identifier.Email("ann@example.com")];
        await host.TrackAsync("user.signed_up", ann);
        await host.TrackAsync(EventTypes.ConsentChanged, ann, new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.OrderPlaced, ann, new { order_id = "o1", total = 20 });
        var queued = await host.Client.SendAsync(ann[0], new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        var profile = await host.ProfileAsync(ann[0]);
        Assert.NotEmpty(profile.Journeys);
        Assert.Contains(await host.Store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10), w => w.ProfileId == profile.Id);
        Assert.NotNull(await host.Store.GetNextOutboxDueAsync());

        Assert.True(await host.Client.EraseProfileAsync(ann[1]));

        Assert.Null(await host.Store.LoadProfileAsync(profile.Id));
        Assert.DoesNotContain(await host.Store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10), w => w.ProfileId == profile.Id);
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
        await host.AdvanceAsync(TimeSpan.FromDays(31)); // nothing of hers wakes up or is sent
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task Erase_WhileHerEventsAreQueued_NeverRecreatesAProfileHoldingHerIdentifiers()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 4);
        Identifier[] ann = [Identifier.Email("ann@example.com"), Identifier.AnonymousId("cookie-ann")];
        await host.TrackAsync("user.signed_up", ann, traits: new { last_name = "Smith" });

        var inFlight = Enumerable.Range(0, 600)
            .Select(i => host.Client.TrackAsync(host.Event(i % 2 == 0 ? EventTypes.ProductViewed : "user.signed_up", i % 3 == 0 ? [ann[1]] : ann, traits: new { last_name = "Smith" })).AsTask())
            .ToList();
        Assert.True(await host.Client.EraseProfileAsync(ann[0]));
        var results = await Task.WhenAll(inFlight);

        Assert.All(results, r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Erased }));
        Assert.Null(await host.Client.GetProfileAsync(ann[0]));
        Assert.Null(await host.Client.GetProfileAsync(ann[1]));
        Assert.Empty(await host.Store.ResolveIdentifiersAsync(ann));
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task AReplayAfterTheDeduplicationRetention_IsRefusedAsErased_AndBringsNothingBack()
    {
        await using var host = OmnichannelTestHost.Create();
        var order = host.Event(EventTypes.OrderPlaced, [Identifier.Email("ann@example.com"), Identifier.CustomerId("c-1")], new { order_id = "o1", total = 80 }, traits: new { first_name = "Ann" });
        await host.TrackAsync(order);
        Assert.True(await host.Client.EraseProfileAsync(Identifier.CustomerId("c-1")));
        await host.AdvanceAsync(TimeSpan.FromDays(31));
        Assert.True(await host.Engine.PurgeProcessedEventsAsync() >= 0);

        var replay = await host.Client.TrackAsync(order);

        Assert.Equal(TrackStatus.Erased, replay.Status);
        Assert.False(replay.IsAcknowledged);
        Assert.Contains(replay.Errors, e => e.Field == "identifiers" && e.Message.Contains("erased", StringComparison.Ordinal));
        Assert.All(replay.Errors, e => Assert.DoesNotContain("ann@example.com", e.Message, StringComparison.Ordinal));
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task ALaterEvent_WithAnErasedAddress_IsRefused_EvenBesideANewIdentifier()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com")]);
        await host.Client.EraseProfileAsync(Identifier.Email("ann@example.com"));
        await host.AdvanceAsync(TimeSpan.FromDays(2));

        var alone = await host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, [Identifier.Email("ANN@example.com")]));
        var mixed = await host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, [Identifier.Email("ann@example.com"), Identifier.AnonymousId("new-cookie")]));
        var stranger = await host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, [Identifier.Email("bob@example.com")]));

        Assert.Equal(TrackStatus.Erased, alone.Status);
        Assert.Equal(TrackStatus.Erased, mixed.Status);
        Assert.Equal(TrackStatus.Accepted, stranger.Status);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.AnonymousId("new-cookie")));
        Assert.False(new EventRejectedException(alone).IsTransient);
    }

    [Fact]
    public async Task EraseAllowingReturn_RefusesEventsFromBeforeTheErasure_AndAcceptsASignUpAfterIt()
    {
        await using var host = OmnichannelTestHost.Create();
        var before = host.Event(EventTypes.OrderPlaced, [Identifier.Email("ann@example.com")], new { order_id = "o1", total = 80 });
        await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com")]);
        await host.Client.EraseProfileAsync(Identifier.Email("ann@example.com"), new EraseOptions { AllowReturn = true });
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var queuedBefore = await host.Client.TrackAsync(before);
        var signUp = await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.Email("ann@example.com")]));

        Assert.Equal(TrackStatus.Erased, queuedBefore.Status);
        Assert.Contains("dated before", queuedBefore.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(TrackStatus.Accepted, signUp.Status);
        var fresh = await host.ProfileAsync(Identifier.Email("ann@example.com"));
        Assert.Equal(0, fresh.Statistics.OrderCount);
    }

    [Fact]
    public async Task LiftErasure_LetsThePersonBackAndUnsuppressesTheAddress()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com"), Identifier.CustomerId("c-1")]);
        await host.Client.EraseProfileAsync(Identifier.Email("ann@example.com"));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email("ann@example.com")));

        Assert.True(await host.Client.LiftErasureAsync(Identifier.Email(" Ann@Example.com ")));

        Assert.False(await host.Client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.Email("ann@example.com")]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("c-1")]))).Status); // lifted one identifier only
        Assert.False(await host.Client.LiftErasureAsync(Identifier.Email("nobody@example.com")));
    }

    [Fact]
    public async Task SuppressionAndTombstones_AreKeyedHashes_NotABareSha256()
    {
        var store = new InMemoryOmnichannelStore();
        await using (var host = OmnichannelTestHost.Create(store: store))
        {
            await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com")]);
            await host.Client.EraseProfileAsync(Identifier.Email("ann@example.com"));
        }

        var bare = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("email:ann@example.com")));
        var keyed = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(OmnichannelTestHost.TestHashKey), Encoding.UTF8.GetBytes("email:ann@example.com")));
        Assert.False(await store.IsSuppressedAsync(bare));
        Assert.Empty(await store.FindTombstonesAsync([bare]));
        Assert.True(await store.IsSuppressedAsync(keyed));
        Assert.Single(await store.FindTombstonesAsync([keyed]));

        // Under another key the same address is unknown: the hashes cannot be tested without the secret.
        await using var other = OmnichannelTestHost.Create(o => o.Privacy.HashKey = new string('k', 32), store: store);
        Assert.False(await other.Client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
    }

    [Fact]
    public async Task KeyRotation_KeepsOldSuppressionAndTombstonesWorking()
    {
        var store = new InMemoryOmnichannelStore();
        await using (var host = OmnichannelTestHost.Create(o => o.Privacy.HashKey = "old-key-old-key-old-key-old-key-old-key", store: store))
        {
            await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com")]);
            await host.Client.EraseProfileAsync(Identifier.Email("ann@example.com"));
        }

        await using var rotated = OmnichannelTestHost.Create(
            o =>
            {
                o.Privacy.HashKey = "new-key-new-key-new-key-new-key-new-key";
                o.Privacy.PreviousHashKeys.Add("old-key-old-key-old-key-old-key-old-key");
            },
            store: store);

        Assert.True(await rotated.Client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
        Assert.Equal(TrackStatus.Erased, (await rotated.Client.TrackAsync(rotated.Event("user.signed_up", [Identifier.Email("ann@example.com")]) with { Id = "after-rotation" })).Status);
        Assert.True(await rotated.Client.LiftErasureAsync(Identifier.Email("ann@example.com")));
        Assert.False(await rotated.Client.IsSuppressedAsync(Identifier.Email("ann@example.com")));
    }

    [Fact]
    public void TheHashKey_IsRequiredWithADurableStore_AndMustBeLongEnough()
    {
        var missing = Assert.Throws<OptionsValidationException>(() => new OmnichannelEngine(new OmnichannelOptions(), new DurableLookalike()));
        Assert.Contains("Privacy.HashKey is required", missing.Message, StringComparison.Ordinal);

        var shortKey = new OmnichannelOptions();
        shortKey.Privacy.HashKey = "too-short";
        var tooShort = Assert.Throws<OptionsValidationException>(() => new OmnichannelEngine(shortKey, new InMemoryOmnichannelStore()));
        Assert.Contains("at least 32 bytes", tooShort.Message, StringComparison.Ordinal);

        var orphan = new OmnichannelOptions();
        orphan.Privacy.PreviousHashKeys.Add(new string('o', 40));
        Assert.Contains(orphan.Validate(), e => e.Contains("PreviousHashKeys is set but", StringComparison.Ordinal));
    }

    private sealed class EmailRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    /// <summary>A store that is not the in-memory one (as a durable store is not).</summary>
    private sealed class DurableLookalike : IOmnichannelStore
    {
        private readonly InMemoryOmnichannelStore _inner = new();

        public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default) => _inner.LoadProfileAsync(profileId, cancellationToken);

        public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default) => _inner.ResolveProfileIdAsync(profileId, cancellationToken);

        public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default) => _inner.ResolveIdentifiersAsync(identifiers, cancellationToken);

        public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default) => _inner.IsEventProcessedAsync(eventId, cancellationToken);

        public ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default) => _inner.CommitAsync(commit, cancellationToken);

        public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default) => _inner.EraseProfileAsync(erasure, cancellationToken);

        public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default) => _inner.IsSuppressedAsync(hash, cancellationToken);

        public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => _inner.FindTombstonesAsync(hashes, cancellationToken);

        public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => _inner.LiftErasureAsync(hashes, cancellationToken);

        public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) => _inner.PurgeProcessedEventsAsync(processedBefore, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default) => _inner.ListProfileIdsAsync(afterProfileId, limit, cancellationToken);

        public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default) => _inner.GetDueProfilesAsync(dueBy, limit, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default) => _inner.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken);

        public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default) => _inner.ClaimOutboxAsync(now, lease, limit, cancellationToken);

        public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default) => _inner.CompleteOutboxAsync(messageKey, attempt, cancellationToken);

        public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default) => _inner.RescheduleOutboxAsync(messageKey, attempt, dueAt, cancellationToken);

        public ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default) => _inner.GetNextOutboxDueAsync(cancellationToken);

        public ValueTask<IReadOnlyList<Omnichannel.Sdk.Measurement.MeasurementRow>> GetMeasurementsAsync(Omnichannel.Sdk.Measurement.MeasurementQuery query, CancellationToken cancellationToken = default) => _inner.GetMeasurementsAsync(query, cancellationToken);
    }
}
