using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The inputs of <see cref="JourneyMatchingBenchmarks"/>: 20 journeys of a shop (12 event triggers on 12 event types,
/// 5 of them with <c>where</c> conditions; 3 segment, 3 date and 2 inactivity triggers), the 3 segments they name, and a
/// profile with 3 running instances (an abandoned cart and a wishlist nudge in a delay, an order waiting to ship), an
/// inactivity clock and 3 date triggers scheduled.
/// </summary>
internal static class JourneyMatchingData
{
    public const int TimelineLength = 200;

    /// <summary>When the measured events happen: after the setup, before anything the profile waits for is due.</summary>
    public static readonly DateTimeOffset Now = new(2026, 1, 10, 10, 50, 0, TimeSpan.Zero);

    private static readonly DateTimeOffset Start = new(2026, 1, 10, 10, 0, 0, TimeSpan.Zero);

    public static List<SegmentDefinition> Segments()
    {
        var r = RuleBuilder.Instance;
        return
        [
            Segment.Define("vip", "VIP").Where(r.Trait("tier").Eq("vip")).Build(),
            Segment.Define("no-order-90d", "No order in 90 days").Where(r.LastEvent(EventTypes.OrderPlaced).MoreThanAgo("P90D")).Build(),
            Segment.Define("big-spender", "Big spender").Where(r.Sum(EventTypes.OrderPlaced, "total").Gte(500)).Build(),
        ];
    }

    public static List<JourneyDefinition> Journeys()
    {
        var r = RuleBuilder.Instance;
        JourneyDefinitionBuilder Send(string id, string name, Func<TriggerBuilder, JourneyTrigger> trigger, string template) =>
            Journey.Define(id, name).TriggeredBy(trigger).Steps(s => s.Send("send", [ChannelNames.Email], template: template));

        return
        [
            // Event triggers, one event type each.
            Send("welcome", "Welcome", t => t.Event(EventTypes.NewsletterSubscribed), "welcome").ReEnter(ReEntryPolicy.Never).Build(),
            Journey.Define("abandoned-cart", "Abandoned cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .CorrelatedBy("cart_id").ExitOn(EventTypes.OrderPlaced).Goal(EventTypes.OrderPlaced, "P7D")
                .Steps(s => s
                    .Delay("wait-1h", "PT1H")
                    .Send("reminder", [ChannelNames.Push, ChannelNames.Email], template: "cart-reminder", topic: "cart")
                    .Delay("wait-24h", "PT23H")
                    .Send("sms", [ChannelNames.Sms], template: "cart-sms", topic: "cart"))
                .Build(),
            Journey.Define("order-updates", "Order updates")
                .TriggeredBy(t => t.Event(EventTypes.OrderPlaced, r.Property("total").Gt(0)))
                .MaxConcurrent(10).CorrelatedBy("order_id")
                .Steps(s => s
                    .Send("confirmation", [ChannelNames.Email], template: "order-confirmation", @class: MessageClass.Transactional)
                    .WaitForEvent("wait-shipped", "P30D", [new EventBranch(EventTypes.OrderShipped, "shipping-sms")], timeoutNext: "gave-up")
                    .Send("shipping-sms", [ChannelNames.Sms, ChannelNames.Email], template: "order-shipped", @class: MessageClass.Transactional, next: "done")
                    .Exit("gave-up", "not shipped in 30 days")
                    .Exit("done"))
                .Build(),
            Send("click-and-collect", "Click and collect", t => t.Event(EventTypes.OrderReadyForPickup, r.Property("fulfillment").Eq("pickup")), "ready-for-pickup").Build(),
            Journey.Define("review-request", "Review request")
                .TriggeredBy(t => t.Event(EventTypes.OrderDelivered))
                .Steps(s => s.Delay("wait", "P3D").Send("ask", [ChannelNames.Email], template: "review"))
                .Build(),
            Send("damaged-return", "Damaged return", t => t.Event(EventTypes.OrderReturned, r.Property("reason").Eq("damaged")), "sorry").Build(),
            Send("cancel-survey", "Cancellation survey", t => t.Event(EventTypes.OrderCancelled), "survey").Build(),
            Send("loyalty-milestone", "Loyalty milestone", t => t.Event(EventTypes.LoyaltyPointsEarned, r.Property("points").Gte(1000)), "milestone").Build(),
            Send("referral-thanks", "Referral thanks", t => t.Event(EventTypes.ReferralConverted), "thanks").Build(),
            Send("ticket-csat", "Support satisfaction", t => t.Event(EventTypes.SupportTicketResolved), "csat").Build(),
            Journey.Define("wishlist-nudge", "Wishlist nudge")
                .TriggeredBy(t => t.Event(EventTypes.WishlistItemAdded, r.Property("price").Gte(50)))
                .Steps(s => s.Delay("wait", "P1D").Send("nudge", [ChannelNames.Push, ChannelNames.Email], template: "wishlist"))
                .Build(),
            Send("checkout-rescue", "Checkout rescue", t => t.Event(EventTypes.CheckoutStarted, r.Property("total").Gte(100), r.Property("currency").Eq("EUR")), "rescue").Build(),

            // Segment triggers.
            Journey.Define("win-back", "Win-back")
                .TriggeredBy(t => t.SegmentEntered("no-order-90d"))
                .ExitOn(EventTypes.OrderPlaced).Goal(EventTypes.OrderPlaced, "P30D")
                .Steps(s => s
                    .Send("email", [ChannelNames.Email], template: "we-miss-you", topic: "offers")
                    .WaitForEvent("wait-order", "P7D", [new EventBranch(EventTypes.OrderPlaced, "converted")])
                    .Send("sms-offer", [ChannelNames.Sms], template: "win-back-offer", topic: "offers", next: "end")
                    .Exit("converted", "ordered")
                    .Exit("end"))
                .Build(),
            Send("vip-welcome", "VIP welcome", t => t.SegmentEntered("vip"), "vip").Build(),
            Send("vip-lost", "VIP lost", t => t.SegmentExited("vip"), "vip-lost").Build(),

            // Date triggers.
            Send("refill-reminder", "Refill reminder", t => t.Date("refill_due_at", "-P3D", new TimeOnly(9, 0)), "refill").Build(),
            Send("birthday", "Birthday", t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true), "birthday").Build(),
            Send("renewal", "Subscription renewal", t => t.Date("subscription_renews_at", "-P7D", new TimeOnly(10, 0)), "renewal").Build(),

            // Inactivity triggers.
            Send("browse-abandon", "Browse abandonment", t => t.Inactivity(EventTypes.ProductViewed, "P7D", EventTypes.OrderPlaced, EventTypes.CartItemAdded), "browse").Build(),
            Send("checkout-abandon", "Checkout abandonment", t => t.Inactivity(EventTypes.CheckoutStarted, "P1D", EventTypes.OrderPlaced), "checkout").Build(),
        ];
    }

    /// <summary>Catalogs as the engine builds them (segments with the journeys' embedded rules), and a stub delivery plan.</summary>
    public static JourneyServices Services(IReadOnlyList<JourneyDefinition> journeys)
    {
        var segments = SegmentCatalog.Create(Segments());
        var catalog = JourneyCatalog.Create(journeys, segments);
        return new JourneyServices
        {
            Segments = segments.WithExtraRules(catalog.Rules),
            Journeys = catalog,
            TimelineLength = TimelineLength,
            Delivery = new DeliveryOptions(),
            Plan = Plan,
            HasTransport = _ => true,
        };
    }

    /// <summary>
    /// The profile after sign-up (with date traits), an order, a cart, a wishlist item and a product view: 3 instances
    /// running, an inactivity clock and the date triggers scheduled. Returned serialised, so each iteration starts again.
    /// </summary>
    public static byte[] Profile(JourneyServices services)
    {
        var p = new CustomerProfile("p1", Start);
        Run(p, services, Event("signup", "user.signed_up", Start, traits: new
        {
            tier = "gold",
            birthday = "1990-06-15",
            refill_due_at = "2026-02-01",
            subscription_renews_at = "2026-03-01T00:00:00Z",
        }));
        Run(p, services, Event("order-1", EventTypes.OrderPlaced, Start.AddMinutes(10), new { order_id = "o1", total = 42.5, currency = "EUR" }));
        Run(p, services, Event("cart-1", EventTypes.CartItemAdded, Start.AddMinutes(20), new { cart_id = "c1", product_id = "sku-1", price = 19.9 }));
        Run(p, services, Event("wish-1", EventTypes.WishlistItemAdded, Start.AddMinutes(30), new { product_id = "sku-2", price = 80 }));
        Run(p, services, Event("view-1", EventTypes.ProductViewed, Start.AddMinutes(40), new { product_id = "sku-3" }));
        var running = p.JourneyData?.Instances.Select(i => i.JourneyId).Order(StringComparer.Ordinal).ToList() ?? [];
        if (!running.SequenceEqual(["abandoned-cart", "order-updates", "wishlist-nudge"]) || p.JourneyData!.Scheduled.Count != 4)
        {
            throw new InvalidOperationException($"The benchmark profile is not as intended: running [{string.Join(", ", running)}], {p.JourneyData?.Scheduled.Count} scheduled.");
        }

        return ProfileSerializer.Serialize(p);
    }

    public static CustomerEvent Event(string id, string type, DateTimeOffset at, object? properties = null, object? traits = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [Identifier.CustomerId("c1")],
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };

    // The setup runs the whole unit of work, as the engine does; the benchmark measures the journey part only.
    private static void Run(CustomerProfile p, JourneyServices services, CustomerEvent e)
    {
        ProfileCore.Apply(p, e, TimelineLength);
        var changes = SegmentRuntime.OnEvent(p, e, services.Segments, e.Timestamp, everything: false, TimelineLength);
        new JourneyRunner(p, services, e.Timestamp, CancellationToken.None).OnEventAsync(e, changes).AsTask().GetAwaiter().GetResult();
    }

    // Stands in for the engine's delivery policies and rendering (measured by DeliveryBenchmarks): queued at once on the first channel.
    private static ValueTask<(SendResult Result, OutboxEntry? Entry)> Plan(CustomerProfile p, MessageRequest request, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<(SendResult, OutboxEntry?)>((
            new SendResult(request.Key, SendStatus.Queued, request.Channels[0], now, null),
            new OutboxEntry { MessageKey = request.Key, ProfileId = p.Id, DueAt = now, Payload = [] }));
}
