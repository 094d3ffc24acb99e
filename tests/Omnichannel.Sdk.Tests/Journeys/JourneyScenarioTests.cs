using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>The scenarios, end to end on a fake clock with the recording transport.</summary>
public sealed class JourneyScenarioTests
{
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static SegmentDefinition NoOrder90Days =>
        SegmentJson.Parse("""{"id": "no-order-90d", "name": "No order in 90 days", "rule": {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D"}}""").Value!;

    private static JourneyRig Scenario1(Action<OmnichannelOptions>? configure = null) => JourneyRig.Create(
        [JourneyRig.Parse(JourneyScenarios.WelcomeJson), JourneyRig.Parse(JourneyScenarios.AbandonedCartJson), JourneyRig.Parse(JourneyScenarios.OrderUpdatesJson)],
        configure: configure);

    [Fact]
    public async Task Scenario1_WelcomeToOrder_FollowsTheCustomerFromEmailToPushToSms()
    {
        await using var rig = Scenario1();

        // A visitor subscribes: the welcome email with the first-order discount.
        await rig.TrackAsync(EventTypes.NewsletterSubscribed, [Cookie, Identifier.Email("ann@example.com")]);
        Assert.Equal(["email:welcome-discount"], rig.Sent());
        await rig.TrackAsync(EventTypes.ConsentChanged, [Cookie], new { channel = "email", granted = true }); // marketing email in general

        // She comes back, browses, accepts push notifications, buys nothing; later she logs in and fills a cart.
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        await rig.TrackAsync(EventTypes.ProductViewed, [Cookie], new { product_id = "litter-5kg" });
        await rig.TrackAsync(EventTypes.ConsentChanged, [Cookie, Identifier.DeviceId("phone-token-1")], new { channel = "push", granted = true }, channel: ChannelNames.App);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("user.logged_in", [Cookie, Ann, Identifier.Phone("+447700900001")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "litter-5kg", price = 12.5, quantity = 2 });

        // An hour later: the reminder by push (she accepted push).
        await rig.AdvanceAsync(TimeSpan.FromMinutes(59));
        Assert.Single(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(["email:welcome-discount", "push:cart-reminder"], rig.Sent());

        // 24 hours after leaving: no SMS, because she never opted in to SMS; the skip is recorded with its reason.
        await rig.AdvanceAsync(TimeSpan.FromHours(23));
        Assert.Equal(2, rig.Sent().Count);
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Contains(profile.Timeline, t => t.Type == "journey.skipped" && t.Summary!.Contains("sms", StringComparison.Ordinal));

        // She orders: the cart journey ends at once as a conversion; the order confirmation goes out.
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", cart_id = "c1", total = 25 });
        profile = await rig.Host.ProfileAsync(Ann);
        Assert.DoesNotContain(profile.Journeys, j => j.JourneyId == "abandoned-cart");
        Assert.Equal(["email:welcome-discount", "push:cart-reminder", "email:order-confirmation"], rig.Sent());

        // The order ships: shipping details by SMS (transactional: no marketing consent needed).
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("order.shipped", [Ann], new { order_id = "o1", carrier = "DPD" });
        Assert.Equal(["email:welcome-discount", "push:cart-reminder", "email:order-confirmation", "sms:order-shipped"], rig.Sent());
        Assert.Empty(rig.Recorder.DuplicateMessageIds);

        var cart = await rig.Engine.GetJourneyStatisticsAsync("abandoned-cart");
        Assert.Equal((1L, 1L, 0L), (cart.Entered, cart.Converted, cart.Active));
        Assert.Equal(1, cart.Steps["reminder"].Sent);
        Assert.Equal(1, cart.Steps["sms"].Skipped);
        Assert.Equal(1, cart.Steps["sms"].Converted); // the last step before the order
        Assert.Equal(1, cart.ConversionsByChannel["push"]);
        var orders = await rig.Engine.GetJourneyStatisticsAsync("order-updates");
        Assert.Equal((1L, 1L), (orders.Entered, orders.Exited));
    }

    [Fact]
    public async Task Scenario1_WithoutPushConsent_TheCartReminderGoesByEmail_AndAnOrderEndsItBeforeTheSms()
    {
        await using var rig = Scenario1();
        await rig.TrackAsync(EventTypes.NewsletterSubscribed, [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900001")]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "bowl", price = 8 });

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:welcome-discount", "email:cart-reminder"], rig.Sent());

        await rig.AdvanceAsync(TimeSpan.FromHours(5));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", cart_id = "c1", total = 8 });
        await rig.AdvanceAsync(TimeSpan.FromDays(2));

        Assert.DoesNotContain("sms:cart-sms", rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("abandoned-cart")).Converted);
    }

    [Fact]
    public async Task Scenario1_WithSmsOptIn_TheSmsGoes24HoursAfterTheCartWasLeft()
    {
        await using var rig = Scenario1();
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900001")]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c9", product_id = "bowl", price = 8 });

        await rig.AdvanceAsync(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(rig.Sent(), s => s.StartsWith("sms:", StringComparison.Ordinal));
        await rig.AdvanceAsync(TimeSpan.FromSeconds(1));

        var sms = Assert.Single(rig.Recorder.Sent<SmsMessage>());
        Assert.Equal("cart-sms c9", sms.Body);
    }

    [Fact]
    public async Task Scenario2_WinBack_EmailThenSmsOffer_AndAnOrderAtAnyPointCountsAsAConversion()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(JourneyScenarios.WinBackJson)], [NoOrder90Days], o => o.Delivery.OptOutTopics.Add("offers"));
        var bob = Identifier.CustomerId("bob");
        var cat = Identifier.CustomerId("cat");
        foreach (var (who, n) in new[] { (Ann, 1), (bob, 2), (cat, 3) })
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [who, Identifier.Email($"c{n}@example.com"), Identifier.Phone($"+44770090000{n}")], new { order_id = $"first-{n}", total = 10 });
        }

        // 90 days later all three enter the segment: the win-back email, at that exact instant.
        await rig.AdvanceAsync(TimeSpan.FromDays(90) + TimeSpan.FromSeconds(1));
        Assert.Equal(3, rig.Recorder.Sent<EmailMessage>().Count);

        // Bob orders within the week (ends by the goal); the others get the SMS offer after 7 days.
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        await rig.TrackAsync(EventTypes.OrderPlaced, [bob], new { order_id = "again", total = 30 });
        await rig.AdvanceAsync(TimeSpan.FromDays(4));
        var sms = rig.Recorder.Sent<SmsMessage>();
        Assert.Equal(["+447700900001", "+447700900003"], sms.Select(s => s.To).Order());

        // Cat orders after the SMS, still within the 30-day window: a conversion too, credited to the SMS step.
        await rig.AdvanceAsync(TimeSpan.FromDays(10));
        await rig.TrackAsync(EventTypes.OrderPlaced, [cat], new { order_id = "late", total = 12 });

        var stats = await rig.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((3L, 2L), (stats.Entered, stats.Converted));
        Assert.Equal(1, stats.Steps["sms-offer"].Converted);
        Assert.Equal(1, stats.Steps["email"].Converted);
        Assert.Equal(2, stats.Steps["wait-order"].TimedOut);
    }
}
