using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U28: custom channels (a transport for "line", an identifier type "line", the message in one of the SDK's
/// types) end to end, through every delivery rule a standard channel obeys.
/// </summary>
public sealed class AuditU28Tests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Line = new("line", "U4af4980629");

    private sealed class Rig : IAsyncDisposable
    {
        public required OmnichannelTestHost Host { get; init; }
        public required RecordingTransport Line { get; init; }
        public required RecordingTransport Email { get; init; }
        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }

    private static Rig Create(Action<OmnichannelOptions>? configure = null, DateTimeOffset? start = null, IChannelTransport? line = null, Func<string, string, OutboundMessage>? render = null)
    {
        var lineRecorder = new RecordingTransport("line");
        var email = new RecordingTransport(ChannelNames.Email);
        render ??= (channel, address) => channel == "line"
            ? new InAppMessage { MessageId = "x", To = address, Text = "Hello" }
            : new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = "Hi", TextBody = "Hi" };
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Identity.AddType(new IdentifierRule("line"));
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                configure?.Invoke(o);
            },
            start,
            delivery: new DeliverySetup { Renderer = new Renderer(render) }.AddTransport("line", line ?? lineRecorder).AddTransport("email", email));
        return new Rig { Host = host, Line = lineRecorder, Email = email };
    }

    private static MessageRequest Promo(string key, string? topic = null, params string[] channels) =>
        new() { Key = key, Channels = channels.Length == 0 ? ["line"] : channels, TemplateId = key, Class = MessageClass.Marketing, Topic = topic };

    private static MessageRequest Receipt(string key, params string[] channels) =>
        new() { Key = key, Channels = channels.Length == 0 ? ["line"] : channels, TemplateId = key, Class = MessageClass.Transactional };

    private static async Task SignedUp(OmnichannelTestHost host, bool line = true, bool? lineConsent = true, bool? emailConsent = null)
    {
        await host.TrackAsync("user.signed_up", line ? [Known, Ann, Line] : [Known, Ann]);
        if (lineConsent is { } l)
        {
            await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = l });
        }

        if (emailConsent is { } e)
        {
            await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = e });
        }
    }

    [Fact]
    public async Task Marketing_OnLine_NeedsLineConsent_AndTopics()
    {
        await using var rig = Create();
        await SignedUp(rig.Host, lineConsent: null, emailConsent: true);
        var none = await rig.Host.Client.SendAsync(Known, Promo("p0"));
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = true });
        var granted = await rig.Host.Client.SendAsync(Known, Promo("p1"));
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", topic = "deals", granted = false });
        var refusedTopic = await rig.Host.Client.SendAsync(Known, Promo("p2", "deals"));
        var otherTopic = await rig.Host.Client.SendAsync(Known, Promo("p3", "news"));
        await rig.Host.Engine.RunDispatchAsync();
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = false });
        var refused = await rig.Host.Client.SendAsync(Known, Promo("p4"));
        var receipt = await rig.Host.Client.SendAsync(Known, Receipt("r1"));
        await rig.Host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, none.Status);
        Assert.Equal(SendStatus.Queued, granted.Status);
        Assert.Equal(SendStatus.Skipped, refusedTopic.Status);
        Assert.Equal(SendStatus.Queued, otherTopic.Status);
        Assert.Equal(SendStatus.Skipped, refused.Status);
        Assert.Equal(SendStatus.Queued, receipt.Status);
        Assert.Equal(["p1", "p3", "r1"], rig.Line.Messages.Select(m => m.MessageId).Order());
        Assert.Empty(rig.Email.Messages);
    }

    [Fact]
    public async Task AHardBounceForTheLineAddress_SuppressesIt_ByAddressOrByMessageId()
    {
        await using var rig = Create();
        await SignedUp(rig.Host);
        await rig.Host.Client.SendAsync(Known, Receipt("r1"));
        await rig.Host.Engine.RunDispatchAsync();
        Assert.Single(rig.Line.Messages);

        await rig.Host.TrackAsync(EventTypes.MessageBounced, [Known], new { message_id = "r1", channel = "line", bounce_type = "hard" });
        var after = await rig.Host.Client.SendAsync(Known, Receipt("r2", "line", "email"));
        await rig.Host.Engine.RunDispatchAsync();

        Assert.Equal(ChannelNames.Email, after.Channel);
        Assert.Single(rig.Line.Messages);
        Assert.Single(rig.Email.Messages);
    }

    [Fact]
    public async Task AHardBounceNamingTheLineAddress_SuppressesIt()
    {
        await using var rig = Create();
        await SignedUp(rig.Host);
        await rig.Host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "line", address = "U4af4980629", bounce_type = "hard" });
        var after = await rig.Host.Client.SendAsync(Known, Receipt("r2"));
        Assert.Equal(SendStatus.Skipped, after.Status);
    }

    [Theory]
    [InlineData("line")]
    [InlineData("email")]
    public async Task Erased_BeforeDispatch_TheMessageIsNotSent(string channel)
    {
        // Held for the morning, so no dispatcher has it in hand when she is erased.
        await using var rig = Create(o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer, start: new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero));
        await SignedUp(rig.Host);
        var sent = await rig.Host.Client.SendAsync(Known, Receipt("r1", channel));
        Assert.True(sent.DueAt > rig.Host.Time.GetUtcNow());
        Assert.True(await rig.Host.Client.EraseProfileAsync(Known));
        await rig.Host.AdvanceAsync(TimeSpan.FromHours(11));
        await rig.Host.Engine.RunDispatchAsync();
        Assert.Empty(rig.Line.Messages);
        Assert.Empty(rig.Email.Messages);
    }

    [Fact]
    public async Task QuietHours_DeferTheLineMessage_AndTheRerenderKeepsItsShape()
    {
        var renders = 0;
        await using var rig = Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer,
            start: new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero),
            render: (channel, address) => new InAppMessage { MessageId = "x", To = address, Text = "render " + ++renders });
        await SignedUp(rig.Host);
        var sent = await rig.Host.Client.SendAsync(Known, Promo("p1"));
        Assert.True(sent.DueAt > rig.Host.Time.GetUtcNow());
        await rig.Host.Engine.RunDispatchAsync();
        Assert.Empty(rig.Line.Messages);
        await rig.Host.AdvanceAsync(TimeSpan.FromHours(11));

        var message = Assert.IsType<InAppMessage>(Assert.Single(rig.Line.Messages));
        Assert.Equal("render 2", message.Text);
        Assert.Equal("U4af4980629", message.To);
    }

    [Fact]
    public async Task FrequencyCaps_CountLineMessages_PerChannelAndAcross()
    {
        await using var rig = Create(o =>
        {
            o.Delivery.FrequencyCaps.Clear();
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromDays(1), Channel: "line"));
            o.Delivery.FrequencyCaps.Add(new FrequencyCap(2, TimeSpan.FromDays(1)));
        });
        await SignedUp(rig.Host, emailConsent: true);
        var first = await rig.Host.Client.SendAsync(Known, Promo("p1"));
        var second = await rig.Host.Client.SendAsync(Known, Promo("p2"));
        var email = await rig.Host.Client.SendAsync(Known, Promo("p3", null, "email"));
        var third = await rig.Host.Client.SendAsync(Known, Promo("p4", null, "email"));
        Assert.Equal(SendStatus.Queued, first.Status);
        Assert.Equal(SendStatus.Skipped, second.Status);
        Assert.Contains("line", second.Reason, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Queued, email.Status);
        Assert.Equal(SendStatus.Skipped, third.Status);
    }

    [Fact]
    public async Task HerOwnContactFrequency_CountsLineMessages()
    {
        await using var rig = Create(o => o.Delivery.FrequencyCaps.Clear());
        await SignedUp(rig.Host, emailConsent: true);
        await rig.Host.TrackAsync(EventTypes.PreferencesUpdated, [Known], new { max_messages = 1, period = "P7D" });
        var first = await rig.Host.Client.SendAsync(Known, Promo("p1"));
        var second = await rig.Host.Client.SendAsync(Known, Promo("p2", null, "email"));
        Assert.Equal(SendStatus.Queued, first.Status);
        Assert.Equal(SendStatus.Skipped, second.Status);
    }

    [Fact]
    public async Task Fallback_LineThenEmail_WithoutALineId_OrRefused()
    {
        await using var rig = Create();
        await SignedUp(rig.Host, line: false, lineConsent: null, emailConsent: true);
        var noId = await rig.Host.Client.SendAsync(Known, Promo("p1", null, "line", "email"));
        await rig.Host.TrackAsync("app.opened", [Known, Line]);
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = false });
        var refused = await rig.Host.Client.SendAsync(Known, Promo("p2", null, "line", "email"));
        await rig.Host.Engine.RunDispatchAsync();

        Assert.Equal((SendStatus.Queued, "email"), (noId.Status, noId.Channel));
        Assert.Equal((SendStatus.Queued, "email"), (refused.Status, refused.Channel));
        Assert.Empty(rig.Line.Messages);
        Assert.Equal(2, rig.Email.Messages.Count);
    }

    [Fact]
    public async Task Fallback_WhenTheLineTransportFailsPermanently_GoesToEmail()
    {
        var failing = new FailingTransport("line").FailPermanently("blocked by the user");
        await using var rig = Create(line: failing);
        await SignedUp(rig.Host, emailConsent: true);
        var sent = await rig.Host.Client.SendAsync(Known, Promo("p1", null, "line", "email"));
        await rig.Host.Engine.RunDispatchAsync();

        Assert.Equal(1, failing.PermanentFailures);
        var email = Assert.IsType<EmailMessage>(Assert.Single(rig.Email.Messages));
        Assert.Equal("ann@example.com", email.To);
        var timeline = (await rig.Host.ProfileAsync(Known)).Timeline;
        Assert.Contains(timeline, t => t.Type == EventTypes.MessageSent && t.Channel == "email");
    }

    [Fact]
    public async Task TransientLineFailures_AreRetried_ThenFallBackOnTheLastAttempt()
    {
        var failing = new FailingTransport("line").FailTransiently(100);
        await using var rig = Create(o => o.Delivery.MaxAttempts = 3, line: failing);
        await SignedUp(rig.Host, emailConsent: true);
        await rig.Host.Client.SendAsync(Known, Promo("p1", null, "line", "email"));
        for (var i = 0; i < 10 && rig.Email.Messages.Count == 0; i++)
        {
            await rig.Host.AdvanceAsync(TimeSpan.FromMinutes(30));
            await rig.Host.Engine.RunDispatchAsync();
        }

        Assert.True(failing.Attempts >= 2, failing.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Single(rig.Email.Messages);
    }

    [Fact]
    public async Task TransientLineFailure_ThenRecovery_SendsOnLine_AndTheTimelineSaysLine()
    {
        var inner = new RecordingTransport("line");
        var failing = new FailingTransport(inner).FailTransiently(1);
        await using var rig = Create(line: failing);
        await SignedUp(rig.Host);
        await rig.Host.Client.SendAsync(Known, Promo("p1"));

        // The engine's timer starts sending it in the background (the quick retry recovers within that first dispatch):
        // the transport is looked at only once that send and its outcome are done, or the loop below could end before it
        // began, with "sent" not yet on her timeline.
        await rig.Host.AdvanceAsync(TimeSpan.Zero);
        for (var i = 0; i < 10 && inner.Messages.Count == 0; i++)
        {
            await rig.Host.AdvanceAsync(TimeSpan.FromMinutes(30));
            await rig.Host.Engine.RunDispatchAsync();
        }

        Assert.IsType<InAppMessage>(Assert.Single(inner.Messages));
        Assert.Equal(1, failing.TransientFailures);
        Assert.Contains((await rig.Host.ProfileAsync(Known)).Timeline, t => t.Type == EventTypes.MessageSent && t.Channel == "line");
    }

    [Fact]
    public async Task PermanentLineFailure_WithoutFallback_IsAFailedEventOnLine()
    {
        var failing = new FailingTransport("line").FailPermanently("blocked");
        await using var rig = Create(line: failing);
        await SignedUp(rig.Host);
        await rig.Host.Client.SendAsync(Known, Promo("p1"));
        await rig.Host.Engine.RunDispatchAsync();
        Assert.Contains((await rig.Host.ProfileAsync(Known)).Timeline, t => t.Type == EventTypes.MessageFailed && t.Channel == "line");
    }

    [Fact]
    public async Task DeliveryReports_OnLine_MatchTheMessage_AndTheReportGroupsByLine()
    {
        var start = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
        await using var rig = Create(start: start);
        await SignedUp(rig.Host);
        await rig.Host.Client.SendAsync(Known, Promo("p1"));
        await rig.Host.Engine.RunDispatchAsync();
        await rig.Host.TrackAsync(EventTypes.MessageDelivered, [Known], new { message_id = "p1", channel = "line" });
        await rig.Host.TrackAsync(EventTypes.MessageClicked, [Known], new { message_id = "p1", channel = "line" });
        await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30 });

        var data = await MeasurementReport.BuildAsync(rig.Host.Engine, new MeasurementReportOptions
        {
            From = DateOnly.FromDateTime(start.UtcDateTime),
            To = DateOnly.FromDateTime(start.UtcDateTime).AddDays(2),
        });
        var line = data.Channels["line"];
        Assert.Equal((1L, 1L, 1L), (line.Sent, line.Delivered, line.Clicked));
        Assert.Equal(30, line.Revenue, 9);
        var touch = Assert.Single((await rig.Host.ProfileAsync(Known)).Touches);
        Assert.Equal("line", touch.Channel);
    }

    [Fact]
    public async Task AJourneySendStep_OnLine_WithEmailFallback()
    {
        var journey = Journeys.JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["line", "email"], "template": "hello"}]}
            """);
        await using var rig = Create(o => o.Journeys.Add(journey));
        await rig.Host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = true });
        await rig.Host.TrackAsync("user.signed_up", [Known, Ann, Line]);
        await rig.Host.Engine.RunDispatchAsync();
        Assert.IsType<InAppMessage>(Assert.Single(rig.Line.Messages));
    }

    [Theory]
    [InlineData("Line")]
    [InlineData("li ne")]
    [InlineData("")]
    public void AJourneyJson_WithABadChannelName_IsRefused(string channel)
    {
        var parsed = JourneyJson.Parse($$"""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["{{channel}}"], "template": "hello"}]}
            """);
        Assert.NotEmpty(parsed.Errors);
    }

    [Fact]
    public void AJourneyJson_WithACustomChannel_Parses()
    {
        var parsed = JourneyJson.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["line", "telegram", "email"], "template": "hello"}]}
            """);
        Assert.Empty(parsed.Errors);
        Assert.Equal(["line", "telegram", "email"], Assert.IsType<SendStep>(parsed.Value!.Steps[0]).Channels);
    }

    [Fact]
    public async Task ALineMessageInTheEmailShape_GetsAnUnsubscribeLinkForLine()
    {
        await using var rig = Create(
            o => o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/unsubscribe"),
            render: (channel, address) => new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = "Hi", TextBody = "Hi" });
        await SignedUp(rig.Host);
        var sent = await rig.Host.Client.SendAsync(Known, Promo("p1"));
        await rig.Host.Engine.RunDispatchAsync();
        Assert.Equal(SendStatus.Queued, sent.Status);
        var email = Assert.IsType<EmailMessage>(Assert.Single(rig.Line.Messages));
        Assert.Equal("U4af4980629", email.To);
        Assert.False(email.Headers.ContainsKey("List-Unsubscribe"));
    }

    [Fact]
    public async Task TheGlobalControlGroup_HoldsOutLineMarketing()
    {
        var journey = Journeys.JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["line"], "template": "hello"}]}
            """);
        await using var rig = Create(o => { o.Journeys.Add(journey); o.Measurement.GlobalControlShare = 0.5; });
        var held = 0;
        for (var i = 0; i < 40; i++)
        {
            var id = Identifier.CustomerId("g" + i);
            await rig.Host.TrackAsync(EventTypes.ConsentChanged, [id], new { channel = "line", granted = true });
            await rig.Host.TrackAsync("user.signed_up", [id, new Identifier("line", "U" + i)]);
        }

        await rig.Host.Engine.RunDispatchAsync();
        held = 40 - rig.Line.Messages.Count;
        Assert.InRange(held, 5, 35);
    }

    [Theory]
    [InlineData("line")]
    [InlineData("email")]
    public async Task HeldByQuietHours_TheOldAddressBouncesAndANewOneIsLinked_TheMessageGoesToTheNewOne(string channel)
    {
        await using var rig = Create(o => o.Delivery.MarketingQuietHours = QuietHoursAction.Defer, start: new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero));
        await SignedUp(rig.Host, emailConsent: true);
        var sent = await rig.Host.Client.SendAsync(Known, Promo("p1", null, channel));
        Assert.True(sent.DueAt > rig.Host.Time.GetUtcNow());
        var (old, fresh) = channel == "line" ? ("U4af4980629", new Identifier("line", "U000new")) : ("ann@example.com", Identifier.Email("ann@new.example"));
        await rig.Host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.Host.TrackAsync("app.opened", [Known, fresh]);
        await rig.Host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel, address = old, bounce_type = "hard" });
        await rig.Host.AdvanceAsync(TimeSpan.FromHours(11));
        await rig.Host.Engine.RunDispatchAsync();

        var message = Assert.Single(channel == "line" ? rig.Line.Messages : rig.Email.Messages);
        Assert.Equal(fresh.Value, message is InAppMessage m ? m.To : ((EmailMessage)message).To);
    }

    [Theory]
    [InlineData("line")]
    [InlineData("email")]
    public async Task AHardBounceReportedOnTheChannelOfTheEvent_SuppressesTheAddress(string channel)
    {
        await using var rig = Create();
        await SignedUp(rig.Host, emailConsent: true);
        await rig.Host.Client.SendAsync(Known, Receipt("r1", channel));
        await rig.Host.Engine.RunDispatchAsync();
        await rig.Host.TrackAsync(EventTypes.MessageBounced, [Known], new { message_id = "r1", bounce_type = "hard" }, channel: channel);
        var after = await rig.Host.Client.SendAsync(Known, Receipt("r2", channel));
        Assert.Equal(SendStatus.Skipped, after.Status);
        Assert.Equal($"{channel}: the address is suppressed", after.Reason);
    }

    [Theory]
    [InlineData("email")]
    public async Task AComplaintReportedOnTheChannelOfTheEvent_WithdrawsThatChannelOnly(string channel)
    {
        await using var rig = Create();
        await SignedUp(rig.Host, emailConsent: true);
        await rig.Host.TrackAsync(EventTypes.MessageComplained, [Known], new { message_id = "r1" }, channel: channel);
        var profile = await rig.Host.ProfileAsync(Known);
        Assert.False(profile.GetConsent(channel, null)!.Granted);
        Assert.True(profile.GetConsent(channel == "line" ? "email" : "line", null)!.Granted);
    }

    [Theory]
    [InlineData("line")]
    [InlineData("email")]
    public async Task ADeliveryReportOnTheChannelOfTheEvent_CountsForThatChannel(string channel)
    {
        var start = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
        await using var rig = Create(start: start);
        await SignedUp(rig.Host, emailConsent: true);
        await rig.Host.Client.SendAsync(Known, Promo("p1", null, channel));
        await rig.Host.Engine.RunDispatchAsync();
        await rig.Host.TrackAsync(EventTypes.MessageDelivered, [Known], new { message_id = "p1" }, channel: channel);
        var data = await MeasurementReport.BuildAsync(rig.Host.Engine, new MeasurementReportOptions
        {
            From = DateOnly.FromDateTime(start.UtcDateTime),
            To = DateOnly.FromDateTime(start.UtcDateTime).AddDays(2),
        });
        Assert.Equal((1L, 1L), (data.Channels[channel].Sent, data.Channels[channel].Delivered));
    }

    [Theory]
    [InlineData("LINE")]
    [InlineData("EMAIL")]
    public async Task SendAsync_WithAChannelNameInCapitals_IsRefusedLikeAStandardOne(string channel)
    {
        await using var rig = Create();
        await SignedUp(rig.Host);
        await Assert.ThrowsAsync<ArgumentException>(async () => await rig.Host.Client.SendAsync(Known, Receipt("r1", channel)));
    }

    private sealed class Renderer(Func<string, string, OutboundMessage> render) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(render(channel, address));
    }
}
