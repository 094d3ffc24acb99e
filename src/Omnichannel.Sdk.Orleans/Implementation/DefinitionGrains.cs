using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>The answer to a run-time change of definitions.</summary>
/// <param name="Changed">Whether the cluster's definitions changed (false: nothing to do, as in a single engine).</param>
/// <param name="Operation">The background work the change started (a segment's backfill, a journey's visit), 0 for none.</param>
/// <param name="Errors">The refusal, when refused: the errors (JSON of <see cref="DefinitionError"/>s, with paths).</param>
/// <param name="Sequence">The change's number when it changed something (0 otherwise).</param>
/// <param name="Unavailable">Why the cluster could not take a change now (a silo it must hear from first did not answer): try again.</param>
[GenerateSerializer, Immutable]
internal sealed record DefinitionAnswer([property: Id(0)] bool Changed, [property: Id(1)] long Operation, [property: Id(2)] string? Errors, [property: Id(3)] long Sequence = 0, [property: Id(4)] string? Unavailable = null);

/// <summary>The registry's log after a sequence, and the registry's last sequence.</summary>
[GenerateSerializer, Immutable]
internal sealed record DefinitionChanges([property: Id(0)] long Last, [property: Id(1)] DefinitionChange[] Changes);

/// <summary>How far the background work of a change has come.</summary>
/// <param name="Known">False when the silo running it stopped (the registry moved): the work is lost.</param>
/// <param name="Completed">Whether it is over.</param>
/// <param name="Processed">Profiles re-evaluated (backfill) or visited (journey).</param>
/// <param name="Failed">Profiles that could not be committed (backfill).</param>
/// <param name="Error">Why it failed, when it did.</param>
[GenerateSerializer, Immutable]
internal sealed record OperationProgress(
    [property: Id(0)] bool Known,
    [property: Id(1)] bool Completed,
    [property: Id(2)] long Processed,
    [property: Id(3)] long Failed,
    [property: Id(4)] string? Error);

/// <summary>
/// The cluster's one registry of run-time definition changes (key 0): it checks each change, numbers it, gives it to every
/// silo, and runs its background work (backfill, journey visit) on its own silo. One call at a time, so changes are in
/// one order everywhere.
/// </summary>
internal interface IDefinitionsGrain : IGrainWithIntegerKey
{
    Task<DefinitionAnswer> ChangeAsync(DefinitionChangeKind kind, string id, string? json);

    Task<DefinitionChanges> GetChangesAsync(long after);

    /// <summary>A silo that holds a longer log than the registry's (the registry moved while it was unreachable) gives it.</summary>
    Task OfferAsync(DefinitionChange[] log);

    /// <summary>
    /// <see cref="GetChangesAsync"/> from a silo that says which it is and has applied every change up to
    /// <paramref name="after"/>: the registry counts it as heard, as if it had answered the registry's own question.
    /// </summary>
    Task<DefinitionChanges> GetChangesForAsync(SiloAddress silo, long after);

    /// <summary><see cref="OfferAsync"/> from a silo that says which it is: once the log is taken, the silo counts as heard.</summary>
    Task OfferForAsync(SiloAddress silo, DefinitionChange[] log);

    /// <summary>Waits up to <paramref name="maxWait"/> for a change's background work to end; returns its progress.</summary>
    [AlwaysInterleave]
    Task<OperationProgress> WaitAsync(long operation, TimeSpan maxWait);

    /// <summary>Cancels a change's background work (the client's token was cancelled), as one engine's token does.</summary>
    [AlwaysInterleave]
    Task CancelAsync(long operation);
}

/// <summary>One per silo, keyed by the silo's address and placed on that silo (<see cref="SiloKeyPlacement"/>).</summary>
internal interface ISiloDefinitionsGrain : IGrainWithStringKey
{
    /// <summary>Applies the changes the silo lacks (up to a gap); returns the silo's last applied sequence.</summary>
    Task<long> CatchUpAsync(DefinitionChange[] changes);

    /// <summary>The silo's last applied sequence, and a page of its log after <paramref name="after"/>.</summary>
    Task<DefinitionChanges> GetLogAsync(long after);
}

internal sealed partial class DefinitionsGrain(
    IServiceProvider services,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    ILogger<DefinitionsGrain> logger) : Grain, IDefinitionsGrain
{
    // A silo that stopped answering (dead, not yet declared dead) must not hold every change for a response timeout.
    private static readonly TimeSpan SiloCallTimeout = TimeSpan.FromSeconds(5);

    private readonly OmnichannelEngine _engine = SiloParts.Engine(services);
    private readonly ClusterDefinitions _local = SiloParts.Definitions(services);

    private readonly Dictionary<long, Operation> _operations = [];
    private readonly HashSet<SiloAddress> _heard = [];
    private List<DefinitionChange> _log = [];
    private long _nextOperation;

    private long Last => _log.Count > 0 ? _log[^1].Sequence : 0;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The longest log any living silo holds: every change a silo applied survives the registry's silo.
        _log = [.. _local.Log];
        await SettleAsync(cancellationToken);
        _local.CatchUp(_log);
    }

    /// <summary>
    /// Asks every other silo for its last change, and takes (in pages) the changes a silo holds beyond this log: a
    /// registry that died may have numbered them. A silo that does not answer is safe to pass over only if this activation
    /// heard from it before (since then every change came from here); otherwise numbering a change now could give its
    /// number to two changes, so the answer is why not.
    /// </summary>
    private async Task<string?> SettleAsync(CancellationToken cancellationToken = default)
    {
        var answers = await Task.WhenAll(OtherSilos().Select(async s =>
        {
            try
            {
                return (Silo: s, Answer: (DefinitionChanges?)await Silo(s).GetLogAsync(Last).WaitAsync(SiloCallTimeout, cancellationToken), Failure: (Exception?)null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogSiloUnreachable(logger, Privacy.ScrubbedException.Of(ex));
                return (Silo: s, Answer: null, Failure: ex);
            }
        }));

        foreach (var (s, answer, _) in answers.OrderByDescending(a => a.Answer?.Last ?? 0))
        {
            if (answer is null)
            {
                continue;
            }

            try
            {
                var page = answer.Changes;
                while (answer.Last > Last && page.Length > 0)
                {
                    var before = Last;
                    foreach (var change in page.OrderBy(c => c.Sequence).Where(c => c.Sequence == Last + 1))
                    {
                        _log.Add(change);
                    }

                    page = Last > before && Last < answer.Last ? (await Silo(s).GetLogAsync(Last).WaitAsync(SiloCallTimeout, cancellationToken)).Changes : [];
                }

                _heard.Add(s);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogSiloUnreachable(logger, Privacy.ScrubbedException.Of(ex));
            }
        }

        var silent = answers.Where(a => a.Answer is null && !_heard.Contains(a.Silo)).ToList();
        return silent.Count == 0
            ? null
            : $"The cluster cannot number a definition change now: silo {silent[0].Silo} has not answered since the registry of changes moved " +
              $"({Why(silent[0].Failure)}), and it may hold changes the cluster must keep. Try again once it answers or the cluster has declared it dead.";

        // Orleans' own words (addresses and timeouts, no customer data): so that an operator can tell a dead silo from a slow one.
        static string Why(Exception? failure) => failure switch
        {
            null => "no answer",
            TimeoutException => $"no answer within {SiloCallTimeout.TotalSeconds:0} s",
            _ => $"{failure.GetType().Name}: {failure.GetBaseException().Message}",
        };
    }

    public async Task<DefinitionAnswer> ChangeAsync(DefinitionChangeKind kind, string id, string? json)
    {
        if (await SettleAsync() is { } unavailable)
        {
            return new DefinitionAnswer(false, 0, null, 0, unavailable);
        }

        _local.CatchUp(_log);
        bool changed;
        try
        {
            changed = _local.Check(kind, id, json);
        }
        catch (DefinitionException ex)
        {
            return new DefinitionAnswer(false, 0, ClusterJson.Write(ex.Errors));
        }

        if (!changed)
        {
            return new DefinitionAnswer(false, 0, null);
        }

        var change = new DefinitionChange(Last + 1, kind, id, json);
        _log.Add(change);
        _local.CatchUp([change]);
        DefinitionChange[] log = [.. _log];

        // Each silo gets the new change alone; one that lacks earlier ones (it answers with its last sequence) gets what
        // it lacks, in pages. Never the whole log each time: that grew with the square of the changes, and past Orleans'
        // message limit no push got through.
        await Task.WhenAll(OtherSilos().Select(async s =>
        {
            DefinitionChange[] changes = [change];
            var failures = 0;
            while (true)
            {
                try
                {
                    var applied = await Silo(s).CatchUpAsync(changes).WaitAsync(SiloCallTimeout);
                    _heard.Add(s);
                    if (applied >= change.Sequence)
                    {
                        return;
                    }

                    // Each round applies at least the next change: the silo's sequence only grows.
                    changes = _local.Page(log, applied);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    if (++failures == 2)
                    {
                        // It catches up on its next sweep, or it is dying.
                        LogSiloUnreachable(logger, Privacy.ScrubbedException.Of(ex));
                        return;
                    }
                }
            }
        }));

        return new DefinitionAnswer(true, await StartAsync(kind, id), null, change.Sequence);
    }

    public Task<DefinitionChanges> GetChangesAsync(long after) =>
        Task.FromResult(new DefinitionChanges(Last, _local.Page(_log, after)));

    public Task OfferAsync(DefinitionChange[] log)
    {
        if (log.Length > 0 && log[^1].Sequence > Last)
        {
            _log = [.. log];
            _local.CatchUp(_log);
        }

        return Task.CompletedTask;
    }

    // A silo that asks holds nothing beyond `after` (its last applied change), and from now on gets every change from
    // here: it is as safe to pass over as one that answered the registry's question. Silos ask at start and on every
    // sweep, so a silo the registry's own calls cannot reach (as when a just-started cluster's placement has not caught
    // up) no longer holds every change back.
    public Task<DefinitionChanges> GetChangesForAsync(SiloAddress silo, long after)
    {
        if (after <= Last)
        {
            _heard.Add(silo);
        }

        return GetChangesAsync(after);
    }

    public async Task OfferForAsync(SiloAddress silo, DefinitionChange[] log)
    {
        await OfferAsync(log);
        if (log.Length == 0 || log[^1].Sequence <= Last)
        {
            _heard.Add(silo);
        }
    }

    public async Task<OperationProgress> WaitAsync(long operation, TimeSpan maxWait)
    {
        if (!_operations.TryGetValue(operation, out var work))
        {
            return new OperationProgress(false, false, 0, 0, null);
        }

        await Task.WhenAny(work.Completion, Task.Delay(maxWait));
        var (processed, failed) = work.Counts();
        if (!work.Completion.IsCompleted)
        {
            return new OperationProgress(true, false, processed, failed, null);
        }

        // Kept (until 100 operations later) rather than removed: an abandoned poll must not take the answer from the next one.
        var error = work.Completion.IsCanceled ? "it was cancelled" : work.Completion.Exception?.GetBaseException().Message;
        return new OperationProgress(true, true, processed, failed, error);
    }

    public Task CancelAsync(long operation)
    {
        if (_operations.TryGetValue(operation, out var work) && !work.Completion.IsCompleted)
        {
            work.Cancel.Cancel();
        }

        return Task.CompletedTask;
    }

    // The work runs on the thread pool, not in this grain's turns: it can outlast them by far.
    private async Task<long> StartAsync(DefinitionChangeKind kind, string id)
    {
        // Ended work nobody followed to its end (its client went away) is forgotten 100 operations later.
        foreach (var (key, old) in _operations.Where(o => o.Value.Completion.IsCompleted && o.Key < _nextOperation - 100).ToList())
        {
            _operations.Remove(key);
            old.Cancel.Dispose();
        }

        var cancel = new CancellationTokenSource();
        Operation? work = kind switch
        {
            DefinitionChangeKind.UpsertSegment => Backfill(await Task.Run(() => _engine.StartBackfill(id, null, cancel.Token)), cancel),
            DefinitionChangeKind.PublishJourney or DefinitionChangeKind.RemoveJourney => Visit(Task.Run(() => _engine.VisitJourneyProfilesAsync(id, cancel.Token)), cancel),
            _ => null,
        };
        if (work is null)
        {
            cancel.Dispose();
            return 0;
        }

        var operation = ++_nextOperation;
        _operations[operation] = work;
        return operation;
    }

    private static Operation Backfill(SegmentBackfill backfill, CancellationTokenSource cancel) =>
        new(backfill.Completion, () => (backfill.Progress.ProfilesProcessed, backfill.Progress.ProfilesFailed), cancel);

    private static Operation Visit(Task<int> visit, CancellationTokenSource cancel) =>
        new(visit, () => (visit.IsCompletedSuccessfully ? visit.Result : 0, 0), cancel);

    private IEnumerable<SiloAddress> OtherSilos() =>
        membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(silo.SiloAddress))
            .Select(m => m.SiloAddress);

    private ISiloDefinitionsGrain Silo(SiloAddress address) => GrainFactory.GetGrain<ISiloDefinitionsGrain>(address.ToParsableString());

    [LoggerMessage(42, LogLevel.Warning, "A silo did not answer about run-time definition changes; it catches up on its next sweep")]
    private static partial void LogSiloUnreachable(ILogger logger, Exception exception);

    private sealed record Operation(Task Completion, Func<(long Processed, long Failed)> Counts, CancellationTokenSource Cancel);
}

[SiloKeyPlacement]
internal sealed class SiloDefinitionsGrain(IServiceProvider services) : Grain, ISiloDefinitionsGrain
{
    private readonly ClusterDefinitions _local = SiloParts.Definitions(services);

    public Task<long> CatchUpAsync(DefinitionChange[] changes) => Task.FromResult(_local.CatchUp(changes));

    public Task<DefinitionChanges> GetLogAsync(long after) => Task.FromResult(new DefinitionChanges(_local.Applied, _local.Page(_local.Log, after)));
}

/// <summary>Places a grain on the silo whose address (<see cref="SiloAddress.ToParsableString"/>) is its key.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class SiloKeyPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class SiloKeyPlacementAttribute() : PlacementAttribute(new SiloKeyPlacement());

internal sealed class SiloKeyPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    /// <remarks>
    /// The silo is taken from membership when this silo's view of which silos host the grain type (the cluster manifest,
    /// refreshed after membership changes) has not caught up with it yet: every silo of the cluster runs this grain, and
    /// until then the registry's pushes to that silo failed, leaving it on the previous definitions until its sweep.
    /// </remarks>
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        if (context.GetCompatibleSilos(target).FirstOrDefault(s => s.ToParsableString() == key) is { } compatible)
        {
            return Task.FromResult(compatible);
        }

        return membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.Status == SiloStatus.Active && m.SiloAddress.ToParsableString() == key) is { } member
            ? Task.FromResult(member.SiloAddress)
            : throw new OrleansException($"Silo {key} is not an active member of the cluster.");
    }
}
