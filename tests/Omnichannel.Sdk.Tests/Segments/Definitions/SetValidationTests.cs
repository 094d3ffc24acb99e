using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class SetValidationTests
{
    private static SegmentDefinition Def(string id, SegmentRule rule) => new(id, id.ToUpperInvariant(), rule);

    private static SegmentRule Ref(string id) => new SegmentMembershipRule(id);

    private static SegmentRule Trait() => new TraitRule("tier", new Condition(ConditionOperator.Eq, "vip"));

    [Fact]
    public void Validate_WhenIdsRepeat_ReportsTheSecondWithTheFirstsPosition()
    {
        var errors = SegmentSetValidator.Validate([Def("a", Trait()), Def("b", Trait()), Def("a", Trait())]);

        var e = Assert.Single(errors);
        Assert.Equal("$[2].id", e.Path);
        Assert.Contains("$[0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenAReferenceIsUnknown_ReportsThePathOfTheReference()
    {
        var errors = SegmentSetValidator.Validate([
            Def("a", Trait()),
            Def("b", Trait()),
            Def("c", new AnyRule([Ref("ghost"), Ref("a")])),
        ]);

        var e = Assert.Single(errors);
        Assert.Equal("$[2].rule.any[0].segment", e.Path);
        Assert.Contains("unknown segment 'ghost'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenAReferenceIsAnExistingId_AcceptsIt()
    {
        var errors = SegmentSetValidator.Validate([Def("c", Ref("loaded-before"))], new HashSet<string> { "loaded-before" });

        Assert.Empty(errors);
    }

    [Fact]
    public void Validate_WhenSegmentsFormACycle_NamesTheCycle()
    {
        var errors = SegmentSetValidator.Validate([
            Def("a", new AllRule([Trait(), Ref("b")])),
            Def("b", new NotRule(Ref("c"))),
            Def("c", Ref("a")),
            Def("d", Ref("a")),
        ]);

        var e = Assert.Single(errors);
        Assert.Equal("$[2].rule.segment", e.Path);
        Assert.Contains("a → b → c → a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenTwoSegmentsReferenceEachOther_ReportsOneCycle()
    {
        var errors = SegmentSetValidator.Validate([Def("a", Ref("b")), Def("b", Ref("a"))]);

        Assert.Equal("segments form a cycle: a → b → a (a segment cannot depend on itself)", Assert.Single(errors).Message);
    }

    [Fact]
    public void Validate_ChecksEachDefinitionToo_WithItsIndex()
    {
        var errors = SegmentSetValidator.Validate([
            Def("a", Trait()),
            Def("b", new EventRule("Bad Type")),
        ]);

        Assert.Equal("$[1].rule.event", Assert.Single(errors).Path);
    }

    [Fact]
    public void ParseMany_ReportsDefinitionAndSetErrorsTogether_OrderedByPath()
    {
        var result = SegmentJson.ParseMany("""
            [ {"id":"a","name":"A","rule":{"segment":"b"}},
              {"id":"b","name":"B","rule":{"all":[{"segment":"a"},{"trait":"x","op":"eq"}]}},
              {"id":"a","name":"A again","rule":{"any":[{"segment":"nope"}]}} ]
            """);

        Assert.False(result.IsValid);
        Assert.Null(result.Value);
        Assert.Equal(
            ["$[1].rule.all[0].segment", "$[1].rule.all[1].value", "$[2].id", "$[2].rule.any[0].segment"],
            result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void ParseMany_WhenItemsAreNotObjects_ReportsEachOnceWithoutKnockOnErrors()
    {
        var result = SegmentJson.ParseMany("""[ 1, {"id":"ok","name":"OK","rule":{"segment":"vip"}}, "x" ]""", new HashSet<string> { "vip" });

        Assert.Equal(["$[0]", "$[2]"], result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void ParseMany_WhenRootIsNotAnArray_SaysAnArrayIsExpected()
    {
        var result = SegmentJson.ParseMany("""{"id":"a"}""");

        Assert.Equal("$", Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void OrderByDependencies_PutsReferencedSegmentsFirst_OtherwiseKeepsOrder()
    {
        var ordered = SegmentSetValidator.OrderByDependencies([
            Def("lapsed-vip-fr", new AllRule([Ref("lapsed-vip"), Ref("fr")])),
            Def("unrelated", Trait()),
            Def("lapsed-vip", new AllRule([Ref("vip"), Ref("outside-the-set")])),
            Def("vip", Trait()),
            Def("fr", Trait()),
        ]);

        Assert.Equal(["vip", "lapsed-vip", "fr", "lapsed-vip-fr", "unrelated"], ordered.Select(d => d.Id));
    }

    [Fact]
    public void OrderByDependencies_WhenThereIsACycle_Throws()
    {
        var ex = Assert.Throws<SegmentDefinitionException>(() => SegmentSetValidator.OrderByDependencies([Def("a", Ref("b")), Def("b", Ref("a"))]));

        Assert.Contains("a → b → a", ex.Message, StringComparison.Ordinal);
    }
}
