using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Journey timers with <see cref="Pending"/> timers pending. The SDK keeps one durable wake-up per profile: a journey's
/// timer is the profile's <see cref="ProfileCommit.WakeAt"/>, indexed by the store, so what the engine does to the store
/// for a timer is measured here on <see cref="InMemoryOmnichannelStore"/>:
/// schedule = a commit with a wake-up, cancel = a commit with none, fire = <see cref="IOmnichannelStore.GetDueProfilesAsync"/>
/// in pages of 512 (as the engine reads them) then, per due profile, load it and commit it with no wake-up left.
/// Baseline: <see cref="NaiveTimerQueue"/> (a <see cref="PriorityQueue{TElement, TPriority}"/> with lazy deletion).
/// One operation is one timer (<c>OperationsPerInvoke</c>).
/// </summary>
/// <remarks>
/// Only the store's side is measured: running the journey and serialising the profile are the engine's work whatever
/// keeps the timers. Every commit carries the same 2-byte document; the in-memory store keeps the array it is given
/// (no copy), so the document's size does not change these figures. <c>Sdk_CommitWithoutTimer</c> is a commit that
/// touches no timer, so Schedule and Cancel minus it is the wake index's own share. <c>Sdk_FireDueRead</c> is the due
/// query alone (one call returning <see cref="Batch"/> due profiles). Each iteration is undone in its cleanup (timers
/// scheduled are cancelled, cancelled or fired ones scheduled again), so every iteration starts at 1M pending. The baseline
/// queue is created with room for the stale entries of a whole run, so it never pays for growing its heap here.
/// </remarks>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 12, invocationCount: 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser]
public class JourneyTimerBenchmarks
{
    private const int Batch = 10_000;
    private const int DuePageSize = 512; // OmnichannelEngine.DuePageSize
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Document = "{}"u8.ToArray();

    private readonly Random _random = new(42);
    private InMemoryOmnichannelStore _store = null!;
    private NaiveTimerQueue _naive = null!;

    // Profiles [0, Pending) have a timer; [Pending, Pending + Batch) are idle ones that Schedule gives a timer to.
    private string[] _ids = [];
    private long[] _versions = [];
    private DateTimeOffset[] _timerOf = [];
    private int[] _cancelOrder = [];
    private int _cancelRound;

    // Fire: the profile holding each second's timer (the timers are a shuffled second each), and the next free second.
    private List<int> _holderAt = [];
    private int _fireFrom;
    private int _nextFreeSecond;

    private int[] _batch = [];
    private DateTimeOffset[] _batchAt = [];
    private DateTimeOffset _fireAt;

    /// <summary>Timers pending before each operation.</summary>
    [Params(1_000_000)]
    public int Pending { get; set; }

    [GlobalSetup(Targets = [nameof(Sdk_Schedule), nameof(Sdk_CommitWithoutTimer), nameof(Sdk_Cancel), nameof(Sdk_Fire), nameof(Sdk_FireDueRead)])]
    public void SetUpSdk()
    {
        SetUpTimers();
        _store = new InMemoryOmnichannelStore();
        for (var i = 0; i < _ids.Length; i++)
        {
            Commit(i, i < Pending ? _timerOf[i] : null);
        }
    }

    [GlobalSetup(Targets = [nameof(Naive_Schedule), nameof(Naive_Cancel), nameof(Naive_Fire)])]
    public void SetUpNaive()
    {
        SetUpTimers();
        // Room for the stale entries lazy deletion leaves behind in a run, so no iteration pays for growing the heap.
        _naive = new NaiveTimerQueue(Pending + (32 * Batch));
        for (var i = 0; i < Pending; i++)
        {
            _naive.Schedule(_ids[i], _timerOf[i]);
        }
    }

    // ---- Schedule: Batch idle profiles get a timer somewhere among the pending ones.

    [IterationSetup(Targets = [nameof(Naive_Schedule), nameof(Sdk_Schedule), nameof(Sdk_CommitWithoutTimer)])]
    public void PrepareSchedule()
    {
        _batch = [.. Enumerable.Range(Pending, Batch)];
        _batchAt = [.. _batch.Select(_ => Start.AddSeconds(_random.Next(Pending) + 0.5))];
    }

    [IterationCleanup(Targets = [nameof(Sdk_Schedule)])]
    public void UndoSdkSchedule()
    {
        foreach (var i in _batch)
        {
            Commit(i, null);
        }
    }

    [IterationCleanup(Targets = [nameof(Naive_Schedule)])]
    public void UndoNaiveSchedule()
    {
        foreach (var i in _batch)
        {
            _naive.Cancel(_ids[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Schedule")]
    public int Naive_Schedule()
    {
        for (var j = 0; j < _batch.Length; j++)
        {
            _naive.Schedule(_ids[_batch[j]], _batchAt[j]);
        }

        return _naive.Count;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Schedule")]
    public int Sdk_Schedule()
    {
        for (var j = 0; j < _batch.Length; j++)
        {
            Commit(_batch[j], _batchAt[j]);
        }

        return _store.ProfileCount;
    }

    /// <summary>The same commits with no wake-up before or after: what a commit costs without the wake index.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Schedule")]
    public int Sdk_CommitWithoutTimer()
    {
        for (var j = 0; j < _batch.Length; j++)
        {
            Commit(_batch[j], null);
        }

        return _store.ProfileCount;
    }

    // ---- Cancel: Batch distinct pending timers are cancelled (the commit has no wake-up any more).

    [IterationSetup(Targets = [nameof(Naive_Cancel), nameof(Sdk_Cancel)])]
    public void PrepareCancel()
    {
        _batch = _cancelOrder[(_cancelRound * Batch % Pending)..][..Batch];
        _cancelRound++;
    }

    [IterationCleanup(Targets = [nameof(Sdk_Cancel)])]
    public void UndoSdkCancel()
    {
        foreach (var i in _batch)
        {
            Commit(i, _timerOf[i]);
        }
    }

    [IterationCleanup(Targets = [nameof(Naive_Cancel)])]
    public void UndoNaiveCancel()
    {
        foreach (var i in _batch)
        {
            _naive.Schedule(_ids[i], _timerOf[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Cancel")]
    public int Naive_Cancel()
    {
        foreach (var i in _batch)
        {
            _naive.Cancel(_ids[i]);
        }

        return _naive.Count;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Cancel")]
    public int Sdk_Cancel()
    {
        foreach (var i in _batch)
        {
            Commit(i, null);
        }

        return _store.ProfileCount;
    }

    // ---- Fire: the Batch earliest timers come due and fire.

    [IterationSetup(Targets = [nameof(Naive_Fire), nameof(Sdk_Fire)])]
    public void PrepareFire() => _fireAt = Start.AddSeconds(_fireFrom + Batch - 1);

    [IterationCleanup(Targets = [nameof(Sdk_Fire)])]
    public void UndoSdkFire()
    {
        foreach (var i in MoveFiredToTheEnd())
        {
            _versions[i] = _store.LoadProfileAsync(_ids[i]).GetAwaiter().GetResult()!.Version;
            Commit(i, _timerOf[i]);
        }
    }

    [IterationCleanup(Targets = [nameof(Naive_Fire)])]
    public void UndoNaiveFire()
    {
        foreach (var i in MoveFiredToTheEnd())
        {
            _naive.Schedule(_ids[i], _timerOf[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Fire")]
    public int Naive_Fire()
    {
        var fired = 0;
        while (_naive.TryFire(_fireAt, out _))
        {
            fired++;
        }

        return Fired(fired);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Fire")]
    public int Sdk_Fire()
    {
        var fired = 0;
        while (true)
        {
            var due = _store.GetDueProfilesAsync(_fireAt, DuePageSize).GetAwaiter().GetResult();
            if (due.Count == 0)
            {
                return Fired(fired);
            }

            foreach (var wake in due)
            {
                var stored = _store.LoadProfileAsync(wake.ProfileId).GetAwaiter().GetResult()!;
                var result = _store.CommitAsync(new ProfileCommit { ProfileId = stored.ProfileId, ExpectedVersion = stored.Version, Document = Document }).GetAwaiter().GetResult();
                if (result.Status != CommitStatus.Committed)
                {
                    throw new InvalidOperationException($"Commit of {stored.ProfileId}: {result.Status}");
                }

                fired++;
            }
        }
    }

    /// <summary>The due query alone: one call listing the <see cref="Batch"/> earliest due profiles (nothing is committed).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Fire")]
    public int Sdk_FireDueRead()
    {
        var due = _store.GetDueProfilesAsync(Start.AddSeconds(Batch - 1), Batch).GetAwaiter().GetResult();
        return Fired(due.Count);
    }

    private void SetUpTimers()
    {
        _ids = [.. Enumerable.Range(0, Pending + Batch).Select(i => "p" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture))];
        _versions = new long[_ids.Length];
        _timerOf = new DateTimeOffset[_ids.Length];

        // Every pending profile's timer is a different second of the next ~11.6 days, in shuffled order.
        var seconds = Enumerable.Range(0, Pending).ToArray();
        _random.Shuffle(seconds);
        _holderAt = [.. new int[Pending]];
        for (var i = 0; i < Pending; i++)
        {
            _timerOf[i] = Start.AddSeconds(seconds[i]);
            _holderAt[seconds[i]] = i;
        }

        _nextFreeSecond = Pending;
        _cancelOrder = [.. Enumerable.Range(0, Pending)];
        _random.Shuffle(_cancelOrder);
    }

    // The profiles that fired this round get a new timer after every pending one (so 1M stay pending).
    private List<int> MoveFiredToTheEnd()
    {
        var fired = _holderAt.GetRange(_fireFrom, Batch);
        foreach (var i in fired)
        {
            _timerOf[i] = Start.AddSeconds(_nextFreeSecond++);
            _holderAt.Add(i);
        }

        _fireFrom += Batch;
        return fired;
    }

    private void Commit(int i, DateTimeOffset? wakeAt)
    {
        var result = _store.CommitAsync(new ProfileCommit { ProfileId = _ids[i], ExpectedVersion = _versions[i], Document = Document, WakeAt = wakeAt }).GetAwaiter().GetResult();
        if (result.Status != CommitStatus.Committed)
        {
            throw new InvalidOperationException($"Commit of {_ids[i]}: {result.Status}");
        }

        _versions[i] = result.Version;
    }

    // A run that fires the wrong number of timers measures something else: fail it rather than report it.
    private static int Fired(int fired) =>
        fired == Batch ? fired : throw new InvalidOperationException($"Fired {fired} timers, expected {Batch}.");
}
