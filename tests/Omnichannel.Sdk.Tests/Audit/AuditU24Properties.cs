using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U24: abandonment clocks give the same messages in any arrival order. A fixed pool of her events with fixed times
/// (a view, last week's order and its update, a new order, a cart add and a view on her cookie, the login that merges the
/// cookie, an old order on the cookie, an order sent once with a numeric and once with a string id); a random subset
/// arrives in a random order, all before the first deadline; once the clock passes every deadline the messages sent must
/// equal those of the same events arriving in time order.
/// </summary>
public sealed class AuditU24Properties
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T = Start + TimeSpan.FromDays(7); // the view

    private sealed record Planned(string Type, Identifier[] Ids, object? Properties, DateTimeOffset At);

    private static readonly Planned[] Pool =
    [
        new(EventTypes.ProductViewed, [Ann], new { product_id = "p1" }, T),
        new(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" }, T - TimeSpan.FromDays(7)),
        new(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 90, currency = "GBP" }, T + TimeSpan.FromMinutes(10)),
        new(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 30, currency = "GBP" }, T + TimeSpan.FromMinutes(25)),
        new(EventTypes.CartItemAdded, [Cookie], new { product_id = "p2", quantity = 1 }, T + TimeSpan.FromMinutes(5)),
        new(EventTypes.ProductViewed, [Cookie], new { product_id = "p2" }, T + TimeSpan.FromMinutes(15)),
        new("user.logged_in", [Ann, Cookie], null, T + TimeSpan.FromMinutes(20)),
        new(EventTypes.OrderPlaced, [Cookie], new { order_id = "o3", total = 40, currency = "GBP" }, T - TimeSpan.FromDays(2)),
        new(EventTypes.OrderPlaced, [Ann], new { order_id = 1001, total = 20, currency = "GBP" }, T - TimeSpan.FromDays(3)),
        new(EventTypes.OrderPlaced, [Ann], new { order_id = "1001", total = 25, currency = "GBP" }, T + TimeSpan.FromMinutes(12)),
    ];

    private static readonly JourneyDefinition[] Journeys =
    [
        JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse",
             "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "PT1H"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "browse-mail", "class": "transactional"}]}
            """),
        JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart",
             "trigger": {"type": "inactivity", "afterEvent": "cart.item_added", "noEvent": ["order.placed"], "within": "PT1H"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart-mail", "class": "transactional"}]}
            """),
    ];

    [Property(MaxTest = 60)]
    public void AnyArrivalOrder_SendsWhatTimeOrderSends(int seed) => Compare(seed).GetAwaiter().GetResult();

    /// <summary>The reported case (audit U16 left it): the update of last week's order before the order, after the view.</summary>
    [Fact]
    public async Task TheUpdateBeforeItsOriginal_SendsWhatTimeOrderSends() => Assert.Equal(await RunAsync([0, 1, 2]), await RunAsync([0, 2, 1]));

    private static async Task Compare(int seed)
    {
        var random = new Random(seed);
        var chosen = Enumerable.Range(0, Pool.Length).Where(_ => random.Next(3) > 0).ToArray();
        var arrival = chosen.OrderBy(_ => random.Next()).ToArray();
        var timeOrder = chosen.OrderBy(i => Pool[i].At).ThenBy(i => i).ToArray();
        var expected = await RunAsync(timeOrder);
        var actual = await RunAsync(arrival);
        Assert.True(expected.SequenceEqual(actual), $"arrival [{string.Join(",", arrival)}]: [{string.Join(",", actual)}]; time order [{string.Join(",", timeOrder)}]: [{string.Join(",", expected)}]");
    }

    private static async Task<string[]> RunAsync(int[] order)
    {
        await using var rig = JourneyRig.Create(Journeys, start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.AdvanceToAsync(T + TimeSpan.FromMinutes(30)); // everything arrives now, before the first deadline (T + 1 h)
        foreach (var i in order)
        {
            var r = await rig.Host.TrackAsync(Pool[i].Type, Pool[i].Ids, Pool[i].Properties, at: Pool[i].At);
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        return [.. rig.Sent().Order(StringComparer.Ordinal)];
    }
}
