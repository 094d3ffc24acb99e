using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// A kept list that lost elements at its front and gained some at its end (a capped timeline, touches ageing out) is
/// written from its last write's pieces (<see cref="WrittenJson{T}.WriteList"/>); any other change walks it from the first
/// element that changed. Either way the bytes must be what writing every element again gives.
/// </summary>
public sealed class WrittenListShiftProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    internal static readonly JsonTypeInfo<TimelineEntry> Info = (JsonTypeInfo<TimelineEntry>)new JsonSerializerOptions(ProfileSerializer.Options)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    }.GetTypeInfo(typeof(TimelineEntry));

    internal static TimelineEntry Entry(int n) => new($"e{n}", "product.viewed", n % 3 == 0 ? "web" : "email", Start.AddMinutes(n), n % 2 == 0 ? null : $"entry \"{n}\" é");

    internal static byte[] Kept(WrittenOnceList<TimelineEntry> list, bool walk = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (walk)
            {
                list.Written.Write(writer, CollectionsMarshal.AsSpan(list), default, isObject: false, Info);
            }
            else
            {
                list.Written.WriteList(writer, CollectionsMarshal.AsSpan(list), Info);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static byte[] Plain(List<TimelineEntry> list) => JsonSerializer.SerializeToUtf8Bytes(list.ToList(), Info.Options);

    // FsCheck's integers stay small at small sizes: a fixed mix (SplitMix64's finaliser) spreads each over the whole range.
    internal static int Spread(int step)
    {
        var z = unchecked((ulong)step + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    [Property(MaxTest = 300)]
    public void EveryChange_IsWrittenAsIfNothingWereKept_AndTrimsWithAppendsVisitOnlyTheAdded(int[] steps)
    {
        var list = new WrittenOnceList<TimelineEntry>();
        var n = 0;
        for (var i = 0; i < 40; i++)
        {
            list.Add(Entry(n++));
        }

        Assert.Equal(Plain(list), Kept(list));
        foreach (var step in steps)
        {
            var s = Spread(step);
            var (trim, add) = (s % 3 == 0 ? 0 : (s / 3) % 90, (s / 270) % 40); // trims both sides of MostTrimmed, appends both sides of RunLength
            var kind = (s / 10_800) % 6;
            var shifted = kind <= 2; // only the front trimmed (within reach) and the end added to: written from the last pieces
            int? walkedAtMost = null; // a change at index k > 0 with the front unchanged: only the elements from k on are walked
            switch (kind)
            {
                case 0 or 1 or 2:
                    trim = Math.Min(trim, list.Count);
                    list.RemoveRange(0, trim);
                    for (var a = 0; a < add; a++)
                    {
                        list.Add(Entry(n++));
                    }

                    shifted = trim <= WrittenJson<TimelineEntry>.MostTrimmed && list.Count > 0;
                    break;
                case 3 when list.Count > 0:
                    var replaced = s % list.Count;
                    list[replaced] = Entry(n++); // replaced in place
                    walkedAtMost = replaced > 0 ? list.Count - replaced : null;
                    break;
                case 4 when list.Count > 0:
                    var removed = list.Count - 1 - (s % list.Count);
                    list.RemoveAt(removed); // removed anywhere, the end included
                    walkedAtMost = removed > 0 ? 0 : null; // session 61: the gap is stepped over, nothing walked
                    break;
                default:
                    var inserted = list.Count == 0 ? 0 : s % list.Count;
                    list.Insert(inserted, Entry(n++)); // inserted before the end
                    walkedAtMost = inserted > 0 ? list.Count - inserted : null;
                    break;
            }

            // The last write's trailing short runs hold fewer than RunLength elements: a trim that keeps at least that many
            // of the old ones ends before them.
            var pastTheShortRuns = list.Count - add >= WrittenJson<TimelineEntry>.RunLength;
            Assert.Equal(Plain(list), Kept(list));
            var visited = list.Written.Visited; // the write of the change (session 61: the checks below read the next one before)
            Assert.Equal(Plain(list), Kept(list)); // unchanged since: written again from the kept pieces
            Assert.Equal(0, list.Written.Visited);
            if (walkedAtMost is { } most)
            {
                Assert.True(visited <= most, $"a change {list.Count - most} in walked {visited} of {list.Count}");
            }

            if (shifted && pastTheShortRuns)
            {
                Assert.True(visited <= add, $"a trim of {trim} and {add} added visited {visited} of {list.Count}");
            }
        }
    }

    [Fact]
    public void ATimelineCappedPerKind_WrittenAfterEveryEvent_VisitsOnlyItsNewEntry()
    {
        // Audit U100's timeline: her events and the engine's entries each keep their own cap, so the entry dropped is
        // the oldest of its kind, often second in the list (a message queued, then its outcome, and so on).
        var list = new WrittenOnceList<TimelineEntry>();
        var (walked, inside) = (0, 0);
        for (var n = 0; n < 1_000; n++)
        {
            // Two of the engine's entries to one of hers: her oldest is seldom the list's front.
            list.Add(Entry(n) with { Type = n % 3 == 2 ? "message.sent" : "message.queued" });
            if (list.Count(e => e.Type == list[^1].Type) > 60)
            {
                var oldest = list.FindIndex(e => e.Type == list[^1].Type);
                inside += oldest > 0 ? 1 : 0;
                list.RemoveAt(oldest);
            }

            Assert.Equal(Plain(list), Kept(list));
            walked += n >= 300 ? list.Written.Visited : 0;
        }

        Assert.True(inside > 200, $"only {inside} trims from within");
        Assert.Equal(700, walked); // one entry a write once both kinds are full: nothing before the new entry walked
    }

    [Fact]
    public void ACappedTimeline_WrittenAfterEveryEvent_VisitsOnlyItsNewEntry()
    {
        var list = new WrittenOnceList<TimelineEntry>();
        for (var n = 0; n < 1_000; n++)
        {
            list.Add(Entry(n));
            if (list.Count > 200)
            {
                list.RemoveAt(0);
            }

            Assert.Equal(Plain(list), Kept(list));
            if (n > 16)
            {
                Assert.Equal(1, list.Written.Visited);
            }
        }
    }

    [Fact]
    public void AFrontTrimmedPastWhereItIsLooked_IsWalked_AndWrittenRight()
    {
        var list = new WrittenOnceList<TimelineEntry>();
        for (var n = 0; n < 300; n++)
        {
            list.Add(Entry(n));
        }

        Assert.Equal(Plain(list), Kept(list));
        list.RemoveRange(0, WrittenJson<TimelineEntry>.MostTrimmed + 1);
        Assert.Equal(Plain(list), Kept(list));
        Assert.Equal(list.Count, list.Written.Visited); // not found within reach: walked
        list.RemoveRange(0, 3);
        list.Add(Entry(1_000));
        Assert.Equal(Plain(list), Kept(list));
        Assert.Equal(1, list.Written.Visited); // and the next trim is shifted again
    }
}
