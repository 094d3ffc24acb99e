using System.Diagnostics;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Orleans.Implementation;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Orleans;

// Definitions on the cluster: segments and journeys changed at run time through the registry grain, which checks each
// change once, numbers it and has every silo apply it before its grains run another event.
public sealed partial class OmnichannelClusterClient
{
    /// <inheritdoc />
    /// <remarks>The backfill runs on one silo; <see cref="SegmentBackfill.Completion"/> faults if that silo dies first (profiles not reached yet are re-evaluated on their next event; upsert again to re-run it).</remarks>
    public async ValueTask<SegmentBackfill> UpsertSegmentAsync(SegmentDefinition segment, IProgress<SegmentBackfillProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segment);
        var json = SegmentJsonOf(segment);
        var answer = await ChangeAsync(DefinitionChangeKind.UpsertSegment, segment.Id, json, errors => new SegmentDefinitionException(errors)).ConfigureAwait(false);
        var backfill = new SegmentBackfill(segment.Id);
        backfill.Run(FollowAsync(answer.Operation, p =>
        {
            backfill.Add((int)(p.Processed - backfill.Progress.ProfilesProcessed), (int)(p.Failed - backfill.Progress.ProfilesFailed));
            progress?.Report(backfill.Progress with { IsCompleted = p.Completed });
        }, cancellationToken));
        return backfill;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveSegmentAsync(string segmentId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segmentId);
        var answer = await ChangeAsync(DefinitionChangeKind.RemoveSegment, segmentId, null, errors => new SegmentDefinitionException(errors)).ConfigureAwait(false);
        return answer.Changed;
    }

    /// <inheritdoc />
    public async ValueTask<SegmentPreview> PreviewSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segment);
        var answer = await Engine.PreviewSegmentAsync(SegmentJsonOf(segment)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<SegmentPreview>(answer);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetSegmentMembersAsync(string segmentId, string? afterProfileId = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segmentId);
        return await Engine.GetSegmentMembersAsync(segmentId, afterProfileId, limit).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> PublishJourneyAsync(JourneyDefinition journey, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journey);
        var invalid = JourneyDefinitionValidator.Validate(journey);
        if (invalid.Count > 0)
        {
            throw new JourneyDefinitionException(invalid);
        }

        var json = JourneyJson.Serialize(journey);
        var answer = await ChangeAsync(DefinitionChangeKind.PublishJourney, journey.Id, json, errors => new JourneyDefinitionException(errors)).ConfigureAwait(false);
        return answer.Changed ? (int)(await FollowAsync(answer.Operation, null, cancellationToken).ConfigureAwait(false)).Processed : 0;
    }

    /// <inheritdoc />
    public async Task<bool> RemoveJourneyAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        var answer = await ChangeAsync(DefinitionChangeKind.RemoveJourney, journeyId, null, errors => new JourneyDefinitionException(errors)).ConfigureAwait(false);
        if (answer.Changed)
        {
            await FollowAsync(answer.Operation, null, cancellationToken).ConfigureAwait(false);
        }

        return answer.Changed;
    }

    /// <inheritdoc />
    public async Task<JourneyStatistics> GetJourneyStatisticsAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        var answer = await Engine.GetJourneyStatisticsAsync(journeyId).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<JourneyStatistics>(answer);
    }

    private IDefinitionsGrain Registry => Grain(g => g.GetGrain<IDefinitionsGrain>(0));

    /// <summary>
    /// The JSON a segment crosses the cluster in, after the checks one engine makes on the definition itself: what the
    /// JSON form cannot carry (a rule nested too deeply, a null list) is refused here as one engine refuses it, instead
    /// of failing to serialize or reading back as another definition.
    /// </summary>
    private static string SegmentJsonOf(SegmentDefinition segment)
    {
        var invalid = SegmentDefinitionValidator.Validate(segment);
        return invalid.Count > 0 ? throw new SegmentDefinitionException(invalid) : SegmentJson.Serialize(segment);
    }

    // As on one engine, a token already cancelled makes no change (checked by each caller); once asked of the registry the
    // change is awaited whatever the token, which then cancels only the change's background work. Abandoning the call would
    // leave the change made on every silo while the caller saw OperationCanceledException.
    private async Task<DefinitionAnswer> ChangeAsync(DefinitionChangeKind kind, string id, string? json, Func<IReadOnlyList<DefinitionError>, DefinitionException> refused)
    {
        // A registry that has just moved (or a cluster just started) waits 5 s per silo it has not heard from: a silo still
        // starting, on a loaded machine, may miss that for a while, and the change is then refused before it is numbered.
        // Asking again is safe (nothing was changed) and goes through once the silo answers or is declared dead: asked
        // again 1, 2, 4, then every 8 s, for up to a minute (real time: this waits on the cluster, not on business time).
        var started = Stopwatch.GetTimestamp();
        var pause = TimeSpan.FromSeconds(1);
        var answer = await Registry.ChangeAsync(kind, id, json).ConfigureAwait(false);
        while (answer.Unavailable is not null && Stopwatch.GetElapsedTime(started) + pause <= UnavailableWait)
        {
            await Task.Delay(pause).ConfigureAwait(false);
            pause = pause * 2 < UnavailableLongestPause ? pause * 2 : UnavailableLongestPause;
            answer = await Registry.ChangeAsync(kind, id, json).ConfigureAwait(false);
        }
        if (answer.Errors is { } errors)
        {
            throw refused(ClusterJson.Read<DefinitionError[]>(errors));
        }

        if (answer.Unavailable is { } unavailable)
        {
            throw new InvalidOperationException(unavailable);
        }

        if (answer.Changed && _silo is null)
        {
            try
            {
                await _view.RefreshAsync().ConfigureAwait(false); // so that this process lists its own change at once
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Read again on the next look at Segments or Journeys.
            }
        }

        return answer;
    }

    // Long polls the registry until the change's background work ends.
    private async Task<OperationProgress> FollowAsync(long operation, Action<OperationProgress>? report, CancellationToken cancellationToken)
    {
        if (operation == 0)
        {
            var none = new OperationProgress(true, true, 0, 0, null);
            report?.Invoke(none);
            return none;
        }

        // The token cancels the work itself, as one engine's token does, not only this client's following of it.
        using var cancel = cancellationToken.Register(() => _ = Registry.CancelAsync(operation));
        while (true)
        {
            var progress = await Registry.WaitAsync(operation, FollowPoll).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!progress.Known)
            {
                throw new InvalidOperationException(
                    "The silo running this change's background work stopped before it ended. The change itself stays in force on every silo; " +
                    "profiles not reached yet are re-evaluated on their next event, and repeating the change runs the work again.");
            }

            report?.Invoke(progress);
            if (progress.Completed)
            {
                return progress.Error is { } error ? throw new InvalidOperationException("The change's background work failed: " + error) : progress;
            }
        }
    }
}
