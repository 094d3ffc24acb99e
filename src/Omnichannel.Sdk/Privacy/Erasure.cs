using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Privacy;

/// <summary>What erasing one profile deletes and leaves behind: pure, from the profile as read.</summary>
internal static class Erasure
{
    public static ProfileErasure Plan(CustomerProfile profile, EraseOptions options, IdentifierHasher hasher, DateTimeOffset now, IEnumerable<string>? servedChannels = null)
    {
        // Every address a channel can reach her at: email, phone, a push device, her id on a host's own channel (line), so
        // a person allowed back is not messaged there until the erasure of that address is lifted (audit U71).
        var suppression = profile.Identifiers
            .Where(i => DeliveryAddressType(i.Type))
            .Select(i => hasher.Hash(i.Identifier))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        // Every identifier she held, and the ids of the events of hers the profile still names (timeline, merges,
        // conflicts, messages): none of them may bring her back. Event ids are hashed like the rest (a client may build
        // one from her address), so the tombstone table holds one kind of thing and the store may drop the raw ids.
        var tombstones = new Dictionary<string, Tombstone>(StringComparer.Ordinal);
        foreach (var i in profile.Identifiers)
        {
            var h = hasher.Hash(i.Identifier);
            tombstones[h] = new Tombstone(h, now, options.AllowReturn);
        }

        // The timeline keeps only the newest entries, while orders, cart and wishlist changes, consents, traits and journey
        // records keep the ids of older events: every id the stored document names, whatever field holds it.
        var eventIds = profile.Timeline.Select(t => t.EventId)
            .Concat(profile.Merges.Select(m => m.EventId))
            .Concat(profile.Conflicts.Select(c => c.EventId))
            .Concat(EventIdsIn(ProfileSerializer.Serialize(profile)));
        var rawIds = eventIds.Where(id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var eventId in rawIds)
        {
            var h = hasher.EventHash(eventId);
            tombstones[h] = new Tombstone(h, now, AllowsReturn: false);
        }

        // Audit U99: the orders, points transactions and referrals she had, as keyed hashes. A shop's later report on one
        // of them (a shipment, a return, a points correction) is about her life before the erasure: it is refused, as a
        // provider's report on an old message is, rather than bringing her back (AllowReturn) with the old order.
        foreach (var fact in FactKeys(profile))
        {
            var h = hasher.FactHash(fact);
            tombstones[h] = new Tombstone(h, now, AllowsReturn: false);
        }

        // Audit U99: the host's keys of her messages (a host may build one from her address: "welcome-ann@example.com"),
        // which the store remembers for ever to refuse the key twice, and the ids of their outcome events. The store
        // forgets them; each key's hash stays, so that the key is still accepted once, ever (SendAsync looks it up).
        var messageKeys = MessageKeys(profile, rawIds, servedChannels);
        var outcomeIds = messageKeys.Keys.SelectMany(k => OutcomeSuffixes.Select(s => k + s));
        foreach (var key in messageKeys.Keys)
        {
            var h = hasher.FactHash(MessageKeyFact(key));
            tombstones[h] = new Tombstone(h, now, AllowsReturn: false);
        }

        return new ProfileErasure
        {
            ProfileId = profile.Id,
            ExpectedVersion = profile.Version,
            SuppressionHashes = suppression,
            Tombstones = [.. tombstones.Values],
            EventIds = [.. rawIds.Concat(outcomeIds).Distinct(StringComparer.Ordinal)], // her own ones tombstoned above, so the store may forget them as processed (audit U63)
            MessageKeys = [.. messageKeys.Keys.Concat(messageKeys.HandOvers)],

            // Audit U102: the keys the store recorded for her (or a profile merged into her) that her document no longer
            // names (past the 500 it keeps): the store forgets them too and keeps this hash of each, as of the keys above.
            // Journey keys name her profile and are never looked up (as above); a hand-over key the store finds is kept
            // as a hash like any key, since the store cannot tell one from a host's key holding an arrow.
            MessageKeyTombstone = key => key.StartsWith("j:", StringComparison.Ordinal)
                ? null
                : new Tombstone(hasher.FactHash(MessageKeyFact(key)), now, AllowsReturn: false),
        };
    }

    private static readonly string[] OutcomeSuffixes = [":sent", ":failed", ":cancelled"];

    /// <summary>
    /// The ids of a message's outcome events (<c>{key}:sent|failed|cancelled</c>), which a store forgets as processed with
    /// each key it finds for the erased profile (<see cref="ProfileErasure.MessageKeyTombstone"/>; audit U102).
    /// </summary>
    internal static IEnumerable<string> OutcomeIdsOf(string key) => OutcomeSuffixes.Select(s => key + s);

    /// <summary>The fact key under which an erased profile's message key is tombstoned (a namespace no order or tally key reaches).</summary>
    internal static string MessageKeyFact(string key) => "message\0" + key;

    /// <summary>
    /// The keys of the profile's messages that its document names (the keys it accepted, sent and capped messages, touches, held and cancelled
    /// journey messages, outcome events on the timeline), but not journey keys (<c>j:{profile id}:…</c>, which the store
    /// finds by the profile's id); and each one's hand-over keys (<c>{key}→{channel}</c>, for every channel she was
    /// messaged on, every well-known one, every channel she holds an address on (a custom channel's address is her
    /// identifier of its type) and every channel the erasing process serves).
    /// </summary>
    private static (List<string> Keys, List<string> HandOvers) MessageKeys(CustomerProfile profile, List<string> eventIds, IEnumerable<string>? servedChannels)
    {
        var keys = new HashSet<string>(profile.MessageKeys, StringComparer.Ordinal);
        var channels = new HashSet<string>(ChannelNames.All, StringComparer.Ordinal);

        // Audit U101: a message handed over to another process's custom channel (a fallback after her email failed here)
        // and still pending there at her erasure is named nowhere in her document but by its address: her identifier of
        // the channel's type. Its hand-over key, her address in it when the host built the key from one, stayed remembered.
        foreach (var i in profile.Identifiers)
        {
            if (DeliveryAddressType(i.Type) && i.Type is not (IdentifierTypes.Email or IdentifierTypes.Phone or IdentifierTypes.DeviceId))
            {
                channels.Add(i.Type);
            }
        }

        channels.UnionWith(servedChannels ?? []);
        foreach (var m in profile.MessageLog)
        {
            keys.Add(m.Key ?? string.Empty);
            channels.Add(m.Channel);
        }

        foreach (var t in profile.Touches)
        {
            keys.Add(t.Key);
            channels.Add(t.Channel);
        }

        if (profile.JourneyData is { } journeys)
        {
            keys.UnionWith(journeys.HeldMessages.Select(h => h.Key));
            keys.UnionWith(journeys.Cancelled.Keys);
        }

        // An outcome event's id is its message's key and the outcome (OmnichannelEngine.RecordOutcomeAsync).
        var outcomes = profile.Timeline.Where(t => t.Type is EventTypes.MessageSent or EventTypes.MessageFailed or EventTypes.MessageSkipped)
            .Select(t => t.EventId).ToHashSet(StringComparer.Ordinal);
        foreach (var id in eventIds)
        {
            if (outcomes.Contains(id) && OutcomeSuffixes.FirstOrDefault(s => id.EndsWith(s, StringComparison.Ordinal)) is { } suffix)
            {
                keys.Add(id[..^suffix.Length]);
            }
        }

        keys.RemoveWhere(k => k.Length == 0 || k.StartsWith("j:", StringComparison.Ordinal));
        var list = keys.Order(StringComparer.Ordinal).ToList();
        return (list, [.. list.SelectMany(k => channels.Select(c => k + "\u2192" + c))]);
    }

    /// <summary>
    /// The natural keys of what the profile counts once (<c>order:{id}</c> for each order and cancelled order it knows by id;
    /// a loyalty or referral key, <see cref="ProfileCore.TallyKey"/>): the keys <see cref="FactKeysOf"/> reads from an event.
    /// </summary>
    private static IEnumerable<string> FactKeys(CustomerProfile profile) =>
        profile.Orders.Keys.Concat(profile.CancelledOrders).Where(k => k.StartsWith("order:", StringComparison.Ordinal))
            .Concat(profile.Tallies.Keys)
            .Distinct(StringComparer.Ordinal);

    /// <summary>
    /// The fact keys an event reports on: <c>order:{order_id}</c> for an order event that names its order (the id as text,
    /// and a number's raw text too, as <see cref="WellKnownProperties.OrderId"/> may keep either); a loyalty or referral
    /// event's key. Empty for any other event.
    /// </summary>
    internal static IEnumerable<string> FactKeysOf(CustomerEvent e)
    {
        if (e.Type.StartsWith("order.", StringComparison.Ordinal))
        {
            if (WellKnownProperties.String(e.Properties, "order_id") is { Length: > 0 } id)
            {
                yield return "order:" + id;
                if (e.Properties.ValueKind == System.Text.Json.JsonValueKind.Object && e.Properties.TryGetProperty("order_id", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number && v.GetRawText() is var raw && raw != id)
                {
                    yield return "order:" + raw;
                }
            }
        }
        else if (ProfileCore.TallyKey(e) is { } tally)
        {
            yield return tally;
        }
    }

    /// <summary>
    /// Whether identifiers of this type are an address some channel sends to: email, phone, device id, and a type the host
    /// registered (a custom channel's id, such as <c>line</c>). Customer ids, anonymous ids and loyalty cards are not.
    /// </summary>
    internal static bool DeliveryAddressType(string type) =>
        type is not (IdentifierTypes.CustomerId or IdentifierTypes.AnonymousId or IdentifierTypes.LoyaltyCard);

    /// <summary>The string values of every property named <c>eventId</c> or <c>…EventId</c> in a stored document.</summary>
    private static List<string> EventIdsIn(byte[] document)
    {
        var ids = new List<string>();
        var reader = new System.Text.Json.Utf8JsonReader(document);
        var wanted = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case System.Text.Json.JsonTokenType.PropertyName:
                    wanted = reader.ValueTextEquals("eventId"u8) || reader.GetString()!.EndsWith("EventId", StringComparison.Ordinal);
                    break;
                case System.Text.Json.JsonTokenType.String when wanted:
                    ids.Add(reader.GetString()!);
                    wanted = false;
                    break;
                default:
                    wanted = false;
                    break;
            }
        }

        return ids;
    }
}
