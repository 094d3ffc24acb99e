using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Segments.Evaluation;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

public sealed class AuditDefinitionRoundTripProperties
{
    private static readonly DateTimeOffset[] Nows =
    [
        EvaluationFixture.T0, EvaluationFixture.T0.AddDays(-45).AddHours(7), new DateTimeOffset(2024, 2, 29, 23, 30, 0, TimeSpan.Zero),
    ];

    /// <summary>
    /// (1)+(3) Every segment the C# builder accepts is written, read back by the JSON reader without an error, written to
    /// the same JSON, and evaluates the same on random profiles at several instants. (2) The JSON read back is a fixed point.
    /// </summary>
    [Property(Arbitrary = [typeof(DefinitionSeeds)], MaxTest = 150)]
    public void ASegmentBuiltInCSharp_SurvivesJson_AndMatchesTheSameProfiles((int Seed, int Size) s)
    {
        var gen = new DefinitionGen(s.Seed, s.Size);
        SegmentDefinition built;
        try
        {
            built = Segment.Define(gen.Pick(["s", "lapsed-vip", "a_b"]), gen.Text()).Describe(gen.Text()).Where(gen.Rule()).Build();
        }
        catch (SegmentDefinitionException)
        {
            // Not every random tree is valid (e.g. a withinLast on a number trait); the JSON side must refuse the same.
            return;
        }

        var json = SegmentJson.Serialize(built);
        var parsed = SegmentJson.Parse(json);
        Assert.True(parsed.IsValid, $"{json}\n{string.Join("\n", parsed.Errors)}");
        var rewritten = SegmentJson.Serialize(parsed.Value!);
        Assert.Equal(json, rewritten);
        var again = SegmentJson.Parse(SegmentJson.Serialize(parsed.Value!, indented: true));
        Assert.True(again.IsValid);
        Assert.Equal(json, SegmentJson.Serialize(again.Value!));

        var members = new Func<string, bool>(id => id.Length % 2 == 0);
        SegmentDefinition[] referenced = [.. new[] { "vip", "lapsed_vip", "other-seg" }.Select(id => new SegmentDefinition(id, id, new ReachableRule(ChannelNames.Email, null)))];
        var catalog = SegmentCatalog.Create([built, .. referenced]);
        var parsedCatalog = SegmentCatalog.Create([parsed.Value!, .. referenced]);
        for (var i = 0; i < 4; i++)
        {
            var events = gen.Events();
            foreach (var now in Nows)
            {
                Assert.Equal(Member(built, catalog, events, now, members), Member(parsed.Value!, parsedCatalog, events, now, members));
            }
        }
    }

    /// <summary>(3) the reverse: what the writer emits for a valid JSON definition, the C# model accepts as it is.</summary>
    [Property(Arbitrary = [typeof(DefinitionSeeds)], MaxTest = 60)]
    public void EveryParsedSegment_IsValidInCSharp_AndIndentedJsonReadsTheSame((int Seed, int Size) s)
    {
        var gen = new DefinitionGen(s.Seed, s.Size);
        SegmentDefinition built;
        try
        {
            built = Segment.Define("s", "S").Where(gen.Rule()).Build();
        }
        catch (SegmentDefinitionException)
        {
            return;
        }

        var parsed = SegmentJson.Parse(SegmentJson.Serialize(built, indented: true)).Value!;
        var rebuilt = Segment.Define(parsed.Id, parsed.Name).Where(parsed.Rule).Build();
        Assert.Equal(SegmentJson.Serialize(built), SegmentJson.Serialize(rebuilt));
    }

    /// <summary>
    /// (1)+(2)+(3) Every journey the C# builder accepts is written, read back without an error, and written to the same
    /// JSON; the JSON read back is a fixed point; a journey read from JSON is accepted by the C# builder's validator.
    /// </summary>
    [Property(Arbitrary = [typeof(DefinitionSeeds)], MaxTest = 150)]
    public void AJourneyBuiltInCSharp_SurvivesJson((int Seed, int Size) s)
    {
        var gen = new DefinitionGen(s.Seed, s.Size);
        JourneyDefinition built;
        try
        {
            built = gen.Journey();
        }
        catch (JourneyDefinitionException)
        {
            return;
        }

        var json = JourneyJson.Serialize(built);
        var parsed = JourneyJson.Parse(json);
        Assert.True(parsed.IsValid, $"{json}\n{string.Join("\n", parsed.Errors)}");
        Assert.Equal(json, JourneyJson.Serialize(parsed.Value!));
        var again = JourneyJson.Parse(JourneyJson.Serialize(parsed.Value!, indented: true));
        Assert.True(again.IsValid);
        Assert.Equal(json, JourneyJson.Serialize(again.Value!));
        Assert.Equal(StepGraph(built), StepGraph(parsed.Value!));
    }

    /// <summary>
    /// (4) A definition made invalid in one place (a wrong type, an unknown operator, a bad duration, a missing key) is
    /// refused, and every error names a JSON path that starts at the root and leads into the document.
    /// </summary>
    [Property(Arbitrary = [typeof(DefinitionSeeds)], MaxTest = 100)]
    public void ACorruptedDefinition_IsRefused_WithPathsIntoTheDocument((int Seed, int Size) s)
    {
        var gen = new DefinitionGen(s.Seed, s.Size);
        string json;
        bool journey = gen.Chance(0.5);
        try
        {
            json = journey ? JourneyJson.Serialize(gen.Journey()) : SegmentJson.Serialize(Segment.Define("s", "S").Where(gen.Rule()).Build());
        }
        catch (Exception e) when (e is SegmentDefinitionException or JourneyDefinitionException)
        {
            return;
        }

        var root = JsonNode.Parse(json)!;
        // Free-form objects (traits set or incremented, emitted properties) take any key and value.
        var objects = Objects(root, "$").Where(o => o.Node.Count > 0 && !System.Text.RegularExpressions.Regex.IsMatch(o.Path, @"\.(set|increment|properties)$")).ToList();
        var (target, path) = objects[gen.Next(objects.Count)];
        var keys = target.Select(p => p.Key).ToList();
        var key = keys[gen.Next(keys.Count)];
        var corruption = gen.Next(3);
        switch (corruption)
        {
            case 0: target[key] = new JsonObject { ["bogus"] = 1 }; break;
            case 1: target["unknownKey" + gen.Next(9)] = 1; break;
            default: target[key] = JsonValue.Create(key == "op" ? "bogusOp" : "P"); break;
        }

        var text = root.ToJsonString();
        var errors = journey ? JourneyJson.Parse(text).Errors : SegmentJson.Parse(text).Errors;
        if (errors.Count == 0)
        {
            // A few corruptions stay valid: a string replaced by "P" where any string goes (a name, a value), an object
            // where any JSON goes (an operand, traits set or incremented, emitted properties).
            Assert.True(corruption == 2 || (corruption == 0 && key is "value" or "set" or "increment" or "properties"), $"corruption {corruption} of {path}.{key} accepted: {text}");
            return;
        }

        foreach (var e in errors)
        {
            Assert.StartsWith("$", e.Path, StringComparison.Ordinal);
            Assert.True(Resolves(JsonNode.Parse(text)!, e.Path), $"{e} does not lead into {text}");
        }
    }

    private static bool Member(SegmentDefinition d, SegmentCatalog catalog, CustomerEvent[] events, DateTimeOffset now, Func<string, bool> members)
    {
        var p = EvaluationFixture.NewProfile();
        var h = new RuleHistory();
        foreach (var e in events)
        {
            ProfileCore.Apply(p, e, 100);
            h.Record(e, catalog.Requirements);
        }

        return SegmentEvaluator.Evaluate(d, new SegmentSubject(p, h, members), now).IsMember;
    }

    private static string StepGraph(JourneyDefinition d) => string.Join(
        ";",
        d.Steps.Select(s => s switch
        {
            SplitStep split => $"{s.Id}:split[{string.Join(",", split.Variants.Select(v => $"{v.Name}={v.Weight}->{v.Next}"))}|{split.ControlWeight}]",
            BranchStep b => $"{s.Id}:branch[{string.Join(",", b.Branches.Select(x => x.Next))}|{b.Else}]",
            WaitForEventStep w => $"{s.Id}:wait[{string.Join(",", w.Branches.Select(x => $"{x.EventType}->{x.Next}"))}|{w.Timeout}|{w.TimeoutNext}|{w.RestartOnMatch}]",
            DelayUntilLocalTimeStep l => $"{s.Id}:local[{l.LocalTime:O}|{string.Join(",", l.Days)}]->{l.Next}",
            DelayUntilDateTraitStep l => $"{s.Id}:date[{l.Offset}|{l.LocalTime:O}]->{l.Next}",
            ContinuingStep c => $"{s.Id}:{c.GetType().Name}->{c.Next}",
            _ => $"{s.Id}:{s.GetType().Name}",
        })) + "|" + d.Trigger switch
        {
            DateTrigger t => $"date {t.Offset} {t.LocalTime:O} {t.Annual}",
            var t => t.GetType().Name,
        };

    private static IEnumerable<(JsonObject Node, string Path)> Objects(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                yield return (o, path);
                foreach (var (k, v) in o.ToList())
                {
                    foreach (var x in Objects(v, path + "." + k))
                    {
                        yield return x;
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var x in Objects(a[i], $"{path}[{i}]"))
                    {
                        yield return x;
                    }
                }

                break;
        }
    }

    /// <summary>Whether the path's parent exists in the document (an error may name a missing key of an existing object).</summary>
    private static bool Resolves(JsonNode root, string path)
    {
        var tokens = System.Text.RegularExpressions.Regex.Matches(path, @"\.([A-Za-z0-9_$@-]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[""((?:[^""\\]|\\.)*)""\]");
        JsonNode? node = root;
        var consumed = 1;
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Index != consumed)
            {
                return false;
            }

            consumed = t.Index + t.Length;
            var last = i == tokens.Count - 1;
            if (t.Groups[2].Success)
            {
                var index = int.Parse(t.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (node is not JsonArray a || index >= a.Count)
                {
                    // A missing element, or the one element of a list written as a lone string ("noEvent": "x").
                    return last && node is JsonArray or JsonValue;
                }

                node = a[index];
            }
            else
            {
                var key = t.Groups[1].Success ? t.Groups[1].Value : (t.Groups[3].Success ? t.Groups[3].Value : t.Groups[4].Value).Replace("\\'", "'", StringComparison.Ordinal);
                if (node is not JsonObject o)
                {
                    return false;
                }

                if (!o.TryGetPropertyValue(key, out var child))
                {
                    return last;
                }

                node = child;
            }
        }

        return consumed == path.Length;
    }
}
