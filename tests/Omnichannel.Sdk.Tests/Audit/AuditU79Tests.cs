using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U79: trust defects earlier audits noticed and left alone (round 7). Public API and the test kit's fake clock
/// only; each test names the public reports it comes from.
/// </summary>
public sealed class AuditU79Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u79");
    private static readonly Identifier AnnGuest = Identifier.AnonymousId("anon-ann-u79");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.u79@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900179");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 10, 0, 0, TimeSpan.Zero);

    private sealed class AnyChannelRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel switch
            {
                ChannelNames.Email => new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" },
                _ => new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId },
            });
    }

    /// <summary>
    /// A provider whose status callback reaches the host before its own API answer has been recorded: the report is posted
    /// from inside the hand-over, before the transport returns the id it names.
    /// </summary>
    private sealed class ReportsBeforeItAnswers(string channel, Func<string, Task> report) : IChannelTransport
    {
        public List<string> Sent { get; } = [];

        public string Channel => channel;

        public bool Reporting { get; set; } = true;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message.MessageId);
            var providerId = "SM" + Sent.Count + "-u79";
            if (Reporting)
            {
                await report(providerId);
            }

            return DeliveryResult.Accepted(providerId);
        }
    }

    private static (OmnichannelTestHost Host, Dictionary<string, RecordingTransport> Sent) Host(Action<OmnichannelOptions>? configure = null, IChannelTransport? sms = null)
    {
        var sent = new Dictionary<string, RecordingTransport>
        {
            [ChannelNames.Email] = new(ChannelNames.Email),
            [ChannelNames.Sms] = new(ChannelNames.Sms),
        };
        var delivery = new DeliverySetup { Renderer = new AnyChannelRenderer() };
        delivery.AddTransport(ChannelNames.Email, sent[ChannelNames.Email]);
        delivery.AddTransport(ChannelNames.Sms, sms ?? sent[ChannelNames.Sms]);
        var host = OmnichannelTestHost.Create(configure, start: Start, delivery: delivery);
        return (host, sent);
    }

    private static async Task<SendResult> SendAsync(OmnichannelTestHost host, string channel, string key, MessageClass kind = MessageClass.Transactional, Identifier? to = null)
    {
        var result = await host.Client.SendAsync(to ?? Ann, new MessageRequest { Key = key, Channels = [channel], TemplateId = "hello", Class = kind });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    // ---- 1. A hard bounce naming only the provider's id, heard before the profile knows that id ------------------------
    // Audit U76 left alone: "a provider id the profile does not know places nothing (a bounce so named waits for no merge,
    // unlike an unknown message_id)". Twilio's undelivered callback (30003/30005: a number that no longer exists) and SES's
    // bounce notification name only the provider's message id. Posted under a profile of hers not linked yet (her
    // browser's anonymous id, as a shop's webhook handler resolves it from its own session table), the report was accepted
    // and did nothing: after her login joined the two profiles the dead number was texted again. The same report with our
    // key (message_id) waited on the profile and suppressed the number at the merge — so the answer depended on whether
    // the link or the bounce came first. Public reports of the class: postalserver/postal#1595 (a bounce webhook whose
    // message id could not be tied back), twilio/twilio-csharp#133.
    // Without a channel (a report posted on "server" naming only the message, which the README allows: the message's
    // channel is read from it), either id was accepted and did nothing, with the link first or after.
    [Theory]
    [InlineData("provider_message_id", true)]
    [InlineData("provider_message_id", false)]
    [InlineData("message_id", false)]
    [InlineData("message_id", true)] // control: waited for the merge before too
    public async Task AHardBounceNamingOnlyItsMessage_OnAProfileOfHersNotLinkedYet_SuppressesAtTheirMerge(string named, bool withChannel)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        await host.TrackAsync("page.viewed", [AnnGuest]);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Sms, "sms-1")).Status);
        var id = named == "message_id" ? "sms-1" : "recorded:" + Assert.Single(sent[ChannelNames.Sms].Messages).MessageId;

        var properties = new Dictionary<string, object> { [named] = id, ["bounce_type"] = "hard" };
        if (withChannel)
        {
            properties["channel"] = ChannelNames.Sms;
        }

        var bounce = await host.Client.TrackAsync(host.Event(EventTypes.MessageBounced, [AnnGuest], properties, channel: "server"));
        Assert.Equal(TrackStatus.Accepted, bounce.Status);
        await host.TrackAsync("user.logged_in", [Ann, AnnGuest]);

        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        await SendAsync(host, ChannelNames.Sms, "sms-2");
        Assert.Single(sent[ChannelNames.Sms].Messages);
    }

    // The same report on her own profile, racing the hand-over: the provider's callback arrives before the SDK has recorded
    // the id the provider's API answered with (botpress/botpress#15029: WhatsApp's status webhook "fires almost immediately
    // after the outbound API call returns"; gip-inclusion/rdv-insertion#2182: a soft_bounce logged before the send;
    // twilio-labs/twilio-firebase-extensions#21: status callbacks are not ordered). The bounce was accepted and did
    // nothing; the next text went to the dead number. It now waits on the profile and suppresses the number when the send
    // is recorded with that id. (Posted with her number as the event's identifier, the door takes the number as the
    // bounced address and this held before; the handler here resolved the callback to her customer id, as a shop that
    // keeps its own table of sends does.)
    [Fact]
    public async Task AHardBounceNamingOnlyTheProvidersId_ThatArrivesBeforeTheSendIsRecorded_SuppressesTheNumber()
    {
        OmnichannelTestHost? hostRef = null;
        var reports = new List<TrackStatus>();
        var sms = new ReportsBeforeItAnswers(ChannelNames.Sms, async providerId =>
        {
            var result = await hostRef!.Client.TrackAsync(hostRef.Event(EventTypes.MessageBounced, [Ann],
                new { channel = ChannelNames.Sms, provider_message_id = providerId, bounce_type = "hard" }, channel: "server"));
            reports.Add(result.Status);
        });
        var (host, _) = Host(sms: sms);
        hostRef = host;
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);

        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Sms, "sms-1")).Status);
        Assert.Equal([TrackStatus.Accepted], reports);

        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        sms.Reporting = false;
        await SendAsync(host, ChannelNames.Sms, "sms-2");
        Assert.Single(sms.Sent);
    }

    // ---- 2. START texted from her old number, now another person's -----------------------------------------------------
    // Audit U44 left alone: "a STOP texted by the number's new owner refuses SMS for her on every number (consent is per
    // person and channel: fail-safe)". The other way round is not fail-safe. She changed her number (+…179 to +…279:
    // sends go to the newest), then texted STOP from the new one. The carrier gave her old number to someone else, who
    // texted START to the shop's short code (a sign-up poster, a wrong number): the START landed on her profile through
    // the old number, undid her STOP, and the next promotion went to her new phone — to a person who had opted out,
    // on a word she never sent. Carriers' and Twilio's STOP/START act per pair of numbers (the number that said START is
    // the one opted in), and the FCC's Reassigned Numbers Database exists because consent given on a number does not pass
    // to its next owner. Public reports: signalapp/Signal-Android#5558 (an old number reused by the carrier keeps
    // receiving what was meant for its former owner), braze-inc/braze-docs#6905 ("inherited phone numbers also inherit
    // subscription states": a number's subscription state follows it to whoever holds it). Now an opt-in keyword counts
    // only from the number her texts go to (or when the reply names no number); a STOP from any of her numbers still
    // withdraws (fail-safe, as before).
    [Fact]
    public async Task StartTextedFromHerOldNumber_DoesNotUndoTheStopSheSentFromHerNewOne()
    {
        var oldNumber = Identifier.Phone("+447700900179");
        var newNumber = Identifier.Phone("+447700900279");
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, oldNumber]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(30));
        await host.TrackAsync("user.updated", [Ann, newNumber]);
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.MessageReplied, [newNumber], new { channel = ChannelNames.Sms, text = "STOP" }, channel: ChannelNames.Sms);
        await host.AdvanceAsync(TimeSpan.FromDays(60));

        await host.TrackAsync(EventTypes.MessageReplied, [oldNumber], new { channel = ChannelNames.Sms, text = "START" }, channel: ChannelNames.Sms);

        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, ChannelNames.Sms, "promo-1", MessageClass.Marketing)).Status);
        Assert.Empty(sent[ChannelNames.Sms].Messages);
    }

    // Controls: START from the number her texts go to undoes her STOP (passed before and after), and so does one from her
    // only number.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StartTextedFromTheNumberHerTextsGoTo_UndoesHerStop(bool changedNumber)
    {
        var oldNumber = Identifier.Phone("+447700900179");
        var newNumber = Identifier.Phone("+447700900279");
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, oldNumber]);
        var current = oldNumber;
        if (changedNumber)
        {
            await host.AdvanceAsync(TimeSpan.FromDays(30));
            await host.TrackAsync("user.updated", [Ann, newNumber]);
            current = newNumber;
        }

        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.MessageReplied, [oldNumber], new { channel = ChannelNames.Sms, text = "STOP" }, channel: ChannelNames.Sms);
        await host.AdvanceAsync(TimeSpan.FromDays(1));

        await host.TrackAsync(EventTypes.MessageReplied, [current], new { channel = ChannelNames.Sms, text = "START" }, channel: ChannelNames.Sms);

        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Sms, "promo-1", MessageClass.Marketing)).Status);
        Assert.Equal([current.Value], sent[ChannelNames.Sms].Sent<SmsMessage>().Select(m => m.To));
    }
}
