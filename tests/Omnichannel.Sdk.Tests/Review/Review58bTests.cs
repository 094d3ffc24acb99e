using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Audit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>Orders and returns only (U94's kinds 0 and 2), spread over three profiles of one person.</summary>
public static class Review58bArbitrary
{
    public static Arbitrary<U94Event[]> Streams() =>
        Gen.ListOf(
                from kind in Gen.Elements(0, 2, 2)
                from variant in Gen.Choose(0, 11)
                from minute in Gen.Choose(0, 6)
                from arrival in Gen.Choose(0, 1_000_000)
                select new U94Event(kind, variant, minute, arrival))
            .Select(l => l.Take(10).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Review of U94 (session 58): measured conversions and revenue net of returns over three profiles of one person merged
/// one after the other equal one profile given the events in time order.
/// </summary>
public sealed class Review58bTests
{
    private static readonly Identifier Who = Identifier.CustomerId("u94");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-u94");
    private static readonly Identifier Cookie2 = Identifier.AnonymousId("cookie2-u94");

    [Property(Arbitrary = [typeof(Review58bArbitrary)], MaxTest = 150)]
    public async Task OrdersAndReturns_OverThreeProfiles_MergedTwice_MeasureAsOneInTimeOrder(U94Event[] events)
    {
        var byTime = Enumerable.Range(0, events.Length).OrderBy(i => events[i].Minute).ThenBy(i => i).ToArray();
        var expected = await Measured(events, byTime, sides: 1);
        var generated = Enumerable.Range(0, events.Length).OrderBy(i => events[i].ArrivalKey).ThenBy(i => i).ToArray();
        Assert.Equal(expected, await Measured(events, generated, sides: 3));
        Assert.Equal(expected, await Measured(events, byTime.Reverse().ToArray(), sides: 3));
    }

    private static async Task<string> Measured(U94Event[] events, int[] arrival, int sides)
    {
        await using var host = OmnichannelTestHost.Create();
        foreach (var i in arrival)
        {
            var on = sides == 1 ? Who : (events[i].ArrivalKey % 3) switch { 0 => Cookie, 1 => Cookie2, _ => Who };
            var r = await host.TrackAsync(AuditU94Tests.Build(events[i], i, on));
            Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
        }

        var start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);
        var minute = 9;
        foreach (var cookie in new[] { Cookie, Cookie2 })
        {
            var login = new CustomerEvent
            {
                Id = "login-" + cookie.Value,
                Type = "user.logged_in",
                Timestamp = start + TimeSpan.FromMinutes(minute++),
                Identifiers = [Who, cookie],
                Channel = ChannelNames.Web,
            };
            Assert.True((await host.TrackAsync(login)).IsAcknowledged);
        }

        var s = (await host.ProfileAsync(Who)).Statistics;
        var rows = await host.Engine.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { MetricPrefix = Omnichannel.Sdk.Measurement.MeasurementMetrics.Conversion("order") });
        return FormattableString.Invariant($"returns {s.ReturnCount} {s.ReturnValue}; measured {rows.Sum(r => r.Count)} {Math.Round(rows.Sum(r => r.Sum), 6) + 0.0}");
    }

    /// <summary>
    /// The order-fact stored form (a2439e7) against what it may meet: huge, negative and scaled totals, offsets, escaped
    /// ids, and documents written before with members in another order, members it does not know (nested) and
    /// <c>null</c> members; 20 orders, so the written bytes are kept and written again after a reload.
    /// </summary>
    [Fact]
    public void OrderFacts_OddValuesAndOldDocuments_ReadBackAsTheyWere()
    {
        var start = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(14));
        var p = new CustomerProfile("p1", start);
        decimal[] totals = [decimal.MaxValue, decimal.MinValue, -0.00m, 0.0000000000000000000000000001m, -12.340m, 0m];
        for (var i = 0; i < 20; i++)
        {
            p.Orders[$"order:\"o{i}\u2028\n"] = new OrderFact(
                totals[i % totals.Length], i % 2 == 0 ? "EUR" : null, start.AddMinutes(i), i % 3 == 0 ? start.AddMinutes(i).ToOffset(TimeSpan.FromHours(-12)) : start.AddMinutes(i),
                $"e\"{i}\\", i % 4 == 0 ? "first</script>" : $"e\"{i}\\", i % 5 == 0 ? null : $"order:\"o{i}\"");
        }

        var bytes = ProfileSerializer.Serialize(p);
        var read = ProfileSerializer.Deserialize(bytes, 1);
        Assert.Equal(p.Orders.OrderBy(o => o.Key, StringComparer.Ordinal).Select(Text), read.Orders.OrderBy(o => o.Key, StringComparer.Ordinal).Select(Text));
        read.Orders["order:new"] = new OrderFact(1m, "EUR", start, start, "n", "n");
        var again = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(read), 2);
        Assert.Equal(p.Orders.Count + 1, again.Orders.Count);
        Assert.Equal(p.Orders.OrderBy(o => o.Key, StringComparer.Ordinal).Select(Text), again.Orders.Where(o => o.Key != "order:new").OrderBy(o => o.Key, StringComparer.Ordinal).Select(Text));

        // Written before: every member, in another order, with members unknown to this version and null members.
        var old = """
            {"id":"p1","createdAt":"2026-03-01T09:00:00+00:00","orders":{"order:o1":{"lines":null,"extra":{"a":[1,{"b":null}]},"firstEventId":"e0",
            "eventId":"e1","order":null,"updatedAt":"2026-03-01T10:00:00-05:00","at":"2026-03-01T09:00:00+02:00","currency":"EUR","total":-1.50,"more":[]}}}
            """;
        var f = ProfileSerializer.Deserialize(Encoding.UTF8.GetBytes(old), 1).Orders["order:o1"];
        Assert.Equal("-1.50|EUR|2026-03-01T09:00:00.0000000+02:00|2026-03-01T10:00:00.0000000-05:00|e1|e0||", Text(new("k", f)));
    }

    private static string Text(KeyValuePair<string, OrderFact> o) =>
        string.Join('|', o.Value.Total.ToString(System.Globalization.CultureInfo.InvariantCulture), o.Value.Currency, o.Value.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            o.Value.UpdatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), o.Value.EventId, o.Value.FirstEventId, o.Value.Order, o.Value.Lines?.Count);
}
