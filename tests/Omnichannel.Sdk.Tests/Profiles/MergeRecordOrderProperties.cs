using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 64: a merge orders both sides' merge and conflict records by time, event id and a key with an insertion sort
/// instead of LINQ. For any records (ties on time and event id included, out of order, any count up to the kept maximum),
/// the kept records must be those the stable OrderBy/ThenBy/ThenBy gave, in its order. Inputs are spread from a generated
/// int by a SplitMix64 finaliser.
/// </summary>
public sealed class MergeRecordOrderProperties
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [Property(MaxTest = 300)]
    public void MergedRecords_AreInTheStableOrder(int seed)
    {
        var z = Mix((ulong)(uint)seed);
        ulong Next(ulong max) => (z = Mix(z)) % max;
        DateTimeOffset At() => T0.AddMinutes(Next(6)).ToOffset(TimeSpan.FromHours((int)Next(3) - 1)); // ties, several offsets

        var target = new CustomerProfile("target", T0);
        var other = new CustomerProfile("other", T0);
        foreach (var p in new[] { target, other })
        {
            for (var n = (int)Next(4) switch { 0 => 0, 1 => 1, 2 => (int)Next(10), _ => (int)Next(70) }; n > 0; n--)
            {
                p.MergeRecords.Add(new MergeRecord("m" + Next(4), Identifier.Email("a@example.com"), "e" + Next(3), "r", At()));
            }

            for (var n = (int)Next(3) == 0 ? 0 : (int)Next(40); n > 0; n--)
            {
                p.ConflictRecords.Add(new IdentityConflict(Next(2) == 0 ? "email" : "phone", "h" + Next(3), null, "e" + Next(3), "r" + n, At()));
            }
        }

        var record = new MergeRecord("other", Identifier.Email("a@example.com"), "e1", "both", At());
        var merges = target.MergeRecords.Concat(other.MergeRecords).Append(record)
            .OrderBy(r => r.At).ThenBy(r => r.EventId, StringComparer.Ordinal).ThenBy(r => r.AbsorbedProfileId, StringComparer.Ordinal).ToList();
        var conflicts = target.ConflictRecords.Concat(other.ConflictRecords)
            .OrderBy(c => c.At).ThenBy(c => c.EventId, StringComparer.Ordinal).ThenBy(c => c.IdentifierType + ":" + c.IdentifierHash, StringComparer.Ordinal).ToList();

        ProfileCore.Merge(target, other, record, 50);

        Assert.Equal(merges.Skip(Math.Max(0, merges.Count - 100)).ToList(), target.MergeRecords);
        Assert.Equal(conflicts.Skip(Math.Max(0, conflicts.Count - 50)).ToList(), target.ConflictRecordsIfAny ?? []);
    }
}
