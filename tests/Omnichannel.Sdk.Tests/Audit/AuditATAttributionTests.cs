using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated event of audit AT: its kind, message, identifier, minute and arrival rank.</summary>
public sealed record AttributionEvent(int Kind, int Message, int Part, int Minute, int Arrival);

/// <summary>FsCheck generators for audit AT: outcomes, orders and one login, back-dated, in any arrival order.</summary>
public static class AttributionEventArbitrary
{
    /// <summary>Streams of up to 12 events.</summary>
    public static Arbitrary<AttributionEvent[]> Streams() =>
        Gen.ArrayOf(
                from kind in Gen.Choose(0, 5)
                from message in Gen.Choose(0, 2)
                from part in Gen.Choose(0, 1)
                from minute in Gen.Choose(0, 180)
                from arrival in Gen.Choose(0, 1_000_000)
                select new AttributionEvent(kind, message, part, minute, arrival))
            .Select(a => a.Take(12).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit AT: a conversion is credited by event time, whatever the arrival order — a click webhook that comes after the
/// order it preceded, a message sent after the order, and touches under another identifier merged in later.
/// </summary>
public sealed class AuditATAttributionTests
{
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-at");
    private static readonly Identifier Known = Identifier.CustomerId("c-at");

    [Fact]
    public async Task AClickWebhookArrivingAfterTheOrder_IsCreditedAsIfItHadArrivedFirst()
    {
        await using var inTime = OmnichannelTestHost.Create();
        await using var late = OmnichannelTestHost.Create();
        var t = inTime.Time.GetUtcNow().AddHours(-2);
        late.Time.SetUtcNow(inTime.Time.GetUtcNow());
        var sentA = (EventTypes.MessageSent, new { message_id = "m-a", channel = "email", journey_id = "a" }, t);
        var sentB = (EventTypes.MessageSent, new { message_id = "m-b", channel = "sms", journey_id = "b" }, t.AddMinutes(2));
        var click = (EventTypes.MessageClicked, new { message_id = "m-a", channel = "email", journey_id = "a" }, t.AddMinutes(5));
        foreach (var (type, props, at) in new[] { sentA, sentB, click })
        {
            await inTime.TrackAsync(type, [Known], props, at: at);
        }

        await inTime.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 80 }, at: t.AddMinutes(10));

        foreach (var (type, props, at) in new[] { sentA, sentB })
        {
            await late.TrackAsync(type, [Known], props, at: at);
        }

        await late.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 80 }, at: t.AddMinutes(10));
        await late.TrackAsync(click.Item1, [Known], click.Item2, at: click.Item3); // the webhook, an hour late

        Assert.Equal(await Rows(inTime), await Rows(late));
        var lastTouch = await late.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", AttributionModel.LastTouch) });
        Assert.Equal(80, lastTouch.Where(r => r.Key.JourneyId == "a").Sum(r => r.Sum), 6); // the click is the last touch
        Assert.Equal(0, lastTouch.Where(r => r.Key.JourneyId == "b").Sum(r => r.Sum), 6);
        Assert.Equal(1L, (await late.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") })).Sum(r => r.Count));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the message's events arrive before the (back-dated) order
    public async Task AMessageSentAfterTheOrder_IsNeverCredited_InAnyArrivalOrder(bool messageFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-2);
        var order = host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 80 }, at: t);
        var sent = host.Event(EventTypes.MessageSent, [Known], new { message_id = "m-after", channel = "email", journey_id = "after" }, at: t.AddMinutes(1));
        var clicked = host.Event(EventTypes.MessageClicked, [Known], new { message_id = "m-after", channel = "email", journey_id = "after" }, at: t.AddMinutes(3));
        foreach (var e in messageFirst ? new[] { sent, clicked, order } : [order, sent, clicked])
        {
            await host.TrackAsync(e);
        }

        var credit = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "credit:" });
        Assert.Equal(0, credit.Sum(r => r.Sum), 9);
        Assert.Equal(1L, (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") })).Sum(r => r.Count));
    }

    [Theory]
    [InlineData(0)] // in time order: click, order, login
    [InlineData(1)] // order, login, then the late click (under the cookie, now the customer's)
    [InlineData(2)] // order, late click, then login
    public async Task AClickUnderTheCookie_IsCreditedForTheCustomersOrder_WhateverTheArrivalOrder(int arrival)
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow().AddHours(-2);
        var sent = host.Event(EventTypes.MessageSent, [Cookie], new { message_id = "m-1", channel = "email", journey_id = "win-back" }, at: t);
        var clicked = host.Event(EventTypes.MessageClicked, [Cookie], new { message_id = "m-1", channel = "email", journey_id = "win-back" }, at: t.AddMinutes(5));
        var order = host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o-1", total = 60 }, at: t.AddMinutes(10));
        var login = host.Event("user.logged_in", [Cookie, Known], at: t.AddMinutes(20));
        await host.TrackAsync(sent);
        foreach (var e in arrival switch { 0 => new[] { clicked, order, login }, 1 => [order, login, clicked], _ => [order, clicked, login] })
        {
            await host.TrackAsync(e);
        }

        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            var revenue = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", model) });
            Assert.Equal(60, revenue.Where(r => r.Key.JourneyId == "win-back").Sum(r => r.Sum), 6);
            var credit = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Credit("order", model) });
            Assert.Equal(1, credit.Sum(r => r.Sum), 6);
        }
    }

    /// <summary>
    /// Random sends, outcomes and orders under two identifiers, with a login that merges them anywhere: the measurement
    /// rows in arrival order equal those of the same events in time order (credit and revenue per touch, conversions).
    /// </summary>
    [Property(Arbitrary = [typeof(AttributionEventArbitrary)], MaxTest = 50)]
    public bool AttributionRows_AreTheSame_WhateverTheArrivalOrder(AttributionEvent[] events)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            await using var timeOrder = OmnichannelTestHost.Create();
            await using var arrival = OmnichannelTestHost.Create();
            arrival.Time.SetUtcNow(timeOrder.Time.GetUtcNow());
            var start = timeOrder.Time.GetUtcNow().AddHours(-4);
            var built = events.Select((s, i) => (s, i, e: Build(timeOrder, s, i, start))).ToList();
            foreach (var (_, _, e) in built.OrderBy(b => b.e.Timestamp).ThenBy(b => b.i))
            {
                await timeOrder.TrackAsync(e);
            }

            foreach (var (_, _, e) in built.OrderBy(b => b.s.Arrival).ThenBy(b => b.i))
            {
                await arrival.TrackAsync(e);
            }

            return await Rows(timeOrder) == await Rows(arrival);
        }
    }

    private static CustomerEvent Build(OmnichannelTestHost host, AttributionEvent s, int index, DateTimeOffset start)
    {
        var at = start.AddMinutes(s.Minute);
        var id = s.Part == 0 ? Cookie : Known;
        var message = new { message_id = $"m-{s.Message}", channel = s.Message == 1 ? "sms" : "email", journey_id = $"j-{s.Message}" };
        return s.Kind switch
        {
            0 => host.Event(EventTypes.MessageSent, [id], message, at: at),
            1 => host.Event(EventTypes.MessageDelivered, [id], message, at: at),
            2 => host.Event(EventTypes.MessageOpened, [id], message, at: at),
            3 => host.Event(EventTypes.MessageClicked, [id], message, at: at),
            4 => host.Event(EventTypes.OrderPlaced, [id], new { order_id = $"o-{index}", total = 10 + (7 * index) }, at: at),
            _ => host.Event("user.logged_in", [Cookie, Known], at: at),
        };
    }

    // Credit, revenue and conversion rows: count and sum per journey, channel, day and metric.
    private static async Task<string> Rows(OmnichannelTestHost host)
    {
        var rows = new List<string>();
        foreach (var prefix in new[] { "credit:", "revenue:", "conversion:" })
        {
            foreach (var r in await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = prefix }))
            {
                if (r.Count != 0 || Math.Abs(r.Sum) > 1e-9)
                {
                    rows.Add(FormattableString.Invariant($"{r.Key.JourneyId}/{r.Key.Channel}/{r.Key.Day:yyyy-MM-dd}/{r.Key.Metric}={r.Count}:{Math.Round(r.Sum, 6)}"));
                }
            }
        }

        rows.Sort(StringComparer.Ordinal);
        return string.Join("\n", rows);
    }
}
