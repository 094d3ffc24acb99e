using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Privacy;

/// <summary>What erasing one profile deletes and leaves behind: pure, from the profile as read.</summary>
internal static class Erasure
{
    public static ProfileErasure Plan(CustomerProfile profile, EraseOptions options, IdentifierHasher hasher, DateTimeOffset now)
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

        return new ProfileErasure
        {
            ProfileId = profile.Id,
            ExpectedVersion = profile.Version,
            SuppressionHashes = suppression,
            Tombstones = [.. tombstones.Values],
            EventIds = rawIds, // tombstoned above, so the store may forget them as processed (audit U63)
        };
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
