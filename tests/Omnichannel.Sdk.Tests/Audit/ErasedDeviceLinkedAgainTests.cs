using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Found by <see cref="AuditU18Tests"/> in CI (forty-sixth session). An erased person's cookie (or device id) used again
/// beside another person's own identifier is his now ("a tombstoned shared device refuses only anonymous use"), and it
/// was linked to him as any new identifier: her events through the device alone, queued before her erasure or retried
/// by a client, were then taken onto his profile — her order counted as his. The link now carries the erasure's time
/// (<see cref="LinkedIdentifier.ReturnedAfter"/>, as an identifier of a person allowed back does), so what the device
/// alone sends dated before the erasure stays out; his own events, and anything dated after, go in as before.
/// </summary>
public sealed class ErasedDeviceLinkedAgainTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    /// <param name="stampedAfterTheErasure">
    /// Left alone last session, closed in the forty-seventh: the webhook retried with its own id but stamped after her
    /// erasure (a client whose clock runs ahead, or one that stamps each attempt). The date alone let it in; the event id
    /// is hers, and her erasure tombstoned it. An event through a link that came back after an erasure now has its id
    /// looked up among the tombstones (one store read, for such links only).
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HerOrderRetriedThroughTheSharedCookie_AfterItIsHis_StaysOutOfHisProfile(bool stampedAfterTheErasure)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var cookie = Identifier.AnonymousId("shared-browser");
        var her = Identifier.Email("ann-shared@example.com");
        var him = Identifier.Email("bob-shared@example.com");
        var order = await HerOrderThroughTheCookie_ThenErasedAsync(host, cookie, her);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [cookie, him]))).Status);
        var retried = await host.Client.TrackAsync(stampedAfterTheErasure ? order with { Timestamp = host.Time.GetUtcNow() + TimeSpan.FromMinutes(3) } : order);
        var queued = await host.Client.TrackAsync(host.Event("page.viewed", [cookie]) with { Timestamp = Start + TimeSpan.FromMinutes(30) });

        Assert.Equal(TrackStatus.Erased, retried.Status);
        Assert.Equal(TrackStatus.Erased, queued.Status);
        var bob = await host.Client.GetProfileAsync(him);
        Assert.NotNull(bob);
        Assert.Equal(0, bob.Statistics.OrderCount);
        Assert.True(bob.Has(cookie));

        // What the browser sends from now on, with ids of its own, is his.
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [cookie], new { order_id = "o-bob", total = 9, currency = "GBP" }))).Status);
        Assert.Equal(1, (await host.Client.GetProfileAsync(him))!.Statistics.OrderCount);
    }

    /// <summary>
    /// The same for a person allowed back (<see cref="Omnichannel.Sdk.Privacy.EraseOptions.AllowReturn"/>): once she has signed up again,
    /// her pre-erasure order retried with a stamp after the erasure was taken onto her new profile, bringing back the
    /// history the erasure removed. Its id is tombstoned, and now looked up.
    /// </summary>
    [Fact]
    public async Task HerOldOrderRetriedWithALaterStamp_AfterSheCameBack_StaysErased()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var her = Identifier.Email("ann-back@example.com");
        var order = host.Event(EventTypes.OrderPlaced, [her], new { order_id = "o-old", total = 21, currency = "GBP" });
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(order)).Status);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await host.Client.EraseProfileAsync(her, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [her]))).Status);
        var retried = await host.Client.TrackAsync(order with { Timestamp = host.Time.GetUtcNow() + TimeSpan.FromMinutes(3) });

        Assert.Equal(TrackStatus.Erased, retried.Status);
        Assert.Equal(0, (await host.Client.GetProfileAsync(her))!.Statistics.OrderCount);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [her], new { order_id = "o-new", total = 9, currency = "GBP" }))).Status);
        Assert.Equal(1, (await host.Client.GetProfileAsync(her))!.Statistics.OrderCount);
    }

    /// <summary>
    /// Her order through the browser's <paramref name="cookie"/>, her login on it, an hour, her erasure, another hour.
    /// Returns the order, for a retry of its webhook.
    /// </summary>
    internal static async Task<CustomerEvent> HerOrderThroughTheCookie_ThenErasedAsync(OmnichannelTestHost host, Identifier cookie, Identifier her)
    {
        var order = host.Event(EventTypes.OrderPlaced, [cookie], new { order_id = "o-ann", total = 21, currency = "GBP" });
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(order)).Status);
        await host.TrackAsync("user.logged_in", [cookie, her]);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await host.Client.EraseProfileAsync(her));
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        return order;
    }
}
