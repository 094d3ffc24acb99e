using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.AuditU60;
using Omnichannel.Sdk.Storage;
using Feed = Omnichannel.Sdk.AuditU60.AuditU60Driver.Feed;
using Settings = Omnichannel.Sdk.AuditU60.AuditU60Driver.Settings;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U60: the hot path's shortcuts (the hot-profile cache, kept written JSON, shared documents, runs, batches, the
/// processed-id purge) against a model: the same events without the shortcut. Whatever differs is a defect.
/// </summary>
public sealed class AuditU60Tests
{
    private static async Task SameAsync(AuditU60Driver.Plan plan, Settings model, Settings shortcut)
    {
        var expected = await AuditU60Driver.RunAsync(plan, model, new InMemoryOmnichannelStore());
        var actual = await AuditU60Driver.RunAsync(plan, shortcut, new InMemoryOmnichannelStore());
        var difference = AuditU60Driver.FirstDifference(expected, actual);
        Assert.True(difference is null, $"{plan}; {shortcut}\n{difference}");
    }

    /// <summary>(1) A cache so small that every event evicts and reloads, against one that keeps everyone.</summary>
    [Property(MaxTest = 12)]
    public void ATinyCache_GivesWhatAHugeCacheGives(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get);
        var (size, bytes) = (seed.Get % 4) switch
        {
            0 => (0, 64L << 20),  // nothing kept
            1 => (1, 64L << 20),  // one profile a partition: evicted by the next person
            2 => (100_000, 1L),   // no document fits
            _ => (100_000, 6_000L), // some fit, the long histories do not
        };
        SameAsync(plan, new Settings(), new Settings { CacheSize = size, CacheBytes = bytes }).GetAwaiter().GetResult();
    }

    /// <summary>(2) One event at a time, against one batch per chunk and batches cut at random points.</summary>
    [Property(MaxTest = 12)]
    public void Batches_GiveWhatOneAtATimeGives(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get);
        SameAsync(plan, new Settings(), new Settings { Feed = seed.Get % 2 == 0 ? Feed.Batch : Feed.RandomBatches, CutSeed = seed.Get }).GetAwaiter().GetResult();
    }

    /// <summary>(4) An engine disposed and built again on the same store mid-sequence, against one that was not.</summary>
    [Property(MaxTest = 10)]
    public void ARestartMidSequence_ChangesNothing(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get);
        var at = new Random(seed.Get).Next(1, plan.Count);
        var feed = (Feed)(seed.Get % 3);
        var store = new InMemoryOmnichannelStore();
        var expected = AuditU60Driver.RunAsync(plan, new Settings { Feed = feed, CutSeed = seed.Get }, new InMemoryOmnichannelStore()).GetAwaiter().GetResult();
        var actual = AuditU60Driver.RunAsync(plan, new Settings { Feed = feed, CutSeed = seed.Get, RestartBefore = at }, store).GetAwaiter().GetResult();
        var difference = AuditU60Driver.FirstDifference(expected, actual);
        Assert.True(difference is null, $"{plan}; restart before {at}, {feed}\n{difference}");
    }

    /// <summary>A short timeline limit and tiny cache: trims on every event, with kept JSON and shared documents.</summary>
    [Property(MaxTest = 8)]
    public void AShortTimeline_WithATinyCacheAndBatches_GivesWhatOneAtATimeGives(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get, events: 24, chunks: 2);
        SameAsync(plan, new Settings { TimelineLength = 20 }, new Settings { TimelineLength = 20, CacheSize = 0, Feed = Feed.RandomBatches, CutSeed = seed.Get }).GetAwaiter().GetResult();
    }

    /// <summary>Every shortcut at once (four partitions, a cache of one, random batches, a restart) against the plain run.</summary>
    [Property(MaxTest = 12)]
    public void EveryShortcutAtOnce_GivesWhatThePlainRunGives(PositiveInt seed)
    {
        var plan = AuditU60Driver.Generate(seed.Get, events: 24, chunks: 2);
        var timeline = seed.Get % 2 == 0 ? 200 : 24;
        var restart = new Random(seed.Get).Next(1, plan.Count);
        SameAsync(plan, new Settings { TimelineLength = timeline }, new Settings { TimelineLength = timeline, Partitions = 4, CacheSize = 1, Feed = Feed.RandomBatches, CutSeed = seed.Get, RestartBefore = restart }).GetAwaiter().GetResult();
    }

    /// <summary>A long history (timeline past 200, 40 orders, a merge): every shortcut against the plain run.</summary>
    [Theory]
    [InlineData(0, 1L << 26, 1, null)]
    [InlineData(0, 1L << 26, 0, 150)]
    [InlineData(1, 1L << 26, 2, 200)]
    [InlineData(100_000, 3_000L, 1, null)]
    public async Task ALongHistory_GivesTheSameTrace_WhateverTheShortcut(int cacheSize, long cacheBytes, int feed, int? restart)
    {
        var plan = AuditU60Driver.Long();
        var expected = await AuditU60Driver.RunAsync(plan, new Settings(), new InMemoryOmnichannelStore());
        var actual = await AuditU60Driver.RunAsync(plan, new Settings { CacheSize = cacheSize, CacheBytes = cacheBytes, Feed = (Feed)feed, CutSeed = 3, RestartBefore = restart }, new InMemoryOmnichannelStore());
        Assert.True(AuditU60Driver.FirstDifference(expected, actual) is null, AuditU60Driver.FirstDifference(expected, actual));
        Assert.Contains(expected, l => l.Contains("\"orderCount\":4", StringComparison.Ordinal));
    }

    /// <summary>(5) A resend within the de-duplication window is a duplicate; after it (and a purge) it is applied again.</summary>
    [Property(MaxTest = 25)]
    public void TheDeduplicationWindow_FollowsItsModel(PositiveInt seed) =>
        AuditU60Driver.RunDedupeAsync(seed.Get, new InMemoryOmnichannelStore()).GetAwaiter().GetResult();
}
