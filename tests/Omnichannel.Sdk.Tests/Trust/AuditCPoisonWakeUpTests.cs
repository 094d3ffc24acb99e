using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit C: a profile whose wake-up fails the same way every time (its stored document cannot be read) must not be retried
/// in a hot loop: the engine's timer used to be re-armed at once for a wake-up that was still due, so with the clock
/// standing still the same failure ran hundreds of times a second.
/// </summary>
public sealed class AuditCPoisonWakeUpSpinTests
{
    [Fact]
    public async Task AWakeUpThatCannotRun_IsRetriedAfterAPause_NotAtOnce()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var store = new InMemoryOmnichannelStore();
        var bad = await store.CommitAsync(new ProfileCommit
        {
            ProfileId = "p-unreadable",
            ExpectedVersion = 0,
            Document = "{\"this is\": not a profile"u8.ToArray(),
            WakeAt = time.GetUtcNow() - TimeSpan.FromMinutes(1),
        });
        Assert.Equal(CommitStatus.Committed, bad.Status);
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, store, time);

        await engine.RunDueAsync(); // runs one after another (a gate): this one ends after any started at start-up

        // The timer waits before the next try; the fake clock never moves, so nothing runs again meanwhile.
        var next = engine.NextWakeAt;
        Assert.True(next > time.GetUtcNow() && next < DateTimeOffset.MaxValue, $"the failing wake-up is retried at {next:O}, now is {time.GetUtcNow():O}");

        // Each failure in a row waits longer (1 s, 2 s, … at most 5 minutes).
        time.Advance(next - time.GetUtcNow());
        await engine.RunDueAsync();
        Assert.True(engine.NextWakeAt - time.GetUtcNow() > next - OmnichannelTestHost.DefaultStart, "the pause grows");
    }

    /// <summary>
    /// Found in review: a run read due wake-ups 512 at a time, earliest first, and stopped when a whole page failed. With
    /// 512 unreadable profiles due first, every wake-up due after theirs waited for ever: her segment window never closed.
    /// </summary>
    [Fact]
    public async Task FiveHundredAndThirteenWakeUpsThatCannotRun_DoNotHoldBackTheOthers()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var store = new InMemoryOmnichannelStore();
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Segments.Add(new Omnichannel.Sdk.Segments.SegmentDefinition("browsing", "Viewed a product in the last hour", new Omnichannel.Sdk.Segments.EventRule("product.viewed") { Window = Omnichannel.Sdk.Segments.TimeWindow.Last(Omnichannel.Sdk.Segments.IsoDuration.FromTime(TimeSpan.FromHours(1))) }));
        await using var engine = new OmnichannelEngine(options, store, time);
        var ann = Identifier.CustomerId("ann");
        await engine.TrackAsync(new CustomerEvent { Id = "view-1", Type = "product.viewed", Timestamp = time.GetUtcNow(), Identifiers = [ann] });
        Assert.Contains("browsing", (await engine.GetProfileAsync(ann))!.Segments.Select(m => m.SegmentId));

        for (var i = 0; i < 513; i++)
        {
            var bad = await store.CommitAsync(new ProfileCommit
            {
                ProfileId = $"p-unreadable-{i:D4}",
                ExpectedVersion = 0,
                Document = "{\"this is\": not a profile"u8.ToArray(),
                WakeAt = time.GetUtcNow() + TimeSpan.FromMinutes(30),
            });
            Assert.Equal(CommitStatus.Committed, bad.Status);
        }

        time.Advance(TimeSpan.FromHours(2)); // the engine's timer starts a run; this one runs after it (a gate)
        await engine.RunDueAsync();

        Assert.DoesNotContain("browsing", (await engine.GetProfileAsync(ann))!.Segments.Select(m => m.SegmentId));
    }
}
