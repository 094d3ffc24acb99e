using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U91: bug classes from public reports, round 91 — two identified people joined only through weaker identifiers
/// (PostHog), a list operand holding the empty string against a missing value (GrowthBook), a distinct count over
/// numbers spelt as zero and negative zero (jsonschema), a republished journey restarting people who had finished it
/// (Mautic), and an address in another case on every path a message takes (listmonk, Mailtrain, dada-mail). Public API
/// only, the test kit's fake clock; each test names its reports.
/// </summary>
public sealed class AuditU91Tests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) =>
        OmnichannelTestHost.Create(o =>
        {
            foreach (var s in segments)
            {
                o.Segments.Add(s);
            }
        }, start: Start);

    // Her membership read three ways that must agree: her profile, the members list, and a preview over everyone.
    private static async Task<bool> MemberAsync(OmnichannelTestHost host, SegmentDefinition s, Identifier who)
    {
        var p = await host.ProfileAsync(who);
        var live = p.IsInSegment(s.Id);
        var listed = await host.Client.GetSegmentMembersAsync(s.Id, limit: 1000);
        Assert.True(live == listed.Contains(p.Id), $"{s.Id} {who.Value}: her profile says {live}, the members list otherwise");
        return live;
    }

    // ---- 1. Two identified people joined only through weaker identifiers stay two people ----

    // PostHog/posthog#11873 ("Alias to not merge two identified persons": identify('Alice', anon='anon_bob_1') must not
    // fold Bob into Alice, and an alias between two identified persons merged them anyway), PostHog/posthog.com#6139
    // (an alias id must not be another identified user's id). Alice is customer c-alice with her email and her cookie;
    // Bob is customer c-bob with his phone and his cookie. An event that names only their weaker identifiers together —
    // her email with his phone (a shared family order form), her cookie with his (a cross-device link), his cookie with
    // her email (she signs up for the newsletter on his laptop) — must not make them one person: each keeps his own
    // customer id, orders and identifiers; the event lands on one of them and the caller is told what was not linked.
    [Theory]
    [InlineData("email+phone")]
    [InlineData("cookie+cookie")]
    [InlineData("his-cookie+her-email")]
    [InlineData("her-cookie+his-phone")]
    public async Task TwoIdentifiedPeople_NamedTogetherOnlyByWeakerIdentifiers_StayTwoPeople(string shape)
    {
        await using var host = Host();
        var (alice, aliceMail, aliceCookie) = (Identifier.CustomerId("c-alice"), Identifier.Email("alice@example.com"), Identifier.AnonymousId("anon-alice"));
        var (bob, bobPhone, bobCookie) = (Identifier.CustomerId("c-bob"), Identifier.Phone("+14155550111"), Identifier.AnonymousId("anon-bob"));
        await host.TrackAsync("user.logged_in", [alice, aliceMail, aliceCookie]);
        await host.TrackAsync(EventTypes.OrderPlaced, [alice], new { order_id = "a-1", total = 40, currency = "USD" });
        await host.TrackAsync("user.logged_in", [bob, bobPhone, bobCookie]);
        await host.TrackAsync(EventTypes.OrderPlaced, [bob], new { order_id = "b-1", total = 15, currency = "USD" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));

        Identifier[] together = shape switch
        {
            "email+phone" => [aliceMail, bobPhone],
            "cookie+cookie" => [aliceCookie, bobCookie],
            "his-cookie+her-email" => [bobCookie, aliceMail],
            _ => [aliceCookie, bobPhone],
        };
        var result = await host.Client.TrackAsync(host.Event("newsletter.form_viewed", together));
        Assert.True(result.IsAcknowledged);
        Assert.NotEmpty(result.NotLinked);

        var a = await host.ProfileAsync(alice);
        var b = await host.ProfileAsync(bob);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(["c-alice"], a.IdentifierValues(IdentifierTypes.CustomerId));
        Assert.Equal(["c-bob"], b.IdentifierValues(IdentifierTypes.CustomerId));
        Assert.True(a.Has(aliceMail) && a.Has(aliceCookie) && !a.Has(bobPhone) && !a.Has(bobCookie));
        Assert.True(b.Has(bobPhone) && b.Has(bobCookie) && !b.Has(aliceMail) && !b.Has(aliceCookie));
        Assert.Equal(1, a.Statistics.OrderCount);
        Assert.Equal(1, b.Statistics.OrderCount);
        Assert.Empty(a.Merges);
        Assert.Empty(b.Merges);
        Assert.Equal(a.Id, (await host.ProfileAsync(aliceMail)).Id);
        Assert.Equal(b.Id, (await host.ProfileAsync(bobPhone)).Id);
    }

    // ---- 2. A list operand holding the empty string does not match a missing value ----

    // growthbook/growthbook#3657 ("Rule with empty list passes when attribute isn't set": the list was [""] and a missing
    // attribute read as "", so everyone without it matched), growthbook/growthbook#3719. Here a missing value is not "":
    // `in [""]` holds only for a value that is the empty string, `notIn [""]` for every other (a missing one too), and
    // the same on an event's property in a `where`. Ann has plan "", Bob has "gold", Cid has none, Dee had one and
    // cleared it with null.
    [Fact]
    public async Task AListHoldingTheEmptyString_MatchesOnlyTheEmptyString_NotAMissingValue()
    {
        var inEmpty = Json("in-empty", """{"trait": "plan", "op": "in", "value": [""]}""");
        var notInEmpty = Json("not-in-empty", """{"trait": "plan", "op": "notIn", "value": [""]}""");
        var whereIn = Json("where-in-empty", """{"event": "page.viewed", "where": [{"property": "ref", "op": "in", "value": [""]}]}""");
        var whereNotIn = Json("where-not-in-empty", """{"event": "page.viewed", "where": [{"property": "ref", "op": "notIn", "value": [""]}]}""");
        await using var host = Host(inEmpty, notInEmpty, whereIn, whereNotIn);
        var (ann, bob, cid, dee) = (Identifier.CustomerId("ann"), Identifier.CustomerId("bob"), Identifier.CustomerId("cid"), Identifier.CustomerId("dee"));
        await host.TrackAsync("user.updated", [ann], traits: new { plan = "" });
        await host.TrackAsync("user.updated", [bob], traits: new { plan = "gold" });
        await host.TrackAsync("user.updated", [cid], traits: new { age = 30 });
        await host.TrackAsync("user.updated", [dee], traits: new { plan = "gold" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.updated", [dee], traits: new Dictionary<string, object?> { ["plan"] = null });
        await host.TrackAsync("page.viewed", [ann], new { @ref = "" });
        await host.TrackAsync("page.viewed", [bob], new { @ref = "newsletter" });
        await host.TrackAsync("page.viewed", [cid], new { path = "/" });
        await host.TrackAsync("page.viewed", [dee], new Dictionary<string, object?> { ["ref"] = null });

        var expected = new (SegmentDefinition Segment, string Members)[]
        {
            (inEmpty, "ann"), (notInEmpty, "bob,cid,dee"), (whereIn, "ann"), (whereNotIn, "bob,cid,dee"),
        };
        foreach (var (segment, members) in expected)
        {
            var actual = new List<string>();
            foreach (var who in new[] { ann, bob, cid, dee })
            {
                if (await MemberAsync(host, segment, who))
                {
                    actual.Add(who.Value);
                }
            }

            Assert.True(members == string.Join(",", actual), $"{segment.Id}: expected {members}, got {string.Join(",", actual)}");
            Assert.Equal(actual.Count, (await host.Client.PreviewSegmentAsync(segment)).Matching);
        }
    }

    // ---- 3. A distinct count reads zero and negative zero as one number ----

    // Stranger6667/jsonschema#1553 (`uniqueItems` accepted `0` beside `-0.0`: two spellings of one number counted as
    // distinct), PostHog/posthog#21576 (numbers as one value whatever their spelling). `eq 0` holds for `-0.0` here
    // (numbers compare by value), so a distinct count must not count `0`, `0.0`, `-0`, `-0.0` and `0e0` as several
    // values: a "tried at most one discount level" segment must keep her.
    [Fact]
    public async Task ADistinctCount_ReadsEverySpellingOfZeroAsOneValue()
    {
        var oneLevel = Json("one-level", """{"aggregate": "distinct", "event": "discount.applied", "property": "level", "op": "eq", "value": 1}""");
        var twoLevels = Json("two-levels", """{"aggregate": "distinct", "event": "discount.applied", "property": "level", "op": "gte", "value": 2}""");
        await using var host = Host(oneLevel, twoLevels);
        var ann = Identifier.CustomerId("ann");
        foreach (var level in new[] { "0", "0.0", "-0", "-0.0", "0e0", "-0E-5" })
        {
            await host.TrackAsync(host.Event("discount.applied", [ann], JsonData.Parse("{\"level\": " + level + "}")));
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
            Assert.True(await MemberAsync(host, oneLevel, ann), $"after level {level}");
            Assert.False(await MemberAsync(host, twoLevels, ann), $"after level {level}");
        }

        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(oneLevel)).Matching);
        await host.TrackAsync(host.Event("discount.applied", [ann], JsonData.Parse("{\"level\": 0.5}")));
        Assert.True(await MemberAsync(host, twoLevels, ann));
    }

    // ---- 4. A republished journey does not restart people who finished it ----

    // mautic/mautic#16183 ("restarting campaign after republish on every cron job": contacts who had been through a
    // campaign that does not allow a restart were started again once it was republished), mautic/mautic#6906,
    // segment-boneyard/segment-docs#7236 (re-entry rules). A welcome journey with re-entry `never`: she went through
    // version 1; a version 2 (a renamed step) is published; her next trigger must not start it again. A segment-triggered
    // journey (default re-entry): she entered the segment and finished; a version 2 published while she is still in the
    // segment must not start her again, though a new entry into the segment does.
    private static JourneyDefinition Welcome(int version) => JourneyRig.Parse($$"""
        {"id": "welcome", "version": {{version}}, "name": "Welcome", "entry": {"reEntry": "never"},
         "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "hello-v{{version}}", "type": "send", "channels": ["email"], "template": "welcome", "class": "transactional"}]}
        """);

    private static JourneyDefinition VipWelcome(int version) => JourneyRig.Parse($$"""
        {"id": "vip", "version": {{version}}, "name": "VIP welcome",
         "trigger": {"type": "segment", "segment": "vip", "on": "entered"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "hello-v{{version}}", "type": "send", "channels": ["email"], "template": "vip", "class": "transactional"}]}
        """);

    [Fact]
    public async Task AJourneyWithReEntryNever_Republished_DoesNotStartSomeoneWhoFinishedIt()
    {
        await using var rig = JourneyRig.Create([Welcome(1)], start: Start);
        var ann = Identifier.Email("ann@example.com");
        await rig.TrackAsync("user.signed_up", [ann]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Single(rig.Recorder.Messages);

        await rig.Engine.PublishJourneyAsync(Welcome(2));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("user.signed_up", [ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Single(rig.Recorder.Messages);
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("welcome")).Entered);

        // A new person still enters version 2.
        await rig.TrackAsync("user.signed_up", [Identifier.Email("bob@example.com")]);
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(2, rig.Recorder.Messages.Count);
    }

    [Fact]
    public async Task ASegmentTriggeredJourney_Republished_DoesNotRestartAMemberWhoFinishedIt()
    {
        var vip = Json("vip", """{"trait": "tier", "op": "eq", "value": "vip"}""");
        await using var rig = JourneyRig.Create([VipWelcome(1)], segments: [vip], start: Start);
        var ann = Identifier.Email("ann@example.com");
        await rig.TrackAsync("user.updated", [ann], traits: new { tier = "vip" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Single(rig.Recorder.Messages);

        await rig.Engine.PublishJourneyAsync(VipWelcome(2));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync("page.viewed", [ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        Assert.Single(rig.Recorder.Messages);

        // Leaving and entering again is a new entry, on version 2.
        await rig.TrackAsync("user.updated", [ann], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync("user.updated", [ann], traits: new { tier = "vip" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(2, rig.Recorder.Messages.Count);
    }

    // ---- 5. An address in another case is the same address on every path a message takes ----

    // knadh/listmonk#2726 (a subscriber created as "TEST@test.com" was stored lower-cased, and a transactional send to
    // "TEST@test.com" answered "subscriber not found"), Mailtrain-org/mailtrain#631 (the same address imported twice in
    // two cases was sent the campaign twice), justingit/dada-mail#787 and alphagov/email-alert-api#1174 (an unsubscribe
    // or a block in another case never matched the stored address). Her profile is created as `Ann.Lee@Example.COM `;
    // a send to `ANN.LEE@example.com` finds her, a second import in lower case is the same person, a hard bounce naming
    // `ann.lee@EXAMPLE.com` suppresses her for every spelling, and the next send is skipped.
    [Fact]
    public async Task AnAddressInAnotherCase_IsHerAddress_ForSendImportBounceAndSuppression()
    {
        var transport = new RecordingTransport(ChannelNames.Email);
        var delivery = new DeliverySetup { Renderer = new TemplateIdRenderer() };
        delivery.AddTransport(ChannelNames.Email, transport);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: delivery);
        await host.TrackAsync("user.signed_up", [Identifier.Email("Ann.Lee@Example.COM ")], traits: new { first_name = "Ann" });
        await host.TrackAsync("user.imported", [Identifier.Email("ann.lee@example.com")], traits: new { city = "Leeds" });
        var profile = await host.ProfileAsync(Identifier.Email("ANN.LEE@EXAMPLE.COM"));
        Assert.Single(profile.IdentifierValues(IdentifierTypes.Email));
        Assert.Equal("Leeds", profile.Traits["city"]!.GetValue<string>());
        Assert.Equal("Ann", profile.Traits["first_name"]!.GetValue<string>());

        var sent = await host.Client.SendAsync(Identifier.Email("ANN.LEE@example.com"), new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        Assert.NotEqual(SendStatus.Skipped, sent.Status);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(transport.Messages);

        await host.TrackAsync(EventTypes.MessageBounced, [Identifier.Email("ann.lee@EXAMPLE.com")], new { channel = "email", bounce_type = "hard", address = "ANN.LEE@example.COM" }, channel: ChannelNames.Email);
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email("Ann.Lee@Example.com")));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email(" ann.lee@example.com")));
        var second = await host.Client.SendAsync(Identifier.Email("ann.lee@example.com"), new MessageRequest { Key = "receipt-2", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(transport.Messages);
        Assert.Single((await host.ProfileAsync(Identifier.Email("ann.lee@example.com"))).IdentifierValues(IdentifierTypes.Email));
        _ = second;
    }

    // ---- 6. A distinct count over lists and objects: each different value counts, and each leaves its window ----

    // Baggz/Amanda#6 and Stranger6667/jsonschema#1553 (what "distinct" means for JSON: two objects are one value when
    // they have the same members with equal values, two lists when their elements are equal in order; anything else is
    // another value), PostHog/posthog#2308 and #3531 (a cohort listing people its filter no longer matched, until
    // something else recomputed it). A distinct count over an object-valued property (`shipping`, the address an order went
    // to: "orders shipped to 3 or more addresses in 30 days", a reseller or fraud signal), over lists of lists, and over
    // a path through a list (`products.category`, audit U74) within a window. Before: every object was one value (three
    // addresses counted 1), and as time passed an object, a list holding one, or the values a path reached through a
    // list never left the window (the walk could not find the leaving value among the active ones), so a member stayed
    // in such a segment for good once her events were older than the window, while a preview said she was out.
    [Fact]
    public async Task ADistinctCountOfObjects_CountsEachDifferentObject_AndOneSpeltTwoWaysOnce()
    {
        var threeAddresses = Json("three-addresses", """{"aggregate": "distinct", "event": "order.placed", "property": "shipping", "op": "gte", "value": 3, "within": "P30D"}""");
        var oneAddress = Json("one-address", """{"aggregate": "distinct", "event": "order.placed", "property": "shipping", "op": "eq", "value": 1}""");
        var threeTagSets = Json("three-tag-sets", """{"aggregate": "distinct", "event": "order.placed", "property": "labels", "op": "gte", "value": 3}""");
        await using var host = Host(threeAddresses, oneAddress, threeTagSets);
        var (ann, bob) = (Identifier.CustomerId("ann"), Identifier.CustomerId("bob"));
        var n = 0;
        async Task Order(Identifier who, string shipping, string labels)
        {
            await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [who], JsonData.Parse($$"""{"order_id": "o{{n++}}", "total": 10, "shipping": {{shipping}}, "labels": {{labels}}}""")));
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        // Ann: three addresses in three cities; Bob: one address, spelt with its members in another order and a null member.
        await Order(ann, """{"line1": "1 Mill St", "city": "Leeds"}""", """[["gift"]]""");
        await Order(ann, """{"line1": "1 Mill St", "city": "York"}""", """[["gift", "wrap"]]""");
        await Order(ann, """{"line1": "1 Mill St", "city": "Bath", "geo": {"lat": 51.38}}""", """[["wrap"]]""");
        await Order(bob, """{"line1": "9 Kirk Rd", "city": "Hull", "geo": {"lat": 53.74, "lon": -0.33}}""", """[["gift"]]""");
        await Order(bob, """{"geo": {"lon": -0.330, "lat": 53.740}, "city": "Hull", "line1": "9 Kirk Rd", "line2": null}""", """[["gift"]]""");

        Assert.True(await MemberAsync(host, threeAddresses, ann));
        Assert.False(await MemberAsync(host, oneAddress, ann));
        Assert.True(await MemberAsync(host, threeTagSets, ann));
        Assert.False(await MemberAsync(host, threeAddresses, bob));
        Assert.True(await MemberAsync(host, oneAddress, bob));
        Assert.False(await MemberAsync(host, threeTagSets, bob));
        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(threeAddresses)).Matching);
        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(oneAddress)).Matching);
    }

    // Rows 1-5 failed before (rows 3 and 4 already at the first check: objects, and lists of lists, counted as one value);
    // a count of object values over a calendar window (`P1M`, rows 6-7) held (counts take the running walk) and guards it.
    [Theory]
    [InlineData("distinct", "products.category", "[{\"category\": \"toys\"}, {\"category\": \"books\"}]", 2, "P7D", 8)]
    [InlineData("distinct", "shipping", "{\"city\": \"York\"}", 1, "P7D", 8)]
    [InlineData("distinct", "coupons", "[{\"code\": \"A\"}, {\"code\": \"B\"}]", 2, "P7D", 8)]
    [InlineData("distinct", "labels", "[[\"gift\"], [\"wrap\"]]", 2, "P7D", 8)]
    [InlineData("distinct", "products.tags", "[{\"tags\": [\"a\", \"b\"]}, {\"tags\": [\"c\"]}]", 3, "P7D", 8)]
    [InlineData("count", "shipping", "{\"city\": \"York\"}", 1, "P1M", 32)]
    [InlineData("count", "coupons", "[{\"code\": \"A\"}]", 1, "P1M", 32)]
    public async Task AnAggregateOverAWindow_FallsWhenItsEventsLeaveIt_WithNoFurtherEvent(string function, string property, string value, int threshold, string window, int daysAfter)
    {
        var field = property.Split('.')[0];
        var recent = Json("recent", $$"""{"aggregate": "{{function}}", "event": "order.placed", "property": "{{property}}", "op": "gte", "value": {{threshold}}, "within": "{{window}}"}""");
        var none = Json("none-recent", $$"""{"aggregate": "{{function}}", "event": "order.placed", "property": "{{property}}", "op": "eq", "value": 0, "within": "{{window}}"}""");
        await using var host = Host(recent, none);
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [ann], JsonData.Parse($$"""{"order_id": "o1", "total": 10, "{{field}}": {{value}}}""")));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.True(await MemberAsync(host, recent, ann));
        Assert.False(await MemberAsync(host, none, ann));

        await host.AdvanceAsync(TimeSpan.FromDays(daysAfter - 1));
        Assert.False(await MemberAsync(host, recent, ann), "still a member after her order left the window");
        Assert.True(await MemberAsync(host, none, ann), "not back in 'none in 7 days' after her order left the window");
        Assert.Equal(0, (await host.Client.PreviewSegmentAsync(recent)).Matching);
    }
}
