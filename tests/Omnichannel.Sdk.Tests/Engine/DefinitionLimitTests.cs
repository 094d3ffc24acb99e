using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>Issue 13, section 2: definitions that load, run; every problem is an error with its JSON path.</summary>
public sealed class DefinitionLimitTests
{
    private static readonly Condition Exists = new(ConditionOperator.Exists, null);

    /// <summary>A journey with every trigger part, entry rule and step kind, for the wrong-kind and fuzz tests.</summary>
    internal const string EveryStepJson = """
        {"id": "every-step", "version": 1, "name": "Every step", "description": "d",
         "trigger": {"type": "event", "event": "cart.item_added", "where": [{"property": "total", "op": "gte", "value": 50}]},
         "entry": {"reEntry": "afterCooldown", "cooldown": "P30D", "maxConcurrent": 2, "correlationKey": "cart_id", "condition": {"reachable": "email"}},
         "exit": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 0}]}, {"condition": {"segment": "no-order-90d"}}],
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [
           {"id": "s1", "type": "send", "channels": ["push", "email"], "template": "t", "topic": "cart", "class": "marketing"},
           {"id": "s2", "type": "delayUntilLocalTime", "localTime": "09:00", "days": ["monday", "friday"]},
           {"id": "s3", "type": "delayUntilDateTrait", "trait": "refill_due_at", "offset": "-P3D", "localTime": "09:00"},
           {"id": "s4", "type": "waitForEvent", "branches": [{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": 0}], "next": "s5"}, {"event": "product.viewed"}], "timeout": "P7D", "timeoutNext": "s5", "restartOnMatch": true},
           {"id": "s5", "type": "branch", "branches": [{"condition": {"reachable": "push"}, "next": "s6"}, {"condition": {"all": [{"trigger": "total", "op": "gte", "value": 50}, {"trait": "tier", "op": "eq", "value": "vip"}]}, "next": "s6"}, {"condition": {"not": {"context": "variant", "op": "eq", "value": "a"}}, "next": "s6"}], "else": "s6"},
           {"id": "s6", "type": "split", "variants": [{"name": "a", "weight": 50, "next": "s7"}, {"name": "b", "weight": 50, "next": "s7"}], "controlWeight": 10},
           {"id": "s7", "type": "updateProfile", "set": {"tier": "gold", "prefs.color": {"x": 1}}, "unset": ["old"], "increment": {"visits": 1}},
           {"id": "s8", "type": "emit", "event": "journey.cart_recovered", "properties": {"cart_id": "c1", "n": 2}},
           {"id": "s9", "type": "webhook", "url": "https://example.com/hook", "payload": "{{ profile.id }}"},
           {"id": "s10", "type": "delay", "duration": "P1D"},
           {"id": "s11", "type": "exit", "reason": "done"}]}
        """;

    [Theory]
    [InlineData("P999999W")]
    [InlineData("P101Y")]
    [InlineData("P36601D")]
    [InlineData("PT878401H")]
    public void Segment_WindowLongerThanEvaluationCanCompute_IsAPathErrorAtLoad(string within)
    {
        var result = SegmentJson.Parse($$$"""{"id": "s", "name": "S", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "{{{within}}}"}}""");

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.rule.within", error.Path);
        Assert.Contains("100 years", error.Message);
    }

    [Fact]
    public void Segment_HundredYearWindow_LoadsAndEveryOrderStillWorks()
    {
        var result = SegmentJson.Parse("""{"id": "s", "name": "S", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "P100Y"}}""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Theory]
    [InlineData("""{"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P9999Y"}""", "$.rule.value")]
    [InlineData("""{"stat": "lastOrderAt", "op": "withinLast", "value": "P999999W"}""", "$.rule.value")]
    public void Segment_RecencyLongerThanEvaluationCanCompute_IsAPathError(string rule, string path)
    {
        var result = SegmentJson.Parse($$"""{"id": "s", "name": "S", "rule": {{rule}}}""");
        Assert.Contains(result.Errors, e => e.Path == path);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Builder_WindowLongerThanEvaluationCanCompute_Throws()
    {
        Assert.Throws<FormatException>(() => Segment.Define("s", "S").Where(r => r.Event("order.placed").Within("P999999W")).Build());
        Assert.Throws<ArgumentOutOfRangeException>(() => IsoDuration.FromDays(IsoDuration.MaxDays + 1));
    }

    [Theory]
    [InlineData("""{"id": "a", "type": "delay", "duration": "P9999Y"}""", "", "$.steps[0].duration")]
    [InlineData("""{"id": "a", "type": "exit"}""", """, "goal": {"event": "order.placed", "within": "P9999Y"}""", "$.goal.within")]
    [InlineData("""{"id": "a", "type": "exit"}""", """, "entry": {"reEntry": "afterCooldown", "cooldown": "P999999W"}""", "$.entry.cooldown")]
    [InlineData("""{"id": "a", "type": "waitForEvent", "branches": [{"event": "order.placed"}], "timeout": "P200Y"}""", "", "$.steps[0].timeout")]
    [InlineData("""{"id": "a", "type": "delayUntilDateTrait", "trait": "due", "offset": "-P9999Y", "localTime": "09:00"}""", "", "$.steps[0].offset")]
    public void Journey_DurationLongerThanEvaluationCanCompute_IsAPathErrorAtLoad(string step, string extra, string path)
    {
        var result = JourneyJson.Parse(JourneyJsonTests.Definition(step, extra: extra));

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("0")]
    [InlineData("\"\"")]
    [InlineData("[]")]
    [InlineData("{}")]
    public void Journey_TriggerOfTheWrongKind_IsAPathErrorNotAnException(string trigger)
    {
        var result = JourneyJson.Parse(JourneyJsonTests.Definition("""{"id": "a", "type": "exit"}""", trigger));

        Assert.False(result.IsValid);
        Assert.All(result.Errors, e => Assert.StartsWith("$.trigger", e.Path, StringComparison.Ordinal));
        Assert.NotEmpty(result.Errors);
    }

    public static TheoryData<string> WrongKinds => ["null", "true", "0", "\"\"", "[]", "{}", "1e300", "\"x\""];

    [Fact]
    public void EveryStepJourney_IsValid()
    {
        var result = JourneyJson.Parse(EveryStepJson);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Theory]
    [MemberData(nameof(WrongKinds))]
    public void Journey_EveryMemberOfEveryWrongKind_IsAPathError(string wrong)
    {
        // Every member of a rich definition, in turn, replaced by a value of another JSON kind.
        foreach (var baseline in JourneyScenarios.AllJson.Append(EveryStepJson))
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(baseline)!;
            foreach (var (mutant, at) in Replacing(root, wrong))
            {
                var result = JourneyJson.Parse(mutant);
                Assert.True(result.IsValid || result.Errors.All(e => e.Path.StartsWith('$')), $"{at}: {string.Join("; ", result.Errors)}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(WrongKinds))]
    public void Segment_EveryMemberOfEveryWrongKind_IsAPathError(string wrong)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse("""{"id": "s", "name": "S", "rule": {"all": [{"trait": "tier", "op": "eq", "value": "vip"}, {"not": {"aggregate": "sum", "event": "order.placed", "property": "total", "where": [{"property": "currency", "op": "eq", "value": "EUR"}], "within": "P90D", "op": "gte", "value": 5}}, {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D"}, {"event": "x.y", "between": ["2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"]}]}}""")!;
        foreach (var (mutant, at) in Replacing(root, wrong))
        {
            var result = SegmentJson.Parse(mutant);
            Assert.True(result.IsValid || result.Errors.All(e => e.Path.StartsWith('$')), $"{at}: {string.Join("; ", result.Errors)}");
        }
    }

    [Fact]
    public void Segments_ChainOfOneHundredThousand_LoadWithoutOverflowingTheStack()
    {
        var definitions = Enumerable.Range(0, 100_000)
            .Select(i => new SegmentDefinition("s" + i, "S", i == 99_999 ? new TraitRule("t", Exists) : new SegmentMembershipRule("s" + (i + 1))))
            .ToList();

        var errors = SegmentSetValidator.Validate(definitions);
        var ordered = SegmentSetValidator.OrderByDependencies(definitions);
        var catalog = SegmentCatalog.Create(definitions);

        Assert.Empty(errors);
        Assert.Equal("s99999", ordered[0].Id);
        Assert.True(catalog.Contains("s0"));
    }

    [Fact]
    public void Segments_ChainOfOneHundredThousandInJson_LoadWithoutOverflowingTheStack()
    {
        var json = new StringBuilder("[");
        for (var i = 0; i < 100_000; i++)
        {
            json.Append(i == 0 ? string.Empty : ",").Append($$$"""{"id":"s{{{i}}}","name":"S","rule":{"segment":"s{{{(i + 1) % 100_000}}}"}}""");
        }

        var result = SegmentJson.ParseMany(json.Append(']').ToString());

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Message.Contains("cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Segment_TenThousandNestedNotThroughAJsonElement_IsAPathErrorNotAStackOverflow()
    {
        using var document = JsonDocument.Parse(NestedNot(10_000, """{"trait": "t", "op": "exists"}"""), new JsonDocumentOptions { MaxDepth = 20_000 });

        var result = SegmentJson.Parse(Wrap(document.RootElement));

        Assert.False(result.IsValid);
        Assert.StartsWith("$.rule", Assert.Single(result.Errors).Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Journey_TenThousandNestedNotThroughAJsonElement_IsAPathErrorNotAStackOverflow()
    {
        var json = JourneyJsonTests.Definition($$"""{"id": "a", "type": "branch", "branches": [{"condition": {{NestedNot(10_000, """{"trigger": "total", "op": "exists"}""")}}, "next": "b"}], "else": "b"}, {"id": "b", "type": "exit"}""");
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 20_000 });

        var result = JourneyJson.Parse(document.RootElement);

        Assert.False(result.IsValid);
        Assert.StartsWith("$.steps[0].branches[0].condition", Assert.Single(result.Errors).Path, StringComparison.Ordinal);
    }

    [Fact]
    public void BuilderReaderAndWriter_AgreeOnTheRuleDepthLimit()
    {
        var atLimit = new SegmentDefinition("deep", "Deep", Nest(SegmentDefinitionValidator.MaxRuleDepth));
        var beyond = new SegmentDefinition("deep", "Deep", Nest(SegmentDefinitionValidator.MaxRuleDepth + 1));

        // At the limit: valid, written, read back.
        Assert.Empty(SegmentDefinitionValidator.Validate(atLimit));
        var written = SegmentJson.Serialize(atLimit);
        Assert.True(SegmentJson.Parse(written).IsValid);

        // One beyond: the builder's validation, the reader and the writer all refuse, with the same message.
        var fromBuilder = SegmentDefinitionValidator.Validate(beyond);
        Assert.NotEmpty(fromBuilder);
        Assert.Throws<SegmentDefinitionException>(() => Segment.Define("deep", "Deep").Where(beyond.Rule).Build());
        var beyondJson = NestedAllAnyNot(SegmentDefinitionValidator.MaxRuleDepth + 1);
        var fromReader = SegmentJson.Parse("""{"id": "deep", "name": "Deep", "rule": """ + beyondJson + "}").Errors;
        Assert.Equal(fromBuilder.Select(e => e.ToString()), fromReader.Select(e => e.ToString()));
        Assert.Throws<ArgumentException>(() => SegmentJson.Serialize(beyond));
    }

    [Fact]
    public void Builder_TenThousandNestedNot_IsAnErrorNotAStackOverflow()
    {
        SegmentRule rule = new TraitRule("t", Exists);
        for (var i = 0; i < 10_000; i++)
        {
            rule = new NotRule(rule);
        }

        var definition = new SegmentDefinition("deep", "Deep", rule);

        Assert.Single(SegmentDefinitionValidator.Validate(definition));
        Assert.Throws<ArgumentException>(() => SegmentJson.Serialize(definition));
        Assert.NotEmpty(SegmentSetValidator.Validate([definition]));
    }

    [Fact]
    public void Journey_WithMoreThanAThousandSteps_IsAPathError()
    {
        var steps = string.Join(", ", Enumerable.Range(0, 1_001).Select(i => $$$"""{"id": "s{{{i}}}", "type": "updateProfile", "set": {"n": {{{i}}}}}"""));
        var result = JourneyJson.Parse(JourneyJsonTests.Definition(steps));
        Assert.Contains(result.Errors, e => e.Path == "$.steps" && e.Message.Contains("1000", StringComparison.Ordinal));
    }

    [Fact]
    public void Journey_SplitWeightsThatOverflowWhenSummed_AreAPathError()
    {
        var result = JourneyJson.Parse(JourneyJsonTests.Definition(
            """{"id": "a", "type": "split", "variants": [{"name": "a", "weight": 2147483647, "next": "b"}, {"name": "b", "weight": 2147483647, "next": "b"}]}, {"id": "b", "type": "exit"}"""));

        Assert.Equal("$.steps[0].variants", Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void Definitions_WithUnpairedSurrogates_ArePathErrors()
    {
        var segment = SegmentJson.Parse("""{"id": "s", "name": "S", "rule": {"event": "\ud800"}}""");
        var journey = JourneyJson.Parse(JourneyJsonTests.Definition("""{"id": "a", "type": "exit", "reason": "\udbff"}"""));

        Assert.Equal("$.rule.event", Assert.Single(segment.Errors).Path);
        Assert.Equal("$.steps[0].reason", Assert.Single(journey.Errors).Path);
    }

    private static JsonElement Wrap(JsonElement rule)
    {
        using var document = JsonDocument.Parse("{\"id\": \"s\", \"name\": \"S\", \"rule\": " + rule.GetRawText() + "}", new JsonDocumentOptions { MaxDepth = 20_000 });
        return document.RootElement.Clone();
    }

    private static SegmentRule Nest(int levels)
    {
        SegmentRule rule = new TraitRule("t", Exists);
        for (var i = 1; i < levels; i++)
        {
            rule = (i % 3) switch
            {
                0 => new AllRule([rule]),
                1 => new AnyRule([rule, new TraitRule("u", Exists)]),
                _ => new NotRule(rule),
            };
        }

        return rule;
    }

    private static string NestedAllAnyNot(int levels)
    {
        var rule = """{"trait": "t", "op": "exists"}""";
        for (var i = 1; i < levels; i++)
        {
            rule = (i % 3) switch
            {
                0 => $$"""{"all": [{{rule}}]}""",
                1 => $$"""{"any": [{{rule}}, {"trait": "u", "op": "exists"}]}""",
                _ => $$"""{"not": {{rule}}}""",
            };
        }

        return rule;
    }

    private static string NestedNot(int depth, string leaf)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            sb.Append("{\"not\": ");
        }

        sb.Append(leaf);
        sb.Append('}', depth);
        return sb.ToString();
    }

    /// <summary>Every member and array item of <paramref name="root"/> replaced, one at a time, by <paramref name="json"/>.</summary>
    private static IEnumerable<(string Json, string At)> Replacing(System.Text.Json.Nodes.JsonNode root, string json)
    {
        var paths = new List<System.Text.Json.Nodes.JsonNode>();
        var stack = new Stack<System.Text.Json.Nodes.JsonNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.Parent is not null)
            {
                paths.Add(n);
            }

            foreach (var child in n switch
            {
                System.Text.Json.Nodes.JsonObject o => o.Select(p => p.Value),
                System.Text.Json.Nodes.JsonArray a => a,
                _ => [],
            })
            {
                if (child is not null)
                {
                    stack.Push(child);
                }
            }
        }

        foreach (var node in paths)
        {
            var at = node.GetPath();
            var copy = root.DeepClone();
            var target = Find(copy, at);
            const string marker = "\"__wrong__\"";
            target.ReplaceWith(System.Text.Json.Nodes.JsonValue.Create("__wrong__"));
            yield return (copy.ToJsonString().Replace(marker, json, StringComparison.Ordinal), at);
        }
    }

    private static System.Text.Json.Nodes.JsonNode Find(System.Text.Json.Nodes.JsonNode root, string path)
    {
        var stack = new Stack<System.Text.Json.Nodes.JsonNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.GetPath() == path)
            {
                return n;
            }

            foreach (var child in n switch
            {
                System.Text.Json.Nodes.JsonObject o => o.Select(p => p.Value),
                System.Text.Json.Nodes.JsonArray a => a,
                _ => [],
            })
            {
                if (child is not null)
                {
                    stack.Push(child);
                }
            }
        }

        throw new InvalidOperationException(path);
    }
}

/// <summary>Definitions that loaded keep running whatever values customers' events bring.</summary>
public sealed class DefinitionRunTests
{
    [Theory]
    [InlineData("9999-12-31T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31")]
    [InlineData("0001-01-01")]
    public async Task DateTraitsAtTheEdgesOfTime_NeverStopACustomersEvents(string date)
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Journeys.Add(JourneyJson.Parse(JourneyScenarios.RefillJson).Value!);
            o.Segments.Add(SegmentJson.Parse("""{"id": "birthday-soon", "name": "B", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P7D"}}""").Value!);
            o.Segments.Add(SegmentJson.Parse("""{"id": "due-soon", "name": "D", "rule": {"trait": "refill_due_at", "op": "withinLast", "value": "P3D"}}""").Value!);
            o.Segments.Add(SegmentJson.Parse("""{"id": "due-past", "name": "P", "rule": {"trait": "refill_due_at", "op": "moreThanAgo", "value": "P100Y"}}""").Value!);
        });
        var ann = Identifier.Email("ann@x.io");

        var set = await host.Client.TrackAsync(host.Event("user.identified", [ann], traits: new { birthday = date, refill_due_at = date }));
        var next = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [ann], new { total = 5 }));
        await host.AdvanceAsync(TimeSpan.FromDays(400));
        var later = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [ann], new { total = 5 }));

        Assert.True(set.Status == TrackStatus.Accepted, string.Join("; ", set.Errors));
        Assert.True(next.Status == TrackStatus.Accepted, string.Join("; ", next.Errors));
        Assert.True(later.Status == TrackStatus.Accepted, string.Join("; ", later.Errors));
    }

    [Theory]
    [InlineData("1e300", "1E300")]
    [InlineData("79228162514264337593543950335", "79228162514264337593543950335")]
    [InlineData("\"many\"", "\"MANY\"")] // no number: left as it is (audit U5), not replaced by the increment
    [InlineData("\"41\"", "42")] // a number sent as text counts as its number (audit U5)
    public async Task IncrementOfATraitAtTheEdgeOfItsRange_NeverFailsTheStep(string visits, string expected)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Journeys.Add(JourneyJson.Parse(JourneyJsonTests.Definition(
            """{"id": "count", "type": "updateProfile", "increment": {"visits": 1}}""",
            """{"type": "event", "event": "page.viewed"}""")).Value!));
        var ann = Identifier.Email("ann@x.io");

        var set = await host.Client.TrackAsync(host.Event("user.identified", [ann], traits: JsonData.Parse($$"""{"visits": {{visits}}}""")));
        var viewed = await host.Client.TrackAsync(host.Event("page.viewed", [ann]));

        Assert.Equal(TrackStatus.Accepted, set.Status);
        Assert.True(viewed.Status == TrackStatus.Accepted, string.Join("; ", viewed.Errors));
        Assert.Equal(expected, (await host.ProfileAsync(ann)).Traits["visits"]!.ToJsonString().ToUpperInvariant());
    }
}
