using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit J3: journeys against bugs reported of comparable systems (splits, date triggers, segment entries, versions, goals).</summary>
public sealed class AuditJ3JourneyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    private static string Birthday(int version, string localTime, string offset = "P0D") => $$"""
        {"id": "bday", "version": {{version}}, "name": "Birthday",
         "trigger": {"type": "date", "trait": "birthday", "offset": "{{offset}}", "localTime": "{{localTime}}", "annual": true},
         "steps": [{"id": "wish", "type": "send", "channels": ["email"], "template": "wish", "class": "transactional"}]}
        """;

    private static async Task<List<DateTimeOffset>> Entered(JourneyRig rig) =>
        [.. (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.entered").Select(t => t.Timestamp).OrderBy(t => t)];

    [Fact]
    public async Task AnnualDate_SheMovesWestAfterItFired_DoesNotFireTheSameBirthdayAgain()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Birthday(1, "09:00"))], start: new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-05-10" }, context: new EventContext { TimeZone = "Europe/London" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 10, 9, 0, 0, TimeSpan.Zero)); // 10:00 London (BST)
        Assert.Single(await Entered(rig));

        // Still 10 May in New York (05:00): the birthday of this year was already wished.
        await rig.TrackAsync("app.opened", [Ann], context: new EventContext { TimeZone = "America/New_York" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 12, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(await Entered(rig));
        Assert.Equal(["email:wish"], rig.Sent());

        // Next year in New York.
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 5, 11, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2026, 5, 10, 8, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 5, 10, 13, 0, 0, TimeSpan.Zero)], await Entered(rig));
    }

    [Fact]
    public async Task AnnualDate_ANewVersionMovesTheTime_FiresAtTheNewVersionsTime()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Birthday(1, "09:00"))], start: new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-05-10" });
        await rig.Engine.PublishJourneyAsync(JourneyRig.Parse(Birthday(2, "15:00", "-P1D")));
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 12, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2026, 5, 9, 15, 0, 0, TimeSpan.Zero)], await Entered(rig));
        Assert.Equal(["email:wish"], rig.Sent());
    }

    [Fact]
    public async Task AnnualDate_ANewVersionMovesTheTimeLaterAfterItFired_DoesNotFireThatBirthdayAgain()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Birthday(1, "09:00"))], start: new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-05-10" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 10, 10, 0, 0, TimeSpan.Zero));
        await rig.Engine.PublishJourneyAsync(JourneyRig.Parse(Birthday(2, "15:00")));
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 5, 11, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2026, 5, 10, 9, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 5, 10, 15, 0, 0, TimeSpan.Zero)], await Entered(rig));
        Assert.Equal(["email:wish", "email:wish"], rig.Sent());
    }

    // Checked and fine: a zone fourteen hours ahead of UTC wishes her on her own morning, the evening before in UTC.
    [Fact]
    public async Task AnnualDate_InAZoneFarAheadOfUtc_FiresOnHerLocalDay()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Birthday(1, "09:00"))], start: new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "1990-05-10" }, context: new EventContext { TimeZone = "Pacific/Kiritimati" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 12, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2026, 5, 9, 19, 0, 0, TimeSpan.Zero)], await Entered(rig));
    }

    private static readonly SegmentDefinition Gold = SegmentJson.Parse("""{"id": "gold", "name": "Gold", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""").Value!;

    private static string GoldWelcome(string reEntry) => $$"""
        {"id": "gold-welcome", "version": 1, "name": "Gold", "trigger": {"type": "segment", "segment": "gold", "on": "entered"},
         "entry": {"reEntry": "{{reEntry}}"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "gold", "class": "transactional"}]}
        """;

    [Theory]
    [InlineData("never", 1)]
    [InlineData("afterPreviousEnded", 2)]
    public async Task SegmentEntry_StayingInside_StartsOnce_AndReEnteringFollowsThePolicy(string reEntry, int expected)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(GoldWelcome(reEntry))], [Gold]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { tier = "gold" });
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "gold", points = 2 });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:gold"], rig.Sent());
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "silver" });
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "gold" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(expected, rig.Sent().Count);
    }

    private const string Split = """
        {"id": "ab", "version": 1, "name": "AB", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "split", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "ma"}, {"name": "b", "weight": 1, "next": "mb"}]},
                   {"id": "ma", "type": "send", "channels": ["email"], "template": "ab", "class": "transactional", "next": "end"},
                   {"id": "mb", "type": "send", "channels": ["email"], "template": "ab", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """;

    [Fact]
    public async Task Split_AfterTwoProfilesMerge_ThePersonKeepsHerFirstDraw()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Split)]);
        var first = new List<string>();
        for (var n = 0; n < 8; n++)
        {
            var one = Identifier.AnonymousId($"dev-{n}-1");
            var two = Identifier.AnonymousId($"dev-{n}-2");
            var known = Identifier.CustomerId($"p-{n}");
            await rig.TrackAsync(EventTypes.CartItemAdded, [one], new { product_id = "x" });
            var drawn = (await rig.Host.ProfileAsync(one)).Experiments.Single().Variant;
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
            await rig.TrackAsync(EventTypes.CartItemAdded, [two], new { product_id = "x" });
            await rig.TrackAsync("user.logged_in", [two, known]);
            await rig.TrackAsync("user.logged_in", [one, known]);
            var p = await rig.Host.ProfileAsync(known);
            Assert.Equal(drawn, p.Experiments.Single().Variant);
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
            await rig.TrackAsync(EventTypes.CartItemAdded, [known], new { product_id = "y" });
            var split = (await rig.Host.ProfileAsync(known)).Timeline.Where(t => t.Type == "journey.split").MaxBy(t => t.Timestamp)!;
            Assert.EndsWith("variant " + drawn, split.Summary);
        }
    }

    [Fact]
    public async Task Split_NewWeightsInANewVersion_DoNotMovePeopleAlreadyAssigned()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Split)]);
        var drawn = new Dictionary<int, string>();
        for (var n = 0; n < 8; n++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId($"p-{n}")], new { product_id = "x" });
            drawn[n] = (await rig.Host.ProfileAsync(Identifier.CustomerId($"p-{n}"))).Experiments.Single().Variant;
        }

        await rig.Engine.PublishJourneyAsync(JourneyRig.Parse(Split.Replace("\"version\": 1", "\"version\": 2").Replace("\"weight\": 1, \"next\": \"mb\"", "\"weight\": 99, \"next\": \"mb\"")));
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
        for (var n = 0; n < 8; n++)
        {
            await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId($"p-{n}")], new { product_id = "y" });
            var p = await rig.Host.ProfileAsync(Identifier.CustomerId($"p-{n}"));
            var splits = p.Timeline.Where(t => t.Type == "journey.split").ToList();
            Assert.Equal(2, splits.Count);
            Assert.All(splits, t => Assert.EndsWith("variant " + drawn[n], t.Summary));
        }
    }
}
