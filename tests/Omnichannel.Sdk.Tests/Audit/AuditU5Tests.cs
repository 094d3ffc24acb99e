using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U5: bug classes from public reports of comparable systems (round 5), replayed against the public API on a fake
/// clock: an increment on a number held as text, traits removed by null, re-subscribing after a bounce or an unsubscribe,
/// segments that change with time alone, reports on messages sent to her taken for her activity (lastSeen, her newest
/// address), emptied carts, quiet hours after midnight, split stickiness on re-entry, erased people in segment lists.
/// </summary>
public sealed class AuditU5Tests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly DateTimeOffset Day0 = new(Start.Year, Start.Month, Start.Day, 0, 0, 0, TimeSpan.Zero);
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    // Templates for direct sends: a journey that never starts carries them.
    private static readonly JourneyDefinition Templates = JourneyRig.Parse("""
        {"id": "templates", "version": 1, "name": "Templates", "trigger": {"type": "event", "event": "never.happens"},
         "steps": [{"id": "a", "type": "send", "channels": ["email"], "template": "offers", "topic": "offers", "next": "b"},
                   {"id": "b", "type": "send", "channels": ["email"], "template": "receipt", "class": "transactional"}]}
        """);

    private static MessageRequest Marketing(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "offers", Topic = "offers" };

    private static MessageRequest Transactional(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    // ---- 1. An increment on a trait that holds a number as text ----

    // mixpanel/mixpanel-flutter#121 (credits edited to "100" on the dashboard, stored as text; increment stopped
    // working): an updateProfile increment adds to a trait holding a number as text (read as the profile's statistics
    // read numbers sent as text) instead of counting it as a missing 0 and overwriting her 100 credits with 1; a trait
    // that is no number at all ("gold", true) is left as it is rather than replaced by the increment.
    [Theory]
    [InlineData("\"100\"", "101")]
    [InlineData("100", "101")]
    [InlineData("\" 7.5 \"", "8.5")]
    [InlineData("\"1,234\"", "1235")]
    [InlineData("\"9,99\"", "\"9,99\"")] // a decimal comma is no number (NumberText): left as it is
    [InlineData("\"gold\"", "\"gold\"")]
    [InlineData("true", "true")]
    public async Task AnIncrement_AddsToATraitHoldingANumberAsText(string credits, string expected)
    {
        var journey = JourneyRig.Parse("""
            {"id": "credit", "version": 1, "name": "Credit", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "u", "type": "updateProfile", "increment": {"credits": 1}}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.updated", [Ann], traits: JsonData.Parse("{\"credits\": " + credits + "}"));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.True(p.TryGetTrait("credits", out var v));
        Assert.Equal(JsonData.Parse(expected).GetRawText(), v.GetRawText());
        Assert.Contains(p.Timeline, t => t.Type == "journey.profile_updated");
    }

    // ---- 2. A trait set to null is removed ----

    // apache/unomi#13 (UNOMI-32, a property present with a null value is removed), segment-boneyard/segment-docs#7143 ("to
    // remove a trait, send it as null"), samyama-ai/samyama-graph#953 (an explicit null still counted as present): after
    // `vip: null` she leaves "exists" and enters "notExists", and an older `vip: true` arriving late does not bring it back.
    [Fact]
    public async Task ATraitSetToNull_IsRemoved_ForExistsAndNotExists_AndALateOlderValueDoesNotRestoreIt()
    {
        var has = Segment("""{"id": "has", "name": "Has", "rule": {"trait": "vip", "op": "exists"}}""");
        var hasNot = Segment("""{"id": "has-not", "name": "Has not", "rule": {"trait": "vip", "op": "notExists"}}""");
        await using var host = OmnichannelTestHost.Create(o => { o.Segments.Add(has); o.Segments.Add(hasNot); });
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.updated", [Ann], traits: new { vip = true });
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("has"));

        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync("user.updated", [Ann], traits: JsonData.Parse("""{"vip": null}"""));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("has"));
        Assert.True(p.IsInSegment("has-not"));
        Assert.False(p.TryGetTrait("vip", out _));

        await host.TrackAsync("user.updated", [Ann], traits: new { vip = true }, at: t0.AddMinutes(5)); // older, arrives late
        p = await host.ProfileAsync(Ann);
        Assert.False(p.IsInSegment("has"));
        Assert.True(p.IsInSegment("has-not"));
    }

    // ---- 3. Re-subscribing after a hard bounce, and after an unsubscribe ----

    // silent-suite/silentsuite#74 (a signup form posted again cleared the unsubscribe but left the bounce "dangling",
    // and bounced contacts were mailed again), knadh/listmonk#588: a new consent grant after a hard bounce is a grant,
    // but the address stays suppressed for marketing and transactional mail alike.
    [Fact]
    public async Task AConsentGrantAfterAHardBounce_DoesNotLiftTheSuppression()
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, AnnMail], new { channel = "email", granted = true }); // signs up again
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var offer = await rig.Host.Client.SendAsync(Ann, Marketing("m1"));
        var receipt = await rig.Host.Client.SendAsync(Ann, Transactional("t1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(SendStatus.Skipped, offer.Status);
        Assert.Equal(SendStatus.Skipped, receipt.Status);
        Assert.Empty(rig.Sent());
    }

    // knadh/listmonk#588 ("a user who unsubscribes cannot resubscribe"): her own newer opt-in after an unsubscribe-all
    // lets marketing reach her again; a grant that is older than the unsubscribe (arriving late) does not.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnOptInAfterAnUnsubscribeAll_ResubscribesHer_OnlyWhenItIsNewer(bool newer)
    {
        await using var rig = JourneyRig.Create([Templates]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        var unsubscribedAt = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        var r = await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true },
            at: newer ? null : unsubscribedAt - TimeSpan.FromMinutes(5));
        Assert.Equal(TrackStatus.Accepted, r.Status);

        var offer = await rig.Host.Client.SendAsync(Ann, Marketing("m1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(newer ? SendStatus.Queued : SendStatus.Skipped, offer.Status);
        Assert.Equal(newer ? ["email:offers"] : [], rig.Sent());
    }

    // ---- 4. Segments that change with time alone ----

    // PostHog/posthog#9428 (a dynamic cohort not updated until someone saved it again): "no order for 30 days" holds at
    // exactly 30 days after her last order with no event at all, is listed by GetSegmentMembersAsync, and starts the
    // segment-triggered win-back.
    [Fact]
    public async Task NoOrderFor30Days_HoldsWithTimeAlone_ListsHer_AndStartsItsJourney()
    {
        var lapsed = Segment("""{"id": "lapsed", "name": "Lapsed", "rule": {"all": [{"stat": "orderCount", "op": "gte", "value": 1}, {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P30D"}]}}""");
        var winBack = JourneyRig.Parse("""
            {"id": "win-back", "version": 1, "name": "Win back", "trigger": {"type": "segment", "segment": "lapsed", "on": "entered"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "miss-you", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([winBack], [lapsed]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        var ordered = rig.Host.Time.GetUtcNow();

        await rig.AdvanceToAsync(ordered + TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1));
        Assert.Empty(await rig.Host.Client.GetSegmentMembersAsync("lapsed"));
        Assert.Empty(rig.Sent());

        await rig.AdvanceToAsync(ordered + TimeSpan.FromDays(30));
        var p = await rig.Host.ProfileAsync(Ann);
        Assert.True(p.IsInSegment("lapsed"));
        Assert.Equal([p.Id], await rig.Host.Client.GetSegmentMembersAsync("lapsed"));
        Assert.Equal(["email:miss-you"], rig.Sent());
    }

    // mautic/mautic#4635 and #1818 ("last active" filters for inactive contacts; a contact is inactive when she does
    // nothing, whatever was sent to her): the win-back the "away 30 days" segment starts, and the SDK's own record of
    // sending it, are not her activity: she stays away, and she is not won back again and again.
    [Fact]
    public async Task TheWinBackSentToHer_IsNotHerActivity()
    {
        var away = Segment("""{"id": "away", "name": "Away", "rule": {"stat": "lastSeen", "op": "moreThanAgo", "value": "P30D"}}""");
        var winBack = JourneyRig.Parse("""
            {"id": "win-back", "version": 1, "name": "Win back", "trigger": {"type": "segment", "segment": "away", "on": "entered"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "miss-you", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([winBack], [away]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var seen = rig.Host.Time.GetUtcNow();

        await rig.AdvanceToAsync(seen + TimeSpan.FromDays(30));
        Assert.Equal(["email:miss-you"], rig.Sent());
        await rig.AdvanceToAsync(seen + TimeSpan.FromDays(75));

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Equal(seen, p.Statistics.LastSeen);
        Assert.Equal([ChannelNames.Web], p.Statistics.ChannelsUsed); // mail went to her; she did not use email
        Assert.True(p.IsInSegment("away"));
        Assert.Equal(["email:miss-you"], rig.Sent());
    }

    // forem/forem#11494 and svsticky/constipated-koala#700 (notifications kept going to the address she had replaced):
    // a provider's report on a message to her old address (delivered, a soft bounce, sent), posted with that address as
    // the identifier and stamped later than her change, is not her using it: mail stays with her newest address.
    [Theory]
    [InlineData(EventTypes.MessageDelivered)]
    [InlineData(EventTypes.MessageBounced)]
    [InlineData(EventTypes.MessageSent)]
    public async Task AReportOnAMessageToHerOldAddress_DoesNotMakeItHerNewestAgain(string report)
    {
        var oldMail = Identifier.Email("ann@old.example");
        var newMail = Identifier.Email("ann@new.example");
        await using var rig = JourneyRig.Create([Templates]);
        var t = rig.Host.Time.GetUtcNow();
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync("user.signed_up", [Ann, oldMail], at: t.AddHours(-2))).Status);
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync("user.updated", [Ann, newMail], at: t.AddHours(-1))).Status);
        await rig.Host.Client.SendAsync(Ann, Transactional("t1"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        object props = report == EventTypes.MessageBounced
            ? new { channel = "email", message_id = "before-the-change", address = "ann@old.example", bounce_type = "soft" }
            : new { channel = "email", message_id = "before-the-change" };
        await rig.TrackAsync(report, [oldMail], props);
        await rig.Host.Client.SendAsync(Ann, Transactional("t2"));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(["ann@new.example", "ann@new.example"], rig.Recorder.Messages.Cast<EmailMessage>().Select(m => m.To));
        Assert.Equal(t.AddHours(-1), (await rig.Host.ProfileAsync(Ann)).Statistics.LastSeen);
    }

    // mailchimp/mc-woocommerce#1398 (a cart the shopper emptied stayed "abandoned", was enrolled and reminded; the add
    // job ran after the emptying), matomo-org/matomo#20315, spree-contrib/spree_mailchimp_ecommerce#43: a cart journey
    // that exits on an empty cart sends nothing once she removed the item, also when the removal arrives before the add
    // it undoes (the add then starts an instance on a cart that is already empty by event time).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACartSheEmptied_GetsNoReminder_InEitherArrivalOrder(bool removalFirst)
    {
        var journey = JourneyRig.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "exit": [{"condition": {"stat": "cartLineCount", "op": "eq", "value": 0}}, {"event": "order.placed"}],
             "steps": [{"id": "d", "type": "delay", "duration": "PT1H"},
                       {"id": "remind", "type": "send", "channels": ["email"], "template": "remind", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var t = rig.Host.Time.GetUtcNow();
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        var add = rig.Host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", cart_id = "c1", quantity = 1, price = 10 }) with { Timestamp = t.AddMinutes(1) };
        var remove = rig.Host.Event(EventTypes.CartItemRemoved, [Ann], new { product_id = "p1", cart_id = "c1" }) with { Timestamp = t.AddMinutes(5) };
        foreach (var e in removalFirst ? new[] { remove, add } : [add, remove])
        {
            Assert.Equal(TrackStatus.Accepted, (await rig.Host.Client.TrackAsync(e)).Status);
            await rig.Engine.RunDispatchAsync();
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Empty((await rig.Host.ProfileAsync(Ann)).Cart);
        Assert.Empty(rig.Sent());
    }

    // ---- 5. Quiet hours that cross midnight ----

    // greghesp/assistant-relay#218 (quiet hours 21:00-07:00 not respected after 00:00) and #60 (a window starting at
    // 00:00 was quiet all evening): with 21:00-08:00 a message at 00:30 waits for 08:00 that same morning, one at 22:00
    // for the next morning; with 00:00-08:00 a message at 21:00 goes at once.
    [Theory]
    [InlineData(21, 8, 0.5, 8.0)]
    [InlineData(21, 8, 22.0, 32.0)]
    [InlineData(21, 8, 7.99, 8.0)]
    [InlineData(0, 8, 21.0, 21.0)]
    [InlineData(0, 8, 3.0, 8.0)]
    public async Task QuietHoursAcrossMidnight_HoldAMessageUntilTheirEnd(int startHour, int endHour, double atHour, double sentAtHour)
    {
        await using var rig = JourneyRig.Create([Templates], configure: o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
            o.Delivery.QuietHoursStart = new TimeOnly(startHour, 0);
            o.Delivery.QuietHoursEnd = new TimeOnly(endHour, 0);
        }, start: Day0.AddDays(1).AddHours(12));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var day = Day0.AddDays(2);
        await rig.AdvanceToAsync(day.AddHours(atHour));

        var offer = await rig.Host.Client.SendAsync(Ann, Marketing("m1"));
        Assert.Equal(SendStatus.Queued, offer.Status);
        await rig.Engine.RunDispatchAsync();
        if (sentAtHour > atHour)
        {
            Assert.Empty(rig.Sent());
            await rig.AdvanceToAsync(day.AddHours(sentAtHour) - TimeSpan.FromSeconds(1));
            Assert.Empty(rig.Sent());
            await rig.AdvanceToAsync(day.AddHours(sentAtHour));
        }

        Assert.Equal(["email:offers"], rig.Sent());
    }

    // ---- 6. A randomized split on re-entry ----

    // segment-boneyard/segment-docs#5449 ("if the journey has a re-entry condition, users join the same split branches
    // upon re-entry"), thirdset/ThirdSetMauticTimingBundle#27 and mautic/mautic#14098 (both A/B variants sent to one
    // contact): every entry of one person takes the branch she took first, and each entry sends one variant only.
    [Fact]
    public async Task ASplit_OnReEntry_TakesTheBranchSheTookFirst_AndSendsOneVariantPerEntry()
    {
        var journey = JourneyRig.Parse("""
            {"id": "ab", "version": 1, "name": "AB", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "split", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "send-a"}, {"name": "b", "weight": 1, "next": "send-b"}]},
                       {"id": "send-a", "type": "send", "channels": ["email"], "template": "variant-a", "class": "transactional", "next": "end"},
                       {"id": "send-b", "type": "send", "channels": ["email"], "template": "variant-b", "class": "transactional", "next": "end"},
                       {"id": "end", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        const int people = 12;
        const int entries = 4;
        for (var round = 0; round < entries; round++)
        {
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.ProductViewed, [Identifier.CustomerId("c" + i), Identifier.Email("c" + i + "@example.com")], new { product_id = "p" + round });
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(1));
        }

        var byPerson = rig.Recorder.Messages.Cast<EmailMessage>().GroupBy(m => m.To).ToList();
        Assert.Equal(people, byPerson.Count);
        Assert.All(byPerson, g =>
        {
            Assert.Equal(entries, g.Count());
            Assert.Single(g.Select(m => m.Subject).Distinct());
        });
        Assert.Equal(2, byPerson.Select(g => g.First().Subject).Distinct().Count()); // both variants are in use
    }

    // ---- 7. Erased people in segment lists ----

    // gitcoinco/web#8850 (a deleted profile still got the daily digest), mautic/mautic#9245 (leftovers of deleted
    // contacts showing up in a segment): once erased she is listed by no segment, and a profile that comes back under the
    // same email is a new person, listed only when she matches again.
    [Fact]
    public async Task AnErasedPerson_IsListedByNoSegment()
    {
        var all = Segment("""{"id": "all", "name": "All", "rule": {"trait": "tier", "op": "exists"}}""");
        var none = Segment("""{"id": "none", "name": "No order", "rule": {"stat": "orderCount", "op": "eq", "value": 0}}""");
        await using var host = OmnichannelTestHost.Create(o => { o.Segments.Add(all); o.Segments.Add(none); });
        await host.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "gold" });
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("bob")], traits: new { tier = "silver" });
        Assert.Equal(2, (await host.Client.GetSegmentMembersAsync("all")).Count);

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        Assert.Single(await host.Client.GetSegmentMembersAsync("all"));
        Assert.Single(await host.Client.GetSegmentMembersAsync("none"));
        Assert.Null(await host.Client.GetProfileAsync(Ann));
    }
}
