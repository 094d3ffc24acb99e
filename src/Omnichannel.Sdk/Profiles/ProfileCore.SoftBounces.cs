namespace Omnichannel.Sdk;

/// <summary>
/// A soft bounce of an address on a channel: <paramref name="Address"/> is the keyed hash of the channel and the address
/// (the address may be another person's, so it is never kept in plain text); <paramref name="MessageId"/> the message it
/// was about, when named.
/// </summary>
internal sealed record SoftBounceMark(string Channel, string Address, DateTimeOffset At, string? MessageId = null);

/// <summary>
/// <see cref="Delivery.DeliveryOptions.SoftBounceLimit"/> and <see cref="Delivery.DeliveryOptions.SoftBounceWindow"/>, and
/// the engine's keyed hash of a channel and an address.
/// </summary>
internal sealed record SoftBounceRule(int Limit, TimeSpan Window, Func<string, string, string> Hash);

// Audit U73: soft bounces add up. An address that soft-bounces again and again (a mailbox full for good, a number nobody
// answers) was tried forever (Notifuse/notifuse#323, knadh/listmonk#991, astrobin/astrobin#1672). SoftBounceLimit of
// them in a row — no delivery, open or click of a message on that channel to that address in between, read from the
// profile's touches — within SoftBounceWindow suppress the address on that channel as a hard bounce does (Suppress: the
// profile's list, then the store's list on commit, a phone per channel).
internal static partial class ProfileCore
{
    /// <summary>Most soft-bounce marks a profile keeps (<see cref="CustomerProfile.SoftBounces"/>): the oldest go first.</summary>
    internal const int MaxSoftBounceMarks = 200;

    private static void CountSoftBounce(CustomerProfile p, CustomerEvent e, string channel, SoftBounceRule rule)
    {
        if (rule.Limit < 1)
        {
            return;
        }

        var address = OutcomeProperties.BouncedAddress(p, e, channel) ?? AddressOfKnownMessageEvenSuppressed(p, e, channel);
        if (address is null)
        {
            if (WellKnownProperties.String(e.Properties, "message_id") is { } unknownKey)
            {
                // Audit U81: a message this profile does not know (the host's key, posted under a profile of hers not
                // linked yet), as a hard bounce so named waits (PendingBounces): it counts when a merge brings the message.
                AddPendingSoftBounce(p, channel, PendingByMessageKey + unknownKey, e.Timestamp, rule);
            }
            else if (WellKnownProperties.String(e.Properties, "provider_message_id") is { Length: > 0 } providerId)
            {
                AddPendingSoftBounce(p, channel, PendingByProviderId + providerId, e.Timestamp, rule); // audit U80: the send's record may come later
            }

            return;
        }

        var hash = rule.Hash(channel, address);
        if (IsHardSuppressed(p, channel, address, hash))
        {
            return; // suppressed already (a hard bounce): nothing to count
        }

        var key = WellKnownProperties.String(e.Properties, "message_id");
        var marks = p.SoftBounces;
        var known = key is null ? -1 : marks.FindIndex(m => m.Channel == channel && m.Address == hash && m.MessageId == key);
        if (known >= 0)
        {
            // The same message's bounce again (a webhook retried, or sent by two systems): one bounce, at its earliest report.
            if (e.Timestamp < marks[known].At)
            {
                marks[known] = marks[known] with { At = e.Timestamp };
            }
        }
        else
        {
            marks.Add(new SoftBounceMark(channel, hash, e.Timestamp, key));
        }

        SortSoftBounces(marks);

        // Review of U73: the run is looked for among all the kept bounces of the address, not only those in the window of
        // the newest, and a bounce is never let go for being older than the newest: a report of long ago that arrived
        // first had every earlier run's bounces pruned as they came, so the same reports suppressed in one arrival order
        // and not in another.
        // Audit U84: the marks are kept after the run suppresses (a later delivery reads them to end it), and the run is
        // looked for among the bounces after her newest reach of the address only.
        if (SoftRunHolds(marks, channel, hash, ReachTimes(p, channel, hash, a => a == address), rule) is { } runEnd)
        {
            SoftSuppress(p, channel, address, hash, runEnd);
        }

        if (marks.Count > MaxSoftBounceMarks)
        {
            marks.RemoveRange(0, marks.Count - MaxSoftBounceMarks);
        }
    }

    // Audit U84: a message she was sent whose touch kept no address (trimmed past the attribution window and placed again
    // by a report) went to her address on the channel, which a soft-bounce run may have suppressed since: the planner then
    // passes it over, and the bounce, found no address, waited as one about an unknown message, so a bounce arriving after
    // the run counted nothing where the same bounce arriving before it counted. The newest of her addresses there,
    // suppressed or not (as the planner orders them).
    private static string? AddressOfKnownMessageEvenSuppressed(CustomerProfile p, CustomerEvent e, string channel)
    {
        if (WellKnownProperties.String(e.Properties, "message_id") is not { } key
            || (Measurement.Touch.IndexOf(p.Touches, key) < 0 && !p.MessageKeys.Contains(key))
            || (OutcomeProperties.AddressType(channel) ?? (channel is ChannelNames.InApp or ChannelNames.Webhook or ChannelNames.Host ? null : channel)) is not { } type)
        {
            return null;
        }

        return NewestAddress(p, type);
    }

    private static string? NewestOnChannel(CustomerProfile p, string channel) =>
        (OutcomeProperties.AddressType(channel) ?? (channel is ChannelNames.InApp or ChannelNames.Webhook or ChannelNames.Host ? null : channel)) is { } type
            ? NewestAddress(p, type) : null;

    // Her newest identifier of the type (last seen, then linked; ordinal on a tie), suppressed or not.
    private static string? NewestAddress(CustomerProfile p, string type)
    {
        LinkedIdentifier? best = null;
        foreach (var i in p.IdentifierList)
        {
            if (i.Type == type && (best is null || (i.LastSeen ?? i.LinkedAt).CompareTo(best.LastSeen ?? best.LinkedAt) is var c && (c > 0 || (c == 0 && string.CompareOrdinal(i.Value, best.Value) > 0))))
            {
                best = i;
            }
        }

        return best?.Value;
    }

    // Audit U80: a soft bounce naming only the provider's id (provider_message_id) of a message the profile does not know
    // yet — the status callback came before the send was recorded with that id (twilio-labs/twilio-firebase-extensions#21,
    // botpress/botpress#15029), or it was posted on a profile of hers not linked yet. It counted nothing, where the same
    // report after the record counted toward SoftBounceLimit. It is kept as a mark whose address is
    // "provider/{id}" (never a keyed hash: those are lowercase hex), at its own time, one per id (the
    // earliest report), until ResolvePendingSoftBounces finds the touch with that ProviderId. Runs never read it.
    // Audit U81: or naming the host's key of a message this profile does not know ("message/{key}").
    private static void AddPendingSoftBounce(CustomerProfile p, string channel, string pending, DateTimeOffset at, SoftBounceRule rule)
    {
        if (rule.Limit < 1)
        {
            return;
        }

        var marks = p.SoftBounces;
        var known = marks.FindIndex(m => m.Address == pending); // a provider's ids are its own: one message
        if (known >= 0)
        {
            if (at < marks[known].At)
            {
                marks[known] = marks[known] with { At = at };
            }

            return;
        }

        marks.Add(new SoftBounceMark(channel, pending, at));
        SortSoftBounces(marks);
        if (marks.Count > MaxSoftBounceMarks)
        {
            marks.RemoveRange(0, marks.Count - MaxSoftBounceMarks);
        }
    }

    private static bool IsPendingSoftBounce(SoftBounceMark m) =>
        m.Address.StartsWith(PendingByProviderId, StringComparison.Ordinal) || m.Address.StartsWith(PendingByMessageKey, StringComparison.Ordinal);

    /// <summary>
    /// Audit U81: the prefix of a pending soft bounce named by the host's key of a message the profile did not know
    /// (<c>message/{key}</c>); a keyed hash is lowercase hex, so it cannot be read as one.
    /// </summary>
    internal const string PendingByMessageKey = "message/";

    /// <summary>
    /// Audit U80: each pending soft bounce (named only by the provider's id) whose message the profile now knows by that
    /// id becomes a mark of the address the message went to, under the message's key and at the bounce's own time, and
    /// the address's run is looked at (<see cref="ReviewSoftBounces"/>), so the same reports reach the limit whether the
    /// send's record came first or not. Called when a send is recorded with a provider id and at a merge. True when any
    /// was resolved.
    /// </summary>
    internal static bool ResolvePendingSoftBounces(CustomerProfile p, SoftBounceRule rule)
    {
        if (!p.HasSoftBounces || rule.Limit < 1)
        {
            return false;
        }

        var marks = p.SoftBounces;
        var resolved = false;
        for (var i = marks.Count - 1; i >= 0; i--)
        {
            var m = marks[i];
            if (!IsPendingSoftBounce(m))
            {
                continue;
            }

            int known;
            if (m.Address.StartsWith(PendingByMessageKey, StringComparison.Ordinal))
            {
                // Audit U81: the host's key, known once a merge brings the message (with the address it went to).
                known = Measurement.Touch.IndexOf(p.Touches, m.Address[PendingByMessageKey.Length..]);
            }
            else
            {
                var providerId = m.Address[PendingByProviderId.Length..];
                known = p.Touches.FindIndex(t => string.Equals(t.ProviderId, providerId, StringComparison.Ordinal));
            }

            if (known < 0)
            {
                continue;
            }

            var touch = p.Touches[known];
            var channel = OutcomeProperties.MessagingChannel(m.Channel) is null && OutcomeProperties.AddressType(m.Channel) is null ? touch.Channel : m.Channel;
            if (OutcomeProperties.SentTo(p, touch.Key, channel) is not { } address)
            {
                continue;
            }

            marks.RemoveAt(i);
            resolved = true;
            var hash = rule.Hash(channel, address);
            if (IsHardSuppressed(p, channel, address, hash))
            {
                continue; // suppressed already: nothing to count
            }

            var same = marks.FindIndex(x => x.Channel == channel && x.Address == hash && x.MessageId == touch.Key);
            if (same < 0)
            {
                marks.Add(new SoftBounceMark(channel, hash, m.At, touch.Key));
            }
            else if (m.At < marks[same].At)
            {
                marks[same] = marks[same] with { At = m.At };
            }
        }

        if (resolved)
        {
            SortSoftBounces(marks);
        }

        return resolved;
    }
}
