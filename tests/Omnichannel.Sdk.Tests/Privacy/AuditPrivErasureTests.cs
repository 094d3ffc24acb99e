using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>Audit Priv: erasure, export and personal data, through the public API.</summary>
public sealed class AuditPrivErasureTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Fact]
    public async Task Erase_OfNobody_OfAMalformedOrUnknownTypeOrTwice_AnswersFalse_WithoutThrowing()
    {
        await using var host = OmnichannelTestHost.Create();
        Assert.False(await host.Client.EraseProfileAsync(Identifier.Email("nobody@example.com")));
        Assert.False(await host.Client.EraseProfileAsync(new Identifier("no_such_type", "x")));
        Assert.False(await host.Client.EraseProfileAsync(Identifier.Email("not an address")));
        Assert.False(await host.Client.EraseProfileAsync(Identifier.Phone("abc")));
        await host.TrackAsync("user.signed_up", [Ann]);
        Assert.True(await host.Client.EraseProfileAsync(Identifier.Email("ANN@Example.com")));
        Assert.False(await host.Client.EraseProfileAsync(Ann));
        Assert.Null(await host.Client.ExportProfileAsync(Ann));
        Assert.True(await host.Client.IsSuppressedAsync(Ann));
    }

    [Fact]
    public async Task AMessageWaitingToRetry_IsNotSentAfterHerErasure()
    {
        var failing = new FailingTransport(new RecordingTransport(ChannelNames.Email)).FailTransiently(10);
        await using var host = OmnichannelTestHost.Create(o => o.Delivery.RetryDelay = TimeSpan.FromMinutes(10),
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", failing));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Class = MessageClass.Transactional })).Status);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        var n = failing.Attempts;
        Assert.True(n >= 1);
        Assert.NotNull(await host.Store.GetNextOutboxDueAsync());
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(n, failing.Attempts);
        Assert.Empty(failing.Recorder!.Messages);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task TheOutcomeOfASendInFlight_DoesNotBringHerProfileBack()
    {
        OmnichannelTestHost? h = null;
        var transport = new CallbackTransport(async () => Assert.True(await h!.Client.EraseProfileAsync(Ann)));
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", transport));
        h = host;
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, transport.Calls);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
        Assert.Null(await host.Client.GetProfileAsync(Ann));
    }

    [Fact]
    public async Task AProviderWebhookAboutHerMessage_AfterHerErasure_IsRefused_AndCreatesNothing()
    {
        var rec = new RecordingTransport();
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", rec));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Single(rec.Messages);
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
        var outcome = await host.Client.TrackAsync(host.Event(EventTypes.MessageOpened, [Ann], new { message_id = "promo", channel = "email" }));
        Assert.Equal(TrackStatus.Erased, outcome.Status);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task AQuickRetryOfASend_AfterHerErasure_DoesNotSendIt()
    {
        // The first attempt fails transiently; she is erased before the pipeline's quick retry hands the message over again.
        OmnichannelTestHost? h = null;
        var transport = new CallbackTransport(async () => Assert.True(await h!.Client.EraseProfileAsync(Ann)), firstResult: DeliveryResult.TransientFailure("busy"));
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", transport));
        h = host;
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(1, transport.Calls);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Fact]
    public async Task TheNextTransportOfTheChannel_AfterHerErasure_IsNotHandedTheMessage()
    {
        // The preferred provider fails for good while she is erased; the backup provider must not get the message.
        OmnichannelTestHost? h = null;
        var primary = new CallbackTransport(async () => Assert.True(await h!.Client.EraseProfileAsync(Ann)), firstResult: DeliveryResult.PermanentFailure("provider down"));
        var backup = new CallbackTransport(() => Task.CompletedTask);
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }
            .AddTransport("primary", primary, preference: 0).AddTransport("backup", backup, preference: 1));
        h = host;
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(1, primary.Calls);
        Assert.Equal(0, backup.Calls);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    [Theory]
    [InlineData("invalid number 07700 900123", "invalid number [phone]")]
    [InlineData("numéro 06 12 34 56 78 injoignable", "numéro [phone] injoignable")]
    [InlineData("POST /send?to=ann%40example.com failed: 400", "POST [email] failed: 400")]
    [InlineData("rejected body To=%2B447700900123&Body=Hello", "rejected body To=[phone]&Body=Hello")]
    [InlineData("SMTP 421 4.7.0 try again at 2026-03-02T09:00:00Z (attempt 3 of 5, 0.25 s)", "SMTP 421 4.7.0 try again at 2026-03-02T09:00:00Z (attempt 3 of 5, 0.25 s)")]
    public void AProviderReason_WithANationalOrUrlEncodedNumberOrAddress_IsScrubbed(string reason, string expected) =>
        Assert.Equal(expected, DeliveryResult.PermanentFailure(reason).Reason);

    private sealed class CallbackTransport(Func<Task> during, DeliveryResult? firstResult = null) : IChannelTransport
    {
        public int Calls;

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref Calls) == 1)
            {
                await during();
                return firstResult ?? DeliveryResult.Accepted("p-1");
            }

            return DeliveryResult.Accepted("p-2");
        }
    }
}
