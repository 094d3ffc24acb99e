using System.Diagnostics;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;

namespace RetailReplay;

/// <summary>What to replay.</summary>
public sealed record ReplayOptions(string DataPath, IReadOnlyList<SegmentDefinition> Segments)
{
    /// <summary>Instants at which every segment's member count is recorded.</summary>
    public IReadOnlyList<DateTimeOffset> AsOf { get; init; } = [];

    /// <summary>The store; in memory when null.</summary>
    public IOmnichannelStore? Store { get; init; }

    /// <summary>
    /// Journeys to backtest. The data set has no addresses or consents: with journeys, every customer (and guest) gets a
    /// synthetic address (<c>&lt;id&gt;@replay.invalid</c>) and marketing consent just before their first invoice, and
    /// messages go to a counting transport.
    /// </summary>
    public IReadOnlyList<JourneyDefinition> Journeys { get; init; } = [];

    /// <summary>
    /// Tracks every event alone with the clock at its own instant (slower); the report is the same either way. By
    /// default the events up to the next pending timer (a wake-up, an outbox entry due, an <see cref="AsOf"/> instant), at
    /// most 1,024, go in one <c>TrackBatchAsync</c> call with the clock at the batch's last instant: every timer runs at its
    /// own instant before any later event, and the segment counts, which depend on the events up to an instant and not on
    /// when they were applied, are exact. With <see cref="Journeys"/> a batch holds only the events at one instant: a
    /// journey measures its waits, entries, cooldowns and goal windows from the clock, so an event applied at a later
    /// instant would start them late (a one-day wait armed by Monday's order would end a day after the batch's Saturday).
    /// </summary>
    public bool Serial { get; init; }

    /// <summary>
    /// Replays only the year's first this many events (all when null), counted before the synthetic consents; for a
    /// warm-up run. At least 1, else <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    public int? MaxEvents { get; init; }

    /// <summary>Silos of an in-process Orleans cluster to send the events through; 0 (the default) for one process.</summary>
    public int OrleansSilos { get; init; }
}

/// <summary>What a backtested journey did over the replay.</summary>
/// <param name="Entered">Instances started.</param>
/// <param name="Steps">Step id → how often it ran.</param>
/// <param name="Converted">Instances whose goal was reached within its window.</param>
/// <param name="Revenue">Revenue of those goal events.</param>
public sealed record JourneyBacktest(long Entered, IReadOnlyDictionary<string, long> Steps, long Converted, double Revenue);

/// <summary>What a replay measured.</summary>
public sealed record ReplayReport(
    IReadOnlyDictionary<DateTimeOffset, IReadOnlyDictionary<string, int>> AsOf,
    int Events,
    int Skipped,
    int Rejected,
    double Seconds)
{
    /// <summary>Per backtested journey, what it did (empty without journeys).</summary>
    public IReadOnlyDictionary<string, JourneyBacktest> Journeys { get; init; } = new Dictionary<string, JourneyBacktest>();

    /// <summary>The measurement report's data at the end of the replay (null without journeys).</summary>
    public MeasurementReportData? Measurement { get; init; }

    /// <summary>Messages the counting transport received.</summary>
    public long MessagesSent { get; init; }

    /// <summary>Events tracked per second of replay (CSV parsing excluded).</summary>
    public double EventsPerSecond => Events / Seconds;

    /// <summary>
    /// The process's CPU time over the replay (every thread: the engine's workers, the collector), in seconds. It includes
    /// the thread pool's spinning, which grows when cores are idle: compare it between runs made in the same conditions.
    /// </summary>
    public double CpuSeconds { get; init; }

    /// <summary>Bytes allocated on the managed heap over the replay, by every thread: the same in every run of one build.</summary>
    public long AllocatedBytes { get; init; }

    /// <summary>
    /// The managed heap's live bytes right after the replay, after a full collection: the engine, its store and hot
    /// profiles, and the replay's own events.
    /// </summary>
    public long HeapBytes { get; init; }

    /// <summary>Garbage collections over the replay, by generation (0, 1, 2): with <see cref="GcPauseSeconds"/>, what the collector cost.</summary>
    public IReadOnlyList<int> Collections { get; init; } = [];

    /// <summary>The time the runtime was paused for garbage collections over the replay, in seconds (<c>GC.GetTotalPauseDuration</c>).</summary>
    public double GcPauseSeconds { get; init; }

    /// <summary>
    /// How many <c>TrackBatchAsync</c> calls carried the events: one per event with <see cref="ReplayOptions.Serial"/>,
    /// otherwise one per stretch of events between two pending timers (a wake-up, an outbox entry, a count).
    /// </summary>
    public int Batches { get; init; }
}

/// <summary>Replays the Online Retail data set through the SDK on a virtual clock driven by the events' own times.</summary>
public static class Replay
{
    public static async Task<ReplayReport> RunAsync(ReplayOptions options, Action<string>? log = null)
    {
        if (options.MaxEvents is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxEvents, $"{nameof(ReplayOptions)}.{nameof(ReplayOptions.MaxEvents)} must be at least 1 (null: every event); it is {options.MaxEvents}.");
        }

        var invoices = OnlineRetail.ReadInvoices(options.DataPath);
        var events = invoices.Select(OnlineRetail.ToEvent).OfType<CustomerEvent>().ToList();
        var skipped = invoices.Count - events.Count;
        if (events.Count == 0)
        {
            throw new InvalidDataException($"{options.DataPath}: each of its {invoices.Count:N0} invoices is an adjustment (InvoiceNo starting with A) or charges nothing (a total of 0 or less), not a sale or a return: nothing to replay.");
        }

        if (options.MaxEvents is { } max && max < events.Count)
        {
            events.RemoveRange(max, events.Count - max);
        }

        if (options.Journeys.Count > 0)
        {
            events = WithSyntheticConsent(events);
            log?.Invoke("Journeys backtested: every customer gets a synthetic address (<id>@replay.invalid) and marketing email consent before their first invoice (the data set has neither).");
        }
        log?.Invoke($"Read {invoices.Count:N0} invoices: {events.Count:N0} events; {skipped:N0} skipped (adjustments, and invoices that charge nothing: stock written off, goods given away).");

        var clock = new VirtualClock(events[0].Timestamp);
        OmnichannelOptions NewOptions()
        {
            // One process on a virtual clock: its own commits arm every timer, so no look in the store for other processes' work.
            var o = new OmnichannelOptions { DeduplicationRetention = TimeSpan.FromDays(400), StorePollInterval = null };
            o.Privacy.HashKey = "retail-replay-sample-key-not-a-secret-0000001"; // a replay keeps no hashes worth guarding
            foreach (var s in options.Segments)
            {
                o.Segments.Add(s);
            }

            foreach (var j in options.Journeys)
            {
                o.Journeys.Add(j);
            }

            if (options.Journeys.Count > 0)
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore; // a replay has no night to wait out
            }

            return o;
        }

        var transport = new CountingTransport();
        DeliverySetup? NewDelivery()
        {
            if (options.Journeys.Count == 0)
            {
                return null;
            }

            var delivery = new DeliverySetup();
            delivery.AddTransport("counting", transport);
            var templateIds = options.Journeys.SelectMany(j => j.Steps).OfType<SendStep>().Select(x => x.TemplateId).Distinct();
            var loaded = TemplateRenderer.Load(templateIds.Select(id => new TemplateDocument(id, [TemplateVariant.Email(id, "<p>" + id + "</p>", id)])));
            delivery.Renderer = new TemplateMessageRenderer(loaded.Renderer!, "Replay <replay@example.invalid>");
            return delivery;
        }

        var store = options.Store ?? new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(NewOptions(), store, clock, delivery: NewDelivery());

        // With --orleans-silos: events go through a cluster client to the customers' grains, applied by the silos'
        // engines on the same store; this engine only drives the virtual clock (wake-ups, dispatch) and counts.
        IOmnichannelClient client = engine;
        await using var cluster = options.OrleansSilos > 0
            ? await ReplayCluster.StartAsync(options.OrleansSilos, () => new OmnichannelEngine(NewOptions(), store, new ClockWithoutTimers(clock), delivery: NewDelivery()))
            : null;
        if (cluster is not null)
        {
            client = new Omnichannel.Sdk.Orleans.OmnichannelClusterClient(cluster.Client, NewOptions());
            log?.Invoke($"Cluster: {options.OrleansSilos} in-process Orleans silo(s); events go through the cluster client.");
        }

        var asOf = new Queue<DateTimeOffset>(options.AsOf.Order());
        var counts = new SortedDictionary<DateTimeOffset, IReadOnlyDictionary<string, int>>();
        var rejected = 0;
        var batches = 0;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var pauseBefore = GC.GetTotalPauseDuration();
        var watch = Stopwatch.StartNew();
        var batch = new List<CustomerEvent>(MaxBatch);
        for (var i = 0; i < events.Count;)
        {
            var e = events[i];
            while (asOf.Count > 0 && asOf.Peek() < e.Timestamp)
            {
                var at = asOf.Dequeue();
                await engine.AdvanceVirtualClockAsync(at, clock.SetUtcNow);
                counts[at] = await CountAsync(engine);
            }

            await engine.AdvanceVirtualClockAsync(e.Timestamp, clock.SetUtcNow);
            batch.Clear();
            batch.Add(e);
            var j = i + 1;
            if (!options.Serial)
            {
                // The events up to the next pending timer (a wake-up, an outbox entry, a count) go in one batch, tracked
                // with the clock at the batch's last instant: every timer armed before them still runs at its own instant
                // and before any later event, as one by one. A segment's members at an instant depend on the events up to
                // it, not on when they were applied, so the counts are exact. Journeys are not: a wait, an entry, a goal
                // window or a segment entry lasting less than the batch is measured from the clock, so with journeys a
                // batch holds only the events at one instant (the clock at each one's own, as one by one).
                var wake = await engine.GetNextWakeUpAsync();
                var send = options.Journeys.Count > 0 ? await store.GetNextOutboxDueAsync() : null;
                var stop = Min(Min(wake, send), asOf.Count > 0 ? asOf.Peek() : null);
                if (options.Journeys.Count > 0)
                {
                    stop = Min(stop, e.Timestamp.AddTicks(1));
                }

                while (j < events.Count && batch.Count < MaxBatch && (stop is null || events[j].Timestamp < stop))
                {
                    batch.Add(events[j++]);
                }

                if (batch[^1].Timestamp > e.Timestamp)
                {
                    await engine.AdvanceVirtualClockAsync(batch[^1].Timestamp, clock.SetUtcNow);
                }
            }

            var results = await client.TrackBatchAsync(batch);
            batches++;
            for (var k = 0; k < results.Count; k++)
            {
                if (!results[k].IsAcknowledged)
                {
                    rejected++;
                    log?.Invoke($"  {batch[k].Id}: {results[k].Status} {string.Join("; ", results[k].Errors)}");
                }
            }

            i = j;
        }

        while (asOf.Count > 0)
        {
            var at = asOf.Dequeue();
            await engine.AdvanceVirtualClockAsync(at, clock.SetUtcNow);
            counts[at] = await CountAsync(engine);
        }

        watch.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        int[] collections = [GC.CollectionCount(0) - collectionsBefore[0], GC.CollectionCount(1) - collectionsBefore[1], GC.CollectionCount(2) - collectionsBefore[2]];
        var pause = GC.GetTotalPauseDuration() - pauseBefore;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        if (counts.Count == 0)
        {
            counts[clock.GetUtcNow()] = await CountAsync(engine);
        }

        var journeys = new Dictionary<string, JourneyBacktest>(StringComparer.Ordinal);
        MeasurementReportData? measurement = null;
        if (options.Journeys.Count > 0)
        {
            await engine.RunDispatchAsync();
            foreach (var id in options.Journeys.Select(j => j.Id).Distinct(StringComparer.Ordinal))
            {
                var stats = await engine.GetJourneyStatisticsAsync(id);
                var revenue = (await engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = id, MetricPrefix = "journey:revenue" }))
                    .Where(r => r.Key.Metric == "journey:revenue").Sum(r => r.Sum);
                journeys[id] = new JourneyBacktest(stats.Entered, stats.Steps.ToDictionary(kv => kv.Key, kv => kv.Value.Entered, StringComparer.Ordinal), stats.Converted, Math.Round(revenue, 2));
            }

            var end = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
            measurement = await MeasurementReport.BuildAsync(engine, new MeasurementReportOptions
            {
                Title = "Online Retail backtest",
                From = DateOnly.FromDateTime(events[0].Timestamp.UtcDateTime),
                To = end,
            }, clock);
        }

        return new ReplayReport(counts, events.Count - (options.Journeys.Count > 0 ? SyntheticCount(events) : 0), skipped, rejected, watch.Elapsed.TotalSeconds)
        {
            Journeys = journeys,
            Measurement = measurement,
            MessagesSent = transport.Sent,
            CpuSeconds = cpu.TotalSeconds,
            AllocatedBytes = allocated,
            Batches = batches,
            HeapBytes = heap,
            Collections = collections,
            GcPauseSeconds = pause.TotalSeconds,
        };
    }

    private const int MaxBatch = 1024; // a day of this shop is about 70 invoices; the timers bound a batch long before this

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

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

    private const string SyntheticPrefix = "synthetic-consent-";

    private static int SyntheticCount(List<CustomerEvent> events) => events.Count(e => e.Id.StartsWith(SyntheticPrefix, StringComparison.Ordinal));

    // Before each identifier's first invoice: the same person with a synthetic email address and marketing consent.
    private static List<CustomerEvent> WithSyntheticConsent(List<CustomerEvent> events)
    {
        var seen = new HashSet<Identifier>();
        var result = new List<CustomerEvent>(events.Count * 2);
        foreach (var e in events)
        {
            var id = e.Identifiers[0];
            if (seen.Add(id))
            {
                result.Add(new CustomerEvent
                {
                    Id = SyntheticPrefix + id.Type + "-" + id.Value,
                    Type = EventTypes.ConsentChanged,
                    Timestamp = e.Timestamp,
                    Channel = ChannelNames.Web,
                    Identifiers = [id, Identifier.Email($"{id.Value}@replay.invalid")],
                    Properties = System.Text.Json.JsonSerializer.SerializeToElement(new { channel = ChannelNames.Email, granted = true }),
                });
            }

            result.Add(e);
        }

        return result;
    }

    /// <summary>Counts what the journeys send; delivers nothing.</summary>
    private sealed class CountingTransport : IChannelTransport
    {
        private long _sent;

        public string Channel => ChannelNames.Email;

        public long Sent => Interlocked.Read(ref _sent);

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _sent);
            return ValueTask.FromResult(DeliveryResult.Accepted(message.MessageId));
        }
    }
}
