using Omnichannel.Sdk.Privacy;

namespace Omnichannel.Sdk;

/// <summary>Erasure tombstones at the door of every event.</summary>
public sealed partial class OmnichannelEngine
{
    /// <summary>
    /// The refusal for an event that carries an erased person's identifier (or one of her event ids), else
    /// <see langword="null"/>. Only identifiers nobody holds are looked up: an erased identifier is in no profile.
    /// </summary>
    private async ValueTask<TrackResult?> RefusedAsErasedAsync(ValidatedEvent v, IReadOnlyDictionary<Identifier, string> owners)
    {
        var e = v.Event;
        var byHash = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in v.Identifiers)
        {
            if (!owners.ContainsKey(id))
            {
                foreach (var h in _hasher.AllHashes(id))
                {
                    byHash[h] = id.Type;
                }
            }
        }

        foreach (var h in _hasher.AllEventHashes(e.Id))
        {
            byHash[h] = "\0event";
        }

        var found = await _store.FindTombstonesAsync(byHash.Keys).ConfigureAwait(false);
        var errors = new List<ValidationError>();
        foreach (var t in found)
        {
            var type = byHash[t.Hash];
            if (type == "\0event")
            {
                errors.Add(new ValidationError("id", $"the event id belonged to a profile erased at {t.ErasedAt:O}; its history stays erased"));
            }
            else if (!t.AllowsReturn || e.Timestamp <= t.ErasedAt)
            {
                errors.Add(new ValidationError("identifiers", t.AllowsReturn
                    ? $"the {type} belongs to a person erased at {t.ErasedAt:O} and the event is dated before that (a replay or an event queued before the erasure)"
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
}
