using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Ingest throughput in memory with <see cref="Profiles"/> existing profiles: events of known customers, and events that
/// merge an anonymous visitor into a known customer. Each operation is one event (<c>OperationsPerInvoke</c>), so the
/// report's Mean is the time per event and events/s = 1 s / Mean.
/// </summary>
// Each side first warms the JIT up on a smaller copy of itself until compilation is quiet (SteadyState).
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 8, invocationCount: 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private const int Batch = 20_000;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Random _random = new(42);
    private OmnichannelEngine _engine = null!;
    private NaiveProfileIndex _naive = null!;
    private CustomerEvent[] _events = [];
    private int _round;

    /// <summary>How many known customers exist before measuring.</summary>
    [Params(1_000_000)]
    public int Profiles { get; set; }

    [GlobalSetup(Target = nameof(Sdk_KnownCustomers))]
    public void SetUpSdkKnownCustomers()
    {
        WarmUpOnCopy(c => c.SetUpSdk(), c =>
        {
            c.PrepareKnownCustomers();
            c.Sdk_KnownCustomers();
        });
        SetUpSdk();
    }

    [GlobalSetup(Target = nameof(Sdk_Merges))]
    public void SetUpSdkMerges()
    {
        WarmUpOnCopy(c => c.SetUpSdk(), c =>
        {
            c.PrepareSdkMerges();
            c.Sdk_Merges();
        });
        SetUpSdk();
    }

    [GlobalSetup(Target = nameof(Naive_KnownCustomers))]
    public void SetUpNaiveKnownCustomers()
    {
        WarmUpOnCopy(c => c.SetUpNaive(), c =>
        {
            c.PrepareKnownCustomers();
            c.Naive_KnownCustomers();
        });
        SetUpNaive();
    }

    [GlobalSetup(Target = nameof(Naive_Merges))]
    public void SetUpNaiveMerges()
    {
        WarmUpOnCopy(c => c.SetUpNaive(), c =>
        {
            c.PrepareNaiveMerges();
            c.Naive_Merges();
        });
        SetUpNaive();
    }

    /// <summary>
    /// Warms the JIT up (<see cref="SteadyState"/>) on a copy with 20,000 profiles: the same code paths as a million,
    /// without a second million-profile heap in the process.
    /// </summary>
    private static void WarmUpOnCopy(Action<IngestBenchmarks> setUp, Action<IngestBenchmarks> round) =>
        SteadyState.WarmUpOnCopy<IngestBenchmarks>(
            c =>
            {
                c.Profiles = 20_000;
                setUp(c);
            },
            round,
            c => c.CleanUp());

    private void SetUpSdk()
    {
        // Every profile hot, as every profile is in the baseline's dictionary: the default ProfileCacheBytes (64 MiB) holds
        // about 80,000 customers, so with the defaults nine events in ten would measure a cold load instead.
        _engine = new OmnichannelEngine(new OmnichannelOptions { ProfileCacheBytes = 1L << 36 }, new InMemoryOmnichannelStore());
        foreach (var chunk in Registrations().Chunk(50_000))
        {
            _engine.TrackBatchAsync(chunk).GetAwaiter().GetResult();
        }
    }

    private void SetUpNaive()
    {
        _naive = new NaiveProfileIndex();
        foreach (var e in Registrations())
        {
            _naive.Apply(e);
        }
    }

    [GlobalCleanup]
    public void CleanUp() => _engine?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [IterationSetup(Targets = [nameof(Sdk_KnownCustomers), nameof(Naive_KnownCustomers)])]
    public void PrepareKnownCustomers()
    {
        _round++;
        _events = new CustomerEvent[Batch];
        for (var i = 0; i < Batch; i++)
        {
            var customer = _random.Next(Profiles);
            _events[i] = Order($"order-{_round}-{i}", [Identifier.CustomerId($"c{customer}")], 10 + i % 90);
        }
    }

    [IterationSetup(Targets = [nameof(Sdk_Merges)])]
    public void PrepareSdkMerges()
    {
        var visits = PrepareMerges();
        foreach (var chunk in visits.Chunk(5_000))
        {
            _engine.TrackBatchAsync(chunk).GetAwaiter().GetResult();
        }
    }

    [IterationSetup(Targets = [nameof(Naive_Merges)])]
    public void PrepareNaiveMerges()
    {
        foreach (var e in PrepareMerges())
        {
            _naive.Apply(e);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("KnownCustomers")]
    public int Naive_KnownCustomers()
    {
        foreach (var e in _events)
        {
            _naive.Apply(e);
        }

        return _naive.Count;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("KnownCustomers")]
    public int Sdk_KnownCustomers() => _engine.TrackBatchAsync(_events).GetAwaiter().GetResult().Count;

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Merges")]
    public int Naive_Merges()
    {
        foreach (var e in _events)
        {
            _naive.Apply(e);
        }

        return _naive.Count;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Merges")]
    public int Sdk_Merges() => _engine.TrackBatchAsync(_events).GetAwaiter().GetResult().Count;

    // Each round: Batch anonymous visitors browse (profiles created in setup), then log in as a known customer (measured: a merge each).
    private CustomerEvent[] PrepareMerges()
    {
        _round++;
        var visits = new CustomerEvent[Batch];
        _events = new CustomerEvent[Batch];
        for (var i = 0; i < Batch; i++)
        {
            var visitor = Identifier.AnonymousId($"cookie-{_round}-{i}");
            var customer = _random.Next(Profiles);
            visits[i] = new CustomerEvent
            {
                Id = $"view-{_round}-{i}",
                Type = EventTypes.ProductViewed,
                Timestamp = Start.AddMinutes(_round),
                Identifiers = [visitor],
                Properties = JsonData.From(new { product_id = "p" + (i % 500) }),
            };
            _events[i] = new CustomerEvent
            {
                Id = $"login-{_round}-{i}",
                Type = "user.logged_in",
                Timestamp = Start.AddMinutes(_round).AddSeconds(1),
                Identifiers = [visitor, Identifier.CustomerId($"c{customer}")],
            };
        }

        return visits;
    }

    private IEnumerable<CustomerEvent> Registrations()
    {
        for (var i = 0; i < Profiles; i++)
        {
            yield return new CustomerEvent
            {
                Id = $"signup-{i}",
                Type = "user.signed_up",
                Timestamp = Start,
                Identifiers = [Identifier.CustomerId($"c{i}"), Identifier.Email($"customer{i}@example.com")],
            };
        }
    }

    private static CustomerEvent Order(string id, Identifier[] identifiers, decimal total) => new()
    {
        Id = id,
        Type = EventTypes.OrderPlaced,
        Timestamp = Start.AddDays(1),
        Identifiers = identifiers,
        Properties = JsonData.From(new { order_id = id, total, currency = "GBP", items = 1 }),
    };
}
