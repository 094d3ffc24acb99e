using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U36: bug classes from public reports (round 36: message outcomes from providers). Providers' webhooks come late,
/// twice and out of order; each test names the reports it comes from and runs through the public API on the fake clock.
/// </summary>
public sealed class AuditU36Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static JourneyRig Welcome(string klass = "transactional") => JourneyRig.Create(
        [JourneyRig.Parse($$"""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "{{klass}}"}]}
            """)], start: Start);

    private static async Task<string> SignUp(JourneyRig rig)
    {
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return Assert.Single(rig.Recorder.Messages).MessageId!;
    }

    private static async Task<long> Count(JourneyRig rig, string metric) =>
        (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = metric }))
            .Where(r => r.Key.Metric == metric).Sum(r => r.Count);

    private static async Task<long> AllRows(JourneyRig rig, string metric) =>
        (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = metric })).Where(r => r.Key.Metric == metric).Sum(r => r.Count);

    private static async Task<double> Credit(JourneyRig rig) =>
        (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = "credit:order:last_touch" })).Sum(r => r.Sum);

    private static Task Outcome(JourneyRig rig, string type, string key, DateTimeOffset at, object? extra = null) =>
        rig.Host.TrackAsync(type, [Ann], Props(key, extra), at: at);

    private static Dictionary<string, object> Props(string key, object? extra)
    {
        var d = new Dictionary<string, object> { ["channel"] = "email", ["message_id"] = key };
        if (extra is not null)
        {
            foreach (var p in extra.GetType().GetProperties())
            {
                d[p.Name] = p.GetValue(extra)!;
            }
        }

        return d;
    }

    // ---- 1. A provider's failure report sent twice is one failed message ----
    // sendgrid/docs#2933 (each event received 3 times on average, up to 46), sendgrid/sendgrid-nodejs#1435 (a retried
    // webhook carries a new event id, so event-id dedupe cannot catch it), twilio-labs/twilio-firebase-extensions#21
    // (status callbacks retried and out of order). `failed` is documented as "it failed finally": a fact of the message.
    [Fact]
    public async Task AFailureReportSentTwice_CountsOneFailedMessage()
    {
        await using var rig = Welcome();
        var key = await SignUp(rig);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await Outcome(rig, EventTypes.MessageFailed, key, rig.Host.Time.GetUtcNow());
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await Outcome(rig, EventTypes.MessageFailed, key, rig.Host.Time.GetUtcNow());
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Failed));
    }

    // ---- 2. Every outcome counts once per message, whatever the arrival order and the repeats ----
    // sendgrid/docs#5326 ("delivered 3 to 4 times and open multiple times though I opened once"), hizzle-co/noptin#994
    // (an unsubscribe count of 3 for one unsubscriber), Automattic/wp-calypso#84814 (open rate over 100%),
    // twilio/twilio-csharp#633 (callbacks in random order), Nexmo/nexmo-developer#1653 (no order guaranteed).
    [Property(MaxTest = 40)]
    public bool EveryOutcome_CountsOncePerMessage_OnItsEarliestDay_WhateverTheArrivalOrderAndRepeats(int seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var rng = new Random(seed);
            await using var rig = Welcome();
            var key = await SignUp(rig);
            var t0 = rig.Host.Time.GetUtcNow();
            // Stamped across midnight so a count on the wrong copy lands on the wrong day.
            var reports = new List<(string Type, DateTimeOffset At)>
            {
                (EventTypes.MessageSent, t0.AddHours(1)), (EventTypes.MessageDelivered, t0.AddHours(2)),
                (EventTypes.MessageOpened, t0.AddHours(13)), (EventTypes.MessageClicked, t0.AddHours(14)),
                (EventTypes.MessageUnsubscribed, t0.AddHours(15)), (EventTypes.MessageFailed, t0.AddHours(16)),
            };
            var copies = reports.Concat(reports.Where(_ => rng.Next(2) == 0).Select(r => (r.Type, r.At.AddHours(rng.Next(0, 20)))))
                .OrderBy(_ => rng.Next()).ToList();
            await rig.AdvanceToAsync(t0.AddDays(2));
            foreach (var (type, at) in copies)
            {
                await Outcome(rig, type, key, at);
            }

            foreach (var (type, at) in reports)
            {
                var metric = type[(type.IndexOf('.', StringComparison.Ordinal) + 1)..];
                var rows = (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = metric }))
                    .Where(r => r.Key.Metric == metric && r.Count != 0).ToList();
                if (rows.Count != 1 || rows[0].Count != 1 || rows[0].Key.Day != DateOnly.FromDateTime(at.UtcDateTime))
                {
                    return false;
                }
            }

            return true;
        }
    }

    // ---- 3. "sent" arriving after "delivered" does not take the delivery back ----
    // twilio-labs/twilio-firebase-extensions#21 (a late `sent` overwrote `delivered`), NEARBuilders/nearmerch.com#214
    // (a late shipment webhook downgraded a delivered order).
    [Fact]
    public async Task ASentReportArrivingAfterDelivered_LeavesTheMessageDelivered_AndCredited()
    {
        await using var rig = Welcome();
        var key = await SignUp(rig);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await Outcome(rig, EventTypes.MessageDelivered, key, t0.AddMinutes(2));
        await Outcome(rig, EventTypes.MessageSent, key, t0.AddMinutes(1));
        await rig.AdvanceAsync(TimeSpan.FromHours(20)); // past the sent window (1 day from the send is not past) — within delivered's
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Delivered));
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Sent));
        Assert.Equal(1, await Credit(rig), 9);
        var point = Assert.Single((await rig.Host.ProfileAsync(Ann)).Touches.SelectMany(t => t.Points()), p => p.Kind == TouchKind.Delivered);
        Assert.Equal(t0.AddMinutes(2), point.At);
    }

    // ---- 4. A delivery reported after a hard bounce does not make the address mailable again ----
    // TryGhost/Ghost#15901 and #15942 (a `delivered` after a permanent failure, events re-emitted out of order),
    // pixl8/Preside-CMS#1487 (do not mark a delivered email failed, but record the failure).
    [Fact]
    public async Task ADeliveryReportedAfterAHardBounce_KeepsTheAddressSuppressed_AndCountsBoth()
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse("""
                {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
                 "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
                """),
             JourneyRig.Parse("""
                {"id": "receipt", "version": 1, "name": "Receipt", "trigger": {"type": "event", "event": "order.placed"},
                 "steps": [{"id": "r", "type": "send", "channels": ["email"], "template": "receipt", "class": "transactional"}]}
                """)], start: Start);
        var key = await SignUp(rig);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await Outcome(rig, EventTypes.MessageBounced, key, rig.Host.Time.GetUtcNow(), new { bounce_type = "hard" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await Outcome(rig, EventTypes.MessageDelivered, key, rig.Host.Time.GetUtcNow());
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:hello"], rig.Sent()); // the receipt is not sent to the bounced address
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Bounced));
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Delivered));
    }

    // ---- 5. A click without an open is still credited as a click, once ----
    // mautic/mautic#843 (clicked but not marked opened: images blocked), spatie/mailcoach-support#51,
    // gophish/gophish#1598, codelitdev/courselit#770. The click is proof of reach whatever came before it.
    [Fact]
    public async Task AClickBeforeAnyOpenOrDelivery_IsCreditedOnce_AndTheLateDeliveryAddsNoSecondCredit()
    {
        await using var rig = Welcome();
        var key = await SignUp(rig);
        var t0 = rig.Host.Time.GetUtcNow();
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await Outcome(rig, EventTypes.MessageClicked, key, t0.AddMinutes(30));
        await Outcome(rig, EventTypes.MessageDelivered, key, t0.AddMinutes(1)); // the delivery report came last
        await rig.AdvanceAsync(TimeSpan.FromDays(3)); // past delivered's 1-day window, inside the click's 7 days
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });
        Assert.Equal(1, await Credit(rig), 9);
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Clicked));
    }

    // ---- 6. A complaint after an unsubscribe, and one before it, leave her refused for marketing ----
    // braze-inc/braze-docs#6320 (unsubscribes and duplicate addresses), civicrm/civicrm-core#26694 (contacts often both
    // opt out and unsubscribe), sendgrid/docs#2862 (unsubscribe events without an event id, so arrival order is all there is).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AComplaintAndAnUnsubscribe_InEitherOrder_StopMarketing_AndCountOneUnsubscribe(bool complaintFirst)
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse("""
                {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
                 "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
                """),
             JourneyRig.Parse("""
                {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
                 "steps": [{"id": "p", "type": "send", "channels": ["email"], "template": "promo", "class": "marketing"}]}
                """)], start: Start);
        var key = await SignUp(rig);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        var now = rig.Host.Time.GetUtcNow();
        if (complaintFirst)
        {
            await Outcome(rig, EventTypes.MessageComplained, key, now);
        }

        await Outcome(rig, EventTypes.MessageUnsubscribed, key, now.AddMinutes(-1));
        await Outcome(rig, EventTypes.MessageUnsubscribed, key, now); // the provider's retry
        if (!complaintFirst)
        {
            await Outcome(rig, EventTypes.MessageComplained, key, now);
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync("product.viewed", [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:hello"], rig.Sent());
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Unsubscribed));
    }

    // ---- 7. An outcome of a message the SDK never sent is the host's own message: counted once, not an error ----
    // mettle/sendportal#305 (an "Open" webhook received but not reflected: the message was not found),
    // eduhub-org/eduhub#1937 (outcomes keyed by the provider's own id).
    [Fact]
    public async Task OutcomesOfAMessageTheSdkNeverSent_AreAcceptedAndCountedOnce()
    {
        await using var rig = Welcome();
        await SignUp(rig);
        var at = rig.Host.Time.GetUtcNow();
        var opened = await rig.Host.TrackAsync(EventTypes.MessageOpened, [Ann], new { channel = "email", message_id = "esp-123", journey_id = "welcome" }, at: at);
        var again = await rig.Host.TrackAsync(EventTypes.MessageOpened, [Ann], new { channel = "email", message_id = "esp-123", journey_id = "welcome" }, at: at.AddMinutes(3));
        Assert.Equal(TrackStatus.Accepted, opened.Status);
        Assert.Equal(TrackStatus.Accepted, again.Status);
        Assert.Equal(1, await Count(rig, MeasurementMetrics.Opened));
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Touches, t => t.Key == "esp-123");
    }

    // ---- 8. An outcome reported under two identifiers before they meet counts once, on the journey's row, after the merge ----
    // sendgrid/docs#2933 (duplicates), mozilla/fxa#442 (dedupe by the provider's id, not the event's); the merge rule of
    // the other outcomes ("One message's touch on two profiles") applied to `failed`.
    [Theory]
    [InlineData(EventTypes.MessageFailed, MeasurementMetrics.Failed)]
    [InlineData(EventTypes.MessageOpened, MeasurementMetrics.Opened)]
    [InlineData(EventTypes.MessageClicked, MeasurementMetrics.Clicked)]
    public async Task AnOutcomeReportedUnderTwoIdentifiers_BeforeTheyMeet_CountsOnceOnTheJourneysRowAfterTheMerge(string outcome, string metric)
    {
        await using var rig = Welcome();
        var key = await SignUp(rig);
        var cookie = Identifier.AnonymousId("c-1");
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.Host.TrackAsync(outcome, [cookie], new { channel = "email", message_id = key }, at: rig.Host.Time.GetUtcNow());
        await Outcome(rig, outcome, key, rig.Host.Time.GetUtcNow().AddMinutes(1));
        Assert.Equal(2, await AllRows(rig, metric)); // two people as far as anyone knows yet
        await rig.TrackAsync("user.logged_in", [Ann, cookie]);
        Assert.Equal(1, await Count(rig, metric)); // on the welcome journey's row, where the message belongs
        Assert.Equal(1, await AllRows(rig, metric));
        Assert.Single((await rig.Host.ProfileAsync(Ann)).Touches, t => t.Key == key);
    }

    // ---- 9. A late delivery report for an erased person does not bring her back ----
    // Automattic/wp-calypso#78713 (stats for people no longer on the list), TryGhost/Ghost#15901 (events re-emitted
    // long after): the provider's webhook outlives the person's erasure.
    [Fact]
    public async Task ALateDeliveryReport_ForAnErasedPerson_CreatesNoProfile()
    {
        await using var rig = Welcome();
        var key = await SignUp(rig);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.True(await rig.Engine.EraseProfileAsync(Ann));
        var refused = await Assert.ThrowsAsync<EventRejectedException>(() => rig.Host.TrackAsync(
            EventTypes.MessageDelivered, [AnnMail], new { channel = "email", message_id = key }, at: rig.Host.Time.GetUtcNow().AddMinutes(-4)));
        Assert.Contains("erased", refused.Message, StringComparison.Ordinal);
        Assert.Null(await rig.Host.Client.GetProfileAsync(AnnMail));
        Assert.Null(await rig.Host.Client.GetProfileAsync(Ann));
    }

    // ---- 10. A journey that starts on "opened the welcome email" starts once per message ----
    // sendgrid/docs#5326 (open reported several times for one open), mautic/mautic#9778 and #9798 (Google's image proxy
    // and Apple Mail Privacy Protection fetch the pixel again), sendgrid/sendgrid-nodejs#1435 (retries with new event ids).
    [Fact]
    public async Task AJourneyStartingOnAnOpen_StartsOncePerMessage_WhenTheProviderReportsTheOpenAgain()
    {
        await using var rig = JourneyRig.Create(
            [JourneyRig.Parse("""
                {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
                 "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
                """),
             JourneyRig.Parse("""
                {"id": "opened", "version": 1, "name": "Opened", "trigger": {"type": "event", "event": "message.opened"},
                 "steps": [{"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional"}]}
                """)], start: Start);
        var key = await SignUp(rig);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await Outcome(rig, EventTypes.MessageOpened, key, rig.Host.Time.GetUtcNow()); // the proxy's fetch
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await Outcome(rig, EventTypes.MessageOpened, key, rig.Host.Time.GetUtcNow()); // her own open
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:hello", "email:thanks"], rig.Sent());
    }
}
