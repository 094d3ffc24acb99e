using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U47: one order, its versions (total and currency, GBP or JPY) and up to three refunds each sent once or twice
/// (amount and currency, GBP, JPY or none, corrected under the same return id), at random times and in a random arrival
/// order, without a shop currency. The profile's refunded value and the order's measured revenue must equal a reference:
/// the newest version of each (event time, then id), a refund counted when it names the order's currency or none, the
/// revenue its total less those refunds, never below zero.
/// </summary>
public sealed class AuditU47RefundProperties
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly string?[] Currencies = ["GBP", "JPY", null];

    private sealed record Planned(bool Refund, string Id, int Amount, string? Currency, int Minute, string EventId);

    [Property(MaxTest = 80)]
    public void RefundsInAnyArrivalOrder_AgreeWithTheReference(int seed) => Check(seed).GetAwaiter().GetResult();

    private static async Task Check(int seed)
    {
        var random = new Random(seed);
        var planned = new List<Planned>();
        var versions = random.Next(1, 3);
        for (var v = 0; v < versions; v++)
        {
            planned.Add(new(false, "o1", random.Next(0, 5) * 25, Currencies[random.Next(2)], random.Next(0, 60), $"e-o-{v}"));
        }

        var refunds = random.Next(0, 4);
        for (var r = 0; r < refunds; r++)
        {
            var copies = random.Next(1, 3);
            for (var copy = 0; copy < copies; copy++)
            {
                planned.Add(new(true, $"r{r}", random.Next(1, 8) * 10, Currencies[random.Next(3)], random.Next(0, 60), $"e-r{r}-{copy}"));
            }
        }

        var arrival = planned.OrderBy(_ => random.Next()).ToList();
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddHours(-2);
        foreach (var p in arrival)
        {
            var e = p.Refund
                ? host.Event(EventTypes.OrderReturned, [Ann], Props(new { order_id = "o1", return_id = p.Id, total = p.Amount }, p.Currency), at: at.AddMinutes(p.Minute))
                : host.Event(EventTypes.OrderPlaced, [Ann], Props(new { order_id = "o1", total = p.Amount }, p.Currency), at: at.AddMinutes(p.Minute));
            await host.TrackAsync(e with { Id = p.EventId });
        }

        static Planned Newest(IEnumerable<Planned> versions) =>
            versions.OrderByDescending(v => v.Minute).ThenByDescending(v => v.EventId, StringComparer.Ordinal).First();

        var order = Newest(planned.Where(p => !p.Refund));
        var refunded = planned.Where(p => p.Refund).GroupBy(p => p.Id).Select(Newest)
            .Where(r => r.Currency is null || r.Currency == order.Currency).Sum(r => (decimal)r.Amount);
        var revenue = refunded <= 0 ? order.Amount : order.Amount <= 0 ? 0 : Math.Max(0, order.Amount - refunded);

        var s = (await host.ProfileAsync(Ann)).Statistics;
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        var arrived = string.Join(", ", arrival.Select(p => $"{p.EventId}@{p.Minute}:{p.Amount}{p.Currency}"));
        Assert.True(refunded == s.ReturnValue, $"seed {seed}: returnValue {s.ReturnValue}, expected {refunded}; {arrived}");
        Assert.True(Math.Abs((double)revenue - rows.Sum(r => r.Sum)) < 1e-9, $"seed {seed}: revenue {rows.Sum(r => r.Sum)}, expected {revenue}; {arrived}");
        Assert.Equal(1, rows.Sum(r => r.Count));
    }

    private static Dictionary<string, object?> Props(object basic, string? currency)
    {
        var d = basic.GetType().GetProperties().ToDictionary(p => p.Name, p => p.GetValue(basic));
        if (currency is not null)
        {
            d["currency"] = currency;
        }

        return d;
    }
}
