using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Runtime.ExceptionServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The workload of the store benchmarks: each round, <see cref="Customers"/> new customers identify themselves
/// (customer id + email, traits, context) and then place orders, <see cref="Events"/> events in all, interleaved.
/// Every round uses new customers and event ids, so the database grows the same way under the SDK and the raw baseline.
/// </summary>
internal static class StoreIngestData
{
    public const int Events = 2_000;
    public const int Customers = 200;

    private static readonly string[] Cities = ["London", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "York"];
    private static readonly string[] Products = ["kibble-2kg", "salmon-treats", "scratch-post", "litter-10l", "feather-wand", "cat-bed", "water-fountain"];

    /// <summary>The events of one round, in the order they are submitted.</summary>
    public static CustomerEvent[] Round(int round, DateTimeOffset start)
    {
        var events = new CustomerEvent[Events];
        for (var i = 0; i < Events; i++)
        {
            var c = i % Customers;
            var customer = Identifier.CustomerId($"r{round}-c{c}");
            var at = start.AddSeconds(i);
            events[i] = i < Customers
                ? new CustomerEvent
                {
                    Id = $"r{round}-identify-{c}",
                    Type = "user.identified",
                    Timestamp = at,
                    Identifiers = [customer, Identifier.Email($"customer.{round}.{c}@example.com")],
                    Context = new EventContext { DeviceType = c % 3 == 0 ? "mobile" : "desktop", Locale = "en-GB", Country = "GB", City = Cities[c % Cities.Length], TimeZone = "Europe/London" },
                    Traits = JsonData.From(new { first_name = "Customer" + c, last_name = "Round" + round, city = Cities[c % Cities.Length], loyalty_tier = c % 4 == 0 ? "gold" : "standard", marketing_opt_in = c % 2 == 0 }),
                }
                : new CustomerEvent
                {
                    Id = $"r{round}-order-{i}",
                    Type = EventTypes.OrderPlaced,
                    Timestamp = at,
                    Identifiers = [customer],
                    Channel = (i % 3) switch { 0 => ChannelNames.Web, 1 => "mobile_app", _ => "store" },
                    Properties = JsonData.From(new
                    {
                        order_id = $"o-{round}-{i}",
                        total = 12.5m + (i % 17) * 7.25m,
                        currency = "GBP",
                        coupon = i % 5 == 0 ? "MOCHI10" : null,
                        shipping_method = i % 2 == 0 ? "standard" : "next_day",
                        items = Enumerable.Range(0, 1 + i % 3).Select(k => new { product_id = Products[(i + k) % Products.Length], quantity = 1 + k, price = 4.99m + k }).ToArray(),
                    }),
                };
        }

        return events;
    }

    /// <summary>How many commits shared a transaction (the store's internal counters, read by reflection for the log).</summary>
    public static void ReportGroupCommit(IOmnichannelStore store)
    {
        var type = store.GetType();
        if (type.GetProperty("TransactionCount", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(store) is long transactions
            && type.GetProperty("OperationCount", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(store) is long operations
            && transactions > 0)
        {
            Console.WriteLine($"// Group commit: {operations:N0} write operations in {transactions:N0} transactions, {(double)operations / transactions:N2} per transaction.");
        }
    }

    /// <summary>When the rounds' events happen: recently enough to be accepted, never in the future.</summary>
    public static DateTimeOffset Start() => TimeProvider.System.GetUtcNow().AddHours(-2);
}

/// <summary>
/// Captures the <see cref="ProfileCommit"/>s the engine makes for a round, on an in-memory store, so that the raw
/// baselines write exactly the rows (ids, identifiers, profile documents byte for byte) the SDK writes.
/// </summary>
internal sealed class CommitCapture : IAsyncDisposable
{
    private readonly CommitRecorder _recorder;
    private readonly OmnichannelEngine _engine;

    public CommitCapture()
    {
        var store = CommitRecorder.Wrap(new InMemoryOmnichannelStore(), out _recorder);
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = BenchmarkKeys.HashKey;
        _engine = new OmnichannelEngine(options, store);
    }

    /// <summary>The commits of <paramref name="events"/>, one per event (checked).</summary>
    public IReadOnlyList<ProfileCommit> Capture(IReadOnlyList<CustomerEvent> events)
    {
        _recorder.Clear();
        var results = _engine.TrackBatchAsync(events).GetAwaiter().GetResult();
        var commits = _recorder.Drain();
        if (results.Any(r => r.Status != TrackStatus.Accepted) || commits.Count != events.Count)
        {
            throw new InvalidOperationException($"Expected {events.Count} accepted events with one commit each; got {commits.Count} commits, statuses {string.Join(",", results.Select(r => r.Status).Distinct())}.");
        }

        return commits;
    }

    public ValueTask DisposeAsync() => _engine.DisposeAsync();
}

/// <summary>A store decorator that remembers every commit passed through it.</summary>
/// <remarks>Not sealed, public, with a public constructor: <see cref="DispatchProxy"/> derives from it at run time.</remarks>
public class CommitRecorder : DispatchProxy
{
    private readonly ConcurrentQueue<ProfileCommit> _commits = new();
    private IOmnichannelStore _inner = null!;

    internal static IOmnichannelStore Wrap(IOmnichannelStore inner, out CommitRecorder recorder)
    {
        var proxy = Create<IOmnichannelStore, CommitRecorder>();
        recorder = (CommitRecorder)(object)proxy;
        recorder._inner = inner;
        return proxy;
    }

    internal void Clear() => _commits.Clear();

    internal List<ProfileCommit> Drain()
    {
        var all = new List<ProfileCommit>(_commits.Count);
        while (_commits.TryDequeue(out var c))
        {
            all.Add(c);
        }

        return all;
    }

    /// <inheritdoc />
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);

        // The baselines write one event's rows per commit (as the SDK did before runs), so that they stay the same yardstick
        // across versions: the capture commits one event at a time.
        if (targetMethod.Name == "get_" + nameof(IOmnichannelStore.CommitsFurtherEventIds))
        {
            return false;
        }

        if (targetMethod.Name == nameof(IOmnichannelStore.CommitAsync) && args is [ProfileCommit commit, ..])
        {
            _commits.Enqueue(commit);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}

/// <summary>Events per second: 1 s / Mean, where one operation is one event (<c>OperationsPerInvoke</c>).</summary>
public sealed class EventsPerSecondColumn : IColumn
{
    public string Id => nameof(EventsPerSecondColumn);

    public string ColumnName => "Events/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Events per second (1 s / Mean; one operation is one event)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        summary[benchmarkCase]?.ResultStatistics?.Mean is > 0 and var mean ? (1e9 / mean).ToString("N0", CultureInfo.InvariantCulture) : "NA";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}

/// <summary>Adds <see cref="EventsPerSecondColumn"/> to a benchmark class's report.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class EventsPerSecondColumnAttribute : ColumnConfigBaseAttribute
{
    public EventsPerSecondColumnAttribute()
        : base(new EventsPerSecondColumn())
    {
    }
}
