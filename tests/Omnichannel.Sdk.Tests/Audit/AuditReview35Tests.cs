using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Segments.Evaluation;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated event of the review's history property: arrival step, lateness, category, amount, redelivery.</summary>
public sealed record R35Event(int ArrivalMinutes, int LateMinutes, int Category, int Amount, bool Redeliver, bool View);

/// <summary>FsCheck generators for the review of audit U35.</summary>
public static class R35Arbitrary
{
    public static Arbitrary<R35Event[]> Events() =>
        Gen.ArrayOf(
                from arrival in Gen.Frequency((2, Gen.Constant(0)), (8, Gen.Choose(1, 12 * 24 * 60)))
                from late in Gen.Frequency((5, Gen.Constant(0)), (4, Gen.Choose(1, 60 * 24 * 60)), (1, Gen.Choose(-2 * 24 * 60, -1)))
                from category in Gen.Choose(0, 2)
                from amount in Gen.Choose(1, 400)
                from redeliver in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
                from view in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
                select new R35Event(arrival, late, category, amount, redeliver, view))
            .ToArbitrary();
}

/// <summary>
/// Review of audit U35 (every kept event type keeps its first and last event): arrival orders, re-sent orders, merges,
/// erasure, removed segments, windows that must not count the kept old events, documents written before the change, and
/// what the extra events cost.
/// </summary>
public sealed class AuditReview35Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly string[] Categories = ["shoes", "bags", "hats"];

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    private static object Order(string id, decimal total, string category = "shoes") => new { order_id = id, total, currency = "GBP", category };

    // What the shop loads at start: windows only (no "ever", no first/last rule), one with a filter.
    private static readonly SegmentDefinition[] Loaded =
    [
        Json("ordered-7", """{"event": "order.placed", "within": "P7D"}"""),
        Json("bags-14", """{"event": "order.placed", "where": [{"property": "category", "op": "eq", "value": "bags"}], "within": "P14D"}"""),
        Json("viewed-3", """{"event": "product.viewed", "within": "P3D"}"""),
    ];

    // What the shop adds at run time: exact for a kept type, whatever the loaded windows let go (the U35 promise).
    private static readonly SegmentDefinition[] RunTime =
    [
        Json("never-ordered", """{"not": {"event": "order.placed"}}"""),
        Json("ever-ordered", """{"event": "order.placed"}"""),
        Json("first-order-30", """{"firstEvent": "order.placed", "op": "withinLast", "value": "P30D"}"""),
        Json("first-order-ago-30", """{"firstEvent": "order.placed", "op": "moreThanAgo", "value": "P30D"}"""),
        Json("last-order-20", """{"lastEvent": "order.placed", "op": "withinLast", "value": "P20D"}"""),
        Json("last-order-ago-20", """{"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P20D"}"""),
        Json("never-viewed", """{"not": {"event": "product.viewed"}}"""),
        Json("last-view-ago-10", """{"lastEvent": "product.viewed", "op": "moreThanAgo", "value": "P10D"}"""),
        Json("first-view-40", """{"firstEvent": "product.viewed", "op": "withinLast", "value": "P40D"}"""),
    ];

    // ---- 1. Property: first and last by event time, in any arrival order, at the history itself ----

    // For any arrival order (events up to 60 days late, some ahead of the clock, some delivered twice), after every prune
    // the kept list of each type holds its earliest event and its latest past event, no id twice, and nothing else
    // outside the longest window but the future ones; and every run-time rule above, evaluated over the pruned history,
    // answers what a from-scratch evaluation of every event answers, as do the loaded windowed rules (the kept old events
    // count in no window).
    [Property(Arbitrary = [typeof(R35Arbitrary)], MaxTest = 150)]
    public void KeptFirstAndLast_FollowEventTime_AndRunTimeRulesAreExact_ForAnyArrivalOrder(R35Event[] events)
    {
        var catalog = SegmentCatalog.Create(Loaded);
        var profile = NewProfile();
        var history = new RuleHistory();
        var known = new List<CustomerEvent>();
        var clock = T0;
        for (var i = 0; i < events.Length; i++)
        {
            var g = events[i];
            clock = clock.AddMinutes(g.ArrivalMinutes);
            var at = clock.AddMinutes(-g.LateMinutes);
            var e = g.View
                ? Ev(EventTypes.ProductViewed, at, new { product_id = "p" + g.Amount, category = Categories[g.Category] }, id: "v" + i)
                : Ev(EventTypes.OrderPlaced, at, Order("o" + i, g.Amount, Categories[g.Category]), id: "e" + i);
            known.Add(e);
            history.Record(e, catalog.Requirements);
            if (g.Redeliver)
            {
                history.Record(known[i / 2], catalog.Requirements);
            }

            history.Prune(clock, catalog.Requirements);
            foreach (var (type, window) in new[] { (EventTypes.OrderPlaced, TimeSpan.FromDays(14)), (EventTypes.ProductViewed, TimeSpan.FromDays(3)) })
            {
                var kept = history.EventsOf(type);
                var all = known.Where(k => k.Type == type).ToList();
                Assert.Equal(kept.Count, kept.Select(k => k.Id).Distinct(StringComparer.Ordinal).Count());
                var past = all.Where(k => k.Timestamp <= clock).ToList();
                if (past.Count > 0)
                {
                    var first = past.Min(k => k.Timestamp);
                    var last = past.Max(k => k.Timestamp);
                    Assert.Contains(kept, k => k.Timestamp == first);
                    Assert.Contains(kept, k => k.Timestamp == last);
                }

                // Outside every window (and so in the past): at most the type's first and last.
                var extra = kept.Count(k => k.Timestamp <= clock - window);
                Assert.True(extra <= 2, $"{type}: {extra} kept outside the window");
            }

            var subject = new SegmentSubject(profile, history, _ => false);
            foreach (var s in Loaded.Concat(RunTime))
            {
                var expected = ReferenceEvaluator.Holds(s.Rule, known, clock);
                Assert.True(expected == SegmentEvaluator.Evaluate(s, subject, clock).IsMember, $"{s.Id} at {clock:O} after {i}: expected {expected}");
            }
        }
    }

    // ---- 1b. Property through the engine: merges, late events, partitions ----

    // Two customers, each with an account and a cookie, ordering and viewing with events up to 60 days late and merges at
    // any step: at every step, what a segment added at run time would answer on each profile (its kept history, as a
    // backfill reads it) is what a from-scratch evaluation of all her events answers (both identities' once merged), and
    // no kept list holds an id twice.
    [Property(Arbitrary = [typeof(U35StepArbitrary)], MaxTest = 40)]
    public void RunTimeRules_OverMergedAndLateHistories_EqualFromScratch(U35Step[] steps) => RunMergeProperty(steps).GetAwaiter().GetResult();

    private static async Task RunMergeProperty(U35Step[] steps)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Partitions = 2;
            foreach (var s in Loaded)
            {
                o.Segments.Add(s);
            }
        });
        var accountEvents = new Dictionary<int, List<CustomerEvent>>();
        var cookieEvents = new Dictionary<int, List<CustomerEvent>>();
        var merged = new HashSet<int>();
        var n = 0;
        foreach (var step in steps)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(step.AdvanceMinutes));
            var account = Identifier.CustomerId($"r35-{step.Customer}");
            var cookie = Identifier.AnonymousId($"r35-cookie-{step.Customer}");
            if (step.Merge && !merged.Contains(step.Customer))
            {
                await host.TrackAsync("page.viewed", [account, cookie]);
                merged.Add(step.Customer);
            }

            var who = step.OnCookie ? cookie : account;
            var category = Categories[step.Category];
            var e = step.Kind == 1
                ? host.Event(EventTypes.ProductViewed, [who], new { product_id = "p" + step.Amount, category })
                : host.Event(EventTypes.OrderPlaced, [who], Order($"o{n++}", step.Amount, category));
            e = e with { Timestamp = e.Timestamp.AddMinutes(-step.LateMinutes * 1.5) };
            await host.TrackAsync(e);
            var target = step.OnCookie && !merged.Contains(step.Customer) ? cookieEvents : accountEvents;
            (target.TryGetValue(step.Customer, out var list) ? list : target[step.Customer] = []).Add(e);
            if (merged.Contains(step.Customer) && cookieEvents.Remove(step.Customer, out var half))
            {
                (accountEvents.TryGetValue(step.Customer, out var mine) ? mine : accountEvents[step.Customer] = []).AddRange(half);
            }

            await host.AdvanceAsync(TimeSpan.FromMinutes(step.CheckAfterMinutes));
            var now = host.Time.GetUtcNow();
            foreach (var (histories, cookieSide) in new[] { (accountEvents, false), (cookieEvents, true) })
            {
                foreach (var (customer, events) in histories)
                {
                    var id = cookieSide ? Identifier.AnonymousId($"r35-cookie-{customer}") : Identifier.CustomerId($"r35-{customer}");
                    var profile = await host.ProfileAsync(id);
                    foreach (var (type, kept) in profile.RuleHistory.Events)
                    {
                        Assert.True(kept.Count == kept.Select(k => k.Id).Distinct(StringComparer.Ordinal).Count(), $"{id.Value} {type}: an id kept twice");
                    }

                    foreach (var s in RunTime.Concat(Loaded))
                    {
                        var expected = ReferenceEvaluator.Holds(s.Rule, events, now);
                        Assert.True(expected == SegmentRuntime.Preview(profile, s, now), $"{id.Value} {s.Id} at {now:O}: expected {expected}");
                    }
                }
            }
        }
    }

    // ---- 2. Through the engine: a run-time backfill after late events in both directions ----

    // Orders on day 0 (shoes), day 9 and day 18 with windows of 7 and 14 days loaded; on day 30 an order stamped day -5
    // arrives (a late older one: the new first) and one stamped day 25 (a late newer one: the new last). Run-time segments
    // added on day 31 read the new first and last.
    [Fact]
    public async Task ALateOlderOrder_IsTheNewFirst_AndALateNewerOne_TheNewLast_ForRunTimeSegments()
    {
        await using var host = Host(Loaded);
        var day0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(9));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(9));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o3", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(12));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(["order:o1", "order:o3"], p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));

        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], Order("o0", 10), at: day0.AddDays(-5)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], Order("o4", 10), at: day0.AddDays(25)));
        p = await host.ProfileAsync(Ann);
        Assert.Equal(["order:o0", "order:o3", "order:o4"], p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
        Assert.Equal([day0.AddDays(-5), day0.AddDays(18), day0.AddDays(25)], p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Timestamp));

        await host.AdvanceAsync(TimeSpan.FromDays(1)); // day 31: first 36 days ago, last 6 days ago
        foreach (var s in RunTime.Where(s => !s.Id.Contains("view", StringComparison.Ordinal)))
        {
            await (await host.Client.UpsertSegmentAsync(s)).Completion;
        }

        p = await host.ProfileAsync(Ann);
        Assert.Equal(
            ["ever-ordered", "first-order-ago-30", "last-order-20", "ordered-7"],
            p.Segments.Select(m => m.SegmentId).Order(StringComparer.Ordinal));
    }

    // ---- 3. A re-sent order: the kept copy is updated, not duplicated, and stays at its first time ----

    // o1 (day 0, shoes, the type's first) is re-sent on day 20 with category bags: the kept entry is still one, at day 0,
    // with the new category; "bags in 14 days" does not count it (it happened on day 0) and "ordered in 7 days" neither.
    [Fact]
    public async Task AReSentFirstOrder_UpdatesTheKeptCopy_AtItsFirstTime_AndNoWindowCountsIt()
    {
        await using var host = Host(Loaded);
        var day0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 10, "shoes"));
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 10, "shoes"));
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var resent = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 12, "bags"));
        Assert.DoesNotContain(resent.SegmentChanges, c => c.Entered);
        var p = await host.ProfileAsync(Ann);
        var kept = p.RuleHistory.EventsOf(EventTypes.OrderPlaced);
        Assert.Equal(["order:o1", "order:o2"], kept.Select(e => e.Id));
        Assert.Equal(day0, kept[0].Timestamp);
        Assert.Equal("bags", kept[0].Property("category").Text);
        Assert.Empty(p.Segments);
    }

    // ---- 3b. PROBE: the kept last order re-sent with an earlier time ----
    [Fact]
    public async Task TheKeptLastOrder_ReSentWithAnEarlierTime_GivesWayToTheRealLastOrder()
    {
        await using var host = Host(Json("ordered-7", """{"event": "order.placed", "within": "P7D"}"""),
            Json("last-12", """{"lastEvent": "order.placed", "op": "withinLast", "value": "P12D"}"""));
        var day0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o3", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], Order("o3", 10), at: day0.AddDays(5)));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(day0.AddDays(10), p.Statistics.LastOrderAt);
        Assert.True(p.IsInSegment("last-12"), string.Join(",", p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id + "@" + e.Timestamp.ToString("O"))));
    }

    // ---- 4. A merge: the merged first and last, nothing kept twice ----

    // The cookie ordered o1 on day 0 and o2 on day 30; the account ordered o3 on day 10 and o2 again (same order_id,
    // re-sent on day 31). On day 40 they meet: the merged profile keeps o1 (first) and o2 once (last), not o3.
    [Fact]
    public async Task AMerge_KeepsTheMergedFirstAndLast_AndNoOrderTwice()
    {
        var cookie = Identifier.AnonymousId("c-r35");
        await using var host = Host(Loaded);
        var day0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], Order("o1", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o3", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], Order("o2", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 11));
        await host.AdvanceAsync(TimeSpan.FromDays(9));
        await host.TrackAsync("page.viewed", [Ann, cookie]);
        var p = await host.ProfileAsync(Ann);
        var kept = p.RuleHistory.EventsOf(EventTypes.OrderPlaced);
        Assert.Equal(["order:o1", "order:o2"], kept.Select(e => e.Id));
        Assert.Equal([day0, day0.AddDays(30)], kept.Select(e => e.Timestamp));

        await (await host.Client.UpsertSegmentAsync(Json("first-ago-35", """{"firstEvent": "order.placed", "op": "moreThanAgo", "value": "P35D"}"""))).Completion;
        await (await host.Client.UpsertSegmentAsync(Json("last-11", """{"lastEvent": "order.placed", "op": "withinLast", "value": "P11D"}"""))).Completion;
        p = await host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("first-ago-35"));
        Assert.True(p.IsInSegment("last-11"));
    }

    // ---- 5. Erasure: nothing kept ----

    // Her kept first and last orders go with her profile: the store holds no document for her, and a run-time "ever
    // ordered" lists nobody.
    [Fact]
    public async Task AnErasedPerson_KeepsNoFirstOrLastEvent()
    {
        await using var host = Host(Loaded);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        var id = (await host.ProfileAsync(Ann)).Id;
        Assert.Equal(2, (await host.ProfileAsync(Ann)).RuleHistory.EventsOf(EventTypes.OrderPlaced).Count);
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.Null(await host.Client.GetProfileAsync(Ann));
        Assert.Null(await host.Engine.Store.LoadProfileAsync(id));
        await (await host.Client.UpsertSegmentAsync(Json("ever", """{"event": "order.placed"}"""))).Completion;
        Assert.Empty(await host.Client.GetSegmentMembersAsync("ever"));
    }

    // ---- 6. A removed segment: the type's first and last go when nothing reads the type ----

    // "ordered in 7 days" is the only reader of order.placed; once it is removed her kept first and last orders go at her
    // next event or wake (and stay while another segment reads the type).
    [Fact]
    public async Task RemovingTheLastReaderOfAType_DropsItsKeptFirstAndLast()
    {
        await using var host = Host(Json("ordered-7", """{"event": "order.placed", "within": "P7D"}"""),
            Json("viewed-3", """{"event": "product.viewed", "within": "P3D"}"""),
            Json("ordered-30", """{"event": "order.placed", "within": "P30D"}"""));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o1", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], Order("o2", 10));
        await host.AdvanceAsync(TimeSpan.FromDays(40));
        Assert.Equal(2, (await host.ProfileAsync(Ann)).RuleHistory.EventsOf(EventTypes.OrderPlaced).Count);

        Assert.True(await host.Client.RemoveSegmentAsync("ordered-7"));
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        Assert.Equal(2, (await host.ProfileAsync(Ann)).RuleHistory.EventsOf(EventTypes.OrderPlaced).Count);

        Assert.True(await host.Client.RemoveSegmentAsync("ordered-30"));
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.RuleHistory.Events.ContainsKey(EventTypes.OrderPlaced));
        Assert.Equal(2, p.RuleHistory.EventsOf(EventTypes.ProductViewed).Count);
    }

    // ---- 7. Windows do not count the kept old events; filters do not match the unfiltered first and last ----

    // Orders on day 0 (bags, 500), day 5 (shoes, 100) and day 10 (shoes, 50); on day 20 nothing is in the 7-day window,
    // although day 0 and day 10 are kept as the type's first and last. Every windowed count, sum, average, min, max,
    // distinct and between answers as for an empty window, and filtered rules see only their own matches — checked against
    // a from-scratch evaluation on days 11 to 40, by time alone.
    [Fact]
    public async Task WindowedRules_DoNotCountTheKeptFirstOrLast_AndFiltersDoNotMatchThem()
    {
        SegmentDefinition[] segments =
        [
            Json("none-7", """{"event": "order.placed", "count": {"op": "eq", "value": 0}, "within": "P7D"}"""),
            Json("one-or-two-7", """{"event": "order.placed", "count": {"op": "between", "value": [1, 2]}, "within": "P7D"}"""),
            Json("sum-7", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P7D", "op": "gte", "value": 1}"""),
            Json("avg-7", """{"aggregate": "avg", "event": "order.placed", "property": "total", "within": "P7D", "op": "gte", "value": 1}"""),
            Json("min-7", """{"aggregate": "min", "event": "order.placed", "property": "total", "within": "P7D", "op": "lte", "value": 1000}"""),
            Json("max-7", """{"aggregate": "max", "event": "order.placed", "property": "total", "within": "P7D", "op": "gte", "value": 1}"""),
            Json("distinct-7", """{"aggregate": "distinct", "event": "order.placed", "property": "category", "within": "P7D", "op": "gte", "value": 1}"""),
            Json("count-12", """{"aggregate": "count", "event": "order.placed", "within": "P12D", "op": "gte", "value": 2}"""),
            Json("hats-ever", """{"event": "order.placed", "where": [{"property": "category", "op": "eq", "value": "hats"}]}"""),
            Json("last-shoes-7", """{"lastEvent": "order.placed", "where": [{"property": "category", "op": "eq", "value": "shoes"}], "op": "withinLast", "value": "P7D"}"""),
            Json("first-shoes-ago-15", """{"firstEvent": "order.placed", "where": [{"property": "category", "op": "eq", "value": "shoes"}], "op": "moreThanAgo", "value": "P15D"}"""),
            Json("big-14", """{"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 400}], "within": "P14D"}"""),
        ];
        await using var host = Host(segments);
        var known = new List<CustomerEvent>();
        foreach (var (day, total, category) in new[] { (0, 500m, "bags"), (5, 100m, "shoes"), (10, 50m, "shoes") })
        {
            var e = host.Event(EventTypes.OrderPlaced, [Ann], Order("o" + day, total, category), at: OmnichannelTestHost.DefaultStart.AddDays(day));
            known.Add(e);
        }

        await host.TrackAsync(known[0]);
        await host.AdvanceAsync(TimeSpan.FromDays(5));
        await host.TrackAsync(known[1]);
        await host.AdvanceAsync(TimeSpan.FromDays(5));
        await host.TrackAsync(known[2]);
        for (var hour = 24; hour <= 30 * 24; hour += 7)
        {
            await host.AdvanceAsync(TimeSpan.FromHours(7));
            var now = host.Time.GetUtcNow();
            var p = await host.ProfileAsync(Ann);
            foreach (var s in segments)
            {
                var expected = ReferenceEvaluator.Holds(s.Rule, known, now);
                Assert.True(expected == p.IsInSegment(s.Id), $"{s.Id} at {now:O}: expected {expected}");
            }
        }

        var last = await host.ProfileAsync(Ann);
        Assert.True(last.IsInSegment("none-7"));
        Assert.False(last.IsInSegment("hats-ever"));
        Assert.Contains(last.RuleHistory.EventsOf(EventTypes.OrderPlaced), e => e.Id == "order:o0");
    }

    // ---- 8. A document written before the change ----

    // A profile stored before U35 keeps only its windowed events (no first/last): it still reads back and evaluates, and
    // the first order it records after the upgrade becomes its kept first (what it knows); its serialised form is unchanged.
    [Fact]
    public void AProfileWrittenBeforeTheChange_ReadsBack_Evaluates_AndKeepsWhatComesNext()
    {
        var catalog = SegmentCatalog.Create([Seg("count7", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) })]);
        var (p, h) = Apply(catalog, Ev(EventTypes.OrderPlaced, T0.AddDays(-3), new { order_id = "o-new" }, id: "n"));
        p.RuleHistory = h;
        var bytes = ProfileSerializer.Serialize(p);

        // The same document as an old version would write it: the same shape (no new field), so the old bytes read back.
        var json = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("anchor", json, StringComparison.OrdinalIgnoreCase);
        var back = ProfileSerializer.Deserialize(bytes, 1);
        Assert.Equal(["order:o-new"], back.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
        var subject = new SegmentSubject(back, back.RuleHistory, _ => false);
        Assert.True(SegmentEvaluator.Evaluate(catalog.Segments[0], subject, T0).IsMember);
        Assert.False(SegmentEvaluator.Evaluate(catalog.Segments[0], subject, T0.AddDays(5)).IsMember);

        back.RuleHistory.Record(Ev(EventTypes.OrderPlaced, T0.AddDays(1), new { order_id = "o-next" }, id: "x"), catalog.Requirements);
        back.RuleHistory.Prune(T0.AddDays(30), catalog.Requirements);
        Assert.Equal(["order:o-new", "order:o-next"], back.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    // A buyer whose document was written before U35 kept none of her orders (the 7-day window let them go): a "never
    // ordered" segment back-filled after the upgrade reads her first and last orders from her order facts, so it does not
    // list her (before: it did), and "first order more than 30 days ago" does.
    [Fact]
    public void ABuyerStoredBeforeTheChange_IsNotListedAsNeverOrdered_AfterABackfill()
    {
        var catalog = SegmentCatalog.Create([
            Seg("count7", new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P7D")) }),
            Json("never", """{"not": {"event": "order.placed"}}"""),
            Json("first-ago-30", """{"firstEvent": "order.placed", "op": "moreThanAgo", "value": "P30D"}"""),
            Json("last-ago-20", """{"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P20D"}"""),
        ]);
        var p = NewProfile();
        foreach (var (day, id) in new[] { (-60, "o1"), (-40, "o2"), (-25, "o3") })
        {
            ProfileCore.Apply(p, Ev(EventTypes.OrderPlaced, T0.AddDays(day), new { order_id = id, total = 10, currency = "EUR" }), 100);
        }

        Assert.Equal(0, p.RuleHistory.Count); // as a document from before U35 reads back
        SegmentRuntime.Reevaluate(p, catalog, ["never", "first-ago-30", "last-ago-20"], T0, 100);
        Assert.False(p.IsInSegment("never"));
        Assert.True(p.IsInSegment("first-ago-30"));
        Assert.True(p.IsInSegment("last-ago-20"));
        Assert.Equal(["order:o1", "order:o3"], p.RuleHistory.EventsOf(EventTypes.OrderPlaced).Select(e => e.Id));
    }

    // ---- 9. Cost: the document growth, and a bounded history after 10,000 events ----

    // Nine segments over five event types (windows of 1 to 30 days, two with filters, properties read: total, category,
    // product_id, channel, topic). A customer with 10,000 events over 1,000 days (ten a day, two of each type) keeps what
    // the windows hold plus at most two more events per type; the growth of the stored rule history over what the windows
    // hold is measured and bounded.
    [Fact]
    public void NineSegmentsOverFiveTypes_KeepABoundedHistory_AndTwoMoreEventsPerType()
    {
        SegmentDefinition[] nine =
        [
            Json("o7", """{"event": "order.placed", "within": "P7D"}"""),
            Json("o-sum-30", """{"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P30D", "op": "gte", "value": 100}"""),
            Json("o-bags-14", """{"event": "order.placed", "where": [{"property": "category", "op": "eq", "value": "bags"}], "within": "P14D"}"""),
            Json("v3", """{"event": "product.viewed", "count": {"op": "gte", "value": 3}, "within": "P3D"}"""),
            Json("v-distinct-7", """{"aggregate": "distinct", "event": "product.viewed", "property": "product_id", "within": "P7D", "op": "gte", "value": 2}"""),
            Json("c1", """{"event": "cart.item_added", "within": "P1D"}"""),
            Json("e-open-14", """{"event": "email.opened", "within": "P14D"}"""),
            Json("s-10", """{"event": "support.contacted", "where": [{"property": "topic", "op": "eq", "value": "refund"}], "within": "P10D"}"""),
            Json("s-2", """{"event": "support.contacted", "within": "P2D"}"""),
        ];
        var catalog = SegmentCatalog.Create(nine);
        string[] types = [EventTypes.OrderPlaced, EventTypes.ProductViewed, "cart.item_added", "email.opened", "support.contacted"];
        var h = new RuleHistory();
        var start = T0.AddDays(-1000);
        var n = 0;
        for (var day = 0; day < 1000; day++)
        {
            foreach (var type in types)
            {
                for (var k = 0; k < 2; k++)
                {
                    var at = start.AddDays(day).AddHours(3 + (k * 8));
                    h.Record(Ev(type, at, new { order_id = "o" + n, total = 40 + (n % 7), category = Categories[n % 3], product_id = "p" + (n % 11), topic = n % 5 == 0 ? "refund" : "delivery" }, id: "e" + n), catalog.Requirements);
                    n++;
                }
            }

            h.Prune(start.AddDays(day + 1), catalog.Requirements);
        }

        Assert.Equal(10_000, n);
        var now = start.AddDays(1000);
        var windows = new Dictionary<string, int> { [EventTypes.OrderPlaced] = 30, [EventTypes.ProductViewed] = 7, ["cart.item_added"] = 1, ["email.opened"] = 14, ["support.contacted"] = 10 };
        var extra = 0;
        foreach (var type in types)
        {
            var kept = h.EventsOf(type);
            var outside = kept.Count(e => e.Timestamp <= now.AddDays(-windows[type]));
            Assert.True(outside <= 2, $"{type}: {outside} outside its windows");
            Assert.True(kept.Count <= (windows[type] * 2) + 2, $"{type}: {kept.Count} kept");
            extra += outside;
        }

        var all = JsonSerializer.SerializeToUtf8Bytes(h, ProfileSerializer.Options).Length;
        var withoutExtra = new RuleHistory();
        foreach (var type in types)
        {
            withoutExtra.Events[type] = [.. h.EventsOf(type).Where(e => e.Timestamp > now.AddDays(-windows[type]))];
        }

        var growth = all - JsonSerializer.SerializeToUtf8Bytes(withoutExtra, ProfileSerializer.Options).Length;
        Assert.Equal(5, extra); // her last event of each type is still in its window: only the first is extra
        Assert.InRange(growth, 250, 500); // measured 378 bytes (see the design notes)
        Assert.True(all < 16_000, $"{all} bytes");

        // Lapsed: 60 days later every window is empty, and only the first and last of each type stay (10 events).
        h.Prune(now.AddDays(60), catalog.Requirements);
        Assert.Equal(10, h.Count);
        Assert.All(types, t => Assert.Equal(2, h.EventsOf(t).Count));
        var lapsed = JsonSerializer.SerializeToUtf8Bytes(h, ProfileSerializer.Options).Length;
        Assert.InRange(lapsed, 600, 1_100); // measured 877 bytes
    }
}
