using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Omnichannel.Sdk.Tests.Templates;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U6: bug classes from public reports of comparable systems (round 6), replayed against the public API on a fake
/// clock: birthdays given without a year, tags and categories matched as whole items, SMS segments counted in the
/// alphabet the message is actually sent in, Liquid's date filter on a missing or empty value.
/// </summary>
public sealed class AuditU6Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    // ---- 1. A birthday given without her year ----

    // ryanhowdy/fcms#421 ("Birthday shouldn't require year": people who leave out their year of birth were never shown),
    // rsjtdrjgfuzkfg/thunderbird-birthdaycalendar#28 (support dates without a year), SparkDevNetwork/Rock#3662 (the
    // birthday job does send to people with a day and month but no year): a birthday trait written as ISO 8601's
    // year-less "--MM-DD" (vCard's BDAY without a year) starts the annual birthday journey every year at 09:00 local and
    // makes her a member of "birthday within a week". A one-off (non-annual) date trigger has no instant to fire at.
    [Fact]
    public async Task ABirthdayWithoutAYear_FiresEveryYear_AndIsInTheBirthdaySegment()
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        var soon = Segment("""{"id": "soon", "name": "Birthday soon", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P7D"}}""");
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await using var rig = JourneyRig.Create([journey], [soon], start: start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-12" });
        Assert.False((await rig.Host.ProfileAsync(Ann)).IsInSegment("soon"));

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 5, 0, 0, 0, TimeSpan.Zero));
        Assert.True((await rig.Host.ProfileAsync(Ann)).IsInSegment("soon"));
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 8, 59, 59, TimeSpan.Zero));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:happy-birthday"], rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 13, 0, 0, 0, TimeSpan.Zero));
        Assert.False((await rig.Host.ProfileAsync(Ann)).IsInSegment("soon"));

        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 12, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:happy-birthday", "email:happy-birthday"], rig.Sent());
    }

    // The same reports, for 29 February: a year-less "--02-29" is a valid birthday, on the 28th in other years (as a
    // dated 29 February birthday already is); an impossible "--02-30" or "--13-01" is no date at all.
    // solspace/craft-freeform#2615 (Mailchimp birthdays: "09/06", meant as 9 June, silently stored as 6 September for days
    // 1–12): text that is not ISO 8601 is no date for a date trigger, as it already was for every rule
    // (`anniversaryWithin` here). Before, the trigger read "02/28/1990" and "28 Feb" by .NET's loose invariant parser
    // (month first), and "02-28" in the year of the machine's own clock, while the segments called them no date.
    [Theory]
    [InlineData("--02-29", true)]
    [InlineData("1990-02-28", true)]
    [InlineData("--02-30", false)]
    [InlineData("--13-01", false)]
    [InlineData("02-28", false)]
    [InlineData("02/28/1990", false)]
    [InlineData("28 Feb 1990", false)]
    public async Task AYearlessLeapDayBirthday_FallsOnThe28th_AndAnImpossibleOneIsNoDate(string birthday, bool fires)
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([journey], start: new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday });
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 2, 28, 9, 0, 0, TimeSpan.Zero));
        Assert.Equal(fires ? ["email:happy-birthday"] : [], rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(fires ? ["email:happy-birthday"] : [], rig.Sent());
    }

    // ---- 2. Tags and categories are matched as whole items ----

    // 11ty/buildawesome#95 (a tag filter matched "javascript" for "java"), itemsapi/itemsjs#45 (a filter did a partial
    // string match): `tags contains "vip"` is a member of the list, not a substring of one of its items; likewise an
    // order's `categories contains "vip"` ("bought in the VIP range in the last 90 days"; the same list as categories).
    [Theory]
    [InlineData("""["vip", "new"]""", true)]
    [InlineData("""["vip-lapsed", "new"]""", false)]
    [InlineData("""["VIP"]""", false)] // strict, ordinal: as documented for every rule comparison
    [InlineData("""[]""", false)]
    public async Task ContainsOnAList_IsAWholeItem_NotASubstringOfOne(string tags, bool member)
    {
        var vip = Segment("""{"id": "vip", "name": "VIP", "rule": {"trait": "tags", "op": "contains", "value": "vip"}}""");
        var bought = Segment("""
            {"id": "bought", "name": "Bought in the category", "rule": {"event": "order.placed", "within": "P90D",
             "count": {"op": "gte", "value": 1}, "where": [{"property": "categories", "op": "contains", "value": "vip"}]}}
            """);
        await using var host = OmnichannelTestHost.Create(o => { o.Segments.Add(vip); o.Segments.Add(bought); });
        await host.TrackAsync("user.updated", [Ann], traits: JsonData.Parse("{\"tags\": " + tags + "}"));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": \"o1\", \"total\": 10, \"currency\": \"GBP\", \"categories\": " + tags + "}"));

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(member, p.IsInSegment("vip"));
        Assert.Equal(member, p.IsInSegment("bought"));
    }

    // ---- 3. SMS segments in the alphabet the message is sent in ----

    // TwilioDevEd/message-segment-calculator#18 and #57, alphagov/notifications-utils#1371 (a GSM-7 extension character
    // such as `]`, `{` or `|` was still counted as two once another character had made the message UCS-2, so a 70-unit
    // message showed as 139/70 and two segments became three), #803 and dedayoa/sms-counter-python#4 (extension
    // characters counted as one in GSM-7): an extension character costs two septets in GSM-7 and one code unit in UCS-2.
    [Fact]
    public void AnExtensionCharacter_CostsTwoInGsm7_AndOneInUcs2()
    {
        // #57's body: 70 characters, one of them ∞ (not GSM-7), several extension characters.
        var ucs = new string('|', 24) + "{" + new string('|', 28) + "∞" + new string('|', 10) + "^" + new string('|', 5);
        Assert.Equal(70, ucs.Length);
        Assert.Equal(new SmsSegmentInfo(SmsAlphabet.Ucs2, 70, 1, 70), SmsEncoding.Analyze(ucs));

        // #18's body: "this is a " + 76 `]` + an emoji (a surrogate pair): 88 code units, two UCS-2 segments, not three.
        var emoji = "this is a " + new string(']', 76) + "😘";
        Assert.Equal(SmsAlphabet.Ucs2, SmsEncoding.Analyze(emoji).Alphabet);
        Assert.Equal(2, SmsEncoding.CountSegments(emoji));

        // GSM-7: five extension characters are ten septets; 80 of them are 160, one segment; 153 `]` are three parts of
        // 153 septets (an escape pair never straddles a part: 76 + 76 + 1 pairs), as Twilio bills #39's body.
        Assert.Equal(new SmsSegmentInfo(SmsAlphabet.Gsm7, 10, 1, 160), SmsEncoding.Analyze("{}[]~"));
        Assert.Equal(1, SmsEncoding.CountSegments(new string('€', 80)));
        Assert.Equal(2, SmsEncoding.CountSegments(new string('€', 81)));
        Assert.Equal(3, SmsEncoding.CountSegments(new string(']', 153)));

        // Norwegian æ ø å and German ß are GSM-7 (Altinn/altinn-studio-docs#2935): 160 of them are one segment.
        Assert.Equal(new SmsSegmentInfo(SmsAlphabet.Gsm7, 160, 1, 160), SmsEncoding.Analyze(string.Concat(Enumerable.Repeat("æøåß", 40))));
    }

    // ---- 4. Liquid's date filter on a missing or empty value ----

    // harttle/liquidjs#868 (a null date printed as 1 January 1970), TheDMSGroup/mautic-contact-client#194 (empty dates
    // presented as today), Shopify/liquid#555 (date on an empty string), handlecommerce/liquex#34 (date on nil crashed):
    // a missing, null or empty date prints nothing, neither today nor the epoch, and the rest of the message renders.
    [Theory]
    [InlineData("{{ profile.traits.missing | date: '%d %B %Y' }}")]
    [InlineData("{{ profile.traits.none | date: '%d %B %Y' }}")]
    [InlineData("{{ profile.traits.empty | date: '%d %B %Y' }}")]
    [InlineData("{{ event.properties.eta | date: '%d %B %Y' }}")]
    public void TheDateFilter_OnAMissingNullOrEmptyValue_PrintsNothing(string part)
    {
        var profile = TemplateTestData.Clara(timeZone: "Europe/London").WithTrait("empty", "").WithTrait("none", JsonData.Parse("null"));
        var context = TemplateTestData.Context(profile, TemplateTestData.Event("order.shipped", new { other = 1 }));

        var body = TemplateTestData.RenderSms("[" + part + "] ok", context);

        Assert.Equal("[] ok", body);
    }
}
