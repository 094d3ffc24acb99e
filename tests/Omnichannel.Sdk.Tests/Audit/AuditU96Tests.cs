using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U96: a real shop's data as it really is (UCI Online Retail, <c>tests/RetailReplay.Tests/AuditU96RealShapesTests</c>).
/// A credit note of a purchase made before the data starts is a customer's only money event: 4 of the year's customers
/// (17547, 13958, …) and every guest credit note. Her return value read 0: with no shop currency the headline currency
/// was the earliest <em>order</em>'s, she had none, so the 102.45 GBP she was refunded was in
/// <see cref="ProfileStatistics.ReturnValueByCurrency"/> only, and a "returned over X" segment left her out.
/// </summary>
public sealed class AuditU96Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("17547");

    private static SegmentDefinition Returned(decimal over) =>
        SegmentJson.Parse($$"""{"id": "returned-over", "name": "Returned over", "rule": {"stat": "returnValue", "op": "gte", "value": {{over}} } }""").Value!;

    [Fact]
    public async Task ACreditNote_WithNoOrder_IsHerReturnValue_InItsCurrency()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(Returned(100)));
        var at = host.Time.GetUtcNow().AddHours(-1);

        await host.TrackAsync(host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "C537251", total = 102.45m, currency = "GBP" }, at: at));

        var p = await host.ProfileAsync(Ann);
        Assert.Equal((1, 102.45m, "GBP", 0m, 0), (p.Statistics.ReturnCount, p.Statistics.ReturnValue, p.Statistics.Currency, p.Statistics.TotalSpent, p.Statistics.OrderCount));
        Assert.True(p.IsInSegment("returned-over"));
    }

    // The earliest return's currency heads her figures until an order names one; then the order's does, as before.
    [Fact]
    public async Task CreditNotesInTwoCurrencies_TheEarliestHeads_UntilAnOrderNamesOne()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-3);

        // The later one arrives first: the earliest by event time heads, whatever the arrival order.
        await host.TrackAsync(host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "C2", total = 7m, currency = "EUR" }, at: at.AddHours(1)));
        await host.TrackAsync(host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "C1", total = 5m, currency = "GBP" }, at: at));
        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(("GBP", 5m), (s.Currency, s.ReturnValue));

        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 30m, currency = "EUR" }, at: at.AddHours(2)));
        s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(("EUR", 30m, 7m), (s.Currency, s.TotalSpent, s.ReturnValue));
    }

    // An order that named no currency leaves the headline to the returns' (its total still counts in it), and a shop
    // currency heads everything as before.
    [Theory]
    [InlineData(null, "GBP", 5)]
    [InlineData("EUR", "EUR", 0)]
    public async Task ACreditNote_BesideAnOrderThatNamedNoCurrency_CountsInTheHeadline(string? shop, string currency, int returned)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = shop);
        var at = host.Time.GetUtcNow().AddHours(-2);

        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20m }, at: at));
        await host.TrackAsync(host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "C1", total = 5m, currency = "GBP" }, at: at.AddHours(1)));

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal((currency, 20m, (decimal)returned), (s.Currency, s.TotalSpent, s.ReturnValue));
    }
}
