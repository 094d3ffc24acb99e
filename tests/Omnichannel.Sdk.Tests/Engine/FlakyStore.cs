using System.Collections.Concurrent;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// A store around another that counts loads and commits, can fail, conflict or hold commits, and allows runs only when
/// asked (so one-at-a-time processing stays the default of the tests that use it).
/// </summary>
internal sealed class FlakyStore(IOmnichannelStore inner) : IOmnichannelStore
{
    public int Loads;

    public string? FailCommitsFor { get; init; }

    public bool AlwaysConflict { get; init; }

    public int Commits;

    public ValueTask<StoredProfile?> LoadProfileAsync(string profileId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Loads);
        if (HoldLoadOf is { } hold && hold == profileId && Interlocked.Exchange(ref _loadHeld, 1) == 0)
        {
            return HeldLoadAsync(profileId, cancellationToken);
        }

        return AfterLoad is { } after ? LoadThenAsync(profileId, after, cancellationToken) : inner.LoadProfileAsync(profileId, cancellationToken);
    }

    /// <summary>Runs after each load has read the profile, before it answers (another engine writing meanwhile).</summary>
    public Func<string, Task>? AfterLoad { get; set; }

    private async ValueTask<StoredProfile?> LoadThenAsync(string profileId, Func<string, Task> after, CancellationToken cancellationToken)
    {
        var read = await inner.LoadProfileAsync(profileId, cancellationToken);
        await after(profileId);
        return read;
    }

    /// <summary>The first load of this profile id from then on reads the profile, then waits for <see cref="LoadRelease"/> before answering (once).</summary>
    public string? HoldLoadOf { get; set; }

    private int _loadHeld;

    /// <summary>Set when the held load has read the profile and waits.</summary>
    public TaskCompletionSource LoadWaiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource LoadRelease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async ValueTask<StoredProfile?> HeldLoadAsync(string profileId, CancellationToken cancellationToken)
    {
        var read = await inner.LoadProfileAsync(profileId, cancellationToken);
        LoadWaiting.TrySetResult();
        await LoadRelease.Task.WaitAsync(cancellationToken);
        return read;
    }

    public ValueTask<string?> ResolveProfileIdAsync(string profileId, CancellationToken cancellationToken = default) => inner.ResolveProfileIdAsync(profileId, cancellationToken);

    public ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveIdentifiersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default) => inner.ResolveIdentifiersAsync(identifiers, cancellationToken);

    public ValueTask<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken = default) => inner.IsEventProcessedAsync(eventId, cancellationToken);

    /// <summary>Runs of events and of profile work are allowed when set (the inner store must allow them too).</summary>
    public bool Runs { get; init; }

    public bool CommitsFurtherEventIds => Runs && inner.CommitsFurtherEventIds;

    /// <summary>While set, commits wait for it; <see cref="CommitWaiting"/> says one is waiting.</summary>
    public TaskCompletionSource? Gate { get; set; }

    public TaskCompletionSource CommitWaiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Holds the commit <paramref name="hold"/> starts at <see cref="Gate"/>, calls <paramref name="queue"/> while that
    /// commit waits (so what it queues is there for the worker to take as one run), then lets the commit go on.
    /// </summary>
    public async Task<T> BehindAHeldCommitAsync<T>(Func<Task> hold, Func<T> queue)
    {
        Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = hold();
        await CommitWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var queued = queue();
        var gate = Gate;
        Gate = null;
        gate.SetResult();
        await held;
        return queued;
    }

    /// <summary>The first commit this matches answers a conflict without committing (once).</summary>
    public Func<ProfileCommit, bool>? ConflictOnce { get; set; }

    private int _conflicted;

    /// <summary>The first commit this matches fails with an <see cref="IOException"/> (once), writing nothing.</summary>
    public Func<ProfileCommit, bool>? FailCommitOnce { get; set; }

    private int _failedOnce;

    /// <summary>Changes each commit before it reaches the inner store (a corrupt outbox payload, say).</summary>
    public Func<ProfileCommit, ProfileCommit>? Rewrite { get; set; }

    public ConcurrentQueue<ProfileCommit> Committed { get; } = new();

    public async ValueTask<CommitResult> CommitAsync(ProfileCommit commit, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Commits);
        if (Gate is { } gate)
        {
            CommitWaiting.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (AlwaysConflict || (ConflictOnce is { } once && once(commit) && Interlocked.CompareExchange(ref _conflicted, 1, 0) == 0))
        {
            return new CommitResult(CommitStatus.Conflict, 0);
        }

        if (FailCommitOnce is { } failOnce && failOnce(commit) && Interlocked.CompareExchange(ref _failedOnce, 1, 0) == 0)
        {
            throw new IOException("the store lost its connection");
        }

        if (commit.Claims.Any(c => c.Identifier.Value == FailCommitsFor))
        {
            throw new IOException("disk on fire");
        }

        if (Rewrite is { } rewrite)
        {
            commit = rewrite(commit);
        }

        var result = await inner.CommitAsync(commit, cancellationToken);
        if (result.Status == CommitStatus.Committed)
        {
            Committed.Enqueue(commit);
        }

        return result;
    }

    public ValueTask<bool> EraseProfileAsync(ProfileErasure erasure, CancellationToken cancellationToken = default) => inner.EraseProfileAsync(erasure, cancellationToken);

    public ValueTask<IReadOnlyList<Tombstone>> FindTombstonesAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => inner.FindTombstonesAsync(hashes, cancellationToken);

    public ValueTask<int> LiftErasureAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => inner.LiftErasureAsync(hashes, cancellationToken);

    /// <summary>When set to n, the n-th suppression-list read from then on fails (once).</summary>
    public int FailSuppressionRead
    {
        get => _failSuppressionRead;
        set => _failSuppressionRead = value;
    }

    private int _failSuppressionRead;

    // Passed on (the interface's default writes nothing): audit U86 reads the list a bounce run wrote.
    public ValueTask SuppressAsync(IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default) => inner.SuppressAsync(hashes, cancellationToken);

    public ValueTask<bool> IsSuppressedAsync(string hash, CancellationToken cancellationToken = default) =>
        _failSuppressionRead > 0 && Interlocked.Decrement(ref _failSuppressionRead) == 0
            ? throw new IOException("suppression list unreachable")
            : inner.IsSuppressedAsync(hash, cancellationToken);

    public ValueTask<int> PurgeProcessedEventsAsync(DateTimeOffset processedBefore, CancellationToken cancellationToken = default) => inner.PurgeProcessedEventsAsync(processedBefore, cancellationToken);

    public ValueTask<IReadOnlyList<string>> ListProfileIdsAsync(string? afterProfileId, int limit, CancellationToken cancellationToken = default) => inner.ListProfileIdsAsync(afterProfileId, limit, cancellationToken);

    /// <summary>How many reads of due wake-ups still throw (a store outage); <see cref="DueReadFailed"/> is set by the first.</summary>
    public int FailDueReads;

    public TaskCompletionSource DueReadFailed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, the next look for the earliest wake-up (any time, one row: the engine's store look) waits for it, honouring its token (once).</summary>
    public TaskCompletionSource? HoldNextWakeLook;

    /// <summary>How many looks for the earliest wake-up (any time, one row) were made.</summary>
    public int WakeLooks;

    /// <summary>Set when the held look waits.</summary>
    public TaskCompletionSource WakeLookHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, the held look answers one wake-up at this instant instead of reading.</summary>
    public DateTimeOffset? WakeLookAnswer;

    /// <summary>How many held looks have not answered yet.</summary>
    public int WakeLooksInFlight;

    /// <summary>When set, the held look, once let go, fails as a read on a disposed store does.</summary>
    public bool ClosedAfterHold;

    private async ValueTask<IReadOnlyList<ProfileWakeUp>> HeldWakeLookAsync(TaskCompletionSource release, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref WakeLooksInFlight);
        try
        {
            WakeLookHeld.TrySetResult();
            await release.Task.WaitAsync(cancellationToken);
            ObjectDisposedException.ThrowIf(Volatile.Read(ref ClosedAfterHold), this);
            return WakeLookAnswer is { } at ? [new ProfileWakeUp("edge", at)] : await inner.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref WakeLooksInFlight);
        }
    }

    public ValueTask<IReadOnlyList<ProfileWakeUp>> GetDueProfilesAsync(DateTimeOffset dueBy, int limit, CancellationToken cancellationToken = default)
    {
        if (dueBy == DateTimeOffset.MaxValue && limit == 1)
        {
            Interlocked.Increment(ref WakeLooks);
        }

        if (dueBy == DateTimeOffset.MaxValue && limit == 1 && Interlocked.Exchange(ref HoldNextWakeLook, null) is { } release)
        {
            return HeldWakeLookAsync(release, cancellationToken);
        }

        if (Interlocked.Decrement(ref FailDueReads) >= 0)
        {
            DueReadFailed.TrySetResult();
            throw new IOException("connection reset");
        }

        Interlocked.CompareExchange(ref FirstRead, "wake-ups", null);
        return inner.GetDueProfilesAsync(dueBy, limit, cancellationToken);
    }

    /// <summary>Which a new engine read first: its outbox (its delivery had started) or its due wake-ups.</summary>
    public string? FirstRead;

    public ValueTask<IReadOnlyList<string>> ListSegmentMembersAsync(string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken = default) => inner.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken);

    /// <summary>When set, a claim fails unless the flow making it set <see cref="ClaimsHere"/> (only a test's own dispatch run claims; the timer's runs fail and wait).</summary>
    public bool ClaimOnlyHere { get; init; }

    public static readonly AsyncLocal<bool> ClaimsHere = new();

    /// <summary>How many outbox claims still throw (a store outage); <see cref="ClaimFailed"/> is set by the first.</summary>
    public int FailClaims;

    public TaskCompletionSource ClaimFailed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ValueTask<IReadOnlyList<OutboxEntry>> ClaimOutboxAsync(DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken = default)
    {
        Interlocked.CompareExchange(ref FirstRead, "outbox", null);
        if (ClaimOnlyHere && !ClaimsHere.Value)
        {
            throw new IOException("claims are taken only by the flow that set ClaimsHere");
        }

        if (Interlocked.Decrement(ref FailClaims) >= 0)
        {
            ClaimFailed.TrySetResult();
            throw new IOException("connection reset");
        }

        return ClaimedAsync(inner.ClaimOutboxAsync(now, lease, limit, cancellationToken));
    }

    /// <summary>Set when a claim has returned an entry.</summary>
    public TaskCompletionSource ClaimedOne { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async ValueTask<IReadOnlyList<OutboxEntry>> ClaimedAsync(ValueTask<IReadOnlyList<OutboxEntry>> claim)
    {
        var claimed = await claim;
        if (claimed.Count > 0)
        {
            ClaimedOne.TrySetResult();
        }

        return claimed;
    }

    /// <summary>The first outbox completion fails with an <see cref="IOException"/> (once), after the outcome was recorded.</summary>
    public bool FailCompleteOutboxOnce { get; init; }

    private int _completeFailed;

    public int OutboxCompletions;

    public ValueTask<bool> CompleteOutboxAsync(string messageKey, int attempt, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref OutboxCompletions);
        if (FailCompleteOutboxOnce && Interlocked.CompareExchange(ref _completeFailed, 1, 0) == 0)
        {
            throw new IOException("connection reset");
        }

        return inner.CompleteOutboxAsync(messageKey, attempt, cancellationToken);
    }

    public ValueTask<bool> RescheduleOutboxAsync(string messageKey, int attempt, DateTimeOffset dueAt, CancellationToken cancellationToken = default) => inner.RescheduleOutboxAsync(messageKey, attempt, dueAt, cancellationToken);

    /// <summary>Runs (once) before the next read of the next outbox due instant, which then reads what it left.</summary>
    public Func<Task>? BeforeNextOutboxDueRead
    {
        get => _beforeNextOutboxDueRead;
        set => _beforeNextOutboxDueRead = value;
    }

    private Func<Task>? _beforeNextOutboxDueRead;

    public async ValueTask<DateTimeOffset?> GetNextOutboxDueAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _beforeNextOutboxDueRead, null) is { } before)
        {
            await before();
        }

        return await inner.GetNextOutboxDueAsync(cancellationToken);
    }

    /// <summary>Rows answered as if the store held them too: merged with the inner store's in key order, cut at the query's limit.</summary>
    public IReadOnlyList<Omnichannel.Sdk.Measurement.MeasurementRow> ExtraMeasurements { get; init; } = [];

    public async ValueTask<IReadOnlyList<Omnichannel.Sdk.Measurement.MeasurementRow>> GetMeasurementsAsync(Omnichannel.Sdk.Measurement.MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        if (ExtraMeasurements.Count == 0)
        {
            return await inner.GetMeasurementsAsync(query, cancellationToken).ConfigureAwait(false);
        }

        var rows = await inner.GetMeasurementsAsync(query with { Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false);
        return [.. rows.Concat(ExtraMeasurements.Where(r => query.Matches(r.Key))).Order(Comparer<Omnichannel.Sdk.Measurement.MeasurementRow>.Create((a, b) => Omnichannel.Sdk.Measurement.MeasurementKey.Order.Compare(a.Key, b.Key))).Take(query.Limit)];
    }
}
