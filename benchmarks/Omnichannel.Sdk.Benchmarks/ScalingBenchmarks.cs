using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Cost as work grows, in memory: the cost of one event (a product view of a random known customer) with 10k, 100k and
/// 1M profiles (three past events each), and with 10, 1,000 and 10,000 past events per profile (a shop's mix: views,
/// cart adds, one order in twenty; 1,000, 100 and 10 such customers). Each category's smallest case is its baseline, so a flat curve reads as ratios near 1. Every profile is hot
/// (the cache holds them all); the 1M case prints the memory each hot profile takes. The "HistoryOneByOne" category
/// tracks the same histories' events one awaited call at a time, so that every event is its own commit. The
/// "HistoryOrders" category measures new orders instead of views on the same histories (a customer with 10,000 past
/// events has 500 orders, and gains a thousand more per iteration), so that a profile's orders, which are never trimmed,
/// are seen not to make her next order cost more. The "HistoryOrderUpdates" category sends one of her known orders again
/// (the same <c>order_id</c>, a new total: a shop's order webhook on each change), so that updating an order is seen not to
/// cost more with the orders she has (its histories also place an order at the second event, so that the 10-event
/// customer has one to update).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 6, invocationCount: 1)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser]
public class ScalingBenchmarks
{
    private const int Batch = 20_000;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Random _random = new(7);
    private OmnichannelEngine? _engine;
    private CustomerEvent[] _events = [];
    private int _customers;
    private int _round;
    private bool _orders; // the HistoryOrders category: the measured events are new orders
    private bool _updates; // the HistoryOrderUpdates category: the measured events send one of her past orders again
    private int _pastEvents;

    [GlobalSetup(Target = nameof(Profiles_10k))]
    public void SetUp10k() => SetUp(10_000, 3);

    [GlobalSetup(Target = nameof(Profiles_100k))]
    public void SetUp100k() => SetUp(100_000, 3);

    [GlobalSetup(Target = nameof(Profiles_1M))]
    public void SetUp1M() => SetUp(1_000_000, 3, reportMemory: true);

    [GlobalSetup(Target = nameof(History_10))]
    public void SetUpHistory10() => SetUp(1_000, 10);

    [GlobalSetup(Target = nameof(History_1000))]
    public void SetUpHistory1000() => SetUp(100, 1_000);

    [GlobalSetup(Target = nameof(History_10000))]
    public void SetUpHistory10000() => SetUp(10, 10_000);

    [GlobalSetup(Target = nameof(OneByOne_History_10))]
    public void SetUpOneByOne10() => SetUp(1_000, 10);

    [GlobalSetup(Target = nameof(OneByOne_History_1000))]
    public void SetUpOneByOne1000() => SetUp(100, 1_000);

    [GlobalSetup(Target = nameof(OneByOne_History_10000))]
    public void SetUpOneByOne10000() => SetUp(10, 10_000);

    [GlobalSetup(Target = nameof(Orders_History_10))]
    public void SetUpOrders10() => SetUp(1_000, 10, orders: true);

    [GlobalSetup(Target = nameof(Orders_History_1000))]
    public void SetUpOrders1000() => SetUp(100, 1_000, orders: true);

    [GlobalSetup(Target = nameof(Orders_History_10000))]
    public void SetUpOrders10000() => SetUp(10, 10_000, orders: true);

    [GlobalSetup(Target = nameof(OrderUpdates_History_10))]
    public void SetUpUpdates10() => SetUp(1_000, 10, updates: true);

    [GlobalSetup(Target = nameof(OrderUpdates_History_1000))]
    public void SetUpUpdates1000() => SetUp(100, 1_000, updates: true);

    [GlobalSetup(Target = nameof(OrderUpdates_History_10000))]
    public void SetUpUpdates10000() => SetUp(10, 10_000, updates: true);

    [GlobalCleanup]
    public void CleanUp() => _engine?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [IterationSetup]
    public void Prepare()
    {
        _round++;
        _events = new CustomerEvent[Batch];
        for (var i = 0; i < Batch; i++)
        {
            var customer = _random.Next(_customers);
            var at = Start.AddDays(30).AddSeconds((_round * Batch) + i);
            _events[i] = _updates
                ? OrderUpdate(customer, at, i)
                : _orders
                ? new CustomerEvent
                {
                    Id = $"mo-{_round}-{i}", Type = EventTypes.OrderPlaced, Timestamp = at, Identifiers = [Identifier.CustomerId($"c{customer}")],
                    Properties = JsonData.From(new { order_id = $"mo-{_round}-{i}", total = 20 + (i % 80), currency = "GBP", items = 1 }),
                }
                : View($"m-{_round}-{i}", customer, at, i);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Profiles")]
    public int Profiles_10k() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Profiles")]
    public int Profiles_100k() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("Profiles")]
    public int Profiles_1M() => Track();

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("History")]
    public int History_10() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("History")]
    public int History_1000() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("History")]
    public int History_10000() => Track();

    // The same histories, one awaited event at a time (a shop's request path): in a batch a customer's consecutive events
    // are committed once (runs), which hides what one commit of a long-lived profile costs; here every event is a commit.
    [Benchmark(Baseline = true, OperationsPerInvoke = OneByOne)]
    [BenchmarkCategory("HistoryOneByOne")]
    public Task<int> OneByOne_History_10() => TrackOneByOneAsync();

    [Benchmark(OperationsPerInvoke = OneByOne)]
    [BenchmarkCategory("HistoryOneByOne")]
    public Task<int> OneByOne_History_1000() => TrackOneByOneAsync();

    [Benchmark(OperationsPerInvoke = OneByOne)]
    [BenchmarkCategory("HistoryOneByOne")]
    public Task<int> OneByOne_History_10000() => TrackOneByOneAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrders")]
    public int Orders_History_10() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrders")]
    public int Orders_History_1000() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrders")]
    public int Orders_History_10000() => Track();

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrderUpdates")]
    public int OrderUpdates_History_10() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrderUpdates")]
    public int OrderUpdates_History_1000() => Track();

    [Benchmark(OperationsPerInvoke = Batch)]
    [BenchmarkCategory("HistoryOrderUpdates")]
    public int OrderUpdates_History_10000() => Track();

    private const int OneByOne = 2_000;

    private async Task<int> TrackOneByOneAsync()
    {
        var acknowledged = 0;
        for (var i = 0; i < OneByOne; i++)
        {
            acknowledged += (await _engine!.TrackAsync(_events[i])).IsAcknowledged ? 1 : 0;
        }

        return acknowledged;
    }

    private int Track() => _engine!.TrackBatchAsync(_events).GetAwaiter().GetResult().Count;

    private void SetUp(int customers, int pastEvents, bool reportMemory = false, bool orders = false, bool updates = false)
    {
        _customers = customers;
        _orders = orders;
        _updates = updates;
        _pastEvents = pastEvents;
        var options = new OmnichannelOptions { ProfileCacheSize = 10_000_000, ProfileCacheBytes = 1L << 36 };
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore());
        var history = Enumerable.Range(0, pastEvents).SelectMany(n => Enumerable.Range(0, customers).Select(c => Past(c, n, firstOrder: updates)));
        foreach (var chunk in history.Chunk(50_000))
        {
            _engine.TrackBatchAsync(chunk).GetAwaiter().GetResult();
        }

        if (reportMemory)
        {
            var after = GC.GetTotalMemory(forceFullCollection: true);
            var store = (InMemoryOmnichannelStore)_engine.Store;
            long documents = 0;
            foreach (var id in store.ListProfileIdsAsync(null, 1_000).AsTask().GetAwaiter().GetResult())
            {
                documents += store.LoadProfileAsync(id).AsTask().GetAwaiter().GetResult()!.Document.Length;
            }

            Console.WriteLine(
                $"// Memory per profile at {customers:N0} profiles ({pastEvents} events each, all hot): {(after - before) / customers:N0} bytes " +
                $"in all (hot object, stored document, identity index, processed event ids); stored document {documents / 1_000:N0} bytes");
        }
    }

    // A shop's mix: the first event signs the customer up; then views, a cart add in five, an order in twenty.
    private static CustomerEvent Past(int customer, int n, bool firstOrder = false)
    {
        var at = Start.AddMinutes(n);
        var ids = n == 0
            ? new[] { Identifier.CustomerId($"c{customer}"), Identifier.Email($"customer{customer}@example.com") }
            : [Identifier.CustomerId($"c{customer}")];
        return (n % 20, n % 5) switch
        {
            _ when (n % 20 == 0 && n > 0) || (firstOrder && n == 1) => new CustomerEvent
            {
                Id = $"o-{customer}-{n}",
                Type = EventTypes.OrderPlaced,
                Timestamp = at,
                Identifiers = ids,
                Properties = JsonData.From(new { order_id = $"o-{customer}-{n}", total = 20 + n % 80, currency = "GBP", items = 1 }),
            },
            (_, 0) when n > 0 => new CustomerEvent
            {
                Id = $"a-{customer}-{n}",
                Type = EventTypes.CartItemAdded,
                Timestamp = at,
                Identifiers = ids,
                Properties = JsonData.From(new { product_id = "p" + (n % 300), quantity = 1, price = 9.5m }),
            },
            _ => View($"v-{customer}-{n}", customer, at, n) with { Identifiers = ids, Type = n == 0 ? "user.signed_up" : EventTypes.ProductViewed },
        };
    }

    // One of her past orders (placed at event 1 or at every twentieth, see Past) sent again with a new total, in pence.
    private CustomerEvent OrderUpdate(int customer, DateTimeOffset at, int i)
    {
        var placed = (_pastEvents - 1) / 20; // orders at 20, 40, …, below the history's length
        var k = _random.Next(placed + 1);
        var n = k == 0 ? 1 : k * 20;
        return new CustomerEvent
        {
            Id = $"mu-{_round}-{i}",
            Type = EventTypes.OrderPlaced,
            Timestamp = at,
            Identifiers = [Identifier.CustomerId($"c{customer}")],
            Properties = JsonData.From(new { order_id = $"o-{customer}-{n}", total = 20.05m + (i % 80), currency = "GBP", items = 1 }),
        };
    }

    private static CustomerEvent View(string id, int customer, DateTimeOffset at, int n) => new()
    {
        Id = id,
        Type = EventTypes.ProductViewed,
        Timestamp = at,
        Identifiers = [Identifier.CustomerId($"c{customer}")],
        Properties = JsonData.From(new { product_id = "p" + (n % 500) }),
    };
}
