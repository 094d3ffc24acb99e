using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>
/// An inactivity trigger's <c>maxAge</c>: a deadline the engine learns of long after it passed (an import of last year's
/// orders) is history and starts no win-back; one it knew and reached late (it was down) still does. Public reports of
/// comparable systems: win-back flows sending to every historical customer once data was imported (Klaviyo and Braze
/// flows start only on events that happen while they are live).
/// </summary>
public sealed class InactivityTriggerAgeTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static JourneyDefinition WinBack(string? maxAge = "") => JourneyRig.Parse($$"""
        {"id": "win-back", "version": 1, "name": "Win-back",
         "trigger": {"type": "inactivity", "afterEvent": "order.placed", "noEvent": ["newsletter.unsubscribed"], "within": "P90D"{{maxAge switch { "" => "", null => ", \"maxAge\": null", _ => $", \"maxAge\": \"{maxAge}\"" }}}},
         "entry": {"reEntry": "afterPreviousEnded"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "win-back", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> SignedUpAsync(JourneyDefinition journey)
    {
        var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    private static async Task OrderAtAsync(JourneyRig rig, string orderId, DateTimeOffset at)
    {
        var r = await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = orderId, total = 20, currency = "EUR" }, at: at);
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.Zero); // what fell due runs now, as it would between two calls of an import
    }

    [Fact]
    public async Task AnImportOfLastYearsOrder_SendsNoWinBack_AndHerTimelineSaysWhy()
    {
        await using var rig = await SignedUpAsync(WinBack());
        await OrderAtAsync(rig, "o-old", rig.Host.Time.GetUtcNow().AddDays(-200));
        await rig.AdvanceAsync(TimeSpan.FromDays(2));

        Assert.Empty(rig.Sent()); // before: the win-back went out at once
        var stats = await rig.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((0, 1), (stats.Entered, stats.EntriesRefused));
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(1, profile.Statistics.OrderCount); // the order itself is kept
        var refused = Assert.Single(profile.Timeline, t => t.Type == "journey.entry_refused");
        Assert.Contains("more than the trigger's maxAge P1D before that event was tracked", refused.Summary, StringComparison.Ordinal);
        Assert.Contains("track events as they happen, or give the trigger a longer maxAge (\"maxAge\": null for no limit)", refused.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheImportsLatestOrder_SetsTheClock_WhateverOrderTheImportArrivesIn(bool newestFirst)
    {
        // Orders 200 and 30 days ago: the win-back is due 60 days from now, once. Before, an import that sent the old order
        // first sent the win-back at once, and the newer order (older than that firing) never set the clock again.
        await using var rig = await SignedUpAsync(WinBack());
        var now = rig.Host.Time.GetUtcNow();
        string[] order = newestFirst ? ["o-30", "o-200"] : ["o-200", "o-30"];
        foreach (var id in order)
        {
            await OrderAtAsync(rig, id, now.AddDays(-int.Parse(id[2..], System.Globalization.CultureInfo.InvariantCulture)));
        }

        await rig.AdvanceToAsync(now.AddDays(60).AddMinutes(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(now.AddDays(60));
        Assert.Equal(["email:win-back"], rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromDays(200));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    [Theory]
    [InlineData(12, true)] // its deadline passed 12 hours before it was tracked: within the default one day
    [InlineData(24, true)] // exactly one day: still within
    [InlineData(25, false)]
    public async Task TheDefaultMaxAge_CountsFromTheDeadline(int hoursPastDeadline, bool sent)
    {
        await using var rig = await SignedUpAsync(WinBack());
        await OrderAtAsync(rig, "o-1", rig.Host.Time.GetUtcNow().AddDays(-90).AddHours(-hoursPastDeadline));
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(sent ? ["email:win-back"] : [], rig.Sent());
    }

    [Theory]
    [InlineData("P30D", 20, true)]
    [InlineData("P30D", 40, false)]
    [InlineData(null, 400, true)] // "maxAge": null: no limit, as before
    public async Task AnExplicitMaxAge_DecidesWhichLateDeadlinesStillStartIt(string? maxAge, int daysPastDeadline, bool sent)
    {
        await using var rig = await SignedUpAsync(WinBack(maxAge));
        await OrderAtAsync(rig, "o-1", rig.Host.Time.GetUtcNow().AddDays(-90 - daysPastDeadline));
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(sent ? ["email:win-back"] : [], rig.Sent());
    }

    [Fact]
    public async Task WithNoLimit_AnOldDeadlineFiresAtOnce_AndANewerOrderStillSetsTheNextOne()
    {
        // "maxAge": null keeps firing late deadlines; a fired clock is then remembered by its deadline, not by when it ran:
        // an order after that deadline (30 days ago, tracked after the firing) starts a new period of inactivity.
        await using var rig = await SignedUpAsync(WinBack(null));
        var now = rig.Host.Time.GetUtcNow();
        await OrderAtAsync(rig, "o-200", now.AddDays(-200));
        Assert.Equal(["email:win-back"], rig.Sent());
        await OrderAtAsync(rig, "o-30", now.AddDays(-30));
        await rig.AdvanceToAsync(now.AddDays(60));

        Assert.Equal(["email:win-back", "email:win-back"], rig.Sent()); // before: the second never came
    }

    [Fact]
    public async Task ADeadlineTheEngineKnew_StillStartsIt_WhenTheEngineWasDownWellPastIt()
    {
        // Her order was tracked live; the engine is then down for 100 days (ten past the deadline): the deadline is not
        // history, so the win-back starts when it comes back.
        var store = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var first = JourneyRig.Create([WinBack()], store: store, start: start))
        {
            await first.TrackAsync("user.signed_up", [Ann, AnnMail]);
            await OrderAtAsync(first, "o-1", start);
        }

        await using var back = JourneyRig.Create([WinBack()], store: store, start: start.AddDays(100));
        await back.AdvanceAsync(TimeSpan.Zero);

        Assert.Equal(["email:win-back"], back.Sent());
        var stats = await back.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((1, 0), (stats.Entered, stats.EntriesRefused));
    }

    [Fact]
    public async Task ALiveOrderAfterARefusedImport_SetsTheClockAsUsual()
    {
        await using var rig = await SignedUpAsync(WinBack());
        await OrderAtAsync(rig, "o-old", rig.Host.Time.GetUtcNow().AddDays(-300));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-new", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(90));

        Assert.Equal(["email:win-back"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((1, 1), (stats.Entered, stats.EntriesRefused));
    }

    [Fact]
    public void MaxAge_RoundTripsThroughJson_DefaultLeftOut()
    {
        Assert.Equal(EventTrigger.DefaultMaxAge, ((InactivityTrigger)WinBack().Trigger).MaxAge);
        Assert.DoesNotContain("maxAge", JourneyJson.Serialize(WinBack()), StringComparison.Ordinal);

        foreach (var text in new[] { "PT4H", "P30D", null })
        {
            var back = JourneyJson.Parse(JourneyJson.Serialize(WinBack(text)));
            Assert.True(back.IsValid, string.Join("; ", back.Errors));
            Assert.Equal(text is null ? null : IsoDuration.Parse(text), ((InactivityTrigger)back.Value!.Trigger).MaxAge);
        }

        var built = Journey.Define("win-back", "Win-back")
            .TriggeredBy(t => t.Inactivity(EventTypes.OrderPlaced, "P90D", "newsletter.unsubscribed") with { MaxAge = IsoDuration.FromDays(7) })
            .Steps(s => s.Send("mail", ["email"], "win-back"))
            .Build();
        Assert.Contains("\"maxAge\":\"P7D\"", JourneyJson.Serialize(built), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"PT0S\"", "must be longer than zero")]
    [InlineData("5", "expected an ISO 8601 duration")]
    public void AnInvalidMaxAge_IsRefusedWithItsPath(string value, string message)
    {
        var result = JourneyJson.Parse($$"""
            {"id": "win-back", "version": 1, "name": "Win-back",
             "trigger": {"type": "inactivity", "afterEvent": "order.placed", "noEvent": ["newsletter.unsubscribed"], "within": "P90D", "maxAge": {{value}}},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "win-back"}]}
            """);
        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal("$.trigger.maxAge", error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
