using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Live;

public sealed class LiveSegmentTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private static SegmentDefinition RecentBuyers => Segment.Define("recent-buyers", "Bought in the last 30 days")
        .Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D"));

    private static SegmentDefinition Lapsed => Segment.Define("lapsed", "No order for 90 days")
        .Where(r => r.LastEvent(EventTypes.OrderPlaced).MoreThanAgo("P90D"));

    private static SegmentDefinition Vip => Segment.Define("vip", "VIPs").Where(r => r.Trait("tier").Eq("vip"));

    private static SegmentDefinition LapsedVip => Segment.Define("lapsed-vip", "Lapsed VIPs")
        .Where(r => r.All(r.Segment("vip"), r.Segment("lapsed")));

    private static OmnichannelTestHost Host(params SegmentDefinition[] segments) => OmnichannelTestHost.Create(o =>
    {
        foreach (var s in segments)
        {
            o.Segments.Add(s);
        }
    });

    // A rig, so that the Orleans tests (which compile this file) run these scenarios through a cluster too.
    private static JourneyRig Rig(params SegmentDefinition[] segments) => JourneyRig.Create([], segments);

    private static Task Order(OmnichannelTestHost host, Identifier who, decimal total = 20m) =>
        host.TrackAsync(EventTypes.OrderPlaced, [who], new { order_id = Guid.NewGuid().ToString("N"), total, currency = "GBP" });

    [Fact]
    public async Task AnEvent_EntersTheProfile_AtTheInstantItIsProcessed_AndRecordsItOnProfileAndTimeline()
    {
        await using var rig = Rig(RecentBuyers);
        var host = rig.Host;
        var result = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });

        var change = Assert.Single(result.SegmentChanges);
        Assert.Equal(new SegmentChange("recent-buyers", true, host.Time.GetUtcNow()), change);
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal([new SegmentMembership("recent-buyers", host.Time.GetUtcNow())], ann.Segments);
        Assert.Contains(ann.Timeline, t => t.Type == EventTypes.SegmentEntered && t.Summary == "Bought in the last 30 days");
        Assert.Equal([ann.Id], await host.Client.GetSegmentMembersAsync("recent-buyers"));
    }

    [Fact]
    public async Task TimeAlone_ExitsTheWindow_ExactlyWhenTheOrderIsThirtyDaysOld()
    {
        await using var rig = Rig(RecentBuyers);
        var host = rig.Host;
        await Order(host, Ann);
        var ordered = host.Time.GetUtcNow();

        await host.AdvanceAsync(TimeSpan.FromDays(30) - TimeSpan.FromTicks(1));
        Assert.True((await host.ProfileAsync(Ann)).IsInSegment("recent-buyers"));

        await host.AdvanceAsync(TimeSpan.FromDays(5));
        var ann = await host.ProfileAsync(Ann);
        Assert.False(ann.IsInSegment("recent-buyers"));
        var exit = Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentExited);
        Assert.Equal(ordered.AddDays(30), exit.Timestamp);
        Assert.Empty(await host.Client.GetSegmentMembersAsync("recent-buyers"));
    }

    [Fact]
    public async Task MoreThanAgo_BecomesTrueByItself_AndAnOrderTakesTheProfileOut()
    {
        await using var rig = Rig(Lapsed);
        var host = rig.Host;
        await Order(host, Ann);
        var first = host.Time.GetUtcNow();
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("lapsed"));

        await host.AdvanceAsync(TimeSpan.FromDays(100));
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(first.AddDays(90), Assert.Single(ann.Segments).EnteredAt);

        var again = await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 5, currency = "GBP" });
        Assert.Equal([new SegmentChange("lapsed", false, host.Time.GetUtcNow())], again.SegmentChanges);
    }

    [Fact]
    public async Task SegmentsOfSegments_FollowTheirParts_IncludingTimeDrivenOnes()
    {
        await using var rig = Rig(Vip, Lapsed, LapsedVip);
        var host = rig.Host;
        await host.TrackAsync("profile.updated", [Ann], traits: new { tier = "vip" });
        await Order(host, Ann);
        await Order(host, Bob);
        Assert.Equal(["vip"], (await host.ProfileAsync(Ann)).Segments.Select(s => s.SegmentId));

        await host.AdvanceAsync(TimeSpan.FromDays(91));
        Assert.Equal(["lapsed", "lapsed-vip", "vip"], (await host.ProfileAsync(Ann)).Segments.Select(s => s.SegmentId));
        Assert.Equal(["lapsed"], (await host.ProfileAsync(Bob)).Segments.Select(s => s.SegmentId));

        await host.TrackAsync("profile.updated", [Ann], traits: new { tier = "gold" });
        Assert.Equal(["lapsed"], (await host.ProfileAsync(Ann)).Segments.Select(s => s.SegmentId));
    }

    [Fact]
    public async Task AMerge_KeepsTheOlderMembership_AndReevaluatesEverySegment()
    {
        var frequent = Segment.Define("frequent", "Two orders in a year")
            .Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(2)).Within("P365D"));
        await using var rig = Rig(RecentBuyers, frequent);
        var host = rig.Host;
        var cookie = Identifier.AnonymousId("cookie-1");
        await Order(host, cookie);
        var anonymousEntered = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await Order(host, Ann);

        var login = await host.TrackAsync("user.logged_in", [cookie, Ann]);

        Assert.Equal([new SegmentChange("frequent", true, host.Time.GetUtcNow())], login.SegmentChanges);
        var ann = await host.ProfileAsync(cookie);
        Assert.Equal(anonymousEntered, ann.Segments.Single(s => s.SegmentId == "recent-buyers").EnteredAt);
        Assert.Equal([ann.Id], await host.Client.GetSegmentMembersAsync("recent-buyers"));
    }

    [Fact]
    public async Task UpsertSegment_BackfillsExistingProfiles_WithProgress()
    {
        await using var rig = Rig(RecentBuyers);
        var host = rig.Host;
        for (var i = 0; i < 30; i++)
        {
            await Order(host, Identifier.CustomerId($"c{i}"), total: i);
        }

        var reports = new List<SegmentBackfillProgress>();
        var bigSpenders = Segment.Define("big", "Spent 20 or more").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Gte(20));
        var backfill = await host.Client.UpsertSegmentAsync(bigSpenders, new SyncProgress(reports));
        await backfill.Completion;

        Assert.Equal(new SegmentBackfillProgress("big", 30, 0, true), backfill.Progress);
        Assert.NotEmpty(reports);
        var members = await host.Client.GetSegmentMembersAsync("big", limit: 100);
        Assert.Equal(10, members.Count);
        Assert.Contains("big", host.Client.Segments.Select(s => s.Id));
    }

    [Fact]
    public async Task Preview_CountsWithoutCommitting()
    {
        await using var rig = Rig(RecentBuyers);
        var host = rig.Host;
        for (var i = 0; i < 12; i++)
        {
            await Order(host, Identifier.CustomerId($"c{i}"), total: i);
        }

        var preview = await host.Client.PreviewSegmentAsync(Segment.Define("small", "Spent under 5").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Lt(5)));

        Assert.Equal(("small", 5L, 12L), (preview.SegmentId, preview.Matching, preview.Profiles));
        Assert.DoesNotContain("small", host.Client.Segments.Select(s => s.Id));
        Assert.All(await Task.WhenAll(Enumerable.Range(0, 12).Select(i => host.ProfileAsync(Identifier.CustomerId($"c{i}")))), p => Assert.False(p.IsInSegment("small")));
    }

    [Fact]
    public async Task UpsertSegment_WithAnUnknownReference_IsRefusedWithThePath()
    {
        await using var rig = Rig(RecentBuyers);
        var host = rig.Host;
        var ex = await Assert.ThrowsAsync<SegmentDefinitionException>(async () =>
            await host.Client.UpsertSegmentAsync(Segment.Define("x", "X").Where(r => r.Segment("nope"))));
        Assert.Contains(ex.Errors, e => e.Message.Contains("nope", StringComparison.Ordinal));
        Assert.DoesNotContain("x", host.Client.Segments.Select(s => s.Id));
    }

    [Fact]
    public async Task RemoveSegment_StopsItsMembersList_AndIsRefusedWhileReferenced()
    {
        await using var rig = Rig(Vip, Lapsed, LapsedVip);
        var host = rig.Host;
        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.RemoveSegmentAsync("vip"));
        Assert.True(await host.Client.RemoveSegmentAsync("lapsed-vip"));
        Assert.False(await host.Client.RemoveSegmentAsync("lapsed-vip"));
        await Assert.ThrowsAsync<ArgumentException>(async () => await host.Client.GetSegmentMembersAsync("lapsed-vip"));
    }

    [Fact]
    public async Task InvalidSegmentsInOptions_FailTheEngineAtStart_WithEveryPath()
    {
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => Host(LapsedVip));
        Assert.Contains(ex.Failures, f => f.Contains("vip", StringComparison.Ordinal) && f.StartsWith("Segments[0]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddSegmentsFromJson_LoadsThemThroughTheContainer()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel().AddSegmentsFromJson("""
            [{ "id": "vip", "name": "VIPs", "rule": { "trait": "tier", "op": "eq", "value": "vip" } }]
            """);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IOmnichannelClient>();
        var result = await client.TrackAsync(new CustomerEvent
        {
            Id = "e1",
            Type = "profile.updated",
            Timestamp = OmnichannelTestHost.DefaultStart,
            Identifiers = [Ann],
            Traits = JsonData.From(new { tier = "vip" }),
        });
        Assert.Equal("vip", Assert.Single(result.SegmentChanges).SegmentId);
    }

    [Fact]
    public void AddSegmentsFromJson_WithErrors_ThrowsWithJsonPaths()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<SegmentDefinitionException>(() => services.AddOmnichannel().AddSegmentsFromJson("""
            [{ "id": "vip", "name": "VIPs", "rule": { "trait": "tier", "op": "equals", "value": "vip" } }]
            """));
        Assert.Contains(ex.Errors, e => e.Path == "$[0].rule.op");
    }

    [Fact]
    public async Task WakeUps_SurviveAnEngineRestart_OnTheSameStore()
    {
        var store = new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var first = OmnichannelTestHost.Create(o => o.Segments.Add(RecentBuyers), start, store))
        {
            await Order(first, Ann);
        }

        await using var second = OmnichannelTestHost.Create(o => o.Segments.Add(RecentBuyers), start, store);
        Assert.Equal(start.AddDays(30), await second.Engine.GetNextWakeUpAsync());
        await second.AdvanceAsync(TimeSpan.FromDays(31));
        Assert.False((await second.ProfileAsync(Ann)).IsInSegment("recent-buyers"));
    }

    private sealed class SyncProgress(List<SegmentBackfillProgress> into) : IProgress<SegmentBackfillProgress>
    {
        public void Report(SegmentBackfillProgress value)
        {
            lock (into)
            {
                into.Add(value);
            }
        }
    }
}
