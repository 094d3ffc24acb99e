using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the thirty-second session's changes (audits U36, U37 and the cross-feature invariants, round 2), redone in
/// the thirty-third: what those changes left, each found by a case that failed before. Public API where it reaches, on
/// the fake clock.
/// </summary>
public sealed class ReviewSession32Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Afternoon = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    // ---- 1. One message's outcome tracked under both of her identifiers, before they met ----
    // A host's webhook handler resolves the provider's report to whatever identifier it has (the cookie on the landing page,
    // her customer id in the ESP's metadata), so one report arrives twice, once per profile, with the same instant. Each
    // profile counted it; the two touches are equal, and a merge combined only touches that differed, so the message
    // counted twice for ever. Its report under one identifier (control) counts once.
    [Theory]
    [InlineData(EventTypes.MessageDelivered, MeasurementMetrics.Delivered, true)]
    [InlineData(EventTypes.MessageOpened, MeasurementMetrics.Opened, true)]
    [InlineData(EventTypes.MessageClicked, MeasurementMetrics.Clicked, true)]
    [InlineData(EventTypes.MessageDelivered, MeasurementMetrics.Delivered, false)]
    public async Task AnOutcomeReportedUnderBothOfHerIdentifiers_CountsOnce_AfterTheyMerge(string type, string metric, bool underBoth)
    {
        await using var host = OmnichannelTestHost.Create(start: Afternoon);
        var at = host.Time.GetUtcNow();
        var report = new { channel = "email", message_id = "newsletter-42", journey_id = "news", url = "https://shop.example/a" };
        await host.TrackAsync(type, [Ann], report, at: at);
        await host.TrackAsync(underBoth ? type : "page.viewed", [Cookie], underBoth ? report : new { channel = "email", message_id = "x", journey_id = "x", url = "x" }, at: at);
        await host.TrackAsync("user.logged_in", [Ann, Cookie], at: at + TimeSpan.FromMinutes(1));

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "news", MetricPrefix = metric });
        Assert.Equal(1, rows.Where(r => r.Key.Metric == metric).Sum(r => r.Count));
        Assert.Single((await host.ProfileAsync(Ann)).Touches, t => t.Key == "newsletter-42");
    }

    // ---- 2. Touches stored before links and topics were remembered ----
    // The review of U36 made a click on another link a new action (it starts the click journey again). A touch stored before
    // that holds a click but not which link: every webhook sent again after an upgrade looked like another link and started
    // the journey again (sendgrid/sendgrid-nodejs#1435: retried webhooks carry new event ids). Such a touch now repeats any
    // click (any unsubscribe) it already holds, as it did when stored, through a merge too; a new touch is unchanged.
    [Fact]
    public void ATouchStoredBeforeLinksWereKept_RepeatsEveryClick_AndKeepsSoThroughNewLinksAndMerges()
    {
        var stored = new Touch { Key = "m1", Channel = "email", QueuedAt = Afternoon, ClickedAt = Afternoon.AddMinutes(5) };
        var p = new CustomerProfile("p1", Afternoon);
        p.Touches.Add(stored);
        var back = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);
        Assert.Null(Assert.Single(back.Touches).Reported); // as such touches were stored

        Assert.True(MeasurementRecorder.IsRepeatedOutcome(back, Outcome(EventTypes.MessageClicked, "m1", url: "https://shop.example/any")));
        Assert.False(MeasurementRecorder.IsRepeatedOutcome(back, Outcome(EventTypes.MessageUnsubscribed, "m1", topic: "offers"))); // no unsubscribe held

        // A first unsubscribe is remembered by topic; the clicks it held before stay "any link".
        var detail = Touch.OutcomeDetail(Outcome(EventTypes.MessageUnsubscribed, "m1", topic: "offers"))!;
        var after = stored with { UnsubscribedAt = Afternoon.AddMinutes(9), Reported = stored.WithReported(detail) };
        Assert.True(after.HasReported(Touch.OutcomeDetail(Outcome(EventTypes.MessageClicked, "m1", url: "https://shop.example/other"))!));
        Assert.True(after.HasReported(detail));
        Assert.False(after.HasReported(Touch.OutcomeDetail(Outcome(EventTypes.MessageUnsubscribed, "m1", topic: "news"))!));

        // Merged with a touch that knows one link: the stored one's clicks stay "any link".
        var known = new Touch { Key = "m1", Channel = "email", QueuedAt = Afternoon, ClickedAt = Afternoon.AddMinutes(7), Reported = ["c:abc"] };
        var herAccount = new CustomerProfile("p2", Afternoon);
        herAccount.Touches.Add(known);
        MeasurementRecorder.Merge(herAccount, back);
        Assert.True(Assert.Single(herAccount.Touches).HasReported("c:zzz"));

        // A touch written now is read as before: another link is news.
        Assert.False(known.HasReported("c:zzz"));
    }

    private static CustomerEvent Outcome(string type, string key, string? url = null, string? topic = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Type = type,
        Timestamp = Afternoon,
        Identifiers = [Ann],
        Channel = ChannelNames.Email,
        Properties = JsonSerializer.SerializeToElement(new Dictionary<string, string?> { ["message_id"] = key, ["url"] = url, ["topic"] = topic }),
    };

    // ---- 3. A goal her own profile saw, at a merge ----
    // The cart journey correlates by cart; she fills cart c1 at 21:30 and orders cart c2 at 22:00 (the order is not c1's:
    // its running entry goes on), c1's reminder is planned at 22:30, held until 08:00, and its entry ends. At 23:00 she logs
    // in on a new device (a merge). U37 made a merge convert ended entries with the goals the other profile saw; it read
    // every goal, her own too, so the c2 order converted c1's entry and withdrew its reminder. A goal the entry's own
    // profile saw was already given whatever it was owed; the other profile's goals are the news a merge brings.
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // control: no merge
    public async Task AGoalHerOwnProfileSawForAnotherCart_DoesNotConvertTheEndedEntry_WhenSheMergesLater(bool merges)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"correlationKey": "cart_id"}, "goal": {"event": "order.placed", "within": "P2D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "topic": "cart"}]}
            """);
        var evening = new DateTimeOffset(2026, 1, 5, 21, 30, 0, TimeSpan.Zero);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: evening);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p1", quantity = 1 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", cart_id = "c2", total = 15 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(45)); // 22:45: c1's reminder is held until 08:00
        Assert.Empty(rig.Sent());

        await rig.TrackAsync("page.viewed", [Cookie]);
        if (merges)
        {
            await rig.TrackAsync("user.logged_in", [Ann, Cookie]);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(["email:cart"], rig.Sent());
        Assert.Equal(0, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // ---- 4. A message withdrawn while it waits for a retry keeps no cap slot ----
    // U37 freed the cap slot of a withdrawn message only when it was not yet due; one waiting for its retry (the provider
    // was down at its due time) is not in flight either, but kept its slot until the retry read the withdrawal, so the
    // newsletter planned meanwhile was skipped for a cap nothing would fill (mautic/mautic#6405: the queue kept contacts
    // taken out of the campaign).
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // control: the reminder still waits for its retry and holds the slot
    public async Task AReminderWithdrawnDuringItsRetryBackOff_FreesItsCapSlot(bool orders)
    {
        var email = new FailingTransport(ChannelNames.Email).FailTransiently(1);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Journeys.Add(JourneyRig.Parse("""
                    {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
                     "exit": [{"event": "order.placed"}],
                     "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "topic": "cart"}]}
                    """));
                o.Delivery.Retry = null;
                o.Delivery.RetryDelay = TimeSpan.FromHours(2);
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(12)));
            },
            start: Afternoon,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(1, email.TransientFailures); // the reminder waits two hours for its retry

        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        if (orders)
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });
        }

        var news = await host.Client.SendAsync(Ann, new MessageRequest { Key = "news", Channels = [ChannelNames.Email], TemplateId = "news" });
        Assert.Equal(orders ? SendStatus.Queued : SendStatus.Skipped, news.Status);
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.Engine.RunDispatchAsync();
        var sent = Assert.Single(email.Recorder!.Messages); // the cap lets one through: the news, or the reminder's retry
        Assert.Equal(orders, sent.MessageId == "news");
    }
}
