using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review rv60 on one SQLite file: audit U98's lift mark on the store's list survives a restart, a merge and an erasure
/// in between, and keeps the store's answer and the profile's in agreement.
/// </summary>
public sealed class ReviewRv60Tests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 7, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // A bounce heard on her cookie's profile, lifted by one process; the address linked there (directly, or through a
    // merge with her account) by the next process on the same file: sent.
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task ALiftMark_SurvivesARestart_AndTheLinkOrMergeAfterItSends(bool hard, bool throughMerge)
    {
        await using var store = await SqliteTestStores.Open(_folder.File());
        var (cookie, ann, address) = (Identifier.AnonymousId("cookie-rv60"), Identifier.CustomerId("ann-rv60"), Identifier.Email("ann-rv60@example.com"));
        await using (var before = Host(store, Start, out _))
        {
            await before.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
            await ReportBouncesAsync(before, cookie, address, hard);
            Assert.True(await before.Client.IsSuppressedAsync(address));
            Assert.True(await before.Client.LiftErasureAsync(address));
        }

        await using var after = Host(store, Start.AddDays(1), out var email);
        if (throughMerge)
        {
            await after.TrackAsync("user.signed_up", [ann, address]);
            await after.TrackAsync("user.logged_in", [cookie, ann]);
        }
        else
        {
            await after.TrackAsync("user.signed_up", [cookie, address]);
        }

        await after.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true });
        Assert.False(await after.Client.IsSuppressedAsync(address));
        Assert.Equal(SendStatus.Queued, (await after.Client.SendAsync(cookie, Request("k1"))).Status);
        await after.AdvanceAsync(TimeSpan.Zero);
        Assert.Single(email.Messages);
    }

    // The lift, then the address erased with the account that held it: the erasure lists it again (events naming it are
    // refused); the host lifts it again while the cookie's profile that heard the old bounce still does not hold it, and
    // the address linked there afterwards is sent to.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnErasureAfterTheLift_ThenASecondLift_TheLinkAfterItSends(bool hard)
    {
        await using var store = await SqliteTestStores.Open(_folder.File());
        await using var host = Host(store, Start, out var email);
        var (cookie, ann, address) = (Identifier.AnonymousId("cookie-rv60e"), Identifier.CustomerId("ann-rv60e"), Identifier.Email("ann-rv60e@example.com"));
        await host.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
        await ReportBouncesAsync(host, cookie, address, hard);
        Assert.True(await host.Client.LiftErasureAsync(address));
        await host.TrackAsync("user.signed_up", [ann, address]);
        Assert.True(await host.Engine.EraseProfileAsync(ann));
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));

        Assert.True(await host.Client.IsSuppressedAsync(address));
        await Assert.ThrowsAsync<EventRejectedException>(async () => await host.TrackAsync("user.signed_up", [cookie, address])); // erased: refused until lifted

        Assert.True(await host.Client.LiftErasureAsync(address));
        Assert.False(await host.Client.IsSuppressedAsync(address));
        await host.TrackAsync("user.signed_up", [cookie, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(cookie, Request("k2"))).Status);
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal("k2", Assert.Single(email.Messages).MessageId);
    }

    private static MessageRequest Request(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "hello", Class = MessageClass.Transactional };

    private static async Task ReportBouncesAsync(OmnichannelTestHost host, Identifier on, Identifier address, bool hard)
    {
        for (var i = 0; i < (hard ? 1 : 3); i++)
        {
            await host.TrackAsync(EventTypes.MessageBounced, [on], new { channel = "email", address = address.Value, message_id = $"host-{i}", bounce_type = hard ? "hard" : "soft" });
            await host.AdvanceAsync(TimeSpan.FromHours(1));
        }
    }

    private static OmnichannelTestHost Host(IOmnichannelStore store, DateTimeOffset start, out RecordingTransport email)
    {
        email = new RecordingTransport(ChannelNames.Email);
        return OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            start: start,
            store: store,
            delivery: new DeliverySetup { Renderer = new AddressRenderer() }.AddTransport("email", email));
    }

    private sealed class AddressRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "t" });
    }
}
