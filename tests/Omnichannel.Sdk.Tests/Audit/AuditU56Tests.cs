using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Trust;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U56: bug classes from public reports (round 56: merges that drop state, and answers that depend on arrival
/// order). Each case runs in both arrival orders (or both merge directions); two properties shuffle whole arrival orders
/// against the time-order answer. Public API only, the test kit's fake clock, in-memory store.
/// </summary>
public sealed class AuditU56Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-56");
    private static readonly Identifier Cookie2 = Identifier.AnonymousId("tablet-56");
    private static readonly Identifier Ann = Identifier.CustomerId("ann-56");
    private static readonly Identifier AnnMail = Identifier.Email("ann56@example.com");

    private static DateTimeOffset At(int hoursBefore) => Start.AddHours(-hoursBefore);

    private static string Trait(CustomerProfile p, string path) => p.TryGetTrait(path, out var v) ? v.GetRawText() : "<none>";

    // Runs the cookie's events and the account's events in the order given, then links them with a login that names
    // either side first (the side the engine keeps is the one it finds first), and answers the merged profile.
    private static async Task<CustomerProfile> Merged(OmnichannelTestHost host, bool accountFirst, Func<Task> cookieSide, Func<Task> accountSide, DateTimeOffset? loginAt = null)
    {
        if (accountFirst)
        {
            await accountSide();
            await cookieSide();
        }
        else
        {
            await cookieSide();
            await accountSide();
        }

        await host.TrackAsync("user.logged_in", accountFirst ? [Ann, AnnMail, Cookie] : [Cookie, Ann, AnnMail], at: loginAt);
        return await host.ProfileAsync(Cookie);
    }

    // ---- 1. "set once" facts: the older profile's first values survive (PostHog/posthog#4082 "set_once is not working
    // as expected": the second page's value won; inaturalist/inaturalist#4179 "retain earliest joined-on date"). ----
    // Report: https://github.com/PostHog/posthog/issues/4082, https://github.com/inaturalist/inaturalist/issues/4179
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FirstSeenAndFirstOrder_AreTheOlderProfiles_WhicheverArrivesAndIsKeptFirst(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync("page.viewed", [Cookie], at: At(72));
                await host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "g-1", total = 12m, currency = "EUR" }, at: At(70));
            },
            async () =>
            {
                await host.TrackAsync("page.viewed", [Ann, AnnMail], at: At(30));
                await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "a-1", total = 40m, currency = "EUR" }, at: At(20));
            });
        Assert.Equal(At(72), p.Statistics.FirstSeen);
        Assert.Equal(At(70), p.Statistics.FirstOrderAt);
        Assert.Equal(At(20), p.Statistics.LastOrderAt);
        Assert.Equal(Start, p.Statistics.LastSeen); // the login itself
        Assert.Equal(2, p.Statistics.OrderCount);
        Assert.Equal(52m, p.Statistics.TotalSpent);
    }

    // ---- 2. Counters that reach segments: an order known on both sides is one order (braze-inc/braze-docs#5007: a
    // merge sums event counts from both profiles). With the same order id on each side she is a customer, not a repeat
    // one, and not in an "orderCount >= 2" segment; with two orders she is both, whichever side is kept. ----
    // Report: https://github.com/braze-inc/braze-docs/pull/5007
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task AnOrderKnownOnBothSides_DoesNotMakeHerARepeatBuyer_TwoOrdersDo(bool accountFirst, bool twoOrders)
    {
        await using var host = OmnichannelTestHost.Create(
            o => o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "repeat", "name": "x", "rule": {"stat": "orderCount", "op": "gte", "value": 2}}""").Value!),
            start: Start);
        var p = await Merged(host, accountFirst,
            () => host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-2", total = 15m, currency = "EUR" }, at: At(6)),
            () => host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = twoOrders ? "o-2b" : "o-2", total = 15m, currency = "EUR" }, at: At(5)));
        Assert.Equal(twoOrders ? 2 : 1, p.Statistics.OrderCount);
        Assert.Equal(twoOrders ? 30m : 15m, p.Statistics.TotalSpent);
        Assert.Equal(twoOrders ? LifecycleStage.RepeatCustomer : LifecycleStage.Customer, p.LifecycleStage);
        Assert.Equal(twoOrders, p.IsInSegment("repeat"));
        Assert.Equal(twoOrders ? [p.Id] : [], await host.Client.GetSegmentMembersAsync("repeat"));
    }

    // ---- 3. A guest cart and an order placed on the account (SalesforceCommerceCloud/pwa-kit#319, unchainedshop/
    // unchained#478): the guest's lines added after the order survive the login; those added before it were bought. ----
    // Report: https://github.com/SalesforceCommerceCloud/pwa-kit/issues/319, https://github.com/unchainedshop/unchained/issues/478
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheGuestsCart_KeepsWhatWasAddedAfterTheAccountsOrder_AndLosesWhatWasBefore(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "mug", quantity = 1 }, at: At(5));
                await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "tea", quantity = 2 }, at: At(2));
            },
            () => host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-3", total = 9m, currency = "EUR" }, at: At(3)));
        var line = Assert.Single(p.Cart);
        Assert.Equal("tea", line.ProductId);
        Assert.Equal(2m, line.Quantity);
    }

    // ---- 4. One order id on both sides with different totals and currencies (Braze's merge sums purchase data;
    // craftcms/commerce#1109 merging order histories): one order, the newest total in its currency, counted once. ----
    // Report: https://github.com/craftcms/commerce/issues/1109, https://www.braze.com/docs/api/endpoints/user_data/post_users_merge
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task OneOrderIdOnBothSides_InTwoCurrencies_IsOneOrder_AtItsNewestTotalAndCurrency(bool accountFirst, bool accountNewer)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        // The newer side sent the order twice (placed before the other side's copy, updated after it): its update wins.
        async Task Twice(Identifier id, string currency, decimal total)
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [id], new { order_id = "o-4", total = total - 1, currency }, at: At(8));
            await host.TrackAsync(EventTypes.OrderPlaced, [id], new { order_id = "o-4", total, currency }, at: At(3));
        }

        var p = await Merged(host, accountFirst,
            () => accountNewer ? host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-4", total = 30m, currency = "GBP" }, at: At(6)) : Twice(Cookie, "GBP", 30m),
            () => accountNewer ? Twice(Ann, "EUR", 35m) : host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-4", total = 35m, currency = "EUR" }, at: At(6)));
        Assert.Equal(1, p.Statistics.OrderCount);
        var (currency, total) = accountNewer ? ("EUR", 35m) : ("GBP", 30m);
        Assert.Equal(total, Assert.Single(p.Statistics.SpentByCurrency, kv => kv.Value != 0).Value);
        Assert.Equal(currency, Assert.Single(p.Statistics.SpentByCurrency, kv => kv.Value != 0).Key);
        Assert.Equal(1, p.Statistics.OrdersByCurrency.Values.Sum());
        Assert.Equal(At(8), p.Statistics.FirstOrderAt);
        Assert.Equal(total, p.Statistics.TotalSpent);
    }

    // ---- 5. last seen never goes backwards (jpahullo/moodle-tool_mergeusers#22: the kept user's last access stayed
    // older than the merged-in activity; gip-inclusion/les-emplois#6964). Per channel and per device too, and a late
    // event under the absorbed cookie after the merge does not move it back. ----
    // Report: https://github.com/jpahullo/moodle-tool_mergeusers/issues/22, https://github.com/gip-inclusion/les-emplois/pull/6964
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LastSeen_PerChannelAndDevice_IsTheNewestOfBothSides_AndALateEventDoesNotMoveItBack(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var phone = new EventContext { DeviceType = "mobile", Os = "iOS" };
        var desk = new EventContext { DeviceType = "desktop", Os = "Windows" };
        // Each side is newer on one channel and older on the other, so whichever is kept, one channel comes from the other.
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync("page.viewed", [Cookie], channel: ChannelNames.App, context: phone, at: At(2));
                await host.TrackAsync("page.viewed", [Cookie], context: desk, at: At(12));
            },
            async () =>
            {
                await host.TrackAsync("page.viewed", [Ann, AnnMail], channel: ChannelNames.App, context: phone, at: At(9));
                await host.TrackAsync("page.viewed", [Ann, AnnMail], context: desk, at: At(6));
            },
            loginAt: At(8));
        Assert.Equal(At(2), p.Statistics.LastSeen);
        Assert.Equal(At(2), p.Statistics.LastSeenByChannel[ChannelNames.App]);
        Assert.Equal(At(6), p.Statistics.LastSeenByChannel[ChannelNames.Web]);
        Assert.Equal(At(2), p.Statistics.Devices.Single(d => d.DeviceType == "mobile").LastSeen);
        Assert.Equal(At(6), p.Statistics.Devices.Single(d => d.DeviceType == "desktop").LastSeen);

        await host.TrackAsync("page.viewed", [Cookie], channel: ChannelNames.App, context: phone, at: At(40));
        p = await host.ProfileAsync(Ann);
        Assert.Equal(At(2), p.Statistics.LastSeen);
        Assert.Equal(At(2), p.Statistics.LastSeenByChannel[ChannelNames.App]);
        Assert.Equal(At(2), p.Statistics.Devices.Single(d => d.DeviceType == "mobile").LastSeen);
        Assert.Equal(At(6), p.Statistics.LastSeenByChannel[ChannelNames.Web]);
        Assert.Equal(At(40), p.Statistics.FirstSeen);
    }

    // ---- 6. Array traits are replaced by the newest, not unioned nor mixed (mautic/mautic#4641 "Data loss while
    // Merging Contacts with multiple companies": the result was a mix of both lists). ----
    // Report: https://github.com/mautic/mautic/issues/4641
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task AnArrayTrait_OnBothSides_IsTheNewerSidesWholeList(bool accountFirst, bool accountNewer)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            () => host.TrackAsync("user.updated", [Cookie], traits: new { interests = new[] { "tea", "mugs" } }, at: At(accountNewer ? 6 : 3)),
            () => host.TrackAsync("user.updated", [Ann, AnnMail], traits: new { interests = new[] { "coffee" } }, at: At(accountNewer ? 3 : 6)));
        Assert.Equal(accountNewer ? """["coffee"]""" : """["tea","mugs"]""", Trait(p, "interests"));
    }

    // ---- 7. A trait set to null on one side (PostHog/posthog#44973 review: an unset and a set of one key on two sides
    // must be settled by time; PostHog/posthog#37000 an older write replacing a newer one). A newer null of a whole
    // object clears an older leaf below it on the other side; an older null leaves a newer value. ----
    // Report: https://github.com/PostHog/posthog/pull/44973, https://github.com/PostHog/posthog/issues/37000
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task ANullOnOneSide_ClearsOnlyOlderValuesOfTheOther(bool accountFirst, bool nullNewer)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync("user.updated", [Cookie], traits: new { address = (string?)null }, at: At(nullNewer ? 2 : 8));
                await host.TrackAsync("user.updated", [Cookie], traits: new { plan = (string?)null }, at: At(nullNewer ? 2 : 8));
            },
            () => host.TrackAsync("user.updated", [Ann, AnnMail], traits: new { address = new { city = "Leeds", zip = "LS1" }, plan = "pro" }, at: At(5)));
        Assert.Equal(nullNewer ? "<none>" : "\"Leeds\"", Trait(p, "address.city"));
        Assert.Equal(nullNewer ? "<none>" : "\"pro\"", Trait(p, "plan"));
        Assert.Equal(nullNewer ? 0 : 2, p.Traits["address"] is System.Text.Json.Nodes.JsonObject o ? o.Count : 0);
    }

    // ---- 8. Time zone and locale of the newer side (Braze's /users/merge keeps the target's time zone and language;
    // here the newest by event time, whichever is kept), and a zone nothing can read never replaces a known one. ----
    // Report: https://www.braze.com/docs/api/endpoints/user_data/post_users_merge
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task TimeZoneAndLocale_AreTheNewerSides_WhicheverIsKept(bool accountFirst, bool accountNewer)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync("page.viewed", [Cookie], context: new EventContext { TimeZone = "Europe/Paris", Locale = "fr-FR" }, at: At(accountNewer ? 6 : 3));
                await host.TrackAsync("page.viewed", [Cookie], context: new EventContext { TimeZone = "Mars/Olympus", Locale = "not a locale!" }, at: At(1));
            },
            () => host.TrackAsync("page.viewed", [Ann, AnnMail], context: new EventContext { TimeZone = "America/Chicago", Locale = "en-US" }, at: At(accountNewer ? 3 : 6)));
        Assert.Equal(accountNewer ? "America/Chicago" : "Europe/Paris", p.TimeZone);
        Assert.Equal(accountNewer ? "en-US" : "fr-FR", p.Locale);
    }

    // ---- 9. A return on one side of an order known only on the other (craftcms/commerce#1109: order histories split
    // between two accounts). After the merge the return is in its order's currency and takes off its order's value. ----
    // Report: https://github.com/craftcms/commerce/issues/1109
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AReturnOnOneSide_OfAnOrderOnTheOther_IsInTheOrdersCurrencyAfterTheMerge(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var p = await Merged(host, accountFirst,
            () => host.TrackAsync(EventTypes.OrderReturned, [Cookie], new { order_id = "o-9", total = 20m }, at: At(2)),
            () => host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-9", total = 100m, currency = "SEK" }, at: At(8)));
        Assert.Equal(1, p.Statistics.ReturnCount);
        Assert.Equal(20m, p.Statistics.ReturnValueByCurrency["SEK"]);
        Assert.Equal(20m, p.Statistics.ReturnValue);
        Assert.Equal("SEK", p.Statistics.Currency);
    }

    // ---- 10. The same link sent twice, the later copy first (mixpanel/mixpanel-swift#178: createAlias made two
    // profiles; a repeated identify). One merge, no conflict, every event counted once. ----
    // Report: https://github.com/mixpanel/mixpanel-swift/issues/178
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheSameLinkTwice_InEitherOrder_MergesOnce_AndCountsEachEventOnce(bool laterCopyFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.TrackAsync("page.viewed", [Cookie], at: At(9));
        await host.TrackAsync("page.viewed", [Ann, AnnMail], at: At(8));
        var first = host.Event("user.logged_in", [Cookie, Ann], at: At(5));
        var second = host.Event("user.logged_in", [Ann, Cookie], at: At(4));
        foreach (var e in laterCopyFirst ? new[] { second, first } : [first, second])
        {
            await host.TrackAsync(e);
        }

        var p = await host.ProfileAsync(AnnMail);
        Assert.Single(p.Merges);
        Assert.Empty(p.Conflicts);
        Assert.Equal(4, p.Statistics.EventCount);
        Assert.Equal(4, p.Timeline.Count(t => t.Type is "page.viewed" or "user.logged_in"));
        Assert.Equal(p.Id, (await host.ProfileAsync(Cookie)).Id);
    }

    // ---- 11. A segment's member list after a merge (PostHog/posthog#13773: persons merged away still counted until
    // overrides were squashed; Segment Engage audiences counting both profiles). The merged-away profile leaves every
    // member list, the survivor is listed once, whether one side or both were members, either side kept. ----
    // Report: https://github.com/PostHog/posthog/issues/13773, https://github.com/mautic/mautic/issues/6079
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task ASegmentsMembers_AfterAMerge_AreTheSurvivorOnce_NeverTheMergedAwayProfile(bool accountFirst, bool bothMembers)
    {
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!);
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "silver", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "silver"}}""").Value!);
            },
            start: Start);
        string? cookieId = null, accountId = null;
        var p = await Merged(host, accountFirst,
            async () =>
            {
                await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "mug" }, at: At(4));
                await host.TrackAsync("user.updated", [Cookie], traits: new { tier = "silver" }, at: At(4));
                cookieId = (await host.ProfileAsync(Cookie)).Id;
            },
            async () =>
            {
                await host.TrackAsync(bothMembers ? EventTypes.CartItemAdded : "page.viewed", [Ann, AnnMail], new { product_id = "tea" }, at: At(3));
                accountId = (await host.ProfileAsync(Ann)).Id;
            });
        Assert.NotEqual(cookieId, accountId);
        Assert.Equal([p.Id], await host.Client.GetSegmentMembersAsync("carters"));
        Assert.Equal([p.Id], await host.Client.GetSegmentMembersAsync("silver"));
        var gone = p.Id == cookieId ? accountId! : cookieId!;
        var found = await host.Client.GetProfileByIdAsync(gone);
        Assert.True(found is null || found.Id == p.Id, "the merged-away id must not answer a profile of its own");
    }

    // ---- 12. A windowed count over both sides (Braze's merge keeps "X times in Y days" data of both profiles;
    // braze-inc/braze-docs#5007). Two orders a day apart at most, one on each side, put her in "2 orders within a day"
    // at the merge and take her out when the older one leaves the window; one order id on both sides is one order. ----
    // Report: https://github.com/braze-inc/braze-docs/pull/5007
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task AWindowedCountOverBothSides_CountsAnOrderOnce_AndLeavesWhenTheWindowPasses(bool accountFirst, bool twoOrders)
    {
        await using var host = OmnichannelTestHost.Create(
            o => o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "busy", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""").Value!),
            start: Start);
        var p = await Merged(host, accountFirst,
            () => host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o-12", total = 5m, currency = "EUR" }, at: At(20)),
            () => host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = twoOrders ? "o-12b" : "o-12", total = 6m, currency = "EUR" }, at: At(10)));
        Assert.Equal(twoOrders, p.IsInSegment("busy"));
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(twoOrders, (await host.ProfileAsync(Ann)).IsInSegment("busy"));
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("busy"));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("busy"));
    }

    // ---- 13. A retry after the merge, under the other side's identifier (PostHog/posthog#10340 "race condition merging
    // people"; at-least-once delivery): the guest's cart add retried once the login has
    // joined her profiles, now carrying her account, is a duplicate; nothing counts twice. ----
    // Report: https://github.com/PostHog/posthog/pull/10340
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AGuestEventRetriedAfterTheMerge_UnderHerAccount_IsADuplicate(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var add = host.Event(EventTypes.CartItemAdded, [Cookie], new { product_id = "mug", quantity = 2 }, at: At(6));
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-13", total = 8m, currency = "EUR" }, at: At(7));
        await Merged(host, accountFirst, async () => await host.TrackAsync(add), async () => await host.TrackAsync(order));
        foreach (var retry in new[] { add with { Identifiers = [Ann] }, add with { Identifiers = [AnnMail, Cookie] }, order with { Identifiers = [Cookie] } })
        {
            Assert.Equal(TrackStatus.Duplicate, (await host.Client.TrackAsync(retry)).Status);
        }

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(2m, Assert.Single(p.Cart).Quantity);
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(3, p.Statistics.EventCount);
    }

    // ---- 14. Property: a merge chain over two devices, an email and an account, with its links (one of them sent twice)
    // arriving anywhere, before or after the events of the profiles they join (PostHog/posthog#13773 transitive
    // merges; apache/unomi UNOMI-440 events of a merged profile). Every arrival order gives the time-order profile. ----
    // Report: https://github.com/PostHog/posthog/issues/13773, https://github.com/apache/unomi/pull/258
    [Property(MaxTest = 40)]
    public void AMergeChain_WithItsLinksArrivingAnywhere_GivesTheTimeOrderProfile(int seed) => Chain(seed).GetAwaiter().GetResult();

    private static async Task Chain(int seed)
    {
        var ids = new[] { Ann, AnnMail, Cookie, Cookie2 };
        var start = OmnichannelTestHost.DefaultStart;
        DateTimeOffset M(int minutes) => start.AddMinutes(-60 + minutes);
        var spec = new List<(string Type, Identifier[] Ids, object? Props, object? Traits, DateTimeOffset At)>
        {
            (EventTypes.CartItemAdded, [Cookie], new { product_id = "p1", quantity = 2 }, null, M(1)),
            ("user.updated", [Cookie], null, new { tier = "silver", tags = new[] { "a", "b" } }, M(2)),
            (EventTypes.WishlistItemAdded, [Cookie2], new { product_id = "w1" }, null, M(3)),
            (EventTypes.NewsletterSubscribed, [AnnMail], new { channel = "email", topic = "newsletter" }, null, M(4)),
            (EventTypes.OrderPlaced, [AnnMail], new { order_id = "o1", total = 30m, currency = "EUR" }, null, M(5)),
            ("user.logged_in", [Cookie, AnnMail], null, null, M(6)),
            (EventTypes.CartItemRemoved, [Cookie2], new { product_id = "p1", quantity = 1 }, null, M(7)),
            ("user.logged_in", [Cookie2, Ann], null, null, M(8)),
            ("user.updated", [Ann], null, new { tier = "gold", address = new { city = "York" } }, M(9)),
            (EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 25m, currency = "GBP" }, null, M(10)),
            ("page.viewed", [Cookie2], null, null, M(11)),
            ("user.logged_in", [AnnMail, Ann], null, null, M(12)),
            ("user.updated", [Cookie], null, new { address = (string?)null, tags = new[] { "c" } }, M(13)),
            (EventTypes.ConsentChanged, [Cookie2], new { channel = "email", topic = "newsletter", granted = false }, null, M(14)),
            ("user.logged_in", [Ann, AnnMail], null, null, M(15)),
            (EventTypes.WishlistItemRemoved, [Cookie], new { product_id = "w1" }, null, M(16)),
            (EventTypes.CartItemAdded, [Cookie2], new { product_id = "p2", quantity = 1 }, null, M(17)),
        };
        var events = spec.Select((s, i) => new CustomerEvent
        {
            Id = $"c56-{i:D2}",
            Type = s.Type,
            Timestamp = s.At,
            Identifiers = s.Ids,
            Properties = s.Props is null ? default : JsonData.From(s.Props),
            Traits = s.Traits is null ? default : JsonData.From(s.Traits),
        }).ToList();

        await using var expectedHost = OmnichannelTestHost.Create();
        foreach (var e in events)
        {
            await expectedHost.TrackAsync(e with { Identifiers = ids });
        }

        // Odd seeds: one event at a time; even seeds: the whole shuffled stream in one batch across partitions.
        var random = new Random(seed);
        await using var actualHost = OmnichannelTestHost.Create(o => o.Partitions = 3);
        var arriving = events.OrderBy(_ => random.Next()).ToList();
        if (seed % 2 == 0)
        {
            foreach (var r in await actualHost.Client.TrackBatchAsync(arriving))
            {
                Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
            }
        }
        else
        {
            foreach (var e in arriving)
            {
                await actualHost.TrackAsync(e);
            }
        }

        var expected = ArrivalOrderProperties.Comparable(await expectedHost.Client.ExportProfileAsync(Ann));
        var actual = ArrivalOrderProperties.Comparable(await actualHost.Client.ExportProfileAsync(Ann));
        Assert.True(expected == actual, $"seed {seed}\nin time order:\n{expected}\nas arrived:\n{actual}");
        var merged = await actualHost.ProfileAsync(Cookie2);
        Assert.Equal(merged.Id, (await actualHost.ProfileAsync(Cookie)).Id);
        Assert.Empty(merged.Conflicts);
    }

    // ---- 15. Property: money on both sides (one order id sent under each identifier with different totals and
    // currencies, its cancellation on one side, a return on the other, points earned and redeemed), the link anywhere
    // in the arrival order (Braze merges sum purchase counts; Klaviyo/Amplitude revenue double counted after a merge).
    // Every arrival order gives the time-order counts and sums. ----
    // Report: https://www.braze.com/docs/api/endpoints/user_data/post_users_merge
    [Property(MaxTest = 40)]
    public void MoneyOnBothSides_WithTheLinkAnywhere_CountsEachOrderOnce(int seed) => Money(seed).GetAwaiter().GetResult();

    private static async Task Money(int seed)
    {
        var ids = new[] { Ann, Cookie };
        var start = OmnichannelTestHost.DefaultStart;
        var random = new Random(seed);
        DateTimeOffset M() => start.AddMinutes(-60 + random.Next(0, 50));
        var spec = new List<(string Type, Identifier Id, object Props)>
        {
            (EventTypes.OrderPlaced, Cookie, new { order_id = "m1", total = 10m + random.Next(5), currency = "EUR" }),
            (EventTypes.OrderPlaced, Ann, new { order_id = "m1", total = 20m + random.Next(5), currency = random.Next(2) == 0 ? "EUR" : "USD" }),
            (EventTypes.OrderPlaced, Ann, new { order_id = "m2", total = 7m, currency = "EUR" }),
            (EventTypes.OrderPlaced, Cookie, new { order_id = "m3", total = 5m, currency = "EUR" }),
            (EventTypes.OrderCancelled, random.Next(2) == 0 ? Ann : Cookie, new { order_id = "m3" }),
            (EventTypes.OrderReturned, random.Next(2) == 0 ? Ann : Cookie, new { order_id = "m2", total = 3m, return_id = "r1" }),
            (EventTypes.OrderReturned, random.Next(2) == 0 ? Ann : Cookie, new { order_id = "m2", total = 3m, return_id = "r1" }),
            (EventTypes.LoyaltyPointsEarned, Cookie, new { points = 50 }),
            (EventTypes.LoyaltyPointsRedeemed, Ann, new { points = 20 }),
        };
        var events = spec.Select((s, i) => new CustomerEvent
        {
            Id = $"m56-{i:D2}",
            Type = s.Type,
            Timestamp = M(),
            Identifiers = [s.Id],
            Properties = JsonData.From(s.Props),
        }).ToList();
        var link = new CustomerEvent { Id = "m56-link", Type = "user.logged_in", Timestamp = start.AddMinutes(-5), Identifiers = random.Next(2) == 0 ? [Ann, Cookie] : [Cookie, Ann] };

        await using var expectedHost = OmnichannelTestHost.Create();
        foreach (var e in events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal))
        {
            await expectedHost.TrackAsync(e with { Identifiers = ids });
        }

        await expectedHost.TrackAsync(link with { Identifiers = ids });

        await using var actualHost = OmnichannelTestHost.Create(o => o.Partitions = 3);
        var arriving = events.OrderBy(_ => random.Next()).ToList();
        arriving.Insert(random.Next(arriving.Count + 1), link);
        foreach (var e in arriving)
        {
            await actualHost.TrackAsync(e);
        }

        var expected = ArrivalOrderProperties.Comparable(await expectedHost.Client.ExportProfileAsync(Ann));
        var actual = ArrivalOrderProperties.Comparable(await actualHost.Client.ExportProfileAsync(Ann));
        Assert.True(expected == actual, $"seed {seed}\nin time order:\n{expected}\nas arrived:\n{actual}");
        var s = (await actualHost.ProfileAsync(Cookie)).Statistics;
        Assert.Equal(1, s.CancelledOrderCount);
        Assert.Equal(1, s.ReturnCount);
        Assert.Equal(30m, s.LoyaltyPoints);
    }

    private static readonly Identifier[] Four = [Identifier.CustomerId("c-1"), Identifier.Email("a@example.com"), Identifier.AnonymousId("ck"), Identifier.Phone("+447700900123")];

    // ---- 16. Property: what the trust generator does not make (array traits and their removal, devices, preference
    // removals, priced cart lines in two carts, orders with items and returns by item, SMS STOP/START, referrals,
    // tickets, shipments, wishlist prices) over four of her identifiers, linked by any subset and by a login arriving
    // anywhere, in one batch across partitions: the time-order profile (mParticle IDSync and RudderStack identity
    // stitching both document order-independent stitching; PostHog/posthog#7109 "merging people for any order"). ----
    // Report: https://github.com/PostHog/posthog/pull/7109
    [Property(MaxTest = 60)]
    public void KindsTheTrustGeneratorDoesNotMake_InAnyArrivalOrder_GiveTheTimeOrderProfile(int seed) => Wide(seed).GetAwaiter().GetResult();

    private static CustomerEvent WideEvent(Random r, int i, DateTimeOffset start)
    {
        var v = r.Next(12);
        string[] prods = ["p1", "p2", "p3"];
        var (type, props, traits, ctx) = r.Next(14) switch
        {
            0 => ("user.updated", (object?)null, (object?)(v % 4) switch
            {
                0 => new { tags = new[] { "a", "b" } },
                1 => new { tags = new[] { "c" } },
                2 => (object)new { tags = (string[]?)null },
                _ => new { prefs = new { colors = new[] { "red" } } },
            }, (EventContext?)null),
            1 => ("page.viewed", null, null, new EventContext { DeviceType = v % 2 == 0 ? "mobile" : "desktop", Os = v % 3 == 0 ? "iOS" : "Android", TimeZone = v % 4 == 0 ? "Asia/Tokyo" : null }),
            2 => (EventTypes.PreferencesUpdated, (v % 3) switch { 0 => new { max_messages = (int?)null }, 1 => (object)new { max_messages = 3, period = "P7D" }, _ => new { preferred_channels = (string[]?)null } }, null, null),
            3 => (EventTypes.CartItemAdded, new { product_id = prods[v % 3], quantity = 1 + v % 2, price = 2.5m + v, currency = "EUR", cart_id = "cart-" + (v % 2) }, null, null),
            4 => (EventTypes.CartItemRemoved, new { product_id = prods[v % 3], quantity = 1 }, null, null),
            5 => (EventTypes.OrderPlaced, new { order_id = "o" + (v % 3), total = 10 + v, currency = "EUR", items = new[] { new { product_id = prods[v % 3], quantity = 1, price = 10 + v } } }, null, null),
            6 => (EventTypes.OrderReturned, new { order_id = "o" + (v % 3), items = new[] { new { product_id = prods[v % 3], quantity = 1 } } }, null, null),
            7 => ("message.replied", new { channel = "sms", text = v % 2 == 0 ? "STOP" : "START", keyword = v % 2 == 0 ? "STOP" : "START", message_id = "s" + v }, null, null),
            8 => (EventTypes.ConsentChanged, new { channel = "sms", granted = v % 2 == 0 }, null, null),
            9 => (EventTypes.ReferralSent, new { referral_id = "r" + v }, null, null),
            10 => (EventTypes.SupportTicketOpened, new { ticket_id = "t" + (v % 2) }, null, null),
            11 => (EventTypes.SupportTicketResolved, new { ticket_id = "t" + (v % 2) }, null, null),
            12 => (EventTypes.WishlistItemAdded, new { product_id = prods[v % 3], name = "W" + v, price = 3m }, null, null),
            _ => (EventTypes.OrderShipped, new { order_id = "o" + (v % 3) }, null, null),
        };
        var mask = r.Next(1, 16);
        return new CustomerEvent
        {
            Id = $"x-{i:D3}",
            Type = type,
            Timestamp = start.AddMinutes(r.Next(0, 30)),
            Identifiers = [.. Four.Where((_, k) => (mask & (1 << k)) != 0)],
            Channel = type == "message.replied" ? ChannelNames.Sms : (i % 2 == 0 ? ChannelNames.App : ChannelNames.Web),
            Properties = props is null ? default : JsonData.From(props),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = ctx,
        };
    }

    private static async Task Wide(int seed)
    {
        var r = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart.AddHours(-2);
        var events = Enumerable.Range(0, r.Next(2, 25)).Select(i => WideEvent(r, i, start)).ToList();
        var link = new CustomerEvent { Id = "link", Type = "user.logged_in", Timestamp = start.AddMinutes(40), Identifiers = Four };
        await using var exp = OmnichannelTestHost.Create(o => o.Partitions = 1);
        foreach (var e in events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal))
        {
            var res = await exp.Client.TrackAsync(e with { Identifiers = Four });
            Assert.True(res.IsAcknowledged, res.Status + string.Join(";", res.Errors));
        }

        await exp.TrackAsync(link);
        await using var act = OmnichannelTestHost.Create(o => o.Partitions = 3);
        var arriving = events.OrderBy(_ => r.Next()).ToList();
        arriving.Insert(r.Next(arriving.Count + 1), link);
        foreach (var res in await act.Client.TrackBatchAsync(arriving))
        {
            Assert.True(res.IsAcknowledged, res.EventId + res.Status + string.Join(";", res.Errors));
        }

        var a = ArrivalOrderProperties.Comparable(await exp.Client.ExportProfileAsync(Four[0]));
        var b = ArrivalOrderProperties.Comparable(await act.Client.ExportProfileAsync(Four[0]));
        Assert.True(a == b, $"seed {seed}\nexpected\n{a}\nactual\n{b}");
    }
}
