using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Def: segments removed, re-added and changed while profiles hold memberships of them.</summary>
public sealed class AuditDefSegmentTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly Identifier Cid = Identifier.CustomerId("cid");

    private static SegmentDefinition Tier(string tier) => Segment.Define("tiered", "Tier " + tier).Where(r => r.Trait("tier").Eq(tier));

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    private static Task SetTier(OmnichannelTestHost host, Identifier who, string tier) =>
        host.TrackAsync("profile.updated", [who], traits: new { tier });

    private static async Task<List<string>> MembersAsync(OmnichannelTestHost host, string segmentId) =>
        [.. await host.Client.GetSegmentMembersAsync(segmentId, limit: 1000)];

    private static async Task<List<string>> FromScratchAsync(OmnichannelTestHost host, SegmentDefinition segment, params Identifier[] people)
    {
        var ids = new List<string>();
        foreach (var who in people)
        {
            var p = await host.ProfileAsync(who);
            if (SegmentRuntime.Preview(p, segment, host.Time.GetUtcNow()))
            {
                ids.Add(p.Id);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    [Fact]
    public async Task ReAdded_WithTheSameRule_UntouchedMembersEnterAnew_AsAFromScratchEvaluationWould()
    {
        await using var host = Host(Tier("vip"));
        await SetTier(host, Ann, "vip");
        await SetTier(host, Bob, "vip");
        await host.AdvanceAsync(TimeSpan.FromDays(1));

        Assert.True(await host.Client.RemoveSegmentAsync("tiered"));
        await SetTier(host, Bob, "vip"); // Bob is touched while it is gone; Ann is not
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        var readded = host.Time.GetUtcNow();
        await (await host.Client.UpsertSegmentAsync(Tier("vip"))).Completion;

        // Both are members of the new segment since it came back, each with one fresh enter.
        foreach (var who in new[] { Ann, Bob })
        {
            var p = await host.ProfileAsync(who);
            Assert.Equal([new SegmentMembership("tiered", readded)], p.Segments);
            Assert.Equal(2, p.Timeline.Count(t => t.Type == EventTypes.SegmentEntered));
        }

        Assert.Equal(await FromScratchAsync(host, Tier("vip"), Ann, Bob), await MembersAsync(host, "tiered"));
    }

    [Fact]
    public async Task ReAdded_WithAnotherRule_OldMembersLeaveNoExit_AndOnlyNewMatchesAreListed()
    {
        await using var host = Host(Tier("vip"));
        await SetTier(host, Ann, "vip");
        await SetTier(host, Bob, "gold");
        await SetTier(host, Cid, "vip");

        Assert.True(await host.Client.RemoveSegmentAsync("tiered"));
        var backfill = await host.Client.UpsertSegmentAsync(Tier("gold"));
        await backfill.Completion;

        Assert.Equal(await FromScratchAsync(host, Tier("gold"), Ann, Bob, Cid), await MembersAsync(host, "tiered"));
        var ann = await host.ProfileAsync(Ann);
        Assert.Empty(ann.Segments);
        // She was never in the re-added segment: a from-scratch evaluation has nothing to exit.
        Assert.DoesNotContain(ann.Timeline, t => t.Type == EventTypes.SegmentExited);
    }

    [Fact]
    public async Task ReAdded_AProfileAnEventReachesBeforeTheBackfill_IsEvaluatedFromScratch_NotLeftStaleOrDropped()
    {
        await using var host = Host(Tier("vip"), Segment.Define("buyers", "Buyers").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D")));
        await SetTier(host, Ann, "vip");
        await SetTier(host, Bob, "vip");

        Assert.True(await host.Client.RemoveSegmentAsync("tiered"));
        // Re-added under the check-then-apply path a cluster uses, with no back-fill: only events and wake-ups reach profiles.
        host.Engine.ChangeSegment(Tier("vip"), apply: true);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        var touched = host.Time.GetUtcNow();
        var result = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5, currency = "GBP" });

        Assert.Contains(new SegmentChange("tiered", true, touched), result.SegmentChanges);
        Assert.Contains(new SegmentMembership("tiered", touched), (await host.ProfileAsync(Ann)).Segments);
    }

    [Fact]
    public async Task ReAdded_AStaleTimedCheckOfTheOldRule_DoesNotExitTheNewMember()
    {
        var recent = Segment.Define("buyers", "Bought in 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D"));
        var ever = Segment.Define("buyers", "Ever bought").Where(r => r.Event(EventTypes.OrderPlaced).Within("P3650D"));
        await using var host = Host(recent);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5, currency = "GBP" });

        Assert.True(await host.Client.RemoveSegmentAsync("buyers"));
        await (await host.Client.UpsertSegmentAsync(ever)).Completion;
        await host.AdvanceAsync(TimeSpan.FromDays(40));

        var ann = await host.ProfileAsync(Ann);
        Assert.True(ann.IsInSegment("buyers"));
        Assert.Equal([ann.Id], await MembersAsync(host, "buyers"));
    }

    [Fact]
    public async Task ChangedInPlace_UntouchedProfilesFollowTheNewRule_AndTheNewWindowKeepsItsWakeUp()
    {
        var recent = Segment.Define("buyers", "Bought in 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D"));
        var week = Segment.Define("buyers", "Bought in 7 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P7D"));
        await using var host = Host(recent, Tier("vip"));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 5, currency = "GBP" });
        var ordered = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Bob], new { order_id = "o2", total = 5, currency = "GBP" });
        var bobOrdered = host.Time.GetUtcNow();

        await (await host.Client.UpsertSegmentAsync(week)).Completion;
        var changed = host.Time.GetUtcNow();

        var ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("buyers"));
        Assert.Equal(changed, Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentExited).Timestamp);
        Assert.Equal([new SegmentMembership("buyers", bobOrdered)], (await host.ProfileAsync(Bob)).Segments);

        await host.AdvanceAsync(TimeSpan.FromDays(8));
        var bob = await host.ProfileAsync(Bob);
        Assert.False(bob.IsInSegment("buyers"));
        Assert.Equal(bobOrdered.AddDays(7), Assert.Single(bob.Timeline, t => t.Type == EventTypes.SegmentExited).Timestamp);
        Assert.Empty(await MembersAsync(host, "buyers"));
        Assert.True(ordered < bobOrdered);
    }
}
