using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of audit U84: attacks on the soft-bounce lift and the timeline fold, through the public API.</summary>
public sealed class ReviewU84Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r84");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.r84@example.com");
    private static readonly Identifier AnnOldEmail = Identifier.Email("ann.old.r84@example.com");
    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private sealed class EmailRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    private static (OmnichannelTestHost Host, RecordingTransport Sent) Host()
    {
        var sent = new RecordingTransport(ChannelNames.Email);
        var delivery = new DeliverySetup { Renderer = new EmailRenderer() };
        delivery.AddTransport(ChannelNames.Email, sent);
        return (OmnichannelTestHost.Create(null, start: Start, delivery: delivery), sent);
    }

    private static async Task<SendResult> SendAsync(OmnichannelTestHost host, string key)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "hello", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    private static Task<TrackResult> ReportAsync(OmnichannelTestHost host, string type, object properties, double day) =>
        host.TrackAsync(type, [Ann], properties, channel: "server", at: Start + TimeSpan.FromDays(day));

    private static async Task SoftRunAsync(OmnichannelTestHost host)
    {
        for (var i = 1; i <= 3; i++)
        {
            await ReportAsync(host, EventTypes.MessageBounced, new { channel = ChannelNames.Email, message_id = $"m{i}", bounce_type = "soft" }, i);
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
    }

    private static async Task<OmnichannelTestHost> SuppressedAsync(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(SendStatus.Queued, (await SendAsync(host, $"m{i}")).Status);
        }

        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await SoftRunAsync(host);
        return host;
    }

    [Fact]
    public async Task AMachineOpenAfterTheRun_DoesNotLift()
    {
        var (host, _) = Host();
        await using var _h = await SuppressedAsync(host);
        await ReportAsync(host, EventTypes.MessageOpened, new { channel = ChannelNames.Email, message_id = "m4", machine = true }, 4);
        await ReportAsync(host, EventTypes.MessageOpened, new { channel = ChannelNames.Email, message_id = "m4", sg_machine_open = true }, 4.5);
        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, "next")).Status);
    }

    [Fact]
    public async Task AHardBounceAfterTheRun_IsNotLiftedByALaterDelivery()
    {
        var (host, _) = Host();
        await using var _h = await SuppressedAsync(host);
        await ReportAsync(host, EventTypes.MessageBounced, new { channel = ChannelNames.Email, message_id = "m4", bounce_type = "hard" }, 3.5);
        await ReportAsync(host, EventTypes.MessageDelivered, new { channel = ChannelNames.Email, message_id = "m4" }, 5);
        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, "next")).Status);
    }

    [Fact]
    public async Task ADeliveryOfAMessageTheProfileDoesNotKnow_ToHerOldAddress_DoesNotLift()
    {
        var (host, _) = Host();
        await using var _h = await SuppressedAsync(host);
        await ReportAsync(host, EventTypes.MessageDelivered, new { channel = ChannelNames.Email, message_id = "ext-1", address = AnnOldEmail.Value }, 5);
        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, "next")).Status);
    }

    [Fact]
    public async Task ErasureWhileSoftSuppressed_ThenLift_LetsHerBackIn()
    {
        var (host, _) = Host();
        await using var _h = await SuppressedAsync(host);
        await host.Client.EraseProfileAsync(Ann);
        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        await host.Client.LiftErasureAsync(AnnEmail);
        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
    }

    [Fact]
    public async Task ManyBouncesOfAnotherAddress_DoNotLiftTheRunWithoutADelivery()
    {
        var (host, _) = Host();
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 4; i++)
        {
            await SendAsync(host, $"m{i}");
        }

        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await ReportAsync(host, EventTypes.MessageDelivered, new { channel = ChannelNames.Email, message_id = "m4" }, 0.5);
        await using var _h = host;
        await SoftRunAsync(host);
        for (var i = 0; i < 205; i++)
        {
            await ReportAsync(host, EventTypes.MessageBounced, new { channel = ChannelNames.Email, email = AnnOldEmail.Value, message_id = $"o{i}", bounce_type = "soft" }, 3.5 + (i * 0.01));
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, "next")).Status);
    }

    // Two opens of two different messages at the same second, the second a repeat of m2's earlier open.
    [Theory]
    [InlineData("evt-a", "evt-b")]
    [InlineData("evt-b", "evt-a")]
    public async Task TwoMessagesOpenedAtTheSameSecond_AreTwoTimelineEntries(string m1Id, string m2Id)
    {
        var (host, _) = Host();
        await using var _h = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await SendAsync(host, "m1");
        await SendAsync(host, "m2");
        var at = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.Client.TrackAsync(host.Event(EventTypes.MessageOpened, [Ann], new { channel = ChannelNames.Email, message_id = "m2" }, channel: "server", at: at.AddMinutes(1)) with { Id = "evt-first" });
        await host.Client.TrackAsync(host.Event(EventTypes.MessageOpened, [Ann], new { channel = ChannelNames.Email, message_id = "m1" }, channel: "server", at: at.AddMinutes(2)) with { Id = m1Id });
        await host.Client.TrackAsync(host.Event(EventTypes.MessageOpened, [Ann], new { channel = ChannelNames.Email, message_id = "m2" }, channel: "server", at: at.AddMinutes(2)) with { Id = m2Id });
        var timeline = (await host.ProfileAsync(Ann)).Timeline;
        var ids = timeline.Where(t => t.Type == EventTypes.MessageOpened).Select(t => t.EventId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["evt-a", "evt-b", "evt-first"], ids);
    }
    // A merge: her other profile (a cookie's, not linked yet) holds a delivery of a host message to her address after the
    // run; the link lifts the suppression whichever came first (the merge joins the touches, the lift reads them).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADeliveryOnHerOtherProfile_LiftsAtTheLink_InEitherOrder(bool reportAfterLink)
    {
        var cookie = Identifier.AnonymousId("anon-r84");
        var (host, _) = Host();
        await using var _h = await SuppressedAsync(host);
        var delivered = new { channel = ChannelNames.Email, message_id = "ext-3", address = AnnEmail.Value };
        if (!reportAfterLink)
        {
            await host.TrackAsync(EventTypes.MessageDelivered, [cookie], delivered, channel: "server", at: Start + TimeSpan.FromDays(5));
            Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        }

        await host.TrackAsync("user.logged_in", [Ann, cookie]);
        if (reportAfterLink)
        {
            await host.TrackAsync(EventTypes.MessageDelivered, [cookie], delivered, channel: "server", at: Start + TimeSpan.FromDays(5));
        }

        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, "next")).Status);
    }
}
