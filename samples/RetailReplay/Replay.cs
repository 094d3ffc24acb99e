using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace RetailReplay;

/// <summary>What to replay.</summary>
public sealed record ReplayOptions(string DataPath, IReadOnlyList<SegmentDefinition> Segments)
{
    /// <summary>Instants at which every segment's member count is recorded.</summary>
    public IReadOnlyList<DateTimeOffset> AsOf { get; init; } = [];

    /// <summary>The store; in memory when null.</summary>
    public IOmnichannelStore? Store { get; init; }
}

/// <summary>What a replay measured.</summary>
public sealed record ReplayReport(
    IReadOnlyDictionary<DateTimeOffset, IReadOnlyDictionary<string, int>> AsOf,
    int Events,
    int Skipped,
    int Rejected,
    double Seconds)
{
    /// <summary>Events tracked per second of replay (CSV parsing excluded).</summary>
    public double EventsPerSecond => Events / Seconds;
}

/// <summary>Replays the Online Retail data set through the SDK on a virtual clock driven by the events' own times.</summary>
public static class Replay
{
    public static async Task<ReplayReport> RunAsync(ReplayOptions options, Action<string>? log = null)
    {
        var invoices = OnlineRetail.ReadInvoices(options.DataPath);
        var events = invoices.Select(OnlineRetail.ToEvent).OfType<CustomerEvent>().ToList();
        var skipped = invoices.Count - events.Count;
        log?.Invoke($"Read {invoices.Count:N0} invoices: {events.Count:N0} events, {skipped} adjustments skipped.");

        var clock = new FakeTimeProvider(events[0].Timestamp);
        var engineOptions = new OmnichannelOptions { DeduplicationRetention = TimeSpan.FromDays(400) };
        engineOptions.Privacy.HashKey = "retail-replay-sample-key-not-a-secret-0000001"; // a replay keeps no hashes worth guarding
        foreach (var s in options.Segments)
        {
            engineOptions.Segments.Add(s);
        }

        await using var engine = new OmnichannelEngine(engineOptions, options.Store ?? new InMemoryOmnichannelStore(), clock);
        var asOf = new Queue<DateTimeOffset>(options.AsOf.Order());
        var counts = new SortedDictionary<DateTimeOffset, IReadOnlyDictionary<string, int>>();
        var rejected = 0;
        var watch = Stopwatch.StartNew();
        foreach (var e in events)
        {
            while (asOf.Count > 0 && asOf.Peek() < e.Timestamp)
            {
                var at = asOf.Dequeue();
                await engine.AdvanceVirtualClockAsync(at, clock.SetUtcNow);
                counts[at] = await CountAsync(engine);
            }

            await engine.AdvanceVirtualClockAsync(e.Timestamp, clock.SetUtcNow);
            var result = await engine.TrackAsync(e);
            if (!result.IsAcknowledged)
            {
                rejected++;
                log?.Invoke($"  {e.Id}: {result.Status} {string.Join("; ", result.Errors)}");
            }
        }

        while (asOf.Count > 0)
        {
            var at = asOf.Dequeue();
            await engine.AdvanceVirtualClockAsync(at, clock.SetUtcNow);
            counts[at] = await CountAsync(engine);
        }

        watch.Stop();
        if (counts.Count == 0)
        {
            counts[clock.GetUtcNow()] = await CountAsync(engine);
        }

        return new ReplayReport(counts, events.Count, skipped, rejected, watch.Elapsed.TotalSeconds);
    }

    private static async Task<IReadOnlyDictionary<string, int>> CountAsync(OmnichannelEngine engine)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in engine.Segments)
        {
            var n = 0;
            string? after = null;
            while (await engine.GetSegmentMembersAsync(s.Id, after, 1000) is { Count: > 0 } page)
            {
                n += page.Count;
                after = page[^1];
            }

            counts[s.Id] = n;
        }

        return counts;
    }
}
