using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U41: history loaded through the public API (a year of past orders, a replay after an outage) and live traffic
/// in batches. Reports: getdatakick/revws#75 ("Emails send when importing reviews"), segmentio/action-destinations#3094
/// (Klaviyo's <c>historical_import</c>: "importing existing profiles … without sending them an email or SMS"),
/// segment-boneyard/segment-docs#2348 (journeys' entry conditions and historical data), mautic/mautic#5246 (a campaign
/// on a segment runs for everyone a back-fill put in it).
/// </summary>
public sealed class AuditU41ImportTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static SegmentDefinition Seg(string json) => SegmentJson.Parse(json).Value ?? throw new InvalidOperationException(string.Join("; ", SegmentJson.Parse(json).Errors));

    private static readonly SegmentDefinition Buyers = Seg("""{"id": "buyers", "name": "Buyers", "rule": {"stat": "orderCount", "op": "gte", "value": 1}}""");

    private static readonly SegmentDefinition NeverOrdered = Seg("""{"id": "never-ordered", "name": "Never ordered", "rule": {"stat": "orderCount", "op": "eq", "value": 0}}""");

    private static readonly SegmentDefinition Lapsed = Seg("""{"id": "lapsed", "name": "Lapsed", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"stat": "lastOrderAt", "op": "moreThanAgo", "value": "P90D"}]}}""");

    private static JourneyDefinition OnSegment(string id, string segment, string on = "entered", string maxAge = "", string delay = "P7D") => JourneyRig.Parse($$"""
        {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {"type": "segment", "segment": "{{segment}}", "on": "{{on}}"{{maxAge switch { "" => "", null => ", \"maxAge\": null", _ => $", \"maxAge\": \"{maxAge}\"" }}}},
         "steps": [{"id": "wait", "type": "delay", "duration": "{{delay}}"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "{{id}}", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> SignedUpAsync(JourneyDefinition journey, params SegmentDefinition[] segments)
    {
        var rig = JourneyRig.Create([journey], segments);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    private static object Order(string id) => new { order_id = id, total = 20, currency = "EUR" };

    [Fact]
    public async Task AnImportedYearOldOrder_PutsHerInTheSegment_ButStartsNoSegmentJourney()
    {
        // Before: the "buyers" segment's review request went out a week after an order from 300 days ago was loaded.
        await using var rig = await SignedUpAsync(OnSegment("review", "buyers"), Buyers);
        var r = await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), at: rig.Host.Time.GetUtcNow().AddDays(-300));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "buyers" && c.Entered);
        await rig.AdvanceAsync(TimeSpan.FromDays(8));

        Assert.Empty(rig.Sent());
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Contains(profile.Segments, s => s.SegmentId == "buyers");
        var refused = Assert.Single(profile.Timeline, t => t.Type == "journey.entry_refused");
        Assert.Contains("the event that caused it (order.placed) is older than the trigger's maxAge P1D", refused.Summary, StringComparison.Ordinal);
        Assert.Contains("trigger: entered segment buyers", refused.Summary, StringComparison.Ordinal);
        var stats = await rig.Engine.GetJourneyStatisticsAsync("review");
        Assert.Equal((0, 1), (stats.Entered, stats.EntriesRefused));
    }

    [Fact]
    public async Task AnImportedOldOrder_LeavingANeverOrderedSegment_StartsNoExitJourney()
    {
        await using var rig = await SignedUpAsync(OnSegment("thanks", "never-ordered", on: "exited", delay: "PT1H"), NeverOrdered);
        await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), at: rig.Host.Time.GetUtcNow().AddDays(-40));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));

        Assert.Empty(rig.Sent());
        Assert.DoesNotContain((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "never-ordered");
    }

    [Fact]
    public async Task AnImportedOrder_200DaysOld_DoesNotSendTheLapsedSegmentsWinBack_ButTimePassingAfterALiveOrderDoes()
    {
        // The segment form of the inactivity trigger's maxAge: a "lastOrderAt more than 90 days ago" segment is entered by
        // the import itself. A live order later makes her leave it, and she enters it again by time passing: sent.
        await using var rig = await SignedUpAsync(OnSegment("win-back", "lapsed", delay: "PT1H"), Lapsed);
        await rig.Host.TrackAsync("order.placed", [Ann], Order("old"), at: rig.Host.Time.GetUtcNow().AddDays(-200));
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "lapsed");
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Empty(rig.Sent());

        await rig.TrackAsync("order.placed", [Ann], Order("live"));
        await rig.AdvanceAsync(TimeSpan.FromDays(92));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    [Fact]
    public async Task ABatchImportOfTwentyCustomersYearOfOrders_MessagesNobody_WhileTodaysFirstOrderStillDoes()
    {
        await using var rig = JourneyRig.Create([OnSegment("review", "buyers", delay: "PT1H")], [Buyers]);
        var now = rig.Host.Time.GetUtcNow();
        var events = new List<CustomerEvent>();
        for (var c = 0; c < 20; c++)
        {
            Identifier[] ids = [Identifier.CustomerId($"c{c}"), Identifier.Email($"c{c}@example.com")];
            for (var k = 0; k < 4; k++)
            {
                events.Add(rig.Host.Event(EventTypes.OrderPlaced, ids, Order($"c{c}-o{k}"), at: now.AddDays(-360 + (c * 3) + (k * 80))));
            }
        }

        var results = await rig.Engine.TrackBatchAsync(events);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Empty(rig.Sent());
        Assert.Equal(20, (await rig.Engine.GetSegmentMembersAsync("buyers", null, 100)).Count);

        await rig.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("new"), Identifier.Email("new@example.com")], Order("n1"));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:review"], rig.Sent());
    }

    [Theory]
    [InlineData(null, 1)]   // no limit: the old behaviour, on purpose
    [InlineData("P400D", 1)]
    [InlineData("P30D", 0)]
    public async Task ASegmentTriggersMaxAge_IsTheLimit_NullForNone(string? maxAge, int sent)
    {
        await using var rig = await SignedUpAsync(OnSegment("review", "buyers", maxAge: maxAge!, delay: "PT1H"), Buyers);
        await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), at: rig.Host.Time.GetUtcNow().AddDays(-300));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(sent, rig.Sent().Count);
    }

    [Fact]
    public async Task ALiveOrder_OrOneADeviceSentHoursLate_StillStartsTheSegmentJourney()
    {
        await using var rig = await SignedUpAsync(OnSegment("review", "buyers", delay: "PT1H"), Buyers);
        await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), at: rig.Host.Time.GetUtcNow().AddHours(-23));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:review"], rig.Sent());
    }

    [Theory]
    [InlineData("\"maxAge\": null", null)]
    [InlineData("\"maxAge\": \"PT4H\"", "PT4H")]
    [InlineData("", "P1D")]
    public void ASegmentTriggersMaxAge_RoundTripsThroughJson(string member, string? expected)
    {
        var json = $$"""
            {"id": "review", "version": 1, "name": "Review", "trigger": {"type": "segment", "segment": "buyers", "on": "entered"{{(member.Length > 0 ? ", " + member : "")}}},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "review"}]}
            """;
        var parsed = JourneyJson.Parse(json);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        var trigger = Assert.IsType<SegmentTrigger>(parsed.Value!.Trigger);
        Assert.Equal(expected, trigger.MaxAge?.ToString());
        var again = JourneyJson.Parse(JourneyJson.Serialize(parsed.Value)).Value!;
        Assert.Equal(trigger.MaxAge, Assert.IsType<SegmentTrigger>(again.Trigger).MaxAge);

        // The schema's segment trigger (additionalProperties: false) names it too.
        using var schema = System.Text.Json.JsonDocument.Parse(JourneyJson.Schema);
        var segmentBranch = schema.RootElement.GetProperty("$defs").GetProperty("trigger").GetProperty("oneOf").EnumerateArray()
            .Single(b => b.GetProperty("properties").GetProperty("type").TryGetProperty("const", out var c) && c.GetString() == "segment");
        Assert.True(segmentBranch.GetProperty("properties").TryGetProperty("maxAge", out _));
    }

    [Fact]
    public void AZeroMaxAgeOnASegmentTrigger_IsRefusedWithItsPath()
    {
        var parsed = JourneyJson.Parse("""
            {"id": "review", "version": 1, "name": "Review", "trigger": {"type": "segment", "segment": "buyers", "on": "entered", "maxAge": "PT0S"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "review"}]}
            """);
        Assert.False(parsed.IsValid);
        Assert.Contains(parsed.Errors, e => e.Path == "$.trigger.maxAge");
    }

    // --- EventContext.Historical: history marked as such starts nothing, whatever its age (a migration from another
    // system, whose last day of carts was already reminded there: segmentio/action-destinations#3094's historical_import).

    private static JourneyDefinition Cart() => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    private static readonly EventContext History = new() { Historical = true };

    [Fact]
    public async Task ACartMarkedHistorical_StartsNoJourney_EvenWhenItIsAnHourOld_ButStaysOnHerProfile()
    {
        await using var rig = await SignedUpAsync(Cart());
        await rig.Host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "kibble", price = 20 }, context: History, at: rig.Host.Time.GetUtcNow().AddHours(-1));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty(rig.Sent());
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Equal("kibble", Assert.Single(profile.Cart).ProductId);
        Assert.Contains(profile.Timeline, t => t.Type == "journey.entry_refused" && t.Summary!.Contains("sent as history (context.historical)", StringComparison.Ordinal));
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).EntriesRefused);
    }

    [Fact]
    public async Task AnOrderMarkedHistorical_EntersTheSegment_ButStartsNoSegmentJourney()
    {
        await using var rig = await SignedUpAsync(OnSegment("review", "buyers", delay: "PT1H"), Buyers);
        await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), context: History);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Empty(rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, s => s.SegmentId == "buyers");
    }

    [Fact]
    public async Task AHistoricalOrder_StillEndsTheLiveCartJourney_ItAnswers()
    {
        // History is applied like any event: the order she placed (loaded from the shop's database) exits the reminder.
        await using var rig = await SignedUpAsync(Cart());
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "kibble", price = 20 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.Host.TrackAsync("order.placed", [Ann], Order("o1"), context: History);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Empty(rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Entered);
    }

    [Fact]
    public void Historical_IsWrittenOnlyWhenTrue_AndReadBack()
    {
        var plain = System.Text.Json.JsonSerializer.Serialize(new EventContext { Locale = "fr-FR" });
        Assert.DoesNotContain("historical", plain, StringComparison.Ordinal);
        var marked = System.Text.Json.JsonSerializer.Serialize(History);
        Assert.Contains("\"historical\":true", marked, StringComparison.Ordinal);
        Assert.True(System.Text.Json.JsonSerializer.Deserialize<EventContext>(marked)!.Historical);
    }
}
