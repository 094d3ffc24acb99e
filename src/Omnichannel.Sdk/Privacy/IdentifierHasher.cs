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
    public string Hash(Identifier id) => Hash(_keys[0], id.Type, ":", id.Value);

    /// <summary>The hashes under every key, current first (for look-ups).</summary>
    public IReadOnlyList<string> AllHashes(Identifier id)
    {
        var hashes = new string[_keys.Length]; // no lambda or LINQ: every message's suppression check asks
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = Hash(_keys[i], id.Type, ":", id.Value);
        }

        return hashes;
    }

    /// <summary>An event id's hash under the current key (in a namespace no identifier can reach).</summary>
    public string EventHash(string eventId) => Hash(_keys[0], "\0event", "\0", eventId);

    /// <summary>An event id's hashes under every key.</summary>
    public IReadOnlyList<string> AllEventHashes(string eventId) => AllHashesIn("\0event", eventId);

    /// <summary>
    /// The hash of a fact an erased profile counted once (<c>order:{id}</c>, a loyalty or referral key) under the current
    /// key, in a namespace of its own (audit U99).
    /// </summary>
    public string FactHash(string factKey) => Hash(_keys[0], "\0fact", "\0", factKey);

    /// <summary>A fact key's hashes under every key.</summary>
    public IReadOnlyList<string> AllFactHashes(string factKey) => AllHashesIn("\0fact", factKey);

    // A value's hashes under every key, in a namespace no identifier type can spell.
    private string[] AllHashesIn(string space, string value)
    {
        var hashes = new string[_keys.Length];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = Hash(_keys[i], space, "\0", value);
        }

        return hashes;
    }

    /// <summary>An identifier as logs and reasons may show it: a short keyed hash, never the value.</summary>
    public string Mask(Identifier id)
    {
        // "#" and the hash's first 12 hex digits, written once (not the 64 digits, then a cut, then a join: a merge's record
        // and a conflict's log line ask for one).
        Span<byte> mac = stackalloc byte[32];
        MacOf(_keys[0], id.Type, ":", id.Value, mac);
        return string.Create(13, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(mac) >> 16, static (chars, first48) =>
        {
            chars[0] = '#';
            for (var i = 0; i < 12; i++)
            {
                chars[1 + i] = "0123456789abcdef"[(int)((first48 >> (44 - (4 * i))) & 0xF)];
            }
        });
    }

    /// <summary>A MAC of <paramref name="data"/> under the current key, in a namespace of its own (<paramref name="purpose"/>).</summary>
    public byte[] Sign(string purpose, ReadOnlySpan<byte> data) => Mac(_keys[0], purpose, data);

    /// <summary>Whether <paramref name="mac"/> is the MAC of <paramref name="data"/> under any key (constant time per key).</summary>
    public bool Verify(string purpose, ReadOnlySpan<byte> data, ReadOnlySpan<byte> mac)
    {
        if (mac.Length != MacLength)
        {
            return false;
        }

        var ok = false;
        foreach (var key in _keys)
        {
            ok |= CryptographicOperations.FixedTimeEquals(Mac(key, purpose, data), mac);
        }

        return ok;
    }

    /// <summary>The length of a MAC (bytes): HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to half).</summary>
    public const int MacLength = 16;

    private byte[] Mac(byte[] key, string purpose, ReadOnlySpan<byte> data)
    {
        // The key of a purpose is derived once per key (a function of both), so its HMAC is one of the thread's kept ones.
        var derived = _derived.GetOrAdd((key, purpose), static k => HMACSHA256.HashData(k.Key, Encoding.UTF8.GetBytes("\0" + k.Purpose + "\0")));
        Span<byte> mac = stackalloc byte[32];
        Compute(derived, data, mac);
        return mac[..MacLength].ToArray();
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(byte[] Key, string Purpose), byte[]> _derived = new(DerivedKeyComparer.Instance);

    private sealed class DerivedKeyComparer : IEqualityComparer<(byte[] Key, string Purpose)>
    {
        public static readonly DerivedKeyComparer Instance = new();

        public bool Equals((byte[] Key, string Purpose) x, (byte[] Key, string Purpose) y) => ReferenceEquals(x.Key, y.Key) && x.Purpose == y.Purpose;

        public int GetHashCode((byte[] Key, string Purpose) obj) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj.Key), obj.Purpose);
    }

    // A thread's HMAC-SHA256 instances for the last few keys it used, kept: the one-shot HMACSHA256.HashData sets up a
    // new OpenSSL context on every call, about twice the cost of the hash itself, and every message's suppression and key
    // checks hash (session 63). An IncrementalHash is not thread-safe, so each thread has its own.
    [ThreadStatic]
    private static (byte[] Key, IncrementalHash Hmac)[]? t_hmacs;

    [ThreadStatic]
    private static int t_nextSlot;

    private const int KeptHmacs = 4;

    private static void Compute(byte[] key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        var hmacs = t_hmacs ??= new (byte[], IncrementalHash)[KeptHmacs];
        IncrementalHash? hmac = null;
        for (var i = 0; i < hmacs.Length; i++)
        {
            if (ReferenceEquals(hmacs[i].Key, key))
            {
                hmac = hmacs[i].Hmac;
                break;
            }
        }

        if (hmac is null)
        {
            var slot = t_nextSlot;
            t_nextSlot = (slot + 1) % KeptHmacs;
            hmacs[slot].Hmac?.Dispose();
            hmacs[slot] = (key, hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));
        }

        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }

    // hex(HMAC-SHA256(key, UTF-8 of a + b + c)): the text is encoded on the stack (or in a rented buffer, cleared after:
    // it holds an address), so the only allocation is the answer.
    private static string Hash(byte[] key, string a, string b, string c)
    {
        Span<byte> mac = stackalloc byte[32];
        MacOf(key, a, b, c, mac);
        return Convert.ToHexStringLower(mac);
    }

    private static void MacOf(byte[] key, string a, string b, string c, Span<byte> mac)
    {
        var max = Encoding.UTF8.GetMaxByteCount(a.Length + b.Length + c.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        var n = 0;
        try
        {
            n += Encoding.UTF8.GetBytes(a, buffer);
            n += Encoding.UTF8.GetBytes(b, buffer[n..]);
            n += Encoding.UTF8.GetBytes(c, buffer[n..]);
            Compute(key, buffer[..n], mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer[..n]);
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
