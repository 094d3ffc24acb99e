namespace Omnichannel.Sdk;

/// <summary>
/// Which partition last kept a profile hot, so that work addressed to the profile by id (a wake-up, a send, a dispatch
/// re-check, a delivery outcome) runs where its events run and finds the parsed profile there.
/// </summary>
/// <remarks>
/// Events are routed by their most trusted identifier and profile work by profile id; without this, three profiles in
/// four met their work in another partition, where the copy was missing or stale and the document was parsed again
/// (a 19 KB document: about 150 µs and 56 KB). A hint only: a direct-mapped table of (hash, partition) in one array of
/// longs (no references, so nothing for the collector to trace), where a collision or an eviction just sends the work to
/// the profile's default partition, and the store's version check keeps every outcome right wherever the work runs.
/// </remarks>
internal sealed class ProfileAffinity
{
    private readonly long[] _slots;
    private readonly int _mask;

    /// <param name="capacity">About how many profiles to remember (rounded up to a power of two, 1,024 to 2^21).</param>
    public ProfileAffinity(int capacity)
    {
        var size = (int)Math.Min(1 << 21, Math.Max(1024, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity))));
        _slots = new long[size];
        _mask = size - 1;
    }

    /// <summary>Remembers that <paramref name="partition"/> holds <paramref name="profileId"/> hot.</summary>
    public void Record(string profileId, int partition)
    {
        var hash = StringComparer.Ordinal.GetHashCode(profileId);
        Volatile.Write(ref _slots[hash & _mask], ((long)hash << 32) | (uint)(partition + 1));
    }

    /// <summary>The partition that last held the profile hot, or <paramref name="fallback"/> when none is remembered.</summary>
    public int PartitionOf(string profileId, int fallback)
    {
        var hash = StringComparer.Ordinal.GetHashCode(profileId);
        var slot = Volatile.Read(ref _slots[hash & _mask]);
        var partition = (int)(uint)slot;
        return partition != 0 && (int)(slot >> 32) == hash ? partition - 1 : fallback;
    }
}
