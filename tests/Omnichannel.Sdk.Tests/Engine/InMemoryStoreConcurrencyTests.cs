using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// The in-memory store runs commits that share no profile, identifier or event id in parallel. These races start many
/// commits that do share one at the same moment, on real threads, and check that exactly one of them wins.
/// </summary>
public sealed class InMemoryStoreConcurrencyTests
{
    private const int Racers = 8;

    [Fact]
    public async Task CommitsClaimingOneIdentifier_ExactlyOneOwnsIt()
    {
        for (var round = 0; round < 200; round++)
        {
            var store = new InMemoryOmnichannelStore();
            var email = Identifier.Email($"r{round}@x.io");
            var results = await RaceAsync(i => store.CommitAsync(Commit($"p{round}-{i}", 0, $"e{round}-{i}") with { Claims = [new IdentifierClaim(email, null)] }));

            Assert.Single(results, r => r.Status == CommitStatus.Committed);
            var owner = (await store.ResolveIdentifiersAsync([email]))[email];
            Assert.NotNull(await store.LoadProfileAsync(owner));
        }
    }

    [Fact]
    public async Task CommitsOfOneEventIdOnDifferentProfiles_ExactlyOneApplies()
    {
        for (var round = 0; round < 200; round++)
        {
            var store = new InMemoryOmnichannelStore();
            var results = await RaceAsync(i => store.CommitAsync(Commit($"p{round}-{i}", 0, $"same-{round}")));

            Assert.Single(results, r => r.Status == CommitStatus.Committed);
            Assert.Equal(Racers - 1, results.Count(r => r.Status == CommitStatus.DuplicateEvent));
            Assert.Equal(1, store.ProfileCount);
        }
    }

    [Fact]
    public async Task CommitsAbsorbingOneProfile_ExactlyOneAbsorbsIt_AndItsAliasPointsThere()
    {
        for (var round = 0; round < 200; round++)
        {
            var store = new InMemoryOmnichannelStore();
            var victim = $"v{round}";
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(victim, 0, $"seed-{round}"))).Status);

            var results = await RaceAsync(i => store.CommitAsync(Commit($"p{round}-{i}", 0, $"e{round}-{i}") with { Absorbed = [new AbsorbedProfile(victim, 1)] }));

            var winner = Assert.Single(Enumerable.Range(0, Racers), i => results[i].Status == CommitStatus.Committed);
            Assert.Null(await store.LoadProfileAsync(victim));
            Assert.Equal($"p{round}-{winner}", await store.ResolveProfileIdAsync(victim));
        }
    }

    [Fact]
    public async Task CommitsOfOneProfileAtOneVersion_ExactlyOneWins_AndDisjointOnesAllCommit()
    {
        var store = new InMemoryOmnichannelStore();
        for (var round = 0; round < 200; round++)
        {
            var id = $"shared-{round}";
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(Commit(id, 0, $"seed-{round}"))).Status);

            var results = await RaceAsync(i => i % 2 == 0
                ? store.CommitAsync(Commit(id, 1, $"e{round}-{i}"))
                : store.CommitAsync(Commit($"own-{round}-{i}", 0, $"o{round}-{i}")));

            Assert.Single(Enumerable.Range(0, Racers), i => i % 2 == 0 && results[i].Status == CommitStatus.Committed);
            Assert.All(Enumerable.Range(0, Racers).Where(i => i % 2 == 1), i => Assert.Equal(CommitStatus.Committed, results[i].Status));
            Assert.Equal(2, (await store.LoadProfileAsync(id))!.Version);
        }
    }

    [Fact]
    public async Task MeasurementsAddedInParallel_SumExactly()
    {
        var store = new InMemoryOmnichannelStore();
        var key = new Omnichannel.Sdk.Measurement.MeasurementKey("j1", "s1", "v1", "email", "", new DateOnly(2026, 1, 1), "conversions");
        await RaceAsync(i => store.CommitAsync(Commit($"m{i}", 0, $"m{i}") with { Measurements = [.. Enumerable.Repeat(new Omnichannel.Sdk.Measurement.MeasurementDelta(key, 1, 2.5), 100)] }));

        var row = Assert.Single(await store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { JourneyId = "j1" }));
        Assert.Equal(Racers * 100, row.Count);
        Assert.Equal(Racers * 250.0, row.Sum);
    }

    private static ProfileCommit Commit(string profileId, long expectedVersion, string eventId) => new()
    {
        ProfileId = profileId,
        ExpectedVersion = expectedVersion,
        Document = [(byte)'{', (byte)'}'],
        EventId = eventId,
        ProcessedAt = DateTimeOffset.UnixEpoch,
    };

    // Every racer waits at a barrier on its own thread, then commits: they reach the store together.
    private static async Task<CommitResult[]> RaceAsync(Func<int, ValueTask<CommitResult>> commit)
    {
        using var barrier = new Barrier(Racers);
        var racers = Enumerable.Range(0, Racers).Select(i => Task.Factory.StartNew(
            () =>
            {
                barrier.SignalAndWait();
                return commit(i).AsTask().GetAwaiter().GetResult();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default));
        return await Task.WhenAll(racers);
    }
}
