using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Privacy;

/// <summary>What erasing one profile deletes and leaves behind: pure, from the profile as read.</summary>
internal static class Erasure
{
    public static ProfileErasure Plan(CustomerProfile profile, EraseOptions options, IdentifierHasher hasher, DateTimeOffset now)
    {
        var suppression = profile.Identifiers
            .Where(i => i.Type is IdentifierTypes.Email or IdentifierTypes.Phone)
            .Select(i => hasher.Hash(i.Identifier))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        // Every identifier she held, and the ids of the events of hers the profile still names (timeline, merges,
        // conflicts, messages): none of them may bring her back. Event ids carry no personal data but are hashed like
        // the rest, so the tombstone table holds one kind of thing.
        var tombstones = new Dictionary<string, Tombstone>(StringComparer.Ordinal);
        foreach (var i in profile.Identifiers)
        {
            var h = hasher.Hash(i.Identifier);
            tombstones[h] = new Tombstone(h, now, options.AllowReturn);
        }

        var eventIds = profile.Timeline.Select(t => t.EventId)
            .Concat(profile.Merges.Select(m => m.EventId))
            .Concat(profile.Conflicts.Select(c => c.EventId));
        foreach (var eventId in eventIds.Where(id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal))
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
        };
    }
}
