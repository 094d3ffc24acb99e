using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U80: outcome reports naming only the provider's id (<c>provider_message_id</c>) that race the send's record
/// (<c>message.sent</c> carrying that id). Status callbacks are not ordered after the provider's API answer
/// (twilio-labs/twilio-firebase-extensions#21; botpress/botpress#15029: WhatsApp's status webhook "fires almost
/// immediately after the outbound API call returns"), so the same reports must end the same whichever comes first.
/// Public API and the test kit's fake clock only.
/// </summary>
public sealed class AuditU80Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u80");
    private static readonly Identifier AnnGuest = Identifier.AnonymousId("anon-ann-u80");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900180");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 10, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A provider whose status callback reaches the host before its own API answer is recorded: the report is posted from
    /// inside the hand-over, before the transport returns the id it names. Ids: <c>SM{n}-u80</c>, n from 1.
    /// </summary>
    private sealed class ReportsBeforeItAnswers(Func<string, Task> report) : IChannelTransport
    {
        public List<string> Sent { get; } = [];

        public string Channel => ChannelNames.Sms;

        public bool Reporting { get; set; } = true;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message.MessageId);
            var providerId = "SM" + Sent.Count + "-u80";
            if (Reporting)
            {
                await report(providerId);
            }

            return DeliveryResult.Accepted(providerId);
        }
    }

    private static OmnichannelTestHost Host(IChannelTransport sms)
    {
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        return OmnichannelTestHost.Create(start: Start, delivery: delivery);
    }

    private static async Task<SendResult> SendAsync(OmnichannelTestHost host, string key, MessageClass kind = MessageClass.Transactional)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "hello", Class = kind });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    private static async Task TrackStrictAsync(OmnichannelTestHost host, CustomerEvent e) =>
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);

    // ---- 1. Soft bounces naming only the provider's id, heard before the send is recorded ----------------------------------
    // Audit U79 left alone: "a soft bounce ... naming only a provider id the profile does not know yet (the callback racing
    // the hand-over) still counts nothing (a soft bounce short by one is tried once more)". Three soft bounces of her
    // number (Twilio 30003 "unreachable", a phone off for weeks) each reported before the SDK recorded the id the API
    // answered with: none counted, so the limit (3 in 30 days) was never reached and the number was texted for ever; the
    // same three reports arriving after the records suppressed it (gip-inclusion/rdv-insertion#2182: a soft_bounce logged
    // before the send; Notifuse/notifuse#323: an address that soft-bounces for ever). Now such a soft bounce waits on the
    // profile and counts, at its own time, when the send is recorded with that id (or a merge brings it).
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task SoftBouncesNamingOnlyTheProvidersId_BeforeOrAfterTheSendIsRecorded_AddUpToTheLimit(bool reportFirst, bool namesChannel)
    {
        OmnichannelTestHost? hostRef = null;
        CustomerEvent Bounce(string providerId) => hostRef!.Event(EventTypes.MessageBounced, [Ann],
            namesChannel ? new { channel = ChannelNames.Sms, provider_message_id = providerId, bounce_type = "soft" } : new { provider_message_id = providerId, bounce_type = "soft" },
            channel: "server");
        var sms = new ReportsBeforeItAnswers(providerId => TrackStrictAsync(hostRef!, Bounce(providerId))) { Reporting = reportFirst };
        var host = Host(sms);
        hostRef = host;
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-" + i)).Status);
            if (!reportFirst)
            {
                await TrackStrictAsync(host, Bounce("SM" + i + "-u80"));
            }
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        sms.Reporting = false;
        await SendAsync(host, "sms-4");
        Assert.Equal(3, sms.Sent.Count);
    }

    // The same three soft bounces posted on a profile of hers not linked yet (the host's handler resolved the callback to
    // her browser's anonymous id): they wait there, and the merge that brings the sends counts them.
    [Fact]
    public async Task SoftBouncesNamingOnlyTheProvidersId_OnAProfileOfHersNotLinkedYet_AddUpAtTheirMerge()
    {
        var sms = new ReportsBeforeItAnswers(_ => Task.CompletedTask) { Reporting = false };
        var host = Host(sms);
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        for (var i = 1; i <= 3; i++)
        {
            await SendAsync(host, "sms-" + i);
        }

        await host.TrackAsync("page.viewed", [AnnGuest]);
        for (var i = 1; i <= 3; i++)
        {
            await TrackStrictAsync(host, host.Event(EventTypes.MessageBounced, [AnnGuest], new { channel = ChannelNames.Sms, provider_message_id = "SM" + i + "-u80", bounce_type = "soft" }, channel: "server"));
        }

        Assert.False(await host.Client.IsSuppressedAsync(AnnPhone));
        await host.TrackAsync("user.logged_in", [Ann, AnnGuest]);

        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        await SendAsync(host, "sms-4");
        Assert.Equal(3, sms.Sent.Count);
        Assert.Empty((await host.ProfileAsync(Ann)).PendingBounces);
    }

    // ---- 2. A complaint or an unsubscribe naming only an unknown provider id (held, pinned) -------------------------------
    // The brief's first question: could a report racing the send leave consent standing? No: a complaint naming no channel
    // and a provider id the profile does not know yet withdraws every messaging channel (audit U73: wider than the one
    // channel it withdraws once the id is known — the safe side); one naming its channel withdraws that channel; an
    // unsubscribe must name its channel (refused otherwise) and withdraws it. Passed before; pinned.
    [Theory]
    [InlineData(EventTypes.MessageComplained, true)]
    [InlineData(EventTypes.MessageComplained, false)]
    [InlineData(EventTypes.MessageUnsubscribed, true)]
    public async Task AComplaintOrUnsubscribe_NamingOnlyTheProvidersId_BeforeTheSendIsRecorded_StillWithdrawsConsent(string type, bool namesChannel)
    {
        OmnichannelTestHost? hostRef = null;
        var sms = new ReportsBeforeItAnswers(providerId => TrackStrictAsync(hostRef!, hostRef!.Event(type, [Ann],
            namesChannel ? new { channel = ChannelNames.Sms, provider_message_id = providerId } : new { provider_message_id = providerId }, channel: "server")));
        var host = Host(sms);
        hostRef = host;
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-1")).Status);
        sms.Reporting = false;

        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, "promo-1", MessageClass.Marketing)).Status);
        Assert.Single(sms.Sent);
    }
}
