using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Audit U70 (bug classes from public reports, round 70), run on each store through the public API and the test kit.
/// <c>open</c> starts a host on the test's store (the same store each call: a second call is a restart), with the
/// segments given.
/// </summary>
public static class AuditU70Scenario
{
    public static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    /// <summary>"Has 100 points or more", "two or more converted referrals", "something in the cart".</summary>
    public static IReadOnlyList<SegmentDefinition> Segments { get; } =
    [
        SegmentJson.Parse("""{"id": "points-100", "name": "x", "rule": {"stat": "loyaltyPoints", "op": "gte", "value": 100}}""").Value!,
        SegmentJson.Parse("""{"id": "two-referrals", "name": "x", "rule": {"event": "referral.converted", "count": {"op": "gte", "value": 2}}}""").Value!,
        SegmentJson.Parse("""{"id": "referrers", "name": "x", "rule": {"stat": "referralsConverted", "op": "gte", "value": 2}}""").Value!,
        SegmentJson.Parse("""{"id": "cart", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!,
    ];

    private static readonly Identifier Ann = Identifier.CustomerId("ann-70");
    private static readonly Identifier AnnMail = Identifier.Email("ann70@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-70");

    public static CustomerEvent Event(string id, string type, IReadOnlyList<Identifier> who, object? properties, DateTimeOffset at) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [.. who],
        Properties = properties is null ? default : JsonData.From(properties),
    };

    // ---- 1. A loyalty or referral event re-sent under a new event id (odoo/odoo#222372: pos_loyalty counted a
    // confirmation twice when it was sent again; reapit/foundations#10832: webhooks re-sent with new event ids). A
    // transaction_id / referral_id names it: counted once, at its newest value, across a restart. ----
    public static async Task ALoyaltyOrReferralEventReSent_UnderANewEventId_CountsOnce_AcrossARestart(Func<OmnichannelTestHost> open)
    {
        await using (var host = open())
        {
            await host.TrackAsync(Event("pos-1", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-5)));
            await host.TrackAsync(Event("pos-1-retry", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-5)));
            await host.TrackAsync(Event("ref-1", EventTypes.ReferralConverted, [Ann], new { referral_id = "r-1" }, Start.AddHours(-4)));
            await host.TrackAsync(Event("ref-1-retry", EventTypes.ReferralConverted, [Ann], new { referral_id = "r-1" }, Start.AddHours(-4)));
            var p = await host.ProfileAsync(Ann);
            Assert.Equal(60m, p.Statistics.LoyaltyPoints);
            Assert.Equal(1, p.Statistics.ReferralsConverted);
            Assert.False(p.IsInSegment("points-100"));
            Assert.False(p.IsInSegment("two-referrals"));
            Assert.False(p.IsInSegment("referrers"));
        }

        await using (var host = open())
        {
            // After the restart: the import run again (new ids, same transactions), a corrected earn, a redemption sent twice.
            await host.TrackAsync(Event("import-1", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-5)));
            await host.TrackAsync(Event("import-2", EventTypes.ReferralConverted, [Ann], new { referral_id = "r-1" }, Start.AddHours(-4)));
            var p = await host.ProfileAsync(Ann);
            Assert.Equal(60m, p.Statistics.LoyaltyPoints);
            Assert.Equal(1, p.Statistics.ReferralsConverted);

            await host.TrackAsync(Event("pos-1-fix", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 70, transaction_id = "tx-1" }, Start.AddHours(-3)));
            await host.TrackAsync(Event("pos-2", EventTypes.LoyaltyPointsRedeemed, [Ann], new { points = 20, transaction_id = "tx-2" }, Start.AddHours(-2)));
            await host.TrackAsync(Event("pos-2-retry", EventTypes.LoyaltyPointsRedeemed, [Ann], new { points = 20, transaction_id = "tx-2" }, Start.AddHours(-2)));
            p = await host.ProfileAsync(Ann);
            Assert.Equal(50m, p.Statistics.LoyaltyPoints);

            // Events without a key still each count (nothing tells a retry from a second earning), and a second referral counts.
            await host.TrackAsync(Event("bonus-1", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 25 }, Start.AddHours(-1)));
            await host.TrackAsync(Event("bonus-2", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 25 }, Start.AddHours(-1)));
            await host.TrackAsync(Event("ref-2", EventTypes.ReferralConverted, [Ann], new { referral_id = "r-2" }, Start.AddHours(-1)));
            p = await host.ProfileAsync(Ann);
            Assert.Equal(100m, p.Statistics.LoyaltyPoints);
            Assert.Equal(2, p.Statistics.ReferralsConverted);

            // A conversion named only by the customer referred counts each time (her id is no key: it would stay in Ann's
            // document after the referred customer's erasure); a referral sent with an id counts once, one sent with only
            // her (shared) code counts each time.
            await host.TrackAsync(Event("ref-3", EventTypes.ReferralConverted, [Ann], new { referral_code = "ANN10", referred_customer_id = "bob" }, Start.AddMinutes(-50)));
            await host.TrackAsync(Event("ref-3-retry", EventTypes.ReferralConverted, [Ann], new { referral_code = "ANN10", referred_customer_id = "bob" }, Start.AddMinutes(-50)));
            await host.TrackAsync(Event("sent-1", EventTypes.ReferralSent, [Ann], new { referral_code = "ANN10", referral_id = "s-1" }, Start.AddMinutes(-40)));
            await host.TrackAsync(Event("sent-1-retry", EventTypes.ReferralSent, [Ann], new { referral_code = "ANN10", referral_id = "s-1" }, Start.AddMinutes(-40)));
            await host.TrackAsync(Event("sent-2", EventTypes.ReferralSent, [Ann], new { referral_code = "ANN10" }, Start.AddMinutes(-30)));
            await host.TrackAsync(Event("sent-3", EventTypes.ReferralSent, [Ann], new { referral_code = "ANN10" }, Start.AddMinutes(-30)));
            p = await host.ProfileAsync(Ann);
            Assert.Equal(4, p.Statistics.ReferralsConverted);
            Assert.DoesNotContain("bob", System.Text.Encoding.UTF8.GetString((await host.Store.LoadProfileAsync(p.Id))!.Document), StringComparison.Ordinal);
            Assert.Equal(3, p.Statistics.ReferralsSent);
            Assert.True(p.IsInSegment("points-100"));
            Assert.True(p.IsInSegment("two-referrals"));
            Assert.True(p.IsInSegment("referrers"));
        }
    }

    // ---- 2. The same transaction on both sides of a merge (a points webhook retried while she was two profiles: the
    // app's guest and her account). Braze's merge sums such counters; here the sum less the copy. Both directions. ----
    public static async Task ALoyaltyTransactionOnBothSidesOfAMerge_CountsOnce(Func<OmnichannelTestHost> open, bool accountFirst)
    {
        await using var host = open();
        async Task CookieSide()
        {
            await host.TrackAsync(Event("app-tx-1", EventTypes.LoyaltyPointsEarned, [Cookie], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-6)));
            await host.TrackAsync(Event("app-ref-1", EventTypes.ReferralConverted, [Cookie], new { referral_id = "r-1" }, Start.AddHours(-6)));
        }

        async Task AccountSide()
        {
            await host.TrackAsync(Event("web-tx-1", EventTypes.LoyaltyPointsEarned, [Ann, AnnMail], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-5)));
            await host.TrackAsync(Event("web-tx-2", EventTypes.LoyaltyPointsRedeemed, [Ann], new { points = 10, transaction_id = "tx-2" }, Start.AddHours(-4)));
            await host.TrackAsync(Event("web-ref-1", EventTypes.ReferralConverted, [Ann], new { referral_id = "r-1" }, Start.AddHours(-4)));
        }

        if (accountFirst)
        {
            await AccountSide();
            await CookieSide();
        }
        else
        {
            await CookieSide();
            await AccountSide();
        }

        // The guest also redeemed tx-2 (the same redemption, reported by the app too).
        await host.TrackAsync(Event("app-tx-2", EventTypes.LoyaltyPointsRedeemed, [Cookie], new { points = 10, transaction_id = "tx-2" }, Start.AddHours(-4)));
        await host.TrackAsync(Event("login", "user.logged_in", accountFirst ? [Ann, Cookie] : [Cookie, Ann], null, Start.AddHours(-1)));
        var p = await host.ProfileAsync(Cookie);
        Assert.Equal(p.Id, (await host.ProfileAsync(Ann)).Id);
        Assert.Equal(50m, p.Statistics.LoyaltyPoints);
        Assert.Equal(1, p.Statistics.ReferralsConverted);
        Assert.False(p.IsInSegment("two-referrals"));

        // After the merge, the same earn again under her account: still once.
        await host.TrackAsync(Event("crm-tx-1", EventTypes.LoyaltyPointsEarned, [Ann], new { points = 60, transaction_id = "tx-1" }, Start.AddHours(-6)));
        Assert.Equal(50m, (await host.ProfileAsync(Ann)).Statistics.LoyaltyPoints);
    }

    // ---- 3. An addition and its removal in one second (lunarphp/lunar#2427: same-second activity in an undefined order;
    // babybuddy/babybuddy#928). Ties were broken by event id alone, so "e-9" added and "e-10" removed replayed as
    // removal then addition: the product stayed in her cart. The removal follows at a tie, in either arrival order. ----
    public static async Task AnAdditionAndItsRemovalInOneSecond_LeaveNothing_WhateverTheirIdsAndArrivalOrder(Func<OmnichannelTestHost> open, string addId, string removeId, bool removalFirst)
    {
        await using var host = open();
        var at = Start.AddMinutes(-30);
        var adds = new[]
        {
            Event(addId, EventTypes.CartItemAdded, [Ann], new { product_id = "mug", quantity = 2, price = 9.5m, currency = "EUR" }, at),
            Event("w" + addId, EventTypes.WishlistItemAdded, [Ann], new { product_id = "mug" }, at),
        };
        var removals = new[]
        {
            Event(removeId, EventTypes.CartItemRemoved, [Ann], new { product_id = "mug" }, at),
            Event("w" + removeId, EventTypes.WishlistItemRemoved, [Ann], new { product_id = "mug" }, at),
        };
        foreach (var e in removalFirst ? [.. removals, .. adds] : adds.Concat(removals))
        {
            await host.TrackAsync(e);
        }

        var p = await host.ProfileAsync(Ann);
        Assert.Empty(p.Cart);
        Assert.Empty(p.Wishlist);
        Assert.False(p.IsInSegment("cart"));

        // A partial removal in the same second leaves what was added less what was removed.
        await host.TrackAsync(Event(addId + "-b", EventTypes.CartItemAdded, [Ann], new { product_id = "tea", quantity = 3 }, at.AddSeconds(1)));
        await host.TrackAsync(Event(removeId + "-b", EventTypes.CartItemRemoved, [Ann], new { product_id = "tea", quantity = 1 }, at.AddSeconds(1)));
        var line = Assert.Single((await host.ProfileAsync(Ann)).Cart);
        Assert.Equal(2m, line.Quantity);
    }

    // ---- 4. One profile written from several entry points at once (apache/unomi#197 UNOMI-371: profiles written at
    // the same time by events and by segment updates ended inconsistent; AzzMTZ/session-handler#48: concurrent writers
    // from stale snapshots, updates silently lost). Live events, a batch import, a segment back-fill and reads, all at
    // once: every update is there. ----
    public static async Task OneProfile_WrittenFromEveryEntryPointAtOnce_LosesNoUpdate(Func<OmnichannelTestHost> open)
    {
        await using var host = open();
        const int live = 60, batches = 6, perBatch = 10;
        var at = Start.AddHours(-2);
        await host.TrackAsync(Event("first", "user.signed_up", [Ann, AnnMail], null, at));

        var work = new List<Task>();
        for (var i = 0; i < live; i++)
        {
            var n = i;
            work.Add(Task.Run(async () =>
            {
                await host.TrackAsync(Event($"live-{n}", EventTypes.LoyaltyPointsEarned, n % 2 == 0 ? [Ann] : [AnnMail], new { points = 1, transaction_id = $"live-{n}" }, at.AddSeconds(n)));
                _ = await host.Client.GetProfileAsync(Ann);
            }));
        }

        for (var b = 0; b < batches; b++)
        {
            var batch = b;
            work.Add(Task.Run(async () =>
            {
                var events = Enumerable.Range(0, perBatch).Select(k => Event($"import-{batch}-{k}", "user.updated", [AnnMail], null, at.AddMinutes(batch)) with
                {
                    Traits = JsonData.From(new Dictionary<string, object> { [$"imported_{batch}_{k}"] = k }),
                }).ToList();
                var results = await host.Client.TrackBatchAsync(events);
                Assert.All(results, r => Assert.True(r.IsAcknowledged, r.Status.ToString()));
            }));
        }

        work.Add(Task.Run(async () =>
        {
            var backfill = await host.Client.UpsertSegmentAsync(SegmentJson.Parse("""{"id": "points-30", "name": "x", "rule": {"stat": "loyaltyPoints", "op": "gte", "value": 30}}""").Value!);
            await backfill.Completion;
        }));
        await Task.WhenAll(work);

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(live, p.Statistics.LoyaltyPoints);
        for (var b = 0; b < batches; b++)
        {
            for (var k = 0; k < perBatch; k++)
            {
                Assert.True(p.TryGetTrait($"imported_{b}_{k}", out _), $"imported_{b}_{k} was lost");
            }
        }

        Assert.Equal(1 + live + (batches * perBatch), p.Statistics.EventCount);
        Assert.True(p.IsInSegment("points-30"));
        Assert.Equal([p.Id], await host.Client.GetSegmentMembersAsync("points-30"));
    }
}
