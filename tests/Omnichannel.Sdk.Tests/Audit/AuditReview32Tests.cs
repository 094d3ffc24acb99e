using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U32 (an experiment's arms count people): hostile cases through the public API on the test kit's fake
/// clock — concurrent entries, order updates, returns, repeated orders, merges and new versions around a re-entry.
/// </summary>
public sealed class AuditReview32Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly ExperimentSettings Settings = new() { MinimumRecipientsPerVariant = 2 };

    private static Identifier Person(int i) => Identifier.CustomerId("c" + i);

    private static async Task SignUpAsync(JourneyRig rig, int people)
    {
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync("user.signed_up", [Person(i), Identifier.Email($"c{i}@example.com")]);
        }
    }

    private static string Cart(string goal = """{"event": "order.placed", "within": "P1D"}""", string entry = """{"reEntry": "afterPreviousEnded"}""",
        string afterSplit = "mail", int version = 1, int controlWeight = 1, string variant = "a") => $$"""
        {"id": "cart", "version": {{version}}, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {{entry}}, "goal": {{goal}},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "{{variant}}", "weight": 1, "next": "{{afterSplit}}"}]{{(controlWeight > 0 ? $", \"controlWeight\": {controlWeight}" : string.Empty)}}},
                   {{(afterSplit == "wait" ? """{"id": "wait", "type": "delay", "duration": "P2D"},""" : string.Empty)}}
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """;

    private static void AssertArmsSane(ExperimentVerdict? verdict)
    {
        Assert.NotNull(verdict);
        Assert.All(verdict.Variants, v =>
        {
            Assert.InRange(v.Recipients, 0, long.MaxValue);
            Assert.InRange(v.Conversions, 0, v.Recipients);
            Assert.InRange(v.RevenuePerRecipient, 0, double.MaxValue);
        });
    }

    // ---- 1. Two entries running at once (one per cart): the order reaches both, the later one is credited ----
    // Her first entry's goal was reached inside its window (it is ended "credited to a later entry"), so she converted;
    // the later entry is a repeat and its conversion was taken off, with nothing counted for the first: 0 of 1.
    [Fact]
    public async Task TwoCartsRunningAtOnce_AnOrderReachingBoth_ConvertsHerOnceForTheExperiment()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart(entry: """{"reEntry": "afterPreviousEnded", "correlationKey": "cart_id"}""", afterSplit: "wait"))], start: Start);
        const int people = 12;
        await SignUpAsync(rig, people);
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { cart_id = "k1", product_id = "p1", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { cart_id = "k2", product_id = "p2", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30 });
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        AssertArmsSane(verdict);
        Assert.Equal(people, verdict!.Variants.Sum(v => v.Recipients));
        // Arms are drawn at random: one may be empty (about 1 run in 2,000 with 12 people), and an empty arm has no revenue per recipient.
        Assert.All(verdict.Variants.Where(v => v.Recipients > 0), v => Assert.Equal((v.Recipients, 30.0), (v.Conversions, v.RevenuePerRecipient)));

        // A later order (inside no window now) converts nobody again; the statistics count every entry.
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "late" + i, total = 30 });
        }

        var again = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        Assert.Equal(people, again!.Variants.Sum(v => v.Conversions));
        Assert.Equal(2 * people, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Variants.Values.Sum(v => v.Entered));
    }

    // ---- 2. An order placed inside her first window and paid (its update) after it ----
    // The goal reads the update at the order's first time (as for one entry), so her first entry converts; the repeat's
    // claim read the update's own timestamp (past the first window) and took the conversion off instead: 0 of 1.
    [Fact]
    public async Task AnOrderPlacedInsideTheFirstWindow_PaidAfterIt_ConvertsHerOnce()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart(goal: """
            {"event": "order.placed", "where": [{"property": "status", "op": "eq", "value": "paid"}], "within": "P2D"}
            """))], start: Start);
        const int people = 12;
        await SignUpAsync(rig, people);
        foreach (var product in new[] { "p1", "p2" })
        {
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = product, quantity = 1 });
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(2));
        }

        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30, status = "pending" });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(45)); // 49 hours after the first entry: past its window, inside the repeat's
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30, status = "paid" });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        AssertArmsSane(verdict);
        Assert.Equal(people, verdict!.Variants.Sum(v => v.Recipients));
        Assert.All(verdict.Variants, v => Assert.Equal((v.Recipients, 30.0), (v.Conversions, v.RevenuePerRecipient)));
        Assert.Equal(people, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // ---- 3. A return of a repeat's order (outside her first window) comes off no arm ----
    [Fact]
    public async Task AReturnOfARepeatsOrder_TakesNothingOffAnArmThatNeverGotIt()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart())], start: Start);
        const int people = 12;
        await SignUpAsync(rig, people);
        for (var visit = 0; visit < 2; visit++)
        {
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p" + visit, quantity = 1 });
            }

            await rig.AdvanceAsync(visit == 0 ? TimeSpan.FromDays(2) : TimeSpan.FromHours(1));
        }

        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 100 });
            await rig.TrackAsync(EventTypes.OrderReturned, [Person(i)], new { order_id = "o" + i, return_id = "r" + i, total = 60 });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        AssertArmsSane(verdict);
        Assert.All(verdict!.Variants, v => Assert.Equal((0L, 0.0), (v.Conversions, v.RevenuePerRecipient)));
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal((2L * people, (long)people), (stats.Entered, stats.Converted));
    }

    // ---- 4. The same order sent again (an update, a webhook delivered twice) after the re-entry ----
    [Fact]
    public async Task AnOrderSentAgainAfterAReEntry_ConvertsHerOnce_WithItsRevenueOnce()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart())], start: Start);
        const int people = 12;
        await SignUpAsync(rig, people);
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p1", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p2", quantity = 1 });
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30 });
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30, status = "shipped" });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        AssertArmsSane(verdict);
        Assert.Equal(people, verdict!.Variants.Sum(v => v.Recipients));
        Assert.All(verdict.Variants, v => Assert.Equal((v.Recipients, 30.0), (v.Conversions, v.RevenuePerRecipient)));
    }

    // ---- 5. Two profiles each assigned, merged at a login, then a re-entry and an order ----
    [Fact]
    public async Task TwoAssignedProfilesMerged_ThenAReEntryAndAnOrder_KeepEveryArmSane()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart())], start: Start);
        const int people = 12;
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p1", quantity = 1 });
            await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.Email($"c{i}@example.com")], new { product_id = "p1", quantity = 1 });
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync("user.logged_in", [Person(i), Identifier.Email($"c{i}@example.com")]);
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p2", quantity = 1 });
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30 });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        AssertArmsSane(verdict);
        Assert.InRange(verdict!.Variants.Sum(v => v.Conversions), people, people); // one order each, once
    }

    // ---- 6. A new version renames the variant and gives control no weight while people re-enter ----
    [Theory]
    [InlineData(1, "b")]
    [InlineData(0, "a")]
    public async Task ANewVersionMovingReEntrants_KeepsEveryArmSane(int controlWeight, string variant)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Cart())], start: Start);
        const int people = 12;
        await SignUpAsync(rig, people);
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p1", quantity = 1 });
        }

        await rig.Engine.PublishJourneyAsync(JourneyRig.Parse(Cart(version: 2, controlWeight: controlWeight, variant: variant)));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        for (var i = 0; i < people; i++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Person(i)], new { product_id = "p2", quantity = 1 });
            await rig.TrackAsync(EventTypes.OrderPlaced, [Person(i)], new { order_id = "o" + i, total = 30 });
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", Settings);
        if (verdict is not null)
        {
            AssertArmsSane(verdict);
        }

        Assert.Equal(2L * people, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Entered);
    }
}
