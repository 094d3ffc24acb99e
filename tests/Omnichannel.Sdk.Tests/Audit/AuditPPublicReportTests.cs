using System.Text.Json;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit P: bug classes taken from public bug reports of comparable systems (PostHog, Apache Unomi, Segment,
/// RudderStack, Dittofeed, Rock RMS), each replayed against the public API.
/// </summary>
public sealed class AuditPPublicReportTests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;

    private static SegmentDefinition Json(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    private static string? Trait(CustomerProfile p, string path) =>
        p.TryGetTrait(path, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;

    // Rock RMS #1295/#4640, Dittofeed-like identify by email: one person typed her address three ways.
    [Fact]
    public async Task Email_InAnyCaseOrPadding_IsOnePerson()
    {
        await using var host = Host();
        var a = await host.TrackAsync("x.a", [Identifier.Email("Ann.Smith@Example.COM")]);
        var b = await host.TrackAsync("x.b", [Identifier.Email("  ann.smith@example.com\t")]);
        var c = await host.TrackAsync("x.c", [Identifier.Email("mailto:ANN.SMITH@EXAMPLE.COM")]);

        Assert.Equal(a.ProfileId, b.ProfileId);
        Assert.Equal(a.ProfileId, c.ProfileId);
        Assert.Equal(["ann.smith@example.com"], (await host.ProfileAsync(Identifier.Email("ann.smith@example.com"))).IdentifierValues(IdentifierTypes.Email));
    }

    // RudderStack/Segment destinations keyed on phone: one number written national, international, with 00 and (0).
    [Fact]
    public async Task Phone_WrittenFourWays_IsOnePerson()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "GB");
        string[] forms = ["020 7946 0958", "+44 20 7946 0958", "0044 (0)20-7946-0958", "+44(0)2079460958"];
        var ids = new HashSet<string?>();
        foreach (var f in forms)
        {
            ids.Add((await host.TrackAsync("x.a", [Identifier.Phone(f)])).ProfileId);
        }

        Assert.Single(ids);
        Assert.Equal(["+442079460958"], (await host.ProfileAsync(Identifier.Phone("+442079460958"))).IdentifierValues(IdentifierTypes.Phone));
    }

    // PostHog "illegal distinct ids": a client that sends customer_id "undefined" for every logged-out visitor must not
    // fold every visitor into one person.
    [Theory]
    [InlineData("undefined")]
    [InlineData("NULL")]
    [InlineData(" null ")]
    [InlineData("[object Object]")]
    [InlineData("None")]
    [InlineData("0000")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("not_authenticated")]
    [InlineData("distinct_id")]
    [InlineData("ID")]
    public async Task BlockedCustomerId_DoesNotJoinTwoPeople(string placeholder)
    {
        await using var host = Host();
        await host.TrackAsync("x.a", [Identifier.CustomerId(placeholder), Identifier.Email("ann@x.io")]);
        await host.TrackAsync("x.a", [Identifier.CustomerId(placeholder), Identifier.Email("bob@x.io")]);

        Assert.NotEqual((await host.ProfileAsync(Identifier.Email("ann@x.io"))).Id, (await host.ProfileAsync(Identifier.Email("bob@x.io"))).Id);
    }

    // PostHog #6877/#37000: $set applied in arrival order, so an older event processed later overwrote a newer value.
    [Fact]
    public async Task Trait_FromAnOlderEventArrivingLate_DoesNotOverwriteNewer()
    {
        await using var host = Host();
        var ann = Identifier.Email("ann@x.io");
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync("x.profile", [ann], traits: new { plan = "gold", address = new { city = "Leeds" } });
        await host.TrackAsync("x.profile", [ann], traits: new { plan = "silver", address = new { city = "York" } }, at: Start);

        var p = await host.ProfileAsync(ann);
        Assert.Equal("gold", Trait(p, "plan"));
        Assert.Equal("Leeds", Trait(p, "address.city"));
    }

    // Segment analytics-java #351: null unsets a trait, a missing key keeps it; a late older value must not revive it.
    [Fact]
    public async Task NullTrait_Unsets_MissingKeyKeeps_AndALateOlderValueStaysHidden()
    {
        await using var host = Host();
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync("x.p", [ann], traits: new { nickname = "annie", city = "Leeds" }, at: Start - TimeSpan.FromHours(1));
        await host.TrackAsync("x.p", [ann], traits: JsonDocument.Parse("""{"nickname": null}""").RootElement);
        await host.TrackAsync("x.p", [ann], traits: new { nickname = "old" }, at: Start - TimeSpan.FromMinutes(30));

        var p = await host.ProfileAsync(ann);
        Assert.False(p.TryGetTrait("nickname", out _));
        Assert.Equal("Leeds", Trait(p, "city"));
    }

    // PostHog #9157 (identify overwrote properties with the anonymous person's) and #7454 (created_at must be the oldest
    // timestamp seen): the newest write per trait wins, and first-seen is the earliest, whichever profile absorbs which.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Merge_KeepsNewestTraits_AndEarliestFirstSeen_InEitherDirection(bool anonymousFirst)
    {
        await using var host = Host();
        var anon = Identifier.AnonymousId("cookie-1");
        var email = Identifier.Email("ann@x.io");
        var early = Start;
        var late = Start + TimeSpan.FromHours(1);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        if (anonymousFirst)
        {
            await host.TrackAsync("x.a", [anon], traits: new { plan = "old", utm = "anon" }, at: early);
            await host.TrackAsync("x.b", [email], traits: new { plan = "new" }, at: late);
        }
        else
        {
            await host.TrackAsync("x.b", [email], traits: new { plan = "new" }, at: late);
            await host.TrackAsync("x.a", [anon], traits: new { plan = "old", utm = "anon" }, at: early);
        }

        await host.TrackAsync("x.login", [email, anon]);
        var p = await host.ProfileAsync(email);
        Assert.Equal(p.Id, (await host.ProfileAsync(anon)).Id);
        Assert.Equal("new", Trait(p, "plan"));
        Assert.Equal("anon", Trait(p, "utm"));
        Assert.Equal(early, p.Statistics.FirstSeen);
        Assert.Equal(3, p.Statistics.EventCount);
    }

    // PostHog #11873: alias/identify between two already-identified people must not merge them.
    [Fact]
    public async Task TwoCustomerIds_BridgedByOneEmail_AreNotMerged()
    {
        await using var host = Host();
        await host.TrackAsync("x.a", [Identifier.CustomerId("c-ann"), Identifier.Email("ann@x.io")]);
        await host.TrackAsync("x.a", [Identifier.CustomerId("c-bob"), Identifier.Email("bob@x.io")]);
        var r = await host.TrackAsync("x.a", [Identifier.Email("ann@x.io"), Identifier.CustomerId("c-bob")]);

        var ann = await host.ProfileAsync(Identifier.CustomerId("c-ann"));
        var bob = await host.ProfileAsync(Identifier.CustomerId("c-bob"));
        Assert.NotEqual(ann.Id, bob.Id);
        Assert.NotEmpty(r.NotLinked);
        Assert.Equal(["c-ann"], ann.IdentifierValues(IdentifierTypes.CustomerId));
    }

    // PostHog #20187/#48235: a deleted person came back when the same distinct id was sent again. Erased stays erased;
    // a return, when allowed, starts from nothing.
    [Fact]
    public async Task ErasedPerson_IsNotRecreatedByAReplay_AndAnAllowedReturnStartsEmpty()
    {
        await using var host = Host();
        var ann = Identifier.Email("ann@x.io");
        var old = host.Event(EventTypes.OrderPlaced, [ann, Identifier.AnonymousId("c1")], new { order_id = "o1", total = 50, currency = "GBP" }, traits: new { plan = "gold" });
        await host.TrackAsync(old);
        Assert.True(await host.Client.EraseProfileAsync(ann));

        var replay = await host.Client.TrackAsync(old with { Id = "replayed-1" });
        Assert.Equal(TrackStatus.Erased, replay.Status);
        var viaCookie = await host.Client.TrackAsync(host.Event("x.seen", [Identifier.AnonymousId("c1")]));
        Assert.Equal(TrackStatus.Erased, viaCookie.Status);
        Assert.Null(await host.Client.GetProfileAsync(ann));

        await using var host2 = Host();
        await host2.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o1", total = 50, currency = "GBP" }, traits: new { plan = "gold" });
        Assert.True(await host2.Client.EraseProfileAsync(ann, new EraseOptions { AllowReturn = true }));
        await host2.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host2.TrackAsync("x.back", [ann]);
        var back = await host2.ProfileAsync(ann);
        Assert.Equal(0, back.Statistics.OrderCount);
        Assert.False(back.TryGetTrait("plan", out _));
        Assert.Equal(1, back.Statistics.EventCount);
    }

    // Unomi pastEventCondition / Dittofeed "within the last N days": membership must end exactly when the window passes
    // the event as time goes by, with no new event, and begin again on the next one.
    [Fact]
    public async Task WithinLastSevenDays_ExitsExactlyAtTheBoundary_AsTimePasses()
    {
        var recent = Json("""{"id": "recent", "name": "Visited in 7 days", "rule": {"lastEvent": "page.viewed", "op": "withinLast", "value": "P7D"}}""");
        await using var host = Host(recent);
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync("page.viewed", [ann]);
        Assert.True((await host.ProfileAsync(ann)).IsInSegment("recent"));

        await host.AdvanceToAsync(Start + TimeSpan.FromDays(7) - TimeSpan.FromTicks(1));
        Assert.True((await host.ProfileAsync(ann)).IsInSegment("recent"));
        await host.AdvanceToAsync(Start + TimeSpan.FromDays(7));
        var p = await host.ProfileAsync(ann);
        Assert.False(p.IsInSegment("recent"));
        Assert.Equal(Start + TimeSpan.FromDays(7), Assert.Single(p.Timeline, t => t.Type == EventTypes.SegmentExited).Timestamp);
    }

    // Unomi/Dittofeed: counts over a window must count the events of both profiles once they are one person.
    [Fact]
    public async Task EventCountWindow_CountsBothSidesOfAMerge()
    {
        var twice = Json("""{"id": "two-orders", "name": "Two orders in 30 days", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P30D"}}""");
        var spent = Json("""{"id": "spent", "name": "Spent 150 in 30 days", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 150, "within": "P30D"}}""");
        await using var host = Host(twice, spent);
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        await host.TrackAsync(EventTypes.OrderPlaced, [anon], new { order_id = "o1", total = 100, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        await host.TrackAsync(EventTypes.OrderPlaced, [email], new { order_id = "o2", total = 60, currency = "GBP" });
        Assert.False((await host.ProfileAsync(email)).IsInSegment("two-orders"));

        var r = await host.TrackAsync("x.login", [email, anon]);
        var p = await host.ProfileAsync(email);
        Assert.True(p.IsInSegment("two-orders"));
        Assert.True(p.IsInSegment("spent"));
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "two-orders" && c.Entered);

        // And the merged window still closes when the older order leaves it.
        await host.AdvanceToAsync(Start + TimeSpan.FromDays(30));
        p = await host.ProfileAsync(email);
        Assert.False(p.IsInSegment("two-orders"));
        Assert.False(p.IsInSegment("spent"));
    }

    // Enter/exit events duplicated (Dittofeed, Unomi segment recompute): two profiles both in a segment merge; the
    // merged person stays in, with no exit and no second enter, and keeps the earliest entry time.
    [Fact]
    public async Task MergingTwoMembers_EmitsNoExitOrEnter_AndKeepsEarliestEntry()
    {
        var visitors = Json("""{"id": "visitors", "name": "Seen", "rule": {"event": "page.viewed"}}""");
        await using var host = Host(visitors);
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        await host.TrackAsync("page.viewed", [anon]);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("page.viewed", [email]);
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var r = await host.TrackAsync("x.login", [email, anon]);
        Assert.DoesNotContain(r.SegmentChanges, c => c.SegmentId == "visitors");
        var p = await host.ProfileAsync(email);
        Assert.Equal(Start, Assert.Single(p.Segments, s => s.SegmentId == "visitors").EnteredAt);
        Assert.DoesNotContain(p.Timeline, t => t.Type == EventTypes.SegmentExited);
    }

    // A fixed window [from, to): an event exactly at 'to' is outside, exactly at 'from' inside (Unomi date range
    // conditions, off-by-one at the edge).
    [Fact]
    public async Task BetweenWindow_IncludesFrom_ExcludesTo()
    {
        var jan = Json("""{"id": "jan", "name": "Ordered in the sale", "rule": {"event": "order.placed", "between": ["2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"]}}""");
        await using var host = Host(jan);
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Email("at-from@x.io")], new { order_id = "a", total = 1, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Email("at-to@x.io")], new { order_id = "b", total = 1, currency = "GBP" });

        Assert.True((await host.ProfileAsync(Identifier.Email("at-from@x.io"))).IsInSegment("jan"));
        Assert.False((await host.ProfileAsync(Identifier.Email("at-to@x.io"))).IsInSegment("jan"));
    }

    // "Clara adds to cart on her laptop, logs in on her phone": the anonymous cart and the known cart are one cart.
    [Fact]
    public async Task AnonymousCart_JoinsTheKnownCart_OnLogin()
    {
        await using var host = Host();
        var laptop = Identifier.AnonymousId("laptop-cookie");
        var clara = Identifier.Email("clara@x.io");
        await host.TrackAsync(EventTypes.CartItemAdded, [clara], new { product_id = "p1", quantity = 1 });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.CartItemAdded, [laptop], new { product_id = "p2", quantity = 2 });
        await host.TrackAsync(EventTypes.CartItemAdded, [laptop], new { product_id = "p1", quantity = 1 });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("x.login", [clara, laptop]);

        var cart = (await host.ProfileAsync(clara)).Cart;
        Assert.Equal(2, cart.Single(l => l.ProductId == "p1").Quantity);
        Assert.Equal(2, cart.Single(l => l.ProductId == "p2").Quantity);
    }

    // Consent after a merge: the newest decision per channel wins whichever profile absorbs which (Segment/mParticle
    // consent state overwritten by an older profile's on identify).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Merge_KeepsTheNewestConsentDecision(bool grantOnAnonymous)
    {
        await using var host = Host();
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        var first = grantOnAnonymous ? anon : email;
        var second = grantOnAnonymous ? email : anon;
        await host.TrackAsync(EventTypes.ConsentChanged, [first], new { channel = "email", granted = true });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [second], new { channel = "email", granted = false });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("x.login", [anon, email]);

        Assert.False((await host.ProfileAsync(email)).GetConsent("email")!.Granted);
    }

    // Event id dedupe must follow the merge: a retried event sent to the absorbed identifier is still a duplicate.
    [Fact]
    public async Task RetriedEvent_AfterMerge_IsStillADuplicate()
    {
        await using var host = Host();
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        var order = host.Event(EventTypes.OrderPlaced, [anon], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.TrackAsync(order);
        await host.TrackAsync("x.login", [email, anon]);

        var retry = await host.Client.TrackAsync(order);
        Assert.Equal(TrackStatus.Duplicate, retry.Status);
        var p = await host.ProfileAsync(email);
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(2, p.Statistics.EventCount);
    }

    // Nested traits vs dotted keys (RudderStack flattening): {"address": {"city"}} and a later {"address.city"} are one path.
    [Fact]
    public async Task NestedObjectAndDottedKey_AreTheSameTrait()
    {
        await using var host = Host();
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync("x.p", [ann], traits: new { address = new { city = "Leeds", zip = "LS1" } });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("x.p", [ann], traits: new Dictionary<string, object> { ["address.city"] = "York" });

        var p = await host.ProfileAsync(ann);
        Assert.Equal("York", Trait(p, "address.city"));
        Assert.Equal("LS1", Trait(p, "address.zip"));
        Assert.Equal("York", p.Traits["address"]!["city"]!.GetValue<string>());
    }

    // Snowplow/Unomi windows computed from arrival (server) time instead of the event's time: an event that arrives
    // late counts from when it happened, so it leaves the window earlier, and one already outside never enters.
    [Fact]
    public async Task LateEvent_WindowRunsFromItsOwnTime_NotFromArrival()
    {
        var recent = Json("""{"id": "recent", "name": "Visited in 7 days", "rule": {"lastEvent": "page.viewed", "op": "withinLast", "value": "P7D"}}""");
        await using var host = Host(recent);
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var now = host.Time.GetUtcNow();
        var inside = Identifier.Email("inside@x.io");
        var outside = Identifier.Email("outside@x.io");
        var rIn = await host.TrackAsync("page.viewed", [inside], at: now - TimeSpan.FromDays(6));
        var rOut = await host.TrackAsync("page.viewed", [outside], at: now - TimeSpan.FromDays(8));

        Assert.Contains(rIn.SegmentChanges, c => c.SegmentId == "recent" && c.Entered);
        Assert.DoesNotContain(rOut.SegmentChanges, c => c.SegmentId == "recent");
        Assert.False((await host.ProfileAsync(outside)).IsInSegment("recent"));
        Assert.DoesNotContain((await host.ProfileAsync(outside)).Timeline, t => t.Type == EventTypes.SegmentEntered);

        await host.AdvanceToAsync(now + TimeSpan.FromDays(1));
        Assert.False((await host.ProfileAsync(inside)).IsInSegment("recent"));
    }

    // Unomi: a removed property left the profile in segments built on it. Setting the trait to null exits the segment.
    [Fact]
    public async Task TraitSetToNull_ExitsTheSegmentBuiltOnIt()
    {
        var gold = Json("""{"id": "gold", "name": "Gold", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""");
        await using var host = Host(gold);
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync("x.p", [ann], traits: new { tier = "gold" });
        Assert.True((await host.ProfileAsync(ann)).IsInSegment("gold"));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        var r = await host.TrackAsync("x.p", [ann], traits: JsonDocument.Parse("""{"tier": null}""").RootElement);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "gold" && !c.Entered);
        Assert.False((await host.ProfileAsync(ann)).IsInSegment("gold"));
    }

    // A trait that only the absorbed profile had qualifies the merged person at the merge (Unomi mergeProfilesOnProperty
    // left segments stale until the next event).
    [Fact]
    public async Task TraitOfTheAbsorbedProfile_QualifiesThePersonAtTheMerge()
    {
        var gold = Json("""{"id": "gold-buyer", "name": "Gold buyers", "rule": {"all": [{"trait": "tier", "op": "eq", "value": "gold"}, {"stat": "orderCount", "op": "gte", "value": 1}]}}""");
        await using var host = Host(gold);
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        await host.TrackAsync("x.p", [anon], traits: new { tier = "gold" });
        await host.TrackAsync(EventTypes.OrderPlaced, [email], new { order_id = "o1", total = 10, currency = "GBP" });
        Assert.False((await host.ProfileAsync(email)).IsInSegment("gold-buyer"));

        var r = await host.TrackAsync("x.login", [email, anon]);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "gold-buyer" && c.Entered);
        Assert.True((await host.ProfileAsync(anon)).IsInSegment("gold-buyer"));
    }

    // After an erasure, the id of a profile merged into hers must not find anything either.
    [Fact]
    public async Task Erasure_AlsoForgetsTheIdsOfProfilesMergedIntoHers()
    {
        await using var host = Host();
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        var anonId = (await host.TrackAsync("x.a", [anon])).ProfileId!;
        var emailId = (await host.TrackAsync("x.b", [email])).ProfileId!;
        await host.TrackAsync("x.login", [email, anon]);
        var merged = await host.ProfileAsync(email);
        var absorbed = merged.Id == anonId ? emailId : anonId;
        Assert.Equal(merged.Id, (await host.Client.GetProfileByIdAsync(absorbed))!.Id);

        Assert.True(await host.Client.EraseProfileAsync(email));
        Assert.Null(await host.Client.GetProfileByIdAsync(absorbed));
        Assert.Null(await host.Client.GetProfileByIdAsync(merged.Id));
        Assert.Null(await host.Client.GetProfileAsync(anon));
    }

    // PostHog "Ingest events backwards": the timeline of a person is in event time, whatever the arrival order.
    [Fact]
    public async Task Timeline_IsInEventTime_WhateverTheArrivalOrder()
    {
        await using var host = Host();
        var ann = Identifier.Email("ann@x.io");
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.TrackAsync("x.third", [ann], at: Start + TimeSpan.FromHours(3));
        await host.TrackAsync("x.first", [ann], at: Start + TimeSpan.FromHours(1));
        await host.TrackAsync("x.second", [ann], at: Start + TimeSpan.FromHours(2));

        var p = await host.ProfileAsync(ann);
        Assert.Equal(["x.first", "x.second", "x.third"], p.Timeline.Select(t => t.Type).Where(t => t.StartsWith("x.", StringComparison.Ordinal)));
        Assert.Equal(Start + TimeSpan.FromHours(1), p.Statistics.FirstSeen);
        Assert.Equal(Start + TimeSpan.FromHours(3), p.Statistics.LastSeen);
    }

    // Unomi/Braze: after a merge the absorbed profile was still counted in segment sizes (one person, two members);
    // an erased person must leave the member list too.
    [Fact]
    public async Task SegmentMembers_ListAMergedPersonOnce_AndNotAfterErasure()
    {
        var visitors = Json("""{"id": "visitors", "name": "Seen", "rule": {"event": "page.viewed"}}""");
        await using var host = Host(visitors);
        var anon = Identifier.AnonymousId("c1");
        var email = Identifier.Email("ann@x.io");
        await host.TrackAsync("page.viewed", [anon]);
        await host.TrackAsync("page.viewed", [email]);
        await host.TrackAsync("page.viewed", [Identifier.Email("bob@x.io")]);
        Assert.Equal(3, (await host.Client.GetSegmentMembersAsync("visitors")).Count);

        await host.TrackAsync("x.login", [email, anon]);
        var members = await host.Client.GetSegmentMembersAsync("visitors");
        Assert.Equal(2, members.Count);
        Assert.Contains((await host.ProfileAsync(email)).Id, members);
        Assert.Equal(2, (await host.Client.PreviewSegmentAsync(visitors)).Matching);

        Assert.True(await host.Client.EraseProfileAsync(anon));
        Assert.Equal([(await host.ProfileAsync(Identifier.Email("bob@x.io"))).Id], await host.Client.GetSegmentMembersAsync("visitors"));
    }

    // Dittofeed/Unomi: a segment created after the events did not include existing customers until their next event,
    // and its time-based exit was never scheduled for them.
    [Fact]
    public async Task SegmentAddedAtRunTime_IncludesExistingCustomers_AndTheyLeaveOnTime()
    {
        var seed = Json("""{"id": "any-order", "name": "Ordered", "rule": {"event": "order.placed"}}""");
        await using var host = Host(seed);
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.AdvanceAsync(TimeSpan.FromDays(1));

        var recent = Json("""{"id": "recent-buyer", "name": "Ordered in 7 days", "rule": {"lastEvent": "order.placed", "op": "withinLast", "value": "P7D"}}""");
        var backfill = await host.Client.UpsertSegmentAsync(recent);
        await backfill.Completion;
        Assert.True((await host.ProfileAsync(ann)).IsInSegment("recent-buyer"));

        await host.AdvanceToAsync(Start + TimeSpan.FromDays(7));
        Assert.False((await host.ProfileAsync(ann)).IsInSegment("recent-buyer"));
    }

    // UNOMI-550 (negative past-event conditions): "no order in the last 30 days" must hold for a customer whose only
    // order leaves the window, at that instant, with no event to trigger it; and a new order takes her out again.
    [Fact]
    public async Task NoOrderInThirtyDays_EntersWhenTheLastOrderLeavesTheWindow()
    {
        var lapsed = Json("""{"id": "lapsed", "name": "Lapsed", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"event": "order.placed", "count": {"op": "eq", "value": 0}, "within": "P30D"}]}}""");
        var notRecent = Json("""{"id": "not-recent", "name": "Not recent", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"not": {"lastEvent": "order.placed", "op": "withinLast", "value": "P30D"}}]}}""");
        await using var host = Host(lapsed, notRecent);
        var ann = Identifier.Email("ann@x.io");
        await host.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o1", total = 10, currency = "GBP" });
        Assert.False((await host.ProfileAsync(ann)).IsInSegment("lapsed"));

        await host.AdvanceToAsync(Start + TimeSpan.FromDays(30) - TimeSpan.FromTicks(1));
        Assert.False((await host.ProfileAsync(ann)).IsInSegment("lapsed"));
        await host.AdvanceToAsync(Start + TimeSpan.FromDays(30));
        var p = await host.ProfileAsync(ann);
        Assert.True(p.IsInSegment("lapsed"));
        Assert.True(p.IsInSegment("not-recent"));
        Assert.Equal(Start + TimeSpan.FromDays(30), p.Segments.Single(s => s.SegmentId == "lapsed").EnteredAt);

        await host.AdvanceAsync(TimeSpan.FromDays(3));
        var r = await host.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o2", total = 10, currency = "GBP" });
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "lapsed" && !c.Entered);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "not-recent" && !c.Entered);
    }

    // Three profiles met by one event (cookie, device, email): every count of each is kept once.
    [Fact]
    public async Task ThreeProfilesMetByOneEvent_KeepEveryCountOnce()
    {
        var buyers = Json("""{"id": "three-orders", "name": "Three orders", "rule": {"stat": "orderCount", "op": "gte", "value": 3}}""");
        await using var host = Host(buyers);
        var cookie = Identifier.AnonymousId("c1");
        var device = Identifier.DeviceId("d1");
        var email = Identifier.Email("ann@x.io");
        await host.TrackAsync(EventTypes.OrderPlaced, [cookie], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [device], new { order_id = "o2", total = 20, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [email], new { order_id = "o3", total = 30, currency = "GBP" });
        await host.TrackAsync(EventTypes.LoyaltyPointsEarned, [device], new { points = 5 });
        await host.TrackAsync(EventTypes.LoyaltyPointsEarned, [cookie], new { points = 7 });

        var r = await host.TrackAsync("x.login", [cookie, email, device]);
        var p = await host.ProfileAsync(email);
        Assert.Equal(p.Id, (await host.ProfileAsync(cookie)).Id);
        Assert.Equal(p.Id, (await host.ProfileAsync(device)).Id);
        Assert.Equal(3, p.Statistics.OrderCount);
        Assert.Equal(60m, p.Statistics.TotalSpent);
        Assert.Equal(12m, p.Statistics.LoyaltyPoints);
        Assert.Equal(6, p.Statistics.EventCount);
        Assert.Equal(2, p.Merges.Count);
        Assert.Contains(r.SegmentChanges, c => c.SegmentId == "three-orders" && c.Entered);
    }

    // An internationalised domain in its ASCII and Unicode forms, in any case, is one address.
    [Fact]
    public async Task Email_WithPunycodeOrUnicodeDomain_IsOnePerson()
    {
        await using var host = Host();
        var a = await host.TrackAsync("x.a", [Identifier.Email("ANN@XN--BCHER-KVA.DE")]);
        var b = await host.TrackAsync("x.b", [Identifier.Email("ann@BÜCHER.de")]);
        Assert.Equal(a.ProfileId, b.ProfileId);
    }
}
