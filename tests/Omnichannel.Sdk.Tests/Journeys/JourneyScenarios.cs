using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>The scenarios 1–4 as journey definitions, in JSON and in C# (reused by the execution tests).</summary>
public static class JourneyScenarios
{
    /// <summary>Scenario 1, first part: the welcome email with a first-order discount.</summary>
    public const string WelcomeJson = """
        {"id": "welcome", "version": 1, "name": "Welcome",
         "trigger": {"type": "event", "event": "newsletter.subscribed"},
         "entry": {"reEntry": "never"},
         "steps": [{"id": "welcome-email", "type": "send", "channels": ["email"], "template": "welcome-discount", "topic": "newsletter", "class": "marketing"}]}
        """;

    /// <summary>Scenario 1: the abandoned cart (push, else email, after 1 hour; SMS after 24 hours if opted in), ended by an order.</summary>
    public const string AbandonedCartJson = """
        {"id": "abandoned-cart", "version": 1, "name": "Abandoned cart",
         "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"correlationKey": "cart_id"},
         "exit": [{"event": "order.placed"}],
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [
           {"id": "wait-1h", "type": "delay", "duration": "PT1H"},
           {"id": "reminder", "type": "send", "channels": ["push", "email"], "template": "cart-reminder", "topic": "cart", "class": "marketing"},
           {"id": "wait-24h", "type": "delay", "duration": "PT23H"},
           {"id": "sms", "type": "send", "channels": ["sms"], "template": "cart-sms", "topic": "cart", "class": "marketing"}]}
        """;

    /// <summary>Scenario 1: order confirmation, then shipping details by SMS when the order ships.</summary>
    public const string OrderUpdatesJson = """
        {"id": "order-updates", "version": 1, "name": "Order updates",
         "trigger": {"type": "event", "event": "order.placed"},
         "entry": {"maxConcurrent": 10, "correlationKey": "order_id"},
         "steps": [
           {"id": "confirmation", "type": "send", "channels": ["email"], "template": "order-confirmation", "class": "transactional"},
           {"id": "wait-shipped", "type": "waitForEvent", "branches": [{"event": "order.shipped", "next": "shipping-sms"}], "timeout": "P30D", "timeoutNext": "gave-up"},
           {"id": "shipping-sms", "type": "send", "channels": ["sms", "email"], "template": "order-shipped", "class": "transactional", "next": "done"},
           {"id": "gave-up", "type": "exit", "reason": "not shipped in 30 days"},
           {"id": "done", "type": "exit"}]}
        """;

    /// <summary>Scenario 2: win-back.</summary>
    public const string WinBackJson = """
        {"id": "win-back", "version": 1, "name": "Win-back",
         "trigger": {"type": "segment", "segment": "no-order-90d", "on": "entered"},
         "exit": [{"event": "order.placed"}],
         "goal": {"event": "order.placed", "within": "P30D"},
         "steps": [
           {"id": "email", "type": "send", "channels": ["email"], "template": "we-miss-you", "topic": "offers", "class": "marketing"},
           {"id": "wait-order", "type": "waitForEvent", "branches": [{"event": "order.placed", "next": "converted"}], "timeout": "P7D"},
           {"id": "sms-offer", "type": "send", "channels": ["sms"], "template": "win-back-offer", "topic": "offers", "class": "marketing", "next": "end"},
           {"id": "converted", "type": "exit", "reason": "ordered"},
           {"id": "end", "type": "exit"}]}
        """;

    /// <summary>Scenario 3: refill reminder three days before refill_due_at at 09:00 local.</summary>
    public const string RefillJson = """
        {"id": "refill-reminder", "version": 1, "name": "Refill reminder",
         "trigger": {"type": "date", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"},
         "steps": [{"id": "push", "type": "send", "channels": ["push"], "template": "refill-due", "topic": "refills", "class": "marketing"}]}
        """;

    /// <summary>Scenario 4: click-and-collect.</summary>
    public const string ClickAndCollectJson = """
        {"id": "click-and-collect", "version": 1, "name": "Click and collect",
         "trigger": {"type": "event", "event": "order.ready_for_pickup", "where": [{"property": "fulfillment", "op": "eq", "value": "pickup"}]},
         "entry": {"maxConcurrent": 5, "correlationKey": "order_id"},
         "exit": [{"event": "order.picked_up"}],
         "steps": [
           {"id": "ready", "type": "send", "channels": ["push", "sms", "email"], "template": "ready-for-pickup", "class": "transactional"},
           {"id": "wait-pickup", "type": "waitForEvent", "branches": [{"event": "order.picked_up", "next": "collected"}], "timeout": "P2D"},
           {"id": "reminder", "type": "send", "channels": ["push", "sms", "email"], "template": "pickup-reminder", "class": "transactional", "next": "end"},
           {"id": "collected", "type": "exit", "reason": "picked up"},
           {"id": "end", "type": "exit"}]}
        """;

    /// <summary>Every scenario in JSON.</summary>
    public static IReadOnlyList<string> AllJson { get; } = [WelcomeJson, AbandonedCartJson, OrderUpdatesJson, WinBackJson, RefillJson, ClickAndCollectJson];

    /// <summary>Scenario 1's welcome journey in C#.</summary>
    public static JourneyDefinition Welcome() => Journey.Define("welcome", "Welcome")
        .TriggeredBy(t => t.Event(EventTypes.NewsletterSubscribed))
        .ReEnter(ReEntryPolicy.Never)
        .Steps(s => s.Send("welcome-email", [ChannelNames.Email], template: "welcome-discount", topic: "newsletter"))
        .Build();

    /// <summary>Scenario 1's abandoned cart in C#.</summary>
    public static JourneyDefinition AbandonedCart() => Journey.Define("abandoned-cart", "Abandoned cart", version: 1)
        .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
        .CorrelatedBy("cart_id").ExitOn(EventTypes.OrderPlaced)
        .Goal(EventTypes.OrderPlaced, "P7D")
        .Steps(s => s
            .Delay("wait-1h", "PT1H")
            .Send("reminder", [ChannelNames.Push, ChannelNames.Email], template: "cart-reminder", topic: "cart")
            .Delay("wait-24h", "PT23H")
            .Send("sms", [ChannelNames.Sms], template: "cart-sms", topic: "cart"))
        .Build();

    /// <summary>Scenario 1's order updates in C#.</summary>
    public static JourneyDefinition OrderUpdates() => Journey.Define("order-updates", "Order updates")
        .TriggeredBy(t => t.Event(EventTypes.OrderPlaced))
        .MaxConcurrent(10).CorrelatedBy("order_id")
        .Steps(s => s
            .Send("confirmation", [ChannelNames.Email], template: "order-confirmation", @class: MessageClass.Transactional)
            .WaitForEvent("wait-shipped", "P30D", [new EventBranch(EventTypes.OrderShipped, "shipping-sms")], timeoutNext: "gave-up")
            .Send("shipping-sms", [ChannelNames.Sms, ChannelNames.Email], template: "order-shipped", @class: MessageClass.Transactional, next: "done")
            .Exit("gave-up", "not shipped in 30 days")
            .Exit("done"))
        .Build();

    /// <summary>Scenario 2 in C#.</summary>
    public static JourneyDefinition WinBack() => Journey.Define("win-back", "Win-back")
        .TriggeredBy(t => t.SegmentEntered("no-order-90d"))
        .ExitOn(EventTypes.OrderPlaced)
        .Goal(EventTypes.OrderPlaced, "P30D")
        .Steps(s => s
            .Send("email", [ChannelNames.Email], template: "we-miss-you", topic: "offers")
            .WaitForEvent("wait-order", "P7D", [new EventBranch(EventTypes.OrderPlaced, "converted")])
            .Send("sms-offer", [ChannelNames.Sms], template: "win-back-offer", topic: "offers", next: "end")
            .Exit("converted", "ordered")
            .Exit("end"))
        .Build();

    /// <summary>Scenario 3 in C#.</summary>
    public static JourneyDefinition Refill() => Journey.Define("refill-reminder", "Refill reminder")
        .TriggeredBy(t => t.Date("refill_due_at", "-P3D", new TimeOnly(9, 0)))
        .Steps(s => s.Send("push", [ChannelNames.Push], template: "refill-due", topic: "refills"))
        .Build();

    /// <summary>Scenario 4 in C#.</summary>
    public static JourneyDefinition ClickAndCollect() => Journey.Define("click-and-collect", "Click and collect")
        .TriggeredBy(t => t.Event(EventTypes.OrderReadyForPickup, global::Omnichannel.Sdk.Segments.RuleBuilder.Instance.Property("fulfillment").Eq("pickup")))
        .MaxConcurrent(5).CorrelatedBy("order_id")
        .ExitOn(EventTypes.OrderPickedUp)
        .Steps(s => s
            .Send("ready", [ChannelNames.Push, ChannelNames.Sms, ChannelNames.Email], template: "ready-for-pickup", @class: MessageClass.Transactional)
            .WaitForEvent("wait-pickup", "P2D", [new EventBranch(EventTypes.OrderPickedUp, "collected")])
            .Send("reminder", [ChannelNames.Push, ChannelNames.Sms, ChannelNames.Email], template: "pickup-reminder", @class: MessageClass.Transactional, next: "end")
            .Exit("collected", "picked up")
            .Exit("end"))
        .Build();

    /// <summary>Every scenario in C#, in the order of <see cref="AllJson"/>.</summary>
    public static IReadOnlyList<Func<JourneyDefinition>> AllBuilt { get; } = [Welcome, AbandonedCart, OrderUpdates, WinBack, Refill, ClickAndCollect];
}
