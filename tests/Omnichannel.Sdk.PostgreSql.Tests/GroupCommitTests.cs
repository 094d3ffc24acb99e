using System.Text;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Commits made at the same time share one transaction (group commit), each in its own subtransaction: every commit
/// gets its own answer, and a refused one leaves nothing behind — not its profile, identifiers, event id nor its
/// measurement deltas — while the others of its group stand.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class GroupCommitTests(PostgreSqlServer server)
{
    private static readonly MeasurementKey Orders = new("", "", "", "", "", new DateOnly(2026, 11, 30), "conversion:order");

    [Fact]
    public async Task CommitsQueuedTogether_EachGetTheirOwnAnswer_AndRefusedOnesWriteNothing()
    {
        var connectionString = await server.DatabaseAsync("group_commit");
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        var ann = Identifier.Email("ann@example.com");
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit
        {
            ProfileId = "p1", ExpectedVersion = 0, Document = Bytes("p1 v1"), Claims = [new(ann, null)], EventId = "e0",
        })).Status);

        for (var round = 0; round < 5; round++)
        {
            var version = round + 1;
            ProfileCommit[] commits =
            [
                // Moves p1 on: commits, and its delta counts.
                new() { ProfileId = "p1", ExpectedVersion = version, Document = Bytes($"p1 v{version + 1}"), EventId = $"a{round}", Measurements = [new(Orders, 1, 10)] },

                // Expects the version the first one just replaced: a conflict, and its delta does not count.
                new() { ProfileId = "p1", ExpectedVersion = version, Document = Bytes("lost"), EventId = $"b{round}", Measurements = [new(Orders, 100, 1000)] },

                // An event already processed: a duplicate, and its new profile is not written.
                new() { ProfileId = $"dup{round}", ExpectedVersion = 0, Document = Bytes("dup"), EventId = "e0", Measurements = [new(Orders, 100, 1000)] },

                // Claims an identifier p1 holds, as if it were free: a conflict.
                new() { ProfileId = $"thief{round}", ExpectedVersion = 0, Document = Bytes("thief"), Claims = [new(ann, null)], EventId = $"t{round}" },

                // A new profile with its own identifier: commits.
                new() { ProfileId = $"new{round}", ExpectedVersion = 0, Document = Bytes("new"), Claims = [new(Identifier.Email($"n{round}@example.com"), null)], EventId = $"n{round}", Measurements = [new(Orders, 1, 10)] },
            ];

            // Queued without waiting, so the committer finds them together.
            var pending = commits.Select(c => store.CommitAsync(c).AsTask()).ToArray();
            var results = await Task.WhenAll(pending);

            Assert.Equal([CommitStatus.Committed, CommitStatus.Conflict, CommitStatus.DuplicateEvent, CommitStatus.Conflict, CommitStatus.Committed], results.Select(r => r.Status));
            Assert.Equal(version + 1, results[0].Version);
            Assert.Equal(1, results[4].Version);
            Assert.Equal($"p1 v{version + 1}", Encoding.UTF8.GetString((await store.LoadProfileAsync("p1"))!.Document));
            Assert.Null(await store.LoadProfileAsync($"dup{round}"));
            Assert.Null(await store.LoadProfileAsync($"thief{round}"));
            Assert.False(await store.IsEventProcessedAsync($"b{round}"));
            Assert.False(await store.IsEventProcessedAsync($"t{round}"));
            Assert.True(await store.IsEventProcessedAsync($"n{round}"));
            Assert.Equal("p1", (await store.ResolveIdentifiersAsync([ann]))[ann]);
        }

        var row = Assert.Single(await store.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:" }));
        Assert.Equal(10, row.Count);
        Assert.Equal(100, row.Sum, 9);
    }

    [Fact]
    public async Task ReadsQueuedTogether_EachGetTheirOwnAnswer()
    {
        var connectionString = await server.DatabaseAsync("group_reads");
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        for (var i = 0; i < 20; i += 2)
        {
            await store.CommitAsync(new ProfileCommit { ProfileId = $"p{i}", ExpectedVersion = 0, Document = Bytes($"doc {i}"), Claims = [new(Identifier.CustomerId($"c{i}"), null)], EventId = $"e{i}" });
        }

        var loads = Enumerable.Range(0, 20).Select(i => store.LoadProfileAsync($"p{i}").AsTask()).ToArray();
        var seen = Enumerable.Range(0, 20).Select(i => store.IsEventProcessedAsync($"e{i}").AsTask()).ToArray();
        var owners = Enumerable.Range(0, 20).Select(i => store.ResolveIdentifiersAsync([Identifier.CustomerId($"c{i}")]).AsTask()).ToArray();
        var loaded = await Task.WhenAll(loads);
        var processed = await Task.WhenAll(seen);
        var owned = await Task.WhenAll(owners);

        for (var i = 0; i < 20; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal($"doc {i}", Encoding.UTF8.GetString(loaded[i]!.Document));
                Assert.True(processed[i]);
                Assert.Equal($"p{i}", owned[i][Identifier.CustomerId($"c{i}")]);
            }
            else
            {
                Assert.Null(loaded[i]);
                Assert.False(processed[i]);
                Assert.Empty(owned[i]);
            }
        }
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
