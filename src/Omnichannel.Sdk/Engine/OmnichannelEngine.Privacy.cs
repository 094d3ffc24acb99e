namespace Omnichannel.Sdk;

/// <summary>Erasure, its lifting, and erasure tombstones at the door of every event (the suppression list: OmnichannelEngine.SuppressionList.cs).</summary>
public sealed partial class OmnichannelEngine
{
    /// <inheritdoc />
    public ValueTask<bool> EraseProfileAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        EraseProfileAsync(identifier, Privacy.EraseOptions.Default, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> EraseProfileAsync(Identifier identifier, Privacy.EraseOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfDisposed();
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity("omnichannel.erase");
        var attempts = Math.Max(100, _options.MaxCommitAttempts); // her events may still be pouring in: wait for a gap
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var profile = await GetProfileAsync(identifier, cancellationToken).ConfigureAwait(false);
            if (profile is null)
            {
                return false;
            }

            var erasure = Privacy.Erasure.Plan(profile, options, _hasher, _time.GetUtcNow(), _delivery.Channels);
            if (await _store.EraseProfileAsync(erasure, cancellationToken).ConfigureAwait(false))
            {
                LogErased(_logger, profile.Id, erasure.SuppressionHashes.Count, erasure.Tombstones.Count);
                _metrics.ProfilesErased.Add(1);
                ForgetHotCopies(profile.Id);
                ForgetAcceptedSends(profile);
                return true;
            }

            // The profile moved on since it was read (an event linked another identifier): read it again, so that
            // every identifier it holds now is on the tombstone; back off so a stream of her events leaves a gap.
            await CommitBackOffAsync(attempt).ConfigureAwait(false);
        }

        throw new InvalidOperationException(
            $"The profile kept changing while it was being erased ({attempts} attempts); nothing was erased. Erase it again.");
    }

    // Every partition drops its deserialised copy of her profile (two may hold one) once it finishes the work queued
    // before the erasure: the store's version check made a stale copy harmless, but it kept her values in memory until
    // evicted (audit U63). Nothing waits for it: a unit held at its commit may be what the erasure races (audit ER). A
    // full queue cannot take the mark: the worker then drops the copy before its next piece of work (dropping it ahead
    // of work queued earlier is safe: that work finds her gone in the store either way). A queue closed by disposal
    // keeps its copy until the engine goes.
    // Internal for the Orleans silos: the silo that erased tells the others holding her grains (their engines' copies).
    internal void ForgetHotCopies(string profileId)
    {
        for (var i = 0; i < _queues.Length; i++)
        {
            if (!_queues[i].Writer.TryWrite(new PartitionMark(i) { Forget = profileId }))
            {
                _hot[i].ForgetLater(profileId);
                _queues[i].Writer.TryWrite(new PartitionMark(i)); // wakes a worker that emptied the queue meanwhile; full, it is busy anyway
            }
        }
    }

    /// <summary>
    /// How many partitions hold a deserialised copy of the profile once they have finished the work queued now (tests;
    /// the copies are read while the engine is idle).
    /// </summary>
    internal async Task<int> HotCopiesOfAsync(string profileId)
    {
        await PartitionsPastAsync(CancellationToken.None).ConfigureAwait(false);
        return _hot.Count(h => h.Contains(profileId));
    }

    /// <summary>
    /// A partition's deserialised copy of the profile once the partitions have finished the work queued now, or null
    /// (tests; read while the engine is idle, never changed).
    /// </summary>
    internal async Task<CustomerProfile?> HotCopyOfAsync(string profileId)
    {
        await PartitionsPastAsync(CancellationToken.None).ConfigureAwait(false);
        return _hot.Select(h => h.Peek(profileId)).FirstOrDefault(p => p is not null);
    }

    /// <inheritdoc />
    public async ValueTask<bool> LiftErasureAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        if (Normalize(identifier, asStored: true) is not { } id)
        {
            return false;
        }

        IEnumerable<string> hashes = _hasher.AllHashes(id);
        if (id.Type == IdentifierTypes.Phone)
        {
            // Its hard bounces are listed per channel (ListedBounce).
            hashes = hashes.Concat(_hasher.AllHashes(new Identifier(ChannelNames.Sms, id.Value))).Concat(_hasher.AllHashes(new Identifier(ChannelNames.WhatsApp, id.Value)));
        }

        foreach (var channel in ChannelsOf(id.Type))
        {
            hashes = hashes.Concat(_hasher.AllHashes(SoftListed(channel, id.Value))); // audit U84: a soft-bounce run's entry
        }

        var lifted = await _store.LiftErasureAsync([.. hashes], cancellationToken).ConfigureAwait(false) > 0;
        if (lifted && ChannelsOf(id.Type) is { Length: > 0 } addressOn)
        {
            // Audit U98: the lift is marked on the store's list, so that a profile which reported the address's bounce
            // before it, holding only its hash, drops that suppression when the address is linked to it later
            // (DropLiftedBeforeLinkAsync). A keyed hash, as every entry there.
            await _store.SuppressAsync([.. addressOn.Select(c => _hasher.Hash(LiftedMark(c, id.Value)))], cancellationToken).ConfigureAwait(false);
        }

        // Her own profile's entries (a hard bounce of hers, a soft-bounce run) go too, so that messages to the address are
        // sent again as promised: the store's entry alone left her profile refusing them while IsSuppressedAsync said no.
        // Another person's profile that reported the address keeps its entry (it is not found from the address).
        if ((await _store.ResolveIdentifiersAsync([id], cancellationToken).ConfigureAwait(false)).TryGetValue(id, out var owner))
        {
            var onProfile = false;
            var listed = lifted;
            var unit = await EnqueueProfileWork(owner, (p, now) =>
            {
                onProfile = LiftOnProfile(p, id);
                // Audit U89: the lift is remembered on her profile, so that another profile of hers that reported the
                // address's bounce before it (her visitor's cookie) does not suppress it again when it is merged in.
                var marked = (listed || onProfile) && MarkLift(p, id, now);
                return ValueTask.FromResult(onProfile || marked ? new ChangeEffect() : new ChangeEffect { ReadOnly = true });
            }, cancellationToken).ConfigureAwait(false);
            if (unit is null or { Status: not (UnitStatus.Committed or UnitStatus.Finished or UnitStatus.Gone) })
            {
                throw new InvalidOperationException("The lift could not be recorded on her profile; the store kept failing. It is safe to call it again.");
            }

            lifted |= onProfile && unit.Status == UnitStatus.Committed;
        }

        if (lifted)
        {
            LogErasureLifted(_logger, id.Type, _hasher.Mask(id));
        }

        return lifted;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Normalize(identifier, asStored: true) is not { } id)
        {
            return false;
        }

        if (await IsOnSuppressionListAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        foreach (var channel in ChannelsOf(id.Type))
        {
            if (await BouncedOnChannelAsync(channel, id.Value, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The refusal for an event that carries an erased person's identifier (or one of her event ids), else
    /// <see langword="null"/>. Only identifiers nobody holds are looked up: an erased identifier is in no profile.
    /// </summary>
    /// <param name="v">The event.</param>
    /// <param name="owners">The owners of its identifiers.</param>
    /// <param name="returned">
    /// Filled with each identifier of an erased person who may come back (<see cref="Privacy.EraseOptions.AllowReturn"/>) that this
    /// event brings back, and the time of its erasure: the identifier is linked with it (<see cref="LinkedIdentifier.ReturnedAfter"/>)
    /// so that a replay dated before the erasure stays out once she is back.
    /// </param>
    private async ValueTask<TrackResult?> RefusedAsErasedAsync(ValidatedEvent v, IReadOnlyDictionary<Identifier, string> owners, Dictionary<Identifier, DateTimeOffset> returned)
    {
        var e = v.Event;
        var byHash = new Dictionary<string, string>(StringComparer.Ordinal);
        var identifierOf = new Dictionary<string, Identifier>(StringComparer.Ordinal);
        foreach (var id in v.Identifiers)
        {
            if (!owners.ContainsKey(id))
            {
                foreach (var h in _hasher.AllHashes(id))
                {
                    byHash[h] = id.Type;
                    identifierOf[h] = id;
                }
            }
        }

        foreach (var h in _hasher.AllEventHashes(e.Id))
        {
            byHash[h] = "\0event";
        }

        foreach (var fact in Privacy.Erasure.FactKeysOf(e))
        {
            foreach (var h in _hasher.AllFactHashes(fact))
            {
                byHash[h] = "\0fact"; // audit U99: a report on an order (a points transaction, a referral) of hers
            }
        }

        var found = await _store.FindTombstonesAsync(byHash.Keys).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return null;
        }

        // A tombstoned identifier that names no person (a shared device, a cookie) does not refuse an event that also
        // carries a person's identifier of its own: the family iPad she used must not lock out the next person on it.
        var tombstonedTypes = found.Select(t => byHash[t.Hash]).ToHashSet(StringComparer.Ordinal);
        var anotherPerson = v.Identifiers.Any(id => IdentifiesPerson(id.Type) && !tombstonedTypes.Contains(id.Type));
        // Audit U99: an order (a points transaction, a referral) of the erased person is refused only on an event that also
        // carries an identifier of hers: another shop's numbering may give a new customer the same order id.
        // Review rv61: a device or cookie of hers that comes with another person's identifier is his (the family iPad, above),
        // so it does not make the order hers either.
        var hers = found.Any(t => byHash[t.Hash] is var type && type is not ("\0event" or "\0fact") && (IdentifiesPerson(type) || !anotherPerson));
        var errors = new List<ValidationError>();
        foreach (var t in found)
        {
            var type = byHash[t.Hash];
            if (type == "\0fact" && !hers)
            {
                continue;
            }

            if (type is not ("\0event" or "\0fact") && anotherPerson && !IdentifiesPerson(type))
            {
                // Linked to the other person, but marked with the erasure's time (as a returning identifier is): her own
                // events through the device or cookie, queued before the erasure or retried, stay out of his profile.
                var device = identifierOf[t.Hash];
                returned[device] = returned.TryGetValue(device, out var marked) && marked > t.ErasedAt ? marked : t.ErasedAt;
                continue;
            }

            if (type == "\0event")
            {
                errors.Add(new ValidationError("id", $"the event id belonged to a profile erased at {t.ErasedAt:O}; its history stays erased"));
            }
            else if (type == "\0fact")
            {
                errors.Add(FactErased(e, t.ErasedAt));
            }
            else if (t.AllowsReturn && e.Timestamp > t.ErasedAt && !IsReportOnAMessage(e.Type))
            {
                var id = identifierOf[t.Hash];
                returned[id] = returned.TryGetValue(id, out var known) && known > t.ErasedAt ? known : t.ErasedAt;
            }
            else
            {
                errors.Add(new ValidationError("identifiers", t.AllowsReturn
                    ? e.Timestamp > t.ErasedAt
                        ? $"the {type} belongs to a person erased at {t.ErasedAt:O} and the event reports on a message sent before that, which does not bring her back"
                        : $"the {type} belongs to a person erased at {t.ErasedAt:O} and the event is dated before that (a replay or an event queued before the erasure)"
                    : $"the {type} belongs to a person erased at {t.ErasedAt:O}; the host may lift the erasure with LiftErasureAsync if she asks to come back"));
            }
        }

        if (errors.Count == 0)
        {
            return null;
        }

        _metrics.EventsRefusedAsErased.Add(1);
        return new TrackResult { EventId = e.Id, Status = TrackStatus.Erased, Errors = errors };
    }

    /// <summary>
    /// The refusal for an event dated at or before the erasure of an identifier that came back after it
    /// (<see cref="LinkedIdentifier.ReturnedAfter"/>), else <see langword="null"/>. Tombstones are looked up only for
    /// identifiers nobody holds, so once she had signed up again a replay of her erased history (an old consent grant
    /// among it) was taken onto her new profile.
    /// </summary>
    private TrackResult? RefusedAsBeforeReturn(ValidatedEvent v, IReadOnlyDictionary<Identifier, string> owners, InvolvedProfiles involved)
    {
        var e = v.Event;
        List<(Identifier Id, DateTimeOffset ErasedAt)>? before = null;
        for (var k = 0; k < v.Identifiers.Count; k++)
        {
            var id = v.Identifiers[k];
            if (!owners.TryGetValue(id, out var owner) || !involved.Contains(owner))
            {
                continue;
            }

            foreach (var held in involved[owner].IdentifierList) // no lambda: this runs for every known customer's event
            {
                if (held.ReturnedAfter is { } erasedAt && e.Timestamp <= erasedAt && held.Type == id.Type && held.Value == id.Value)
                {
                    (before ??= []).Add((id, erasedAt));
                }
            }
        }

        return before is null ? null : RefusedAsBeforeReturn(v, before);
    }

    /// <summary>
    /// The refusal for an event whose id an erasure tombstoned, else <see langword="null"/>: looked up for events through a
    /// link made after an erasure (<see cref="LinkedIdentifier.ReturnedAfter"/>), whose date alone does not tell her
    /// retried event (stamped after the erasure by a client clock ahead, or at each attempt) from a new one. With
    /// <paramref name="facts"/> (the link is hers: see ReturnedLinks), also for an event reporting on an order, points
    /// transaction or referral she had (audit U99).
    /// </summary>
    private async ValueTask<TrackResult?> RefusedAsErasedEventAsync(ValidatedEvent v, bool facts)
    {
        var e = v.Event;
        var eventHashes = _hasher.AllEventHashes(e.Id);
        IReadOnlyCollection<string> hashes = eventHashes;
        foreach (var fact in facts ? Privacy.Erasure.FactKeysOf(e) : Enumerable.Empty<string>())
        {
            hashes = [.. hashes, .. _hasher.AllFactHashes(fact)]; // audit U99: a report on an order of hers from before
        }

        var found = await _store.FindTombstonesAsync(hashes).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return null;
        }

        _metrics.EventsRefusedAsErased.Add(1);
        var byEventId = found.FirstOrDefault(t => eventHashes.Contains(t.Hash, StringComparer.Ordinal));
        return new TrackResult
        {
            EventId = e.Id,
            Status = TrackStatus.Erased,
            Errors = [byEventId is not null
                ? new ValidationError("id", $"the event id belonged to a profile erased at {byEventId.ErasedAt:O}; its history stays erased")
                : FactErased(e, found[0].ErasedAt)],
        };
    }

    // Audit U99: a shop's report on an order, points transaction or referral the erased profile had (its key's hash is a
    // tombstone): about her life before the erasure, so it neither brings her back nor reaches the profile she has since.
    private static ValidationError FactErased(CustomerEvent e, DateTimeOffset erasedAt) => new(
        e.Type.StartsWith("order.", StringComparison.Ordinal) ? "properties.order_id" : "properties",
        $"the {(e.Type.StartsWith("order.", StringComparison.Ordinal) ? "order" : "transaction")} belonged to a profile erased at {erasedAt:O}; reports on it stay erased");

    // Apart from the check that runs on every known customer's event: its lambdas' closure is made on entry.
    private TrackResult? RefusedAsBeforeReturn(ValidatedEvent v, List<(Identifier Id, DateTimeOffset ErasedAt)> before)
    {
        var e = v.Event;

        // As for tombstones: a device or cookie that names no person does not refuse another person's own event.
        var types = before.Select(b => b.Id.Type).ToHashSet(StringComparer.Ordinal);
        var anotherPerson = v.Identifiers.Any(id => IdentifiesPerson(id.Type) && !types.Contains(id.Type));
        var errors = before
            .Where(b => !anotherPerson || IdentifiesPerson(b.Id.Type))
            .Select(b => new ValidationError("identifiers", $"the {b.Id.Type} belongs to a person erased at {b.ErasedAt:O} and the event is dated before that (a replay or an event queued before the erasure)"))
            .ToList();
        return errors.Count == 0 ? null : new TrackResult { EventId = e.Id, Status = TrackStatus.Erased, Errors = errors };
    }

    // A provider's report on a message (delivered, opened, clicked, bounced, complained, unsubscribed…) carrying an erased
    // identifier nobody holds is about a message sent before her erasure: every address of hers is suppressed from then
    // on. It is not her coming back (AllowReturn), and taken as such it re-created her profile with the old message's touch.
    // A reply she writes is her own act, and may bring her back.
    private static bool IsReportOnAMessage(string type) => ProfileCore.NamesAnAddressOfAMessage(type) && type != EventTypes.MessageReplied;

    private bool IdentifiesPerson(string type) => !_options.Identity.Rules.TryGetValue(type, out var rule) || rule.IdentifiesPerson;
}
