using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U32: bug classes from public reports (round 32: journeys, experiments and measurement). Each test names the
/// reports it comes from; everything runs through the public API on the test kit's fake clock.
/// </summary>
public sealed class AuditU32Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    // ---- 1. A branch after a wait reads the trait as it is then, not as it was at entry ----
    // mautic/mautic#7672 (a contact-field condition decided on the value at entry; the field updated a day later by the
    // CRM changed nothing), mautic/mautic#2517 (conditions evaluated at the time of entrance), mautic/mautic#12232.
    [Theory]
    [InlineData("basic", "vip", "vip")]
    [InlineData("vip", "basic", "std")]
    public async Task ABranchAfterAWait_ReadsTheTraitAsItIsWhenItRuns(string atEntry, string duringWait, string expected)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "tiered", "version": 1, "name": "Tiered", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "route", "type": "branch", "else": "std",
                        "branches": [{"condition": {"trait": "tier", "op": "eq", "value": "vip"}, "next": "vip"}]},
                       {"id": "vip", "type": "send", "channels": ["email"], "template": "vip", "class": "transactional", "next": "end"},
                       {"id": "std", "type": "send", "channels": ["email"], "template": "std", "class": "transactional"},
                       {"id": "end", "type": "exit"}]}
            """)], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = atEntry });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = duringWait });
        Assert.Empty(rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:" + expected], rig.Sent());
    }

    // ---- 2. A wait until a date that has already passed goes on at once ----
    // opengovsg/plumber#1467 ("delay until" a past date: continue or pause, continue by default), PostHog/posthog#82920
    // (a delay until a person's date that cannot be worked out must not fall through; a past one continues),
    // nathanwoulfe/Plumber#47, n8n-io/n8n#14863 (a wait node past its time that never resumed).
    private static JourneyDefinition Renewal() => JourneyRig.Parse("""
        {"id": "renewal", "version": 1, "name": "Renewal", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "until", "type": "delayUntilDateTrait", "trait": "renews_on", "offset": "-P3D", "localTime": "09:00"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "renewal", "class": "transactional"}]}
        """);

    [Fact]
    public async Task AWaitUntilADateAlreadyPassed_GoesOnAtOnce_AndSaysSo()
    {
        await using var rig = JourneyRig.Create([Renewal()], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { renews_on = "2026-03-04" }); // 1 March 09:00 is past
        Assert.Equal(["email:renewal"], rig.Sent());
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Contains(p.Timeline, t => t.Type == "journey.step" && t.Summary!.Contains("the date has passed", StringComparison.Ordinal));
        Assert.Equal(1L, (await rig.Engine.GetJourneyStatisticsAsync("renewal")).Completed);
    }

    // The rule for every past date: whatever the date (days or decades ago), the message goes at once and nothing waits.
    [Property(MaxTest = 25)]
    public bool AWaitUntilAnyPastDate_SendsAtOnce_AndLeavesNothingWaiting(PositiveInt daysAgo)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var date = DateOnly.FromDateTime(Start.UtcDateTime).AddDays(3 - (daysAgo.Get % 40_000) - 1);
            await using var rig = JourneyRig.Create([Renewal()], start: Start);
            await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { renews_on = date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) });
            var sentNow = rig.Sent().SequenceEqual(["email:renewal"]);
            await rig.AdvanceAsync(TimeSpan.FromDays(400));
            var stats = await rig.Engine.GetJourneyStatisticsAsync("renewal");
            return sentNow && rig.Sent().Count == 1 && stats.Active == 0;
        }
    }

    // ---- 3. Two trigger events at the same instant start one instance ----
    // mautic/mautic#9797 (re-entering: two logs scheduled for one contact), spatie/mailcoach-support#64 (two jobs at once
    // subscribe one person twice), gophish/gophish#1242 and #1073 (one recipient mailed twice).
    [Theory]
    [InlineData("never", false)]
    [InlineData("afterPreviousEnded", false)]
    [InlineData("never", true)]
    [InlineData("afterPreviousEnded", true)]
    public async Task TwoTriggerEventsAtOnce_StartOneInstance_AndSendOneMessage(string reEntry, bool inOneBatch)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse($$"""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"reEntry": "{{reEntry}}"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """)], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var now = rig.Host.Time.GetUtcNow();
        var first = rig.Host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = 1 }, at: now);
        var second = rig.Host.Event(EventTypes.CartItemAdded, [AnnMail], new { product_id = "p2", quantity = 1 }, at: now);
        if (inOneBatch)
        {
            var results = await rig.Engine.TrackBatchAsync([first, second]);
            Assert.All(results, r => Assert.True(r.IsAcknowledged));
        }
        else
        {
            var results = await Task.WhenAll(rig.Engine.TrackAsync(first).AsTask(), rig.Engine.TrackAsync(second).AsTask());
            Assert.All(results, r => Assert.True(r.IsAcknowledged));
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((1L, 1L), (stats.Entered, stats.EntriesRefused));
    }

    // ---- 4. The trigger event is not the goal it starts ----
    // A journey started by an order whose goal is another order: Braze's and Iterable's conversion docs (an entry event
    // that is also the conversion event must happen again to convert), matomo-org/matomo#10329 and #9843 (conversions
    // counted more than once / more conversions than visits), plausible/analytics#223.
    [Fact]
    public async Task AnOrderThatStartsAJourney_DoesNotConvertIt_TheNextOrderDoes()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "second", "version": 1, "name": "Second order", "trigger": {"type": "event", "event": "order.placed"},
             "goal": {"event": "order.placed", "within": "P14D"},
             "steps": [{"id": "wait", "type": "delay", "duration": "P1D"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "come-back", "class": "transactional"}]}
            """)], start: Start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 });
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:come-back"], rig.Sent());
        var before = await rig.Engine.GetJourneyStatisticsAsync("second");
        Assert.Equal((1L, 0L), (before.Entered, before.Converted));

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 70 });
        var after = await rig.Engine.GetJourneyStatisticsAsync("second");
        Assert.Equal(1L, after.Converted);
    }

    // ---- 5. A return takes its value off the experiment's revenue per recipient ----
    // woocommerce/woocommerce-admin#2650 and liberusoftware/ecommerce-laravel#748 (refunded orders still counted as
    // revenue), TelemetryDeck/Issues#510, polarsource/polar#6108 (gross vs net), braze-inc/braze-docs#6687 (refunds and
    // lifetime value): a variant whose buyers sent everything back must not win on revenue.
    [Fact]
    public async Task AReturn_TakesItsValueOffTheArmsRevenuePerRecipient()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "send-a"}], "controlWeight": 1},
                       {"id": "send-a", "type": "send", "channels": ["email"], "template": "promo-a", "class": "transactional"}]}
            """)], start: Start);
        for (var i = 0; i < 30; i++)
        {
            await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("c" + i), Identifier.Email($"c{i}@example.com")]);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < 30; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c" + i)], new { order_id = "o" + i, total = 100 });
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        for (var i = 0; i < 30; i++)
        {
            await rig.TrackAsync(EventTypes.OrderReturned, [Identifier.CustomerId("c" + i)], new { order_id = "o" + i, return_id = "r" + i, total = 60 });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("promo", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
        Assert.NotNull(verdict);
        Assert.All(verdict.Variants, v =>
        {
            Assert.Equal(v.Recipients, v.Conversions);
            Assert.Equal(40, v.RevenuePerRecipient, 6);
        });
    }
    // ---- 6. A person who re-enters is one recipient of the experiment, not one per entry ----
    // growthbook/growthbook (experiment units are users: "multiple exposures" and users counted in several rows),
    // Statsig's exposure de-duplication, PostHog/posthog experiments counting unique persons, splitrb/split#520 (a
    // participant counted again on every visit); the verdict documents Recipients as "people assigned" and Conversions
    // as "people who converted". With re-entry, each entry counted again: her later entries, with no order, diluted the
    // rate of the arm she sat in and inflated its sample (the p-value read more evidence than there was).
    [Fact]
    public async Task APersonWhoReEnters_IsOneRecipientOfTheExperiment_ConvertedByHerFirstEntrysGoal()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "goal": {"event": "order.placed", "within": "P1D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "mail"}], "controlWeight": 1},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """)], start: Start);
        var people = Enumerable.Range(0, 20).Select(i => Identifier.CustomerId("c" + i)).ToList();
        for (var i = 0; i < people.Count; i++)
        {
            await rig.TrackAsync("user.signed_up", [people[i], Identifier.Email($"c{i}@example.com")]);
            await rig.TrackAsync(EventTypes.CartItemAdded, [people[i]], new { product_id = "p1", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people.Count; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [people[i]], new { order_id = "o" + i, total = 30 });
        }

        // Two more visits each, days later, without an order: the same arm (sticky), the same person.
        for (var visit = 0; visit < 2; visit++)
        {
            await rig.AdvanceAsync(TimeSpan.FromDays(2));
            foreach (var person in people)
            {
                await rig.TrackAsync(EventTypes.CartItemAdded, [person], new { product_id = "p2", quantity = 1 });
            }
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
        Assert.NotNull(verdict);
        Assert.Equal(20, verdict.Variants.Sum(v => v.Recipients));
        Assert.All(verdict.Variants, v => Assert.Equal((v.Recipients, 1.0, 30.0), (v.Conversions, v.ConversionRate, v.RevenuePerRecipient)));

        // The journey's own statistics still count instances (documented so): three entries per person.
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(60, stats.Variants.Values.Sum(v => v.Entered));
    }
    private static JourneyDefinition CartSplit() => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterPreviousEnded"},
         "goal": {"event": "order.placed", "within": "P1D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "mail"}], "controlWeight": 1},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    // She came back two hours later (inside her first entry's one-day window) and ordered then: the order is credited to
    // the later entry (the latest, as before) and still converts her, once, for the experiment.
    [Fact]
    public async Task AnOrderAfterAReEntryInsideTheFirstWindow_ConvertsHerOnceForTheExperiment()
    {
        await using var rig = JourneyRig.Create([CartSplit()], start: Start);
        var people = Enumerable.Range(0, 12).Select(i => Identifier.CustomerId("c" + i)).ToList();
        for (var i = 0; i < people.Count; i++)
        {
            await rig.TrackAsync("user.signed_up", [people[i], Identifier.Email($"c{i}@example.com")]);
            await rig.TrackAsync(EventTypes.CartItemAdded, [people[i]], new { product_id = "p1", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        for (var i = 0; i < people.Count; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [people[i]], new { product_id = "p2", quantity = 1 });
            await rig.TrackAsync(EventTypes.OrderPlaced, [people[i]], new { order_id = "o" + i, total = 30 });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
        Assert.NotNull(verdict);
        Assert.Equal((12L, 12L), (verdict.Variants.Sum(v => v.Recipients), verdict.Variants.Sum(v => v.Conversions)));
        Assert.All(verdict.Variants, v => Assert.Equal(30.0, v.RevenuePerRecipient, 6));
        Assert.Equal(12L, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // The rule for every pattern of visits and orders: each person is one recipient, converted exactly when an order
    // fell inside her first entry's goal window, with that order's revenue once; the statistics still count entries.
    [Property(MaxTest = 20)]
    public bool TheVerdictCountsPeople_WhateverTheirVisitsAndOrders(PositiveInt seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var random = new Random(seed.Get);
            var n = random.Next(2, 7);
            // Per person: entries 0, 1 or 2 hours or days apart, and for each entry whether she orders an hour later.
            var plans = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, random.Next(1, 4))
                .Select(j => (Gap: j == 0 ? TimeSpan.Zero : random.Next(2) == 0 ? TimeSpan.FromHours(2) : TimeSpan.FromDays(2), Orders: random.Next(2) == 0)).ToList()).ToList();
            await using var rig = JourneyRig.Create([CartSplit()], start: Start);
            var actions = new List<(TimeSpan At, int Person, bool Order, int Index)>();
            for (var i = 0; i < n; i++)
            {
                var at = TimeSpan.Zero;
                for (var j = 0; j < plans[i].Count; j++)
                {
                    at += plans[i][j].Gap;
                    actions.Add((at, i, false, j));
                    if (plans[i][j].Orders)
                    {
                        actions.Add((at + TimeSpan.FromHours(1), i, true, j));
                    }
                }

                await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("c" + i), Identifier.Email($"c{i}@example.com")]);
            }

            var origin = rig.Host.Time.GetUtcNow();
            foreach (var (at, person, order, index) in actions.OrderBy(a => a.At).ThenBy(a => a.Order))
            {
                await rig.AdvanceToAsync(origin + at);
                await rig.TrackAsync(order ? EventTypes.OrderPlaced : EventTypes.CartItemAdded, [Identifier.CustomerId("c" + person)],
                    order ? new { order_id = $"o{person}-{index}", total = 30 } : new { product_id = $"p{index}", quantity = 1 } as object);
            }

            var converted = plans.Count(p => p.Select((e, j) => (e, j)).Any(x => x.e.Orders
                && p.Take(x.j + 1).Aggregate(TimeSpan.Zero, (t, y) => t + y.Gap) + TimeSpan.FromHours(1) <= TimeSpan.FromDays(1)));
            var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
            var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
            var recipients = verdict?.Variants.Sum(v => v.Recipients) ?? n; // one arm only: no verdict yet
            var conversions = verdict?.Variants.Sum(v => v.Conversions) ?? converted;
            var revenue = verdict?.Variants.Sum(v => v.RevenuePerRecipient * v.Recipients) ?? converted * 30.0;
            var plan = string.Join(" | ", plans.Select(p => string.Join(", ", p.Select(e => $"{e.Gap}{(e.Orders ? " order" : string.Empty)}"))));
            Assert.True((recipients, conversions) == (n, converted), $"{plan}: recipients {recipients} of {n}, conversions {conversions} of {converted}");
            Assert.True(Math.Abs(revenue - (converted * 30.0)) < 1e-6, $"{plan}: revenue {revenue}");
            Assert.Equal(plans.Sum(p => p.Count), stats.Variants.Values.Sum(v => v.Entered));
            return true;
        }
    }
}
