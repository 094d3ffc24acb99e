using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U47 (bug classes from public reports, round 47: money — currencies, refunds, rounding and amounts as clients
/// send them), replayed through the test kit on a fake clock.
/// </summary>
public sealed class AuditU47MoneyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    internal static async Task<(long Count, double Sum)> Conversions(OmnichannelTestHost host)
    {
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        return (rows.Sum(r => r.Count), rows.Sum(r => r.Sum));
    }

    [Theory]
    [InlineData("GBP", false)]
    [InlineData("GBP", true)]
    [InlineData(null, false)]
    [InlineData(null, true)]
    public async Task ARefundThatNamesNoCurrency_IsInItsOrdersCurrency_InAnyArrivalOrder(string? shop, bool refundFirst)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Currency = shop;
            o.Segments.Add(SegmentJson.Parse("""{"id": "refunded", "name": "x", "rule": {"stat": "returnValue", "op": "gt", "value": 0}}""").Value!);
        });
        var at = host.Time.GetUtcNow().AddHours(-2);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" }, at: at);
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 3000, currency = "JPY" }, at: at.AddMinutes(10));
        var refund = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o2", return_id = "r1", total = 3000 }, at: at.AddMinutes(40));
        foreach (var e in refundFirst ? new[] { refund, order } : [order, refund])
        {
            await host.TrackAsync(e);
        }

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal("GBP", s.Currency);
        Assert.Equal(20m, s.TotalSpent);
        Assert.Equal(0m, s.ReturnValue); // not 3,000 "pounds" off 20
        Assert.Equal(3000m, s.ReturnValueByCurrency.GetValueOrDefault("JPY"));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("refunded"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARefundInAnotherCurrencyThanItsOrder_TakesNothingOffItsMeasuredRevenue_WithoutAShopCurrency(bool refundFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-2);
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" }, at: at);
        var refund = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 3000, currency = "JPY" }, at: at.AddMinutes(30));
        var ownRefund = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r2", total = 5, currency = "GBP" }, at: at.AddMinutes(40));
        foreach (var e in refundFirst ? new[] { refund, ownRefund, order } : [order, refund, ownRefund])
        {
            await host.TrackAsync(e);
        }

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(5m, s.ReturnValue);
        Assert.Equal((1L, 15.0), await Conversions(host)); // the GBP refund only, as the profile reads it
    }

    // Guard for the rule above: the currencies are read at each use, not when the refund came, so an order whose currency
    // is corrected to the refund's (a JPY typo fixed to GBP by its update) counts the refund from then on.
    [Fact]
    public async Task AnOrderCorrectedToItsRefundsCurrency_CountsTheRefundThen()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-2);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "JPY" }, at: at);
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 5, currency = "GBP" }, at: at.AddMinutes(30));
        Assert.Equal((1L, 20.0), await Conversions(host));

        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" }, at: at.AddMinutes(40));
        Assert.Equal((1L, 15.0), await Conversions(host));
        Assert.Equal(5m, (await host.ProfileAsync(Ann)).Statistics.ReturnValue);
    }

    // Mozu/core-theme#448 (KWD amounts cut to two decimals), dinerojs/dinero.js#157 (3.025 printed 3.02): the report printed
    // every amount with two decimals and no currency, so 10.125 KWD read 10.13, 3,000 JPY read 3000.00, and 1.005 GBP
    // (a double just under 1.005) read 1.00. With a shop currency it now keeps the currency's minor units, rounds half
    // away from zero as the profile's average does, and names the currency (in the JSON too).
    [Theory]
    [InlineData("KWD", "10.125", "10.125 KWD")]
    [InlineData("JPY", "3000", "3000 JPY")]
    [InlineData("GBP", "1.005", "1.01 GBP")]
    public async Task TheReportShowsRevenueWithTheShopCurrencysMinorUnits_AndItsCode(string currency, string total, string shown)
    {
        var start = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
        var promo = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "promo-mail", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([promo], start: start, configure: o => o.Currency = currency);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await rig.TrackAsync(EventTypes.MessageClicked, [Ann], new { message_id = rig.Recorder.Messages[^1].MessageId });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = decimal.Parse(total, System.Globalization.CultureInfo.InvariantCulture), currency });

        var day = DateOnly.FromDateTime(start.UtcDateTime);
        var data = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = day, To = day });
        var html = MeasurementReport.ToHtml(data);
        Assert.Contains("revenue " + shown, html, StringComparison.Ordinal); // the period's line
        Assert.Contains("<td>" + shown + "</td>", html, StringComparison.Ordinal); // the channel table
        Assert.Contains("email: " + shown, html, StringComparison.Ordinal); // the revenue bar's label
        Assert.Contains($"\"currency\": \"{currency}\"", MeasurementReport.ToJson(data), StringComparison.Ordinal);
    }

    // A refund corrected under the same return id (a webhook re-sent with the settled amount: woocommerce/woocommerce#54499
    // partial refunds edited, Shopify's refund webhook delivered again) whose older copy arrives last. The profile keeps
    // the newest copy (event time, then id); measurement took whichever arrived last, so the report said 70 where the
    // profile's 40 refunded left 60.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARefundCorrectedUnderItsReturnId_CountsItsNewestAmount_InAnyArrivalOrder(bool olderLast)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = "GBP");
        var at = host.Time.GetUtcNow().AddHours(-2);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "GBP" }, at: at);
        var first = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 30, currency = "GBP" }, at: at.AddMinutes(10));
        var corrected = host.Event(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 40, currency = "GBP" }, at: at.AddMinutes(20));
        foreach (var e in olderLast ? new[] { corrected, first } : [first, corrected])
        {
            await host.TrackAsync(e);
        }

        Assert.Equal(40m, (await host.ProfileAsync(Ann)).Statistics.ReturnValue);
        Assert.Equal((1L, 60.0), await Conversions(host));
    }
}
