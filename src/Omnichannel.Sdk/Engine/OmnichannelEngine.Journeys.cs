using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

// Journeys: run inside the profile's unit of work (event, wake-up, outcome), committed with it; their timers are the
// profile's wake-up and their messages go to the outbox in the same commit.
public sealed partial class OmnichannelEngine
{
    /// <summary>The newest version of each loaded journey.</summary>
    public IReadOnlyList<JourneyDefinition> Journeys => [.. _definitions.Journeys.Latest.Select(j => j.Definition)];

    /// <summary>
    /// Publishes a journey (a new one, or a new version of a loaded one). New instances start on the newest version;
    /// running instances finish on the version they started on, except that an instance waiting on a step the new version
    /// no longer has is ended with the reason recorded. Profiles with running instances of the journey are visited in the
    /// background to apply that rule at once; the returned task completes when they all were.
    /// </summary>
    /// <param name="journey">The definition.</param>
    /// <param name="cancellationToken">Cancels the background visit (the journey stays published).</param>
    /// <returns>How many profiles were visited.</returns>
    /// <exception cref="JourneyDefinitionException">The definition is invalid, a send step names a template the templates given to <c>UseTemplates</c> do not hold, or the version is already loaded with different content.</exception>
    public async Task<int> PublishJourneyAsync(JourneyDefinition journey, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journey);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return ChangeJourney(journey, apply: true) ? await VisitJourneyProfilesAsync(journey.Id, cancellationToken).ConfigureAwait(false) : 0;
    }

    /// <summary>Unloads every version of a journey; its running instances end with the reason recorded when next touched, and no message it planned goes out after the removal (one held for quiet hours or a retry is withdrawn).</summary>
    /// <param name="journeyId">The journey id.</param>
    /// <param name="cancellationToken">Cancels the background visit of profiles with running instances.</param>
    /// <returns><see langword="false"/> when no such journey was loaded.</returns>
    public async Task<bool> RemoveJourneyAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        ThrowIfDisposed();
        if (!DropJourney(journeyId, apply: true))
        {
            return false;
        }

        await VisitJourneyProfilesAsync(journeyId, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Send steps naming a channel no transport serves and the SDK does not know ("emial"): each would skip every message for "no address".</summary>
    internal static List<DefinitionError> UnservedChannels(JourneyDefinition journey, Delivery.DeliverySetup? delivery)
    {
        var errors = new List<DefinitionError>();
        for (var i = 0; i < journey.Steps.Count; i++)
        {
            if (journey.Steps[i] is SendStep { Channels: { } channels } send)
            {
                for (var j = 0; j < channels.Count; j++)
                {
                    if (channels[j] is { } channel && UnservedChannel(channel, delivery) is { } problem)
                    {
                        errors.Add(new($"$.steps[{i}].channels[{j}]", $"journey '{journey.Id}' step '{send.Id}': {problem}"));
                    }
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// Checks a journey version against the loaded set and, with <paramref name="apply"/>, publishes it (no visit of
    /// running instances: see <see cref="VisitJourneyProfilesAsync"/>).
    /// </summary>
    /// <returns><see langword="false"/> when this version is already published with the same content.</returns>
    /// <exception cref="JourneyDefinitionException">The definition is invalid, or the version is already loaded with different content.</exception>
    internal bool ChangeJourney(JourneyDefinition journey, bool apply)
    {
        // The definition alone first, with paths into it: one built in C# may hold nulls the catalog cannot take.
        var invalid = JourneyDefinitionValidator.Validate(journey);
        if (invalid.Count > 0)
        {
            throw new JourneyDefinitionException(invalid);
        }

        if (UnservedChannels(journey, _delivery) is { Count: > 0 } unserved)
        {
            throw new JourneyDefinitionException(unserved);
        }

        // As at start (UseTemplates): a send step naming a template the loaded templates do not hold could never send.
        if (_delivery.Renderer is Omnichannel.Sdk.Templates.TemplateMessageRenderer { Templates: var templates })
        {
            var missing = new List<DefinitionError>();
            for (var i = 0; i < journey.Steps.Count; i++)
            {
                if (journey.Steps[i] is SendStep send && !templates.TemplateIds.Contains(send.TemplateId))
                {
                    missing.Add(new(
                        $"$.steps[{i}].template",
                        $"journey '{journey.Id}' step '{send.Id}' sends template '{send.TemplateId}', which the template source given to UseTemplates does not hold (it holds: {string.Join(", ", templates.TemplateIds.Order(StringComparer.Ordinal))})"));
                }
            }

            if (missing.Count > 0)
            {
                throw new JourneyDefinitionException(missing);
            }
        }

        lock (_scheduleLock)
        {
            if (_definitions.Journeys.Find(journey.Id, journey.Version) is { } loaded)
            {
                if (JourneyJson.Serialize(loaded.Definition) == JourneyJson.Serialize(journey))
                {
                    return false;
                }

                throw new JourneyDefinitionException([new("$.version", $"journey '{journey.Id}' version {journey.Version} is already published with different content; publish a new version")]);
            }

            var journeys = JourneyCatalog.Create(_definitions.Journeys.All.Append(journey), _definitions.Segments);
            if (apply)
            {
                SetJourneys(journeys);
            }

            return true;
        }
    }

    /// <summary>Checks the removal of a journey and, with <paramref name="apply"/>, unloads every version; <see langword="false"/> when none is loaded.</summary>
    /// <exception cref="JourneyDefinitionException">The remaining journeys do not build (the same refusal with or without <paramref name="apply"/>).</exception>
    internal bool DropJourney(string journeyId, bool apply)
    {
        lock (_scheduleLock)
        {
            if (_definitions.Journeys.FindLatest(journeyId) is null)
            {
                return false;
            }

            // Built before the check answers: a cluster checks on one silo and applies on all, so what applying would
            // refuse must be refused by the check too.
            var journeys = JourneyCatalog.Create(_definitions.Journeys.All.Where(d => d.Id != journeyId), _definitions.Segments);
            if (apply)
            {
                // Instances that the visit misses (cancelled, or a cluster's background visit overtaken by a re-publish)
                // are of an earlier incarnation then, and end instead of resuming on the new content.
                _journeyIncarnations[journeyId] = _journeyIncarnations.GetValueOrDefault(journeyId) + 1;
                SetJourneys(journeys);
            }

            return true;
        }
    }

    // Run-time removals per journey id (under _scheduleLock), counted in the order changes apply, as for segments.
    private readonly Dictionary<string, int> _journeyIncarnations = new(StringComparer.Ordinal);

    private void SetJourneys(JourneyCatalog journeys)
    {
        journeys.Incarnations = new Dictionary<string, int>(_journeyIncarnations, StringComparer.Ordinal);
        SetDefinitions(Zoned(SegmentCatalog.Create(_definitions.Segments.Segments).WithExtraRules(journeys.Rules)), journeys);
    }

    /// <summary>Plans a message; a store fault while planning is marked, so that it is reported as transient.</summary>
    private async ValueTask<(Delivery.SendResult Result, Storage.OutboxEntry? Entry)> PlanWithStoreFaultsMarkedAsync(CustomerProfile p, Delivery.MessageRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            return await PlanMessageAsync(p, request, now, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
        {
            throw new StoreFaultException(ex);
        }
    }

    private void ReportJourneys(JourneyRunner runner, string profileId)
    {
        foreach (var (journeyId, what) in runner.Activity)
        {
            LogJourney(_logger, journeyId, profileId, what);
            _metrics.JourneySteps.Add(1, new KeyValuePair<string, object?>("omnichannel.journey.id", journeyId), new KeyValuePair<string, object?>("omnichannel.journey.activity", what));
        }

        foreach (var journeyId in runner.NotLoaded)
        {
            ReportNotLoaded(journeyId);
        }
    }

    // Once per journey id and engine: a removed journey's instances end one profile at a time, over days.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _notLoadedReported = new(StringComparer.Ordinal);

    private void ReportNotLoaded(string journeyId)
    {
        if (_notLoadedReported.TryAdd(journeyId, 0))
        {
            LogJourneyNotLoaded(_logger, journeyId);
        }
    }

    private static DateTimeOffset? WakeOf(CustomerProfile p) =>
        (SegmentRuntime.NextCheck(p), JourneyRunner.NextWake(p)) switch
        {
            (null, var b) => b,
            (var a, null) => a,
            (DateTimeOffset a, DateTimeOffset b) => a < b ? a : b,
        };

    /// <summary>Visits (runs a unit of work on) every profile with a running instance of a journey; returns how many.</summary>
    internal async Task<int> VisitJourneyProfilesAsync(string journeyId, CancellationToken cancellationToken)
    {
        await PartitionsPastAsync(cancellationToken).ConfigureAwait(false); // units that started on the old versions commit first
        var visited = 0;
        string? after = null;
        while (true)
        {
            var page = await _store.ListProfileIdsAsync(after, BackfillPageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return visited;
            }

            foreach (var id in page)
            {
                var stored = await _store.LoadProfileAsync(id, cancellationToken).ConfigureAwait(false);
                // Running instances, messages it still holds, and a date scheduled from a trigger the new version moved.
                if (stored is null || ProfileSerializer.Deserialize(stored) is not { } profile
                    || (profile.JourneyData?.Instances.Exists(i => i.JourneyId == journeyId) != true
                        && profile.JourneyData?.HeldMessages.Exists(h => h.JourneyId == journeyId) != true
                        && !JourneyRunner.DateTriggerChanged(profile, _definitions.Journeys, journeyId)))
                {
                    continue;
                }

                if (await EnqueueProfileTask(id, [], cancellationToken).ConfigureAwait(false))
                {
                    visited++;
                }
            }

            after = page[^1];
        }
    }

    private async IAsyncEnumerable<CustomerProfile> ProfilesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await _store.ListProfileIdsAsync(after, BackfillPageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                yield break;
            }

            foreach (var id in page)
            {
                if (await _store.LoadProfileAsync(id, cancellationToken).ConfigureAwait(false) is { } stored)
                {
                    yield return ProfileSerializer.Deserialize(stored);
                }
            }

            after = page[^1];
        }
    }

    [LoggerMessage(233, LogLevel.Warning, "Journey {JourneyId} is not loaded on this engine: the instances of it that this engine runs end, and the messages they hold are withdrawn. Expected after removing it; if another process sharing the store runs it, register the same journeys (and segments) on every process, only the transports may differ")]
    private static partial void LogJourneyNotLoaded(ILogger logger, string journeyId);

    [LoggerMessage(40, LogLevel.Debug, "Journey {JourneyId} on profile {ProfileId}: {What}")]
    private static partial void LogJourney(ILogger logger, string journeyId, string profileId, string what);
}
