using System.Globalization;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U76: segments as marketers write them in JSON — counts of zero and "fewer than", negated groups over missing
/// data, inclusive bounds and exclusive window ends, rolling windows at day boundaries and time zones, strings in any
/// culture and Unicode form, numbers and dates written as text, <c>contains</c> on lists and strings, segments of
/// segments (cycles made at run time, a removed one), a republished definition, and typos refused with their JSON
/// path — against the public reports of PostHog, Openpanel, Apache Unomi, Mautic, Intercom and others. Public API only,
/// the test kit's fake clock; live membership, the members list, a preview and a host that received the same events in
/// another order must agree. Each test names its reports.
/// </summary>
public sealed class AuditU76SegmentJsonTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly Identifier Cid = Identifier.CustomerId("cid");
    private static readonly Identifier Dee = Identifier.CustomerId("dee");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static IReadOnlyList<DefinitionError> Refused(string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"s\", \"rule\": " + rule + "}");
        Assert.False(parsed.IsValid, rule + " was accepted");
        return parsed.Errors;
    }

    private static OmnichannelTestHost Host(IEnumerable<SegmentDefinition> segments, DateTimeOffset? start = null) =>
        OmnichannelTestHost.Create(o =>
        {
            foreach (var s in segments)
            {
                o.Segments.Add(s);
            }
        }, start: start ?? Start);

    private static object Order(string id, decimal total) => new { order_id = id, total, currency = "EUR" };

    // Her membership read three ways that must agree: her profile, the members list, and a preview over everyone.
    private static async Task<HashSet<string>> MembersAsync(OmnichannelTestHost host, SegmentDefinition s, params Identifier[] people)
    {
        var members = new HashSet<string>(StringComparer.Ordinal);
        var listed = await host.Client.GetSegmentMembersAsync(s.Id, limit: 1000);
        foreach (var who in people)
        {
            var p = await host.ProfileAsync(who);
            var live = p.IsInSegment(s.Id);
            Assert.True(live == listed.Contains(p.Id), $"{s.Id} {who.Value}: profile says {live}, the members list says otherwise");
            if (live)
            {
                members.Add(who.Value);
            }
        }

        Assert.True(members.Count == (await host.Client.PreviewSegmentAsync(s)).Matching, $"{s.Id}: a preview counts otherwise than the live members");
        return members;
    }

    private static string Names(IEnumerable<string> names) => string.Join(",", names.Order(StringComparer.Ordinal));

    // ---- 1. "At least 0 times", "exactly 0", "at most 1", "fewer than 2": people who never did it are in ----

    // Openpanel-dev/openpanel#472 ("never did this event": the count input rewrote 0 to 1, and the generated query could
    // not see profiles with no row at all, so "exactly 0" and "at most 0" listed no one), apache/unomi#383 (past-event
    // conditions missing profiles without events), PostHog/posthog#7742. Ann never ordered, Bob ordered 40 days ago,
    // Cid once and Dee twice this month. Every form that a count of zero satisfies lists Ann and Bob, from the first
    // event, in both arrival orders, and again when time alone takes Cid's and Dee's orders out of the window.
    [Fact]
    public async Task CountsThatZeroSatisfies_ListWhoNeverDidIt_InEveryArrivalOrder_AndAsTimePasses()
    {
        (SegmentDefinition Segment, string Now, string After31Days)[] cases =
        [
            (Json("at-least-0", """{"event": "order.placed", "count": {"op": "gte", "value": 0}, "within": "P30D"}"""), "ann,bob,cid,dee", "ann,bob,cid,dee"),
            (Json("exactly-0", """{"event": "order.placed", "count": {"op": "eq", "value": 0}, "within": "P30D"}"""), "ann,bob", "ann,bob,cid,dee"),
            (Json("at-most-1", """{"event": "order.placed", "count": {"op": "lte", "value": 1}, "within": "P30D"}"""), "ann,bob,cid", "ann,bob,cid,dee"),
            (Json("fewer-than-2", """{"event": "order.placed", "count": {"op": "lt", "value": 2}, "within": "P30D"}"""), "ann,bob,cid", "ann,bob,cid,dee"),
            (Json("fewer-than-2-ever", """{"event": "order.placed", "count": {"op": "lt", "value": 2}}"""), "ann,bob,cid", "ann,bob,cid"),
            (Json("zero-or-one", """{"event": "order.placed", "count": {"op": "between", "value": [0, 1]}, "within": "P30D"}"""), "ann,bob,cid", "ann,bob,cid,dee"),
            (Json("agg-fewer-than-2", """{"aggregate": "count", "event": "order.placed", "within": "P30D", "op": "lt", "value": 2}"""), "ann,bob,cid", "ann,bob,cid,dee"),
            (Json("agg-at-least-0", """{"aggregate": "count", "event": "order.placed", "within": "P30D", "op": "gte", "value": 0}"""), "ann,bob,cid,dee", "ann,bob,cid,dee"),
            (Json("not-at-least-1", """{"not": {"event": "order.placed", "within": "P30D"}}"""), "ann,bob", "ann,bob,cid,dee"),
        ];
        var segments = cases.Select(c => c.Segment).ToArray();
        Func<OmnichannelTestHost, Task>[] arrivals =
        [
            h => h.TrackAsync("page.viewed", [Ann]),
            h => h.TrackAsync(h.Event(EventTypes.OrderPlaced, [Bob], Order("b1", 40), at: Start.AddDays(-40))),
            h => h.TrackAsync(h.Event(EventTypes.OrderPlaced, [Cid], Order("c1", 40), at: Start.AddDays(-2))),
            h => h.TrackAsync(h.Event(EventTypes.OrderPlaced, [Dee], Order("d1", 40), at: Start.AddDays(-3))),
            h => h.TrackAsync(h.Event(EventTypes.OrderPlaced, [Dee], Order("d2", 40), at: Start.AddDays(-1))),
        ];
        await using var inOrder = Host(segments);
        await using var reversed = Host(segments);
        foreach (var a in arrivals)
        {
            await a(inOrder);
        }

        foreach (var a in arrivals.Reverse())
        {
            await a(reversed);
        }

        foreach (var (host, label) in new[] { (inOrder, "in order"), (reversed, "reversed") })
        {
            foreach (var c in cases)
            {
                Assert.True(c.Now == Names(await MembersAsync(host, c.Segment, Ann, Bob, Cid, Dee)), $"{c.Segment.Id} {label} now");
            }

            await host.AdvanceAsync(TimeSpan.FromDays(31));
            foreach (var c in cases)
            {
                Assert.True(c.After31Days == Names(await MembersAsync(host, c.Segment, Ann, Bob, Cid, Dee)), $"{c.Segment.Id} {label} after 31 days");
            }
        }
    }

    // ---- 2. "Spent less than 100": a sum of nothing is 0, an average, a minimum and a maximum of nothing are no value ----

    // woocommerce/woocommerce-admin#1116 and #4346 (customer filters "total spend less than" and "AOV"), 1Panel-dev/CordysCRM#1786
    // (filtering amounts "is empty" listed the zeros), pjnovas/ldstats#2. "Spent less than 100 in 30 days" lists a
    // customer who never ordered, as its negation "not spent at least 100" does; "average order below 100" and "smallest
    // order below 100" do not list her (no orders, no average), while their negations do.
    [Fact]
    public async Task ASumBelowAnAmount_ListsWhoNeverOrdered_AsItsNegationDoes_WhileAnAverageOfNothingIsNoValue()
    {
        (SegmentDefinition Segment, string Members)[] cases =
        [
            (Json("sum-lt-100", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "lt", "value": 100}"""), "ann,bob,cid"),
            (Json("not-sum-gte-100", """{"not": {"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 100}}"""), "ann,bob,cid"),
            (Json("sum-eq-0", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "eq", "value": 0}"""), "ann,bob"),
            (Json("avg-lt-100", """{"aggregate": "avg", "event": "order.placed", "property": "total", "within": "P30D", "op": "lt", "value": 100}"""), "cid"),
            (Json("not-avg-gte-100", """{"not": {"aggregate": "avg", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 100}}"""), "ann,bob,cid"),
            (Json("min-lt-100", """{"aggregate": "min", "event": "order.placed", "property": "total", "within": "P30D", "op": "lt", "value": 100}"""), "cid"),
            (Json("max-lt-100", """{"aggregate": "max", "event": "order.placed", "property": "total", "within": "P30D", "op": "lt", "value": 100}"""), "cid"),
        ];
        await using var host = Host(cases.Select(c => c.Segment));
        await host.TrackAsync("page.viewed", [Ann]);
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], Order("b1", 500), at: Start.AddDays(-45)));
        await host.TrackAsync(EventTypes.OrderPlaced, [Cid], Order("c1", 60));
        await host.TrackAsync(EventTypes.OrderPlaced, [Dee], Order("d1", 150));
        foreach (var c in cases)
        {
            Assert.True(c.Members == Names(await MembersAsync(host, c.Segment, Ann, Bob, Cid, Dee)), c.Segment.Id);
        }
    }

    // ---- 3. NOT of a group over missing data is the exact complement, live and from scratch ----

    // apache/unomi#301 (UNOMI-472: `notIn` on a missing property answered otherwise live than in the query that rebuilt
    // the segment), OpenESignForms/openesignforms#121 (a negated group failed its check), PostHog/posthog#8746 ("is not
    // set"). "Not (Paris and 30 or older)" and "not (VIP or tagged sale)" list everyone the positive group does not —
    // people without the traits included — and a trait removed with null moves her back, live as from scratch.
    [Fact]
    public async Task NotOfAGroupOverMissingData_IsTheExactComplement_LiveAndFromScratch()
    {
        var all = Json("paris-30", """{"all": [{"trait": "city", "op": "eq", "value": "Paris"}, {"trait": "age", "op": "gte", "value": 30}]}""");
        var notAll = Json("not-paris-30", """{"not": {"all": [{"trait": "city", "op": "eq", "value": "Paris"}, {"trait": "age", "op": "gte", "value": 30}]}}""");
        var any = Json("vip-or-sale", """{"any": [{"trait": "tier", "op": "eq", "value": "vip"}, {"trait": "tags", "op": "contains", "value": "sale"}]}""");
        var notAny = Json("not-vip-or-sale", """{"not": {"any": [{"trait": "tier", "op": "eq", "value": "vip"}, {"trait": "tags", "op": "contains", "value": "sale"}]}}""");
        var notIn = Json("not-in-paris-lyon", """{"trait": "city", "op": "notIn", "value": ["Paris", "Lyon"]}""");
        SegmentDefinition[] segments = [all, notAll, any, notAny, notIn];
        Func<OmnichannelTestHost, Task>[] arrivals =
        [
            h => h.TrackAsync("page.viewed", [Ann]),
            h => h.TrackAsync("profile.updated", [Bob], traits: new { city = "Paris" }),
            h => h.TrackAsync("profile.updated", [Cid], traits: new { city = "Paris", age = 31, tags = new[] { "sale" } }),
            h => h.TrackAsync("profile.updated", [Dee], traits: new { tier = "vip", age = 45 }),
        ];
        await using var host = Host(segments);
        foreach (var a in arrivals)
        {
            await a(host);
        }

        Assert.Equal("cid", Names(await MembersAsync(host, all, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob,dee", Names(await MembersAsync(host, notAll, Ann, Bob, Cid, Dee)));
        Assert.Equal("cid,dee", Names(await MembersAsync(host, any, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob", Names(await MembersAsync(host, notAny, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,dee", Names(await MembersAsync(host, notIn, Ann, Bob, Cid, Dee)));

        // Cid's age and tags removed with null: she leaves both positive groups and enters their negations.
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("profile.updated", [Cid], traits: new Dictionary<string, object?> { ["age"] = null, ["tags"] = null });
        Assert.Equal(string.Empty, Names(await MembersAsync(host, all, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob,cid,dee", Names(await MembersAsync(host, notAll, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob,cid", Names(await MembersAsync(host, notAny, Ann, Bob, Cid, Dee)));

        // From scratch: a host given each customer's final traits only answers the same.
        await using var fresh = Host(segments);
        await fresh.TrackAsync("page.viewed", [Ann]);
        await fresh.TrackAsync("profile.updated", [Bob], traits: new { city = "Paris" });
        await fresh.TrackAsync("profile.updated", [Cid], traits: new { city = "Paris" });
        await fresh.TrackAsync("profile.updated", [Dee], traits: new { tier = "vip", age = 45 });
        foreach (var s in segments)
        {
            Assert.Equal(Names(await MembersAsync(host, s, Ann, Bob, Cid, Dee)), Names(await MembersAsync(fresh, s, Ann, Bob, Cid, Dee)));
        }
    }

    // ---- 4. "between" includes both bounds; a fixed window's end does not ----

    // woocommerce/woocommerce-admin#1116 ("less than, more than, and between" amount filters), Intercom/Intercom-OpenAPI#625
    // (a date value cut to a whole day made ">" skip a day), mautic/mautic#13620 (a date-only value against datetimes).
    // `between [18, 65]` lists 18 and 65; a count `between [2, 3]` lists two and three orders; a date `between` lists the
    // instants at both bounds. An event window `between [from, to]` is [from, to): an order at `to` is outside it, and a
    // date alone is its midnight UTC, so ["2026-01-01", "2026-01-31"] leaves out 31 January (the README says to write the
    // next day).
    [Fact]
    public async Task Between_IsInclusiveAtBothBounds_ButAFixedWindowsEndIsExclusive()
    {
        var age = Json("age-18-65", """{"trait": "age", "op": "between", "value": [18, 65]}""");
        var orders = Json("two-or-three", """{"event": "order.placed", "count": {"op": "between", "value": [2, 3]}}""");
        var signed = Json("signed-jan", """{"trait": "signed_up", "op": "between", "value": ["2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"]}""");
        var january = Json("ordered-jan", """{"event": "order.placed", "between": ["2026-01-01", "2026-01-31"]}""");
        var januaryFull = Json("ordered-jan-full", """{"event": "order.placed", "between": ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]}""");
        await using var host = Host([age, orders, signed, january, januaryFull]);
        (Identifier Who, object Age, string Signed)[] people =
        [
            (Ann, 18, "2026-01-01T00:00:00Z"), (Bob, 65, "2026-01-31T00:00:00Z"), (Cid, 17.99m, "2025-12-31T23:59:59Z"), (Dee, 65.01m, "2026-01-31T00:00:01Z"),
        ];
        foreach (var (who, a, s) in people)
        {
            await host.TrackAsync("profile.updated", [who], traits: new { age = a, signed_up = s });
        }

        Assert.Equal("ann,bob", Names(await MembersAsync(host, age, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob", Names(await MembersAsync(host, signed, Ann, Bob, Cid, Dee)));

        var jan1 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var jan31 = new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero);
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], Order("a1", 10), at: jan1));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], Order("a2", 10), at: jan1.AddDays(1)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], Order("b1", 10), at: jan31));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], Order("b2", 10), at: jan31.AddHours(15)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Bob], Order("b3", 10), at: jan31.AddHours(16)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Cid], Order("c1", 10), at: jan1.AddTicks(-1)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Dee], Order("d1", 10), at: jan1.AddMonths(1)));
        for (var i = 0; i < 4; i++)
        {
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Cid], Order("c-" + i, 10), at: Start.AddDays(-1)));
        }

        Assert.Equal("ann,bob", Names(await MembersAsync(host, orders, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann", Names(await MembersAsync(host, january, Ann, Bob, Cid, Dee)));
        Assert.Equal("ann,bob", Names(await MembersAsync(host, januaryFull, Ann, Bob, Cid, Dee)));
    }

    // ---- 5. "In the last day" is the last 24 hours, in every zone; a birthday is her local day ----

    // PostHog/posthog#8003 and #14097 (relative date filters at the day's edge), mautic/mautic#6439 ("birthday = today"
    // leaves the segment the next day), braze-inc/braze-docs#9073. `within P1D` is a rolling 24 hours from the order,
    // the same for a customer in Auckland and one in London (audit G's documented UTC durations, pinned here for a
    // JSON definition): in one tick before 24 hours, out at 24 hours, not at either one's local midnight. A birthday
    // (`anniversaryWithin P0D`) follows her own midnight.
    [Fact]
    public async Task WithinTheLastDay_IsARolling24Hours_InEveryZone_WhileABirthdayIsHerLocalDay()
    {
        var lastDay = Json("ordered-last-day", """{"event": "order.placed", "within": "P1D"}""");
        var birthday = Json("birthday-today", """{"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}""");
        var start = new DateTimeOffset(2026, 3, 14, 10, 30, 0, TimeSpan.Zero); // 23:30 in Auckland (UTC+13), 10:30 in London
        await using var host = Host([lastDay, birthday], start);
        var kiwi = Identifier.CustomerId("kiwi");
        var londoner = Identifier.CustomerId("londoner");
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [kiwi], Order("k1", 10), traits: new { birthday = "1990-03-15" }, context: new EventContext { TimeZone = "Pacific/Auckland" }));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [londoner], Order("l1", 10), traits: new { birthday = "1990-03-15" }, context: new EventContext { TimeZone = "Europe/London" }));

        // Auckland's midnight (11:00 UTC): her order was "yesterday" there, she stays in "ordered in the last day";
        // her birthday begins.
        await host.AdvanceToAsync(start.AddMinutes(30));
        Assert.Equal("kiwi,londoner", Names(await MembersAsync(host, lastDay, kiwi, londoner)));
        Assert.Equal("kiwi", Names(await MembersAsync(host, birthday, kiwi, londoner)));

        // London's midnight: the Londoner's birthday begins; both orders are still in the last 24 hours.
        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal("kiwi,londoner", Names(await MembersAsync(host, lastDay, kiwi, londoner)));
        Assert.Equal("kiwi,londoner", Names(await MembersAsync(host, birthday, kiwi, londoner)));

        await host.AdvanceToAsync(start.AddDays(1).AddTicks(-1));
        Assert.Equal("kiwi,londoner", Names(await MembersAsync(host, lastDay, kiwi, londoner)));
        await host.AdvanceToAsync(start.AddDays(1));
        Assert.Equal(string.Empty, Names(await MembersAsync(host, lastDay, kiwi, londoner)));

        // Auckland's next midnight (11:00 UTC on the 15th): her birthday is over; the Londoner's goes on.
        await host.AdvanceToAsync(start.AddDays(1).AddMinutes(30));
        Assert.Equal("londoner", Names(await MembersAsync(host, birthday, kiwi, londoner)));
    }

    // ---- 6. Strings: ordinal after NFC, in any culture — Turkish i, accents, NFD ----

    // dotnet/roslyn#29938 (matching "i" went wrong when the current culture was tr-TR), translate/translate#1065 (a
    // filter treating "İ" and "I" as one letter), PostHog/posthog#6834 (NFC and NFD forms of one name). On a server whose culture is Turkish, German or French, "İstanbul" is not "istanbul" nor "ISTANBUL",
    // "ı" is not "i", case counts, and an accent written as NFD matches its NFC operand for eq, in, startsWith and
    // contains (a string's substring too), in a trait and in a `where` alike; amounts sent as text ("12.50",
    // "1,250.00") read the same in every culture.
    [Theory]
    [InlineData("tr-TR")]
    [InlineData("de-DE")]
    [InlineData("fr-FR")]
    [InlineData("")]
    public async Task StringsAndAmounts_ReadTheSame_InEveryCulture(string culture)
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
        try
        {
            (SegmentDefinition Segment, string Members)[] cases =
            [
                (Json("eq-istanbul", """{"trait": "city", "op": "eq", "value": "istanbul"}"""), "bob"),
                (Json("in-istanbul", """{"trait": "city", "op": "in", "value": ["İstanbul", "ISTANBUL"]}"""), "ann"),
                (Json("starts-i", """{"trait": "city", "op": "startsWith", "value": "I"}"""), "cid"),
                (Json("starts-dotted-i", """{"trait": "city", "op": "startsWith", "value": "İ"}"""), "ann"),
                (Json("contains-dotless", """{"trait": "city", "op": "contains", "value": "ı"}"""), "dee"),
                (Json("cafe-contains", """{"trait": "shop", "op": "contains", "value": "café"}"""), "ann,cid"),
                (Json("cafe-starts", """{"trait": "shop", "op": "startsWith", "value": "Le café"}"""), "ann,cid"),
                (Json("cafe-eq", """{"trait": "shop", "op": "eq", "value": "Le café noir"}"""), "ann,cid"),
                (Json("cafe-where", """{"event": "visit", "where": [{"property": "shop", "op": "contains", "value": "café"}]}"""), "ann,cid"),
                (Json("spent-1262", """{"aggregate": "sum", "event": "paid", "property": "amount", "op": "eq", "value": 1262.5}"""), "ann"),
            ];
            await using var host = Host(cases.Select(c => c.Segment));
            (Identifier Who, string City, string Shop)[] people =
            [
                (Ann, "İstanbul", "Le cafe\u0301 noir"), (Bob, "istanbul", "Le Café noir"), (Cid, "Izmir", "Le café noir"), (Dee, "ıspir", "Le cafe noir"),
            ];
            foreach (var (who, city, shop) in people)
            {
                await host.TrackAsync("profile.updated", [who], traits: new { city, shop });
                await host.TrackAsync("visit", [who], properties: new { shop });
            }

            await host.TrackAsync("paid", [Ann], properties: new { amount = "12.50" });
            await host.TrackAsync("paid", [Ann], properties: new { amount = "1,250.00" });
            foreach (var c in cases)
            {
                Assert.True(c.Members == Names(await MembersAsync(host, c.Segment, Ann, Bob, Cid, Dee)), $"{c.Segment.Id} under '{culture}'");
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    // ---- 7. `contains` on a list is a whole element; on a string, a substring ----

    // elyra-ai/canvas#687 ("for arrays contains is checking the string values inside of the array instead of the
    // entire string"), trivago/jade#6 (`contains` on a serialized list matched "Apple" inside "Apple Macbook"),
    // CacheControl/json-rules-engine#196. `tags contains "gold"` holds for ["gold", "new"] but not ["golden"]; the
    // string "golden" contains "gold"; a list of numbers contains 10 but not "10"; `not contains` is the complement,
    // people without tags included.
    [Fact]
    public async Task ContainsOnAList_MatchesAWholeElement_OnAStringASubstring()
    {
        var gold = Json("tags-gold", """{"trait": "tags", "op": "contains", "value": "gold"}""");
        var notGold = Json("tags-not-gold", """{"not": {"trait": "tags", "op": "contains", "value": "gold"}}""");
        var ten = Json("sizes-10", """{"trait": "sizes", "op": "contains", "value": 10}""");
        var tenText = Json("sizes-10-text", """{"trait": "sizes", "op": "contains", "value": "10"}""");
        await using var host = Host([gold, notGold, ten, tenText]);
        var eve = Identifier.CustomerId("eve");
        await host.TrackAsync("profile.updated", [Ann], traits: new { tags = new[] { "gold", "new" }, sizes = new[] { 10, 12 } });
        await host.TrackAsync("profile.updated", [Bob], traits: new { tags = new[] { "golden" }, sizes = new[] { "10" } });
        await host.TrackAsync("profile.updated", [Cid], traits: new { tags = "golden", sizes = "10.5" });
        await host.TrackAsync("profile.updated", [Dee], traits: new { tags = Array.Empty<string>() });
        await host.TrackAsync("page.viewed", [eve]);

        Assert.Equal("ann,cid", Names(await MembersAsync(host, gold, Ann, Bob, Cid, Dee, eve)));
        Assert.Equal("bob,dee,eve", Names(await MembersAsync(host, notGold, Ann, Bob, Cid, Dee, eve)));
        Assert.Equal("ann", Names(await MembersAsync(host, ten, Ann, Bob, Cid, Dee, eve)));
        Assert.Equal("bob,cid", Names(await MembersAsync(host, tenText, Ann, Bob, Cid, Dee, eve)));
    }

    // ---- 8. Dates written as text in several formats ----

    // sendgrid/docs#2899 (dates as MM/DD/YYYY or epochs), mautic/mautic#12647 (date filter values "2023-07-07 00:00"
    // refused), growthbook/growthbook#4311 (date rules compared as text). A trait date is an instant when it is ISO 8601
    // (with a "T" or a space, with or without an offset — none is UTC — fractions too); "2026/03/01", "01/03/2026",
    // RFC 1123 text and the ISO basic form are text, never dates, so "signed up in the last 7 days" does not list them,
    // in any culture.
    [Theory]
    [InlineData("2026-03-01T12:00:00+01:00", true)]
    [InlineData("2026-03-01T11:00:00Z", true)]
    [InlineData("2026-03-01 11:00:00", true)]
    [InlineData("2026-03-01T11:00:00", true)]
    [InlineData("2026-03-01T11:00:00.123Z", true)]
    [InlineData("2026-03-01", true)]
    [InlineData("2026-02-20", false)]
    [InlineData("2026/03/01", false)]
    [InlineData("01/03/2026", false)]
    [InlineData("03/01/2026", false)]
    [InlineData("Sun, 01 Mar 2026 11:00:00 GMT", false)]
    [InlineData("20260301T110000Z", false)]
    [InlineData("1772362800", false)]
    public async Task ADateWrittenAsText_IsAnInstantOnlyInIso8601_InEveryCulture(string text, bool inLastWeek)
    {
        var week = Json("signed-last-week", """{"trait": "signed_up", "op": "withinLast", "value": "P7D"}""");
        var after = Json("signed-after-feb", """{"trait": "signed_up", "op": "gte", "value": "2026-02-28T00:00:00Z"}""");
        foreach (var culture in new[] { "en-US", "de-DE", "tr-TR" })
        {
            var previous = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
            try
            {
                await using var host = Host([week, after]);
                await host.TrackAsync("profile.updated", [Ann], traits: new { signed_up = text });
                Assert.True(inLastWeek == (await MembersAsync(host, week, Ann)).Count > 0, $"{text} under {culture}");
                Assert.True(inLastWeek == (await MembersAsync(host, after, Ann)).Count > 0, $"{text} under {culture} (gte)");
            }
            finally
            {
                CultureInfo.CurrentCulture = previous;
            }
        }
    }

    // ---- 9. A number written as text in an ordering rule is refused with its path ----

    // PostHog/posthog#1130 (the property filter warned "Value needs to be a number" for gt/lt with text), apache/superset#42596
    // (numeric values ordered lexicographically: "10", "100", "2"), apache/unomi#773 (UNOMI-883: unified numeric property
    // handling). `{"trait": "age", "op": "gt", "value": "30"}` was accepted and compared text character by character: "9",
    // "65" and "café" were "greater than 30", while 35 sent as a number never was (a number is not text). The same in a
    // `where` and in `between ["18", "65"]`. Now an ordering operator (gt, gte, lt, lte, between) with a number written as
    // text is refused at the operand's path, saying to write the number; eq, ne, in, startsWith and contains keep taking
    // numeric text (postcodes, SKUs).
    [Theory]
    [InlineData("""{"trait": "age", "op": "gt", "value": "30"}""", "$.rule.value")]
    [InlineData("""{"trait": "age", "op": "lte", "value": "-1.5"}""", "$.rule.value")]
    [InlineData("""{"trait": "age", "op": "between", "value": ["18", "65"]}""", "$.rule.value[0]")]
    [InlineData("""{"trait": "age", "op": "between", "value": [18, "65"]}""", "$.rule.value[1]")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": "100"}]}""", "$.rule.where[0].value")]
    [InlineData("""{"all": [{"trait": "tier", "op": "exists"}, {"not": {"trait": "visits", "op": "lt", "value": "3"}}]}""", "$.rule.all[1].not.value")]
    public void ANumberWrittenAsTextInAnOrderingRule_IsRefusedAtItsPath(string rule, string path)
    {
        var errors = Refused(rule);
        Assert.Equal(path, errors[0].Path);
        Assert.All(errors, e => Assert.Contains("number", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task NumericTextStillMatchesAsText_ForEqualityAndPrefixes_AndNumbersOrderAsNumbers()
    {
        var postcode = Json("paris-postcode", """{"trait": "postcode", "op": "in", "value": ["75001", "75002"]}""");
        var prefix = Json("paris-prefix", """{"trait": "postcode", "op": "startsWith", "value": "75"}""");
        var older = Json("over-30", """{"trait": "age", "op": "gt", "value": 30}""");
        await using var host = Host([postcode, prefix, older]);
        await host.TrackAsync("profile.updated", [Ann], traits: new { postcode = "75001", age = 9 });
        await host.TrackAsync("profile.updated", [Bob], traits: new { postcode = "75015", age = 100 });
        await host.TrackAsync("profile.updated", [Cid], traits: new { postcode = "69001", age = 65 });
        Assert.Equal("ann", Names(await MembersAsync(host, postcode, Ann, Bob, Cid)));
        Assert.Equal("ann,bob", Names(await MembersAsync(host, prefix, Ann, Bob, Cid)));
        Assert.Equal("bob,cid", Names(await MembersAsync(host, older, Ann, Bob, Cid)));
    }

    // ---- 10. A date operand that is no ISO 8601 instant, in an ordering rule, is refused with its path ----

    // mautic/mautic#12647 and #13620 (date filter values in other forms saved and matching nothing), sendgrid/docs#2899
    // (MM/DD/YYYY), launchdarkly/dotnet-server-sdk#159 (an invalid date is a non-match). `{"trait": "signed_up", "op":
    // "gt", "value": "2024-02-30"}` (no such day) or "01/02/2024" (January or February?) were accepted: against ISO
    // dates they never held, against text they compared character by character. Now an ordering operator whose operand
    // looks like a date but is no ISO 8601 instant is refused at the operand's path.
    [Theory]
    [InlineData("""{"trait": "signed_up", "op": "gt", "value": "2024-02-30"}""", "$.rule.value")]
    [InlineData("""{"trait": "signed_up", "op": "lt", "value": "2024-13-01T00:00:00Z"}""", "$.rule.value")]
    [InlineData("""{"trait": "signed_up", "op": "gte", "value": "01/02/2024"}""", "$.rule.value")]
    [InlineData("""{"trait": "signed_up", "op": "lte", "value": "2024/01/02"}""", "$.rule.value")]
    [InlineData("""{"trait": "signed_up", "op": "between", "value": ["2024-01-01", "31.01.2024"]}""", "$.rule.value[1]")]
    [InlineData("""{"event": "visit", "where": [{"property": "at", "op": "gt", "value": "2/1/24"}]}""", "$.rule.where[0].value")]
    public void ADateOperandThatIsNoIsoInstant_InAnOrderingRule_IsRefusedAtItsPath(string rule, string path)
    {
        var error = Assert.Single(Refused(rule));
        Assert.Equal(path, error.Path);
        Assert.Contains("ISO 8601", error.Message, StringComparison.Ordinal);
    }

    // Left alone in the forty-seventh session, closed in the forty-eighth: a version number ("app_version" gt "1.2.10")
    // was refused as "not an ISO 8601 date", the wrong cause for a marketer targeting app versions. Still refused (text
    // orders "1.2.10" before "1.2.9"), now naming both readings and what to write instead.
    [Theory]
    [InlineData("1.2.10")]
    [InlineData("31.01.2024")]
    public void ADottedOperand_InAnOrderingRule_IsRefusedAsADateOrAVersion(string value)
    {
        var error = Assert.Single(Refused($$"""{"trait": "app_version", "op": "gt", "value": "{{value}}"}"""));
        Assert.Equal("$.rule.value", error.Path);
        Assert.Contains("ISO 8601", error.Message, StringComparison.Ordinal);
        Assert.Contains("version", error.Message, StringComparison.Ordinal);
        Assert.Contains("'in' or 'startsWith'", error.Message, StringComparison.Ordinal);
    }

    // ---- 11. Segments of segments: a cycle made at run time, a self-reference, a removed or unknown one ----

    // PostHog/posthog#33574 and #33341 (sorting cohorts by dependency crashed on a deleted one), PostHog/posthog#25936
    // ("deleting a cohort leaves behind a phantom reference"), PostHog/posthog#40870 (nested cohorts), OHDSI/CohortGenerator#221
    // (a changed referenced cohort did not regenerate its dependants). At run time: turning "vip" into "not lapsed"
    // while "lapsed" refers to "vip" would be a cycle and is refused, the old rule staying in force; a segment cannot
    // refer to itself; a referenced one cannot be removed; an unknown one is refused. A three-level chain follows its
    // innermost part by time alone, and a changed inner rule moves the outer ones at once.
    [Fact]
    public async Task SegmentReferences_ACycleMadeAtRunTimeIsRefused_AndAChainFollowsItsInnermostPart()
    {
        var recent = Json("recent", """{"event": "order.placed", "within": "P7D"}""");
        var vip = Json("vip", """{"all": [{"segment": "recent"}, {"trait": "tier", "op": "eq", "value": "gold"}]}""");
        var lapsed = Json("lapsed", """{"not": {"segment": "vip"}}""");
        await using var host = Host([recent, vip, lapsed]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("a1", 10), traits: new { tier = "gold" });
        await host.TrackAsync("profile.updated", [Bob], traits: new { tier = "gold" });
        Assert.Equal("ann", Names(await MembersAsync(host, vip, Ann, Bob)));
        Assert.Equal("bob", Names(await MembersAsync(host, lapsed, Ann, Bob)));

        var cycle = await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.UpsertSegmentAsync(Json("recent", """{"not": {"segment": "lapsed"}}""")));
        var cycleError = Assert.Single(cycle.Errors);
        Assert.Equal("$", cycleError.Path);
        Assert.Contains("loaded segment 'lapsed' at $.rule.not.segment: segments form a cycle", cycleError.Message, StringComparison.Ordinal);
        var selfJson = SegmentJson.Parse("""{"id": "vip", "name": "vip", "rule": {"any": [{"segment": "vip"}, {"trait": "tier", "op": "eq", "value": "gold"}]}}""");
        Assert.Equal("$.rule.any[0].segment", Assert.Single(selfJson.Errors).Path);
        var self = new SegmentDefinition("vip", "vip", new AnyRule([new SegmentMembershipRule("vip"), new TraitRule("tier", new Condition(ConditionOperator.Eq, "gold"))]));
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.UpsertSegmentAsync(self));
        var unknown = await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.UpsertSegmentAsync(Json("win-back", """{"all": [{"segment": "lapsed"}, {"segment": "lapsd"}]}""")));
        Assert.Equal("$.rule.all[1].segment", Assert.Single(unknown.Errors).Path);
        var preview = await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.PreviewSegmentAsync(Json("win-back", """{"all": [{"segment": "lapsed"}, {"segment": "lapsd"}]}""")));
        Assert.Equal("$.rule.all[1].segment", Assert.Single(preview.Errors).Path);
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.RemoveSegmentAsync("vip"));

        // Nothing changed: the rules in force are the loaded ones.
        Assert.Equal("ann", Names(await MembersAsync(host, recent, Ann, Bob)));
        Assert.Equal("bob", Names(await MembersAsync(host, lapsed, Ann, Bob)));

        // Time alone: Ann's order leaves "recent", so she leaves "vip" and enters "lapsed" at that instant.
        await host.AdvanceAsync(TimeSpan.FromDays(7));
        Assert.Equal(string.Empty, Names(await MembersAsync(host, vip, Ann, Bob)));
        Assert.Equal("ann,bob", Names(await MembersAsync(host, lapsed, Ann, Bob)));

        // A changed inner rule moves the chain at once.
        var backfill = await host.Client.UpsertSegmentAsync(Json("recent", """{"event": "order.placed", "within": "P30D"}"""));
        await backfill.Completion;
        Assert.Equal("ann", Names(await MembersAsync(host, vip, Ann, Bob)));
        Assert.Equal("bob", Names(await MembersAsync(host, lapsed, Ann, Bob)));
    }

    // ---- 12. A republished definition: the same rule written otherwise changes nothing; a changed rule records exits ----

    // PostHog/posthog#3531 and #9630 (an edited cohort kept its old people), mautic/mautic#9245 (wrong contacts listed
    // after editing), OHDSI/CohortGenerator#221. Republishing "spent 100 in 30 days" with its keys in another order and
    // other white space records no entry or exit and keeps entered-at; lowering the threshold to 40 makes Bob enter;
    // raising it to 200 makes both leave, each exit recorded once on the timeline, and the list follows.
    [Fact]
    public async Task ARepublishedDefinition_WrittenOtherwiseChangesNothing_AChangedRuleRecordsEntriesAndExits()
    {
        var spent = Json("spent", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 100}""");
        await using var host = Host([spent]);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("a1", 150));
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob], Order("b1", 50));
        var annEntered = Assert.Single((await host.ProfileAsync(Ann)).Segments).EnteredAt;
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var same = SegmentJson.Parse("""
            {
              "rule": {"value": 100.0, "op": "gte", "within": "P30D", "property": "total", "event": "order.placed", "aggregate": "sum"},
              "name": "spent", "id": "spent"
            }
            """);
        Assert.True(same.IsValid);
        await (await host.Client.UpsertSegmentAsync(same.Value!)).Completion;
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(annEntered, Assert.Single(ann.Segments).EnteredAt);
        Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentEntered);
        Assert.Equal("ann", Names(await MembersAsync(host, spent, Ann, Bob)));

        var lower = Json("spent", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 40}""");
        await (await host.Client.UpsertSegmentAsync(lower)).Completion;
        Assert.Equal("ann,bob", Names(await MembersAsync(host, lower, Ann, Bob)));
        Assert.Equal(annEntered, Assert.Single((await host.ProfileAsync(Ann)).Segments).EnteredAt);
        Assert.Single((await host.ProfileAsync(Bob)).Timeline, t => t.Type == EventTypes.SegmentEntered);

        var higher = Json("spent", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 200}""");
        await (await host.Client.UpsertSegmentAsync(higher)).Completion;
        Assert.Equal(string.Empty, Names(await MembersAsync(host, higher, Ann, Bob)));
        foreach (var who in new[] { Ann, Bob })
        {
            var p = await host.ProfileAsync(who);
            Assert.Single(p.Timeline, t => t.Type == EventTypes.SegmentExited);
            Assert.Single(p.Timeline, t => t.Type == EventTypes.SegmentEntered);
        }
    }

    // ---- 13. Typos in a marketer's JSON are refused with their path ----

    // PostHog/posthog#9764 (a malformed cohort filter saved and matching no one), Flagsmith/flagsmith#129, apache/unomi#773
    // (UNOMI-883: condition validation), apache/unomi#864 (UNOMI-982: a condition silently matching nothing, "no warning
    // and no error"). Each typo below (not among audit U9's twenty) is refused with the path of its fault, and nothing
    // else is reported for it.
    [Theory]
    [InlineData("""{"trait": "tier", "op": "EQ", "value": "vip"}""", "$.rule.op")]
    [InlineData("""{"Trait": "tier", "op": "eq", "value": "vip"}""", "$.rule")]
    [InlineData("""{"trait": "tier", "op": "eq", "value": "vip", "vaule": "gold"}""", "$.rule.vaule")]
    [InlineData("""{"trait": "tier", "op": "eq", "op": "ne", "value": "vip"}""", "$.rule.op")]
    [InlineData("""{"event": "order.placed", "within": "30d"}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": "P30d"}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": "P30D "}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": "-P30D"}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": "P1.5D"}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": null}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "count": 3}""", "$.rule.count")]
    [InlineData("""{"event": "order.placed", "count": {"op": "gte", "value": "3"}}""", "$.rule.count.value")]
    [InlineData("""{"event": "order.placed", "count": {"op": "gte", "value": 1.5}}""", "$.rule.count.value")]
    [InlineData("""{"event": "order.placed", "where": null}""", "$.rule.where")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 1, "within": "P1D"}]}""", "$.rule.where[0].within")]
    [InlineData("""{"lastEvent": "order.placed", "op": "withinLast", "value": "P7D", "count": {"op": "gte", "value": 1}}""", "$.rule.count")]
    [InlineData("""{"stat": "ordercount", "op": "gte", "value": 1}""", "$.rule.stat")]
    [InlineData("""{"stat": "orderCount", "op": "gte", "value": "1"}""", "$.rule.value")]
    [InlineData("""{"reachable": "Email"}""", "$.rule.reachable")]
    [InlineData("""{"any": [{"trait": "tier", "op": "exists"}, {"not": {}}]}""", "$.rule.any[1].not")]
    public void ATypoInAMarketersJson_IsRefusedAtItsPath(string rule, string path)
    {
        var error = Assert.Single(Refused(rule));
        Assert.Equal(path, error.Path);
    }

    [Theory]
    [InlineData("""{"id": "s", "name": "s", "rules": {"trait": "t", "op": "exists"}}""", "$.rule", "$.rules")]
    [InlineData("""{"id": "VIP Customers", "name": "s", "rule": {"trait": "t", "op": "exists"}}""", "$.id", null)]
    [InlineData("""{"id": "s", "id": "t", "name": "s", "rule": {"trait": "t", "op": "exists"}}""", "$.id", null)]
    [InlineData("""{"id": "s", "name": "s", "rule": {"trait": "t", "op": "exists"},}""", "$", null)]
    [InlineData("""{"id": "s", "name": "s", /* draft */ "rule": {"trait": "t", "op": "exists"}}""", "$", null)]
    public void ATypoAroundTheRule_IsRefusedAtItsPath(string document, string path, string? secondPath)
    {
        var parsed = SegmentJson.Parse(document);
        Assert.False(parsed.IsValid);
        Assert.Equal(new[] { path, secondPath }.OfType<string>().Order(StringComparer.Ordinal), parsed.Errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }

    // ---- 14. Property: the answer does not depend on the order events arrive in, and live equals from scratch ----

    // PostHog/posthog#21669 (a cohort's size differs from the same count recomputed), apache/unomi#301 (UNOMI-472: live
    // and rebuilt answers differ for a missing property), apache/unomi#659. Each script is a list of customer actions:
    // orders of several amounts stamped up to 40 days late, trait writes of age (a number or null) and tags (a list, a
    // string or null), page views. One host receives them in script order, another in reverse; at the end and 35 days
    // later both list the same members of every segment, as a preview counts, for the JSON forms of this audit: counts
    // of zero, "fewer than", `between`, sums below an amount, a negated group over missing data, and `contains`.
    [Property(MaxTest = 20)]
    public void TheAnswerDoesNotDependOnArrivalOrder_AndLiveEqualsAPreview(int[] script) =>
        RunArrivalProperty(script).GetAwaiter().GetResult();

    private static readonly SegmentDefinition[] PropertySegments =
    [
        Json("p-exactly-0", """{"event": "order.placed", "count": {"op": "eq", "value": 0}, "within": "P30D"}"""),
        Json("p-fewer-than-2", """{"event": "order.placed", "count": {"op": "lt", "value": 2}, "within": "P14D"}"""),
        Json("p-two-or-three", """{"event": "order.placed", "count": {"op": "between", "value": [2, 3]}, "within": "P30D"}"""),
        Json("p-sum-lt-100", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "lt", "value": 100}"""),
        Json("p-avg-between", """{"aggregate": "avg", "event": "order.placed", "property": "total", "within": "P30D", "op": "between", "value": [30, 60]}"""),
        Json("p-not-group", """{"not": {"all": [{"trait": "age", "op": "gte", "value": 30}, {"trait": "tags", "op": "contains", "value": "vip"}]}}"""),
        Json("p-any-group", """{"any": [{"trait": "age", "op": "between", "value": [18, 25]}, {"not": {"trait": "tags", "op": "exists"}}]}"""),
        Json("p-ordered-recently-or-vip", """{"any": [{"event": "order.placed", "within": "P7D"}, {"trait": "tags", "op": "contains", "value": "vip"}]}"""),
    ];

    private static async Task RunArrivalProperty(int[] script)
    {
        var people = new[] { Ann, Bob, Cid };
        var steps = (script ?? []).Take(12).Select((n, i) => (N: Math.Abs(n % 1000), I: i)).ToArray();
        await using var forward = Host(PropertySegments);
        await using var backward = Host(PropertySegments);

        Func<OmnichannelTestHost, Task> Action((int N, int I) step)
        {
            var who = people[step.N % 3];
            var kind = step.N / 3 % 4;
            var late = TimeSpan.FromDays(step.N / 12 % 41);
            object?[] ages = [null, 20, 31, 45];
            object?[] tags = [null, new[] { "vip" }, "vip", new[] { "new" }];
            return kind switch
            {
                0 or 1 => h => h.TrackAsync(h.Event(EventTypes.OrderPlaced, [who], Order("o" + step.I, new[] { 20m, 45m, 80m }[step.N / 7 % 3]), at: Start - late)),
                2 => h => h.TrackAsync(h.Event("profile.updated", [who], traits: new Dictionary<string, object?> { ["age"] = ages[step.N / 5 % 4] }, at: Start - TimeSpan.FromSeconds(step.I))),
                _ => h => h.TrackAsync(h.Event("profile.updated", [who], traits: new Dictionary<string, object?> { ["tags"] = tags[step.N / 5 % 4] }, at: Start - TimeSpan.FromSeconds(step.I))),
            };
        }

        var actions = steps.Select(Action).ToArray();
        foreach (var p in people)
        {
            await forward.TrackAsync("page.viewed", [p]);
            await backward.TrackAsync("page.viewed", [p]);
        }

        foreach (var a in actions)
        {
            await a(forward);
        }

        foreach (var a in actions.Reverse())
        {
            await a(backward);
        }

        for (var stop = 0; stop < 2; stop++)
        {
            foreach (var s in PropertySegments)
            {
                var f = Names(await MembersAsync(forward, s, people));
                var b = Names(await MembersAsync(backward, s, people));
                Assert.True(f == b, $"{s.Id}: in order {f}, reversed {b}; script [{string.Join(",", steps.Select(x => x.N))}]");
            }

            await forward.AdvanceAsync(TimeSpan.FromDays(35));
            await backward.AdvanceAsync(TimeSpan.FromDays(35));
        }
    }
}
