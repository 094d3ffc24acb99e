namespace Omnichannel.Sdk;

/// <summary>
/// The suppression list: hard bounces and soft-bounce runs hashed on the profile and written to the store's list around a
/// commit, lifts after it, and the checks planning and dispatch make against the profile and the list.
/// </summary>
public sealed partial class OmnichannelEngine
{
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

    // LiftErasureAsync on the profile that holds the address: its hard-bounce entries (plain or hashed under any key), a
    // soft-bounce run's record and the address's soft-bounce marks (so the next bounce starts a count afresh rather than
    // completing the old run), and the identifier's marks. True when anything was there.
    private bool LiftOnProfile(CustomerProfile p, Identifier id)
    {
        var changed = false;
        foreach (var channel in ChannelsOf(id.Type))
        {
            var hashes = _hasher.AllHashes(new Identifier(channel, id.Value));
            if (p.HasSuppressedAddresses)
            {
                changed |= p.SuppressedAddresses.RemoveAll(e => e == channel + ":" + id.Value || hashes.Any(h => e == SuppressionEntry(channel, h))) > 0;
            }

            if (p.HasSoftSuppressed)
            {
                changed |= p.SoftSuppressed.RemoveAll(m => m.Channel == channel && hashes.Contains(m.Address)) > 0;
            }

            if (p.HasSoftBounces)
            {
                changed |= p.SoftBounces.RemoveAll(m => m.Channel == channel && hashes.Contains(m.Address)) > 0;
            }

            var ids = p.IdentifierList;
            for (var k = 0; k < ids.Count; k++)
            {
                if (ids[k].Type == id.Type && ids[k].Value == id.Value && ids[k].IsSuppressedOn(channel))
                {
                    ids[k] = ids[k].WithoutSuppressionOn(channel);
                    changed = true;
                }
            }
        }

        return changed;
    }

    // Audit U89: a lift mark per channel the identifier is an address on, under each key its hashes are kept.
    private bool MarkLift(CustomerProfile p, Identifier id, DateTimeOffset now)
    {
        var marked = false;
        foreach (var channel in ChannelsOf(id.Type))
        {
            foreach (var hash in _hasher.AllHashes(new Identifier(channel, id.Value)))
            {
                ProfileCore.AddLiftMark(p, new SoftBounceMark(channel, hash, now));
                marked = true;
            }
        }

        return marked;
    }

    // Audit U89: after a merge, a hard-bounce entry of an address a host lifted is dropped unless the store's list holds the
    // address again. Every hard bounce lists its address on the store's list before its commit, and the lift took it off;
    // so an entry the list no longer holds was reported before the lift (by a profile of hers the lift could not find: a
    // profile keeps only the keyed hash of an address that is not hers), and one it holds is a bounce heard since. Without
    // this, a merge after the lift suppressed the address again (her mail skipped while IsSuppressedAsync said no), and a
    // merge before it did not: the answer depended on the order.
    internal async ValueTask DropLiftedBouncesAsync(CustomerProfile p)
    {
        if (!p.HasLiftMarks || !p.HasSuppressedAddresses)
        {
            return;
        }

        foreach (var mark in p.LiftMarks)
        {
            var entry = SuppressionEntry(mark.Channel, mark.Address);
            if (p.SuppressedAddresses.Contains(entry) && !await _store.IsSuppressedAsync(mark.Address).ConfigureAwait(false))
            {
                p.SuppressedAddresses.Remove(entry);
            }
        }
    }

    // Audit U98: the store-list entry that records a host's lift of an address (LiftErasureAsync), apart from the entries
    // that suppress it. "/" is in no identifier type or channel name; IsSuppressedAsync never reads it.
    private static Identifier LiftedMark(string channel, string address) => new("lifted/" + channel, address);

    // Audit U98: whether the store's list suppresses the address now (IsSuppressedAsync's answer, for a stored form).
    private async ValueTask<bool> ListedNowAsync(Identifier id)
    {
        if (await IsOnSuppressionListAsync(id, CancellationToken.None).ConfigureAwait(false))
        {
            return true;
        }

        foreach (var channel in ChannelsOf(id.Type))
        {
            if (await BouncedOnChannelAsync(channel, id.Value, CancellationToken.None).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    // Audit U98 (left alone by session 58, "U87's property in CI"): a bounce of an address heard on a profile that did not
    // hold it (a hard bounce, or a soft-bounce run's suppression, keyed by the address's hash), then the host's lift of the
    // address: the lift could not find that profile (no profile held the address, so no lift mark was written either).
    // When the address is later linked there (her sign-up), the profile refused mail to it while IsSuppressedAsync said no.
    // Now the lift leaves a mark on the store's list (LiftedMark), and a link of an address to a profile that suppresses it
    // drops that suppression (as the lift would have, had the profile held the address) when the address was lifted and
    // the list does not suppress it again: every bounce lists its address before its commit, so a suppression the list no
    // longer holds was heard before the lift, and one it holds (a bounce since, an erasure since) stays. A store that keeps
    // no list (SuppressAsync's default) keeps no mark either: nothing is dropped there (the safe side).
    internal async ValueTask DropLiftedBeforeLinkAsync(CustomerProfile p, Identifier id)
    {
        if (!p.HasSuppressedAddresses || ChannelsOf(id.Type) is not { Length: > 0 } channels)
        {
            return;
        }

        var held = false;
        var lifted = false;
        foreach (var channel in channels)
        {
            foreach (var hash in _hasher.AllHashes(new Identifier(channel, id.Value)))
            {
                held |= p.SuppressedAddresses.Contains(SuppressionEntry(channel, hash));
            }
        }

        if (!held)
        {
            return;
        }

        foreach (var channel in channels)
        {
            lifted |= await IsOnSuppressionListAsync(LiftedMark(channel, id.Value), CancellationToken.None).ConfigureAwait(false);
        }

        if (lifted && !await ListedNowAsync(id).ConfigureAwait(false))
        {
            LiftOnProfile(p, id);
        }
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
}
