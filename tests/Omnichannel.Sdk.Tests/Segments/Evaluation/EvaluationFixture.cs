using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>Builders shared by the evaluation tests: fixed instants, events, profiles, subjects.</summary>
internal static class EvaluationFixture
{
    public static readonly DateTimeOffset T0 = new(2024, 3, 10, 12, 0, 0, TimeSpan.Zero);

    public static readonly Identifier Ann = Identifier.Email("ann@x.io");

    private static int _next;

    public static IsoDuration D(string iso) => IsoDuration.Parse(iso);

    public static Condition C(ConditionOperator op, JsonNode? value = null) => new(op, value);

    public static JsonArray Arr(params JsonNode?[] items) => new(items);

    public static CustomerEvent Ev(string type, DateTimeOffset at, object? properties = null, object? traits = null, string? id = null, IReadOnlyList<Identifier>? identifiers = null) => new()
    {
        Id = id ?? "e" + Interlocked.Increment(ref _next),
        Type = type,
        Timestamp = at,
        Identifiers = identifiers ?? [Ann],
        Properties = properties is null ? JsonData.Parse("{}") : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };

    public static CustomerProfile NewProfile() => new("p1", T0.AddYears(-1));

    /// <summary>A profile with the events applied, and a history recording them for <paramref name="catalog"/>.</summary>
    public static (CustomerProfile Profile, RuleHistory History) Apply(SegmentCatalog catalog, params CustomerEvent[] events)
    {
        var p = NewProfile();
        var h = new RuleHistory();
        foreach (var e in events)
        {
            ProfileCore.Apply(p, e, 100);
            h.Record(e, catalog.Requirements);
        }

        return (p, h);
    }

    public static SegmentDefinition Seg(string id, SegmentRule rule) => new(id, id, rule);

    /// <summary>Evaluates a lone rule over the given events at <paramref name="now"/>.</summary>
    public static SegmentEvaluation Eval(SegmentRule rule, DateTimeOffset now, params CustomerEvent[] events)
    {
        var seg = Seg("s", rule);
        var catalog = SegmentCatalog.Create([seg]);
        var (p, h) = Apply(catalog, events);
        return SegmentEvaluator.Evaluate(seg, new SegmentSubject(p, h, _ => false), now);
    }

    public static SegmentEvaluation EvalProfile(SegmentRule rule, CustomerProfile p, DateTimeOffset now, Func<string, bool>? memberOf = null) =>
        SegmentEvaluator.Evaluate(Seg("s", rule), new SegmentSubject(p, new RuleHistory(), memberOf ?? (_ => false)), now);

    public static CustomerProfile ProfileWithTraits(object traits, DateTimeOffset? at = null)
    {
        var p = NewProfile();
        ProfileCore.Apply(p, Ev("profile.updated", at ?? T0.AddDays(-1), traits: traits), 100);
        return p;
    }
}
