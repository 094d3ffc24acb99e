using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U24: inactivity triggers and re-sent orders in any arrival order. Events carry their own times; whatever order
/// they arrive in, the clock must read an order at its first time and a noEvent inside the window as a purchase.
/// </summary>
public sealed class AuditU24Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static JourneyDefinition Browse(string within = "PT1H") => JourneyRig.Parse($$"""
        {"id": "browse", "version": 1, "name": "Browse",
         "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "{{within}}"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "browse-mail", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> RigAsync(params JourneyDefinition[] journeys)
    {
        var rig = JourneyRig.Create(journeys, start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    // ---- 1. The update of last week's order arrives before the order itself ----
    // Shopify orders/updated delivered before orders/create (webhooks carry no order guarantee), or the original uploaded
    // late by a batch import: at the update's arrival nothing says it is an update. Once the original arrives with its
    // earlier time, the order is last week's, and the browse reminder after today's view is owed (audit U16 left this).
    [Fact]
    public async Task BrowseAbandonment_AnUpdateArrivingBeforeItsOriginal_DoesNotStopTheReminder()
    {
        await using var rig = await RigAsync(Browse());
        await rig.AdvanceAsync(TimeSpan.FromDays(7));
        var viewed = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 90, currency = "GBP" }); // the update
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        var r = await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" }, at: Start); // the original, late
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(["email:browse-mail"], rig.Sent());
        Assert.Equal(Start, Assert.Single((await rig.Host.ProfileAsync(Ann)).Orders).Value.At);
        Assert.True(viewed > Start);
    }

    // ---- 2. A purchase inside the window is not forgotten because a later one arrives ----
    // She viewed, bought 10 minutes later, and bought again two hours later (after the window): the first purchase
    // answered the view; the second must not bring the reminder back.
    [Fact]
    public async Task BrowseAbandonment_APurchaseInsideTheWindow_IsNotMaskedByALaterOne()
    {
        await using var rig = await RigAsync(Browse());
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 90, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 50, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Empty(rig.Sent());
    }

    // ---- 3. The same for a noEvent that is no order ----
    // "Viewed, then nothing added to the cart within an hour": she added 10 minutes after the view and again two hours
    // later; the clock kept only the latest noEvent, which lies after the window, and sent the reminder.
    [Fact]
    public async Task BrowseWithoutCart_AnAddInsideTheWindow_IsNotMaskedByALaterOne()
    {
        await using var rig = await RigAsync(JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse",
             "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["cart.item_added"], "within": "PT1H"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "browse-mail", "class": "transactional"}]}
            """));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p2", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Empty(rig.Sent());
    }

    // ---- 4. A clock stored before this audit still loads and still answers ----
    // The document's "noEventAt" (the latest noEvent) is read as one noEvent time: inside the window it still cancels.
    [Fact]
    public async Task AClockStoredWithTheOldNoEventAt_StillCancelsTheReminder()
    {
        await using var rig = await RigAsync(Browse());
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        var viewed = rig.Host.Time.GetUtcNow();
        var p = await rig.Host.ProfileAsync(Ann);
        var node = System.Text.Json.Nodes.JsonNode.Parse(ProfileSerializer.Serialize(p))!;
        var clock = node["journeyData"]!["scheduled"]!["browse"]!.AsObject();
        clock.Remove("noEvents");
        clock["noEventAt"] = (viewed + TimeSpan.FromMinutes(5)).ToString("O");
        var legacy = ProfileSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(node.ToJsonString()), p.Version);
        var loaded = legacy.JourneyData!.Scheduled["browse"];
        Assert.Equal((viewed + TimeSpan.FromMinutes(5), true), (loaded.NoEventAt, loaded.IsClock));
    }
}
