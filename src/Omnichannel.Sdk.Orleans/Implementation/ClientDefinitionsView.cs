using System.Diagnostics;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// The cluster's definitions as a process that only sends sees them: its start-up options with the cluster's run-time
/// changes applied in the registry's order. Reading asks the registry for new changes when the last answer is more than
/// a second old (waiting at most 5 s; if the registry does not answer, the last known definitions are returned).
/// </summary>
internal sealed class ClientDefinitionsView(IGrainFactory grains, OmnichannelOptions options)
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly List<DefinitionChange> _log = [];
    private long _refreshedAt;
    private (int Count, IReadOnlyList<SegmentDefinition> Segments, IReadOnlyList<JourneyDefinition> Journeys)? _folded;

    public IReadOnlyList<SegmentDefinition> Segments => Current().Segments;

    public IReadOnlyList<JourneyDefinition> Journeys => Current().Journeys;

    /// <summary>Reads the registry's changes after the last one known (in pages).</summary>
    public async Task RefreshAsync()
    {
        var registry = grains.GetGrain<IDefinitionsGrain>(0);
        while (true)
        {
            var after = Last();
            var page = await registry.GetChangesAsync(after).ConfigureAwait(false);
            lock (_lock)
            {
                if (page.Last < after)
                {
                    // Every silo restarted: the cluster's changes start again from its start-up definitions.
                    _log.Clear();
                    continue;
                }

                foreach (var change in page.Changes.OrderBy(c => c.Sequence).Where(c => c.Sequence == Last() + 1))
                {
                    _log.Add(change);
                }
            }

            if (page.Changes.Length == 0 || Last() >= page.Last || Last() == after)
            {
                break;
            }
        }

        Volatile.Write(ref _refreshedAt, Stopwatch.GetTimestamp());
    }

    private long Last()
    {
        lock (_lock)
        {
            return _log.Count > 0 ? _log[^1].Sequence : 0;
        }
    }

    private (int Count, IReadOnlyList<SegmentDefinition> Segments, IReadOnlyList<JourneyDefinition> Journeys) Current()
    {
        var refreshedAt = Volatile.Read(ref _refreshedAt);
        if (refreshedAt == 0 || Stopwatch.GetElapsedTime(refreshedAt) > Fresh)
        {
            try
            {
                // A synchronous property over a remote log: block briefly, on the thread pool (no context to deadlock on).
                Task.Run(RefreshAsync).Wait(MaxWait);
            }
            catch (AggregateException)
            {
                // The registry did not answer: the last known definitions stand.
            }
        }

        lock (_lock)
        {
            if (_folded is { } folded && folded.Count == _log.Count)
            {
                return folded;
            }

            var segments = options.Segments.ToList();
            var journeys = options.Journeys.ToList();
            foreach (var change in _log)
            {
                switch (change.Kind)
                {
                    case DefinitionChangeKind.UpsertSegment when SegmentJson.Parse(change.Json ?? "null").Value is { } segment:
                        segments.RemoveAll(s => s.Id == change.Id);
                        segments.Add(segment);
                        break;
                    case DefinitionChangeKind.RemoveSegment:
                        segments.RemoveAll(s => s.Id == change.Id);
                        break;
                    case DefinitionChangeKind.PublishJourney when JourneyJson.Parse(change.Json ?? "null").Value is { } journey:
                        journeys.RemoveAll(j => j.Id == journey.Id && j.Version == journey.Version);
                        journeys.Add(journey);
                        break;
                    case DefinitionChangeKind.RemoveJourney:
                        journeys.RemoveAll(j => j.Id == change.Id);
                        break;
                }
            }

            _folded = (_log.Count, segments, [.. journeys.GroupBy(j => j.Id, StringComparer.Ordinal).Select(g => g.MaxBy(j => j.Version)!)]);
            return _folded.Value;
        }
    }
}
