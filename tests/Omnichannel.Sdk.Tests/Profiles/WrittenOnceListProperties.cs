using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// The timeline keeps each entry's JSON once written (<see cref="WrittenOnceList{T}"/>): the stored document must be
/// byte for byte what serialising every entry again would give, whatever was added, trimmed, reloaded or merged.
/// </summary>
public sealed class WrittenOnceListProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    [Property(MaxTest = 200)]
    public void TheDocument_IsWhatWritingEveryEntryAgainGives(PositiveInt[] minutes, NonNegativeInt[] reloadAfter, PositiveInt length)
    {
        var timelineLength = 1 + (length.Get % 60); // short and long timelines, both sides of MinimumToKeep
        var p = new CustomerProfile("p1", Start);
        var reloads = reloadAfter.Select(r => r.Get % Math.Max(1, minutes.Length)).ToHashSet();
        for (var i = 0; i < minutes.Length; i++)
        {
            // Minutes repeat and go backwards: entries land in the middle, duplicates are refused, the oldest are trimmed.
            var at = Start.AddMinutes(minutes[i].Get % 500);
            ProfileCore.AddTimeline(p, new TimelineEntry($"e{minutes[i].Get % 700}", "product.viewed", i % 3 == 0 ? "web" : "email", at, i % 2 == 0 ? null : $"entry {i}"), timelineLength);
            var cached = ProfileSerializer.Serialize(p);
            Assert.Equal(Plain(p), cached);
            Assert.Equal(cached, ProfileSerializer.Serialize(p)); // written from the kept bytes the second time
            if (reloads.Contains(i))
            {
                p = ProfileSerializer.Deserialize(cached, p.Version);
                Assert.IsType<WrittenOnceList<TimelineEntry>>(p.TimelineEntries);
                Assert.Equal(cached, ProfileSerializer.Serialize(p));
            }
        }
    }

    [Fact]
    public void AMerge_WritesBothTimelines_AsIfNothingWereKept()
    {
        var a = new CustomerProfile("a", Start);
        var b = new CustomerProfile("b", Start);
        for (var i = 0; i < 40; i++)
        {
            ProfileCore.AddTimeline(i % 2 == 0 ? a : b, new TimelineEntry($"e{i}", "page.viewed", "web", Start.AddMinutes(i), null), 50);
        }

        _ = ProfileSerializer.Serialize(a); // both keep bytes now
        _ = ProfileSerializer.Serialize(b);
        ProfileCore.Merge(a, b, new MergeRecord("b", Identifier.Email("x@example.com"), "e-merge", "test", Start.AddHours(1)), 30, "GBP");

        Assert.Equal(30, a.TimelineEntries.Count);
        Assert.Equal(Plain(a), ProfileSerializer.Serialize(a));
    }

    // The same profile with its timeline in a plain list, which the converter writes entry by entry.
    private static byte[] Plain(CustomerProfile p)
    {
        var kept = p.TimelineEntries;
        p.TimelineEntries = [.. kept];
        try
        {
            return ProfileSerializer.Serialize(p);
        }
        finally
        {
            p.TimelineEntries = kept;
        }
    }
}
