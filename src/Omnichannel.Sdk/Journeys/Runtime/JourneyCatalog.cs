using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// The loaded journeys: every version (running instances finish on theirs), the newest of each for new entries, and
/// indexes from event types and segments to the journeys they can start, so an event looks at the few journeys it can
/// concern instead of all of them. Immutable; replaced as a whole when a journey is published.
/// </summary>
internal sealed class JourneyCatalog
{
    private readonly Dictionary<string, SortedDictionary<int, LoadedJourney>> _versions;
    private readonly Dictionary<string, LoadedJourney[]> _byTriggerEvent;
    private readonly Dictionary<string, LoadedJourney[]> _bySegment;
    private readonly Dictionary<string, LoadedJourney[]> _byInactivityEvent;
    private readonly Dictionary<string, LoadedJourney[]> _byExitEvent;
    private readonly Dictionary<string, LoadedJourney[]> _byGoalEvent;
    private readonly Dictionary<string, LoadedJourney[]> _byWaitEvent;

    private JourneyCatalog(Dictionary<string, SortedDictionary<int, LoadedJourney>> versions)
    {
        _versions = versions;
        Latest = [.. versions.Values.Select(v => v.Values.Last())];
        _byTriggerEvent = Index(Latest, j => j.Definition.Trigger is EventTrigger t ? [t.EventType] : []);
        _bySegment = Index(Latest, j => j.Definition.Trigger is SegmentTrigger t ? [t.SegmentId] : []);
        _byInactivityEvent = Index(Latest, j => j.Definition.Trigger is InactivityTrigger t ? [t.AfterEventType, .. t.NoEventTypes] : []);
        _byExitEvent = Index(versions.Values.SelectMany(v => v.Values), j => j.Definition.Exit.OfType<EventExitCriterion>().Select(x => x.EventType));
        _byGoalEvent = Index(versions.Values.SelectMany(v => v.Values), j => j.Definition.Goal is { } g ? [g.EventType] : []);
        _byWaitEvent = Index(versions.Values.SelectMany(v => v.Values), j => j.Definition.Steps.OfType<WaitForEventStep>().SelectMany(w => w.Branches.Select(b => b.EventType)).Distinct(StringComparer.Ordinal));
        Dated = [.. Latest.Where(j => j.Definition.Trigger is DateTrigger)];
        Rules = [.. versions.Values.SelectMany(v => v.Values).SelectMany(j => EmbeddedRules(j.Definition))];
    }

    public static JourneyCatalog Empty { get; } = new(new(StringComparer.Ordinal));

    /// <summary>The newest version of each journey, in id order.</summary>
    public IReadOnlyList<LoadedJourney> Latest { get; }

    /// <summary>Journeys (newest versions) with a date trigger.</summary>
    public IReadOnlyList<LoadedJourney> Dated { get; }

    /// <summary>Every segment rule the journeys evaluate, so profiles keep the history they need.</summary>
    public IReadOnlyList<SegmentRule> Rules { get; }

    public bool IsEmpty => _versions.Count == 0;

    /// <summary>
    /// Journey id → how many times it was removed at run time before its loaded versions were published (absent: never).
    /// Set by the engine when it puts the catalog in force.
    /// </summary>
    internal IReadOnlyDictionary<string, int> Incarnations { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>The incarnation of journey <paramref name="journeyId"/>; 0 when never removed since the engine started.</summary>
    public int IncarnationOf(string journeyId) => Incarnations.GetValueOrDefault(journeyId);

    /// <summary>Whether <paramref name="instance"/> started before its journey was removed (and possibly published again).</summary>
    /// <remarks>0 (no removal since the engine started) accepts any: a restart loses the removals it counted.</remarks>
    public bool IsStale(JourneyInstance instance) => IncarnationOf(instance.JourneyId) is var current and > 0 && current != (instance.Incarnation ?? 0);

    /// <summary>Builds a catalog; throws <see cref="JourneyDefinitionException"/> listing every problem with its path.</summary>
    public static JourneyCatalog Create(IEnumerable<JourneyDefinition> definitions, SegmentCatalog segments)
    {
        var errors = new List<DefinitionError>();
        var versions = new Dictionary<string, SortedDictionary<int, LoadedJourney>>(StringComparer.Ordinal);
        var n = 0;
        foreach (var d in definitions)
        {
            var path = $"$[{n++}]";
            if (d is null)
            {
                errors.Add(new(path, "is null"));
                continue;
            }

            var before = errors.Count;
            JourneyDefinitionValidator.Validate(d, path, errors);
            if (d.Trigger is SegmentTrigger { SegmentId.Length: <= SegmentDefinitionValidator.MaxIdLength } st && !segments.Contains(st.SegmentId))
            {
                errors.Add(new($"{path}.trigger.segment", $"names segment '{st.SegmentId}', which is not loaded"));
            }

            if (errors.Count > before)
            {
                continue; // refused: a definition built in C# may hold nulls the runtime form cannot take
            }

            if (!versions.TryGetValue(d.Id, out var byVersion))
            {
                versions[d.Id] = byVersion = [];
            }

            if (!byVersion.TryAdd(d.Version, new LoadedJourney(d)))
            {
                errors.Add(new($"{path}.version", $"journey '{d.Id}' version {d.Version} is defined twice"));
            }
        }

        if (errors.Count > 0)
        {
            throw new JourneyDefinitionException(errors);
        }

        return new JourneyCatalog(new(versions.OrderBy(kv => kv.Key, StringComparer.Ordinal), StringComparer.Ordinal));
    }

    /// <summary>Every loaded definition, all versions.</summary>
    public IEnumerable<JourneyDefinition> All => _versions.Values.SelectMany(v => v.Values).Select(j => j.Definition);

    public LoadedJourney? Find(string journeyId, int version) =>
        _versions.TryGetValue(journeyId, out var v) && v.TryGetValue(version, out var j) ? j : null;

    /// <summary>The ids of the loaded journeys.</summary>
    public IEnumerable<string> Ids => _versions.Keys;

    public LoadedJourney? FindLatest(string journeyId) => _versions.TryGetValue(journeyId, out var v) ? v.Values.Last() : null;

    /// <summary>
    /// The first loaded version newer than <paramref name="version"/> that has no step <paramref name="stepId"/>, or null:
    /// an instance there ends whether or not a later version adds the step back (as the publish's visit would have ended it).
    /// </summary>
    public LoadedJourney? FirstNewerWithout(string journeyId, int version, string stepId)
    {
        if (!_versions.TryGetValue(journeyId, out var versions) || versions.Count == 1)
        {
            return null; // nearly always one version: no newer one
        }

        foreach (var (number, journey) in versions) // ascending
        {
            if (number > version && !journey.HasStep(stepId))
            {
                return journey;
            }
        }

        return null;
    }

    public IReadOnlyList<LoadedJourney> TriggeredBy(string eventType) => _byTriggerEvent.GetValueOrDefault(eventType) ?? [];

    public IReadOnlyList<LoadedJourney> TriggeredBySegment(string segmentId) => _bySegment.GetValueOrDefault(segmentId) ?? [];

    public IReadOnlyList<LoadedJourney> InactivityConcerning(string eventType) => _byInactivityEvent.GetValueOrDefault(eventType) ?? [];

    /// <summary>Every loaded version with an exit criterion on <paramref name="eventType"/>.</summary>
    public IReadOnlyList<LoadedJourney> ExitedBy(string eventType) => _byExitEvent.GetValueOrDefault(eventType) ?? [];

    /// <summary>Every loaded version whose goal is <paramref name="eventType"/>.</summary>
    public IReadOnlyList<LoadedJourney> GoalOf(string eventType) => _byGoalEvent.GetValueOrDefault(eventType) ?? [];

    /// <summary>Journeys (every loaded version) with a <c>waitForEvent</c> step that has a branch on <paramref name="eventType"/>.</summary>
    public IReadOnlyList<LoadedJourney> WaitedOnBy(string eventType) => _byWaitEvent.GetValueOrDefault(eventType) ?? [];

    private static Dictionary<string, LoadedJourney[]> Index(IEnumerable<LoadedJourney> journeys, Func<LoadedJourney, IEnumerable<string>> keys) =>
        journeys.SelectMany(j => keys(j).Distinct().Select(k => (k, j)))
            .GroupBy(x => x.k, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.j).ToArray(), StringComparer.Ordinal);

    private static IEnumerable<SegmentRule> EmbeddedRules(JourneyDefinition d)
    {
        if (d.Entry.Condition is { } entry)
        {
            yield return entry;
        }

        foreach (var x in d.Exit)
        {
            if (x is SegmentExitCriterion s)
            {
                yield return s.Condition;
            }
        }

        foreach (var step in d.Steps)
        {
            if (step is BranchStep b)
            {
                foreach (var rule in b.Branches.SelectMany(c => ProfileRules(c.Condition)))
                {
                    yield return rule;
                }
            }
        }
    }

    private static IEnumerable<SegmentRule> ProfileRules(JourneyCondition c) => c switch
    {
        ProfileCondition p => [p.Rule],
        AllCondition a => a.Conditions.SelectMany(ProfileRules),
        AnyCondition a => a.Conditions.SelectMany(ProfileRules),
        NotCondition n => ProfileRules(n.Condition),
        _ => [],
    };
}

/// <summary>A definition with its steps indexed by id.</summary>
internal sealed class LoadedJourney
{
    private readonly Dictionary<string, int> _stepIndex;

    public LoadedJourney(JourneyDefinition definition)
    {
        Definition = definition;
        HasSegmentExits = definition.Exit.Any(x => x is SegmentExitCriterion);
        _stepIndex = new(StringComparer.Ordinal);
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            _stepIndex.TryAdd(definition.Steps[i].Id, i);
        }
    }

    public JourneyDefinition Definition { get; }

    /// <summary>Whether any exit criterion is a profile condition (checked after every change and on its own schedule).</summary>
    public bool HasSegmentExits { get; }

    /// <summary>Whether a newer loaded version no longer has <paramref name="stepId"/> (an instance there must end).</summary>
    public bool IsSuperseded(string stepId, JourneyCatalog catalog) =>
        catalog.FirstNewerWithout(Id, Definition.Version, stepId) is not null;

    public string Id => Definition.Id;

    public JourneyStep? Step(string id) => _stepIndex.TryGetValue(id, out var i) ? Definition.Steps[i] : null;

    public bool HasStep(string id) => _stepIndex.ContainsKey(id);

    /// <summary>The step after <paramref name="id"/> in the list, or null after the last.</summary>
    public string? After(string id) => _stepIndex.TryGetValue(id, out var i) && i + 1 < Definition.Steps.Count ? Definition.Steps[i + 1].Id : null;
}
