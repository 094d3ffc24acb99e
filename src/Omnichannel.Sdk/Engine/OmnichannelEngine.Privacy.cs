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
        ArgumentNullException.ThrowIfNull(options);
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
                return true;
            }

            // The profile moved on since it was read (an event linked another identifier): read it again, so that
            // every identifier it holds now is on the tombstone; back off so a stream of her events leaves a gap.
            await CommitBackOffAsync(attempt).ConfigureAwait(false);
        }

        throw new InvalidOperationException(
            $"The profile kept changing while it was being erased ({attempts} attempts); nothing was erased. Erase it again.");
    }

    /// <inheritdoc />
    public async ValueTask<bool> LiftErasureAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        if (Normalize(identifier) is not { } id)
        {
            return false;
        }

        var lifted = await _store.LiftErasureAsync([.. _hasher.AllHashes(id)], cancellationToken).ConfigureAwait(false);
        if (lifted > 0)
        {
            LogErasureLifted(_logger, id.Type, _hasher.Mask(id));
        }

        return lifted > 0;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        Normalize(identifier) is { } id && await IsOnSuppressionListAsync(id, cancellationToken).ConfigureAwait(false);

    /// <summary>Whether a normalised identifier is on the suppression list, under the current key or a previous one.</summary>
    private async ValueTask<bool> IsOnSuppressionListAsync(Identifier id, CancellationToken cancellationToken)
    {
        foreach (var hash in _hasher.AllHashes(id))
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
