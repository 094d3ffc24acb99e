using System.Text;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Writers in different processes (two stores, two data sources) on one database: conflicts, never lost updates.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConcurrentCommitTests(PostgreSqlServer server)
{
    [Fact]
    public async Task CommitAsync_ManyWritersOnOneProfile_LoseNoUpdateAndSeeConflicts()
    {
        var connectionString = await server.DatabaseAsync("commit_counter");
        await using var first = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await using var second = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await first.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = Encoding.UTF8.GetBytes("0") });
        var conflicts = 0;

        // Each writer reads, increments a counter in the document and commits against the version it read, retrying on conflict.
        async Task IncrementAsync(PostgreSqlOmnichannelStore store, int writer)
        {
            for (var i = 0; i < 25; i++)
            {
                while (true)
                {
                    var current = (await store.LoadProfileAsync("p1"))!;
                    var next = int.Parse(Encoding.UTF8.GetString(current.Document)) + 1;
                    var result = await store.CommitAsync(new ProfileCommit
                    {
                        ProfileId = "p1",
                        ExpectedVersion = current.Version,
                        Document = Encoding.UTF8.GetBytes(next.ToString()),
                        EventId = $"w{writer}-{i}",
                    });
                    if (result.Status == CommitStatus.Committed)
                    {
                        break;
                    }

                    Assert.Equal(CommitStatus.Conflict, result.Status);
                    Interlocked.Increment(ref conflicts);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() => IncrementAsync(w % 2 == 0 ? first : second, w))));

        var final = (await second.LoadProfileAsync("p1"))!;
        Assert.Equal("200", Encoding.UTF8.GetString(final.Document));
        Assert.Equal(201, final.Version);
        Assert.True(conflicts > 0, "no writer ever conflicted: the writers did not overlap");
    }

    [Fact]
    public async Task CommitAsync_TwoStoresClaimingTheSameNewIdentifier_ExactlyOneWins()
    {
        var connectionString = await server.DatabaseAsync("commit_claim_race");
        await using var first = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await using var second = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });

        for (var round = 0; round < 20; round++)
        {
            var email = Identifier.Email($"ann{round}@example.com");
            var results = await Task.WhenAll(
                Task.Run(async () => await first.CommitAsync(new ProfileCommit { ProfileId = $"a{round}", ExpectedVersion = 0, Document = [1], Claims = [new(email, null)], EventId = $"ea{round}" })),
                Task.Run(async () => await second.CommitAsync(new ProfileCommit { ProfileId = $"b{round}", ExpectedVersion = 0, Document = [2], Claims = [new(email, null)], EventId = $"eb{round}" })));

            Assert.Single(results, r => r.Status == CommitStatus.Committed);
            Assert.Single(results, r => r.Status == CommitStatus.Conflict);
            var winner = results[0].Status == CommitStatus.Committed ? $"a{round}" : $"b{round}";
            var loser = winner.StartsWith('a') ? $"b{round}" : $"a{round}";
            Assert.Equal(winner, (await first.ResolveIdentifiersAsync([email]))[email]);
            Assert.Null(await second.LoadProfileAsync(loser));
            Assert.False(await first.IsEventProcessedAsync("e" + loser));
        }
    }

    [Fact]
    public async Task CommitAsync_TheSameEventThroughTwoStoresAtOnce_IsAppliedOnce()
    {
        var connectionString = await server.DatabaseAsync("commit_event_race");
        await using var first = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await using var second = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });

        for (var round = 0; round < 20; round++)
        {
            var results = await Task.WhenAll(
                Task.Run(async () => await first.CommitAsync(new ProfileCommit { ProfileId = $"a{round}", ExpectedVersion = 0, Document = [1], EventId = $"e{round}" })),
                Task.Run(async () => await second.CommitAsync(new ProfileCommit { ProfileId = $"b{round}", ExpectedVersion = 0, Document = [2], EventId = $"e{round}" })));

            Assert.Single(results, r => r.Status == CommitStatus.Committed);
            Assert.Single(results, r => r.Status == CommitStatus.DuplicateEvent);
        }

        Assert.Equal(20, (await first.ListProfileIdsAsync(null, 100)).Count);
    }
}
