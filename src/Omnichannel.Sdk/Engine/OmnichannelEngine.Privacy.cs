namespace Omnichannel.Sdk;

/// <summary>Erasure, its lifting, the suppression list, and erasure tombstones at the door of every event.</summary>
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

            var erasure = Privacy.Erasure.Plan(profile, options, _hasher, _time.GetUtcNow());
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

        var lifted = await _store.LiftErasureAsync([.. hashes], cancellationToken).ConfigureAwait(false);
        if (lifted > 0)
        {
            LogErasureLifted(_logger, id.Type, _hasher.Mask(id));
        }

        return lifted > 0;
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

    // The channels an identifier type is the address of (audit U84: its soft-bounce entries are per channel).
    private static string[] ChannelsOf(string type) => type switch
    {
        IdentifierTypes.Email => EmailChannels,
        IdentifierTypes.Phone => PhoneChannels,
        IdentifierTypes.DeviceId => DeviceChannels,
        _ when Privacy.Erasure.DeliveryAddressType(type) => [type],
        _ => [],
    };

    // A hard bounce suppresses its address on the profile that reported it, and that address may be another person's:
    // the profile keeps "channel:#" and the address's keyed hash, so erasing that person leaves nothing readable here.
    // Core code adds "channel:address"; every commit turns it (and any entry from before hashing) into the hashed form.
    // Returns the suppression-list hashes of the addresses so hashed (new hard bounces), or null.
    private List<string>? HashSuppressedAddresses(CustomerProfile p)
    {
        List<string>? reported = null;
        var list = p.SuppressedAddresses;
        for (var i = 0; i < list.Count; i++)
        {
            var entry = list[i];
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || IsHashedAddress(entry.AsSpan(colon + 1)))
            {
                continue;
            }

            if (Delivery.DeliveryPlanner.AddressIdentifier(entry[..colon], entry[(colon + 1)..]) is { } address && Normalize(address, asStored: true) is { } normalized)
            {
                (reported ??= []).Add(_hasher.Hash(ListedBounce(entry[..colon], normalized)));
            }

            var entryHash = _hasher.Hash(new Identifier(entry[..colon], entry[(colon + 1)..]));
            var hashed = SuppressionEntry(entry[..colon], entryHash);
            if (p.HasSoftSuppressed)
            {
                // Audit U84: a hard bounce of an address a soft-bounce run suppressed makes it final (no delivery lifts it).
                p.SoftSuppressed.RemoveAll(m => m.Channel == entry[..colon] && m.Address == entryHash);
            }

            if (list.Contains(hashed))
            {
                list.RemoveAt(i--);
            }
            else
            {
                list[i] = hashed;
            }
        }

        // Audit U68: a set, kept in ordinal order, so the stored document and the export do not depend on which bounce
        // arrived (or which profile was merged) first.
        for (var i = 1; i < list.Count; i++)
        {
            if (string.CompareOrdinal(list[i - 1], list[i]) > 0)
            {
                list.Sort(StringComparer.Ordinal);
                break;
            }
        }

        // Audit U73: the soft bounces of an address now suppressed are done with, whichever came first (a merge, a hard
        // bounce reported before or after them, the soft bounces' own run).
        if (p.HasSoftBounces)
        {
            // Audit U84: except an address a run suppressed: its marks are what a later delivery is read against.
            p.SoftBounces.RemoveAll(m => list.BinarySearch(SuppressionEntry(m.Channel, m.Address), StringComparer.Ordinal) >= 0
                && !(p.HasSoftSuppressed && p.SoftSuppressed.Exists(s => s.Channel == m.Channel && s.Address == m.Address)));
        }

        return reported;
    }

    // Before a commit: the store's list gets the profile's new hard bounces (SuppressReportedAsync) and, audit U84, the
    // addresses its soft-bounce runs suppressed, under their own key (SoftListed). Audit U86: a lift is NOT written here.
    // Written before the commit, a lift whose commit then failed (a store fault, a conflict whose retry decides otherwise,
    // giving up) left the address off the store's list while the stored profile still suppressed it: IsSuppressedAsync
    // answered false and every reader of the store's list let mail to it through, until a retry that might never come.
    // Each address's last change in the unit decides (a run, a lift, a run again is listed); the lifts are returned and
    // taken off only after the commit is durable (LiftAfterCommitAsync). A listing stays before the commit: a commit that
    // then fails leaves the address suppressed, the safe side.
    private async ValueTask<List<Identifier>?> SyncSuppressionListAsync(CustomerProfile p)
    {
        if (p.HasSuppressedAddresses)
        {
            await SuppressReportedAsync(HashSuppressedAddresses(p)).ConfigureAwait(false);
        }

        List<Identifier>? lifts = null;
        if (p.SoftListChanges is { } changes)
        {
            p.SoftListChanges = null;
            for (var i = 0; i < changes.Count; i++)
            {
                var (channel, address, listed) = changes[i];
                if (changes.FindLastIndex(c => c.Channel == channel && c.Address == address) != i)
                {
                    continue; // a later change of the same address in this unit decides
                }

                var value = Delivery.DeliveryPlanner.AddressIdentifier(channel, address) is { } id && Normalize(id, asStored: true) is { } normalized ? normalized.Value : address;
                if (listed)
                {
                    await _store.SuppressAsync([_hasher.Hash(SoftListed(channel, value))]).ConfigureAwait(false);
                }
                else
                {
                    (lifts ??= []).Add(SoftListed(channel, value));
                }
            }
        }

        return lifts;
    }

    // Review of U87: whether this unit's commit puts an entry on the store's suppression list (a new hard bounce, a
    // soft-bounce run's suppression). Such an entry is written before the commit and stays whatever becomes of the commit
    // (the safe side), so it must be worked out on the stored version (ListsFromOlderCopyAsync).
    private static bool ListsOnCommit(CustomerProfile p)
    {
        if (p.SoftListChanges is { } changes && changes.Exists(static c => c.Listed))
        {
            return true;
        }

        if (!p.HasSuppressedAddresses)
        {
            return false;
        }

        foreach (var entry in p.SuppressedAddresses)
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !IsHashedAddress(entry.AsSpan(colon + 1)))
            {
                return true;
            }
        }

        return false;
    }

    // Review of U87 (CI's seed 16311535047940462920,6836943071849522499): a unit that lists was worked out on a hot copy
    // older than the stored one (another partition or engine had written her since: the record of the send a hard bounce
    // named). Not knowing where the message went, the copy placed the bounce at her number then; that number was listed,
    // the commit conflicted, and the retry suppressed the number the message went to, leaving the first listed with no
    // profile suppressing it. Taking a listing back after a refused commit is no cure: another unit may have listed the
    // same entry meanwhile, and the address would be let through. So a unit that lists reads the stored version first (one
    // read, for the rare unit that lists) and starts again on it when its copy is older. A profile this unit creates
    // (version 0) has no stored version to be behind.
    // Review of the U87 CI fixes: the profiles the unit absorbs too. A merge's target was read fresh, but an absorbed copy
    // kept hot while another engine recorded the send a bounce named placed the bounce at her newest number; it was listed,
    // the commit's version check refused the absorbed copy, and the retry suppressed the number the text went to.
    private async ValueTask<bool> ListsFromOlderCopyAsync(CustomerProfile p, HotProfiles hot, IReadOnlyList<Storage.AbsorbedProfile>? absorbed = null)
    {
        if (!ListsOnCommit(p))
        {
            return false;
        }

        if (p.Version > 0 && await StoredIsNewerAsync(p, hot).ConfigureAwait(false))
        {
            return true;
        }

        foreach (var a in absorbed ?? [])
        {
            if (await LoadAsync(a.ProfileId, hot, fresh: true).ConfigureAwait(false) is not { } current || current.Version != a.ExpectedVersion)
            {
                return true; // merged away, erased or written since: the retry reads it again
            }
        }

        return false;
    }

    // Audit U86: the soft-bounce lifts of a unit whose commit is durable. A store fault here leaves the entry listed (the
    // safe side: the address stays suppressed until LiftErasureAsync or the next lift of it); the commit stands, so the
    // work is not failed for it.
    private async ValueTask LiftAfterCommitAsync(List<Identifier>? lifts)
    {
        if (lifts is null)
        {
            return;
        }

        foreach (var listed in lifts)
        {
            try
            {
                await _store.LiftErasureAsync(_hasher.AllHashes(listed)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
            {
                LogSoftLiftFailed(_logger, Privacy.ScrubbedException.Of(ex), listed.Type);
            }
        }
    }

    // The channel only (the identifier's type is "soft-bounce/{channel}"): the address is personal data.
    [Microsoft.Extensions.Logging.LoggerMessage(401, Microsoft.Extensions.Logging.LogLevel.Warning, "A soft-bounce suppression lifted by a committed change could not be taken off the store's list ({ListKey}); the address stays suppressed until it is lifted again")]
    private static partial void LogSoftLiftFailed(Microsoft.Extensions.Logging.ILogger logger, Exception exception, string listKey);

    // Audit U84: the store-list entry of a soft-bounce run's suppression, apart from the address's own (a hard bounce, an
    // erasure), so that a later delivery can take it off. "/" is in no identifier type or channel name.
    private static Identifier SoftListed(string channel, string address) => new("soft-bounce/" + channel, address);

    // A hard bounce names an address, whoever's profile the report resolved to (her cookie's, before the profile holding
    // the address is linked to it): the address goes on the store's suppression list too, which planning and dispatch
    // read for every profile, as mailbox providers keep one list per address. Written before the commit: a commit that
    // then fails leaves the address suppressed, the safe side. LiftErasureAsync removes it.
    private async ValueTask SuppressReportedAsync(List<string>? hashes)
    {
        if (hashes is { Count: > 0 })
        {
            await _store.SuppressAsync(hashes).ConfigureAwait(false);
        }
    }

    // The store-list entry of a hard bounce: the address as an identifier, except a phone, listed with its channel ("sms"
    // or "whatsapp" as the type): an SMS bounce (a landline) leaves WhatsApp reachable, as on the profile.
    private static Identifier ListedBounce(string channel, Identifier address) =>
        address.Type == IdentifierTypes.Phone ? new Identifier(channel, address.Value) : address;

    // Whether a phone's hard bounce on an SMS or WhatsApp channel is on the store's list (other channels: false; their
    // bounces are listed under the address itself, which the callers look up).
    // Audit U84: or the address is listed as suppressed by a soft-bounce run on that channel (any channel).
    private async ValueTask<bool> BouncedOnChannelAsync(string channel, string address, CancellationToken cancellationToken) =>
        (channel is ChannelNames.Sms or ChannelNames.WhatsApp
            && await IsOnSuppressionListAsync(new Identifier(channel, address), cancellationToken).ConfigureAwait(false))
        || await IsOnSuppressionListAsync(SoftListed(channel, address), cancellationToken).ConfigureAwait(false);

    private static readonly string[] EmailChannels = [ChannelNames.Email];
    private static readonly string[] PhoneChannels = [ChannelNames.Sms, ChannelNames.WhatsApp];
    private static readonly string[] DeviceChannels = [ChannelNames.Push];

    /// <summary>
    /// Marks the profile's own addresses that its hard bounces suppressed (<see cref="LinkedIdentifier.SuppressedOn"/>),
    /// whichever came first, the bounce or the address (linked later, or brought by a merge).
    /// </summary>
    private void MarkSuppressedIdentifiers(CustomerProfile p)
    {
        if (!p.HasSuppressedAddresses)
        {
            return; // nothing to mark (and no array per custom-channel id on every commit)
        }

        var list = p.IdentifierList;
        for (var i = 0; i < list.Count; i++)
        {
            var id = list[i];
            var channels = id.Type switch
            {
                IdentifierTypes.Email => EmailChannels,
                IdentifierTypes.Phone => PhoneChannels,
                IdentifierTypes.DeviceId => DeviceChannels, // a push token the provider called gone (APNs 410, FCM unregistered)
                // Audit U72: a custom channel's id (line) is its address there; unmarked, the planner kept choosing a
                // bounced LINE id over her other one. A host type that is no channel is never bounced on.
                var type when Privacy.Erasure.DeliveryAddressType(type) => [type],
                _ => [],
            };
            foreach (var channel in channels)
            {
                if (!id.IsSuppressedOn(channel) && IsSuppressedOnProfile(p, channel, id.Value))
                {
                    list[i] = id = id with { SuppressedOn = id.SuppressedOn is { } on ? on + "," + channel : channel };
                }
            }
        }
    }

    /// <summary>Whether the profile itself suppresses the address (a hard bounce it reported), under any hash key.</summary>
    private bool IsSuppressedOnProfile(CustomerProfile p, string channel, string address)
    {
        if (!p.HasSuppressedAddresses)
        {
            return false;
        }

        if (p.SuppressedAddresses.Contains(channel + ":" + address))
        {
            return true;
        }

        foreach (var hash in _hasher.AllHashes(new Identifier(channel, address)))
        {
            if (p.SuppressedAddresses.Contains(SuppressionEntry(channel, hash)))
            {
                return true;
            }
        }

        return false;
    }

    private static string SuppressionEntry(string channel, string hash) => channel + ":#" + hash;

    // "#" and 64 lowercase hex digits (an HMAC-SHA256): no address of any channel is spelled that way.
    private static bool IsHashedAddress(ReadOnlySpan<char> value) =>
        value.Length == 65 && value[0] == '#' && !value[1..].ContainsAnyExcept("0123456789abcdef");

    /// <summary>Whether a normalised identifier is on the suppression list, under the current key or a previous one.</summary>
    private ValueTask<bool> IsOnSuppressionListAsync(Identifier id, CancellationToken cancellationToken) =>
        IsOnSuppressionListAsync(_hasher.AllHashes(id), cancellationToken);

    /// <summary>Whether any of an identifier's keyed hashes (<see cref="Privacy.IdentifierHasher.AllHashes"/>) is on the suppression list.</summary>
    private async ValueTask<bool> IsOnSuppressionListAsync(IReadOnlyList<string> hashes, CancellationToken cancellationToken)
    {
        foreach (var hash in hashes)
        {
            if (await _store.IsSuppressedAsync(hash, cancellationToken).ConfigureAwait(false))
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

        var found = await _store.FindTombstonesAsync(byHash.Keys).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return null;
        }

        // A tombstoned identifier that names no person (a shared device, a cookie) does not refuse an event that also
        // carries a person's identifier of its own: the family iPad she used must not lock out the next person on it.
        var tombstonedTypes = found.Select(t => byHash[t.Hash]).ToHashSet(StringComparer.Ordinal);
        var anotherPerson = v.Identifiers.Any(id => IdentifiesPerson(id.Type) && !tombstonedTypes.Contains(id.Type));
        var errors = new List<ValidationError>();
        foreach (var t in found)
        {
            var type = byHash[t.Hash];
            if (type != "\0event" && anotherPerson && !IdentifiesPerson(type))
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
    /// retried event (stamped after the erasure by a client clock ahead, or at each attempt) from a new one.
    /// </summary>
    private async ValueTask<TrackResult?> RefusedAsErasedEventAsync(ValidatedEvent v)
    {
        var e = v.Event;
        var found = await _store.FindTombstonesAsync(_hasher.AllEventHashes(e.Id)).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return null;
        }

        _metrics.EventsRefusedAsErased.Add(1);
        return new TrackResult
        {
            EventId = e.Id,
            Status = TrackStatus.Erased,
            Errors = [new ValidationError("id", $"the event id belonged to a profile erased at {found[0].ErasedAt:O}; its history stays erased")],
        };
    }

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
