using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>
/// An event trigger's <c>maxAge</c>: a back-filled or long-delayed event is kept as history but starts no journey now
/// (public reports of comparable systems: historical back-fills firing live campaigns; Ometria refuses custom events
/// more than four hours old, AWS Customer Profiles' event triggers have an <c>EventExpiration</c>).
/// </summary>
public sealed class JourneyTriggerAgeTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Cart(string? maxAge = "") => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"{{maxAge switch { "" => "", null => ", \"maxAge\": null", _ => $", \"maxAge\": \"{maxAge}\"" }}}},
         "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> SignedUpAsync(JourneyDefinition journey)
    {
        var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    private static async Task TrackAtAsync(JourneyRig rig, string type, object properties, DateTimeOffset at)
    {
        var r = await rig.Host.TrackAsync(type, [Ann], properties, at: at);
        Assert.Equal(TrackStatus.Accepted, r.Status);
    }

    [Fact]
    public async Task LastYearsCart_BackFilled_StartsNoJourney_ButStaysOnHerProfile()
    {
        await using var rig = await SignedUpAsync(Cart());
        await TrackAtAsync(rig, "cart.item_added", new { product_id = "kibble", price = 20 }, rig.Host.Time.GetUtcNow().AddDays(-400));
        await rig.AdvanceAsync(TimeSpan.FromDays(2));

        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(0, stats.Entered);
        Assert.Equal(1, stats.EntriesRefused);
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Equal("kibble", Assert.Single(profile.Cart).ProductId);
        Assert.Contains(profile.Timeline, t => t.Type == "journey.entry_refused" && t.Summary!.Contains("maxAge P1D", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRefusal_SaysWhatToDoInstead()
    {
        // A newcomer's test that tracks a cart dated two days ago sends nothing: the timeline names the way out.
        await using var rig = await SignedUpAsync(Cart());
        await TrackAtAsync(rig, "cart.item_added", new { product_id = "kibble" }, rig.Host.Time.GetUtcNow().AddDays(-2));

        var profile = await rig.Host.ProfileAsync(Ann);
        var refused = Assert.Single(profile.Timeline, t => t.Type == "journey.entry_refused");
        Assert.Contains("older than the trigger's maxAge P1D (it happened at 2026-01-03 09:00:00Z, 2026-01-05 09:00:00Z now)", refused.Summary, StringComparison.Ordinal);
        Assert.Contains("send it with a recent timestamp, or give the trigger a longer maxAge (\"maxAge\": null for no limit)", refused.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(86_400, true)] // exactly one day old: still within
    [InlineData(86_401, false)]
    public async Task TheDefaultMaxAge_IsOneDay_Inclusive(int secondsOld, bool sent)
    {
        await using var rig = await SignedUpAsync(Cart());
        await TrackAtAsync(rig, "cart.item_added", new { product_id = "kibble" }, rig.Host.Time.GetUtcNow().AddSeconds(-secondsOld));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(sent ? ["email:cart"] : [], rig.Sent());
    }

    [Theory]
    [InlineData("PT4H", 3, true)]
    [InlineData("PT4H", 5, false)]
    [InlineData("P30D", 24 * 20, true)]
    [InlineData(null, 24 * 400, true)] // "maxAge": null: no limit
    public async Task AnExplicitMaxAge_DecidesWhichLateEventsStillStartIt(string? maxAge, int hoursOld, bool sent)
    {
        await using var rig = await SignedUpAsync(Cart(maxAge));
        await TrackAtAsync(rig, "cart.item_added", new { product_id = "kibble" }, rig.Host.Time.GetUtcNow().AddHours(-hoursOld));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(sent ? ["email:cart"] : [], rig.Sent());
    }

    [Fact]
    public async Task AHistoryImport_InOneBatch_MessagesNobody_AndTodaysCartStillStartsIt()
    {
        await using var rig = await SignedUpAsync(Cart());
        var now = rig.Host.Time.GetUtcNow();
        var history = new List<CustomerEvent>();
        for (var i = 0; i < 20; i++)
        {
            var id = Identifier.CustomerId($"old-{i}");
            var day = now.AddDays(-300 + (i * 10));
            history.Add(rig.Host.Event("user.signed_up", [id, Identifier.Email($"old-{i}@example.com")]) with { Id = $"su-{i}", Timestamp = day });
            history.Add(rig.Host.Event("cart.item_added", [id], new { product_id = "p" }) with { Id = $"cart-{i}", Timestamp = day.AddMinutes(5) });
            if (i % 2 == 0)
            {
                history.Add(rig.Host.Event("order.placed", [id], new { order_id = $"o-{i}", total = 10, currency = "EUR" }) with { Id = $"order-{i}", Timestamp = day.AddHours(3) });
            }
        }

        var results = await rig.Host.Client.TrackBatchAsync(history);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(rig.Sent());

        await rig.TrackAsync("cart.item_added", [Ann], new { product_id = "today" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Entered);
        Assert.Equal(20, stats.EntriesRefused);
    }

    [Fact]
    public async Task AnOldEvent_StillAnswersAWaitAndAnExit_ByItsOwnTime()
    {
        // Only the start is limited: an order placed 19.5 hours ago, arriving now, still exits the instance its cart of
        // 20 hours ago started (within maxAge P2D), before the reminder goes.
        await using var rig = await SignedUpAsync(Cart("P2D"));
        var now = rig.Host.Time.GetUtcNow();
        await TrackAtAsync(rig, "cart.item_added", new { product_id = "kibble" }, now.AddHours(-20));
        await TrackAtAsync(rig, "order.placed", new { order_id = "o-1", total = 10, currency = "EUR" }, now.AddHours(-19.5));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Entered);
        Assert.Equal(1, stats.Exited);
    }

    [Fact]
    public void MaxAge_RoundTripsThroughJson_DefaultLeftOut()
    {
        Assert.Equal(EventTrigger.DefaultMaxAge, ((EventTrigger)Cart().Trigger).MaxAge);
        Assert.DoesNotContain("maxAge", JourneyJson.Serialize(Cart()), StringComparison.Ordinal);

        foreach (var text in new[] { "PT4H", "P30D", null })
        {
            var json = JourneyJson.Serialize(Cart(text));
            var back = JourneyJson.Parse(json);
            Assert.True(back.IsValid, string.Join("; ", back.Errors));
            Assert.Equal(text is null ? null : IsoDuration.Parse(text), ((EventTrigger)back.Value!.Trigger).MaxAge);
        }

        var built = Journey.Define("cart", "Cart")
            .TriggeredBy(t => t.Event("cart.item_added") with { MaxAge = IsoDuration.FromTime(TimeSpan.FromHours(4)) })
            .Steps(s => s.Send("mail", ["email"], "cart"))
            .Build();
        Assert.Contains("\"maxAge\":\"PT4H\"", JourneyJson.Serialize(built), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"PT0S\"", "must be longer than zero")]
    [InlineData("5", "expected an ISO 8601 duration")]
    [InlineData("\"1 day\"", "")]
    public void AnInvalidMaxAge_IsRefusedWithItsPath(string value, string message)
    {
        var result = JourneyJson.Parse($$"""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added", "maxAge": {{value}}},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
            """);
        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal("$.trigger.maxAge", error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
