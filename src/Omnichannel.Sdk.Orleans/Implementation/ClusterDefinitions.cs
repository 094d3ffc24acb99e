using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Orleans;
using Orleans.Runtime;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>What a run-time change of definitions does.</summary>
internal enum DefinitionChangeKind
{
    UpsertSegment,
    RemoveSegment,
    PublishJourney,
    RemoveJourney,
}

/// <summary>
/// One run-time change of the cluster's definitions, numbered by the cluster's <see cref="IDefinitionsGrain"/>: every
/// silo applies the same changes in the same order on top of its start-up definitions.
/// </summary>
/// <param name="Sequence">1, 2, 3, … in the order the cluster accepted them.</param>
/// <param name="Kind">What the change does.</param>
/// <param name="Id">The segment or journey id.</param>
/// <param name="Json">The definition's JSON (upsert and publish), as <c>SegmentJson</c>/<c>JourneyJson</c> write it.</param>
[GenerateSerializer, Immutable]
internal sealed record DefinitionChange(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DefinitionChangeKind Kind,
    [property: Id(2)] string Id,
    [property: Id(3)] string? Json);

/// <summary>
/// A silo's copy of the cluster's run-time definition changes (registered on silos by <c>UseOrleans()</c>). The log only
/// grows at its end, so catching up is applying the changes numbered after the last one applied. Every silo keeps the
/// whole log: when the silo holding the <see cref="IDefinitionsGrain"/> dies, its next activation takes the longest log
/// the living silos hold, so a change any silo applied is never lost. Like a single engine's, run-time changes last as
/// long as the cluster runs; a restart of every silo starts from the start-up definitions again.
/// </summary>
internal sealed partial class ClusterDefinitions(OmnichannelEngine engine, IGrainFactory grains, ILogger<ClusterDefinitions>? logger = null, Microsoft.Extensions.Options.IOptions<global::Orleans.Configuration.SiloMessagingOptions>? messaging = null, ILocalSiloDetails? silo = null)
    : ILifecycleParticipant<ISiloLifecycle>
{
    // Customers' grains wait for this, and their callers for them: two thirds of the silo's response timeout (20 s with
    // Orleans' default 30 s), 5 s at least. A new silo joining a busy cluster can take over 10 s to reach the registry,
    // and giving up sooner lets its first events run on its start-up definitions until the next sweep.
    private TimeSpan StartTimeout { get; } = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, (messaging?.Value.ResponseTimeout ?? TimeSpan.FromSeconds(30)).Ticks * 2 / 3));

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile DefinitionChange[] _log = [];

    /// <summary>Every change this silo applied, in order.</summary>
    public IReadOnlyList<DefinitionChange> Log => _log;

    /// <summary>The sequence of the last change applied here (0: none).</summary>
    public long Applied => _log is { Length: > 0 } log ? log[^1].Sequence : 0;

    /// <summary>
    /// Completes once the silo caught up with the cluster at start (or gave up trying, after two thirds of the silo's
    /// response timeout; its sweep keeps trying): customers' grains wait for it, so no event on a new silo runs on older definitions than the cluster's.
    /// </summary>
    public Task WhenReady => _ready.Task;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterDefinitions), ServiceLifecycleStage.Active, started =>
        {
            _ = Task.Run(CatchUpAtStartAsync, CancellationToken.None);
            return Task.CompletedTask;
        }, _ => Task.CompletedTask);

    /// <summary>
    /// The most JSON one cluster message about definition changes carries (besides a single change larger than it): a long
    /// log of large definitions travels in pages, well under Orleans' <c>MaxMessageBodySize</c> (up to 3 bytes a char).
    /// </summary>
    internal int PageChars { get; } = (int)Math.Min(4L * 1024 * 1024, (messaging?.Value.MaxMessageBodySize ?? 100 * 1024 * 1024) / 8L);

    /// <summary>
    /// Applies, in order, the changes after <see cref="Applied"/> (a whole log or its tail), up to the first gap (a change
    /// whose predecessor this silo does not have): the caller sees it in <see cref="Applied"/> and sends what is missing.
    /// </summary>
    /// <returns><see cref="Applied"/> afterwards.</returns>
    public long CatchUp(IReadOnlyList<DefinitionChange> changes)
    {
        lock (_lock)
        {
            var applied = Applied;
            var added = new List<DefinitionChange>();
            foreach (var change in changes.OrderBy(c => c.Sequence))
            {
                if (change.Sequence <= applied)
                {
                    // The same number for another change: this silo and the sender hold different histories (a registry
                    // activation that could not read this silo's longer log). Not repaired here; said loudly.
                    if (change.Sequence >= 1 && change.Sequence <= _log.Length && _log[change.Sequence - 1] is var mine && mine != change)
                    {
                        LogDiverged(_logger, change.Sequence, mine.Kind, mine.Id, change.Kind, change.Id);
                    }

                    continue;
                }

                if (change.Sequence != applied + 1)
                {
                    break;
                }

                Apply(change);
                added.Add(change);
                applied = change.Sequence;
            }

            if (added.Count > 0)
            {
                _log = [.. _log, .. added];
            }

            return applied;
        }
    }

    /// <summary>The changes of <paramref name="log"/> after <paramref name="after"/>, as many as fit in <see cref="PageChars"/> (at least one).</summary>
    internal DefinitionChange[] Page(IReadOnlyList<DefinitionChange> log, long after)
    {
        var page = new List<DefinitionChange>();
        long chars = 0;
        foreach (var change in log)
        {
            if (change.Sequence <= after)
            {
                continue;
            }

            chars += (change.Json?.Length ?? 0) + change.Id.Length;
            if (page.Count > 0 && chars > PageChars)
            {
                break;
            }

            page.Add(change);
        }

        return [.. page];
    }

    /// <summary>Asks the cluster's <see cref="IDefinitionsGrain"/> for changes this silo has not applied (or offers it a longer log).</summary>
    public async Task CatchUpFromClusterAsync()
    {
        var registry = grains.GetGrain<IDefinitionsGrain>(0);
        while (true)
        {
            var before = Applied;
            // Saying which silo asks lets the registry count this silo as heard (DefinitionsGrain.GetChangesForAsync).
            var answer = await (silo is null ? registry.GetChangesAsync(before) : registry.GetChangesForAsync(silo.SiloAddress, before)).ConfigureAwait(false);
            var applied = CatchUp(answer.Changes);
            if (answer.Last < applied)
            {
                await (silo is null ? registry.OfferAsync([.. _log]) : registry.OfferForAsync(silo.SiloAddress, [.. _log])).ConfigureAwait(false);
                return;
            }

            if (applied >= answer.Last || applied == before)
            {
                return; // caught up (or the registry sent nothing this silo could apply: the next sweep tries again)
            }
        }
    }

    /// <summary>
    /// Checks a change against this silo's definitions (which are the cluster's) without applying it.
    /// </summary>
    /// <returns><see langword="false"/> when it would change nothing (removing what is not loaded, publishing a version already published).</returns>
    /// <exception cref="DefinitionException">The change is refused; the errors carry JSON paths.</exception>
    public bool Check(DefinitionChangeKind kind, string id, string? json) => Run(kind, id, json, apply: false);

    private void Apply(DefinitionChange change)
    {
        try
        {
            Run(change.Kind, change.Id, change.Json, apply: true);
        }
        catch (DefinitionException ex)
        {
            // The cluster checked it against the same definitions; only a silo started with other definitions gets here.
            LogChangeRefused(_logger, Privacy.ScrubbedException.Of(ex), change.Sequence, change.Kind, change.Id);
        }
    }

    private bool Run(DefinitionChangeKind kind, string id, string? json, bool apply) => kind switch
    {
        DefinitionChangeKind.UpsertSegment => ChangeSegment(json, apply),
        DefinitionChangeKind.RemoveSegment => engine.DropSegment(id, apply),
        DefinitionChangeKind.PublishJourney => engine.ChangeJourney(ParseJourney(json), apply),
        DefinitionChangeKind.RemoveJourney => engine.DropJourney(id, apply),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown definition change."),
    };

    private bool ChangeSegment(string? json, bool apply)
    {
        var parsed = SegmentJson.Parse(json ?? "null");
        engine.ChangeSegment(parsed.Value ?? throw new SegmentDefinitionException(parsed.Errors), apply);
        return true;
    }

    private static JourneyDefinition ParseJourney(string? json)
    {
        var parsed = JourneyJson.Parse(json ?? "null");
        return parsed.Value ?? throw new JourneyDefinitionException(parsed.Errors);
    }

    private async Task CatchUpAtStartAsync()
    {
        try
        {
            await CatchUpFromClusterAsync().WaitAsync(StartTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogStartCatchUpFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }
        finally
        {
            _ready.TrySetResult();
        }
    }

    [LoggerMessage(40, LogLevel.Error, "Run-time definition change {Sequence} ({Kind} '{Id}') was refused on this silo; the silo's start-up definitions differ from the cluster's")]
    private static partial void LogChangeRefused(ILogger logger, Exception exception, long sequence, DefinitionChangeKind kind, string id);

    [LoggerMessage(43, LogLevel.Critical, "Run-time definition change {Sequence} differs between this silo ({Kind} '{Id}') and the cluster ({OtherKind} '{OtherId}'): the silos' definitions have diverged; restart this silo to take the cluster's")]
    private static partial void LogDiverged(ILogger logger, long sequence, DefinitionChangeKind kind, string id, DefinitionChangeKind otherKind, string otherId);

    [LoggerMessage(41, LogLevel.Warning, "Catching up with the cluster's run-time definition changes at start failed; the sweep tries again")]
    private static partial void LogStartCatchUpFailed(ILogger logger, Exception exception);
}
