using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U65: sizes and shapes that stall or crash the engine (round 65). Ids longer than the stores and measurement
/// keep them, and trait paths whose dotted names nest deeper than anything can render or write.
/// </summary>
public sealed class AuditU65Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u65");

    private static string Journey(string id = "cart", string step = "mail", string template = "cart") => $$"""
        {"id": "{{id}}", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "{{step}}", "type": "send", "channels": ["email"], "template": "{{template}}"}]}
        """;

    private static string Long(int length) => "x" + new string('y', length - 1);

    // ---- 1. Ids of any length. PostHog/posthog#8380 (a distinct id with no length check failed every insert:
    // "value too long for type character varying(400)"), payloadcms/payload#8787 and rails/solid_queue#151 ("index row
    // size … exceeds btree version 4 maximum 2704"), AffiliateWP/AffiliateWP#1055 (a campaign name past its limit: the
    // visit silently not recorded). A journey id of 302 characters loaded; its measurement rows were cut to 200
    // characters and its statistics, read under the whole id, said nobody entered (0 for a journey that had sent), and
    // two such ids alike in their first 200 characters shared counters. A 1,990-character id made every message key
    // longer than a PostgreSQL index entry holds. ----
    [Theory]
    [InlineData("id", "$.id")]
    [InlineData("step", "$.steps[0].id")]
    [InlineData("template", "$.steps[0].template")]
    public void AJourneyIdLongerThanItsMeasurementKey_IsRefusedAtItsPath(string which, string path)
    {
        var tooLong = Long(JourneyDefinitionValidator.MaxIdLength + 1);
        var json = which switch
        {
            "id" => Journey(id: tooLong),
            "step" => Journey(step: tooLong),
            _ => Journey(template: tooLong),
        };

        var result = JourneyJson.Parse(json);

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains("201 characters long; at most 200", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASegmentIdOfAMegabyte_IsRefusedAtItsPath_QuotingItShortened()
    {
        var result = SegmentJson.Parse("{\"id\": \"" + Long(1_000_000) + "\", \"name\": \"Big\", \"rule\": {\"trait\": \"tier\", \"op\": \"exists\"}}");

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.id", error.Path);
        Assert.Contains("at most 200", error.Message, StringComparison.Ordinal);
        Assert.InRange(error.Message.Length, 1, 1_100);
        Assert.Throws<SegmentDefinitionException>(() => Segment.Define(Long(201), "Big").Where(new TraitRule("tier", new Condition(ConditionOperator.Exists, null))).Build());
    }

    // The limit itself: a journey whose id, step id and template id are 200 characters each is counted and sends.
    [Fact]
    public async Task AJourneyAtTheIdLimit_IsCountedUnderItsId_AndSends()
    {
        var id = Long(JourneyDefinitionValidator.MaxIdLength);
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Journey(id, "m" + id[1..], "t" + id[1..]))]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, Identifier.Email("ann.u65@example.com")], new { channel = "email", granted = true });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Single(rig.Sent());
        var statistics = await rig.Engine.GetJourneyStatisticsAsync(id);
        Assert.Equal(1, statistics.Entered);
        Assert.Equal(1, statistics.Completed);
    }

    // ---- 2. Dotted trait keys nest. ljharb/qs#170 (qs bounds how deep a key like a[b][c]… may nest: its depth option,
    // 5 by default), hughsk/flat#120 and #59 (unflatten has no maxDepth): this engine too reads a trait key a.b.c as
    // the path a → b → c (as "address.city" is written). The depth check counted the JSON's
    // own nesting only, so one identify with a 140-byte key of 70 names ("a.a.a…") was accepted and nested her traits 70
    // deep. From then on every message to her failed to render ("The data at profile.traits could not be converted"):
    // the journey skipped each send. With 1,500 names her export (the GDPR access answer) threw "CurrentDepth (1000) is
    // equal to or larger than the maximum allowed depth". ----
    [Fact]
    public async Task ATraitKeyOfSeventyDottedNames_IsRejectedWithItsField_AndHerMessagesStillGoOut()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Journey())]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann, Identifier.Email("ann.u65@example.com")], new { channel = "email", granted = true });
        var deep = string.Join(".", Enumerable.Repeat("a", 70));

        var result = await rig.Host.Client.TrackAsync(rig.Host.Event("user.identified", [Ann], traits: new Dictionary<string, object> { [deep] = 1, ["first_name"] = "Ann" }));

        Assert.Equal(TrackStatus.Rejected, result.Status);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("traits.a.a.a", error.Field, StringComparison.Ordinal);
        Assert.Contains("70 dotted names", error.Message, StringComparison.Ordinal);

        // Her other events, and the journey's message, are untouched.
        await rig.TrackAsync("user.identified", [Ann], traits: new { first_name = "Ann" });
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:cart"], rig.Sent());
        Assert.NotNull((await rig.Host.Client.ExportProfileAsync(Ann))!.ToJsonString());
    }

    // The limit is MaxJsonDepth (default 32) with each dot a level, the traits object counting as 1: a key of 32 names at
    // the root is what 32 nested objects hold (accepted), 33 are not; a dotted key inside an object adds to its depth,
    // and an object under a dotted key counts one more.
    [Theory]
    [InlineData("""{"K32": 1}""", true)]
    [InlineData("""{"K33": 1}""", false)]
    [InlineData("""{"a": {"K31": 1}}""", true)]
    [InlineData("""{"a": {"K32": 1}}""", false)]
    [InlineData("""{"K31": {"b": 1}}""", true)]
    [InlineData("""{"K32": {"b": 1}}""", false)]
    public async Task DottedTraitKeys_CountTowardsMaxJsonDepth(string traits, bool accepted)
    {
        await using var host = Omnichannel.Sdk.Testing.OmnichannelTestHost.Create();
        foreach (var n in new[] { 33, 32, 31 })
        {
            traits = traits.Replace("K" + n, string.Join(".", Enumerable.Range(0, n).Select(i => "k" + i)), StringComparison.Ordinal);
        }

        using var document = System.Text.Json.JsonDocument.Parse(traits);
        var e = host.Event("user.identified", [Ann]) with { Traits = document.RootElement.Clone() };

        var result = await host.Client.TrackAsync(e);

        Assert.Equal(accepted ? TrackStatus.Accepted : TrackStatus.Rejected, result.Status);
        Assert.All(result.Errors, x => Assert.StartsWith("traits", x.Field, StringComparison.Ordinal));
    }

    // ---- 3. A journey's updateProfile step writes a path the same way: one with 1,500 names loaded, ran, and her export
    // threw; one of 70 stopped her messages rendering. Refused at load past 48 levels (the highest MaxJsonDepth). ----
    [Theory]
    [InlineData(48, "1", true)]
    [InlineData(49, "1", false)]
    [InlineData(47, """{"b": 1}""", true)]
    [InlineData(47, """{"b": {"c": 1}}""", false)]
    [InlineData(1_500, "1", false)]
    public void AnUpdateProfileStepsTraitPath_NestsAtMostAsDeepAsAnEventsTraits(int names, string value, bool valid)
    {
        var path = string.Join(".", Enumerable.Range(0, names).Select(i => "t" + i));
        var json = """
            {"id": "deep", "version": 1, "name": "Deep", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "up", "type": "updateProfile", "set": {"PATH": VALUE}}]}
            """.Replace("PATH", path, StringComparison.Ordinal).Replace("VALUE", value, StringComparison.Ordinal);

        var result = JourneyJson.Parse(json);

        Assert.Equal(valid, result.IsValid);
        if (!valid)
        {
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("$.steps[0].set['t0.t1.", error.Path, StringComparison.Ordinal);
            Assert.Contains("at most 48", error.Message, StringComparison.Ordinal);
        }
    }
}
