using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit Priv: after an erasure no row of any side table names her profile ids (checked with SQL, not bytes).</summary>
public sealed class AuditPrivSqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Erase_OfAMergedPersonWithJourneyMessages_LeavesNoRowNamingEitherProfileId()
    {
        var path = _folder.File();
        var welcome = JourneyJson.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hi", "type": "send", "channels": ["email"], "template": "hi", "class": "transactional"},
                       {"id": "wait", "type": "delay", "duration": "P3D"},
                       {"id": "again", "type": "send", "channels": ["email"], "template": "again", "class": "transactional"}]}
            """).Value!;
        var email = new RecordingTransport(ChannelNames.Email);
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Journeys.Add(welcome);
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "viewers", "name": "x", "rule": {"event": "page.viewed"}}""").Value!);
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var cookie = Identifier.AnonymousId("cookie-priv");
        var ann = Identifier.Email("ann.priv@example.com");
        await host.TrackAsync("page.viewed", [cookie]);
        var first = (await host.ProfileAsync(cookie)).Id;
        await host.TrackAsync("user.signed_up", [ann]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1)); // the first journey message goes out: j:{id}:… key and outcome ids
        var second = (await host.ProfileAsync(ann)).Id;
        await host.TrackAsync("user.logged_in", [ann, cookie]);
        var last = (await host.ProfileAsync(cookie)).Id;
        Assert.NotEmpty(email.Messages);
        await host.TrackAsync("user.signed_up", [Identifier.Email("bob.priv@example.com")]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        string[] ids = [first, second, last];
        Assert.True(Count(path, ids) > 0, "the test must see rows naming her before the erasure");

        Assert.True(await host.Client.EraseProfileAsync(cookie));

        Assert.Equal(0, Count(path, ids));
        await host.AdvanceAsync(TimeSpan.FromDays(4)); // no wake-up of hers sends the second message
        Assert.Empty(email.SentTo("ann.priv@example.com").Skip(1));
        Assert.Equal(0, Count(path, ids));
    }

    // Rows of every table that name one of the ids: as a profile, an alias, a member, an outbox owner, or inside a
    // journey message key or its outcome event id (j:{profile id}:…).
    private static long Count(string path, string[] ids)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        long n = 0;
        foreach (var id in ids)
        {
            foreach (var sql in new[]
            {
                "SELECT count(*) FROM profiles WHERE id = $id",
                "SELECT count(*) FROM identifiers WHERE profile_id = $id",
                "SELECT count(*) FROM aliases WHERE old_id = $id OR new_id = $id",
                "SELECT count(*) FROM segment_members WHERE profile_id = $id",
                "SELECT count(*) FROM outbox WHERE profile_id = $id OR instr(message_key, $id) > 0",
                "SELECT count(*) FROM outbox_keys WHERE instr(message_key, $id) > 0",
                "SELECT count(*) FROM processed_events WHERE instr(event_id, $id) > 0",
                "SELECT count(*) FROM measurements WHERE instr(journey_id || step_id || variant || channel || template_id, $id) > 0",
            })
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.Parameters.AddWithValue("$id", id);
                n += (long)command.ExecuteScalar()!;
            }
        }

        return n;
    }
}
