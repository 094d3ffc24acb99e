using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>
/// One generated operation on a profile's history: an event (type, arrival step, lateness, amount, kind), a redelivery,
/// a merge of a few events from another history, and the instant evaluated afterwards (possibly before the last one).
/// </summary>
public sealed record HistoryStep(int Type, int StepMinutes, int LatenessMinutes, int Amount, int Kind, bool Redeliver, int Merge, int EvalOffsetMinutes);

/// <summary>FsCheck generator of long histories (so kept lists pass <see cref="LeafAnswerCache.MinEvents"/>).</summary>
public static class HistoryStepArbitrary
{
    public static Arbitrary<HistoryStep[]> Steps() =>
        Gen.Choose(20, 140).SelectMany(length => Gen.ArrayOf(
                from type in Gen.Frequency((5, Gen.Constant(0)), (2, Gen.Constant(1)))
                from step in Gen.Frequency((2, Gen.Constant(0)), (8, Gen.Choose(1, 18 * 60)))
                from lateness in Gen.Frequency((7, Gen.Constant(0)), (2, Gen.Choose(-3 * 24 * 60, -1)), (1, Gen.Choose(1, 24 * 60)))
                from amount in Gen.Choose(-2, 20)
                from kind in Gen.Choose(0, 2)
                from redeliver in Gen.Frequency((12, Gen.Constant(false)), (1, Gen.Constant(true)))
                from merge in Gen.Frequency((15, Gen.Constant(0)), (1, Gen.Choose(1, 4)))
                from eval in Gen.Frequency((3, Gen.Constant(0)), (6, Gen.Choose(1, 3 * 24 * 60)), (1, Gen.Choose(-2 * 24 * 60, -1)))
                select new HistoryStep(type, step, lateness, amount, kind, redeliver, merge, eval), length))
            .ToArbitrary();
}

/// <summary>
/// The incremental structures of evaluation — remembered answers, running windows (count, sum, average per rule and
/// window), prune floors and the event → segment narrowing — against recomputation, for any sequence of events including
/// late ones, redeliveries, merges, and evaluations that go back in time.
/// </summary>
public sealed class RunningAnswersProperties
{
    private const string A = "a.x";
    private const string B = "b.y";
    private static readonly DateTimeOffset Start = new(2024, 1, 25, 0, 0, 0, TimeSpan.Zero);

    private static PropertyCondition Where(string property, ConditionOperator op, JsonNode value) => new(property, C(op, value));

    private static readonly SegmentRule[] Rules =
    [
        new EventRule(A) { Window = TimeWindow.Last(D("PT36H")), Count = C(ConditionOperator.Gte, 3) },
        new EventRule(A) { Window = TimeWindow.Last(D("P2D")), Where = [Where("kind", ConditionOperator.Eq, "k1")] },
        new EventRule(A) { Window = TimeWindow.Last(D("P3D")), Count = C(ConditionOperator.Between, new JsonArray(2, 5)) },
        new EventRule(A) { Window = TimeWindow.Last(D("P1D")), Count = C(ConditionOperator.Lt, 4) },
        new EventRule(B) { Count = C(ConditionOperator.Gte, 6) },
        new EventRule(A) { Window = TimeWindow.Between(Start.AddDays(3), Start.AddDays(9)), Count = C(ConditionOperator.Gte, 4) },
        new AggregateRule(AggregateFunction.Sum, A, C(ConditionOperator.Gte, 40)) { Property = "amount", Window = TimeWindow.Last(D("P3D")) },
        new AggregateRule(AggregateFunction.Sum, A, C(ConditionOperator.Lte, 25)) { Property = "amount", Window = TimeWindow.Last(D("P2D")), Where = [Where("kind", ConditionOperator.Ne, "k0")] },
        new AggregateRule(AggregateFunction.Avg, A, C(ConditionOperator.Gt, 9)) { Property = "amount", Window = TimeWindow.Last(D("P1D")) },
        new AggregateRule(AggregateFunction.Count, A, C(ConditionOperator.Eq, 5)) { Property = "amount", Window = TimeWindow.Last(D("P2D")) },
        new AggregateRule(AggregateFunction.Sum, B, C(ConditionOperator.Gt, 30)) { Property = "amount" },
        new AggregateRule(AggregateFunction.Max, A, C(ConditionOperator.Lte, 15)) { Property = "amount", Window = TimeWindow.Last(D("P2D")) },
        new AggregateRule(AggregateFunction.Sum, A, C(ConditionOperator.Gte, 50)) { Property = "amount", Window = TimeWindow.Last(D("P1M")) },
        new RecencyRule(RecencyKind.Last, A, ConditionOperator.WithinLast, D("PT12H")),
        new RecencyRule(RecencyKind.Last, A, ConditionOperator.MoreThanAgo, D("PT20H")) { Where = [Where("amount", ConditionOperator.Gte, 15)] },
        new RecencyRule(RecencyKind.First, B, ConditionOperator.WithinLast, D("P5D")),
        new EventRule(A) { Window = TimeWindow.Last(D("P2D")), Where = [Where("due", ConditionOperator.WithinLast, "P1D")] },
    ];

    private static readonly SegmentDefinition[] Segments = [.. Rules.Select((r, i) => Seg("r" + i, r))];

    private static readonly SegmentCatalog Catalog = SegmentCatalog.Create(Segments);

    [Property(Arbitrary = [typeof(HistoryStepArbitrary)], MaxTest = 100)]
    public void RememberedAndRunningAnswers_EqualTheWalkOverTheKeptEvents_AndPruneFloorsPruneAsAFullPrune(HistoryStep[] steps)
    {
        var profile = NewProfile();
        var history = new RuleHistory();
        var subject = new SegmentSubject(profile, history, _ => false);
        var clock = Start;
        var pruned = Start;
        foreach (var (g, i) in steps.Select((g, i) => (g, i)))
        {
            clock = clock.AddMinutes(g.StepMinutes);
            history.Record(Event(g, clock, "g" + i), Catalog.Requirements);
            if (g.Redeliver)
            {
                history.Record(Event(steps[i / 2], clock, "g" + (i / 2)), Catalog.Requirements);
            }

            if (g.Merge > 0)
            {
                var other = new RuleHistory();
                for (var k = 0; k < g.Merge; k++)
                {
                    other.Record(Event(g with { LatenessMinutes = -k * 97 }, clock, $"m{i}-{k}"), Catalog.Requirements);
                }

                history.MergeFrom(other);
            }

            if (i % 3 == 0)
            {
                // A prune that skips lists (prune floors) leaves what a prune of a fresh copy leaves.
                var copy = new RuleHistory();
                copy.MergeFrom(history);
                history.Prune(clock, Catalog.Requirements);
                copy.Prune(clock, Catalog.Requirements);
                Assert.Equal(Ids(copy), Ids(history));
                pruned = clock;
            }

            var at = clock.AddMinutes(g.EvalOffsetMinutes);
            if (at < pruned)
            {
                at = pruned;
            }

            foreach (var rule in Rules)
            {
                var type = rule is EventRule e ? e.EventType : rule is AggregateRule a ? a.EventType : ((RecencyRule)rule).EventType;
                var expected = SegmentEvaluator.Walk(rule, history.SpanOf(type), at);
                var actual = SegmentEvaluator.Evaluate(rule, subject, at);
                Assert.True(expected == actual, $"{SegmentJson.Serialize(Seg("x", rule))} at {at:O}: walk {expected}, remembered or running {actual}");
            }
        }
    }

    [Property(Arbitrary = [typeof(HistoryStepArbitrary)], MaxTest = 60)]
    public void ReEvaluatingOnlyTheSegmentsAnEventCounts_KeepsTheMembershipsOfReEvaluatingEverySegment(HistoryStep[] steps)
    {
        var narrowed = NewProfile();
        var everything = NewProfile();
        var clock = Start;
        foreach (var (g, i) in steps.Select((g, i) => (g, i)))
        {
            clock = clock.AddMinutes(g.StepMinutes);
            var e = Event(g, clock, "g" + i);
            // A new profile's first event evaluates every segment (as the engine does); later ones only what they count.
            SegmentRuntime.OnEvent(narrowed, e, Catalog, clock, everything: i == 0, 50);
            SegmentRuntime.OnEvent(everything, e, Catalog, clock, everything: true, 50);
            Assert.Equal(everything.SegmentMemberships.OrderBy(m => m.Key, StringComparer.Ordinal), narrowed.SegmentMemberships.OrderBy(m => m.Key, StringComparer.Ordinal));
            if (g.EvalOffsetMinutes > 0)
            {
                // Time alone: the scheduled checks of the narrowed profile settle what the other finds too.
                var later = clock.AddMinutes(g.EvalOffsetMinutes);
                SegmentRuntime.OnWake(narrowed, Catalog, later, 50);
                SegmentRuntime.OnWake(everything, Catalog, later, 50);
                SegmentRuntime.Reevaluate(everything, Catalog, [.. Segments.Select(s => s.Id)], later, 50);
                Assert.Equal(everything.SegmentMemberships.Keys.Order(StringComparer.Ordinal), narrowed.SegmentMemberships.Keys.Order(StringComparer.Ordinal));
                clock = later;
            }
        }
    }

    private static CustomerEvent Event(HistoryStep g, DateTimeOffset clock, string id)
    {
        var timestamp = clock.AddMinutes(g.LatenessMinutes);
        var properties = new Dictionary<string, object> { ["kind"] = "k" + g.Kind, ["due"] = timestamp.AddHours(g.Amount - 6).ToString("O") };
        if (g.Amount >= 0)
        {
            properties["amount"] = g.Amount;
        }

        return Ev(g.Type == 0 ? A : B, timestamp, properties, id: id);
    }

    private static List<string> Ids(RuleHistory h) =>
        [.. h.Events.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.Select(e => kv.Key + "/" + e.Id + "@" + e.Timestamp.UtcTicks))];
}
