using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of audit U35 on SQLite: the first and last event each kept type keeps survive a restart of the profile
/// document, and segments added at run time after the restart read them.
/// </summary>
public sealed class AuditReview35SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SegmentDefinition Json(string id, string rule) =>
        SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}").Value!;

    private static OmnichannelTestHost Host(SqliteOmnichannelStore store, DateTimeOffset at) =>
        OmnichannelTestHost.Create(o => o.Segments.Add(Json("ordered-7", """{"event": "order.placed", "within": "P7D"}""")), start: at, store: store);

    // Ann ordered on day 0, 10 and 20 (a 7-day window loaded); Bob never ordered. After a restart on day 40 her document
    // still holds day 0 and day 20 (her first and last); a late order stamped day -3 arriving after a second restart
    // becomes her first; "never ordered" and "first order more than 30 days ago", added after the restarts, list Bob and
    // Ann respectively.
    [Fact]
    public async Task TheKeptFirstAndLast_SurviveRestarts_AndRunTimeSegmentsReadThem()
    {
        var file = "Data Source=" + _folder.File();
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = Host(store, Start);
            await host.TrackAsync("user.signed_up", [Bob]);
            foreach (var day in new[] { 0, 10, 20 })
            {
                await host.AdvanceToAsync(Start.AddDays(day));
                await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o" + day, total = 10 });
            }
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = Host(store, Start.AddDays(40));
            await host.TrackAsync("page.viewed", [Ann]);
            var p = await host.ProfileAsync(Ann);
            Assert.Equal([Start, Start.AddDays(20)], p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Timestamp));
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = Host(store, Start.AddDays(41));
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "late", total = 5 }, at: Start.AddDays(-3)));
            await (await host.Client.UpsertSegmentAsync(Json("never", """{"not": {"event": "order.placed"}}"""))).Completion;
            await (await host.Client.UpsertSegmentAsync(Json("first-ago-43", """{"firstEvent": "order.placed", "op": "moreThanAgo", "value": "P43D"}"""))).Completion;
            await (await host.Client.UpsertSegmentAsync(Json("last-21", """{"lastEvent": "order.placed", "op": "withinLast", "value": "P22D"}"""))).Completion;
            var bob = await host.ProfileAsync(Bob);
            Assert.Equal(["never"], bob.Segments.Select(m => m.SegmentId));
            var ann = await host.ProfileAsync(Ann);
            Assert.Equal(["first-ago-43", "last-21"], ann.Segments.Select(m => m.SegmentId).Order(StringComparer.Ordinal));
            Assert.Equal([Start.AddDays(-3), Start.AddDays(20)], ann.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Timestamp));
        }
    }
}
