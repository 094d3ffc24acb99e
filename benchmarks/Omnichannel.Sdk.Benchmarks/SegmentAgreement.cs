using System.Globalization;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Before measuring: the SDK, the naive evaluator and the RulesEngine translation must give the same memberships, or
/// the comparison means nothing. Drives a profile through its past and the stream, lets time alone pass, and compares
/// the three at several instants; throws with the segment, its rule and the instant on the first disagreement.
/// </summary>
internal static class SegmentAgreement
{
    /// <summary>A profile after <paramref name="events"/>, each applied and evaluated at its own time, as the engine does.</summary>
    public static CustomerProfile Build(List<CustomerEvent> events, SegmentCatalog catalog, int timelineLength)
    {
        var profile = new CustomerProfile("c1", events[0].Timestamp);
        foreach (var e in events)
        {
            ProfileCore.Apply(profile, e, timelineLength);
            SegmentRuntime.OnEvent(profile, e, catalog, e.Timestamp, everything: false, timelineLength);
        }

        return profile;
    }

    public static void Check(
        List<CustomerEvent> past,
        List<CustomerEvent> stream,
        SegmentCatalog catalog,
        NaiveSegmentEvaluator naive,
        RulesEngineSegments rulesEngine,
        int timelineLength)
    {
        var profile = Build(past, catalog, timelineLength);
        var history = new List<CustomerEvent>(past);
        var checks = 0;

        void Compare(DateTimeOffset at, string when)
        {
            SegmentRuntime.OnWake(profile, catalog, at, timelineLength);
            var sdk = profile.SegmentMemberships.Keys.ToHashSet(StringComparer.Ordinal);
            var fromScratch = naive.Members(profile, history, at);
            var viaRulesEngine = rulesEngine.Members(profile, history, at);
            Disagreement(sdk, fromScratch, "naive full re-evaluation");
            Disagreement(sdk, viaRulesEngine, "RulesEngine");
            checks++;
            Console.WriteLine($"// Segment agreement at {at:O} ({when}): {sdk.Count} of {catalog.Count} segments hold, SDK = naive = RulesEngine.");

            void Disagreement(HashSet<string> mine, HashSet<string> theirs, string name)
            {
                var only = mine.Except(theirs).Select(id => (id, "SDK says member")).Concat(theirs.Except(mine).Select(id => (id, name + " says member"))).ToList();
                if (only.Count == 0)
                {
                    return;
                }

                var details = string.Join(
                    Environment.NewLine,
                    only.Select(x => $"  {x.id}: {x.Item2}. Rule: {SegmentJson.Serialize(catalog.Find(x.id)!)}; RulesEngine expression: {rulesEngine.Expressions[x.id]}"));
                throw new InvalidOperationException(
                    $"SDK and {name} disagree at {at:O} ({when}), after {history.Count} events:{Environment.NewLine}{details}");
            }
        }

        Compare(SegmentBenchmarkData.Now, "end of the past year");
        for (var i = 0; i < stream.Count; i++)
        {
            var e = stream[i];
            ProfileCore.Apply(profile, e, timelineLength);
            SegmentRuntime.OnEvent(profile, e, catalog, e.Timestamp, everything: false, timelineLength);
            history.Add(e);
            if ((i + 1) % 50 == 0)
            {
                Compare(e.Timestamp, $"after {(i + 1).ToString(CultureInfo.InvariantCulture)} new events");
            }
        }

        // No events: only time passes, so every change comes from the SDK's scheduled checks.
        var last = stream[^1].Timestamp;
        foreach (var days in new[] { 1, 3, 10, 31, 95, 200, 400 })
        {
            Compare(last.AddDays(days), $"{days.ToString(CultureInfo.InvariantCulture)} days after the last event");
        }

        Console.WriteLine($"// Segment agreement: {checks.ToString(CultureInfo.InvariantCulture)} instants checked.");
    }
}
