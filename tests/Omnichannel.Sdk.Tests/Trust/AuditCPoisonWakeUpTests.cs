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
}
