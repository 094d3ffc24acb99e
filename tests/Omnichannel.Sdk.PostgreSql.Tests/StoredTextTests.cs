using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit I: a look-up by an identifier no event could carry (a NUL, an unpaired surrogate) answered "nobody" on the
/// in-memory store and threw on PostgreSQL (SQLSTATE 22021 for the NUL, Npgsql's EncoderFallbackException for the
/// surrogate): a profile page, an erasure request or a send naming such a value failed with a server error.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class StoredTextTests(PostgreSqlServer server)
{
    [Fact]
    public async Task LookUps_ByAnIdentifierNoEventCouldCarry_FindNobody_AsInMemory()
    {
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync("stored_text") });
        await using var host = OmnichannelTestHost.Create(store: store);
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c-ann"), Identifier.Email("ann@example.com")]);

        foreach (var value in new[] { "c-\0ann", "c-\uD800ann", "c-ann\uDC00" })
        {
            var odd = Identifier.CustomerId(value);
            Assert.Null(await host.Client.GetProfileAsync(odd));
            Assert.Null(await host.Client.ExportProfileAsync(odd));
            Assert.False(await host.Client.EraseProfileAsync(odd));
            Assert.Equal(SendStatus.UnknownProfile, (await host.Client.SendAsync(odd, new MessageRequest { Key = "k1", Channels = ["email"], TemplateId = "t" })).Status);
            Assert.Equal(TrackStatus.Rejected, (await host.Client.TrackAsync(host.Event("page.viewed", [odd]))).Status);
        }

        Assert.NotNull(await host.Client.GetProfileAsync(Identifier.CustomerId("c-ann")));
    }

    /// <summary>
    /// A null segment id is refused by the call, before its commit joins a group: NOT NULL failed the whole group, with
    /// the commits of others sent at the same moment (thirty-ninth session; SQLite kept it without the segment).
    /// </summary>
    [Fact]
    public async Task ANullSegmentId_IsRefusedByTheCall_AndAConcurrentCommitIsKept()
    {
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = await server.DatabaseAsync("null_segment") });
        var bad = Assert.ThrowsAsync<ArgumentException>(async () => await store.CommitAsync(new Storage.ProfileCommit { ProfileId = "p-bad", ExpectedVersion = 0, Document = [(byte)'0'], Segments = ["vip", null!] }));
        var good = store.CommitAsync(new Storage.ProfileCommit { ProfileId = "p-good", ExpectedVersion = 0, Document = [(byte)'0'], Segments = ["vip"] }).AsTask();
        var error = await bad;
        Assert.Contains("segment", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(Storage.CommitStatus.Committed, (await good).Status);
        Assert.Null(await store.LoadProfileAsync("p-bad"));
        Assert.Equal(["p-good"], await store.ListSegmentMembersAsync("vip", null, 5));
    }
}

/// <summary>Audit I: after an erasure on PostgreSQL, no row of any table of the store names her or her profile ids.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ErasureScanTests(PostgreSqlServer server)
{
    [Fact]
    public async Task Erase_OfAMergedPerson_LeavesNoRowInAnyTableNamingHer()
    {
        var connectionString = await server.DatabaseAsync("erasure_scan");
        await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
        var journey = Omnichannel.Sdk.Journeys.JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "wait"}, {"name": "b", "weight": 1, "next": "wait"}]},
                       {"id": "wait", "type": "delay", "duration": "P3D"}]}
            """).Value!;
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "carters", "name": "x", "rule": {"event": "cart.item_added"}}""").Value!);
                o.Journeys.Add(journey);
            },
            store: store);
        var cookie = Identifier.AnonymousId("cookie-featherstone");
        Identifier[] known = [Identifier.CustomerId("c-featherstone"), Identifier.Email("ann.featherstone@example.com"), Identifier.Phone("+447700900123")];
        await host.TrackAsync(EventTypes.CartItemAdded, [cookie], new { product_id = "sku-1", name = "Featherstone lamp" }, traits: new { last_name = "Featherstonehaugh" });
        var anonymousId = (await host.ProfileAsync(cookie)).Id;
        await host.TrackAsync("user.signed_up", known, traits: new { nick = "annf", street = "12 Featherstone Row" });
        await host.TrackAsync("user.logged_in", [known[0], cookie]);
        await host.TrackAsync(EventTypes.OrderPlaced, [known[0]], new { order_id = "O-1", total = 10, currency = "EUR" });
        await host.TrackAsync("user.signed_up", [Identifier.Email("bob.keeper@example.com")], traits: new { last_name = "Keeper" });
        var merged = await host.ProfileAsync(cookie);
        Assert.NotEqual(anonymousId, merged.Id);

        Assert.True(await host.Client.EraseProfileAsync(known[1]));

        string[] hers = ["featherstone", "Featherstone", "447700900123", "annf", anonymousId, merged.Id];
        var rows = await AllRowsAsync(connectionString, store.Schema);
        Assert.Contains(rows, r => r.Contains("bob.keeper", StringComparison.Ordinal));
        foreach (var text in hers)
        {
            Assert.DoesNotContain(rows, r => r.Contains(text, StringComparison.Ordinal));
        }
    }

    // Every row of every table of the schema as text, bytea columns decoded as UTF-8.
    private static async Task<List<string>> AllRowsAsync(string connectionString, string schema)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new Npgsql.NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", connection))
        {
            list.Parameters.Add(new Npgsql.NpgsqlParameter { Value = schema });
            await using var r = await list.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                tables.Add(r.GetString(0));
            }
        }

        Assert.Contains("identifiers", tables);
        var rows = new List<string>();
        foreach (var table in tables)
        {
            await using var select = new Npgsql.NpgsqlCommand($"SELECT * FROM \"{schema}\".\"{table}\"", connection);
            await using var r = await select.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var cells = new List<string> { table };
                for (var i = 0; i < r.FieldCount; i++)
                {
                    cells.Add(r.IsDBNull(i) ? "" : r.GetValue(i) is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "");
                }

                rows.Add(string.Join("|", cells));
            }
        }

        return rows;
    }
}
