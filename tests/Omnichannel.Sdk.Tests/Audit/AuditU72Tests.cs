using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U72: identifier types other than email and phone (push device ids, a custom channel's id such as LINE's)
/// across bounces, the choice of address, export, merges and the suppression list. Public API and the test kit only.
/// </summary>
public sealed class AuditU72Tests
{
    private const string Line = "line";
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u72");

    private sealed class AnyChannelRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Push
                ? new PushMessage { MessageId = "x", DeviceTokens = [address], Title = request.TemplateId, Body = "Hi" }
                : new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId });
    }

    private static OmnichannelTestHost Host(string channel, RecordingTransport sent) => OmnichannelTestHost.Create(
        o => o.Identity.AddType(new IdentifierRule(Line)),
        delivery: new DeliverySetup { Renderer = new AnyChannelRenderer() }.AddTransport(channel, sent));

    private static Task<SendResult> SendAsync(OmnichannelTestHost host, string channel, string key) =>
        host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [channel], TemplateId = "hello", Class = MessageClass.Transactional }).AsTask();

    // A provider's "invalid token" report for push: the device as the app tracked it, padded as a webhook wrote it, or
    // named only as the event's device_id (as an email bounce may name the address only as the event's email). Device ids
    // are trimmed when tracked, the bounce's address was not, so the dead device stayed on; the second was refused.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task APushHardBounce_PaddedOrNamingTheDeviceOnlyAsTheEventsDeviceId_StopsPushToThatDevice(bool padded)
    {
        var sent = new RecordingTransport(ChannelNames.Push);
        await using var host = Host(ChannelNames.Push, sent);
        var device = Identifier.DeviceId("dev-ann-u72");
        await host.TrackAsync("user.signed_up", [Ann, device]);
        var bounce = padded
            ? await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Push, address = " dev-ann-u72 ", bounce_type = "hard" }, channel: "server")
            : await host.TrackAsync(EventTypes.MessageBounced, [device], new { channel = ChannelNames.Push, bounce_type = "hard" }, channel: "server");
        Assert.Equal(TrackStatus.Accepted, bounce.Status);

        var result = await SendAsync(host, ChannelNames.Push, "k-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.Empty(sent.Messages);
    }

    // As for push devices (design notes, "a push token the provider called gone stopped every push to her"): a hard bounce
    // on her newest LINE id was recorded but never marked on the id, so the planner chose it, refused it, and her other
    // LINE id got nothing; the reachable rule counted it too.
    [Fact]
    public async Task ALineHardBounce_OnHerNewestLineId_SendsTheNextMessageToHerOtherLineId()
    {
        var sent = new RecordingTransport(Line);
        await using var host = Host(Line, sent);
        await host.TrackAsync("user.signed_up", [Ann, new Identifier(Line, "u72old")]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("app.opened", [Ann, new Identifier(Line, "u72new")]);
        var bounce = await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = Line, address = "u72new", bounce_type = "hard" }, channel: "server");
        Assert.Equal(TrackStatus.Accepted, bounce.Status);

        var result = await SendAsync(host, Line, "k-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(SendStatus.Queued, result.Status);
        Assert.Equal("u72old", Assert.IsType<SmsMessage>(Assert.Single(sent.Messages)).To);
    }

    // The address a message goes to is the one she used last, by event time; only emails, phones and device ids were
    // stamped, so of two LINE ids the one linked last won although she had moved back to the other.
    [Fact]
    public async Task OfTwoLineIds_TheOneSheUsedLast_IsMessaged()
    {
        var sent = new RecordingTransport(Line);
        await using var host = Host(Line, sent);
        await host.TrackAsync("user.signed_up", [Ann, new Identifier(Line, "u72a")]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("app.opened", [Ann, new Identifier(Line, "u72b")]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("app.opened", [Ann, new Identifier(Line, "u72a")]);

        var result = await SendAsync(host, Line, "k-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(SendStatus.Queued, result.Status);
        Assert.Equal("u72a", Assert.IsType<SmsMessage>(Assert.Single(sent.Messages)).To);
    }

    // Pinned (held before): a merge keeps consent on push and LINE; the export lists the device and LINE ids with those
    // consents; the suppression list answers for a device id and a LINE id written with spaces, and lifts them.
    [Fact]
    public async Task DeviceAndLineIds_AreExportedWithTheirConsentAfterAMerge_AndAnsweredOnTheSuppressionList()
    {
        var sent = new RecordingTransport(Line);
        await using var host = Host(Line, sent);
        var line = new Identifier(Line, "u72line");
        var device = Identifier.DeviceId("dev-u72");
        await host.TrackAsync(EventTypes.ConsentChanged, [line], new { channel = Line, granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [device], new { channel = ChannelNames.Push, granted = true });
        await host.TrackAsync("user.signed_up", [Ann, line]);
        await host.TrackAsync("user.logged_in", [Ann, device]);

        var export = (await host.Client.ExportProfileAsync(Ann))!.ToJsonString();
        Assert.Contains("\"type\":\"line\",\"value\":\"u72line\"", export, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"device_id\",\"value\":\"dev-u72\"", export, StringComparison.Ordinal);
        Assert.Contains("\"channel\":\"line\",\"topic\":\"*\",\"granted\":true", export, StringComparison.Ordinal);
        Assert.Contains("\"channel\":\"push\",\"topic\":\"*\",\"granted\":true", export, StringComparison.Ordinal);

        Assert.True(await host.Client.EraseProfileAsync(Ann, new EraseOptions { AllowReturn = true }));
        Assert.True(await host.Client.IsSuppressedAsync(new Identifier(Line, " u72line ")));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.DeviceId(" dev-u72")));
        Assert.True(await host.Client.LiftErasureAsync(Identifier.DeviceId("dev-u72 ")));
        Assert.False(await host.Client.IsSuppressedAsync(device));
        Assert.True(await host.Client.IsSuppressedAsync(line));
    }
}
