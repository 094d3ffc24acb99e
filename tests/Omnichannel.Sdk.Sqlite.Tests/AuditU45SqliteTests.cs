using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U45 on SQLite: what an erasure leaves behind holds after the process restarts.</summary>
public sealed class AuditU45SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // Her order, off the timeline and past the de-duplication window, re-sent under a fresh cookie after a restart, and a
    // click report on her receipt after a returnable erasure (PostHog/posthog#20187): both stay out, nothing is re-created.
    [Fact]
    public async Task AfterARestart_HerOldOrderAndALateReportOnHerReceipt_StayErased()
    {
        var path = _folder.File();
        var start = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        var ann = Identifier.CustomerId("ann-u45");
        var cy = Identifier.Email("cy.u45@example.com");
        CustomerEvent order;
        DateTimeOffset now;
        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }))
        await using (var host = OmnichannelTestHost.Create(o => o.TimelineLength = 2, start: start, store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email))))
        {
            await host.TrackAsync("user.signed_up", [ann]);
            order = host.Event(EventTypes.OrderPlaced, [ann], new { order_id = "o-u45", total = 80 });
            await host.TrackAsync(order);
            for (var i = 0; i < 3; i++)
            {
                await host.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = "p" + i });
            }

            await host.TrackAsync("user.signed_up", [cy]);
            await host.Client.SendAsync(cy, new MessageRequest { Key = "receipt-u45", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
            await host.Engine.RunDispatchAsync();
            Assert.True(await host.Client.EraseProfileAsync(ann));
            Assert.True(await host.Client.EraseProfileAsync(cy, new EraseOptions { AllowReturn = true }));
            await host.AdvanceAsync(TimeSpan.FromDays(31));
            await host.Engine.PurgeProcessedEventsAsync();
            now = host.Time.GetUtcNow();
        }

        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }))
        await using (var host = OmnichannelTestHost.Create(start: now, store: store))
        {
            var cookie = Identifier.AnonymousId("fresh-cookie-u45");
            Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(order with { Identifiers = [cookie] })).Status);
            var click = host.Event(EventTypes.MessageClicked, [cy], new { message_id = "receipt-u45", channel = "email" }, channel: ChannelNames.Email);
            Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(click)).Status);
            Assert.Null(await host.Client.GetProfileAsync(cookie));
            Assert.Null(await host.Client.GetProfileAsync(cy));
            Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
        }
    }
}
