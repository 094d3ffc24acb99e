using System.Text.Json;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U9: bug classes from public reports of comparable systems (round 9: segments and consent), replayed against the
/// public API on a fake clock: consent stamped ahead of the clock, consent and segment membership whatever the arrival
/// order (property-based), averages over events without the property, profiles with no data under negations and zero
/// counts, empty groups, wrongly typed definitions refused with their JSON path, Unicode forms, empty text against a
/// missing trait, segments of segments, "never ordered" and a topic refusal across a merge, SMS and WhatsApp consent.
/// </summary>
public sealed class AuditU9Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    private static SegmentDefinition Rule(string id, string rule) => Segment("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");

    private static CustomerEvent Ev(string id, string type, DateTimeOffset at, IReadOnlyList<Identifier> who, string properties = "{}") => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = who,
        Properties = JsonDocument.Parse(properties).RootElement.Clone(),
    };

    // ---- 1. A consent decision stamped ahead of the engine's clock ----

    // c15t/c15t#862 ("Clamp future consent time to server time": a skewed device's givenAt lay in the future and
    // outranked what followed) and #936. A grant from a device whose clock runs four minutes fast (inside MaxClockSkew)
    // arrives first; her opt-out from a device with a right clock a minute later is the later decision in fact, but its
    // stamp is older than the grant's. She must stay opted out: a decision is never dated after the engine received it.
    [Fact]
    public async Task AConsentGrantStampedAheadOfTheClock_DoesNotOutrankTheOptOutSheMadeAfterIt()
    {
        var reachable = Rule("offers-ok", """{"reachable": "email", "topic": "offers"}""");
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(reachable));
        var t0 = host.Time.GetUtcNow();
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", topic = "offers", granted = true }, at: t0.AddMinutes(4))).Status);
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("offers-ok"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "offers", granted = false })).Status);
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.GetConsent("email", "offers")!.Granted);
        Assert.False(p.IsInSegment("offers-ok"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(10)); // past the grant's stamp: nothing changes by time alone
        p = await host.ProfileAsync(Ann);
        Assert.False(p.GetConsent("email", "offers")!.Granted);
        Assert.False(p.IsInSegment("offers-ok"));
    }

    // The same decisions stamped in the past keep event-time order (knadh/listmonk#588): an older grant arriving late
    // changes nothing, a newer one arriving late wins.
    [Fact]
    public async Task ConsentStampedInThePast_KeepsEventTimeOrder_WhateverTheArrival()
    {
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = false }, at: t0.AddMinutes(-10));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: t0.AddMinutes(-20)); // older, late
        Assert.False((await host.ProfileAsync(Ann)).GetConsent("email")!.Granted);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: t0.AddMinutes(-5)); // newer, late
        Assert.True((await host.ProfileAsync(Ann)).GetConsent("email")!.Granted);
    }

    // ---- 2. Consent whatever the arrival order (property-based) ----

    // Customer.io and Braze resolve subscription state by the newest decision; knadh/listmonk#588 and
    // segment-boneyard/segment-docs (out-of-order delivery) show what goes wrong when arrival order decides. For random
    // channel-wide and topic decisions at random past times (ties included), tracked in random order, her decisions and
    // every reachability segment equal those of tracking them in time order.
    [Property(MaxTest = 25)]
    public void ConsentDecisions_AreTheSame_WhateverTheArrivalOrder(int seed) => ConsentOrder(seed).GetAwaiter().GetResult();

    private static async Task ConsentOrder(int seed)
    {
        var random = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart;
        string?[] topics = [null, "offers", "news"];
        var events = new List<CustomerEvent> { Ev("c-000", "user.signed_up", start.AddDays(-3), [Ann, AnnMail]) };
        var n = random.Next(1, 7);
        for (var i = 0; i < n; i++)
        {
            var topic = topics[random.Next(topics.Length)];
            var granted = random.Next(2) == 0 ? "true" : "false";
            var body = topic is null ? "{\"channel\": \"email\", \"granted\": " + granted + "}" : "{\"channel\": \"email\", \"topic\": \"" + topic + "\", \"granted\": " + granted + "}";
            events.Add(Ev($"c-{i + 1:D3}", EventTypes.ConsentChanged, start.AddMinutes(-random.Next(1, 12) * 10), [Ann], body));
        }

        var inTime = events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        var shuffled = events.OrderBy(_ => random.Next()).ToList();
        var a = await ConsentState(inTime);
        var b = await ConsentState(shuffled);
        Assert.Equal(a, b);
    }

    private static async Task<string> ConsentState(IEnumerable<CustomerEvent> events)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("email-ok", """{"reachable": "email"}"""));
            o.Segments.Add(Rule("offers-ok", """{"reachable": "email", "topic": "offers"}"""));
            o.Segments.Add(Rule("news-ok", """{"reachable": "email", "topic": "news"}"""));
        });
        foreach (var e in events)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(e)).Status);
        }

        var p = await host.ProfileAsync(Ann);
        return string.Join("; ", p.Consents.Select(c => $"{c.Channel}/{c.Topic}={c.Granted}@{c.At:O}"))
            + " | " + string.Join(",", new[] { "email-ok", "offers-ok", "news-ok" }.Where(p.IsInSegment))
            + " | " + string.Join(",", new[] { "offers", "news" }.Select(t => p.GetConsent("email", t)?.Granted.ToString() ?? "none"));
    }

    // ---- 3. Segment membership whatever the arrival order (property-based) ----

    // apache/unomi#160 and #659, dittofeed/dittofeed#665, PostHog/posthog#6834 ("ingest events backwards"): window counts,
    // sums and averages over a filtered property (numbers, numbers as text, missing values, text), a "did not" rule and a
    // distinct count over Unicode forms give the same members for every arrival order, now and after time alone moves
    // events out of their windows (wake-ups).
    [Property(MaxTest = 25)]
    public void SegmentMembership_IsTheSame_WhateverTheArrivalOrder(int seed) => MembershipOrder(seed).GetAwaiter().GetResult();

    private static readonly string[] OrderSegments = ["two-reviews", "good-average", "rating-sum", "no-recent-visit", "two-topics", "quiet-reviewer"];

    private static async Task MembershipOrder(int seed)
    {
        var random = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart;
        string[] ratings = ["5", "\"3\"", "4.5", "\"n/a\"", "null", "1"];
        string[] topicsText = ["\"Caf\\u00e9\"", "\"Cafe\\u0301\"", "\"tea\"", "\"TEA\""];
        var events = new List<CustomerEvent> { Ev("m-000", "user.signed_up", start.AddDays(-12), [Ann]) };
        var n = random.Next(1, 9);
        for (var i = 0; i < n; i++)
        {
            var at = start.AddMinutes(-random.Next(1, 10 * 24 * 6) * 10);
            events.Add(random.Next(3) == 0
                ? Ev($"m-{i + 1:D3}", "page.viewed", at, [Ann])
                : Ev($"m-{i + 1:D3}", "review.left", at, [Ann], "{\"rating\": " + ratings[random.Next(ratings.Length)] + ", \"topic\": " + topicsText[random.Next(topicsText.Length)] + "}"));
        }

        var inTime = events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        var shuffled = events.OrderBy(_ => random.Next()).ToList();
        Assert.Equal(await Memberships(inTime), await Memberships(shuffled));
    }

    private static async Task<string> Memberships(IEnumerable<CustomerEvent> events)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("two-reviews", """{"event": "review.left", "count": {"op": "gte", "value": 2}, "within": "P7D"}"""));
            o.Segments.Add(Rule("good-average", """{"aggregate": "avg", "event": "review.left", "property": "rating", "op": "gte", "value": 4, "within": "P7D"}"""));
            o.Segments.Add(Rule("rating-sum", """{"aggregate": "sum", "event": "review.left", "property": "rating", "where": [{"property": "rating", "op": "exists"}], "op": "gte", "value": 8, "within": "P7D"}"""));
            o.Segments.Add(Rule("no-recent-visit", """{"not": {"event": "page.viewed", "within": "P3D"}}"""));
            o.Segments.Add(Rule("two-topics", """{"aggregate": "distinct", "event": "review.left", "property": "topic", "op": "gte", "value": 2, "within": "P10D"}"""));
            o.Segments.Add(Rule("quiet-reviewer", """{"lastEvent": "review.left", "op": "moreThanAgo", "value": "P2D"}"""));
        });
        foreach (var e in events)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(e)).Status);
        }

        var now = string.Join(",", OrderSegments.Where((await host.ProfileAsync(Ann)).IsInSegment));
        await host.AdvanceAsync(TimeSpan.FromDays(4));
        var later = string.Join(",", OrderSegments.Where((await host.ProfileAsync(Ann)).IsInSegment));
        return now + " | " + later;
    }

    // ---- 4. Averages and sums over events that lack the property ----

    // pjnovas/ldstats#2 and dhis2/dhis2-core#9670 (values that are not there counted as zeros in an average),
    // grouparoo/grouparoo#1991 (aggregates over empty sets: 0 and "no value" differ). Ratings 5, "3" (a number as text,
    // as shops send amounts), a missing rating and "n/a": the average is 4 over the two numbers, the sum 8, and a count
    // of the property counts the three values present. An average of nothing is no value: neither "≥ 4" nor "< 4".
    [Fact]
    public async Task AnAverage_ReadsOnlyTheNumbers_AndAnAverageOfNothingIsNoValue()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("avg-4", """{"aggregate": "avg", "event": "review.left", "property": "rating", "op": "eq", "value": 4}"""));
            o.Segments.Add(Rule("avg-low", """{"aggregate": "avg", "event": "review.left", "property": "rating", "op": "lt", "value": 4}"""));
            o.Segments.Add(Rule("avg-high", """{"aggregate": "avg", "event": "review.left", "property": "rating", "op": "gte", "value": 4}"""));
            o.Segments.Add(Rule("sum-8", """{"aggregate": "sum", "event": "review.left", "property": "rating", "op": "eq", "value": 8}"""));
            o.Segments.Add(Rule("rated-3", """{"aggregate": "count", "event": "review.left", "property": "rating", "op": "eq", "value": 3}"""));
        });
        await host.TrackAsync("user.signed_up", [Ann]);
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("avg-low"));
        Assert.False(p.IsInSegment("avg-high"));

        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"rating": 5}""").RootElement);
        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"rating": "3"}""").RootElement);
        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"comment": "ok"}""").RootElement);
        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"rating": "n/a"}""").RootElement);
        p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("avg-4"));
        Assert.True(p.IsInSegment("avg-high"));
        Assert.False(p.IsInSegment("avg-low"));
        Assert.True(p.IsInSegment("sum-8"));
        Assert.True(p.IsInSegment("rated-3"));
    }

    // ---- 5. Negations and zero counts for a profile with no data ----

    // apache/unomi#383 (UNOMI-550, "no event" conditions), PostHog/posthog#9428 ("did not perform" for people with no
    // events), Braze's "has done X exactly 0 times": a profile known only by a sign-up is in "never ordered", "0 orders in
    // 30 days", "fewer than 2 orders", "not a VIP" and "not in the buyers segment"; she leaves all of them with her order.
    [Fact]
    public async Task AProfileWithNoData_IsInEveryNegationAndZeroCount_UntilSheOrders()
    {
        string[] ids = ["never", "zero-30", "under-2", "zero-agg", "not-vip", "not-buyer"];
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("never", """{"not": {"event": "order.placed"}}"""));
            o.Segments.Add(Rule("zero-30", """{"event": "order.placed", "count": {"op": "eq", "value": 0}, "within": "P30D"}"""));
            o.Segments.Add(Rule("under-2", """{"event": "order.placed", "count": {"op": "lt", "value": 2}}"""));
            o.Segments.Add(Rule("zero-agg", """{"aggregate": "count", "event": "order.placed", "op": "eq", "value": 0, "within": "P30D"}"""));
            o.Segments.Add(Rule("not-vip", """{"not": {"trait": "vip", "op": "eq", "value": true}}"""));
            o.Segments.Add(Rule("buyer", """{"event": "order.placed"}"""));
            o.Segments.Add(Rule("not-buyer", """{"not": {"segment": "buyer"}}"""));
        });
        await host.TrackAsync("user.signed_up", [Ann]);
        var p = await host.ProfileAsync(Ann);
        Assert.All(ids, id => Assert.True(p.IsInSegment(id), id));
        foreach (var id in ids)
        {
            Assert.Single(await host.Client.GetSegmentMembersAsync(id));
        }

        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" });
        p = await host.ProfileAsync(Ann);
        Assert.All(new[] { "never", "zero-30", "zero-agg", "not-buyer" }, id => Assert.False(p.IsInSegment(id), id));
        Assert.True(p.IsInSegment("under-2"));
        Assert.True(p.IsInSegment("not-vip"));

        await host.AdvanceAsync(TimeSpan.FromDays(30)); // the order leaves the window by time alone
        p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("zero-30"));
        Assert.True(p.IsInSegment("zero-agg"));
        Assert.False(p.IsInSegment("never"));
    }

    // ---- 6. Empty groups ----

    // growthbook/growthbook#3498 ("blank groups evaluate to true"), FeatureProbe/FeatureProbe#30 (what an empty rule
    // means): here the meaning is fixed and documented in the schema: an empty "all" holds for everyone, an empty "any"
    // for no one, whatever the nesting, and "not" of an empty "any" for everyone.
    [Fact]
    public async Task EmptyGroups_HoldAsDocumented_AtEveryDepth()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("all-empty", """{"all": []}"""));
            o.Segments.Add(Rule("any-empty", """{"any": []}"""));
            o.Segments.Add(Rule("not-any-empty", """{"not": {"any": []}}"""));
            o.Segments.Add(Rule("all-with-empty-any", """{"all": [{"any": []}, {"trait": "vip", "op": "eq", "value": true}]}"""));
            o.Segments.Add(Rule("any-with-empty-all", """{"any": [{"all": []}, {"trait": "vip", "op": "eq", "value": true}]}"""));
        });
        await host.TrackAsync("user.updated", [Ann], traits: new { vip = true });
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("all-empty"));
        Assert.False(p.IsInSegment("any-empty"));
        Assert.True(p.IsInSegment("not-any-empty"));
        Assert.False(p.IsInSegment("all-with-empty-any"));
        Assert.True(p.IsInSegment("any-with-empty-all"));
    }

    // ---- 7. Definitions with wrong types or unknown operators ----

    // PostHog/posthog#9764 and Flagsmith/flagsmith#129 (values of the wrong type quietly compared), apache/unomi#522
    // (unknown condition types accepted and never matching), braze-inc/braze-docs (API segment filters refused with the
    // field): each is refused at load with the JSON path of what is wrong, never loaded as a rule that holds for no one.
    [Theory]
    [InlineData("""{"event": "order.placed", "within": 30}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "within": "30 days"}""", "$.rule.within")]
    [InlineData("""{"event": "order.placed", "count": {"op": "gte", "value": "3"}}""", "$.rule.count.value")]
    [InlineData("""{"event": "order.placed", "count": {"op": "atLeast", "value": 3}}""", "$.rule.count.op")]
    [InlineData("""{"trait": "tier", "op": "greaterThan", "value": 1}""", "$.rule.op")]
    [InlineData("""{"trait": "tier", "op": "in", "value": "gold"}""", "$.rule.value")]
    [InlineData("""{"trait": "age", "op": "between", "value": [1, 2, 3]}""", "$.rule.value")]
    [InlineData("""{"trait": "vip", "op": "exists", "value": true}""", "$.rule.value")]
    [InlineData("""{"trait": "tier", "op": "eq", "value": {"a": 1}}""", "$.rule.value")]
    [InlineData("""{"stat": "orderTotal", "op": "gt", "value": 1}""", "$.rule.stat")]
    [InlineData("""{"stat": "orderCount", "op": "gt", "value": "1"}""", "$.rule.value")]
    [InlineData("""{"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": "100"}""", "$.rule.value")]
    [InlineData("""{"aggregate": "median", "event": "order.placed", "property": "total", "op": "gte", "value": 1}""", "$.rule.aggregate")]
    [InlineData("""{"event": "order.placed", "where": {"property": "total", "op": "gt", "value": 1}}""", "$.rule.where")]
    [InlineData("""{"any": {"trait": "vip", "op": "exists"}}""", "$.rule.any")]
    [InlineData("""{"not": [{"trait": "vip", "op": "exists"}]}""", "$.rule.not")]
    [InlineData("""{"all": [{"trait": "vip", "op": "exists"}, {"any": [{"event": "order.placed", "within": "P-1D"}]}]}""", "$.rule.all[1].any[0].within")]
    [InlineData("""{"all": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": "ten"}, {"property": "x", "op": "like", "value": 1}]}]}""", "$.rule.all[0].where[1].op")]
    [InlineData("""{"trait": "vip", "op": "exists", "event": "order.placed"}""", "$.rule")]
    [InlineData("""{"lastEvent": "order.placed", "op": "gt", "value": "P1D"}""", "$.rule.op")]
    public void AWronglyTypedDefinition_IsRefusedWithTheJsonPath(string rule, string path)
    {
        var r = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"S\", \"rule\": " + rule + "}");
        Assert.False(r.IsValid);
        Assert.Contains(r.Errors, e => e.Path == path || e.Path.StartsWith(path + ".", StringComparison.Ordinal) || e.Path.StartsWith(path + "[", StringComparison.Ordinal));
    }

    // ---- 8. Case and Unicode forms in string comparisons ----

    // PostHog/posthog#7397-style reports of "café" not matching "café" (NFD from macOS/iOS keyboards against NFC from the
    // web), and of case-insensitive expectations: one canonical form (NFC) for eq, in, startsWith, contains and distinct;
    // case stays significant (strict typing, audits G, W, Z: "CAFÉ" is not "café").
    [Fact]
    public async Task UnicodeForms_AreOneString_ButCaseStaysSignificant()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("eq-nfc", """{"trait": "city", "op": "eq", "value": "Caf\u00e9 Town"}"""));
            o.Segments.Add(Rule("in-nfc", """{"trait": "city", "op": "in", "value": ["x", "Caf\u00e9 Town"]}"""));
            o.Segments.Add(Rule("starts", """{"trait": "city", "op": "startsWith", "value": "Caf\u00e9"}"""));
            o.Segments.Add(Rule("tag", """{"trait": "tags", "op": "contains", "value": "cr\u00e8me"}"""));
            o.Segments.Add(Rule("upper", """{"trait": "city", "op": "eq", "value": "CAF\u00c9 TOWN"}"""));
            o.Segments.Add(Rule("one-topic", """{"aggregate": "distinct", "event": "review.left", "property": "topic", "op": "eq", "value": 1}"""));
        });
        await host.TrackAsync("user.updated", [Ann], traits: JsonDocument.Parse("""{"city": "Cafe\u0301 Town", "tags": ["cre\u0300me"]}""").RootElement);
        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"topic": "Caf\u00e9"}""").RootElement);
        await host.TrackAsync("review.left", [Ann], JsonDocument.Parse("""{"topic": "Cafe\u0301"}""").RootElement);
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("eq-nfc"));
        Assert.True(p.IsInSegment("in-nfc"));
        Assert.True(p.IsInSegment("starts"));
        Assert.True(p.IsInSegment("tag"));
        Assert.False(p.IsInSegment("upper"));
        Assert.True(p.IsInSegment("one-topic"));
    }

    // ---- 9. Null, missing and empty text ----

    // growthbook/growthbook-swift#95 (an attribute sent as null evaluated wrongly), segmentio/analytics-java#351 (null
    // removes a trait), PostHog's "is set" on "": an empty string is a value (exists, eq ""), null removes the trait
    // (notExists, ne), a missing trait is not eq "" and is ne "x".
    [Fact]
    public async Task EmptyText_IsAValue_NullAndMissingAreNot()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("set", """{"trait": "nickname", "op": "exists"}"""));
            o.Segments.Add(Rule("unset", """{"trait": "nickname", "op": "notExists"}"""));
            o.Segments.Add(Rule("blank", """{"trait": "nickname", "op": "eq", "value": ""}"""));
            o.Segments.Add(Rule("not-x", """{"trait": "nickname", "op": "ne", "value": "x"}"""));
        });
        await host.TrackAsync("user.signed_up", [Ann]);
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(new[] { false, true, false, true }, new[] { "set", "unset", "blank", "not-x" }.Select(p.IsInSegment));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.updated", [Ann], traits: new { nickname = "" });
        p = await host.ProfileAsync(Ann);
        Assert.Equal(new[] { true, false, true, true }, new[] { "set", "unset", "blank", "not-x" }.Select(p.IsInSegment));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.updated", [Ann], traits: JsonDocument.Parse("""{"nickname": null}""").RootElement);
        p = await host.ProfileAsync(Ann);
        Assert.Equal(new[] { false, true, false, true }, new[] { "set", "unset", "blank", "not-x" }.Select(p.IsInSegment));
    }

    // ---- 10. Segments referencing segments ----

    // PostHog/posthog#22981 and #21137 (a cohort built on another matched no one), Unleash's segment dependencies: a
    // reference to a segment that is not loaded is refused with its path; a segment others reference cannot be removed;
    // a reference follows the referenced segment's membership both ways, for time-based exits too.
    [Fact]
    public async Task ASegmentOfASegment_IsCheckedAtLoad_AndFollowsItsPartBothWays()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("recent-buyer", """{"event": "order.placed", "within": "P7D"}"""));
            o.Segments.Add(Rule("lapsed", """{"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"not": {"segment": "recent-buyer"}}]}"""));
        });
        var ghost = await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.UpsertSegmentAsync(Rule("ghostly", """{"any": [{"trait": "vip", "op": "exists"}, {"segment": "ghost"}]}""")));
        Assert.True(ghost.Errors.Any(e => e.Path.EndsWith("rule.any[1].segment", StringComparison.Ordinal)), string.Join("; ", ghost.Errors.Select(e => e.Path + " " + e.Message)));
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.RemoveSegmentAsync("recent-buyer"));

        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" });
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("recent-buyer"));
        Assert.False(p.IsInSegment("lapsed"));

        await host.AdvanceAsync(TimeSpan.FromDays(7)); // no event: the wake-up takes her out of one and into the other
        p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("recent-buyer"));
        Assert.True(p.IsInSegment("lapsed"));
        Assert.Equal(new[] { p.Id }, await host.Client.GetSegmentMembersAsync("lapsed"));
    }

    // ---- 11. "Never ordered" across a merge ----

    // PostHog/posthog#9157 and #7454 (a merged person kept the anonymous side's cohort), mautic/mautic#7338: a visitor's
    // cookie profile is in "never ordered"; she logs in to the account that ordered; the person is not in it any more, and
    // the list holds no one.
    [Fact]
    public async Task NeverOrdered_AfterTheVisitorIsMergedIntoTheBuyer_HoldsForNoOne()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(Rule("never", """{"not": {"event": "order.placed"}}""")));
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 20, currency = "GBP" }, at: t0.AddDays(-3));
        await host.TrackAsync("page.viewed", [Cookie]);
        Assert.True((await host.ProfileAsync(Cookie)).IsInSegment("never"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.logged_in", [Ann, Cookie]);
        var p = await host.ProfileAsync(Cookie);
        Assert.Equal((await host.ProfileAsync(Ann)).Id, p.Id);
        Assert.False(p.IsInSegment("never"));
        Assert.Empty(await host.Client.GetSegmentMembersAsync("never"));
    }

    // ---- 12. A topic refusal given on one identifier, then a merge ----

    // braze-inc/braze-docs (subscription state when users are merged), customerio topic preferences, PostHog/posthog#9157:
    // she refuses "offers" from an unsubscribe page opened on a device not linked to her (its cookie profile); her account
    // granted "offers" earlier. After the merge the newer refusal stands and she leaves the "reachable for offers" list;
    // with the refusal older than the grant, the grant stands.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ATopicRefusalOnAnotherIdentifier_StandsAfterTheMerge_WhenItIsNewer(bool refusalNewer)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(Rule("offers-ok", """{"reachable": "email", "topic": "offers"}""")));
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", topic = "offers", granted = true }, at: t0.AddHours(-2));
        await host.TrackAsync(EventTypes.ConsentChanged, [Cookie], new { channel = "email", topic = "Offers", granted = false }, at: t0.AddHours(refusalNewer ? -1 : -3));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("offers-ok"));

        await host.TrackAsync("user.logged_in", [Ann, Cookie]);
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(!refusalNewer, p.GetConsent("email", "offers")!.Granted);
        Assert.Equal(!refusalNewer, p.IsInSegment("offers-ok"));
        Assert.Equal(refusalNewer ? 0 : 1, (await host.Client.GetSegmentMembersAsync("offers-ok")).Count);
    }

    // ---- 13. Consent per channel: SMS is not WhatsApp ----

    // Twilio's and Braze's separate SMS and WhatsApp subscription groups (WhatsApp opt-in is its own under Meta's policy),
    // glific/glific#5400: an SMS opt-in does not make her reachable on WhatsApp through the same phone, and an SMS STOP
    // does not withdraw a WhatsApp opt-in.
    [Fact]
    public async Task AnSmsDecision_SaysNothingAboutWhatsApp()
    {
        var phone = Identifier.Phone("+447700900123");
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Rule("sms-ok", """{"reachable": "sms"}"""));
            o.Segments.Add(Rule("wa-ok", """{"reachable": "whatsapp"}"""));
        });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann, phone], new { channel = "sms", granted = true });
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("sms-ok"));
        Assert.False(p.IsInSegment("wa-ok"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "whatsapp", granted = true });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = false });
        p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("sms-ok"));
        Assert.True(p.IsInSegment("wa-ok"));
    }
}
