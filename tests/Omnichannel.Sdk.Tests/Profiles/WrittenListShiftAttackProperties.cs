using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Review rv59 of <see cref="WrittenJson{T}.WriteList"/>: lists holding the same element object more than once, cleared
/// and refilled with the very same objects, trimmed by exactly <see cref="WrittenJson{T}.MostTrimmed"/>, shorter than a
/// run, written alternately by <see cref="WrittenJson{T}.WriteList"/> and a full walk: the bytes are always a plain write's.
/// </summary>
public sealed class WrittenListShiftAttackProperties
{
    private static TimelineEntry Entry(int n) => WrittenListShiftProperties.Entry(n);

    private static byte[] Kept(WrittenOnceList<TimelineEntry> list, bool walk) => WrittenListShiftProperties.Kept(list, walk);

    private static byte[] Plain(List<TimelineEntry> list) => WrittenListShiftProperties.Plain(list);

    [Property(MaxTest = 400)]
    public void DuplicatesRefillsExactTrimsAndWalks_AreWrittenAsAPlainWrite(int[] steps)
    {
        var pool = Enumerable.Range(0, 6).Select(Entry).ToArray(); // few objects: the same one often appears twice
        var list = new WrittenOnceList<TimelineEntry>();
        var n = 100;
        for (var i = 0; i < 70; i++)
        {
            list.Add(i % 4 == 0 ? pool[i % pool.Length] : Entry(n++));
        }

        foreach (var step in steps)
        {
            var s = step & int.MaxValue;
            switch (s % 7)
            {
                case 0: // trimmed by exactly MostTrimmed, or one less, then appended (pool or new)
                    list.RemoveRange(0, Math.Min(list.Count, WrittenJson<TimelineEntry>.MostTrimmed - ((s / 7) % 2)));
                    for (var a = 0; a < (s / 14) % 40; a++)
                    {
                        list.Add(a % 3 == 0 ? pool[((s % pool.Length) + a) % pool.Length] : Entry(n++));
                    }

                    break;
                case 1: // cleared and refilled with the very same objects (maybe fewer, maybe one more)
                    var same = list.ToArray();
                    list.Clear();
                    list.AddRange(same.Skip((s / 7) % 3));
                    if ((s / 21) % 2 == 0)
                    {
                        list.Add(pool[s % pool.Length]);
                    }

                    break;
                case 2: // small trims and appends of pooled objects (a duplicate of the new front)
                    list.RemoveRange(0, Math.Min(list.Count, (s / 7) % 5));
                    if (list.Count > 0)
                    {
                        list.Add(list[0]);
                    }

                    list.Add(pool[s % pool.Length]);
                    break;
                case 3: // down to a short list, then back up
                    list.RemoveRange(0, Math.Max(0, list.Count - ((s / 7) % 20)));
                    for (var a = 0; a < (s / 140) % 30; a++)
                    {
                        list.Add(Entry(n++));
                    }

                    break;
                case 4: // the front element repeated later: the first match is not the right one
                    if (list.Count > 3)
                    {
                        var front = list[2];
                        list.RemoveRange(0, 2);
                        list.Add(front);
                    }

                    break;
                case 5: // whole list replaced by pooled objects only
                    list.Clear();
                    for (var a = 0; a < 16 + ((s / 7) % 40); a++)
                    {
                        list.Add(pool[(a * (1 + ((s / 7) % 3))) % pool.Length]);
                    }

                    break;
                default:
                    list.Add(Entry(n++));
                    break;
            }

            var walk = (s / 3) % 5 == 0; // alternate with a full walk
            Assert.Equal(Plain(list), Kept(list, walk));
            Assert.Equal(Plain(list), Kept(list, walk: false));
        }
    }
}
