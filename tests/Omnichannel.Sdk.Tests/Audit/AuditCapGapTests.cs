using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;
using static Omnichannel.Sdk.Tests.Audit.AuditU46Tests;
using static Omnichannel.Sdk.Tests.Audit.AuditU51Tests; // the same Ann, her two profiles and a promotion

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Caps on first attempts that fell due while the dispatcher was down (see docs/design-notes.md, "Caps: first attempts
/// that fell due while the dispatcher was down"). Public API, the test kit's fake clock, audit U46's renderer, scripted
/// transport and clock, and the test store <see cref="FlakyStore"/> so that only the test's own dispatch run claims.
/// </summary>
public sealed class AuditCapGapTests
{
    // Left alone by the review of the thirty-eighth session. Cap: one email per two hours. Ann has a profile by her email
    // (London) and one by her shop account (New York); at 03:00 UTC (22:00 in New York) each holds a promotion for its own
    // morning: "london" for 08:00 UTC, "new-york" for 08:00 there (13:00 UTC). The process is down until 16:00 UTC, and
    // she logs in then: the profiles merge. One dispatch run claims both. Each is a first attempt leaving late; each
    // counted the other at its old due time (08:00, 13:00), outside the window ending at 16:00, and both went at 16:00.
    // The earlier one ("london") goes; the other, leaving with it, would be a second within two hours.
    [Theory]
    [InlineData(false)]
    [InlineData(true)] // keys in the other order: the order is by due time first
    public async Task TwoFirstAttemptsDueWhileTheDispatcherWasDown_LeaveUnderACapOfOne_OneOfThem(bool keysReversed)
    {
        var (london, newYork, accepted, cancelled) = await BothDueWhileDownAsync(keysReversed, backAt: 16);
        Assert.Equal([london], accepted.Select(a => a.Key)); // the one due first; the other would be a second within two hours
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 16, 0, 0, TimeSpan.Zero), accepted[0].At);
        Assert.Equal([newYork], cancelled);
    }

    // The same, back at 14:00: "new-york" (13:00) is inside the window ending then, as its own due time, for "london"'s
    // check, and "london" leaves with it for "new-york"'s; checked together, both are cancelled (see the notes: caps hold,
    // one message was cancelled that could have gone). The cap is never exceeded.
    [Fact]
    public async Task TwoFirstAttemptsDueWhileTheDispatcherWasDown_WithinOneWindow_NeverBothLeave()
    {
        var (london, newYork, accepted, cancelled) = await BothDueWhileDownAsync(keysReversed: false, backAt: 14);
        Assert.True(accepted.Count <= 1, string.Join(", ", accepted.Select(a => a.Key)));
        Assert.Equal([london, newYork], accepted.Select(a => a.Key).Concat(cancelled).Order(StringComparer.Ordinal)); // each went or was cancelled
    }

    private static async Task<(string London, string NewYork, List<(string Key, DateTimeOffset At)> Accepted, List<string> Cancelled)> BothDueWhileDownAsync(bool keysReversed, int backAt)
    {
        var store = new InMemoryOmnichannelStore();
        var night = new DateTimeOffset(2026, 3, 3, 3, 0, 0, TimeSpan.Zero);
        var back = new DateTimeOffset(2026, 3, 3, backAt, 0, 0, TimeSpan.Zero);
        OmnichannelTestHost? hostRef = null;

        // The first hand-over waits until the other message has been decided (handed over too, or cancelled), so both are
        // checked before either's outcome is recorded, as when a provider is slow to answer.
        var otherDecided = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handedOver = 0;
        var email = new Scripted(ChannelNames.Email, new HostClock(() => hostRef!.Time), _ => DeliveryResult.Accepted("e"))
        {
            During = async () =>
            {
                if (Interlocked.Increment(ref handedOver) == 1)
                {
                    await otherDecided.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }
                else
                {
                    otherDecided.TrySetResult();
                }
            },
        };
        OmnichannelTestHost Host(DateTimeOffset start, IOmnichannelStore on) => hostRef = OmnichannelTestHost.Create(
            o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(2), Channel: ChannelNames.Email)),
            start,
            on,
            new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));

        var host = Host(night, store);
        await TwoProfilesWithEmailConsentAsync(host, "America/New_York", night);
        var london = keysReversed ? "z-london" : "a-london";
        var newYork = keysReversed ? "a-new-york" : "z-new-york";
        Assert.Equal(night.AddHours(5), (await host.Client.SendAsync(AnnEmail, Promo(london))).DueAt);
        Assert.Equal(night.AddHours(10), (await host.Client.SendAsync(AnnId, Promo(newYork))).DueAt);
        await host.DisposeAsync();

        var flaky = new FlakyStore(store) { ClaimOnlyHere = true };
        flaky.Rewrite = c =>
        {
            if (c.EventId is { } id && id.EndsWith(":cancelled", StringComparison.Ordinal))
            {
                otherDecided.TrySetResult();
            }

            return c;
        };
        host = Host(back, flaky);
        try
        {
            await host.TrackAsync(host.Event("user.logged_in", [AnnEmail, AnnId]));
            await Task.Run(() =>
            {
                FlakyStore.ClaimsHere.Value = true;
                return host.Engine.RunDispatchAsync();
            });

            List<string> cancelled = [];
            foreach (var key in new[] { london, newYork })
            {
                if (await host.Store.IsEventProcessedAsync(key + ":cancelled"))
                {
                    cancelled.Add(key);
                }
            }

            return (london, newYork, [.. email.Accepted.OrderBy(a => a.At).ThenBy(a => a.Key, StringComparer.Ordinal)], cancelled);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}
