namespace Omnichannel.Sdk.Segments;

/// <summary>A profile entering or leaving a segment.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="Entered"><see langword="true"/> for <c>segment.entered</c>, <see langword="false"/> for <c>segment.exited</c>.</param>
/// <param name="At">The exact instant of the change: the event's processing time, or the instant time alone changed the answer.</param>
public sealed record SegmentChange(string SegmentId, bool Entered, DateTimeOffset At)
{
    /// <summary><c>segment.entered</c> or <c>segment.exited</c>.</summary>
    public string EventType => Entered ? EventTypes.SegmentEntered : EventTypes.SegmentExited;
}

/// <summary>A profile's membership of a segment.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="EnteredAt">When the profile entered it.</param>
public sealed record SegmentMembership(string SegmentId, DateTimeOffset EnteredAt);

/// <summary>
/// The live part of segments, pure: records what rules need, re-evaluates the segments an event or the passing of time
/// can change, and keeps each profile's memberships and next check instants. No I/O, no clock.
/// </summary>
internal static class SegmentRuntime
{
    /// <summary>After <paramref name="e"/> was applied to <paramref name="p"/> (and merges done): re-evaluate what it can change.</summary>
    public static List<SegmentChange> OnEvent(CustomerProfile p, CustomerEvent e, SegmentCatalog catalog, DateTimeOffset now, bool everything, int timelineLength) =>
        OnEvent(p, e, catalog, now, everything, timelineLength, out _);

    // As above; byTime gets the transitions of checks that fell due before the event (settled now, at their own instants)
    // in segments the event cannot change, or null when there are none: time passing made them, not the event, so the
    // event's age or historical mark does not refuse the journeys they start.
    public static List<SegmentChange> OnEvent(CustomerProfile p, CustomerEvent e, SegmentCatalog catalog, DateTimeOffset now, bool everything, int timelineLength,
        out List<SegmentChange>? byTime)
    {
        p.RuleHistory.Record(e, catalog.Requirements, KeyedFact(p, e), out var recorded, out var replaced,
            e.Type == EventTypes.OrderPlaced ? WellKnownProperties.OrderId(p, e.Properties) : null);
        var restored = RestoreOrders(p, catalog, now);
        restored |= p.TalliesIfAny is { } tallies && p.RuleHistory.RestoreFirstAndLastTallies(tallies, everything ? null : e.Type, catalog.Requirements, now);
        var changes = new List<SegmentChange>();

        // Checks that fell due before this event are settled first, at their own instants (so before pruning to now).
        var foreign = RunDue(p, catalog, now, changes, timelineLength);
        byTime = null;
        if (changes.Count > 0)
        {
            // A due lapse settled because a late page view arrived first is time's, not the page view's; one the event can
            // change (an old order counted at the check's instant) stays the event's. At an instant before the event's own
            // time its history record counts nowhere (events after t never count), so only what it changed in the
            // profile's statistics and traits can have made the transition.
            var eventCanChange = catalog.AffectedMask(e, recorded, replaced);
            var beforeItCanChange = recorded is null || replaced ? eventCanChange : catalog.AffectedMask(e, null);
            foreach (var c in changes)
            {
                var canChange = recorded is not null && c.At < recorded.Timestamp ? beforeItCanChange : eventCanChange;
                if (catalog.IndexOf(c.SegmentId) is var i && (i < 0 || !canChange[i]))
                {
                    (byTime ??= []).Add(c);
                }
            }
        }
        p.RuleHistory.Prune(now, catalog.Requirements);
        bool[] dirty;
        if (everything || restored || foreign)
        {
            dirty = new bool[catalog.Count];
            Array.Fill(dirty, true);
        }
        else
        {
            // The segments the event can change (see SegmentCatalog.AffectedMask(e, recorded)), and those of its type
            // not yet evaluated on this profile since it was loaded: their stored answer may be stale (a back-fill
            // that failed for this profile, a definition loaded meanwhile), so the event's type re-evaluates them.
            dirty = catalog.AffectedMask(e, recorded, replaced);

            // An event that reports her time zone may move her local date: anniversary rules are read again in it.
            if (!string.IsNullOrWhiteSpace(e.Context?.TimeZone))
            {
                catalog.MarkZoneDependent(dirty);
            }

            var byType = catalog.AffectedMask(e);
            var answers = p.RuleHistory.Answers;
            for (var i = 0; i < dirty.Length; i++)
            {
                if (!dirty[i] && byType[i] && !answers.WasEvaluated(catalog, i))
                {
                    dirty[i] = true;
                }
            }
        }

        Evaluate(p, catalog, dirty, now, changes, timelineLength);
        return changes;
    }

    // The first and last orders the history lost (an order re-sent with an earlier time, a document from before U35).
    private static bool RestoreOrders(CustomerProfile p, SegmentCatalog catalog, DateTimeOffset now) =>
        p.RuleHistory.RestoreFirstAndLastOrder(p.Orders, p.Statistics.FirstOrderAt, p.Statistics.LastOrderAt, catalog.Requirements, now);

    // The profile's fact (already updated with the event) of the event's order: its first time and newest report.
    // Audit U93: for a keyed loyalty or referral event, its tally fact.
    private static OrderFact? KeyedFact(CustomerProfile p, CustomerEvent e) =>
        e.Type == EventTypes.OrderPlaced
            ? WellKnownProperties.OrderId(p, e.Properties) is { Length: > 0 } orderId && p.Orders.TryGetValue(WellKnownProperties.OrderKey(orderId), out var fact) ? fact : null
            : ProfileCore.TallyKey(e) is { } tally && p.TalliesIfAny is { } tallies && tallies.TryGetValue(tally, out var counted) ? counted : null;

    /// <summary>Time passed: settle every check due at or before <paramref name="now"/>, each at its own instant.</summary>
    public static List<SegmentChange> OnWake(CustomerProfile p, SegmentCatalog catalog, DateTimeOffset now, int timelineLength)
    {
        var changes = new List<SegmentChange>();
        if (RunDue(p, catalog, now, changes, timelineLength))
        {
            EvaluateAll(p, catalog, now, changes, timelineLength);
        }

        p.RuleHistory.Prune(now, catalog.Requirements);
        return changes;
    }

    /// <summary>Re-evaluates the given segments (a new or changed definition) at <paramref name="now"/>.</summary>
    public static List<SegmentChange> Reevaluate(CustomerProfile p, SegmentCatalog catalog, IReadOnlyCollection<string> segmentIds, DateTimeOffset now, int timelineLength)
    {
        var changes = new List<SegmentChange>();
        RestoreOrders(p, catalog, now);
        if (p.TalliesIfAny is { } tallies)
        {
            p.RuleHistory.RestoreFirstAndLastTallies(tallies, null, catalog.Requirements, now);
        }

        var foreign = RunDue(p, catalog, now, changes, timelineLength);
        p.RuleHistory.Prune(now, catalog.Requirements);
        var dirty = new bool[catalog.Count];
        var any = false;
        for (var i = 0; i < dirty.Length; i++)
        {
            any |= dirty[i] = foreign || segmentIds.Contains(catalog.Segments[i].Id);
        }

        if (any)
        {
            Evaluate(p, catalog, dirty, now, changes, timelineLength);
        }

        return changes;
    }

    /// <summary>Whether the profile would be in <paramref name="segment"/> at <paramref name="now"/>, changing nothing.</summary>
    public static bool Preview(CustomerProfile p, SegmentDefinition segment, DateTimeOffset now, string? defaultTimeZone = null) =>
        SegmentEvaluator.Evaluate(MachineEngagement.Hide(segment), Subject(p, defaultTimeZone), now).IsMember; // as if loaded (audit U82)

    /// <summary>The profile's earliest pending check, for the scheduler.</summary>
    public static DateTimeOffset? NextCheck(CustomerProfile p) => Earliest(p.SegmentChecksIfAny);

    private static DateTimeOffset? Earliest(Dictionary<string, DateTimeOffset>? checks)
    {
        DateTimeOffset? min = null;
        if (checks is null)
        {
            return null;
        }

        foreach (var (_, at) in checks)
        {
            if (min is not { } m || at < m)
            {
                min = at;
            }
        }

        return min;
    }

    // Every segment at `now` (a profile whose state was computed under definitions this engine never had in force).
    private static void EvaluateAll(CustomerProfile p, SegmentCatalog catalog, DateTimeOffset now, List<SegmentChange> changes, int timelineLength)
    {
        var dirty = new bool[catalog.Count];
        Array.Fill(dirty, true);
        Evaluate(p, catalog, dirty, now, changes, timelineLength);
    }

    // Settles the due checks at their instants. Returns true when the profile's memberships and checks were computed under
    // definitions this engine never had in force (another run's start-up set, a document written before fingerprints):
    // the caller then evaluates every segment at `now` (audit U39: a definition changed across a restart stayed in force
    // under its old rule until its old check fell due). Checks already due run first, at their own instants, under the
    // current definitions (a segment unchanged across the restart leaves when it is due, as in a sleeping engine).
    private static bool RunDue(CustomerProfile p, SegmentCatalog catalog, DateTimeOffset now, List<SegmentChange> changes, int timelineLength)
    {
        var foreign = catalog.IsForeign(p.SegmentsFingerprint);
        p.SegmentsFingerprint = catalog.Count == 0 ? null : catalog.Fingerprint; // no segments: nothing to write

        // A re-added segment whose stale membership was dropped is evaluated from scratch now, whatever touched her.
        if (Forget(p, catalog) is { } reset)
        {
            var dirty = new bool[catalog.Count];
            foreach (var i in reset)
            {
                dirty[i] = true;
            }

            Evaluate(p, catalog, dirty, now, changes, timelineLength);
        }

        while (Earliest(p.SegmentChecksIfAny) is { } at && at <= now)
        {
            var dirty = new bool[catalog.Count];
            List<string>? due = null;
            foreach (var (id, check) in p.SegmentChecks)
            {
                if (check == at)
                {
                    (due ??= []).Add(id);
                }
            }

            foreach (var id in due!)
            {
                p.SegmentChecks.Remove(id);
                dirty[catalog.IndexOf(id)] = true;
            }

            Evaluate(p, catalog, dirty, at, changes, timelineLength);
        }

        return foreign;
    }

    // Segments that are no longer loaded leave no state behind, and neither does a membership of an earlier incarnation
    // of a segment removed and added again (no exit: the segment it belonged to is gone). Returns the positions of the
    // loaded segments whose stale membership was dropped, to evaluate from scratch; null when none.
    private static readonly Dictionary<string, DateTimeOffset> EmptyTimes = new(StringComparer.Ordinal);

    private static List<int>? Forget(CustomerProfile p, SegmentCatalog catalog)
    {
        // Already done for this catalog since the profile was loaded or last merged (see LeafAnswerCache.ForgottenFor).
        var answers = p.RuleHistory.Answers;
        if (ReferenceEquals(answers.ForgottenFor, catalog))
        {
            return null;
        }

        answers.ForgottenFor = catalog;
        List<string>? gone = null;
        List<int>? reset = null;
        // No "?? []" for a missing map: that made an empty dictionary on every load and merge.
        foreach (var (id, _) in p.SegmentChecksIfAny ?? EmptyTimes)
        {
            if (!catalog.Contains(id))
            {
                (gone ??= []).Add(id);
            }
        }

        foreach (var (id, _) in p.SegmentMembershipsIfAny ?? EmptyTimes)
        {
            if (!catalog.Contains(id))
            {
                (gone ??= []).Add(id);
            }
            else if (catalog.IncarnationOf(id) is var current and > 0 && (p.SegmentIncarnations?.GetValueOrDefault(id) ?? 0) != current)
            {
                // 0 (never removed since this engine started) accepts any: a restart loses the removals it counted.
                (gone ??= []).Add(id);
                (reset ??= []).Add(catalog.IndexOf(id));
            }
        }

        foreach (var id in p.SegmentIncarnations?.Keys ?? (IEnumerable<string>)[])
        {
            if (!catalog.Contains(id))
            {
                (gone ??= []).Add(id);
            }
        }

        if (gone is not null)
        {
            foreach (var id in gone)
            {
                p.SegmentChecks.Remove(id);
                p.SegmentMemberships.Remove(id);
                p.SegmentIncarnations?.Remove(id);
            }
        }

        return reset;
    }

    // `dirty` is by position in catalog.Segments; it is extended to the segments that reference a re-evaluated one.
    private static void Evaluate(CustomerProfile p, SegmentCatalog catalog, bool[] dirty, DateTimeOffset at, List<SegmentChange> changes, int timelineLength)
    {
        SegmentSubject? subject = null;
        var segments = catalog.Segments;
        Span<bool> changed = dirty.Length <= 512 ? stackalloc bool[dirty.Length] : new bool[dirty.Length];
        for (var i = 0; i < dirty.Length; i++)
        {
            // Dependency order: a segment that reads a segment whose membership just changed is re-evaluated after it.
            // (One whose referenced segments kept their answer cannot change through them.)
            if (!dirty[i])
            {
                foreach (var dep in catalog.DependsOnIndexes(i))
                {
                    if (changed[dep])
                    {
                        dirty[i] = true;
                        break;
                    }
                }

                if (!dirty[i])
                {
                    continue;
                }
            }

            var segment = segments[i];
            subject ??= Subject(p, catalog.DefaultTimeZone);
            var result = SegmentEvaluator.Evaluate(segment, subject, at);
            p.RuleHistory.Answers.MarkEvaluated(catalog, i);
            if (result.NextCheckAt is { } next && next > at)
            {
                p.SegmentChecks[segment.Id] = next;
            }
            else
            {
                p.SegmentChecksIfAny?.Remove(segment.Id);
            }

            var was = p.SegmentMembershipsIfAny?.ContainsKey(segment.Id) == true;
            if (result.IsMember == was)
            {
                continue;
            }

            if (result.IsMember)
            {
                p.SegmentMemberships[segment.Id] = at;
                if (catalog.IncarnationOf(segment.Id) is var incarnation and > 0)
                {
                    (p.SegmentIncarnations ??= new(StringComparer.Ordinal))[segment.Id] = incarnation;
                }
            }
            else
            {
                p.SegmentMembershipsIfAny?.Remove(segment.Id);
                p.SegmentIncarnations?.Remove(segment.Id);
            }

            changed[i] = true;
            var change = new SegmentChange(segment.Id, result.IsMember, at);
            changes.Add(change);
            ProfileCore.AddTimeline(p, new TimelineEntry($"{change.EventType}:{segment.Id}:{at.UtcTicks}", change.EventType, "system", at, segment.Name), timelineLength);
        }
    }

    // One subject per profile and zone, kept with the history's in-memory answers: it reads the profile live.
    private static SegmentSubject Subject(CustomerProfile p, string? defaultTimeZone)
    {
        var answers = p.RuleHistory.Answers;
        if (answers.Subject is { } s && ReferenceEquals(s.Profile, p) && ReferenceEquals(s.History, p.RuleHistory) &&
            string.Equals(s.DefaultTimeZone, defaultTimeZone, StringComparison.Ordinal) && string.Equals(s.ProfileTimeZone, p.TimeZone, StringComparison.Ordinal))
        {
            return s;
        }

        var subject = new SegmentSubject(p, p.RuleHistory, p.IsInSegment, defaultTimeZone) { ProfileTimeZone = p.TimeZone };
        answers.Subject = subject;
        return subject;
    }
}
