using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// The kinds of change the unit of work runs: a tracked event (found by its identifiers, possibly merging profiles) and
// work on one profile found by id (wake-ups, back-fills, sends, delivery outcomes).
public sealed partial class OmnichannelEngine
{
    /// <summary>A validated event: resolves its identifiers, merges the profiles they belong to, applies the event.</summary>
    private sealed class EventChange(ValidatedEvent v) : ProfileChange
    {
        private sealed record EventState(ResolutionPlan Plan, InvolvedProfiles Involved, Dictionary<Identifier, DateTimeOffset>? Returned);

        /// <summary>
        /// The subject of a run's later event, whose identifiers <paramref name="p"/> (loaded and changed by the run) all
        /// holds: what <see cref="LoadAsync"/> would give without a store read. <see langword="null"/> when the event needs
        /// more than that (a refusal, a link, a merge): the run stops before it, and it goes the usual way.
        /// </summary>
        public static Subject? KnownProfile(OmnichannelEngine engine, ValidatedEvent v, CustomerProfile p)
        {
            for (var k = 0; k < v.Identifiers.Count; k++)
            {
                if (!p.Has(v.Identifiers[k]))
                {
                    return null;
                }
            }

            var owners = new OneOwner(v.Identifiers, p.Id);

            var involved = new InvolvedProfiles();
            involved.Add(p.Id, p);
            if (engine.RefusedAsBeforeReturn(v, owners, involved) is not null || ReturnedLinks(engine, v, owners, involved).Returned)
            {
                return null; // the usual way looks at the event id's tombstone
            }

            var plan = IdentityResolver.Plan(v.Identifiers, owners, involved, engine._options.Identity);
            return plan.TargetProfileId != p.Id || plan.Absorb.Count > 0 || plan.Link.Count > 0 || plan.Conflicts.Count > 0
                ? null
                : new Subject { Profile = p, Involved = involved, State = new EventState(plan, involved, null) };
        }

        public override async ValueTask<Subject> LoadAsync(OmnichannelEngine engine, HotProfiles hot)
        {
            var e = v.Event;
            var store = engine._store;

            // Both reads at once: a store that batches concurrent reads (PostgreSQL) answers them in one round trip. The
            // commit checks both again (the event id, and every identifier's owner), so reading them apart changes nothing.
            var processedCheck = store.IsEventProcessedAsync(e.Id);
            var lookup = store.ResolveIdentifiersAsync(v.Identifiers);
            bool processed;
            try
            {
                processed = await processedCheck.ConfigureAwait(false);
            }
            catch
            {
                await ObserveAsync(lookup).ConfigureAwait(false);
                throw;
            }

            var owners = await lookup.ConfigureAwait(false);
            if (processed)
            {
                return new Subject { Finished = UnitResult.Duplicate };
            }

            // An identifier nobody holds may be an erased person's: look at the tombstones (held ones cannot be, so the
            // usual event of a known customer pays nothing). Checked on every attempt: an erasure may run in between.
            var returned = owners.Count < v.Identifiers.Count ? new Dictionary<Identifier, DateTimeOffset>() : null;
            if (returned is not null && await engine.RefusedAsErasedAsync(v, owners, returned).ConfigureAwait(false) is { } refused)
            {
                LogRefusedErased(engine._logger, e.Type);
                return new Subject { Finished = new UnitResult(UnitStatus.Finished, Track: refused) };
            }

            var involved = new InvolvedProfiles();
            for (var i = 0; i < v.Identifiers.Count; i++)
            {
                if (!owners.TryGetValue(v.Identifiers[i], out var owner) || involved.Contains(owner))
                {
                    continue;
                }

                if (await engine.LoadAsync(owner, hot).ConfigureAwait(false) is not { } p)
                {
                    return Subject.Retry; // erased or merged away since the lookup
                }

                involved.Add(owner, p);
            }

            // Profiles read again from the store in this attempt (see ReadStaleAsync): the decision stands on them.
            HashSet<string>? readFresh = null;
        Decide:
            // A held identifier that came back after an erasure keeps the erasure's time: what is dated before it stays out.
            if (owners.Count > 0 && engine.RefusedAsBeforeReturn(v, owners, involved) is { } beforeReturn)
            {
                switch (await ReadStaleAsync(engine, hot, involved, null, null, readFresh ??= new(StringComparer.Ordinal)).ConfigureAwait(false))
                {
                    case Staleness.Gone:
                        return Subject.Retry; // erased or merged away since the lookup
                    case Staleness.Replaced:
                        goto Decide;
                }

                LogRefusedErased(engine._logger, e.Type);
                return new Subject { Finished = new UnitResult(UnitStatus.Finished, Track: beforeReturn) };
            }

            // Through such a link, an event dated after the erasure may still be one of hers, retried with a later stamp:
            // its id was tombstoned. Also when an identifier is nobody's (its id was looked up above then, but not whether a
            // link it comes with is hers: review rv61, her returned email with a new phone on a report on her old order).
            if (owners.Count > 0 && ReturnedLinks(engine, v, owners, involved) is { Returned: true } links
                && await engine.RefusedAsErasedEventAsync(v, facts: links.Hers).ConfigureAwait(false) is { } erasedEvent)
            {
                LogRefusedErased(engine._logger, e.Type);
                return new Subject { Finished = new UnitResult(UnitStatus.Finished, Track: erasedEvent) };
            }

            var plan = IdentityResolver.Plan(v.Identifiers, owners, involved, engine._options.Identity);
            if (involved.Count > plan.Absorb.Count + (plan.TargetProfileId is null ? 0 : 1))
            {
                switch (await ReadStaleAsync(engine, hot, involved, plan.TargetProfileId, plan.Absorb, readFresh ??= new(StringComparer.Ordinal)).ConfigureAwait(false))
                {
                    case Staleness.Gone:
                        return Subject.Retry; // erased or merged away since the lookup
                    case Staleness.Replaced:
                        goto Decide;
                }
            }

            var now = engine._time.GetUtcNow();
            var target = plan.TargetProfileId is { } tid
                ? involved[tid]
                : new CustomerProfile("p_" + Guid.CreateVersion7(now).ToString("N"), now);
            return new Subject { Profile = target, Involved = involved, State = new EventState(plan, involved, returned is { Count: > 0 } ? returned : null) };
        }

        private enum Staleness
        {
            Current,
            Replaced,
            Gone,
        }

        /// <summary>
        /// Reads again every profile the decision read but the commit will not write (one whose identifiers are left
        /// unlinked as a conflict, or any, for a refusal) and not yet read in this attempt (<paramref name="readFresh"/>,
        /// which it fills). Only a commit checks versions, so a copy kept hot by this partition or process while another
        /// changed the profile (linked her returning email to it, in a cluster or a second partition) decided alone, and
        /// the event went in beside an erasure it should have met. An older copy is replaced in <paramref name="involved"/>
        /// by the one just read (<see cref="Staleness.Replaced"/>: decide again on it, without reading it a second time, as
        /// work that loads fresh does; starting the event over read it old again when the other engine kept writing it,
        /// review of session 48); one gone is <see cref="Staleness.Gone"/>. A store read per such profile, on those rarer
        /// paths only.
        /// </summary>
        private static async ValueTask<Staleness> ReadStaleAsync(OmnichannelEngine engine, HotProfiles hot, InvolvedProfiles involved, string? written, IReadOnlyList<(string ProfileId, Identifier CausedBy)>? absorbed, HashSet<string> readFresh)
        {
            var staleness = Staleness.Current;
            foreach (var id in involved.ToList())
            {
                if (id == written || (absorbed is not null && absorbed.Any(a => a.ProfileId == id)) || !readFresh.Add(id))
                {
                    continue;
                }

                // Compared by version: with no hot set (ProfileCacheSize 0) every read is a new object.
                var current = await engine.LoadAsync(id, hot, fresh: true).ConfigureAwait(false);
                if (current is null)
                {
                    return Staleness.Gone;
                }

                if (current.Version != involved[id].Version)
                {
                    involved.Add(id, current); // replaces the old copy
                    staleness = Staleness.Replaced;
                }
            }

            return staleness;
        }

        // Whether one of the event's identifiers is held through a link made after an erasure (LinkedIdentifier.ReturnedAfter),
        // and whether such a link is hers (review rv61): an identifier of a person, or a device or cookie on an event that
        // carries no other person's identifier. With his own identifier, the family iPad she used is his (audit U63), so an
        // order report through it is his too, not a report on her old order (audit U99's fact tombstones).
        private static (bool Returned, bool Hers) ReturnedLinks(OmnichannelEngine engine, ValidatedEvent v, IReadOnlyDictionary<Identifier, string> owners, InvolvedProfiles involved)
        {
            var any = false;
            for (var k = 0; k < v.Identifiers.Count && !any; k++)
            {
                any = IsReturned(v.Identifiers[k], owners, involved);
            }

            if (!any)
            {
                return (false, false); // the usual case, as cheap as before: no rule looked up
            }

            bool returnedPerson = false, otherPerson = false;
            for (var k = 0; k < v.Identifiers.Count; k++)
            {
                var id = v.Identifiers[k];
                var person = engine.IdentifiesPerson(id.Type);
                if (IsReturned(id, owners, involved))
                {
                    returnedPerson |= person;
                }
                else
                {
                    otherPerson |= person;
                }
            }

            return (true, returnedPerson || !otherPerson);
        }

        private static bool IsReturned(Identifier id, IReadOnlyDictionary<Identifier, string> owners, InvolvedProfiles involved)
        {
            if (!owners.TryGetValue(id, out var owner) || !involved.Contains(owner))
            {
                return false;
            }

            foreach (var held in involved[owner].IdentifierList) // no lambda: this runs for every known customer's event
            {
                if (held.ReturnedAfter is not null && held.Type == id.Type && held.Value == id.Value)
                {
                    return true;
                }
            }

            return false;
        }

        // The other read's outcome once the first failed: awaited so that its failure is observed, not reported.
        private static async ValueTask ObserveAsync<T>(ValueTask<T> read)
        {
            try
            {
                await read.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the first failure is the one the caller sees
            }
        }

        public override async ValueTask<ChangeEffect> ApplyAsync(OmnichannelEngine engine, Subject subject, DateTimeOffset now)
        {
            var e = v.Event;
            var target = subject.Profile!;
            var (plan, involved, returned) = (EventState)subject.State!;
            var options = engine._options;
            // Most events are a known customer's: no merge, no new identifier, and then no lists either.
            List<IdentifierClaim>? claims = null;
            List<AbsorbedProfile>? absorbed = null;
            foreach (var (otherId, causedBy) in plan.Absorb)
            {
                var other = involved[otherId];
                ProfileCore.Merge(target, other, new MergeRecord(otherId, causedBy, e.Id, $"both profiles hold {causedBy.Type} {engine.Mask(causedBy)}", now), options.TimelineLength, options.Currency, options.Measurement, options.MaxTraitsPerProfile, engine._softBounceRule);
                (absorbed ??= []).Add(new AbsorbedProfile(otherId, other.Version));
                foreach (var i in other.IdentifierList)
                {
                    (claims ??= []).Add(new IdentifierClaim(i.Identifier, otherId));
                }
            }

            if (absorbed is not null)
            {
                await engine.DropLiftedBouncesAsync(target).ConfigureAwait(false); // audit U89
                if (target.HasSuppressedAddresses)
                {
                    // Audit U98: an address of hers lifted while no profile held it, merged with the profile that reported
                    // its bounce before the lift (the link's case, when the address came to her through another profile).
                    foreach (var held in target.IdentifierList.ToArray())
                    {
                        await engine.DropLiftedBeforeLinkAsync(target, held.Identifier).ConfigureAwait(false);
                    }
                }
            }

            foreach (var id in plan.Link)
            {
                target.IdentifierList.Add(new LinkedIdentifier(id.Type, id.Value, now) { ReturnedAfter = returned?.TryGetValue(id, out var erasedAt) == true ? erasedAt : null });
                (claims ??= []).Add(new IdentifierClaim(id, null));
                await engine.DropLiftedBeforeLinkAsync(target, id).ConfigureAwait(false); // audit U98
            }

            // A provider's report on a message (delivered, bounced…) or an answer to one (opened, replied…) names the
            // address it went to or came from: stamping it would send her mail back to an address she has since replaced,
            // which may be a stranger's by now (a recycled number, her old work inbox).
            if (!ProfileCore.NamesAnAddressOfAMessage(e.Type))
            {
                ProfileCore.SeeAddresses(target, v.Identifiers, e.Timestamp);
            }

            foreach (var (id, other, reason) in plan.Conflicts)
            {
                ProfileCore.AddConflict(target, new IdentityConflict(id.Type, engine._hasher.Hash(id), other, e.Id, reason, now));
            }

            // A new profile is evaluated against every segment, so negative and absence conditions hold from its first event.
            var (changes, journeys) = await engine.ApplyEventAsync(
                target, e, now, everything: absorbed is not null || plan.TargetProfileId is null, merged: absorbed is not null, CancellationToken.None).ConfigureAwait(false);
            return new ChangeEffect
            {
                Changes = changes,
                Journeys = journeys,
                Outbox = journeys?.Outbox ?? (IReadOnlyList<OutboxEntry>)[],
                Claims = claims ?? (IReadOnlyList<IdentifierClaim>)[],
                Absorbed = absorbed ?? (IReadOnlyList<AbsorbedProfile>)[],
                EventId = e.Id,
                Result = plan,
            };
        }

        public override void Committed(OmnichannelEngine engine, CustomerProfile profile, ChangeEffect effect) =>
            engine.Report((ResolutionPlan)effect.Result!, profile.Id, v.Event);
    }

    /// <summary>Work on one profile found by id, following merges; finishes as gone when the profile was erased.</summary>
    /// <param name="profileId">The profile, or one it was merged into.</param>
    /// <param name="apply">The change.</param>
    /// <param name="fresh">
    /// For work that only reads: check the hot copy against the stored version first. A profile can be hot in two
    /// partitions (events route by identifier, this work by profile id); a write finds out through its commit's version
    /// check, and other work that ends up only reading is checked after it decided (the unit of work, audit U78).
    /// </param>
    private sealed class ProfileWork(string profileId, Func<CustomerProfile, DateTimeOffset, ValueTask<ChangeEffect>> apply, bool fresh = false) : ProfileChange
    {
        public string ProfileId => profileId;

        /// <summary>The work only reads, and checks the hot copy against the stored version.</summary>
        public bool Fresh => fresh;

        public override ValueTask<Subject> LoadAsync(OmnichannelEngine engine, HotProfiles hot) => LoadAsync(engine, hot, fresh);

        /// <summary>
        /// The live id the profile was found under just before the work ran (runs of profile work resolve the ids they
        /// group by); the first load uses it instead of reading it again, and reads it again when that profile is gone.
        /// </summary>
        public string? Resolved { get; set; }

        /// <summary>Loads the profile; <paramref name="checkStored"/> checks the hot copy against the stored version.</summary>
        public async ValueTask<Subject> LoadAsync(OmnichannelEngine engine, HotProfiles hot, bool checkStored)
        {
            if (Resolved is { } resolved)
            {
                Resolved = null;
                if (await engine.LoadAsync(resolved, hot, checkStored).ConfigureAwait(false) is { } known)
                {
                    return new Subject { Profile = known };
                }
            }

            var live = await engine._store.ResolveProfileIdAsync(profileId).ConfigureAwait(false);
            var p = live is null ? null : await engine.LoadAsync(live, hot, checkStored).ConfigureAwait(false);
            return p is null ? new Subject { Finished = UnitResult.Gone } : new Subject { Profile = p };
        }

        public override ValueTask<ChangeEffect> ApplyAsync(OmnichannelEngine engine, Subject subject, DateTimeOffset now) =>
            apply(subject.Profile!, now);
    }
}
