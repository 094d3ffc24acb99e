using System.Collections.Concurrent;
using System.Text;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Several processes share one outbox: claims with FOR UPDATE SKIP LOCKED never hand a row to two of them.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class OutboxConcurrencyTests(PostgreSqlServer server)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ClaimOutbox_FromTwoStoresOnOneDatabase_NeverHandsTheSameEntryToBoth()
    {
        var connectionString = await server.DatabaseAsync("outbox_two_stores");
        await using var first = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await using var second = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        for (var p = 0; p < 20; p++)
        {
            var result = await first.CommitAsync(new ProfileCommit
            {
                ProfileId = $"p{p:D2}",
                ExpectedVersion = 0,
                Document = [1],
                Outbox = [.. Enumerable.Range(0, 10).Select(i => new OutboxEntry
                {
                    MessageKey = $"p{p:D2}-m{i}",
                    ProfileId = $"p{p:D2}",
                    DueAt = T0.AddSeconds(i),
                    Payload = Encoding.UTF8.GetBytes($"message {p}/{i}"),
                })],
            });
            Assert.Equal(CommitStatus.Committed, result.Status);
        }

        var claims = new ConcurrentBag<(string Claimer, string Key)>();

        // Four claimers per store, in small pages, until the outbox has nothing free left.
        async Task DrainAsync(PostgreSqlOmnichannelStore store, string name)
        {
            while (true)
            {
                var page = await store.ClaimOutboxAsync(T0.AddMinutes(1), TimeSpan.FromHours(1), 3);
                if (page.Count == 0)
                {
                    return;
                }

                foreach (var entry in page)
                {
                    Assert.Equal(1, entry.Attempt);
                    claims.Add((name, entry.MessageKey));
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => DrainAsync(i % 2 == 0 ? first : second, $"claimer{i}"))));

        var keys = claims.Select(c => c.Key).ToList();
        Assert.Equal(200, keys.Count);
        Assert.Equal(200, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.True(claims.Select(c => c.Claimer).Distinct().Count() > 1, "every row went to one claimer: the claims did not run side by side");
        Assert.Equal(T0.AddMinutes(1).AddHours(1), await second.GetNextOutboxDueAsync());
    }

    [Fact]
    public async Task CompleteOutbox_WithAnAttemptLostToAnotherStore_IsRefused()
    {
        var connectionString = await server.DatabaseAsync("outbox_fencing");
        await using var first = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await using var second = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await first.CommitAsync(new ProfileCommit
        {
            ProfileId = "p1",
            ExpectedVersion = 0,
            Document = [1],
            Outbox = [new OutboxEntry { MessageKey = "k1", ProfileId = "p1", DueAt = T0, Payload = [42] }],
        });

        var lost = Assert.Single(await first.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        var taken = Assert.Single(await second.ClaimOutboxAsync(T0.AddMinutes(2), TimeSpan.FromMinutes(1), 10));

        Assert.Equal(2, taken.Attempt);
        Assert.False(await first.CompleteOutboxAsync("k1", lost.Attempt));
        Assert.False(await first.RescheduleOutboxAsync("k1", lost.Attempt, T0.AddHours(1)));
        Assert.True(await second.CompleteOutboxAsync("k1", taken.Attempt));
        Assert.Null(await first.GetNextOutboxDueAsync());
    }
}
