namespace Omnichannel.Sdk;

// Audit U89: a host's lift of an address (LiftErasureAsync) stays lifted through a merge with a profile of hers that
// reported the address's bounce before the lift.
internal static partial class ProfileCore
{
    /// <summary>Most lift marks a profile keeps (<see cref="CustomerProfile.LiftMarks"/>): the oldest go first.</summary>
    internal const int MaxLiftMarks = MaxSoftBounceMarks;

    /// <summary>Records that the address (channel, keyed hash) was lifted at <paramref name="mark"/>'s instant; the newest per address.</summary>
    internal static void AddLiftMark(CustomerProfile p, SoftBounceMark mark) => AddNewestMark(p.LiftMarks, mark, MaxLiftMarks);

    // Either side's lift marks, the newest per address. Hard-bounce entries carry no instant: the engine drops, after the
    // merge, those of a lifted address that the store's list no longer holds (OmnichannelEngine.DropLiftedBouncesAsync).
    private static void MergeLiftMarks(CustomerProfile target, CustomerProfile other)
    {
        if (!other.HasLiftMarks)
        {
            return;
        }

        foreach (var m in other.LiftMarks)
        {
            AddLiftMark(target, m);
        }
    }
}
