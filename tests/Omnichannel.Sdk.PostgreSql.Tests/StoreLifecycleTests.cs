using Npgsql;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>Audit Stx: migrations from older versions, failed migrations, schema names, and a small connection pool.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class StoreLifecycleTests(PostgreSqlServer server)
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Open_OnAnOlderSchema_AppliesEachLaterStepOnceAndKeepsTheRows()
    {
        var connectionString = await server.DatabaseAsync("stx_older");
        await CreateAtVersionAsync(connectionString, "omnichannel", 3);
        await ExecuteAsync(connectionString, "INSERT INTO omnichannel.profiles (id, version, document) VALUES ('p1', 4, '\\x7b7d')");

        await using (var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString }))
        {
            Assert.Equal(4, (await store.LoadProfileAsync("p1"))!.Version);
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 4, Document = [1] })).Status);
        }

        Assert.Equal(PostgreSqlSchema.CurrentVersion, await ScalarAsync(connectionString, "SELECT max(version) FROM omnichannel.schema_version"));
        Assert.Equal(1L, await ScalarAsync(connectionString, "SELECT count(*) FROM omnichannel.schema_version"));
        Assert.Equal(1L, await ScalarAsync(connectionString, "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'omnichannel' AND table_name = 'measurements' AND column_name = 'shard'"));
    }

    [Fact]
    public async Task Upgrade_FromSchemaThree_KeepsTheJourneyStatisticsTheDocumentsHeld()
    {
        // Audit UP: schema 3 kept journey counters only in the profile documents (the fixture is one as that release wrote it).
        var connectionString = await server.DatabaseAsync("up_journey_counters");
        await CreateAtVersionAsync(connectionString, "omnichannel", 3);
        var document = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "schema4-profile-with-journeys.json"));
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO omnichannel.profiles (id, version, document) VALUES ('p_019ca95006807429ad4fad06d9805667', 7, $1), ('p_unreadable', 1, '\\x6e6f74206a736f6e')", connection);
            insert.Parameters.Add(new NpgsqlParameter { Value = document });
            await insert.ExecuteNonQueryAsync();
        }

        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });

        var rows = await store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { MetricPrefix = Omnichannel.Sdk.Measurement.MeasurementMetrics.JourneyPrefix, Limit = 1000 });
        var counters = rows.ToDictionary(r => $"{r.Key.JourneyId}|{r.Key.Metric}", r => r.Count);
        Assert.Equal(2, counters["order-updates|journey:entered"]);
        Assert.Equal(2, counters["order-updates|journey:active"]);
        Assert.Equal(2, counters["order-updates|journey:step:confirmation:sent"]);
        Assert.Equal(1, counters["abandoned-cart|journey:converted"]);
        Assert.Equal(9, rows.Count);
        Assert.Equal(document, (await store.LoadProfileAsync("p_019ca95006807429ad4fad06d9805667"))!.Document);
    }

    [Fact]
    public async Task Open_WhenAMigrationFailsMidway_KeepsTheOldVersionAndNamesTheStep()
    {
        // Version 3, and an index already named like migration 4's second statement's: its first (CREATE TABLE) must be undone too.
        var connectionString = await server.DatabaseAsync("stx_failed_step");
        await CreateAtVersionAsync(connectionString, "omnichannel", 3);
        await ExecuteAsync(connectionString, "CREATE TABLE omnichannel.stray (x integer); CREATE INDEX measurements_by_metric ON omnichannel.stray (x)");

        var ex = await Assert.ThrowsAsync<PostgreSqlStoreException>(() =>
            PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString }));

        Assert.Contains("from schema version 3 to 4", ex.Message);
        Assert.Contains("left at version 3", ex.Message);
        Assert.DoesNotContain("Check that the server is running", ex.Message);
        Assert.IsType<PostgresException>(ex.InnerException);
        Assert.Equal(3, await ScalarAsync(connectionString, "SELECT max(version) FROM omnichannel.schema_version"));
        Assert.Equal(0L, await ScalarAsync(connectionString, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'omnichannel' AND table_name = 'measurements'"));
    }

    [Theory]
    [InlineData("pg_omnichannel")]
    [InlineData("pg_catalog")]
    [InlineData("information_schema")]
    public async Task Open_WithASchemaNamePostgreSqlReserves_IsRefusedByTheOptions(string schema)
    {
        var connectionString = await server.DatabaseAsync("stx_reserved_schema");

        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString, Schema = schema }));

        Assert.Contains($"Schema '{schema}'", ex.Message);
        Assert.Contains("reserved", ex.Message);
    }

    [Theory]
    [InlineData("Omnichannel")]
    [InlineData("my-store")]
    [InlineData("omni channel")]
    public async Task Open_WithASchemaNameThatNeedsQuoting_IsRefusedByTheOptions(string schema)
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = "Host=localhost", Schema = schema }));

        Assert.Contains("is not a plain PostgreSQL name", ex.Message);
    }

    [Fact]
    public async Task Open_WithAReservedWordAsSchema_CreatesAndUsesIt()
    {
        // "select" passes the options' pattern: every statement that names the schema must quote it.
        var connectionString = await server.DatabaseAsync("stx_keyword_schema");
        await using (var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString, Schema = "select" }))
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = [1] })).Status);
            Assert.NotNull(await store.LoadProfileAsync("p1"));
        }

        Assert.Equal(1L, await ScalarAsync(connectionString, "SELECT count(*) FROM \"select\".profiles"));
        Assert.Equal(0L, await ScalarAsync(connectionString, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Fact]
    public async Task ManyConcurrentCalls_OnAPoolOfTwo_AllComplete()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await server.DatabaseAsync("stx_small_pool")) { MaxPoolSize = 2, Timeout = 60 }.ConnectionString;
        var t = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });

        var calls = new List<Task>();
        for (var i = 0; i < 40; i++)
        {
            var id = $"p{i}";
            calls.Add(store.CommitAsync(new ProfileCommit
            {
                ProfileId = id,
                ExpectedVersion = 0,
                Document = [1],
                Outbox = [new OutboxEntry { MessageKey = $"m{i}", ProfileId = id, DueAt = t, Payload = [1] }],
            }).AsTask());
            calls.Add(store.LoadProfileAsync(id).AsTask());
            calls.Add(store.ClaimOutboxAsync(t, TimeSpan.FromMinutes(1), 5).AsTask());
            calls.Add(store.EraseProfileAsync(new ProfileErasure { ProfileId = $"gone{i}" }).AsTask());
        }

        await Task.WhenAll(calls).WaitAsync(SafetyTimeout);
        Assert.Equal(40L, await ScalarAsync(connectionString, "SELECT count(*) FROM omnichannel.profiles"));
    }

    private static async Task CreateAtVersionAsync(string connectionString, string schema, int version)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await RunAsync(connection, $"CREATE SCHEMA \"{schema}\"; SET LOCAL search_path TO \"{schema}\"; CREATE TABLE schema_version (version integer NOT NULL)");
        for (var i = 0; i < version; i++)
        {
            await RunAsync(connection, PostgreSqlSchema.Migrations[i]);
        }

        await RunAsync(connection, $"INSERT INTO schema_version (version) VALUES ({version})");
        await transaction.CommitAsync();
    }

    private static async Task RunAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await RunAsync(connection, sql);
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
