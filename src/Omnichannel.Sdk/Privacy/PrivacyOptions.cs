namespace Omnichannel.Sdk.Privacy;

/// <summary>
/// How the SDK hashes personal identifiers it must remember without keeping them: the suppression list, erasure
/// tombstones, identity-conflict records and the masked identifiers in logs all hold
/// <c>hex(HMAC-SHA256(HashKey, "type:value"))</c> of the normalised identifier, never the value.
/// </summary>
/// <remarks>
/// <para>
/// The key is a per-installation secret: keep it outside the database (configuration, a secret store). Without it a
/// hash cannot be tested against guessed addresses, which a bare SHA-256 of an email address allows in seconds.
/// </para>
/// <para>
/// <b>Rotation.</b> Set a new <see cref="HashKey"/> and move the old one into <see cref="PreviousHashKeys"/>. New
/// entries are written under the new key; look-ups (suppression, tombstones) try every key, so entries written under
/// an old key keep working. The stored hashes cannot be re-keyed (the values are gone), so an old key must stay in
/// <see cref="PreviousHashKeys"/> for as long as its entries must hold — for suppression and tombstones, that is
/// normally for good. Conflict records and log masks written under an old key simply stop matching new ones.
/// </para>
/// </remarks>
public sealed class PrivacyOptions
{
    /// <summary>The shortest key accepted, in UTF-8 bytes: 32 (256 bits, the HMAC-SHA256 block's natural strength).</summary>
    public const int MinimumKeyLength = 32;

    /// <summary>
    /// The per-installation secret for HMAC-SHA256, at least <see cref="MinimumKeyLength"/> UTF-8 bytes (for example
    /// the output of <c>openssl rand -base64 32</c>). Required with every durable store (validated when the engine
    /// starts); with the in-memory store, which outlives nothing, the store's own random key is used when this is
    /// <see langword="null"/>. Default <see langword="null"/>.
    /// </summary>
    public string? HashKey { get; set; }

    /// <summary>
    /// Keys used before <see cref="HashKey"/>, each at least <see cref="MinimumKeyLength"/> UTF-8 bytes. Suppression and
    /// tombstone look-ups try these too, so rotating the key forgets nobody. Default empty.
    /// </summary>
    public IList<string> PreviousHashKeys { get; } = [];

    internal void Validate(List<string> errors)
    {
        if (HashKey is { } key && System.Text.Encoding.UTF8.GetByteCount(key) < MinimumKeyLength)
        {
            errors.Add($"Privacy.{nameof(HashKey)} must be at least {MinimumKeyLength} bytes of UTF-8 (for example `openssl rand -base64 32`).");
        }

        for (var i = 0; i < PreviousHashKeys.Count; i++)
        {
            if (PreviousHashKeys[i] is not { } old || System.Text.Encoding.UTF8.GetByteCount(old) < MinimumKeyLength)
            {
                errors.Add($"Privacy.{nameof(PreviousHashKeys)}[{i}] must be at least {MinimumKeyLength} bytes of UTF-8.");
            }
        }

        if (HashKey is null && PreviousHashKeys.Count > 0)
        {
            errors.Add($"Privacy.{nameof(PreviousHashKeys)} is set but Privacy.{nameof(HashKey)} is not: set the new key.");
        }
    }
}

/// <summary>How one erasure treats the person's later events. Pass to <see cref="IOmnichannelClient.EraseProfileAsync(Identifier, EraseOptions, CancellationToken)"/>.</summary>
public sealed class EraseOptions
{
    /// <summary>The default: the person stays erased; every later event carrying one of her identifiers is refused.</summary>
    public static EraseOptions Default { get; } = new();

    /// <summary>
    /// Whether the person may come back (sign up again with the same address). When <see langword="true"/>, events dated
    /// after the erasure are accepted and create a new, empty profile; events dated at or before it — replays, and events
    /// already queued when the erasure ran — are still refused. Default <see langword="false"/>: every event carrying an
    /// erased identifier is refused until <see cref="IOmnichannelClient.LiftErasureAsync"/> is called for it.
    /// </summary>
    public bool AllowReturn { get; init; }
}
