using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// First hour, thirteenth pass: a shop that already runs Segment's tracking clients tests its registration on the test
/// kit. A timestamp pasted from a client's payload was "N s in the future" with no word of whose clock (the test host's
/// starts on 2026-01-05); an order tracked in C# with the Spec's <c>revenue</c> or <c>orderId</c> (which only the tracking
/// API translates) counted 0 and as an order of its own, silently. Now the refusal names the engine's clock, and
/// <see cref="TrackResult.Ignored"/> names the Spec's property.
/// </summary>
public sealed class FirstHourThirteenthPassTests
{
    [Fact]
    public async Task ATimestampAheadOfAFakeClock_IsRefused_NamingTheEnginesClock()
    {
        await using var host = OmnichannelTestHost.Create();
        var pasted = DateTimeOffset.Parse("2026-05-01T10:01:00.000Z", System.Globalization.CultureInfo.InvariantCulture);

        var result = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Identifier.CustomerId("c-1")], new { order_id = "o-1", total = 20 }, at: pasted));

        Assert.Equal(TrackStatus.Rejected, result.Status);
        var error = Assert.Single(result.Errors);
        Assert.Equal("timestamp", error.Field);
        Assert.Equal($"is {(pasted - OmnichannelTestHost.DefaultStart).TotalSeconds:0} s (116 days) in the future by the engine's clock (its TimeProvider, now 2026-01-05T09:00:00Z); at most 300 s of clock skew is allowed", error.Message);
        var thrown = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c-1")], new { order_id = "o-1", total = 20 }, at: pasted));
        Assert.Contains("now 2026-01-05T09:00:00Z", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATimestampAMinuteAhead_SaysSecondsOnly()
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.AnonymousId("a-1")], at: host.Time.GetUtcNow().AddMinutes(6)));
        Assert.Equal("is 360 s in the future by the engine's clock (its TimeProvider, now 2026-01-05T09:00:00Z); at most 300 s of clock skew is allowed", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public async Task AnOrderWithTheSpecsNames_IsAccepted_AndItsResultNamesThem()
    {
        await using var host = OmnichannelTestHost.Create();
        var clara = Identifier.CustomerId("c-1");

        var first = await host.TrackAsync(EventTypes.OrderPlaced, [clara], new { orderId = "o-1", revenue = 20, currency = "GBP" });
        var again = await host.TrackAsync(EventTypes.OrderPlaced, [clara], new { orderId = "o-1", value = 20, currency = "GBP" });

        Assert.Equal(["properties.orderId", "properties.revenue"], first.Ignored.Select(i => i.Field));
        Assert.Contains("send total", first.Ignored[1].Message, StringComparison.Ordinal);
        Assert.Contains("send order_id", first.Ignored[0].Message, StringComparison.Ordinal);
        Assert.Equal(["properties.orderId", "properties.value"], again.Ignored.Select(i => i.Field));
        var profile = await host.ProfileAsync(clara);
        Assert.Equal(2, profile.Statistics.OrderCount);   // what the result warned of: two orders, worth nothing
        Assert.Equal(0m, profile.Statistics.TotalSpent);
    }

    [Fact]
    public async Task AnOrderWithTheSdksNames_HasNothingIgnored_WhateverSpecNamesItAlsoCarries()
    {
        await using var host = OmnichannelTestHost.Create();
        var clara = Identifier.CustomerId("c-1");

        var order = await host.TrackAsync(EventTypes.OrderPlaced, [clara], new { order_id = "o-1", orderId = "o-1", total = 24, revenue = 20, value = 20, currency = "GBP" });
        var cancelled = await host.TrackAsync(EventTypes.OrderCancelled, [clara], new { order_id = "o-1", revenue = 20 });
        var page = await host.TrackAsync("page.viewed", [clara], new { revenue = 20, orderId = "x" });
        var checkout = await host.TrackAsync(EventTypes.CheckoutStarted, [clara], new { orderId = "o-2", revenue = 20 });

        Assert.Empty(order.Ignored);
        Assert.Empty(cancelled.Ignored);   // a cancellation has no amount: revenue is not looked for
        Assert.Empty(page.Ignored);
        Assert.Equal(["properties.revenue"], checkout.Ignored.Select(i => i.Field));   // a checkout's id is not an order's
        Assert.Equal(24m, (await host.ProfileAsync(clara)).Statistics.TotalSpent);
    }

    [Fact]
    public async Task AWeekEndingToday_IsTodayMinusSixToToday_BothDaysIncluded()
    {
        // The README's "last week" query: From and To are both inclusive, so seven days are From = today - 6.
        await using var host = OmnichannelTestHost.Create();
        var clara = Identifier.CustomerId("c-1");
        for (var day = 0; day < 8; day++)
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [clara], new { order_id = $"o-{day}", total = 10 });
            await host.AdvanceAsync(TimeSpan.FromDays(1));
        }

        var today = host.Engine.Options.Measurement.DayOf(host.Time.GetUtcNow().AddDays(-1));
        var week = await MeasurementReport.BuildAsync(host.Engine, new MeasurementReportOptions { From = today.AddDays(-6), To = today });
        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order"), From = today.AddDays(-6), To = today });

        Assert.Equal(7, week.Conversions);
        Assert.Equal(7, rows.Sum(r => r.Count));
    }
}
