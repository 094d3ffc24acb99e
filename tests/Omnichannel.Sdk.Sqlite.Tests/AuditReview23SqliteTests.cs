using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Review of the wait-at-merge change on SQLite: remembered wait answers read back from the file, as in memory.</summary>
public sealed class AuditReview23SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // The branch's condition reads the remembered properties; the trigger event does not answer its own wait.
    [Theory]
    [InlineData(80, false, false)]
    [InlineData(10, true, false)]
    [InlineData(80, false, true)]
    public async Task AMergedOrder_AnswersTheDevicesWait_ByItsProperties_AndOnlyAfterItBegan(int total, bool reminded, bool orderBeforeCart)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 50}], "next": "end"},
                                                                         {"event": "cart.item_added", "next": "end"}], "timeout": "PT4H", "timeoutNext": "remind"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        var device = Identifier.AnonymousId("tab-s1");
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + _folder.File() });
        await using var rig = JourneyRig.Create([journey], store: store);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        if (orderBeforeCart)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total, currency = "GBP" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        }

        await rig.TrackAsync(EventTypes.CartItemAdded, [device], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        if (!orderBeforeCart)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total, currency = "GBP" });
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync("user.logged_in", [device, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(6));
        Assert.Equal(reminded || orderBeforeCart ? ["email:remind"] : [], rig.Sent());
    }
}
