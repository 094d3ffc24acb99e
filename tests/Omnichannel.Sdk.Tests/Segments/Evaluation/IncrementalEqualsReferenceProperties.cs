using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>One generated event: its type, when it arrives after the previous one, how late or early it is, its properties.</summary>
public sealed record GeneratedEvent(int Type, int ArrivalStepMinutes, int LatenessMinutes, int Amount, int Kind, int EvalOffsetMinutes, bool Redeliver);

/// <summary>FsCheck generators for event streams.</summary>
public static class EventStreamArbitrary
{
    public static Arbitrary<GeneratedEvent[]> Stream() =>
        Gen.ArrayOf(
                from type in Gen.Frequency((4, Gen.Choose(0, 1)), (1, Gen.Constant(2)))
                from step in Gen.Frequency((3, Gen.Constant(0)), (7, Gen.Choose(1, 2 * 24 * 60)))
                from lateness in Gen.Frequency((6, Gen.Constant(0)), (3, Gen.Choose(-4 * 24 * 60, -1)), (1, Gen.Choose(1, 36 * 60)))
                from amount in Gen.Choose(-1, 20)
                from kind in Gen.Choose(0, 2)
                from eval in Gen.Frequency((2, Gen.Constant(0)), (8, Gen.Choose(1, 40 * 24 * 60)))
                from redeliver in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
                select new GeneratedEvent(type, step, lateness, amount, kind, eval, redeliver))
            .ToArbitrary();
}

public sealed class IncrementalEqualsReferenceProperties
{
    private const string A = "a.x";
    private const string B = "b.y";
    private const string Due = "c.z";
    private static readonly DateTimeOffset Start = new(2024, 1, 25, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static PropertyCondition Where(string property, ConditionOperator op, JsonNode value) => new(property, C(op, value));

    private static readonly SegmentDefinition[] Segments =
    [
        Seg("count-36h", new EventRule(A) { Window = TimeWindow.Last(D("PT36H")), Count = C(ConditionOperator.Gte, 2) }),
        Seg("k1-2d", new EventRule(A) { Window = TimeWindow.Last(D("P2D")), Where = [Where("kind", ConditionOperator.Eq, "k1")] }),
        Seg("sum-3d", new AggregateRule(AggregateFunction.Sum, A, C(ConditionOperator.Gte, 15)) { Property = "amount", Window = TimeWindow.Last(D("P3D")) }),
        Seg("avg-1d", new AggregateRule(AggregateFunction.Avg, B, C(ConditionOperator.Gt, 8)) { Property = "amount", Window = TimeWindow.Last(D("P1D")) }),
        Seg("max-1m", new AggregateRule(AggregateFunction.Max, A, C(ConditionOperator.Lte, 12)) { Property = "amount", Window = TimeWindow.Last(D("P1M")) }),
        Seg("min-4d", new AggregateRule(AggregateFunction.Min, B, C(ConditionOperator.Lt, 5)) { Property = "amount", Window = TimeWindow.Last(D("P4D")) }),
        Seg("distinct-5d", new AggregateRule(AggregateFunction.Distinct, B, C(ConditionOperator.Eq, 2)) { Property = "kind", Window = TimeWindow.Last(D("P5D")) }),
        Seg("count-prop-2d", new AggregateRule(AggregateFunction.Count, A, C(ConditionOperator.Eq, 1)) { Property = "amount", Window = TimeWindow.Last(D("P2D")) }),
        Seg("last-a-ago-1d", new RecencyRule(RecencyKind.Last, A, ConditionOperator.MoreThanAgo, D("P1D"))),
        Seg("last-b-12h", new RecencyRule(RecencyKind.Last, B, ConditionOperator.WithinLast, D("PT12H")) { Where = [Where("amount", ConditionOperator.Gte, 5)] }),
        Seg("first-a-7d", new RecencyRule(RecencyKind.First, A, ConditionOperator.WithinLast, D("P7D"))),
        Seg("first-b-ago-2d", new RecencyRule(RecencyKind.First, B, ConditionOperator.MoreThanAgo, D("P2D")) { Where = [Where("kind", ConditionOperator.Ne, "k0")] }),
        Seg("no-b-1d", new NotRule(new EventRule(B) { Window = TimeWindow.Last(D("P1D")) })),
        Seg("any", new AnyRule([
            new EventRule(A) { Window = TimeWindow.Last(D("PT6H")), Count = C(ConditionOperator.Gte, 3) },
            new RecencyRule(RecencyKind.Last, B, ConditionOperator.MoreThanAgo, D("P3D"))])),
        Seg("all", new AllRule([
            new EventRule(A) { Where = [Where("kind", ConditionOperator.In, new JsonArray("k1", "k2"))] },
            new EventRule(B) { Window = TimeWindow.Last(D("P2D")), Count = C(ConditionOperator.Lt, 2) }])),
        Seg("ever-3", new EventRule(B) { Count = C(ConditionOperator.Gte, 3) }),
        Seg("fixed", new EventRule(B) { Window = TimeWindow.Between(Start.AddDays(5), Start.AddDays(15)), Count = C(ConditionOperator.Gte, 2) }),
        Seg("due-soon", new EventRule(Due)
        {
            Window = TimeWindow.Last(D("P3D")),
            Where = [Where("due", ConditionOperator.WithinLast, "P1D")],
        }),
        Seg("due-long-ago", new RecencyRule(RecencyKind.Last, Due, ConditionOperator.MoreThanAgo, D("P1D"))
        {
            Where = [Where("due", ConditionOperator.MoreThanAgo, "PT12H")],
        }),
        Seg("due-sum", new AggregateRule(AggregateFunction.Sum, Due, C(ConditionOperator.Gte, 10))
        {
            Property = "amount",
            Where = [Where("due", ConditionOperator.WithinLast, "P2D")],
        }),
        Seg("mixed-1m2d", new EventRule(A) { Window = TimeWindow.Last(D("P1M2DT3H")), Count = C(ConditionOperator.Between, new JsonArray(2, 4)) }),
    ];

    private static readonly SegmentCatalog Catalog = SegmentCatalog.Create(Segments);

    [Property(Arbitrary = [typeof(EventStreamArbitrary)], MaxTest = 150)]
    public void IncrementalHistoryWithPruning_AgreesWithFullHistory_AtRandomInstantsAndAtEveryNextCheck(GeneratedEvent[] stream)
    {
        var profile = NewProfile();
        var history = new RuleHistory();
        var known = new List<CustomerEvent>();
        var clock = Start;
        for (var i = 0; i < stream.Length; i++)
        {
            var g = stream[i];
            clock = clock.AddMinutes(g.ArrivalStepMinutes);
            var properties = new Dictionary<string, object> { ["kind"] = "k" + g.Kind };
            if (g.Amount >= 0)
            {
                properties["amount"] = g.Amount;
            }

            var timestamp = clock.AddMinutes(g.LatenessMinutes);
            properties["due"] = timestamp.AddHours(g.Amount - 6).ToString("O");
            var e = Ev(g.Type switch { 0 => A, 1 => B, _ => Due }, clock.AddMinutes(g.LatenessMinutes), properties, id: "g" + i);
            known.Add(e);
            history.Record(e, Catalog.Requirements);
            if (g.Redeliver)
            {
                history.Record(known[i / 2], Catalog.Requirements);
            }

            history.Prune(clock, Catalog.Requirements);
            var at = clock.AddMinutes(g.EvalOffsetMinutes);
            var subject = new SegmentSubject(profile, history, _ => false);
            foreach (var s in Segments)
            {
                Check(s, subject, known, at);
            }
        }
    }

    private static void Check(SegmentDefinition s, SegmentSubject subject, List<CustomerEvent> known, DateTimeOffset at)
    {
        var actual = SegmentEvaluator.Evaluate(s, subject, at);
        var expected = ReferenceEvaluator.Holds(s.Rule, known, at);
        Assert.True(expected == actual.IsMember, $"{s.Id} at {at:O}: expected {expected}");
        if (actual.NextCheckAt is { } next)
        {
            Assert.True(next > at, $"{s.Id} at {at:O}: next check {next:O} is not after the instant");
            Assert.True(expected == ReferenceEvaluator.Holds(s.Rule, known, next - Tick), $"{s.Id} at {at:O}: changed before its next check {next:O}");
            var middle = at + ((next - at) / 2);
            Assert.True(expected == ReferenceEvaluator.Holds(s.Rule, known, middle), $"{s.Id} at {at:O}: changed at {middle:O} before its next check {next:O}");
            var then = SegmentEvaluator.Evaluate(s, subject, next).IsMember;
            Assert.True(ReferenceEvaluator.Holds(s.Rule, known, next) == then, $"{s.Id} at its next check {next:O}");
        }
        else
        {
            foreach (var later in new[] { at.AddHours(7), at.AddDays(3), at.AddDays(45), at.AddYears(2) })
            {
                Assert.True(expected == ReferenceEvaluator.Holds(s.Rule, known, later), $"{s.Id} at {at:O}: no next check, but the answer changes by {later:O}");
            }
        }
    }
}
