using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit E2: bug classes from public reports of shops, list managers and experiment assigners (money, orders and list
/// hygiene), replayed against the public API.
/// </summary>
public sealed class AuditE2MoneyAndListTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    // Mozu/core-theme#448: amounts rounded to two decimals broke KWD, which has three (fils).
    [Fact]
    public async Task AnAverageOrderValueInAThreeDecimalCurrency_KeepsItsThirdDecimal()
    {
        await using var host = OmnichannelTestHost.Create(o =>
            o.Segments.Add(SegmentJson.Parse("""{"id": "aov", "name": "x", "rule": {"stat": "averageOrderValue", "op": "gte", "value": 10.125}}""").Value!));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10.125m, currency = "KWD" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 10.125m, currency = "KWD" });

        var p = await host.ProfileAsync(Ann);
        Assert.Equal("KWD", p.Statistics.Currency);
        Assert.Equal(10.125m, p.Statistics.AverageOrderValue); // not 10.12 (and never banker's-rounded down)
        Assert.True(p.IsInSegment("aov"));
    }

    // The same with the shop's currency configured (Bahraini dinar); a two-decimal currency still rounds to cents, half
    // away from zero as shops and RubyMoney/money#863 do (dinerojs/dinero.js#157: 3.025 shown as 3.02 by half-to-even);
    // a zero-decimal currency's average keeps its cents (an average, not an amount to charge).
    [Theory]
    [InlineData("BHD", "1.000", "2.001", "1.501")]
    [InlineData("GBP", "1.00", "2.01", "1.51")] // 1.505, which half-to-even made 1.50
    [InlineData("JPY", "1000", "2001", "1500.5")]
    public async Task AnAverageOrderValue_KeepsAtLeastTheCurrencysMinorUnits_AndRoundsHalfAwayFromZero(string currency, string first, string second, string average)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = currency);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = decimal.Parse(first, System.Globalization.CultureInfo.InvariantCulture), currency });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = decimal.Parse(second, System.Globalization.CultureInfo.InvariantCulture), currency });

        Assert.Equal(decimal.Parse(average, System.Globalization.CultureInfo.InvariantCulture), (await host.ProfileAsync(Ann)).Statistics.AverageOrderValue);
    }

    // Binary floating point: 0.10 summed ten times as doubles is 0.9999999999999999 (lodash/lodash#3877,
    // dhis2/dhis2-core#274). The profile keeps money in decimal: ten orders of 0.10 are exactly 1.00, and a rule
    // "totalSpent eq 1" holds.
    [Fact]
    public async Task TenOrdersOfTenCents_AreExactlyOne_InTheProfileAndItsRules()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Currency = "EUR";
            o.Segments.Add(SegmentJson.Parse("""{"id": "one", "name": "x", "rule": {"stat": "totalSpent", "op": "eq", "value": 1}}""").Value!);
        });
        for (var i = 0; i < 10; i++)
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o" + i, total = "0.10", currency = "EUR" });
        }

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(1.00m, p.Statistics.TotalSpent);
        Assert.Equal(0.10m, p.Statistics.AverageOrderValue);
        Assert.True(p.IsInSegment("one"));
    }

    // togglz/togglz#104 and Unleash/unleash-python-sdk#282: a bucket hashed from the user alone (or with one seed for
    // every flag) puts the same users first in every rollout and the same arm of every experiment. Two journeys' splits,
    // with the same step id and weights, must draw independently: agreement near half, not all or none.
    [Fact]
    public async Task TwoJourneysSplits_DrawIndependently_NotTheSameArmForTheSamePeople()
    {
        static JourneyDefinition Journey(string id) => JourneyRig.Parse($$"""
            {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "split", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "end"}, {"name": "b", "weight": 1, "next": "end"}]},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([Journey("ab-one"), Journey("ab-two")]);
        const int N = 400;
        var events = Enumerable.Range(0, N).Select(i => rig.Host.Event("user.signed_up", [Identifier.CustomerId("c" + i)])).ToList();
        foreach (var r in await rig.Engine.TrackBatchAsync(events))
        {
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        var same = 0;
        for (var i = 0; i < N; i++)
        {
            var experiments = (await rig.Host.ProfileAsync(Identifier.CustomerId("c" + i))).Experiments;
            var one = experiments.Single(e => e.JourneyId == "ab-one").Variant;
            var two = experiments.Single(e => e.JourneyId == "ab-two").Variant;
            same += one == two ? 1 : 0;
        }

        // Independent 50/50 draws agree with probability ½: 200 ± 4 standard deviations (10 each).
        Assert.InRange(same, 160, 240);
    }

    // knadh/listmonk#929 and #1931: a re-import of old subscribers, or a bounce routine, put people who had unsubscribed
    // back on the list. An imported opt-in carries the time she gave it: older than her unsubscribe, it changes nothing
    // and she gets no marketing; an opt-in she makes after the unsubscribe stands.
    [Fact]
    public async Task AnImportedOldOptIn_DoesNotUndoALaterUnsubscribe_ButHerOwnNewerOptInDoes()
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow();
        var email = Identifier.Email("ann@example.com");
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, email], new { channel = "email", topic = "newsletter", granted = true }, at: now.AddDays(-30));
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" }, at: now.AddDays(-2));

        // The import: the newsletter opt-in as recorded a year ago, sent today.
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, email], new { channel = "email", topic = "newsletter", granted = true, source = "import" }, at: now.AddDays(-365));
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);

        // She subscribes again herself.
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "newsletter", granted = true }, at: now);
        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    // craftcms/commerce#1098, woocommerce/woocommerce#54499: refunds taken in two steps add up past the order. The profile
    // keeps each refund as a fact (two returns with their ids, even of the same amount); a copy of one re-sent without an
    // id (a webhook retry) is the same return, so two equal partial refunds need their return_id to count twice.
    [Fact]
    public async Task TwoPartialRefundsOfOneOrder_AreTwoReturnsWithTheirIds_AndAReSentCopyIsOne()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Currency = "EUR");
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 100, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r1", total = 60, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r2", total = 60, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o1", return_id = "r2", total = 60, currency = "EUR" }); // retried

        var s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal((1, 100m, 2, 120m), (s.OrderCount, s.TotalSpent, s.ReturnCount, s.ReturnValue));

        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 50, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o2", total = 10, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Ann], new { order_id = "o2", total = 10, currency = "EUR" });
        s = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal((3, 130m), (s.ReturnCount, s.ReturnValue));
    }
}
