using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

/// <summary>
/// The engine: validates events, resolves identity, applies events to profiles and commits them atomically,
/// one worker per partition. Build it with <c>services.AddOmnichannel()</c>, or directly with this constructor.
/// </summary>
public sealed partial class OmnichannelEngine : IOmnichannelClient, IAsyncDisposable, IDisposable
{
    private readonly OmnichannelOptions _options;
    private readonly IOmnichannelStore _store;

    // The in-memory store keeps a document sharing its unchanged elements with the version before (see SharedDocument):
    // a commit costs what changed. Durable stores write bytes, so they get the contiguous document directly.
    private readonly bool _sharesDocuments;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // The engine's clock, for the measurement report's default period (a test host's fake clock, not the system's).
    internal TimeProvider Clock => _time;

    private readonly EngineMetrics _metrics;
    private readonly EventValidator _validator;
    private readonly Privacy.IdentifierHasher _hasher;
    private readonly SoftBounceRule _softBounceRule; // audit U73: soft bounces add up to a suppression

    // A trimmed touch's newest reach kept for the soft-bounce runs (ProfileCore.KeepReach), when soft bounces are counted.
    private Func<string, string, string>? ReachHash => _softBounceRule.Limit >= 1 ? _softBounceRule.Hash : null;
    private readonly Channel<WorkItem>[] _queues;
    private readonly HotProfiles[] _hot;
    private readonly ProfileAffinity _affinity;
    private readonly Task[] _workers;
    private readonly ITimer _maintenance;
    private readonly ITimer _wakeTimer;
    private readonly bool _runs;
    private int _disposed;
    private Task? _disposal;

    /// <summary>Creates and starts an engine.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="store">The store.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="meterFactory">Metrics; a plain <see cref="Meter"/> when <see langword="null"/>.</param>
    /// <param name="delivery">Transports and the renderer; none when <see langword="null"/> (messages are then failed with the reason).</param>
    /// <exception cref="OptionsValidationException">The options are invalid; the message lists every problem.</exception>
    public OmnichannelEngine(
        OmnichannelOptions options,
        IOmnichannelStore store,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        Delivery.DeliverySetup? delivery = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        var problems = options.Validate().ToList();
        if (options.Privacy.HashKey is null && store is not InMemoryOmnichannelStore)
        {
            problems.Add(
                "Privacy.HashKey is required with a durable store: set a per-installation secret of at least 32 bytes (for example " +
                "`openssl rand -base64 32`) kept outside the database. It keys the hashes of the suppression list and erasure tombstones.");
        }

        foreach (var journey in options.Journeys)
        {
            problems.AddRange(UnservedChannels(journey, delivery).Select(e => $"Journeys: {e.Path}: {e.Message}"));
        }

        // A cap on a channel no message can go out on ("SMS", "emial") never counted anything: the messages it was meant
        // to limit all went (audit U46).
        for (var i = 0; i < options.Delivery.FrequencyCaps.Count; i++)
        {
            if (options.Delivery.FrequencyCaps[i]?.Channel is { } capChannel && UnservedChannel(capChannel, delivery) is { } unserved)
            {
                problems.Add($"Delivery.FrequencyCaps[{i}].Channel: {unserved}; the cap would never count a message.");
            }
        }

        if (problems.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(OmnichannelOptions), problems);
        }

        _options = options;
        _store = store;
        _runs = store.CommitsFurtherEventIds;
        _sharesDocuments = store is InMemoryOmnichannelStore;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<OmnichannelEngine>();
        _metrics = new EngineMetrics(meterFactory);
        _validator = new EventValidator(options);
        _hasher = Privacy.IdentifierHasher.From(options.Privacy, (store as InMemoryOmnichannelStore)?.FallbackHashKey ?? []);
        _softBounceRule = new SoftBounceRule(options.Delivery.SoftBounceLimit, options.Delivery.SoftBounceWindow, (channel, address) => _hasher.Hash(new Identifier(channel, address)));
        _queues = new Channel<WorkItem>[options.Partitions];
        _hot = new HotProfiles[options.Partitions];
        _affinity = new ProfileAffinity(options.ProfileCacheSize);
        _workers = new Task[options.Partitions];
        var hotBudget = new HotBudget(options.ProfileCacheBytes);
        for (var i = 0; i < options.Partitions; i++)
        {
            _queues[i] = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(options.QueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            _hot[i] = new HotProfiles(options.ProfileCacheSize, hotBudget, i, _affinity);
            var partition = i;
            _workers[i] = Task.Run(() => RunPartitionAsync(partition));
        }

        // Forgetting ids a little late is harmless; purging often is not free (and a replay's virtual year has many hours).
        var every = TimeSpan.FromTicks(Math.Clamp(options.DeduplicationRetention.Ticks / 24, TimeSpan.TicksPerMinute, TimeSpan.TicksPerDay));
        _maintenance = _time.CreateTimer(_ => _ = PurgeAsync(), null, every, every);
        var segments = Zoned(SegmentCatalog.Create(options.Segments));
        var journeys = JourneyCatalog.Create(options.Journeys, segments);
        SetDefinitions(segments.WithExtraRules(journeys.Rules), journeys);
        _wakeTimer = _time.CreateTimer(_ => _ = RunDueInBackgroundAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // Delivery before the wake-ups that fell due while no engine ran: they start at once, on the workers, and a send
        // step they reach must find the renderer and transports (before, one could run first and be skipped as "no
        // templates are registered", its message lost).
        StartDelivery(delivery);
        StartSegmentCatchUp();
        _ = RunDueInBackgroundAsync();
        StartStorePoll();
        StartAutoDecisions();
        _metrics.ObserveGauges(
            () => _queues.Sum(q => q.Reader.CanCount ? (long)q.Reader.Count : 0),
            () => Volatile.Read(ref _outboxDueSeen),
            () => Volatile.Read(ref _wakeUpLagSeconds));
        LogStarted(_logger, store.GetType().Name, delivery?.Describe() ?? "none", options.Partitions, options.Segments.Count, options.Journeys.Count);
    }

    private long _outboxDueSeen;
    private double _wakeUpLagSeconds;

    [LoggerMessage(6, LogLevel.Information, "Omnichannel.Sdk started: store {Store}; transports {Transports}; {Partitions} partition(s), {SegmentCount} segment(s), {JourneyCount} journey(s)")]
    private static partial void LogStarted(ILogger logger, string store, string transports, int partitions, int segmentCount, int journeyCount);

    /// <summary>The store this engine writes to.</summary>
    /// <remarks>Hidden from IntelliSense: for test kits and diagnostics; an application reads through <see cref="IOmnichannelClient"/>.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public IOmnichannelStore Store => _store;

    /// <summary>The engine's options.</summary>
    public OmnichannelOptions Options => _options;

    /// <inheritdoc />
    public async ValueTask<CustomerProfile?> GetProfileAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Normalize(identifier, asStored: true) is not { } id)
        {
            return null;
        }

        var owners = await _store.ResolveIdentifiersAsync([id], cancellationToken).ConfigureAwait(false);
        return owners.TryGetValue(id, out var profileId) ? await GetProfileByIdAsync(profileId, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <inheritdoc />
    public async ValueTask<CustomerProfile?> GetProfileByIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(profileId);
        var live = await _store.ResolveProfileIdAsync(profileId, cancellationToken).ConfigureAwait(false);
        if (live is null)
        {
            return null;
        }

        var stored = await _store.LoadProfileAsync(live, cancellationToken).ConfigureAwait(false);
        var profile = stored is null ? null : ProfileSerializer.Deserialize(stored);
        if (profile is not null && await CatchUpOneAsync(profile, cancellationToken).ConfigureAwait(false))
        {
            return await GetProfileByIdAsync(live, cancellationToken).ConfigureAwait(false); // visited under the new definitions
        }

        return profile;
    }

    /// <inheritdoc />
    public async ValueTask<JsonObject?> ExportProfileAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var profile = await GetProfileAsync(identifier, cancellationToken).ConfigureAwait(false);
        return profile is null ? null : ProfileSerializer.Export(profile, _time.GetUtcNow());
    }

    /// <summary>Forgets processed-event ids older than <see cref="OmnichannelOptions.DeduplicationRetention"/>. Runs hourly on its own.</summary>
    /// <param name="cancellationToken">Cancels the purge.</param>
    /// <returns>How many ids were forgotten.</returns>
    public async ValueTask<int> PurgeProcessedEventsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        return await _store.PurgeProcessedEventsAsync(_time.GetUtcNow() - _options.DeduplicationRetention, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops taking events, lets queued ones finish (and the sends in flight, each within <c>Delivery.SendTimeout</c>),
    /// and stops the workers. A call made while another is under way waits for it: a host stopped twice at once (its
    /// <c>StopAsync</c> while <c>RunAsync</c> is pending) must not go on to dispose the store while the engine still drains.
    /// </summary>
    /// <remarks>
    /// Called from inside the engine's own work (a store, renderer, logger or metrics listener running on a partition's
    /// worker, a transport's send, a logger during a wake-up run or a look, or anything these started without
    /// <c>ExecutionContext.SuppressFlow()</c>), the call cannot wait: the work it would wait for is waiting for it. It then begins the disposal (new work is refused at once) and returns
    /// without waiting; the queued work, the sends in flight and the workers finish in the background once that work
    /// returns. A later call from outside the engine waits for all of it. Before, such a call hung for ever.
    /// </remarks>
    public ValueTask DisposeAsync()
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fromOwnWork = InOwnWork;
        if (Interlocked.CompareExchange(ref _disposal, mine.Task, null) is { } first)
        {
            return fromOwnWork ? ValueTask.CompletedTask : new ValueTask(first);
        }

        if (fromOwnWork)
        {
            Volatile.Write(ref _disposed, 1); // refused from now on, not from when the background disposal starts
            using (ExecutionContext.SuppressFlow())
            {
                // Its fault stays in the disposal's task, which a later call from outside the engine awaits.
                _ = Task.Run(async () => await DisposeOnceAsync(mine).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing));
            }

            return ValueTask.CompletedTask;
        }

        return new ValueTask(DisposeOnceAsync(mine));
    }

    /// <summary>
    /// Disposes synchronously, as <see cref="DisposeAsync"/> does (blocking until the queues drain): for a container disposed
    /// with <c>Dispose()</c>, which refuses a service that is only <see cref="IAsyncDisposable"/>.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task DisposeOnceAsync(TaskCompletionSource done)
    {
        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
            done.SetResult();
        }
        catch (Exception ex)
        {
            done.SetException(ex);
            throw;
        }
    }

    private async Task DisposeCoreAsync()
    {
        Volatile.Write(ref _disposed, 1);
        await _maintenance.DisposeAsync().ConfigureAwait(false);
        await _wakeTimer.DisposeAsync().ConfigureAwait(false);
        if (_pollTimer is not null)
        {
            // A look under way is cancelled and waited for: the caller may dispose the store next, and a read still in
            // flight on it would fail and be logged as a warning at a normal shutdown.
            _workSignal?.Dispose();
            await _pollStop.CancelAsync().ConfigureAwait(false);
            await _pollTimer.DisposeAsync().ConfigureAwait(false);
            await Volatile.Read(ref _pollRun).ConfigureAwait(false); // never throws: the look catches everything but OOM
        }

        _pollStop.Dispose();

        if (_decideTimer is not null)
        {
            await _decideTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_dispatchTimer is not null)
        {
            await _dispatchTimer.DisposeAsync().ConfigureAwait(false);
        }

        // What the timers started finishes while the partitions still take work: a wake-up run, and the sends in flight,
        // whose outcomes (and outbox completions) go through the partitions. Closed first, a send that went out was left
        // claimed, and the next process sent it again. Each send is bounded by Delivery.SendTimeout; no new one is claimed.
        await _dueGate.WaitAsync().ConfigureAwait(false);
        _dueGate.Release();
        await _catchUpStop.CancelAsync().ConfigureAwait(false);
        await _segmentsCaughtUp.ConfigureAwait(false); // ends on cancellation; never throws
        _catchUpStop.Dispose();
        // A send its run's caller cancelled ends cancelled: that fault is the caller's, who hears it. Thrown here, it failed
        // the disposal before the queues closed (the workers ran on), and every later caller of the shared disposal with it.
        await WaitForSendsInFlightAsync(CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // A batch being written is queued whole (one that takes the gate later sees the disposal and queues nothing):
        // closed under it, its first events were applied and the call refused as if none had been.
        await _batchWrites.WaitAsync().ConfigureAwait(false);
        _batchWrites.Release();
        foreach (var q in _queues)
        {
            q.Writer.TryComplete();
        }

        await Task.WhenAll(_workers).ConfigureAwait(false);
        _metrics.Dispose();
    }

    /// <summary>Refuses a call that would change something once disposal began: the queues stop taking work.</summary>
    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    // A queue closed by disposal says so as ObjectDisposedException, not as the queue's ChannelClosedException (which names
    // an implementation detail, and which a host's retry policy may take for a transient fault).
    private async ValueTask WriteAsync(ChannelWriter<WorkItem> writer, WorkItem item, CancellationToken cancellationToken)
    {
        try
        {
            await writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(OmnichannelEngine), ex);
        }
    }

    private async Task PurgeAsync()
    {
        LeaveWorker();
        try
        {
            var n = await PurgeProcessedEventsAsync().ConfigureAwait(false);
            if (n > 0)
            {
                LogPurged(_logger, n);
            }
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _disposed) != 0)
        {
            // Disposal began during the run: the next start purges.
        }
        catch (Exception ex)
        {
            LogPurgeFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }
    }

    /// <summary>An identifier as logs may show it: a short keyed hash, never the value.</summary>
    internal string Mask(Identifier id) => _hasher.Mask(id);

    [LoggerMessage(1, LogLevel.Debug, "Rejected an event of type {EventType} with {ErrorCount} problem(s)")]
    private static partial void LogRejected(ILogger logger, string? eventType, int errorCount);

    [LoggerMessage(2, LogLevel.Information, "Merged profile {AbsorbedProfileId} into {ProfileId} on a shared {IdentifierType} (event {EventId})")]
    private static partial void LogMerged(ILogger logger, string absorbedProfileId, string profileId, string identifierType, string eventId);

    [LoggerMessage(3, LogLevel.Warning, "Identity conflict: {IdentifierType} {MaskedIdentifier} not linked to profile {ProfileId} (held by {OtherProfileId}): {Reason}")]
    private static partial void LogConflict(ILogger logger, string identifierType, string maskedIdentifier, string profileId, string? otherProfileId, string reason);

    [LoggerMessage(4, LogLevel.Error, "Failed to apply an event of type {EventType}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string eventType);

    [LoggerMessage(5, LogLevel.Information, "Erased profile {ProfileId}; {HashCount} address hash(es) suppressed, {TombstoneCount} tombstone(s) left")]
    private static partial void LogErased(ILogger logger, string profileId, int hashCount, int tombstoneCount);

    [LoggerMessage(8, LogLevel.Information, "Lifted the erasure of {IdentifierType} {MaskedIdentifier}")]
    private static partial void LogErasureLifted(ILogger logger, string identifierType, string maskedIdentifier);

    [LoggerMessage(9, LogLevel.Information, "Refused an event of type {EventType}: it carries an identifier of an erased person")]
    private static partial void LogRefusedErased(ILogger logger, string eventType);

    [LoggerMessage(10, LogLevel.Debug, "Forgot {Count} processed event id(s) past retention")]
    private static partial void LogPurged(ILogger logger, int count);

    [LoggerMessage(11, LogLevel.Error, "Validating an event of type {EventType} threw; the event was rejected")]
    private static partial void LogValidationFailed(ILogger logger, Exception exception, string? eventType);

    [LoggerMessage(7, LogLevel.Warning, "Purging processed event ids failed; will try again")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);

    private abstract class WorkItem(int partition)
    {
        public int Partition { get; } = partition;

        // The span that queued it (TrackAsync, a batch, a wake-up run): the worker's span is its child, across the queue.
        public ActivityContext Parent { get; } = Activity.Current?.Context ?? default;
    }

    /// <summary>
    /// Whether the work of one call (an event, or a whole batch) may still be withdrawn (audit U29): a worker starts it
    /// or the caller, cancelled, withdraws it — whichever comes first. Withdrawn, nothing of it is applied and the
    /// caller throws <see cref="OperationCanceledException"/>; started, the caller waits for its results, so a call
    /// is never told "cancelled" about work that is then applied, nor half a batch applied.
    /// </summary>
    private sealed class CallGate
    {
        /// <summary>A call whose token cannot be cancelled: nothing to withdraw.</summary>
        public static readonly CallGate Started = new() { _state = 1 };

        private int _state; // 0 open, 1 started, 2 withdrawn

        public static CallGate For(CancellationToken cancellationToken) => cancellationToken.CanBeCanceled ? new() : Started;

        /// <summary>Starts the work unless it was withdrawn.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, 1, 0) != 2;

        /// <summary>Withdraws the work unless a worker started it.</summary>
        public bool TryWithdraw() => Interlocked.CompareExchange(ref _state, 2, 0) != 1;
    }

    private sealed class EventItem(ValidatedEvent e, int partition, Identifier routeKey, CallGate gate) : WorkItem(partition)
    {
        public ValidatedEvent Event { get; } = e;

        /// <summary>The identifier it was routed by: consecutive events with the same one may be committed as one run.</summary>
        public Identifier RouteKey { get; } = routeKey;

        public CallGate Gate { get; } = gate;

        public TaskCompletionSource<TrackResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The batch it was tracked in, told when it completes; <see langword="null"/> for a single event.</summary>
        public BatchCompletion? Batch { get; set; }

        /// <summary>Completes it with its result (once: a later call does nothing).</summary>
        public void Complete(TrackResult result)
        {
            if (Completion.TrySetResult(result))
            {
                Batch?.Done();
            }
        }

        /// <summary>Completes it as withdrawn by its cancelled caller (once).</summary>
        public void Withdraw()
        {
            if (Completion.TrySetCanceled())
            {
                Batch?.Done();
            }
        }
    }

    /// <summary>
    /// A batch's events, counted down as they complete: one signal for the whole batch. Awaiting every event's own task
    /// (Task.WhenAll) put one thread-pool item per event on the pool only to count it, since each completion runs its
    /// continuations asynchronously (a worker must never run its caller's code).
    /// </summary>
    private sealed class BatchCompletion(int count)
    {
        private int _remaining = count;

        /// <summary>Completed when every event of the batch has (its continuations run asynchronously too).</summary>
        public TaskCompletionSource AllDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Done()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                AllDone.TrySetResult();
            }
        }
    }
}
