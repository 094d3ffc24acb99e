namespace Omnichannel.Sdk.Segments;

/// <summary>
/// The background re-evaluation of every existing profile after a segment was added or changed. Events keep flowing
/// meanwhile and are evaluated against the new definition at once.
/// </summary>
public sealed class SegmentBackfill
{
    private long _processed;
    private long _failed;

    internal SegmentBackfill(string segmentId) => SegmentId = segmentId;

    /// <summary>The segment added or changed.</summary>
    public string SegmentId { get; }

    /// <summary>Completes when every profile that existed when the backfill started has been re-evaluated.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Progress so far.</summary>
    public SegmentBackfillProgress Progress => new(SegmentId, Interlocked.Read(ref _processed), Interlocked.Read(ref _failed), Completion.IsCompleted);

    internal void Run(Task work) => Completion = work;

    internal void Add(int processed, int failed)
    {
        Interlocked.Add(ref _processed, processed);
        Interlocked.Add(ref _failed, failed);
    }
}

/// <summary>How far a <see cref="SegmentBackfill"/> has come.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="ProfilesProcessed">Profiles re-evaluated and committed.</param>
/// <param name="ProfilesFailed">Profiles that could not be committed (logged; they are re-evaluated on their next event).</param>
/// <param name="IsCompleted">Whether the backfill is over.</param>
public sealed record SegmentBackfillProgress(string SegmentId, long ProfilesProcessed, long ProfilesFailed, bool IsCompleted);

/// <summary>How many profiles would be in a segment now, computed without committing anything.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="Matching">Profiles that match.</param>
/// <param name="Profiles">Profiles evaluated.</param>
/// <param name="At">The instant of the evaluation.</param>
public sealed record SegmentPreview(string SegmentId, long Matching, long Profiles, DateTimeOffset At);
