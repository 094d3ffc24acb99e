using System.Text;
using Npgsql;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Measurement rows are sharded by profile (migration 5), so that concurrent commits adding to one day's counters do not
/// queue on one row lock; every reader sees the shards summed, and rows written before the migration are kept.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class MeasurementShardTests(PostgreSqlServer server)
{
    private static readonly MeasurementKey Orders = new("", "", "", "", "", new DateOnly(2026, 11, 30), "conversion:order");

    [Fact]
    public async Task ConcurrentCommitsOfManyProfiles_AddToShards_AndReadAsOneRow()
    {
        var connectionString = await server.DatabaseAsync("measurement_shards");
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });

        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var result = await store.CommitAsync(new ProfileCommit
            {
                ProfileId = $"p{i}",
                ExpectedVersion = 0,
                Document = Encoding.UTF8.GetBytes("{}"),
                Measurements = [new MeasurementDelta(Orders, 1, 10.5)],
            });
            Assert.Equal(CommitStatus.Committed, result.Status);
        })));

        var row = Assert.Single(await store.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:" }));
        Assert.Equal(Orders, row.Key);
        Assert.Equal(64, row.Count);
        Assert.Equal(64 * 10.5, row.Sum, 9);
        Assert.True(await ScalarAsync<long>(connectionString, "SELECT count(*) FROM omnichannel.measurements") > 1, "every commit added to one row: nothing was sharded");
    }

    [Fact]
    public async Task RowsWrittenBeforeTheMigration_AreKept_AndAddedTo()
    {
        var connectionString = await server.DatabaseAsync("measurement_shards_upgrade");
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            // A database left at schema version 4 by the previous release, with a row in it.
            await connection.OpenAsync();
            await Execute(connection, "CREATE SCHEMA omnichannel; SET search_path TO omnichannel; CREATE TABLE schema_version (version integer NOT NULL)");
            foreach (var migration in PostgreSqlSchema.Migrations.Take(4))
            {
                await Execute(connection, migration);
            }

            await Execute(connection, "INSERT INTO schema_version VALUES (4)");
            await Execute(connection, $"INSERT INTO measurements (journey_id, metric, day, step_id, variant, channel, template_id, n, amount) VALUES ('', 'conversion:order', {Orders.Day.DayNumber}, '', '', '', '', 3, 30)");
        }

        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        await store.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = [1], Measurements = [new MeasurementDelta(Orders, 1, 12)] });

        var row = Assert.Single(await store.GetMeasurementsAsync(new MeasurementQuery()));
        Assert.Equal((4L, 42.0), (row.Count, row.Sum));
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
