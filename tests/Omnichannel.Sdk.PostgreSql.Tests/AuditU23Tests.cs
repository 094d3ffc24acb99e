using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit U23: bug classes from public reports of Npgsql and the PostgreSQL stores built on it (Marten, Hangfire.PostgreSql, Quartz, EF Core).</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU23Tests(PostgreSqlServer server)
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("Multiplexing=true")]
    [InlineData("Pooling=false")]
    [InlineData("No Reset On Close=false;Max Auto Prepare=0")]
    public async Task ConnectionStringModesUsersSet_OpenTheStore_AndEveryEventIsStored(string extra)
    {
        // npgsql/npgsql: multiplexing refuses synchronous I/O ("Synchronous command execution is not supported when
        // multiplexing is on"), Pooling=false opens a session per command, and reset/prepare settings change what a
        // pooled session keeps. Whatever mode the application's connection string chose, the store opens and stores.
        var name = "auditu23_mode_" + (uint)extra.GetHashCode(StringComparison.Ordinal);
        var connectionString = await server.DatabaseAsync(name) + ";" + extra;
        await using var sp = Build(connectionString, partitions: 4);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var people = Enumerable.Range(0, 8).Select(i => Identifier.Email($"m{i}@example.com")).ToList();

        var results = await client.TrackBatchAsync(Enumerable.Range(0, 40).Select(i => Event($"e{i}", people[i % people.Count]))).WaitAsync(Guard);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event("e0", people[0])).AsTask().WaitAsync(Guard)).Status);
        foreach (var p in people)
        {
            Assert.Equal(5, (await client.GetProfileAsync(p).AsTask().WaitAsync(Guard))!.Timeline.Count);
        }
    }

    [Fact]
    public async Task ASearchPathNamingAnotherSchemaWithSameNamedTablesFirst_DoesNotRedirectTheStore()
    {
        // EF Core/Npgsql and Quartz reports of tables resolved through a search_path a DBA set (ALTER DATABASE/ROLE) or
        // the connection string's Search Path: another schema with tables of the same names must not receive the writes.
        var admin = await server.DatabaseAsync("auditu23_search_path");
        var database = new NpgsqlConnectionStringBuilder(admin).Database!;
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await Execute(connection, "CREATE SCHEMA decoy; CREATE TABLE decoy.profiles (id text); CREATE TABLE decoy.identifiers (type text, value text); " +
                                      "CREATE TABLE decoy.schema_version (version int); INSERT INTO decoy.schema_version VALUES (999)");
            await Execute(connection, $"ALTER DATABASE \"{database}\" SET search_path = decoy, public");
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { SearchPath = "decoy,public", Options = "-c search_path=decoy" }.ConnectionString;
        await using (var sp = Build(connectionString))
        {
            var client = sp.GetRequiredService<IOmnichannelClient>();
            var ann = Identifier.Email("ann@example.com");
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("s1", ann)).AsTask().WaitAsync(Guard)).Status);
            Assert.Equal(["s1"], (await client.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId));
        }

        await using var check = new NpgsqlConnection(admin);
        await check.OpenAsync();
        Assert.Equal(0L, await Scalar(check, "SELECT count(*) FROM decoy.profiles"));
        Assert.Equal(1L, await Scalar(check, "SELECT count(*) FROM omnichannel.profiles"));
    }

    [Fact]
    public async Task TwoStoresInTwoSchemasOfOneDatabase_AreIndependent()
    {
        // Hangfire.PostgreSql/Quartz: two applications (or environments) sharing one database with a schema each. Migrations,
        // the advisory lock, the functions and every row stay in their own schema.
        var connectionString = await server.DatabaseAsync("auditu23_two_schemas");
        await using var a = Build(connectionString, schema: "shop_a");
        await using var b = Build(connectionString, schema: "shop_b");
        var clientA = a.GetRequiredService<IOmnichannelClient>();
        var clientB = b.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        var bob = Identifier.Email("bob@example.com");

        Assert.Equal(TrackStatus.Accepted, (await clientA.TrackAsync(Event("x1", ann)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(TrackStatus.Accepted, (await clientB.TrackAsync(Event("x1", bob)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(TrackStatus.Accepted, (await clientB.TrackAsync(Event("x2", ann)).AsTask().WaitAsync(Guard)).Status);

        Assert.Equal(["x1"], (await clientA.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId));
        Assert.Null(await clientA.GetProfileAsync(bob));
        Assert.Equal(["x2"], (await clientB.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId));
        Assert.Equal(["x1"], (await clientB.GetProfileAsync(bob))!.Timeline.Select(t => t.EventId));
    }

    [Fact]
    public async Task AStatementTimeoutSetOnTheDatabase_FailsTheBlockedEventAsTransient_AndItsRetryIsStoredOnce()
    {
        // A DBA's ALTER DATABASE … SET statement_timeout (Hangfire.PostgreSql, Marten: 57014 "canceling statement due to
        // statement timeout" surfacing as a crash or a silent loss): the event whose row is held is never acknowledged,
        // fails as transient, its neighbours are stored, and once the lock is gone the retry is stored once.
        var admin = await server.DatabaseAsync("auditu23_statement_timeout");
        var database = new NpgsqlConnectionStringBuilder(admin).Database!;
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await Execute(connection, $"ALTER DATABASE \"{database}\" SET statement_timeout = '300ms'");
        }

        await using var sp = Build(admin);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        var bob = Identifier.Email("bob@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("t1", ann))).Status);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("t2", bob))).Status);
        var annId = (await client.GetProfileAsync(ann))!.Id;

        await using (var holder = new NpgsqlConnection(admin + ";Options=-c statement_timeout=0"))
        {
            await holder.OpenAsync();
            await using var tx = await holder.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM omnichannel.profiles WHERE id = $1 FOR UPDATE", holder, tx))
            {
                lockRow.Parameters.AddWithValue(annId);
                await lockRow.ExecuteNonQueryAsync();
            }

            var results = await client.TrackBatchAsync([Event("b1", bob), Event("a1", ann)]).WaitAsync(Guard);
            Assert.Equal(TrackStatus.Accepted, results[0].Status);
            Assert.Equal(TrackStatus.StoreFailed, results[1].Status);
            Assert.True(results[1].IsTransient);
            await tx.RollbackAsync();
        }

        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("a1", ann)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(Event("a1", ann)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(["a1", "t1"], (await client.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
        Assert.Equal(["b1", "t2"], (await client.GetProfileAsync(bob))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ACommandTimeoutPassedOnABlockedCommit_IsTransient_AndThePoolStillWorks()
    {
        // npgsql/npgsql: a command timeout cancels the command and may break the connector ("Exception while reading from
        // stream"); the broken session must not be reused, and the commit must not be acknowledged.
        var admin = await server.DatabaseAsync("auditu23_command_timeout");
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { CommandTimeout = 1, MaxPoolSize = 2 }.ConnectionString;
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("c1", ann))).Status);
        var annId = (await client.GetProfileAsync(ann))!.Id;

        await using (var holder = new NpgsqlConnection(admin))
        {
            await holder.OpenAsync();
            await using var tx = await holder.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM omnichannel.profiles WHERE id = $1 FOR UPDATE", holder, tx))
            {
                lockRow.Parameters.AddWithValue(annId);
                await lockRow.ExecuteNonQueryAsync();
            }

            var blocked = await client.TrackAsync(Event("c2", ann)).AsTask().WaitAsync(Guard);
            Assert.Equal(TrackStatus.StoreFailed, blocked.Status);
            Assert.True(blocked.IsTransient);
            await tx.RollbackAsync();
        }

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event($"d{i}", ann)).AsTask().WaitAsync(Guard)).Status);
        }

        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("c2", ann)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(["c1", "c2", "d0", "d1", "d2", "d3"], (await client.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task APoolExhaustedPastItsTimeout_FailsTheWaitingReadClearly_AndTheStoreRecovers()
    {
        // npgsql/npgsql "The connection pool has been exhausted, either raise 'Max Pool Size' … or 'Timeout'": with the only
        // connection held by a blocked commit, a read waiting for the pool fails after Timeout (not a hang), and once the
        // commit completes the store serves both again without a restart.
        var admin = await server.DatabaseAsync("auditu23_pool_exhausted");
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { MaxPoolSize = 1, Timeout = 1 }.ConnectionString;
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        var bob = Identifier.Email("bob@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("p1", ann))).Status);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("p2", bob))).Status);
        var annId = (await client.GetProfileAsync(ann))!.Id;

        await using (var holder = new NpgsqlConnection(admin))
        {
            await holder.OpenAsync();
            await using var tx = await holder.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM omnichannel.profiles WHERE id = $1 FOR UPDATE", holder, tx))
            {
                lockRow.Parameters.AddWithValue(annId);
                await lockRow.ExecuteNonQueryAsync();
            }

            var blocked = client.TrackAsync(Event("p3", ann)).AsTask();
            await using (var probe = new NpgsqlConnection(admin))
            {
                await probe.OpenAsync();
                while (await ScalarInt(probe, "SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") == 0)
                {
                    await Task.Yield();
                }
            }

            var error = await Assert.ThrowsAnyAsync<Exception>(() => client.GetProfileAsync(bob).AsTask().WaitAsync(Guard));
            Assert.Contains("pool", error.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.False(blocked.IsCompleted);
            await tx.RollbackAsync();
            Assert.Equal(TrackStatus.Accepted, (await blocked.WaitAsync(Guard)).Status);
        }

        Assert.Equal(["p2"], (await client.GetProfileAsync(bob).AsTask().WaitAsync(Guard))!.Timeline.Select(t => t.EventId));
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("p4", bob)).AsTask().WaitAsync(Guard)).Status);
        Assert.Equal(["p1", "p3"], (await client.GetProfileAsync(ann))!.Timeline.Select(t => t.EventId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AProfileDocumentOfSeveralMegabytes_IsStoredOutOfLine_AndReadBackWhole()
    {
        // Marten/EF Core reports of large jsonb/bytea documents (TOAST, compression, the 1 GB field limit far away):
        // a profile that grew past a megabyte round-trips byte for byte, and later commits still apply to it.
        var connectionString = await server.DatabaseAsync("auditu23_large_document");
        await using var sp = Build(connectionString);
        var client = sp.GetRequiredService<IOmnichannelClient>();
        var ann = Identifier.Email("ann@example.com");
        var random = new Random(23);
        var blobs = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            // Incompressible text, so the document stays large after TOAST's compression.
            var blob = Convert.ToBase64String(Enumerable.Range(0, 22_000).Select(_ => (byte)random.Next(256)).ToArray());
            blobs.Add(blob);
            var traits = new System.Text.Json.Nodes.JsonObject { [$"t{i}"] = blob };
            var result = await client.TrackAsync(Event($"big{i}", ann) with { Traits = JsonSerializer.SerializeToElement(traits) }).AsTask().WaitAsync(Guard);
            Assert.Equal(TrackStatus.Accepted, result.Status);
        }

        await using (var check = new NpgsqlConnection(connectionString))
        {
            await check.OpenAsync();
            Assert.True(await Scalar(check, "SELECT max(octet_length(document))::bigint FROM omnichannel.profiles") > 1_000_000L);
        }

        var profile = (await client.GetProfileAsync(ann))!;
        Assert.Equal(60, profile.Timeline.Count(t => t.EventId.StartsWith("big", StringComparison.Ordinal)));
        for (var i = 0; i < blobs.Count; i++)
        {
            Assert.Equal(blobs[i], profile.Traits[$"t{i}"]!.GetValue<string>());
        }
    }

    [Fact]
    public Task ManyClaimersOnALargeOutbox_EachGetAtMostItsLimit_NoEntryTwice_AndLargePayloadsWhole() => ManyClaimers("auditu23_many_claims", null);

    [Theory]
    [InlineData("repeatable read")]
    [InlineData("serializable")]
    public Task ADefaultIsolationLevelSetOnTheDatabase_DoesNotFailConcurrentClaims(string isolation) =>
        // A DBA's ALTER DATABASE … SET default_transaction_isolation (Hangfire.PostgreSql and Quartz assume READ COMMITTED;
        // under REPEATABLE READ a SKIP LOCKED claim racing another fails with 40001 "could not serialize access").
        ManyClaimers("auditu23_isolation_" + isolation.Replace(' ', '_'), isolation);

    private async Task ManyClaimers(string name, string? isolation)
    {
        // Hangfire.PostgreSql/Quartz/graphile-worker reports of SKIP LOCKED queues: a claimer receiving more rows than its
        // LIMIT (the subquery re-run under a semi-join), a row leased twice, and large payloads (TOAST) cut short.
        var connectionString = await server.DatabaseAsync(name);
        if (isolation is not null)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await Execute(connection, $"ALTER DATABASE \"{new NpgsqlConnectionStringBuilder(connectionString).Database}\" SET default_transaction_isolation = '{isolation}'");
        }

        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        var random = new Random(23);
        var big = Enumerable.Range(0, 12).Select(_ => { var b = new byte[1_500_000]; random.NextBytes(b); return b; }).ToList();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await Execute(connection, "INSERT INTO omnichannel.outbox (message_key, profile_id, due_at, payload, attempt) " +
                                      "SELECT 'k' || lpad(i::text, 5, '0'), 'p' || (i % 50), i % 97, convert_to('payload ' || i, 'UTF8'), 0 FROM generate_series(0, 2999) AS i");
            for (var i = 0; i < big.Count; i++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO omnichannel.outbox (message_key, profile_id, due_at, payload, attempt) VALUES ($1, 'big', $2, $3, 0)", connection);
                insert.Parameters.AddWithValue($"big{i:00}");
                insert.Parameters.AddWithValue((long)i);
                insert.Parameters.AddWithValue(big[i]);
                await insert.ExecuteNonQueryAsync();
            }
        }

        var now = new DateTimeOffset(1000, TimeSpan.Zero);
        var claimed = new System.Collections.Concurrent.ConcurrentBag<OutboxEntry>();
        var overLimit = 0;
        async Task ClaimUntilEmpty(int limit)
        {
            while (true)
            {
                var batch = await store.ClaimOutboxAsync(now, TimeSpan.FromHours(1), limit);
                if (batch.Count > limit)
                {
                    Interlocked.Increment(ref overLimit);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                foreach (var entry in batch)
                {
                    claimed.Add(entry);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => ClaimUntilEmpty(7 + (i * 13))))).WaitAsync(Guard);

        Assert.Equal(0, overLimit);
        Assert.Equal(3012, claimed.Count);
        Assert.Equal(3012, claimed.Select(e => e.MessageKey).Distinct(StringComparer.Ordinal).Count());
        Assert.All(claimed, e => Assert.Equal(1, e.Attempt));
        foreach (var entry in claimed.Where(e => e.ProfileId == "big"))
        {
            Assert.Equal(big[int.Parse(entry.MessageKey.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture)], entry.Payload);
        }

        Assert.Empty(await store.ClaimOutboxAsync(now, TimeSpan.FromHours(1), int.MaxValue));
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<int> ScalarInt(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private ServiceProvider Build(string connectionString, int partitions = 2, string schema = "omnichannel")
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = partitions;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        }).UsePostgreSqlStore(connectionString, o => o.Schema = schema);
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = EventTypes.ProductViewed,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
    };
}
