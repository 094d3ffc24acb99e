using Omnichannel.Sdk.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>
/// Journey times that depended on when things were processed rather than on her: a wait until a local time of day (or a
/// date in a trait) kept the instant computed when it began (she moved to New York overnight and the "09:00" welcome came
/// at 04:00 her time), and a goal's window closed after the processing start of a trigger uploaded late.
/// </summary>
public sealed class JourneyLocalTimeAndWindowTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    // Monday 5 January 2026, 20:00 UTC (20:00 in London, winter time).
    private static readonly DateTimeOffset Evening = new(2026, 1, 5, 20, 0, 0, TimeSpan.Zero);

    private static JourneyDefinition Welcome() => JourneyRig.Parse("""
        {"id": "welcome", "version": 1, "name": "Welcome at nine", "trigger": {"type": "event", "event": "signed_up"},
         "steps": [{"id": "nine", "type": "delayUntilLocalTime", "localTime": "09:00"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "welcome", "class": "transactional"}]}
        """);

    [Fact]
    public async Task AWaitUntilNineLocal_MovesWithHer_WhenSheChangesZoneWhileWaiting()
    {
        await using var rig = JourneyRig.Create([Welcome()], start: Evening);
        await rig.TrackAsync("signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "Europe/London" });

        await rig.AdvanceAsync(TimeSpan.FromHours(4)); // 00:00 UTC: she lands in New York (19:00 there)
        await rig.TrackAsync("app.opened", [Ann], context: new EventContext { TimeZone = "America/New_York" });

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 9, 30, 0, TimeSpan.Zero)); // 04:30 in New York
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 14, 0, 0, TimeSpan.Zero)); // 09:00 in New York
        Assert.Equal(["email:welcome"], rig.Sent());
    }

    [Fact]
    public async Task AWaitUntilNineLocal_IsNotMoved_ByAnEventInTheSameZone()
    {
        await using var rig = JourneyRig.Create([Welcome()], start: Evening);
        await rig.TrackAsync("signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceAsync(TimeSpan.FromHours(4));
        await rig.TrackAsync("app.opened", [Ann], traits: new { plan = "gold" }, context: new EventContext { TimeZone = "Europe/London" });

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:welcome"], rig.Sent());
    }

    [Fact]
    public async Task AWaitUntilADateTrait_Follows_TheDateWhenItChanges()
    {
        var refill = JourneyRig.Parse("""
            {"id": "refill", "version": 1, "name": "Refill reminder", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "due", "type": "delayUntilDateTrait", "trait": "refill_due_at", "offset": "-P1D", "localTime": "10:00"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "refill", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([refill], start: Evening);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann, Identifier.Email("ann@example.com")], properties: new { order_id = "o-1", total = 20, currency = "EUR" }, traits: new { refill_due_at = "2026-01-20" }, context: new EventContext { TimeZone = "Europe/London" });

        // She changes her refill date to the 30th: the reminder on the 19th must not come.
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { refill_due_at = "2026-01-30" });

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 19, 12, 0, 0, TimeSpan.Zero));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 29, 10, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:refill"], rig.Sent());
    }

    /// <summary>
    /// A goal's window opened at the trigger's event time but closed <c>within</c> after the instance's processing start:
    /// a trigger uploaded two days late (an offline phone) had a two-day longer window, so the same purchase converted or
    /// not depending on when the phone synced.
    /// </summary>
    [Theory]
    [InlineData(12, 1)] // 2.5 days after the trigger: inside the three days
    [InlineData(48, 0)] // 4 days after the trigger: outside, however late the trigger arrived
    public async Task AGoalWindow_CountsFromTheTriggersEventTime_NotFromWhenItArrived(int hoursAfterArrival, int converted)
    {
        var browse = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse follow-up", "trigger": {"type": "event", "event": "product.viewed", "maxAge": "P7D"},
             "goal": {"event": "order.placed", "within": "P3D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([browse], start: Evening);
        var late = rig.Host.Event("product.viewed", [Ann, Identifier.Email("ann@example.com")], new { product_id = "p-2" }) with { Id = "late-view", Timestamp = Evening.AddDays(-2) };
        var r = await rig.Host.Client.TrackAsync(late);
        Assert.True(r.IsAcknowledged);

        await rig.AdvanceAsync(TimeSpan.FromHours(hoursAfterArrival));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 30, currency = "EUR" });

        var stats = await rig.Engine.GetJourneyStatisticsAsync("browse");
        Assert.Equal(converted, stats.Converted);
    }
}
