using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>Scenarios 3–6: refill reminders across DST, click-and-collect, A/B split, entry rules and exits.</summary>
public sealed class JourneyScenarioTests2
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static async Task PushReady(JourneyRig rig, Identifier who, string zone, string device)
    {
        await rig.TrackAsync(EventTypes.ConsentChanged, [who, Identifier.DeviceId(device)], new { channel = "push", granted = true }, channel: ChannelNames.App, context: new EventContext { TimeZone = zone });
    }

    [Theory]
    [InlineData("Europe/London", "2026-03-31", "2026-03-28T09:00:00Z")] // still GMT
    [InlineData("Europe/London", "2026-04-01", "2026-03-29T08:00:00Z")] // the day the clocks go forward: 09:00 BST
    [InlineData("America/New_York", "2026-03-11", "2026-03-08T13:00:00Z")] // the day the clocks go forward there: 09:00 EDT
    [InlineData("America/New_York", "2026-11-04", "2026-11-01T14:00:00Z")] // the day the clocks go back: 09:00 EST
    public async Task Scenario3_RefillReminder_ThreeDaysBefore_At0900InTheCustomersZone_AcrossDaylightSaving(string zone, string due, string expectedUtc)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(JourneyScenarios.RefillJson)]);
        await PushReady(rig, Ann, zone, "tok-1");
        await rig.TrackAsync("profile.updated", [Ann], traits: new { refill_due_at = due });
        var expected = DateTimeOffset.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture);

        await rig.AdvanceAsync(expected - rig.Host.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.Empty(rig.Recorder.Sent<PushMessage>());
        await rig.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Equal("refill-due", Assert.Single(rig.Recorder.Sent<PushMessage>()).Title);
        var entered = Assert.Single((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.entered");
        Assert.Equal(expected, entered.Timestamp);

        await rig.AdvanceAsync(TimeSpan.FromDays(400));
        Assert.Single(rig.Recorder.Sent<PushMessage>()); // a one-off date fires once
    }

    [Fact]
    public async Task Scenario3_ANewRefillDate_ReschedulesTheReminder()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(JourneyScenarios.RefillJson)]);
        await PushReady(rig, Ann, "Europe/London", "tok-1");
        await rig.TrackAsync("profile.updated", [Ann], traits: new { refill_due_at = "2026-02-10" });
        await rig.AdvanceAsync(TimeSpan.FromDays(10));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { refill_due_at = "2026-02-20" });

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 2, 16, 0, 0, 0, TimeSpan.Zero));
        Assert.Empty(rig.Recorder.Sent<PushMessage>()); // not on the 7th at 09:00, the old date

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 2, 17, 9, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Recorder.Sent<PushMessage>());
    }

    [Fact]
    public async Task AnAnnualDateTrigger_FiresOnTheBirthdayEveryYear()
    {
        var birthday = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(10, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([birthday]);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")], traits: new { birthday = "1990-02-14" });

        await rig.AdvanceToAsync(new DateTimeOffset(2028, 3, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(
            [new DateTimeOffset(2026, 2, 14, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 2, 14, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2028, 2, 14, 10, 0, 0, TimeSpan.Zero)],
            (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.entered").Select(t => t.Timestamp));
        Assert.Equal(3, rig.Recorder.Sent<EmailMessage>().Count);
    }

    [Fact]
    public async Task Scenario4_ClickAndCollect_ReadyOnThePreferredChannel_ReminderAfter48HoursUnlessPickedUp()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(JourneyScenarios.ClickAndCollectJson)]);
        var bob = Identifier.CustomerId("bob");
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900001"), Identifier.DeviceId("tok-a")]);
        await rig.TrackAsync(EventTypes.PreferencesUpdated, [Ann], new { preferred_channels = new[] { "sms" } });
        await rig.TrackAsync("user.signed_up", [bob, Identifier.Email("bob@example.com"), Identifier.DeviceId("tok-b")]);

        await rig.TrackAsync("order.ready_for_pickup", [Ann], new { order_id = "o1", fulfillment = "pickup" });
        await rig.TrackAsync("order.ready_for_pickup", [bob], new { order_id = "o2", fulfillment = "pickup" });
        await rig.TrackAsync("order.ready_for_pickup", [bob], new { order_id = "o3", fulfillment = "delivery" }); // not click-and-collect

        Assert.Equal("+447700900001", Assert.Single(rig.Recorder.Sent<SmsMessage>()).To); // Ann prefers SMS
        Assert.Equal("ready-for-pickup", Assert.Single(rig.Recorder.Sent<PushMessage>()).Title); // Bob: the journey's first choice

        await rig.AdvanceAsync(TimeSpan.FromHours(30));
        await rig.TrackAsync("order.picked_up", [Ann], new { order_id = "o1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(18));

        Assert.Equal(["sms:ready-for-pickup", "push:ready-for-pickup", "push:pickup-reminder"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("click-and-collect");
        Assert.Equal((2L, 1L, 1L), (stats.Entered, stats.Steps["wait-pickup"].TimedOut, stats.ExitReasons["exit criterion: order.picked_up"]));
    }

    [Fact]
    public async Task Scenario5_ABSplit_LandsWithinToleranceOfTheWeights_AndIsStablePerProfile()
    {
        var json = """
            {"id": "ab-welcome", "version": 1, "name": "A/B welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [
               {"id": "split", "type": "split", "variants": [{"name": "a", "weight": 50, "next": "a"}, {"name": "b", "weight": 30, "next": "b"}], "controlWeight": 20},
               {"id": "a", "type": "exit"}, {"id": "b", "type": "exit"}]}
            """;
        var definition = JourneyRig.Parse(json);
        await using var rig = JourneyRig.Create([definition]);
        var counts = new Dictionary<string, int>();
        const int N = 10_000;
        var events = Enumerable.Range(0, N).Select(i => rig.Host.Event("user.signed_up", [Identifier.CustomerId("c" + i)])).ToList();
        foreach (var r in await rig.Engine.TrackBatchAsync(events))
        {
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        var stats = await rig.Engine.GetJourneyStatisticsAsync("ab-welcome");
        // Binomial: 4 standard deviations of N·p·(1−p) around each weight.
        foreach (var (name, p) in new[] { ("a", 0.5), ("b", 0.3), ("control", 0.2) })
        {
            var sd = Math.Sqrt(N * p * (1 - p));
            Assert.InRange(stats.Variants[name].Entered, (N * p) - (4 * sd), (N * p) + (4 * sd));
        }

        Assert.Equal(N, stats.Variants.Values.Sum(v => v.Entered));

        // The assignment is a pure function of the profile and journey: the same in a new process, for every profile.
        for (var i = 0; i < 200; i++)
        {
            var profile = await rig.Host.ProfileAsync(Identifier.CustomerId("c" + i));
            var recorded = profile.Timeline.Single(t => t.Type == "journey.split").Summary!;
            var bucket = JourneyRunner.Bucket(profile.Id, "ab-welcome", "split", 100);
            var expected = bucket < 50 ? "a" : bucket < 80 ? "b" : "control";
            Assert.EndsWith("variant " + expected, recorded, StringComparison.Ordinal);
        }
    }
}
