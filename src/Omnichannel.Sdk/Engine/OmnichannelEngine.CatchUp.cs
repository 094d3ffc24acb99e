using Microsoft.Extensions.Logging;

namespace Omnichannel.Sdk;

// Segment definitions changed across a restart (audit U49): profiles evaluated under another set are visited at start and
// evaluated under this one, as a back-fill does, so members lists, exports and segment-triggered journeys follow the new
// definitions without waiting for each customer's next event.
public sealed partial class OmnichannelEngine
{
    private Task _segmentsCaughtUp = Task.CompletedTask;
    private readonly CancellationTokenSource _catchUpStop = new();

    /// <summary>Starts the start-up visit (see <see cref="OmnichannelOptions.CatchUpSegmentsAtStart"/>).</summary>
    private void StartSegmentCatchUp()
    {
        if (_options.CatchUpSegmentsAtStart)
        {
            _segmentsCaughtUp = CatchUpSegmentsAsync(_catchUpStop.Token);
        }
    }

    /// <summary>Whether a profile's memberships and checks were computed under segment definitions this engine never had in force.</summary>
    private bool NeedsSegmentCatchUp(CustomerProfile p) =>
        NeedsSegmentCatchUp(p.SegmentsFingerprint, p.SegmentMembershipsIfAny is { Count: > 0 } || p.SegmentChecksIfAny is { Count: > 0 } || p.SegmentIncarnations is { Count: > 0 });

    /// <inheritdoc cref="NeedsSegmentCatchUp(CustomerProfile)"/>
    private bool NeedsSegmentCatchUp(string? fingerprint, bool hasSegmentState)
    {
        var catalog = _definitions.Segments;
        return catalog.IsForeign(fingerprint) && (catalog.Count > 0 || hasSegmentState);
    }

    /// <summary>Waits for the start-up visit (its failure was logged: the answer is then as good as it gets).</summary>
    private async Task SegmentsCaughtUpAsync(CancellationToken cancellationToken)
    {
        if (!_segmentsCaughtUp.IsCompleted)
        {
            await _segmentsCaughtUp.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A profile read while the start-up visit runs, and not visited yet, is visited now (its memberships would be the old
    /// definitions'); false when nothing was done.
    /// </summary>
    private async ValueTask<bool> CatchUpOneAsync(CustomerProfile p, CancellationToken cancellationToken)
    {
        if (_segmentsCaughtUp.IsCompleted || ReferenceEquals(OnWorker.Value, this) || Volatile.Read(ref _disposed) != 0 || !NeedsSegmentCatchUp(p))
        {
            return false;
        }

        return await EnqueueProfileTask(p.Id, [], cancellationToken).ConfigureAwait(false);
    }

    private async Task CatchUpSegmentsAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        LeaveWorker();
        long visited = 0, failed = 0;
        try
        {
            string? after = null;
            while (true)
            {
                var page = await _store.ListProfileIdsAsync(after, BackfillPageSize, cancellationToken).ConfigureAwait(false);
                if (page.Count == 0)
                {
                    break;
                }

                var due = new List<string>();
                foreach (var id in page)
                {
                    try
                    {
                        // Its fingerprint is read from the document, not the whole profile: every start reads every profile.
                        if (await _store.LoadProfileAsync(id, cancellationToken).ConfigureAwait(false) is { } stored
                            && ProfileSerializer.ReadSegmentState(stored) is var (fingerprint, hasState)
                            && NeedsSegmentCatchUp(fingerprint, hasState))
                        {
                            due.Add(id);
                        }
                    }
                    catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
                    {
                        failed++; // a document that cannot be read fails every visit the same way: left to its next touch
                    }
                }

                var done = await Task.WhenAll(due.Select(id => EnqueueProfileTask(id, [], cancellationToken))).ConfigureAwait(false);
                visited += done.Count(ok => ok);
                failed += done.Count(ok => !ok);
                after = page[^1];
            }

            if (visited > 0 || failed > 0)
            {
                LogSegmentsCaughtUp(_logger, visited, failed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal: the next start visits what is left.
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _disposed) != 0)
        {
            // Disposal closed the queues: the next start visits what is left.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSegmentCatchUpFailed(_logger, Privacy.ScrubbedException.Of(ex), visited);
        }
    }

    [LoggerMessage(95, LogLevel.Information, "Segment definitions changed since the profiles were evaluated: {Visited} profile(s) evaluated again at start, {Failed} failed (they are evaluated at their next event)")]
    private static partial void LogSegmentsCaughtUp(ILogger logger, long visited, long failed);

    [LoggerMessage(96, LogLevel.Warning, "Evaluating profiles under changed segment definitions at start stopped after {Visited} profile(s); the rest are evaluated at their next event")]
    private static partial void LogSegmentCatchUpFailed(ILogger logger, Exception exception, long visited);
}
