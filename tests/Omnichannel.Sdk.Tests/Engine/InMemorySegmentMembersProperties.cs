using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// Issue 14 (sixty-fifth session): the in-memory store changes only the member sets of the segments a profile left or
/// entered (it removed her from every old one and added her to every new one). Whatever sequence of commits, each
/// segment's members, paged as a caller pages them, are exactly the profiles whose last commit named it.
/// </summary>
public sealed class InMemorySegmentMembersProperties
{
    private static readonly string[] SegmentIds = ["vip", "lapsed", "active", "frequent", "returners"];

    [Property(MaxTest = 200)]
    public async Task SegmentMembers_AreThoseWhoseLastCommitNamedTheSegment(NonNegativeInt[] steps, int seed)
    {
        var store = new InMemoryOmnichannelStore();
        var random = new Random(seed);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var model = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var _ in steps)
        {
            var profile = $"p{random.Next(8)}";

            // Any subset, in any order, sometimes the same as before, sometimes none; a list or a set, as callers pass.
            var chosen = SegmentIds.Where(_ => random.Next(3) == 0).OrderBy(_ => random.Next()).ToList();
            if (random.Next(4) == 0 && model.TryGetValue(profile, out var same))
            {
                chosen = [.. same.OrderBy(_ => random.Next())];
            }

            IReadOnlyCollection<string> segments = random.Next(2) == 0 ? chosen : new HashSet<string>(chosen, StringComparer.Ordinal);
            var expected = versions.GetValueOrDefault(profile);
            var result = await store.CommitAsync(new ProfileCommit { ProfileId = profile, ExpectedVersion = expected, Document = "{}"u8.ToArray(), Segments = segments });
            Assert.Equal(CommitStatus.Committed, result.Status);
            versions[profile] = result.Version;
            model[profile] = [.. chosen];

            foreach (var segment in SegmentIds)
            {
                var want = model.Where(kv => kv.Value.Contains(segment)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
                var got = new List<string>();
                string? after = null;
                while (await store.ListSegmentMembersAsync(segment, after, 3) is { Count: > 0 } page)
                {
                    got.AddRange(page);
                    after = page[^1];
                }

                Assert.Equal(want, got);
            }
        }
    }
}
