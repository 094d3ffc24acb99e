using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit L: money is never added across currencies — measurement's revenue neither.</summary>
public sealed class AuditLCurrencyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    [Fact]
    public async Task AnOrderInAnotherCurrency_CountsAsAConversion_ButAddsNoRevenueToTheShopsCurrency()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = "GBP");
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob], new { order_id = "o2", total = 3000, currency = "JPY" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob], new { order_id = "o3", total = 5 }); // no currency: the shop's

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        Assert.Equal(3, rows.Sum(r => r.Count));
        Assert.Equal(25.0, rows.Sum(r => r.Sum), 9); // not 3,025 "pounds"
    }

    [Fact]
    public async Task AJourneysGoalRevenue_InAnotherCurrency_IsNotAddedToTheVariantsRevenue()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "send"}]},
                       {"id": "send", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Currency = "EUR");
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 12000, currency = "JPY" });

        var rows = await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "promo", MetricPrefix = "journey:" });
        Assert.Equal(1, rows.Where(r => r.Key.Metric == "journey:converted").Sum(r => r.Count));
        Assert.Equal(0.0, rows.Where(r => r.Key.Metric is "journey:revenue" or "journey:variant:a:revenue" or "journey:variant:a:revenue_sq").Sum(r => r.Sum));
    }
}
