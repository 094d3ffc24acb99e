using Npgsql;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// The hot reads use their indexes whatever plan the server settles on. Npgsql prepares the store's statements, and after
/// a few executions PostgreSQL may switch a prepared statement to its generic plan, which cannot see the parameters: an
/// identifier lookup that joined the unnested lists then hashed the whole identifiers table on every event (seen with
/// a few thousand customers whose table had not been analysed yet).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class QueryPlanTests(PostgreSqlServer server)
{
    [Theory]
    [InlineData("force_generic_plan")]
    [InlineData("force_custom_plan")]
    public async Task IdentifierLookup_ProbesThePrimaryKey_InEveryPlan(string planCacheMode)
    {
        var connectionString = await server.DatabaseAsync("query_plans");
        await using (await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString }))
        {
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = "omnichannel" }.ConnectionString);
        await connection.OpenAsync();
        await Execute(connection, """
            INSERT INTO identifiers (type, value, profile_id)
            SELECT 'email', 'customer' || g || '@example.com', 'p' || g FROM generate_series(1, 3000) AS g ON CONFLICT DO NOTHING;
            """);
        await Execute(connection, $"SET plan_cache_mode = {planCacheMode}");
        await Execute(connection, $"PREPARE lookup (text[], text[]) AS {PostgreSqlOmnichannelStore.ResolveIdentifiersSql}");
        try
        {
            await using var explain = new NpgsqlCommand("EXPLAIN EXECUTE lookup (ARRAY['email', 'customer_id'], ARRAY['customer7@example.com', 'c-7'])", connection);
            var plan = new List<string>();
            await using (var rows = await explain.ExecuteReaderAsync())
            {
                while (await rows.ReadAsync())
                {
                    plan.Add(rows.GetString(0));
                }
            }

            var text = string.Join('\n', plan);
            Assert.DoesNotContain("Seq Scan on identifiers", text);
            Assert.Contains("identifiers_pkey", text);
        }
        finally
        {
            await Execute(connection, "DEALLOCATE lookup");
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
