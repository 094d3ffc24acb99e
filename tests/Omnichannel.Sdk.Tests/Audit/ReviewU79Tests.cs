using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U79 (c16f131): arrival orders of a hard bounce naming only the provider's id against the send's record,
/// and SMS START from numbers she has and has not replaced. Public API and the test kit's fake clock only.
/// </summary>
public sealed class ReviewU79Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r79");
    private static readonly Identifier OldPhone = Identifier.Phone("+447700900379");
    private static readonly Identifier NewPhone = Identifier.Phone("+447700900479");
    private static readonly Identifier AnnGuest = Identifier.AnonymousId("anon-ann-r79");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 10, 0, 0, TimeSpan.Zero);

    // A provider whose status callback may reach the host before its API's answer is recorded (posted from inside the
    // hand-over), or after it (posted by the test once the send is recorded).
    private sealed class Provider(Func<string, Task> report) : IChannelTransport
    {
        /// <summary>What happens inside the next hand-over, before the provider's answer is recorded.</summary>
        public List<Func<string, Task>> Inside { get; } = [];

        public List<SmsMessage> Sent { get; } = [];

        public string Channel => ChannelNames.Sms;

        public bool ReportsFirst { get; set; }

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add((SmsMessage)message);
            var providerId = "SM" + Sent.Count + "-r79";
            if (ReportsFirst)
            {
                ReportsFirst = false;
                await report(providerId);
            }

            foreach (var step in Inside)
            {
                await step(providerId);
            }

            Inside.Clear();

            return DeliveryResult.Accepted(providerId);
        }
    }

    private static (OmnichannelTestHost Host, Provider Sms) Host()
    {
        OmnichannelTestHost? hostRef = null;
        var sms = new Provider(providerId => BounceAsync(hostRef!, providerId));
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        var host = OmnichannelTestHost.Create(start: Start, delivery: delivery);
        hostRef = host;
        return (host, sms);
    }

    private static async Task BounceAsync(OmnichannelTestHost host, string providerId, Identifier? on = null)
    {
        var result = await host.Client.TrackAsync(host.Event(EventTypes.MessageBounced, [on ?? Ann],
            new { channel = ChannelNames.Sms, provider_message_id = providerId, bounce_type = "hard" }, channel: "server"));
        Assert.Equal(TrackStatus.Accepted, result.Status);
    }

    private static async Task<SendResult> SendAsync(OmnichannelTestHost host, string key, MessageClass kind = MessageClass.Transactional)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "hello", Class = kind });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    // ---- 1. The bounce resolved when the send is recorded, with her other number left ------------------------------------
    // She has two numbers; texts go to the newer. The provider's hard bounce for the first text names only its id. Heard
    // after the send's record, the door places it, the number is suppressed and marked on her identifier, and the next text
    // goes to her other number (DeliveryPlanner.Address passes a suppressed number over). Heard before the record (U79's
    // new path), the suppression was written after the record's event had been applied, so the identifier stayed unmarked
    // and segments never saw it: the next text picked the dead number again and was skipped — a different state for the
    // same events in another arrival order.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AHardBounceByProviderId_InEitherOrderAgainstTheSendRecord_MovesHerTextsToHerOtherNumber(bool bounceFirst)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.updated", [Ann, NewPhone]);

        sms.ReportsFirst = bounceFirst;
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-1")).Status);
        if (!bounceFirst)
        {
            await BounceAsync(host, "SM1-r79");
        }

        Assert.True(await host.Client.IsSuppressedAsync(NewPhone));
        Assert.False(await host.Client.IsSuppressedAsync(OldPhone));
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-2")).Status);
        Assert.Equal([NewPhone.Value, OldPhone.Value], sms.Sent.Select(m => m.To));
    }

    // ---- 2. START and STOP from the number her texts go to, in either arrival order (held) ---------------------------
    // A webhook queue redelivers out of order: the STOP and the START she sent from her only number reach the SDK in either
    // order; the newer word decides, as carriers apply them. Held before and after U79 (pinned: U79's check reads the
    // profile as it is when the reply arrives).
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task StopAndStartFromHerOnlyNumber_InEitherArrivalOrder_TheNewerWordDecides(bool startIsNewer, bool newerArrivesFirst)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        var (first, second) = (Start.AddDays(1), Start.AddDays(1).AddHours(1));
        var stop = host.Event(EventTypes.MessageReplied, [OldPhone], new { channel = ChannelNames.Sms, text = "STOP" }, ChannelNames.Sms, at: startIsNewer ? first : second);
        var start = host.Event(EventTypes.MessageReplied, [OldPhone], new { channel = ChannelNames.Sms, text = "START" }, ChannelNames.Sms, at: startIsNewer ? second : first);
        var newer = startIsNewer ? start : stop;
        var older = startIsNewer ? stop : start;
        foreach (var e in newerArrivesFirst ? [newer, older] : new[] { older, newer })
        {
            await host.TrackAsync(e);
        }

        Assert.Equal(startIsNewer, (await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(startIsNewer ? SendStatus.Queued : SendStatus.Skipped, (await SendAsync(host, "promo-1", MessageClass.Marketing)).Status);
        Assert.Equal(startIsNewer ? 1 : 0, sms.Sent.Count);
    }

    // ---- 3. START from her new number before the profile learned it (held) --------------------------------------------
    // She sent STOP from her old number, got a new one and texted START from it before the shop's form told the SDK the
    // number is hers: the reply makes a profile of its own (the number is its only one, so the START is read there), and
    // the update that links the number merges it into hers. In either arrival order she is subscribed again and texts go
    // to her new number: U79's check does not leave her unable to re-subscribe from the phone she now uses.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StartFromHerNewNumber_BeforeOrAfterTheProfileLearnsIt_SubscribesHerAgain(bool startArrivesFirst)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync(EventTypes.MessageReplied, [OldPhone], new { channel = ChannelNames.Sms, text = "STOP" }, ChannelNames.Sms);
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var linked = Start.AddDays(5);
        var started = Start.AddDays(6);
        var update = host.Event("user.updated", [Ann, NewPhone], at: linked);
        var reply = host.Event(EventTypes.MessageReplied, [NewPhone], new { channel = ChannelNames.Sms, text = "START" }, ChannelNames.Sms, at: started);
        foreach (var e in startArrivesFirst ? [reply, update] : new[] { update, reply })
        {
            await host.TrackAsync(e);
        }

        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "promo-1", MessageClass.Marketing)).Status);
        Assert.Equal([NewPhone.Value], sms.Sent.Select(m => m.To));
    }

    // ---- 4. Every arrival order of the bounce, the merge and the send's record -----------------------------------------
    // The bounce (naming only the provider's id, posted on her own profile or on her browser's profile not linked yet), the
    // login that links the two, and the send's record, in every order the three can reach the SDK (what comes before the
    // record happens inside the hand-over, as a provider's callback racing its API's answer): the same end — the number the
    // text went to suppressed and marked, her other number untouched and texted next. Failed before the fix in every order
    // where the bounce was resolved by the record itself.
    public static TheoryData<bool, bool, int> Orders()
    {
        var data = new TheoryData<bool, bool, int>();
        foreach (var onGuest in new[] { false, true })
        {
            foreach (var bounceBeforeLink in new[] { false, true })
            {
                for (var beforeRecord = 0; beforeRecord <= 2; beforeRecord++)
                {
                    data.Add(onGuest, bounceBeforeLink, beforeRecord);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task TheBounceTheMergeAndTheSendRecord_InAnyArrivalOrder_EndTheSame(bool onGuest, bool bounceBeforeLink, int beforeRecord)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.updated", [Ann, NewPhone]);
        await host.TrackAsync("page.viewed", [AnnGuest]);

        Func<string, Task> bounce = providerId => BounceAsync(host, providerId, onGuest ? AnnGuest : Ann);
        Func<string, Task> link = async _ => Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [Ann, AnnGuest]))).Status);
        var steps = bounceBeforeLink ? new[] { bounce, link } : [link, bounce];
        sms.Inside.AddRange(steps.Take(beforeRecord));
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-1")).Status);
        foreach (var step in steps.Skip(beforeRecord))
        {
            await step("SM1-r79");
        }

        Assert.True(await host.Client.IsSuppressedAsync(NewPhone));
        Assert.False(await host.Client.IsSuppressedAsync(OldPhone));
        Assert.Empty((await host.ProfileAsync(Ann)).PendingBounces);
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "sms-2")).Status);
        Assert.Equal([NewPhone.Value, OldPhone.Value], sms.Sent.Select(m => m.To));
    }

    // ---- 5. The store format of a pending bounce named by the provider's id (held) ------------------------------------
    // U79 added "provider/{channel}:{id}" entries to the profile document's pendingBounces (no schema change). They survive
    // the document's round trip beside key entries, in ordinal order, and a document written before U79 (key entries only)
    // reads as it did.
    [Fact]
    public void PendingBouncesByProviderId_SurviveTheDocumentRoundTrip()
    {
        var p = new CustomerProfile("p-r79", Start);
        ProfileCore.AddPendingBounce(p, ProfileCore.PendingByProviderId + "sms:SM9-r79");
        ProfileCore.AddPendingBounce(p, "email:order-1");
        ProfileCore.AddPendingBounce(p, ProfileCore.PendingByProviderId + "server:0100018f-r79");

        var read = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);

        Assert.Equal(["email:order-1", "provider/server:0100018f-r79", "provider/sms:SM9-r79"], read.PendingBounces);
        var older = new CustomerProfile("p-r79-old", Start);
        ProfileCore.AddPendingBounce(older, "sms:order-2");
        Assert.Equal(["sms:order-2"], ProfileSerializer.Deserialize(ProfileSerializer.Serialize(older), 1).PendingBounces);
    }
}
