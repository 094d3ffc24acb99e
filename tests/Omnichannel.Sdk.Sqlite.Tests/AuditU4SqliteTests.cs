using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U4 on SQLite: an order sent again starts no journey again, as in memory.</summary>
public sealed class AuditU4SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Confirm => JourneyRig.Parse("""
        {"id": "confirm", "version": 1, "name": "Confirm", "trigger": {"type": "event", "event": "order.placed"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "confirm", "class": "transactional"}]}
        """);

    // A numeric order_id (Shopify, WooCommerce) sent again, and copies of two orders in one batch, read back from the file.
    [Fact]
    public async Task ANumericOrderIdSentAgain_AndCopiesInOneBatch_ConfirmEachOrderOnce()
    {
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = "Data Source=" + _folder.File() });
        await using var rig = JourneyRig.Create([Confirm], store: store);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = 1001, total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = 1001, total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(rig.Sent());

        var h = rig.Host;
        var results = await h.Client.TrackBatchAsync(
        [
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 10, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = 1001, total = 10, currency = "GBP" }),
            h.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 12, currency = "GBP" }),
        ]);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(2, rig.Sent().Count);
        Assert.Equal(2, (await h.ProfileAsync(Ann)).Statistics.OrderCount);
    }
}
