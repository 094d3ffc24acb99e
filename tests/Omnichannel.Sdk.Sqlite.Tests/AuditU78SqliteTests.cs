using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U78 on SQLite: two engines, each with its own store on one database file (two processes), and a quick retry
/// of a marketing email decided on the sending engine's hot copy while the other recorded her opt-out.
/// </summary>
public sealed class AuditU78SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u78");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Answers its first hand-over with a transient failure after running <c>during</c>; accepts and keeps later ones.</summary>
    private sealed class FailsOnceTransport(Func<Task> during) : IChannelTransport
    {
        private int _attempts;

        public string Channel => ChannelNames.Email;

        public int Accepted;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _attempts) == 1)
            {
                await during();
                return DeliveryResult.TransientFailure("421 try again");
            }

            Interlocked.Increment(ref Accepted);
            return DeliveryResult.Accepted("p");
        }
    }

    [Fact]
    public async Task HerOptOutThroughAnotherProcess_WhileTheFirstHandOverFails_StopsTheQuickRetry()
    {
        var path = "Data Source=" + _folder.File();
        await using var storeHere = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using var storeThere = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        void Options(OmnichannelOptions o)
        {
            o.Partitions = 1;
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            o.Delivery.Retry!.MaxRetryAttempts = 2;
        }

        await using var there = OmnichannelTestHost.Create(Options, store: storeThere);
        var email = new FailsOnceTransport(() =>
            there.TrackAsync(there.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }) with { Id = "there-consent" }));
        await using var here = OmnichannelTestHost.Create(Options, store: storeHere, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await here.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann-u78@example.com")]);
        await here.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        var queued = await here.Client.SendAsync(Ann, new MessageRequest { Key = "m1", Channels = [ChannelNames.Email], TemplateId = "m1", Class = MessageClass.Marketing });
        Assert.Equal(SendStatus.Queued, queued.Status);
        await here.Engine.RunDispatchAsync();

        Assert.Equal(0, Volatile.Read(ref email.Accepted));
    }
}
