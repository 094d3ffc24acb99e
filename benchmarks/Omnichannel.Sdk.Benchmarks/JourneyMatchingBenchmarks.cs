using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Per-event journey matching with 20 journeys (<see cref="JourneyMatchingData"/>) for a profile with 3 running instances:
/// the SDK's event path (<see cref="JourneyRunner.OnEventAsync"/>, a new runner per event as the engine does) against
/// <see cref="NaiveJourneyMatcher"/>, which checks every journey's trigger and every running instance for every event.
/// Three events: one of a type no journey names (<c>message.opened</c>), one of a trigger's type whose <c>where</c>
/// fails (<c>loyalty.points_earned</c> with 50 points), one that starts a journey (the same with 1,500 points).
/// One operation is one event (<c>OperationsPerInvoke</c>); each iteration starts again from the same profile.
/// </summary>
/// <remarks>
/// The SDK does more than the baseline for the same answer: it also runs what the event starts (the started journey's
/// send step through a stub delivery plan, its entry record, counters and timeline entries), checks that nothing is due,
/// and keeps the date and inactivity schedules. Applying the event to the profile and re-evaluating segments is the same
/// whatever matches journeys, so neither side does it in the loop (the segment transitions passed are empty). The setup
/// checks that both start the same journeys for each event, and throws if they do not.
/// </remarks>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 5, iterationCount: 20, invocationCount: 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser]
public class JourneyMatchingBenchmarks
{
    private const int Stream = 10_000;
    private static readonly IReadOnlyList<SegmentChange> NoChanges = [];

    private readonly CustomerEvent _otherType = JourneyMatchingData.Event("open", EventTypes.MessageOpened, JourneyMatchingData.Now, new { message_id = "m1" });
    private readonly CustomerEvent _whereFails = JourneyMatchingData.Event("points-50", EventTypes.LoyaltyPointsEarned, JourneyMatchingData.Now, new { points = 50 });
    private readonly CustomerEvent _starts = JourneyMatchingData.Event("points-1500", EventTypes.LoyaltyPointsEarned, JourneyMatchingData.Now, new { points = 1500 });

    private JourneyServices _services = null!;
    private NaiveJourneyMatcher _naive = null!;
    private byte[] _document = [];
    private CustomerProfile _profile = null!;

    [GlobalSetup]
    public void SetUp()
    {
        var journeys = JourneyMatchingData.Journeys();
        _services = JourneyMatchingData.Services(journeys);
        _naive = new NaiveJourneyMatcher(journeys);
        _document = JourneyMatchingData.Profile(_services);
        CheckAgreement(_otherType, []);
        CheckAgreement(_whereFails, []);
        CheckAgreement(_starts, ["loyalty-milestone"]);
        _profile = ProfileSerializer.Deserialize(_document, 1);
    }

    [IterationSetup(Targets = [nameof(Sdk_OtherType), nameof(Sdk_WhereFails), nameof(Sdk_Starts)])]
    public void Reset() => _profile = ProfileSerializer.Deserialize(_document, 1);

    [Benchmark(Baseline = true, OperationsPerInvoke = Stream)]
    [BenchmarkCategory("NoMatch_OtherType")]
    public int Naive_OtherType() => Naive(_otherType);

    [Benchmark(OperationsPerInvoke = Stream)]
    [BenchmarkCategory("NoMatch_OtherType")]
    public int Sdk_OtherType() => Sdk(_otherType);

    [Benchmark(Baseline = true, OperationsPerInvoke = Stream)]
    [BenchmarkCategory("NoMatch_WhereFails")]
    public int Naive_WhereFails() => Naive(_whereFails);

    [Benchmark(OperationsPerInvoke = Stream)]
    [BenchmarkCategory("NoMatch_WhereFails")]
    public int Sdk_WhereFails() => Sdk(_whereFails);

    [Benchmark(Baseline = true, OperationsPerInvoke = Stream)]
    [BenchmarkCategory("StartsJourney")]
    public int Naive_Starts() => Naive(_starts);

    [Benchmark(OperationsPerInvoke = Stream)]
    [BenchmarkCategory("StartsJourney")]
    public int Sdk_Starts() => Sdk(_starts);

    private int Naive(CustomerEvent e)
    {
        var concerned = 0;
        for (var i = 0; i < Stream; i++)
        {
            concerned += _naive.Match(_profile, e, NoChanges, JourneyMatchingData.Now);
        }

        return concerned;
    }

    private int Sdk(CustomerEvent e)
    {
        var activity = 0;
        for (var i = 0; i < Stream; i++)
        {
            var runner = new JourneyRunner(_profile, _services, JourneyMatchingData.Now, CancellationToken.None);
            var pending = runner.OnEventAsync(e, NoChanges);
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            activity += runner.Outbox.Count;
        }

        return activity;
    }

    // Both must start the same journeys (the SDK's "entered" counters tell which it started), and the SDK must leave the
    // profile as it found it apart from that: the same 3 running instances (a started journey here completes at once).
    private void CheckAgreement(CustomerEvent e, string[] expected)
    {
        var p = ProfileSerializer.Deserialize(_document, 1);
        _naive.Match(p, e, NoChanges, JourneyMatchingData.Now);
        var before = p.JourneyData!.Counters.ToDictionary();
        new JourneyRunner(p, _services, JourneyMatchingData.Now, CancellationToken.None).OnEventAsync(e, NoChanges).AsTask().GetAwaiter().GetResult();
        var started = p.JourneyData!.Counters
            .Where(kv => kv.Key.EndsWith("|entered", StringComparison.Ordinal) && kv.Value > before.GetValueOrDefault(kv.Key))
            .Select(kv => kv.Key[..kv.Key.IndexOf('|', StringComparison.Ordinal)])
            .Order(StringComparer.Ordinal);
        if (!_naive.Started.SequenceEqual(expected) || !started.SequenceEqual(expected) || p.JourneyData.Instances.Count != 3)
        {
            throw new InvalidOperationException(
                $"{e.Type} {e.Properties}: expected [{string.Join(", ", expected)}], the naive matcher started [{string.Join(", ", _naive.Started)}], " +
                $"the SDK [{string.Join(", ", started)}] and has {p.JourneyData.Instances.Count} instances running.");
        }
    }
}
