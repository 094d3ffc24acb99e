using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// The one unit of work. Every change to a profile — an event, a wake-up, a back-fill, a send, a delivery outcome —
// runs here, on its partition's worker: load → apply → segments → journeys (→ planned messages) → commit → post-commit,
// retried on an optimistic-concurrency conflict. The steps between load and commit are the pure core (ProfileCore,
// SegmentRuntime, JourneyRunner); only this loop talks to the store.
public sealed partial class OmnichannelEngine
{
    /// <summary>Runs one change to completion; throws only for a fault (transient store failure or a pure step that fails for good).</summary>
    private async ValueTask<UnitResult> RunUnitOfWorkAsync(ProfileChange change, HotProfiles hot)
    {
        int conflicts = 0, vanished = 0;
        CustomerProfile? readFresh = null; // the copy a ReadOnly decision found stale read from the store: it stands on it
        for (var attempt = 1; attempt <= _options.MaxCommitAttempts; attempt++)
        {
            var subject = await change.LoadAsync(this, hot).ConfigureAwait(false);
            if (subject.Finished is { } finished)
            {
                return finished;
            }

            if (subject.Profile is not { } p)
            {
                vanished++;
                await CommitBackOffAsync(attempt).ConfigureAwait(false);
                continue; // erased or merged away since the lookup: look again
            }

            var now = _time.GetUtcNow();

            // From here the hot objects are being changed: any way out but a commit must evict them.
            try
            {
                ChangeEffect effect;
                DocumentOut document = default;
                List<Identifier>? lifts = null;
                try
                {
                    effect = await change.ApplyAsync(this, subject, now).ConfigureAwait(false);
                    if (!effect.ReadOnly)
                    {
                        if (await ListsFromOlderCopyAsync(p, hot, effect.Absorbed).ConfigureAwait(false))
                        {
                            Evict(hot, p.Id, subject.Involved);
                            conflicts++;
                            continue; // review of U87: what goes on the store's list is worked out on the stored version
                        }

                        lifts = await SyncSuppressionListAsync(p).ConfigureAwait(false);

                        document = WriteDocument(p);
                    }
                }
                catch (StoreFaultException fault)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fault.InnerException!).Throw();
                    throw;
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
                {
                    throw new ApplyFailedException(ex); // pure steps: what fails here fails the same way on every retry
                }

                if (effect.ReadOnly)
                {
                    // Nothing to commit, so no version check: a decision read off a hot copy stands only if that copy is the
                    // stored version (another engine or partition may have changed her since). Work that loaded fresh is.
                    // Decided again on a copy just read, it stands, as for work that loads fresh: reading it once more found it
                    // newer again while another engine kept writing her, until the work gave up (review of session 48).
                    if (change is not ProfileWork { Fresh: true } && !ReferenceEquals(p, readFresh) && await StoredIsNewerAsync(p, hot).ConfigureAwait(false))
                    {
                        conflicts++;
                        readFresh = hot.TryGet(p.Id, out var current) ? current : null;
                        continue; // decided again on the stored version, now hot
                    }

                    return new UnitResult(UnitStatus.Finished, p.Id, effect); // a read of the profile: nothing to commit
                }

                var commit = CommitOf(p, document, now, effect.EventId, effect.Outbox, claims: effect.Claims, absorbed: effect.Absorbed);
                var result = await _store.CommitAsync(commit).ConfigureAwait(false);
                switch (result.Status)
                {
                    case CommitStatus.Committed:
                        p.Version = result.Version;
                        hot.Put(p, document.Length);
                        foreach (var a in effect.Absorbed)
                        {
                            hot.Remove(a.ProfileId);
                        }

                        await LiftAfterCommitAsync(lifts).ConfigureAwait(false); // audit U86: only once the commit is durable
                        AfterCommit(change, p, effect, commit.WakeAt);
                        return new UnitResult(UnitStatus.Committed, p.Id, effect);
                    case CommitStatus.DuplicateEvent:
                        Evict(hot, p.Id, subject.Involved);
                        return UnitResult.Duplicate;
                    case CommitStatus.MessageKeyTaken:
                        // Another message holds the key: nothing was written, and trying again cannot help.
                        Evict(hot, p.Id, subject.Involved);
                        return new UnitResult(UnitStatus.KeyTaken, p.Id, effect);
                    default:
                        Evict(hot, p.Id, subject.Involved);
                        conflicts++;
                        _metrics.CommitConflicts.Add(1);
                        await CommitBackOffAsync(attempt).ConfigureAwait(false);
                        break;
                }
            }
            catch
            {
                Evict(hot, p.Id, subject.Involved);
                throw;
            }
        }

        return UnitResult.GaveUp with { Reason = $"{conflicts} commit conflict(s) and {vanished} profile(s) merged or erased between lookup and load" };
    }

    /// <summary>The document of <paramref name="p"/> as this engine's store keeps it (shared in memory, contiguous otherwise).</summary>
    private DocumentOut WriteDocument(CustomerProfile p) =>
        _sharesDocuments ? ProfileSerializer.SerializeShared(p) : new DocumentOut(ProfileSerializer.Serialize(p), null);

    /// <summary>
    /// What every commit of <paramref name="p"/> carries from the profile itself: its document and version, its next
    /// wake-up, segments and the measurement deltas it gathered (taken). The change adds its own claims, ids and outbox.
    /// </summary>
    /// <remarks>One object per commit (a <c>with</c> on it would make a second, on every event).</remarks>
    private ProfileCommit CommitOf(
        CustomerProfile p,
        DocumentOut document,
        DateTimeOffset now,
        string? eventId,
        IReadOnlyList<OutboxEntry> outbox,
        IReadOnlyList<string>? furtherEventIds = null,
        IReadOnlyList<IdentifierClaim>? claims = null,
        IReadOnlyList<AbsorbedProfile>? absorbed = null) => new(document.Shared)
    {
        ProfileId = p.Id,
        ExpectedVersion = p.Version,
        Document = document.Bytes!, // null with a shared document, which the commit then gives

        ProcessedAt = now,
        WakeAt = WakeOf(p),
        Segments = p.SegmentMembershipsIfAny is { Count: > 0 } memberships ? [.. memberships.Keys] : [],
        Measurements = p.TakePendingMeasurements(),
        EventId = eventId,
        FurtherEventIds = furtherEventIds ?? [],
        Outbox = outbox,
        Claims = claims ?? [],
        Absorbed = absorbed ?? [],
    };

    /// <summary>After a commit: the change's own report, wake-up, segment metrics, journey reports and due messages.</summary>
    private void AfterCommit(ProfileChange change, CustomerProfile p, ChangeEffect effect, DateTimeOffset? wakeAt)
    {
        CountSkipped(p);
        if (p.TraitPathsRefused > 0)
        {
            LogTraitPathsRefused(_logger, p.Id, p.TraitPathsRefused, _options.MaxTraitsPerProfile);
            p.TraitPathsRefused = 0;
        }

        change.Committed(this, p, effect);
        Committed(p.Id, wakeAt, effect.Changes);
        if (effect.Journeys is { } journeys)
        {
            ReportJourneys(journeys, p.Id);
        }

        foreach (var entry in effect.Outbox)
        {
            ScheduleDispatch(entry.DueAt);
        }

        AdvanceAfterCommit(p);
    }

    // The count only: trait names are the host's and may be personal data.
    [Microsoft.Extensions.Logging.LoggerMessage(63, Microsoft.Extensions.Logging.LogLevel.Warning, "Profile {ProfileId} holds MaxTraitsPerProfile ({Limit}) trait paths; {Count} new paths were not kept")]
    private static partial void LogTraitPathsRefused(Microsoft.Extensions.Logging.ILogger logger, string profileId, int count, int limit);

    /// <summary>Counts the messages a committed change did not send; planning only notes them, as it may be done again.</summary>
    private void CountSkipped(CustomerProfile p)
    {
        if (p.PendingSkips is not { } skips)
        {
            return;
        }

        p.PendingSkips = null;
        foreach (var outcome in skips)
        {
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("omnichannel.channel", "none"), new KeyValuePair<string, object?>("omnichannel.message.outcome", outcome));
        }
    }

    /// <summary>
    /// Applies an event to a loaded profile and runs what follows it: segments, then journeys (which may plan messages).
    /// The one place where "apply → segments → journeys" happens, for tracked events and delivery outcomes alike.
    /// </summary>
    /// <returns>The segment transitions, and the journeys' work (none when no journey is defined and she is in none).</returns>
    private async ValueTask<(List<SegmentChange> Changes, JourneyRunner? Journeys)> ApplyEventAsync(
        CustomerProfile p, CustomerEvent e, DateTimeOffset now, bool everything, bool merged, CancellationToken cancellationToken)
    {
        var definitions = _definitions; // one set for the whole change
        e = Measurement.MeasurementRecorder.OfItsMessage(p, e); // a provider's id placed on its message, and its channel named
        e = MachineEngagement.Classify(p, e, _options.Measurement); // an open or click a machine made is marked so (audit U82)
        if (Measurement.MeasurementRecorder.AwaitsItsRecord(e) is { } awaited)
        {
            // Audit U81: a report naming only a provider's id this profile does not know yet (the callback came before the
            // send was recorded): kept, and measured at its own time when the send is recorded with that id.
            Measurement.MeasurementRecorder.KeepUntilRecorded(p, e, awaited);
        }

        var repeatOrder = Measurement.MeasurementRecorder.IsKnownOrder(p, e); // before the event adds it: an update or a retried webhook
        var firstReportLate = repeatOrder && Measurement.MeasurementRecorder.IsFirstReportArrivingLate(p, e); // audit U95: the order as placed
        var repeatOutcome = Measurement.MeasurementRecorder.IsRepeatedOutcome(p, e); // a provider's webhook again: starts no journey again
        var zoneBefore = p.TimeZone;
        e = Measure(p, e, now); // touches and conversions; an outcome gains its touch's attribution data
        ProfileCore.Apply(p, e, _options.TimelineLength, _options.Currency, receivedBy: now, maxTraits: _options.MaxTraitsPerProfile, softBounces: _softBounceRule,
            messagingChannels: e.Type == EventTypes.MessageComplained ? OutcomeProperties.MessagingChannels(_options.Identity, _delivery) : null);
        Measurement.MeasurementRecorder.FollowReturnsByProducts(p, e, _options.Currency); // refunds by products, valued by the profile

        // Audit U87: a bounce naming only a message the host sent itself (no address), heard while she had no address on its
        // channel, waited; the event that gives her one (a sign-up, a number) places it as the same bounce heard after it is
        // placed (her address there), so a run or a hard bounce suppresses whichever came first. Hard bounces first.
        ProfileCore.ResolvePendingBounces(p);
        if (p.HasSoftBounces && ProfileCore.ResolvePendingSoftBounces(p, _softBounceRule))
        {
            ProfileCore.ReviewSoftBounces(p, _softBounceRule);
        }

        if (p.HasSoftSuppressed)
        {
            ProfileCore.LiftSoftSuppressions(p, _softBounceRule); // audit U84: a delivery after a soft-bounce run ends it
        }

        if (merged || !string.Equals(zoneBefore, p.TimeZone, StringComparison.Ordinal))
        {
            MoveQuietHolds(p, now); // her quiet hours are those of the zone she is in now
        }

        if (p.HasSuppressedAddresses)
        {
            MarkSuppressedIdentifiers(p); // before segments: a bounced address no longer makes her reachable
        }

        ProfileCore.ReviewKeywordGrant(p); // audit U83: an SMS START read again against her numbers (one lookup without one)

        var changes = SegmentRuntime.OnEvent(p, e, definitions.Segments, now, everything, _options.TimelineLength, out var byTime);
        if (definitions.Services.Journeys.IsEmpty && p.JourneyData is null)
        {
            p.ReportsPlaced = null; // no journey to hear them
            return (changes, null); // what JourneyRunner.OnEventAsync would find: nothing to do
        }

        var journeys = new JourneyRunner(p, definitions.Services, now, cancellationToken);
        await journeys.OnEventAsync(e, changes, merged, repeatOrder && !firstReportLate, repeatOutcome, byTime, firstReportLate: firstReportLate).ConfigureAwait(false);
        changes.AddRange(journeys.Changes);
        return (changes, await HearPlacedReportsAsync(p, journeys, changes, definitions, now, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Audit U81: the journeys hear the reports this unit placed on their message (a merge brought it, or the send was
    /// just recorded with the provider's id they name), after the unit's own event, as they hear a report that comes after
    /// the record: with the message's key and attribution data. Each was heard as it arrived already, so only what the
    /// placed report matches and the report as it arrived did not (a condition on <c>journey_id</c>, <c>template_id</c>,
    /// the channel…) moves a journey now (<see cref="JourneyRunner.OnEventAsync"/>'s <c>asArrived</c>).
    /// </summary>
    /// <returns>The runner (made when the unit had none and a journey may hear them), or null.</returns>
    private static async ValueTask<JourneyRunner?> HearPlacedReportsAsync(
        CustomerProfile p, JourneyRunner? journeys, List<SegmentChange> changes, Definitions definitions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (p.ReportsPlaced is not { } placed)
        {
            return journeys;
        }

        p.ReportsPlaced = null;
        if (journeys is null)
        {
            if (definitions.Services.Journeys.IsEmpty && p.JourneyData is null)
            {
                return null;
            }

            journeys = new JourneyRunner(p, definitions.Services, now, cancellationToken);
        }

        var before = journeys.Changes.Count;
        foreach (var report in placed)
        {
            await journeys.OnEventAsync(report.Placed, [], repeatOutcome: report.Repeated, asArrived: report.AsArrived).ConfigureAwait(false);
        }

        for (var i = before; i < journeys.Changes.Count; i++)
        {
            changes.Add(journeys.Changes[i]);
        }

        return journeys;
    }

    /// <summary>Time passing for a profile: segment windows closing (all, or only <paramref name="segments"/>), then journeys.</summary>
    private async ValueTask<ChangeEffect> WakeAsync(CustomerProfile p, IReadOnlyCollection<string>? segments, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var definitions = _definitions;
        var changes = segments is null
            ? SegmentRuntime.OnWake(p, definitions.Segments, now, _options.TimelineLength)
            : SegmentRuntime.Reevaluate(p, definitions.Segments, segments, now, _options.TimelineLength);
        var journeys = new JourneyRunner(p, definitions.Services, now, cancellationToken);
        await journeys.OnWakeAsync(changes).ConfigureAwait(false);
        changes.AddRange(journeys.Changes);
        return new ChangeEffect { Changes = changes, Outbox = journeys.Outbox, Journeys = journeys };
    }

    private async ValueTask<CustomerProfile?> LoadAsync(string profileId, HotProfiles hot, bool fresh = false)
    {
        if (!fresh && hot.TryGet(profileId, out var cached))
        {
            return cached;
        }

        var stored = await _store.LoadProfileAsync(profileId).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }

        if (fresh && hot.TryGet(profileId, out cached) && cached.Version == stored.Version)
        {
            return cached; // the hot copy is the stored one: no parse
        }

        CustomerProfile p;
        try
        {
            p = ProfileSerializer.Deserialize(stored);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
        {
            throw new ApplyFailedException(ex); // a stored document that cannot be read reads the same way next time
        }

        hot.Put(p, stored.DocumentLength);
        return p;
    }

    /// <summary>
    /// Whether the store holds a newer version of <paramref name="p"/> (or none): a store read, which replaces the hot
    /// copy with the stored one. For decisions that commit nothing of the profile, only on those paths (audit U78).
    /// </summary>
    private async ValueTask<bool> StoredIsNewerAsync(CustomerProfile p, HotProfiles hot)
    {
        var current = await LoadAsync(p.Id, hot, fresh: true).ConfigureAwait(false);
        if (current is null)
        {
            hot.Remove(p.Id); // erased or merged away: the next load follows the store
            return true;
        }

        return current.Version != p.Version;
    }

    private static void Evict(HotProfiles hot, string target, IEnumerable<string> others)
    {
        hot.Remove(target);
        foreach (var o in others)
        {
            hot.Remove(o);
        }
    }

    // Two partitions racing for one person: after the first conflict, wait a little, randomly (full jitter, growing to
    // a second), so they stop colliding even on a machine too busy to schedule them promptly. Real time on purpose: this
    // is contention, not business time, and a fake clock must not stall it.
    private static Task CommitBackOffAsync(int attempt) =>
        attempt < 2 ? Task.CompletedTask : Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 1 + Math.Min(1000, 1 << attempt))));

    /// <summary>What a change is about and how it changes the profile; <see cref="RunUnitOfWorkAsync"/> does the rest.</summary>
    private abstract class ProfileChange
    {
        /// <summary>Finds and loads the profile(s) the change is about, or finishes early (duplicate, refused, gone).</summary>
        public abstract ValueTask<Subject> LoadAsync(OmnichannelEngine engine, HotProfiles hot);

        /// <summary>Changes the loaded profile (pure, but for message planning, whose store faults are marked).</summary>
        public abstract ValueTask<ChangeEffect> ApplyAsync(OmnichannelEngine engine, Subject subject, DateTimeOffset now);

        /// <summary>After the commit: logs and metrics of the change itself.</summary>
        public virtual void Committed(OmnichannelEngine engine, CustomerProfile profile, ChangeEffect effect)
        {
        }
    }

    /// <summary>The loaded profile a change applies to, with every other profile involved (evicted if the change fails).</summary>
    private sealed class Subject
    {
        public static readonly Subject Retry = new();

        public CustomerProfile? Profile { get; init; }

        public IReadOnlyCollection<string> Involved { get; init; } = [];

        public UnitResult? Finished { get; init; }

        public object? State { get; init; }
    }

    /// <summary>What a change did besides the profile document, committed with it.</summary>
    private sealed record ChangeEffect
    {
        public IReadOnlyList<SegmentChange> Changes { get; init; } = [];

        public IReadOnlyList<OutboxEntry> Outbox { get; init; } = [];

        public IReadOnlyList<IdentifierClaim> Claims { get; init; } = [];

        public IReadOnlyList<AbsorbedProfile> Absorbed { get; init; } = [];

        public string? EventId { get; init; }

        public JourneyRunner? Journeys { get; init; }

        public object? Result { get; init; }

        /// <summary>The change only read the profile (it must not have changed it): no commit follows.</summary>
        public bool ReadOnly { get; init; }
    }

    private enum UnitStatus
    {
        Committed,
        Duplicate,
        Gone,
        Finished,
        GaveUp,
        KeyTaken,
    }

    private sealed record UnitResult(UnitStatus Status, string? ProfileId = null, ChangeEffect? Effect = null, TrackResult? Track = null)
    {
        /// <summary>Why the unit gave up, for the caller's error.</summary>
        public string? Reason { get; init; }

        public static readonly UnitResult Duplicate = new(UnitStatus.Duplicate);
        public static readonly UnitResult Gone = new(UnitStatus.Gone);
        public static readonly UnitResult GaveUp = new(UnitStatus.GaveUp);
    }

    /// <summary>Applying a change failed in a pure step (no I/O): the same change on the same profile fails again.</summary>
    private sealed class ApplyFailedException(Exception inner) : Exception(inner.Message, inner);

    /// <summary>A store call inside an otherwise pure step failed: transient, like any other store fault.</summary>
    private sealed class StoreFaultException(Exception inner) : Exception(inner.Message, inner);
}
