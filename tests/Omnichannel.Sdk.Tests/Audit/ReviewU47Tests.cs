using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of audit U47 (money): its fixes tried through the public API, across merges and arrival orders.</summary>
public sealed class ReviewU47Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Mail = Identifier.Email("ann@example.com");

    private static async Task<(long Count, double Sum)> Conversions(OmnichannelTestHost host)
    {
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        return (rows.Sum(r => r.Count), rows.Sum(r => r.Sum));
    }

    // The order on one profile, its currency-less refund on the other, then they meet (either side survives).
    [Theory]
    [InlineData("GBP", false, false)]
    [InlineData("GBP", true, false)]
    [InlineData(null, false, false)]
    [InlineData(null, true, false)]
    [InlineData("GBP", false, true)]
    [InlineData(null, true, true)]
    public async Task ACurrencylessRefund_FollowsItsOrder_AcrossAMerge(string? shop, bool orderOnMail, bool refundFirst)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = shop);
        var at = host.Time.GetUtcNow().AddHours(-3);
        var first = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" }, at: at);
        var order = host.Event(EventTypes.OrderPlaced, [orderOnMail ? Mail : Ann], new { order_id = "o2", total = 3000, currency = "JPY" }, at: at.AddMinutes(10));
        var refund = host.Event(EventTypes.OrderReturned, [orderOnMail ? Ann : Mail], new { order_id = "o2", return_id = "r1", total = 1000 }, at: at.AddMinutes(40));
        await host.TrackAsync(first);
        foreach (var e in refundFirst ? new[] { refund, order } : [order, refund])
        {
            await host.TrackAsync(e);
        }

        await host.TrackAsync("user.identified", [Ann, Mail], at: at.AddMinutes(50));
        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal("GBP", s.Currency);
        Assert.Equal(0m, s.ReturnValue);
        Assert.Equal(1000m, s.ReturnValueByCurrency.GetValueOrDefault("JPY"));
        // Without a shop currency both orders count, the JPY one net of its refund (doubles: 2,000.0000000000002).
        Assert.Equal(shop is null ? 2020.0 : 20.0, (await Conversions(host)).Sum, 6);
    }

    // Both profiles hold the order, in two currencies (the newer re-sent in JPY); a refund names GBP.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task AnOrderOnBothProfiles_InTwoCurrencies_RefundCountsAgainstTheNewest(bool newerOnMail, bool refundOnMail)
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-3);
        await host.TrackAsync(EventTypes.OrderPlaced, [newerOnMail ? Ann : Mail], new { order_id = "o1", total = 100, currency = "GBP" }, at: at);
        await host.TrackAsync(EventTypes.OrderPlaced, [newerOnMail ? Mail : Ann], new { order_id = "o1", total = 10000, currency = "JPY" }, at: at.AddMinutes(20));
        await host.TrackAsync(EventTypes.OrderReturned, [refundOnMail ? Mail : Ann], new { order_id = "o1", return_id = "r1", total = 30, currency = "GBP" }, at: at.AddMinutes(30));
        await host.TrackAsync("user.identified", [Ann, Mail], at: at.AddMinutes(50));
        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(10000m, s.SpentByCurrency.GetValueOrDefault("JPY"));
        Assert.Equal(30m, s.ReturnValueByCurrency.GetValueOrDefault("GBP"));
        Assert.Equal(10000.0, (await Conversions(host)).Sum);
    }

    // An order re-sent in another currency after a refund that named none: the refund follows it, and measurement agrees.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOrderResentInAnotherCurrency_AfterACurrencylessRefund(bool resentFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-3);
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" }, at: at);
        var refund = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 25 }, at: at.AddMinutes(30));
        var resent = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 200, currency = "EUR" }, at: at.AddMinutes(40));
        foreach (var e in resentFirst ? new[] { order, resent, refund } : [order, refund, resent])
        {
            await host.TrackAsync(e);
        }

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal("EUR", s.Currency);
        Assert.Equal(25m, s.ReturnValue);
        Assert.Equal(0m, s.ReturnValueByCurrency.GetValueOrDefault("GBP"));
        Assert.Equal(175.0, (await Conversions(host)).Sum);
    }

    // The report's money at its edges, on data built by hand (the public record): a revenue taken back to a hair under
    // zero printed "-0.00" (.NET prints the sign of a negative that rounds to zero); past decimal's range the amount lost
    // its currency; a lower-case code lost its minor units ("jpy" printed 3000.00); a currency that is not a code was
    // written into the channel table and the bars' labels unescaped.
    [Theory]
    [InlineData(-0.0000000001, null, "revenue 0.00<", "<td>0.00</td>")]
    [InlineData(-0.001, "GBP", "revenue 0.00 GBP<", "<td>0.00 GBP</td>")]
    [InlineData(-0.5, "JPY", "revenue -1 JPY<", "<td>-1 JPY</td>")]
    [InlineData(0.5, "JPY", "revenue 1 JPY<", "<td>1 JPY</td>")]
    [InlineData(2.5, "JPY", "revenue 3 JPY<", "<td>3 JPY</td>")]
    [InlineData(-1.0005, "KWD", "revenue -1.001 KWD<", "<td>-1.001 KWD</td>")]
    [InlineData(-1.005, "GBP", "revenue -1.01 GBP<", "<td>-1.01 GBP</td>")]
    [InlineData(3000, "jpy", "revenue 3000 jpy<", "<td>3000 jpy</td>")]
    [InlineData(1e21, "GBP", "revenue 1000000000000000000000.00 GBP<", "<td>1000000000000000000000.00 GBP</td>")]
    [InlineData(5, "<b>", "revenue 5.00 &lt;b&gt;<", "<td>5.00 &lt;b&gt;</td>")]
    public void TheReportsMoney_AtItsEdges(double revenue, string? currency, string line, string cell)
    {
        var channels = new Dictionary<string, FunnelCounts> { ["email"] = new(1, 1, 1, 1, 0, 1, revenue) };
        var data = new MeasurementReportData("t", new DateOnly(2026, 1, 1), new DateOnly(2026, 1, 1), "last_touch", "order", 1, revenue, [], channels, [], []) { Currency = currency };
        var html = MeasurementReport.ToHtml(data);
        Assert.Contains(line, html, StringComparison.Ordinal);
        Assert.Contains(cell, html, StringComparison.Ordinal);
        Assert.DoesNotContain("-0.00", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
    }
}
