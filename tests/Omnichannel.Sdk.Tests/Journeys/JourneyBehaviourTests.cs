using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>Scenario 6 (entry rules, correlation, exits mid-wait, bad definitions) and each step type's behaviour.</summary>
public sealed class JourneyBehaviourTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static JourneyDefinition Cart(string entry) => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {{entry}}, "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> SignedUp(params JourneyDefinition[] journeys)
    {
        var rig = JourneyRig.Create(journeys);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        return rig;
    }

    [Fact]
    public async Task CorrelationKeys_TwoCartsRunTwoInstances_WhenConcurrencyAllows()
    {
        await using var rig = await SignedUp(Cart("""{"correlationKey": "cart_id", "maxConcurrent": 2}"""));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" }); // same cart: already running
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });

        var running = (await rig.Host.ProfileAsync(Ann)).Journeys;
        Assert.Equal(["c1", "c2"], running.Select(j => j.CorrelationKey).Order());
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(2, rig.Recorder.Sent<EmailMessage>().Count);
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).EntriesRefused);
    }

    [Fact]
    public async Task CorrelationKeys_TwoCartsRunOneInstance_WhenOnlyOneMayRun()
    {
        await using var rig = await SignedUp(Cart("""{"correlationKey": "cart_id", "maxConcurrent": 1}"""));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });

        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Equal("c1", Assert.Single(profile.Journeys).CorrelationKey);
        var refused = Assert.Single(profile.Timeline, t => t.Type == "journey.entry_refused");
        Assert.Contains("1 instance(s) running (max 1)", refused.Summary);
    }

    [Fact]
    public async Task CorrelatedBy_ByDefault_RunsOneInstancePerCart()
    {
        // The README's abandoned-cart journey: ".CorrelatedBy("cart_id") // one instance per cart" with no other entry rule.
        var journey = Journey.Define("cart", "Cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .CorrelatedBy("cart_id")
            .Steps(s => s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Email], "cart-reminder", @class: MessageClass.Transactional))
            .Build();
        Assert.Null(journey.Entry.MaxConcurrent);
        await using var rig = await SignedUp(journey);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c3", product_id = "p" });

        Assert.Equal(["c1", "c2", "c3"], (await rig.Host.ProfileAsync(Ann)).Journeys.Select(j => j.CorrelationKey).Order());
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(3, rig.Recorder.Sent<EmailMessage>().Count);
    }

    [Fact]
    public async Task EntryRefusals_LandOnTheTimeline_WithTheirReason()
    {
        await using var rig = await SignedUp(Cart("""{"correlationKey": "cart_id"}"""));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p2" }); // same cart: still running
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p3" });                  // no cart id

        var refusals = (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.entry_refused").Select(t => t.Summary!).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.Contains(refusals, r => r.StartsWith("cart: entry refused: an instance is still running", StringComparison.Ordinal));
        Assert.Contains(refusals, r => r.Contains("the trigger has no 'cart_id' to correlate on", StringComparison.Ordinal));
        Assert.Equal(2, (await rig.Engine.GetJourneyStatisticsAsync("cart")).EntriesRefused);
    }

    [Fact]
    public async Task AnEventOfAnotherCorrelationValue_DoesNotMoveTheInstance()
    {
        await using var rig = await SignedUp(Cart("""{"correlationKey": "cart_id", "maxConcurrent": 2}"""));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", cart_id = "c2", total = 5 });

        Assert.Equal("c1", Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).CorrelationKey);
    }

    [Theory]
    [InlineData("""{"reEntry": "never"}""", 1)]
    [InlineData("""{"reEntry": "afterPreviousEnded"}""", 3)]
    [InlineData("""{"reEntry": "afterCooldown", "cooldown": "P1D"}""", 2)] // the second cart comes 2 h after the first started
    public async Task ReEntry_FollowsThePolicy(string entry, int expectedEntries)
    {
        await using var rig = await SignedUp(Cart(entry));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2)); // ended
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "p" }); // 2 h later
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c3", product_id = "p" }); // 26 h after the first

        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(expectedEntries, stats.Entered);
        Assert.Equal(3 - expectedEntries, stats.EntriesRefused);
    }

    [Fact]
    public async Task AnExitEvent_EndsTheInstanceMidWait_AndNothingIsSent()
    {
        await using var rig = await SignedUp(Cart("{}"));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        var profile = await rig.Host.ProfileAsync(Ann);
        Assert.Empty(profile.Journeys);
        Assert.Contains(profile.Timeline, t => t.Type == "journey.exited" && t.Summary == "cart: exit criterion: order.placed");
    }

    [Fact]
    public async Task ASegmentConditionExit_FiresAtTheExactInstantTimeMakesItTrue()
    {
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "exit": [{"condition": {"lastEvent": "product.viewed", "op": "moreThanAgo", "value": "P2D"}}],
             "steps": [{"id": "wait", "type": "delay", "duration": "P5D"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = await SignedUp(journey);
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        var viewed = rig.Host.Time.GetUtcNow();

        await rig.AdvanceAsync(TimeSpan.FromDays(6));

        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        var exit = Assert.Single((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.exited");
        Assert.InRange(exit.Timestamp, viewed + TimeSpan.FromDays(2), viewed + TimeSpan.FromDays(2) + TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void ADefinitionWithErrors_IsRejectedAtStartUp_WithEveryPath()
    {
        var bad = new JourneyDefinition("bad", 1, "Bad", new SegmentTrigger("no-such-segment", Omnichannel.Sdk.Journeys.SegmentTransition.Entered),
            [new SendStep("send", [], "t") { Next = "nowhere" }]);
        var ex = Assert.Throws<OptionsValidationException>(() => JourneyRig.Create([bad]));
        Assert.Contains(ex.Failures, f => f.StartsWith("Journeys[0].trigger.segment:", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Journeys[0].steps[0].next:", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("Journeys[0].steps[0].channels:", StringComparison.Ordinal));
    }

    [Fact]
    public void AJsonDefinitionWithErrors_IsRejectedByTheBuilder_WithItsJsonPath()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        var ex = Assert.Throws<JourneyDefinitionException>(() => services.AddOmnichannel().AddJourneysFromJson(
            """{"id": "x", "version": 1, "name": "X", "trigger": {"type": "event", "event": "a.b"}, "steps": [{"id": "d", "type": "delay", "duration": "soon"}]}"""));
        Assert.Contains(ex.Errors, e => e.Path == "$.steps[0].duration");
    }

    [Fact]
    public async Task WaitForEvent_TakesTheFirstMatchingBranch_RestartsOnMatch_AndTimesOut()
    {
        var journey = JourneyRig.Parse("""
            {"id": "w", "version": 1, "name": "Wait", "trigger": {"type": "event", "event": "checkout.started"},
             "steps": [
               {"id": "wait", "type": "waitForEvent", "timeout": "PT2H", "restartOnMatch": true, "timeoutNext": "gone",
                "branches": [{"event": "page.viewed"}, {"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}], "next": "big"}]},
               {"id": "big", "type": "send", "channels": ["email"], "template": "big-order", "class": "transactional", "next": "end"},
               {"id": "gone", "type": "send", "channels": ["email"], "template": "still-there", "class": "transactional"},
               {"id": "end", "type": "exit"}]}
            """);
        await using var rig = await SignedUp(journey);
        await rig.TrackAsync("checkout.started", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(90));
        await rig.TrackAsync("page.viewed", [Ann]); // keeps her waiting: the 2 hours start again
        await rig.AdvanceAsync(TimeSpan.FromMinutes(90));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "small", total = 20 }); // does not match the where
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());

        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        Assert.Equal("still-there", Assert.Single(rig.Recorder.Sent<EmailMessage>()).Subject);

        await rig.TrackAsync("checkout.started", [Ann]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "big", total = 150 });
        Assert.Equal(["still-there", "big-order"], rig.Recorder.Sent<EmailMessage>().Select(m => m.Subject));
    }

    [Fact]
    public async Task Branch_ReadsTheTriggerTheContextAndTheProfile_FirstMatchWins()
    {
        var journey = JourneyRig.Parse("""
            {"id": "b", "version": 1, "name": "Branch", "trigger": {"type": "event", "event": "order.placed"},
             "entry": {"maxConcurrent": 10, "correlationKey": "order_id"},
             "steps": [
               {"id": "route", "type": "branch", "else": "small",
                "branches": [{"condition": {"all": [{"trigger": "total", "op": "gte", "value": 100}, {"trait": "vip", "op": "eq", "value": true}]}, "next": "vip"},
                             {"condition": {"any": [{"trigger": "total", "op": "gte", "value": 100}, {"context": "correlationKey", "op": "eq", "value": "special"}]}, "next": "big"}]},
               {"id": "vip", "type": "send", "channels": ["email"], "template": "vip", "class": "transactional", "next": "end"},
               {"id": "big", "type": "send", "channels": ["email"], "template": "big", "class": "transactional", "next": "end"},
               {"id": "small", "type": "send", "channels": ["email"], "template": "small", "class": "transactional"},
               {"id": "end", "type": "exit"}]}
            """);
        await using var rig = await SignedUp(journey);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 150 });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "special", total = 10 });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 10 });
        await rig.TrackAsync("profile.updated", [Ann], traits: new { vip = true });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o4", total = 150 });

        Assert.Equal(["big", "big", "small", "vip"], rig.Recorder.Sent<EmailMessage>().Select(m => m.Subject));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("b");
        Assert.Equal(2, stats.Steps["route"].Branches["big"]);
    }

    [Fact]
    public async Task UpdateProfile_SetsUnsetsAndIncrements_AndSegmentsFollow()
    {
        var journey = JourneyRig.Parse("""
            {"id": "u", "version": 1, "name": "Update", "trigger": {"type": "event", "event": "order.placed"},
             "entry": {"maxConcurrent": 5},
             "steps": [{"id": "up", "type": "updateProfile", "set": {"tier": "gold"}, "unset": ["trial"], "increment": {"orders_seen": 1}}]}
            """);
        var gold = SegmentJson.Parse("""{"id": "gold", "name": "Gold", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""").Value!;
        await using var rig = JourneyRig.Create([journey], [gold]);
        await rig.TrackAsync("user.signed_up", [Ann], traits: new { trial = true });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 1 });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 1 });

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal("gold", p.Traits["tier"]!.GetValue<string>());
        Assert.False(p.TryGetTrait("trial", out _));
        Assert.Equal(2m, p.Traits["orders_seen"]!.GetValue<decimal>());
        Assert.True(p.IsInSegment("gold"));
    }

    [Fact]
    public async Task Emit_ReachesTheHostOnce_AndStartsJourneysTriggeredByIt()
    {
        var emitter = JourneyRig.Parse("""
            {"id": "e", "version": 1, "name": "Emit", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "say", "type": "emit", "event": "journey.big_spender", "properties": {"level": 2}}]}
            """);
        var listener = JourneyRig.Parse("""
            {"id": "l", "version": 1, "name": "Listen", "trigger": {"type": "event", "event": "journey.big_spender", "where": [{"property": "level", "op": "eq", "value": 2}]},
             "steps": [{"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional"}]}
            """);
        await using var rig = await SignedUp(emitter, listener);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 });

        var host = Assert.Single(rig.Recorder.Sent<HostEventMessage>());
        Assert.Equal(("journey.big_spender", 2), (host.EventType, host.Payload.GetProperty("level").GetInt32()));
        Assert.Equal("thanks", Assert.Single(rig.Recorder.Sent<EmailMessage>()).Subject);
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.big_spender");
    }

    [Fact]
    public async Task Webhook_PostsTheRenderedPayloadThroughTheOutbox()
    {
        var journey = JourneyRig.Parse("""
            {"id": "h", "version": 1, "name": "Hook", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "crm", "type": "webhook", "url": "https://crm.example/hooks/orders", "payload": "{\"order\": \"{{ journey.trigger.order_id }}\", \"who\": \"{{ journey.profileId }}\"}"}]}
            """);
        await using var rig = await SignedUp(journey);
        var result = await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o77", total = 5 });

        var hook = Assert.Single(rig.Recorder.Sent<WebhookMessage>());
        Assert.Equal(new Uri("https://crm.example/hooks/orders"), hook.Url);
        Assert.Equal(("o77", result.ProfileId), (hook.Payload.GetProperty("order").GetString(), hook.Payload.GetProperty("who").GetString()));
    }

    [Fact]
    public async Task Webhook_ATraitValueCannotAddKeysToThePayload()
    {
        // Issue 13 §4: nick = x", "vip": true, "z": " made the receiver read vip: true.
        var journey = JourneyRig.Parse("""
            {"id": "h", "version": 1, "name": "Hook", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "crm", "type": "webhook", "url": "https://crm.example/hooks/orders", "payload": "{\"nick\": \"{{ profile.traits.nick }}\", \"orders\": {{ profile.statistics.order_count }}}"}]}
            """);
        await using var rig = await SignedUp(journey);
        const string nick = "x\", \"vip\": true, \"z\": \"";
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5 }, traits: new { nick });

        var payload = Assert.Single(rig.Recorder.Sent<WebhookMessage>()).Payload;
        Assert.False(payload.TryGetProperty("vip", out _));
        Assert.Equal(nick, payload.GetProperty("nick").GetString());
        Assert.Equal(["nick", "orders"], payload.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task DelayUntilLocalTime_WaitsForTheNextAllowedDayAtThatTime_InTheCustomersZone()
    {
        var journey = JourneyRig.Parse("""
            {"id": "d", "version": 1, "name": "Weekday", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "monday-9", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday"]},
                       {"id": "tips", "type": "send", "channels": ["email"], "template": "tips", "class": "transactional"}]}
            """);
        // Wednesday 2026-01-07 12:00 UTC; Ann is in New York (UTC−5 in January).
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2026, 1, 7, 12, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail], context: new EventContext { TimeZone = "America/New_York" });

        Assert.Equal(new DateTimeOffset(2026, 1, 12, 14, 0, 0, TimeSpan.Zero), Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).WakeAt);
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 12, 14, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Recorder.Sent<EmailMessage>());
    }

    [Fact]
    public async Task Inactivity_FiresWhenTheFollowUpEventNeverCame_AndNotWhenItDid()
    {
        var journey = JourneyRig.Parse("""
            {"id": "viewed-no-order", "version": 1, "name": "Viewed, no order",
             "trigger": {"type": "inactivity", "afterEvent": "product.viewed", "noEvent": ["order.placed"], "within": "P7D"},
             "steps": [{"id": "nudge", "type": "send", "channels": ["email"], "template": "nudge", "class": "transactional"}]}
            """);
        var bob = Identifier.CustomerId("bob");
        await using var rig = await SignedUp(journey);
        await rig.TrackAsync("user.signed_up", [bob, Identifier.Email("bob@example.com")]);
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" });
        await rig.TrackAsync(EventTypes.ProductViewed, [bob], new { product_id = "p" });
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "q" }); // restarts her clock
        await rig.TrackAsync(EventTypes.OrderPlaced, [bob], new { order_id = "o", total = 3 });

        await rig.AdvanceAsync(TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        await rig.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal("ann@example.com", Assert.Single(rig.Recorder.Sent<EmailMessage>()).To);
    }

    [Fact]
    public async Task EntryCondition_KeepsOutProfilesThatDoNotMeetIt()
    {
        var journey = JourneyRig.Parse("""
            {"id": "c", "version": 1, "name": "Reachable", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"condition": {"trait": "country", "op": "eq", "value": "GB"}},
             "steps": [{"id": "hi", "type": "send", "channels": ["email"], "template": "hi", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail], traits: new { country = "GB" });
        await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("fr"), Identifier.Email("fr@example.com")], traits: new { country = "FR" });

        Assert.Equal("ann@example.com", Assert.Single(rig.Recorder.Sent<EmailMessage>()).To);
        Assert.Equal((1L, 1L), ((await rig.Engine.GetJourneyStatisticsAsync("c")).Entered, (await rig.Engine.GetJourneyStatisticsAsync("c")).EntriesRefused));
    }

    [Fact]
    public void ALoopWithNoWait_IsRejectedAtStartUp()
    {
        var journey = new JourneyDefinition("loop", 1, "Loop", new EventTrigger("user.signed_up"),
            [new UpdateProfileStep("a", [new TraitUpdate(TraitUpdateKind.Increment, "n", 1)]) { Next = "a" }]);
        var ex = Assert.Throws<OptionsValidationException>(() => JourneyRig.Create([journey]));
        Assert.Contains(ex.Failures, f => f.Contains("a → a form a loop with no delay or wait", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PublishingAVersionThatRemovesTheWaitingStep_ExitsTheInstanceWithTheReason_OthersFinishOnTheirVersion()
    {
        var v1 = Cart("{}");
        await using var rig = await SignedUp(v1);
        var bob = Identifier.CustomerId("bob");
        await rig.TrackAsync("user.signed_up", [bob, Identifier.Email("bob@example.com")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p" });

        // v2 keeps the step: Ann's instance carries on, on v1. (Its send names a loaded template: publishing one that
        // names a template the rig does not hold is refused.)
        var v2 = v1 with { Version = 2, Steps = [v1.Steps[0], new SendStep("remind", [ChannelNames.Email], "cart-reminder") { Class = MessageClass.Transactional }] };
        await rig.Engine.PublishJourneyAsync(v2);
        Assert.Equal(1, Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).Version);
        await rig.TrackAsync(EventTypes.CartItemAdded, [bob], new { cart_id = "c2", product_id = "p" }); // starts on v2

        // v3 removes the waiting step: both instances end, with the reason.
        var v3 = v1 with { Version = 3, Steps = [new SendStep("remind-now", [ChannelNames.Email], "cart-reminder") { Class = MessageClass.Transactional }] };
        Assert.Equal(2, await rig.Engine.PublishJourneyAsync(v3));
        foreach (var who in new[] { Ann, bob })
        {
            var p = await rig.Host.ProfileAsync(who);
            Assert.Empty(p.Journeys);
            Assert.Contains(p.Timeline, t => t.Type == "journey.exited" && t.Summary == "cart: version 3 removed step 'wait'");
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Recorder.Sent<EmailMessage>());
        Assert.Throws<JourneyDefinitionException>(() => rig.Engine.PublishJourneyAsync(v3 with { Name = "changed" }).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task LeavingASegment_StartsAJourney_ThatWaitsUntilADateTraitLessAnOffset()
    {
        var cartSegment = SegmentJson.Parse("""{"id": "has-cart", "name": "Has a cart", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!;
        var journey = JourneyRig.Parse("""
            {"id": "after-cart", "version": 1, "name": "After the cart", "trigger": {"type": "segment", "segment": "has-cart", "on": "exited"},
             "steps": [{"id": "until", "type": "delayUntilDateTrait", "trait": "delivery_date", "offset": "-P1D", "localTime": "18:00"},
                       {"id": "heads-up", "type": "send", "channels": ["email"], "template": "arriving-tomorrow", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], [cartSegment]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail], traits: new { delivery_date = "2026-01-10" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "p", price = 3 });
        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Journeys); // entering the segment starts nothing

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 3 }); // the order empties the cart

        var instance = Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys);
        Assert.Equal(new DateTimeOffset(2026, 1, 9, 18, 0, 0, TimeSpan.Zero), instance.WakeAt);
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 1, 9, 18, 0, 0, TimeSpan.Zero));
        Assert.Equal("arriving-tomorrow", Assert.Single(rig.Recorder.Sent<EmailMessage>()).Subject);
    }

    [Fact]
    public async Task AVisitorWhoLogsIn_KeepsHerRunningInstance_WhichCarriesOnOnTheMergedProfile()
    {
        await using var rig = JourneyRig.Create([Cart("""{"correlationKey": "cart_id"}""")]);
        var cookie = Identifier.AnonymousId("cookie-9");
        await rig.TrackAsync(EventTypes.CartItemAdded, [cookie], new { cart_id = "c1", product_id = "p" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(20));
        await rig.TrackAsync("user.logged_in", [cookie, Ann, AnnEmail]); // the anonymous profile is merged into a known one
        await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("other"), Identifier.Email("other@example.com")]);

        var instance = Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys);
        Assert.Equal("c1", instance.CorrelationKey);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(40));
        Assert.Equal("ann@example.com", Assert.Single(rig.Recorder.Sent<EmailMessage>()).To); // reachable only after the login
    }

    [Fact]
    public async Task TheSplit_AssignsEachCustomerTheSameVariant_InANewEngineOnTheSameStore()
    {
        var journey = JourneyRig.Parse("""
            {"id": "ab", "version": 1, "name": "AB", "trigger": {"type": "event", "event": "app.opened"}, "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "split", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "a"}, {"name": "b", "weight": 1, "next": "b"}]},
                       {"id": "a", "type": "exit"}, {"id": "b", "type": "exit"}]}
            """);
        var store = new InMemoryOmnichannelStore();
        var ids = Enumerable.Range(0, 60).Select(i => Identifier.CustomerId("c" + i)).ToList();
        async Task<List<string>> VariantsAsync(string run)
        {
            await using var rig = JourneyRig.Create([journey], store: store);
            foreach (var id in ids)
            {
                Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(rig.Host.Event("app.opened", [id]) with { Id = run + id.Value })).Status);
            }

            var variants = new List<string>();
            foreach (var id in ids)
            {
                variants.Add((await rig.Host.ProfileAsync(id)).Timeline.Last(t => t.Type == "journey.split").Summary!);
            }

            return variants;
        }

        var first = await VariantsAsync("first-");
        var second = await VariantsAsync("second-"); // a restart: a new engine, the same profiles

        Assert.Equal(first, second);
        Assert.Equal(2, first.Distinct().Count());
    }
}
