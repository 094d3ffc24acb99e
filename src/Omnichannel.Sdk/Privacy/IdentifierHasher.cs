using System.Security.Cryptography;
using System.Text;

namespace Omnichannel.Sdk.Privacy;

/// <summary>Keyed hashes of identifiers and event ids: the current key first, then the previous ones.</summary>
internal sealed class IdentifierHasher
{
    private readonly byte[][] _keys;

    public IdentifierHasher(byte[] current, IEnumerable<byte[]> previous)
    {
        _keys = [current, .. previous];
    }

    public static IdentifierHasher From(PrivacyOptions options, byte[] fallbackKey) => new(
        options.HashKey is { } key ? Encoding.UTF8.GetBytes(key) : fallbackKey,
        options.PreviousHashKeys.Select(Encoding.UTF8.GetBytes));

    /// <summary>The hash under the current key: <c>hex(HMAC-SHA256(key, "type:value"))</c>.</summary>
    public string Hash(Identifier id) => Hash(_keys[0], id.Type + ":" + id.Value);

    /// <summary>The hashes under every key, current first (for look-ups).</summary>
    public IReadOnlyList<string> AllHashes(Identifier id) => [.. _keys.Select(k => Hash(k, id.Type + ":" + id.Value))];

    /// <summary>An event id's hash under the current key (in a namespace no identifier can reach).</summary>
    public string EventHash(string eventId) => Hash(_keys[0], "\0event\0" + eventId);

    /// <summary>An event id's hashes under every key.</summary>
    public IReadOnlyList<string> AllEventHashes(string eventId) => [.. _keys.Select(k => Hash(k, "\0event\0" + eventId))];

    /// <summary>An identifier as logs and reasons may show it: a short keyed hash, never the value.</summary>
    public string Mask(Identifier id) => "#" + Hash(id)[..12];

    private static string Hash(byte[] key, string text) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text)));
}
