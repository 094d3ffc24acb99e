using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

// Segments: definitions changed at run time (checked, then back-filled through the partitions), previews and members.
public sealed partial class OmnichannelEngine
{
    private const int BackfillPageSize = 256;

    /// <inheritdoc />
    public IReadOnlyList<SegmentDefinition> Segments => _definitions.Segments.Segments;

    /// <inheritdoc />
    public ValueTask<SegmentBackfill> UpsertSegmentAsync(SegmentDefinition segment, IProgress<SegmentBackfillProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segment);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ChangeSegment(segment, apply: true);
        return ValueTask.FromResult(StartBackfill(segment.Id, progress, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<bool> RemoveSegmentAsync(string segmentId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segmentId);
        ThrowIfDisposed();
        return ValueTask.FromResult(DropSegment(segmentId, apply: true));
    }

    /// <summary>
    /// Checks a segment added or changed against the loaded set and, with <paramref name="apply"/>, puts it in force
    /// (no backfill: see <see cref="StartBackfill"/>). A cluster checks on one silo, then applies on every silo.
    /// </summary>
    /// <exception cref="SegmentDefinitionException">The set with the segment is invalid.</exception>
    internal void ChangeSegment(SegmentDefinition segment, bool apply)
    {
        // The definition alone first, with paths into it ($.rule…), as a cluster reports them.
        var invalid = SegmentDefinitionValidator.Validate(segment);
        if (invalid.Count > 0)
        {
            throw new SegmentDefinitionException(invalid);
        }

        lock (_scheduleLock)
        {
            var definitions = _definitions.Segments.Segments.Where(s => s.Id != segment.Id).Append(segment).ToList();
            var errors = SegmentSetValidator.Validate(definitions);
            if (errors.Count > 0)
            {
                throw new SegmentDefinitionException(AsPassed(errors, definitions));
            }

            var catalog = Zoned(SegmentCatalog.Create(definitions).WithExtraRules(_definitions.Journeys.Rules));
            if (apply)
            {
                SetDefinitions(catalog, _definitions.Journeys);
            }
        }
    }

    /// <summary>
    /// The set's errors as the caller of an upsert or a preview reads them. The set checked is the loaded segments with hers
    /// last, so its paths (<c>$[7].rule.all[1].segment</c>) pointed into a list she never saw (audit U76): an error in the
    /// definition she passed reads from its root (<c>$.rule.all[1].segment</c>); one found in a loaded segment (the
    /// reference that closes a cycle through it) is reported at her definition's root, naming that segment and the path in it.
    /// </summary>
    private static List<DefinitionError> AsPassed(IReadOnlyList<DefinitionError> errors, List<SegmentDefinition> set) =>
        [.. errors.Select(e =>
        {
            var close = e.Path.StartsWith("$[", StringComparison.Ordinal) ? e.Path.IndexOf(']', StringComparison.Ordinal) : -1;
            if (close < 0 || !int.TryParse(e.Path.AsSpan(2, close - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) || index >= set.Count)
            {
                return e;
            }

            var rest = "$" + e.Path[(close + 1)..];
            return index == set.Count - 1 ? e with { Path = rest } : new DefinitionError("$", $"loaded segment '{set[index].Id}' at {rest}: {e.Message}");
        })];

    /// <summary>Re-evaluates every existing profile for a segment in the background, through the partitions.</summary>
    internal SegmentBackfill StartBackfill(string segmentId, IProgress<SegmentBackfillProgress>? progress, CancellationToken cancellationToken)
    {
        var backfill = new SegmentBackfill(segmentId);
        backfill.Run(BackfillAsync(backfill, [segmentId], progress, cancellationToken));
        return backfill;
    }

    /// <summary>Checks the removal of a segment and, with <paramref name="apply"/>, removes it.</summary>
    /// <returns><see langword="false"/> when no such segment is loaded.</returns>
    /// <exception cref="SegmentDefinitionException">Another segment refers to it.</exception>
    internal bool DropSegment(string segmentId, bool apply)
    {
        lock (_scheduleLock)
        {
            if (!_definitions.Segments.Contains(segmentId))
            {
                return false;
            }

            var rest = _definitions.Segments.Segments.Where(s => s.Id != segmentId).ToList();
            var errors = SegmentSetValidator.Validate(rest);
            if (errors.Count > 0)
            {
                throw new SegmentDefinitionException(errors);
            }

            // A journey that starts on the segment would leave a set that no longer builds (every later journey change
            // refused for it): refused as a segment that another segment uses is.
            var starting = _definitions.Journeys.All.Where(j => j.Trigger is SegmentTrigger t && t.SegmentId == segmentId)
                .Select(j => new DefinitionError("$.id", $"journey '{j.Id}' version {j.Version} starts on segment '{segmentId}'; remove the journey (or publish a version without that trigger) first"))
                .ToList();
            if (starting.Count > 0)
            {
                throw new SegmentDefinitionException(starting);
            }

            var catalog = SegmentCatalog.Create(rest);

            // Profiles drop the membership the next time they are touched; the members list stops answering now. The
            // id's next definition is a new incarnation, so memberships of this one that nothing touched are stale then.
            if (apply)
            {
                _segmentIncarnations[segmentId] = _segmentIncarnations.GetValueOrDefault(segmentId) + 1;
                SetDefinitions(Zoned(catalog.WithExtraRules(_definitions.Journeys.Rules)), _definitions.Journeys);
            }

            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask<SegmentPreview> PreviewSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segment);
        var invalid = SegmentDefinitionValidator.Validate(segment);
        if (invalid.Count > 0)
        {
            throw new SegmentDefinitionException(invalid);
        }

        var definitions = _definitions.Segments.Segments.Where(s => s.Id != segment.Id).Append(segment).ToList();
        var errors = SegmentSetValidator.Validate(definitions);
        if (errors.Count > 0)
        {
            throw new SegmentDefinitionException(AsPassed(errors, definitions));
        }

        var now = _time.GetUtcNow();
        long profiles = 0, matching = 0;
        await foreach (var p in ProfilesAsync(cancellationToken).ConfigureAwait(false))
        {
            profiles++;
            if (SegmentRuntime.Preview(p, segment, now, _options.Delivery.DefaultTimeZone))
            {
                matching++;
            }
        }

        return new SegmentPreview(segment.Id, matching, profiles, now);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> GetSegmentMembersAsync(string segmentId, string? afterProfileId = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(segmentId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (!_definitions.Segments.Contains(segmentId))
        {
            throw new ArgumentException($"No segment '{segmentId}' is loaded.", nameof(segmentId));
        }

        // Profiles stored under other definitions answer after the start-up visit evaluated them under these (audit U49).
        return _segmentsCaughtUp.IsCompleted ? _store.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken) : AfterCatchUp();

        async ValueTask<IReadOnlyList<string>> AfterCatchUp()
        {
            await SegmentsCaughtUpAsync(cancellationToken).ConfigureAwait(false);
            return await _store.ListSegmentMembersAsync(segmentId, afterProfileId, limit, cancellationToken).ConfigureAwait(false);
        }
    }

    // Run-time removals per segment id (under _scheduleLock). Counted in the order changes apply, so every silo of a
    // cluster, applying one log in order, gives an id the same incarnation; a restart starts again at 0 (see SegmentRuntime).
    private readonly Dictionary<string, int> _segmentIncarnations = new(StringComparer.Ordinal);

    private SegmentCatalog Zoned(SegmentCatalog catalog)
    {
        catalog.DefaultTimeZone = _options.Delivery.DefaultTimeZone;
        catalog.Incarnations = _segmentIncarnations.Count == 0 ? catalog.Incarnations : new Dictionary<string, int>(_segmentIncarnations, StringComparer.Ordinal);
        return catalog;
    }

    private async Task BackfillAsync(SegmentBackfill backfill, IReadOnlyCollection<string> segments, IProgress<SegmentBackfillProgress>? progress, CancellationToken cancellationToken)
    {
        await Task.Yield();
        await PartitionsPastAsync(cancellationToken).ConfigureAwait(false); // a profile a unit on the old definitions is creating is listed
        string? after = null;
        while (true)
        {
            var page = await _store.ListProfileIdsAsync(after, BackfillPageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }

            var done = await Task.WhenAll(page.Select(id => EnqueueProfileTask(id, segments, cancellationToken))).ConfigureAwait(false);
            backfill.Add(done.Count(ok => ok), done.Count(ok => !ok));
            progress?.Report(backfill.Progress);
            after = page[^1];
        }
    }

    [LoggerMessage(20, LogLevel.Debug, "Profile {ProfileId} {Direction} segment {SegmentId}")]
    private static partial void LogSegmentTransition(ILogger logger, string profileId, string direction, string segmentId);

}
