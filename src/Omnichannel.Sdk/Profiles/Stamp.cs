namespace Omnichannel.Sdk;

/// <summary>
/// Event-time stamps: (event time, event id). Every last-writer-wins decision of the profile compares stamps, so equal
/// timestamps are settled the same way whatever order the events arrive in.
/// </summary>
internal static class Stamp
{
    /// <summary>Positive when (a, aid) is newer than (b, bid); zero only for the same event.</summary>
    public static int Compare(DateTimeOffset a, string? aid, DateTimeOffset b, string? bid)
    {
        var c = a.UtcTicks.CompareTo(b.UtcTicks);
        return c != 0 ? c : string.CompareOrdinal(aid ?? string.Empty, bid ?? string.Empty);
    }

    public static bool Newer(DateTimeOffset a, string? aid, DateTimeOffset b, string? bid) => Compare(a, aid, b, bid) > 0;

    /// <summary>
    /// Whether consent decision <paramref name="a"/> stands over <paramref name="b"/>: the later one; at the same instant
    /// a refusal (fail-safe: an opt-out and an opt-in sent together leave her opted out), then the higher event id.
    /// </summary>
    public static bool Newer(ConsentRecord a, ConsentRecord b)
    {
        var c = a.At.UtcTicks.CompareTo(b.At.UtcTicks);
        if (c == 0 && a.Granted != b.Granted)
        {
            return !a.Granted;
        }

        return c != 0 ? c > 0 : string.CompareOrdinal(a.EventId ?? a.Source ?? string.Empty, b.EventId ?? b.Source ?? string.Empty) > 0;
    }
}
