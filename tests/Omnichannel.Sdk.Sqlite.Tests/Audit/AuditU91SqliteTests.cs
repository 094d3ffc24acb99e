using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U91 on SQLite: a distinct count over object values (the address an order went to) reads the recorded objects
/// back after a restart by their members, and she leaves a windowed segment when her orders leave the window with no
/// event of hers (Baggz/Amanda#6, PostHog/posthog#2308).
/// </summary>
public sealed class AuditU91SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SegmentDefinition Distinct(string id, int atLeast) =>
        SegmentJson.Parse($$$"""{"id": "{{{id}}}", "name": "{{{id}}}", "rule": {"aggregate": "distinct", "event": "order.placed", "property": "shipping", "op": "gte", "value": {{{atLeast}}}, "within": "P7D"}}""").Value!;

    private static OmnichannelTestHost Host(IOmnichannelStore store, DateTimeOffset start) =>
        OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Distinct("two-addresses", 2));
            o.Segments.Add(Distinct("three-addresses", 3));
        }, start: start, store: store);

    [Fact]
    public async Task ADistinctCountOfAddresses_ReadsTheRecordedObjectsAfterARestart_AndFallsAsTheyLeaveTheWindow()
    {
        var file = "Data Source=" + _folder.File();
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = Host(store, Start);
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": "o1", "total": 10, "shipping": {"line1": "1 Mill St", "city": "Leeds"}}""")));
            await host.AdvanceAsync(TimeSpan.FromHours(1));
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": "o2", "total": 10, "shipping": {"line1": "1 Mill St", "city": "York"}}""")));
            Assert.True((await host.ProfileAsync(Ann)).IsInSegment("two-addresses"));
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = Host(store, Start.AddHours(2));

            // Her first address again, its members in another order and a null member: still two addresses.
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": "o3", "total": 10, "shipping": {"city": "Leeds", "line2": null, "line1": "1 Mill St"}}""")));
            var p = await host.ProfileAsync(Ann);
            Assert.True(p.IsInSegment("two-addresses"));
            Assert.False(p.IsInSegment("three-addresses"));

            // Eight days on, with no event of hers: every order has left the window.
            await host.AdvanceAsync(TimeSpan.FromDays(8));
            Assert.False((await host.ProfileAsync(Ann)).IsInSegment("two-addresses"));
            Assert.DoesNotContain((await host.ProfileAsync(Ann)).Id, await host.Client.GetSegmentMembersAsync("two-addresses"));
        }
    }
}
