namespace Omnichannel.Sdk;

// Her addresses as events show them: when each was last seen, bounces waiting for their message, suppressed addresses.
internal static partial class ProfileCore
{
    /// <summary>Stamps the addresses an event carries with its time, when newer (see <see cref="LinkedIdentifier.LastSeen"/>).</summary>
    public static void SeeAddresses(CustomerProfile p, IReadOnlyList<Identifier> identifiers, DateTimeOffset t)
    {
        for (var k = 0; k < identifiers.Count; k++) // by index: runs on every event, and a foreach would box the enumerator
        {
            var id = identifiers[k];
            // Audit U72: every address type, a custom channel's id (line) too, or her newest LINE id lost to an older one.
            if (!Privacy.Erasure.DeliveryAddressType(id.Type))
            {
                continue;
            }

            var list = p.IdentifierList;
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Type == id.Type && list[i].Value == id.Value)
                {
                    var known = list[i];
                    var later = known.LastSeen is not { } seen || seen < t;
                    var earliest = known.EarliestSeen;
                    if (id.Type == IdentifierTypes.Phone)
                    {
                        // Audit U83: the earliest sighting known (on a phone linked before it was kept, its newest one).
                        earliest = (earliest ?? known.LastSeen) is { } first && first <= t ? first : t;
                    }

                    if (later || earliest != known.EarliestSeen)
                    {
                        list[i] = known with { LastSeen = later ? t : known.LastSeen, EarliestSeen = earliest };
                    }

                    break;
                }
            }
        }
    }

    /// <summary>Most pending bounces a profile keeps (<see cref="CustomerProfile.PendingBounces"/>).</summary>
    internal const int MaxPendingBounces = 100;

    // Audit U79: the prefix of a pending bounce named by the provider's id ("provider/sms:SM123"), not by the message's key
    // ("sms:order-1"); channel names are [a-z][a-z0-9_-]* (EventValidator.ChannelPattern), so the two cannot be confused.
    internal const string PendingByProviderId = "provider/";

    internal static void AddPendingBounce(CustomerProfile p, string channelAndKey)
    {
        var list = p.PendingBounces;
        var at = list.BinarySearch(channelAndKey, StringComparer.Ordinal);
        if (at < 0)
        {
            list.Insert(~at, channelAndKey);
            if (list.Count > MaxPendingBounces)
            {
                list.RemoveAt(0);
            }
        }
    }

    /// <summary>
    /// Suppresses, for each pending bounce whose message the profile now knows (after a merge), the address the message
    /// went to on the bounce's channel — what <see cref="OutcomeProperties.BouncedAddress"/> takes for a known message.
    /// </summary>
    internal static void ResolvePendingBounces(CustomerProfile p)
    {
        if (!p.HasPendingBounces) // no list made for the many profiles with none (called after every event)
        {
            return;
        }

        for (var i = p.PendingBounces.Count - 1; i >= 0; i--)
        {
            var entry = p.PendingBounces[i];
            var byProvider = entry.StartsWith(PendingByProviderId, StringComparison.Ordinal);
            if (byProvider)
            {
                entry = entry[PendingByProviderId.Length..];
            }

            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var (channel, key) = (entry[..colon], entry[(colon + 1)..]);
            if (byProvider)
            {
                // Audit U79: a bounce named by the provider's id is about the message the profile now knows by that id.
                var known = p.Touches.FindIndex(t => string.Equals(t.ProviderId, key, StringComparison.Ordinal));
                if (known < 0)
                {
                    continue;
                }

                key = p.Touches[known].Key;
            }

            // A report that named no channel, heard by a profile that did not know the message, read its channel from
            // the event (web, app…): the message went where its touch says.
            if (OutcomeProperties.MessagingChannel(channel) is null && OutcomeProperties.AddressType(channel) is null
                && Measurement.Touch.IndexOf(p.Touches, key) is var t and >= 0 && p.Touches[t] is { SentTo: not null } sent)
            {
                channel = sent.Channel;
            }

            if (OutcomeProperties.SentTo(p, key, channel) is { } address)
            {
                Suppress(p, channel + ":" + address);
                p.PendingBounces.RemoveAt(i);
            }
        }
    }

    internal static void Suppress(CustomerProfile p, string channelAndAddress)
    {
        if (!p.SuppressedAddresses.Contains(channelAndAddress))
        {
            p.SuppressedAddresses.Add(channelAndAddress);
        }
    }
}
