using System.Text.Json;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, inputs that crash or stall: odd numbers, nesting, instants and definitions are accepted or refused with their
/// field or JSON path, and never stop the other events of a batch.
/// </summary>
public sealed class OddInputTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    [Theory]
    [InlineData("""{"id": "s", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": -5}, "within": "P999999999D"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"event": "order.placed", "within": "P99999999999999999999Y"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"trait": "age", "op": "gt", "value": 1e400}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"trait": "age", "op": "gt", "value": 1e300}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"trait": "name", "op": "matches", "value": "(a+)+$"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"trait": "name", "op": "contains", "value": "(a+)+$"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"stat": "totalSpent", "op": "gt", "value": 1e30}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"stat": "orderCount", "op": "gt", "value": -1e30}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"stat": "lastOrderAt", "op": "withinLast", "value": "P99999Y"}}""")]
    [InlineData("""{"id": "s", "name": "x", "rule": {"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 1e300}]}}""")]
    public async Task ASegmentWithOddValues_IsRefusedWithItsPath_OrRunsOnEveryEvent(string json)
    {
        var parsed = SegmentJson.Parse(json);
        if (!parsed.IsValid)
        {
            Assert.NotEmpty(parsed.Errors);
            Assert.All(parsed.Errors, e => Assert.StartsWith("$.", e.Path, StringComparison.Ordinal));
            return;
        }

        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(parsed.Value!));
        var traits = await host.Client.TrackAsync(host.Event("user.updated", [Known], traits: new { age = 1e300, name = new string('a', 5000) + "!" }));
        Assert.True(traits.IsAcknowledged, string.Join("; ", traits.Errors));
        var order = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 12.5 }));
        Assert.True(order.IsAcknowledged, string.Join("; ", order.Errors) + order.FailureReason);
        await host.AdvanceAsync(TimeSpan.FromDays(400));
        var later = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 12.5 }));
        Assert.True(later.IsAcknowledged, string.Join("; ", later.Errors) + later.FailureReason);
    }

    [Fact]
    public async Task OddNumbersNestingAndInstants_InOneBatch_AreEachAnsweredAndTheRestGoOn()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(SegmentJson.Parse("""{"id": "big-n", "name": "x", "rule": {"trait": "n", "op": "gt", "value": 5}}""").Value!);
            o.Segments.Add(SegmentJson.Parse("""{"id": "n-set", "name": "x", "rule": {"trait": "n", "op": "exists"}}""").Value!);
        });
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("user.updated", [Known], traits: JsonDocument.Parse("{\"n\": 1e400}").RootElement),
            host.Event("user.updated", [Known], traits: JsonDocument.Parse(deep, new JsonDocumentOptions { MaxDepth = 1000 }).RootElement),
            host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "x", total = "NaN" }),
            host.Event(EventTypes.OrderPlaced, [Known], JsonDocument.Parse("{\"order_id\": \"y\", \"total\": 1e400}").RootElement),
            host.Event(EventTypes.LoyaltyPointsEarned, [Known], new { points = "Infinity" }),
            host.Event("page.viewed", [Known], at: DateTimeOffset.MaxValue),
            host.Event("page.viewed", [Known], at: DateTimeOffset.MinValue.AddDays(1)),
            host.Event("page.viewed", [Known], at: new DateTimeOffset(2026, 1, 5, 22, 59, 0, TimeSpan.FromHours(14))),
            host.Event("page.viewed", [Known], at: new DateTimeOffset(2026, 1, 4, 20, 0, 0, TimeSpan.FromHours(-12))),
            host.Event("page.viewed", [Known]),
        ]);

        // A trait of 1e400 is a JSON number like any other: kept as sent, and a rule comparing it holds.
        Assert.Equal(TrackStatus.Accepted, results[0].Status);
        Assert.All(results.Skip(1).Take(6), r => Assert.Equal(TrackStatus.Rejected, r.Status));
        Assert.Contains(results[1].Errors, e => e.Field.StartsWith("traits", StringComparison.Ordinal));
        Assert.Contains(results[2].Errors, e => e.Field == "properties.total");
        Assert.Contains(results[3].Errors, e => e.Field == "properties.total");
        Assert.Contains(results[4].Errors, e => e.Field == "properties.points");
        Assert.Contains(results[5].Errors, e => e.Field == "timestamp");
        Assert.Contains(results[6].Errors, e => e.Field == "timestamp");
        var unset = await host.Client.TrackAsync(host.Event("page.viewed", [Known], at: DateTimeOffset.MinValue));
        Assert.Contains(unset.Errors, e => e.Field == "timestamp" && e.Message.Contains("MinValue", StringComparison.Ordinal));
        Assert.All(results.Skip(7), r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var p = await host.ProfileAsync(Known);
        Assert.Equal(4, p.Statistics.EventCount);
        Assert.Equal("1e400", p.Traits["n"]!.ToJsonString());
        Assert.True(p.IsInSegment("n-set"));
        Assert.True(p.IsInSegment("big-n"));
        Assert.Contains(p.Timeline, t => t.Timestamp == new DateTimeOffset(2026, 1, 5, 8, 59, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 8, 0, 0, TimeSpan.Zero), p.Statistics.FirstSeen);
    }

    [Theory]
    [InlineData("EUR ")]
    [InlineData(" eur")]
    [InlineData("Eur")]
    public async Task ACurrencyWithSpacesOrInLowerCase_IsTheSameCurrency_AndSpendIsNotSplit(string currency)
    {
        // It used to be a currency of its own: the second order was left out of the headline total.
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(SegmentJson.Parse(
            """{"id": "eur-buyers", "name": "x", "rule": {"event": "order.placed", "where": [{"property": "currency", "op": "eq", "value": "EUR"}], "count": {"op": "gte", "value": 2}}}""").Value!));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 10, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 10, currency });
        await host.TrackAsync(EventTypes.OrderReturned, [Known], new { order_id = "o2", total = 4, currency });

        var p = await host.ProfileAsync(Known);
        Assert.Equal((20m, "EUR"), (p.Statistics.TotalSpent, p.Statistics.Currency));
        Assert.Equal(["EUR"], p.Statistics.SpentByCurrency.Keys);
        Assert.True(p.IsInSegment("eur-buyers"));
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced, "€")]
    [InlineData(EventTypes.OrderReturned, "EURO")]
    [InlineData(EventTypes.CartItemAdded, "E1R")]
    [InlineData(EventTypes.CheckoutStarted, 978)]
    public async Task ACurrencyThatIsNotAnIsoCode_IsRefusedWithItsField_AndTheBatchGoesOn(string type, object currency)
    {
        await using var host = OmnichannelTestHost.Create();
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event(type, [Known], new { order_id = "o1", product_id = "sku-1", total = 10, currency }),
            host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 10, currency = "EUR" }),
        ]);

        Assert.Equal(TrackStatus.Rejected, results[0].Status);
        Assert.Contains(results[0].Errors, e => e.Field == "properties.currency");
        Assert.Equal(TrackStatus.Accepted, results[1].Status);
    }

    [Theory]
    [InlineData("""{"": 1}""")]
    [InlineData("""{"..": 1}""")]
    [InlineData("""{"a..b": 1, "a": 2}""")]
    [InlineData("""{".a": 1, "a.": 2}""")]
    [InlineData("""{"a": 1, "a.b": 2}""")]
    [InlineData("""{"a.b": 2, "a": 1}""")]
    [InlineData("""{"a": 1, "a": {"b": 2}}""")]
    [InlineData("""{"__proto__": {"constructor": 1}}""")]
    public async Task OddTraitKeys_AreAcceptedAndReadable_AndLaterUpdatesStillApply(string traits)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(SegmentJson.Parse("""{"id": "ab", "name": "x", "rule": {"trait": "a.b", "op": "eq", "value": 3}}""").Value!));
        var first = await host.Client.TrackAsync(host.Event("user.updated", [Known], traits: JsonDocument.Parse(traits).RootElement));
        Assert.True(first.IsAcknowledged, $"{first.Status} {first.FailureReason} {string.Join("; ", first.Errors)}");
        Assert.NotNull((await host.Client.ExportProfileAsync(Known))?.ToJsonString());

        await host.TrackAsync("user.updated", [Known], traits: new { a = new { b = 3 } });

        var p = await host.ProfileAsync(Known);
        Assert.True(p.TryGetTrait("a.b", out var ab) && ab.GetInt32() == 3, p.Traits.ToJsonString());
        Assert.True(p.IsInSegment("ab"));
    }

    public static TheoryData<string> Dates() => new()
    {
        "0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00",
        "2026-02-30", "1970-01-01", "1900-02-29", "2000-02-29", "not a date", "", "10000-01-01", "-0001-01-01", "2026-01-05T09:00:00.9999999999Z",
    };

    [Theory]
    [MemberData(nameof(Dates))]
    public async Task DateTraitsAtTheEdgesOfTime_InDateTriggersWaitsAndDateRules_NeverStopTheProfile(string date)
    {
        var journeys = new[]
        {
            JourneyRig.Parse("""
            {"id": "refill", "version": 1, "name": "R", "trigger": {"type": "date", "trait": "due", "offset": "-P7D", "localTime": "09:00"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
            JourneyRig.Parse("""
            {"id": "bday", "version": 1, "name": "B", "trigger": {"type": "date", "trait": "due", "offset": "P1D", "localTime": "09:00", "annual": true},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
            JourneyRig.Parse("""
            {"id": "wait", "version": 1, "name": "W", "trigger": {"type": "event", "event": "user.updated"},
             "steps": [{"id": "d", "type": "delayUntilDateTrait", "trait": "due", "offset": "P3D", "localTime": "10:00"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
        };
        var segments = new[]
        {
            SegmentJson.Parse("""{"id": "a", "name": "x", "rule": {"trait": "due", "op": "anniversaryWithin", "value": "P7D"}}""").Value!,
            SegmentJson.Parse("""{"id": "b", "name": "x", "rule": {"trait": "due", "op": "withinLast", "value": "P7D"}}""").Value!,
            SegmentJson.Parse("""{"id": "c", "name": "x", "rule": {"trait": "due", "op": "moreThanAgo", "value": "P1Y"}}""").Value!,
        };
        await using var rig = JourneyRig.Create(journeys, segments);
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event("user.updated", [Known, Identifier.Email("a@example.com")], traits: new { due = date }));
        Assert.True(r.IsAcknowledged, $"{r.Status} {r.FailureReason}");
        var r2 = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known]));
        Assert.True(r2.IsAcknowledged, $"{r2.Status} {r2.FailureReason}");
        await rig.AdvanceAsync(TimeSpan.FromDays(400));
        var r3 = await rig.Host.Client.TrackAsync(rig.Host.Event("user.updated", [Known], traits: new { due = "2027-06-01" }));
        Assert.True(r3.IsAcknowledged, $"{r3.Status} {r3.FailureReason}");
    }

    [Theory]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delay", "duration": "P99999Y"}, {"id": "s", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delay", "duration": "PT0S"}, {"id": "s", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "waitForEvent", "branches": [{"event": "order.placed"}], "timeout": "P9999Y"}, {"id": "s", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "inactivity", "afterEvent": "page.viewed", "noEvent": "order.placed", "within": "P9999Y"}, "steps": [{"id": "s", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "ab", "type": "split", "variants": [{"name": "A", "weight": 2147483647, "next": "e"}, {"name": "B", "weight": 2147483647, "next": "e"}]}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "ab", "type": "split", "variants": [{"name": "A", "weight": -1, "next": "e"}, {"name": "B", "weight": 0, "next": "e"}]}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 99999999999, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "entry": {"reEntry": "afterCooldown", "cooldown": "P99999Y", "maxConcurrent": -3}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delayUntilLocalTime", "localTime": "24:00"}, {"id": "e", "type": "exit"}]}""")]
    public async Task AJourneyWithOddValues_IsRefusedWithItsPath_OrRunsForAYear(string json)
    {
        var parsed = JourneyJson.Parse(json);
        if (!parsed.IsValid)
        {
            Assert.All(parsed.Errors, e => Assert.StartsWith("$", e.Path, StringComparison.Ordinal));
            return;
        }

        await using var rig = JourneyRig.Create([parsed.Value!]);
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known]));
        Assert.True(r.IsAcknowledged, $"{r.Status} {r.FailureReason}");
        await rig.AdvanceAsync(TimeSpan.FromDays(400));
        var r2 = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known]));
        Assert.True(r2.IsAcknowledged, $"{r2.Status} {r2.FailureReason}");
    }
}
