using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Per-event segment evaluation with 50 segments for a profile with <see cref="PastEvents"/> past events: the SDK's
/// incremental <see cref="SegmentRuntime.OnEvent"/> (the baseline of the ratios, so a ratio reads "N× slower than the
/// SDK"), Microsoft RulesEngine evaluating the same 50 rules over inputs computed from the history, and a naive
/// evaluator re-evaluating every segment over the whole history. Each operation is one new event
/// (<c>OperationsPerInvoke</c>); every iteration starts again from the same profile.
/// </summary>
/// <remarks>
/// Only the segment side is measured: applying the event to the profile's statistics and traits
/// (<c>ProfileCore.Apply</c>) is the same work whatever evaluates segments, so none of the three does it in the loop
/// (statistics and traits stay as they were after the past events, for all three alike). The setup checks that the
/// three agree on membership at several instants, and throws if they do not.
/// </remarks>
// Steady state for all three: an SDK iteration is ~1 ms of work, so with the 4 warm-ups this class had, its code was still
// at tier 0 or being instrumented by dynamic PGO (promotion waits for 30 calls and a 100 ms pause in new compilations),
// while each baseline iteration (~120 ms) had long reached its final tier. 300 warm-ups give every method its last tier.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 300, iterationCount: 30, invocationCount: 1)]
[MemoryDiagnoser]
public class SegmentEvaluationBenchmarks
{
    private const int StreamLength = 200;
    private const int TimelineLength = 200;

    private List<CustomerEvent> _past = [];
    private List<CustomerEvent> _stream = [];
    private SegmentCatalog _catalog = SegmentCatalog.Empty;
    private NaiveSegmentEvaluator _naive = null!;
    private RulesEngineSegments _rulesEngine = null!;
    private CustomerProfile _reference = null!;
    private CustomerProfile _sdkProfile = null!;
    private List<CustomerEvent> _history = [];

    /// <summary>Past events of the profile (spread over the year before the stream).</summary>
    [Params(1_000)]
    public int PastEvents { get; set; }

    [GlobalSetup]
    public void SetUp()
    {
        _past = SegmentBenchmarkData.History(PastEvents);
        _stream = SegmentBenchmarkData.Stream(StreamLength);
        _catalog = SegmentCatalog.Create(SegmentBenchmarkData.Segments());
        _naive = new NaiveSegmentEvaluator(_catalog.Segments);
        _rulesEngine = new RulesEngineSegments(_catalog.Segments);

        // Statistics and traits the baselines read: the profile after its past (the SDK's own profile is rebuilt per iteration).
        _reference = new CustomerProfile("c1", _past[0].Timestamp);
        foreach (var e in _past)
        {
            ProfileCore.Apply(_reference, e, TimelineLength);
        }

        SegmentAgreement.Check(_past, _stream, _catalog, _naive, _rulesEngine, TimelineLength);
    }

    [IterationSetup]
    public void Reset()
    {
        _sdkProfile = SegmentAgreement.Build(_past, _catalog, TimelineLength);
        _history = [.. _past];
    }

    /// <summary>The SDK: record the event, re-evaluate only the segments it can change.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StreamLength)]
    public int Sdk_Incremental()
    {
        var changes = 0;
        foreach (var e in _stream)
        {
            changes += SegmentRuntime.OnEvent(_sdkProfile, e, _catalog, e.Timestamp, everything: false, TimelineLength).Count;
        }

        return changes;
    }

    /// <summary>Microsoft RulesEngine: inputs computed from the whole history, then all 50 rules (<c>ExecuteAllRulesAsync</c>).</summary>
    [Benchmark(OperationsPerInvoke = StreamLength)]
    public int RulesEngine_AllRules()
    {
        var members = 0;
        foreach (var e in _stream)
        {
            _history.Add(e);
            members += _rulesEngine.Members(_reference, _history, e.Timestamp).Count;
        }

        return members;
    }

    /// <summary>Naive: every segment from scratch over the whole history (LINQ).</summary>
    [Benchmark(OperationsPerInvoke = StreamLength)]
    public int Naive_FullReevaluation()
    {
        var members = 0;
        foreach (var e in _stream)
        {
            _history.Add(e);
            members += _naive.Members(_reference, _history, e.Timestamp).Count;
        }

        return members;
    }
}
