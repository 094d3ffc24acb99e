using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review of the thirty-ninth session: tries to break delivery per message (the kept payload, its keyed hashes, the
/// outcome's attribution, the string maps, the final wait), the contact preferences read in U52, the rule history's
/// id index and the moved serializer code. Public API, fake clock.
/// </summary>
public sealed class ReviewSession39Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static readonly Identifier Ann = Identifier.CustomerId("ann-39");

    private const string AnnEmail = "ann39@example.com";

    private const string AnnPhone = "+447700900539";

    // ---------------------------------------------------------------- delivery per message (18a311a)

    /// <summary>Renders an email (or an SMS) with the headers and metadata it is given; counts its calls.</summary>
    private sealed class MapRenderer(IReadOnlyDictionary<string, string>? headers = null) : IMessageRenderer
    {
        public int Calls;

        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            OutboundMessage message = channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage
                {
                    MessageId = "x",
                    From = "shop@kitty.example",
                    To = address,
                    Subject = request.TemplateId,
                    TextBody = "rendered at " + now.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    Headers = new Dictionary<string, string>(headers ?? new Dictionary<string, string> { ["X-Order"] = "o-1" }),
                    Metadata = new Dictionary<string, string> { ["shop"] = "kitty" },
                };
            return ValueTask.FromResult<OutboundMessage?>(message);
        }
    }

    /// <summary>A transport answering by script, recording the JSON of each message as it was handed over.</summary>
    private sealed class Scripted(string channel, Func<OutboundMessage, int, DeliveryResult> answer) : IChannelTransport
    {
        private readonly object _gate = new();
        private int _calls;

        public List<string> Seen { get; } = [];

        public List<OutboundMessage> Messages { get; } = [];

        public string Channel { get; } = channel;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                Seen.Add(JsonSerializer.Serialize(message, message.GetType()));
                Messages.Add(message);
                return ValueTask.FromResult(answer(message, ++_calls));
            }
        }
    }

    private static OmnichannelTestHost Host(IOmnichannelStore? store, IMessageRenderer renderer, Action<OmnichannelOptions>? configure = null, params (string Channel, IChannelTransport Transport)[] transports)
    {
        var delivery = new DeliverySetup { Renderer = renderer };
        foreach (var (channel, transport) in transports)
        {
            delivery.AddTransport(channel + "-provider", transport);
        }

        return OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.TransactionalQuietHours = QuietHoursAction.Ignore;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(1);
                configure?.Invoke(o);
            },
            start: Start,
            store: store,
            delivery: delivery);
    }

    private static MessageRequest Request(string key, MessageClass kind = MessageClass.Transactional, params string[] channels) =>
        new() { Key = key, Channels = channels.Length == 0 ? [ChannelNames.Email] : channels, TemplateId = "receipt", Topic = kind == MessageClass.Marketing ? "offers" : null, Class = kind };

    // Two engines on one in-memory store (two processes' worth of engines sharing it, as a test cluster does): the
    // engine that claims a message planned by the other has nothing kept for its array and reads it; the one that
    // planned it reads its own. Whichever dispatches, the message is the one planned, once, to the address it was for;
    // a second message with her new address is not answered with the first one's kept payload.
    [Fact]
    public async Task AMessagePlannedByOneEngine_IsSentAsPlanned_WhicheverEngineOnTheStoreDispatchesIt()
    {
        var store = new InMemoryOmnichannelStore();
        var accept = (OutboundMessage m, int _) => DeliveryResult.Accepted("p-" + m.MessageId);
        var emailA = new Scripted(ChannelNames.Email, accept);
        var emailB = new Scripted(ChannelNames.Email, accept);
        await using var a = Host(store, new MapRenderer(), null, (ChannelNames.Email, emailA));
        await using var b = Host(store, new MapRenderer(), null, (ChannelNames.Email, emailB));
        await a.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);

        Assert.Equal(SendStatus.Queued, (await a.Client.SendAsync(Ann, Request("r1"))).Status);
        await b.Engine.RunDispatchAsync();
        await a.Engine.RunDispatchAsync();

        await a.AdvanceAsync(TimeSpan.FromMinutes(1)); // her newer address is the one she used last
        await a.TrackAsync("profile.updated", [Ann, Identifier.Email("ann.new@example.com")]);
        Assert.Equal(SendStatus.Queued, (await b.Client.SendAsync(Ann, Request("r2"))).Status);
        await a.Engine.RunDispatchAsync();
        await b.Engine.RunDispatchAsync();

        var sent = emailA.Messages.Concat(emailB.Messages).Cast<EmailMessage>().OrderBy(m => m.MessageId, StringComparer.Ordinal).ToList();
        Assert.Equal(["r1", "r2"], sent.Select(m => m.MessageId));
        Assert.Equal([AnnEmail, "ann.new@example.com"], sent.Select(m => m.To));
        Assert.All(sent, m => Assert.Equal("o-1", m.Headers["X-Order"]));
        Assert.Equal(2, (await a.ProfileAsync(Ann)).Timeline.Count(t => t.Type == EventTypes.MessageSent));
    }

    // A transport that edits what it is given (adds a header, rewrites the metadata) and fails transiently: its retry is
    // built again from what was stored, not from the object the first attempt changed, whether the store keeps the
    // array (the payload kept in this process) or reads it back.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATransportThatEditsTheMessage_DoesNotChangeWhatItsRetryIsGiven(bool copyPayloads)
    {
        var (store, sw) = DeliveryPerMessageTests.SwitchStore.Create();
        sw.CopyPayloads = copyPayloads;
        var email = new Scripted(ChannelNames.Email, (m, call) =>
        {
            var e = (EmailMessage)m;
            if (e.Headers is IDictionary<string, string> headers)
            {
                headers["X-Tampered"] = "yes";
            }

            if (e.Metadata is IDictionary<string, string> metadata)
            {
                metadata["shop"] = "tampered";
            }

            return call == 1 ? DeliveryResult.TransientFailure("busy") : DeliveryResult.Accepted("p-1");
        });
        // No quick retries inside one hand-over (those give the transport the object it was given): the retry is the
        // outbox's, a dispatch of the stored entry.
        await using var host = Host(store, new MapRenderer(), o => o.Delivery.Retry = null, (ChannelNames.Email, email));
        await host.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);

        await host.Client.SendAsync(Ann, Request("r1"));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Seen);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(2, email.Seen.Count);
        Assert.Equal(email.Seen[0], email.Seen[1]); // as handed over, before the transport's edits
        Assert.DoesNotContain("X-Tampered", email.Seen[1], StringComparison.Ordinal);
        Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSent);
    }

    // Headers with a null value, an empty key, escapes and a line separator: the transport gets the same map from the
    // kept payload as from one read back.
    [Fact]
    public async Task UnusualHeaders_ReachTheTransportAlike_FromTheKeptPayloadAndFromOneReadBack()
    {
        var headers = new Dictionary<string, string>
        {
            ["X-Null"] = null!, [string.Empty] = "empty key", ["a\"b\\c"] = "<&>", ["\u00e9\u2028"] = "\u2029", ["x-order"] = "lower", ["X-Order"] = "upper",
        };

        async Task<EmailMessage> SentAsync(bool copy)
        {
            var (store, sw) = DeliveryPerMessageTests.SwitchStore.Create();
            sw.CopyPayloads = copy;
            var email = new Scripted(ChannelNames.Email, (_, _) => DeliveryResult.Accepted("p"));
            await using var host = Host(store, new MapRenderer(headers), null, (ChannelNames.Email, email));
            await host.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);
            await host.Client.SendAsync(Ann, Request("r1"));
            await host.Engine.RunDispatchAsync();
            return Assert.IsType<EmailMessage>(Assert.Single(email.Messages));
        }

        var kept = await SentAsync(copy: false);
        var readBack = await SentAsync(copy: true);
        foreach (var message in new[] { kept, readBack })
        {
            Assert.Equal(headers.OrderBy(h => h.Key, StringComparer.Ordinal), message.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        }
    }

    // Between planning and dispatch she withdraws consent, unsubscribes, or is erased: the kept payload (the in-memory
    // store hands the same array back) must not carry the message past the check made when it leaves. The provider
    // is busy at first, so the message is planned and tried before her change whenever a background run takes it; its
    // retry is the dispatch of the kept payload.
    [Theory]
    [InlineData("consent")]
    [InlineData("unsubscribe")]
    [InlineData("erase")]
    public async Task AChangeOfHerMindBetweenPlanningAndDispatch_StopsTheKeptPayload(string change)
    {
        var open = false;
        var email = new Scripted(ChannelNames.Email, (_, _) => Volatile.Read(ref open) ? DeliveryResult.Accepted("p") : DeliveryResult.TransientFailure("busy"));
        await using var host = Host(null, new MapRenderer(), null, (ChannelNames.Email, email));
        await host.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Request("m1", MessageClass.Marketing))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.NotEmpty(email.Seen); // tried, and waiting for its retry
        switch (change)
        {
            case "consent":
                await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false });
                break;
            case "unsubscribe":
                await host.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" });
                break;
            default:
                Assert.True(await host.Client.EraseProfileAsync(Ann));
                break;
        }

        var tries = email.Seen.Count;
        Volatile.Write(ref open, true);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(tries, email.Seen.Count); // never handed over again
    }

    // A message held for quiet hours carries its request and is rendered again when it leaves (never kept): it goes to
    // the address she has then, rendered for that moment.
    [Fact]
    public async Task AMessageHeldForQuietHours_IsRenderedAgainForItsAddressWhenItLeaves()
    {
        var renderer = new MapRenderer();
        var email = new Scripted(ChannelNames.Email, (_, _) => DeliveryResult.Accepted("p"));
        await using var host = Host(null, renderer, o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
            o.Delivery.QuietHoursStart = new TimeOnly(8, 0);
            o.Delivery.QuietHoursEnd = new TimeOnly(12, 0);
        }, (ChannelNames.Email, email));
        await host.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Request("m1", MessageClass.Marketing))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync("profile.updated", [Ann, Identifier.Email("ann.later@example.com")]);
        await host.AdvanceAsync(TimeSpan.FromHours(4));
        await host.Engine.RunDispatchAsync();

        var sent = Assert.IsType<EmailMessage>(Assert.Single(email.Messages));
        Assert.Equal("ann.later@example.com", sent.To);
        Assert.Equal("rendered at " + Start.AddHours(3).ToString("O", System.Globalization.CultureInfo.InvariantCulture), sent.TextBody);
        Assert.Equal(2, renderer.Calls);
    }

    private static readonly JourneyDefinition Welcome = JourneyRig.Parse("""
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "hello"}]},
                   {"id": "hello", "type": "send", "channels": ["email", "sms"], "template": "hello", "class": "transactional"}]}
        """);

    // The SDK's own outcome events are now written with their touch's attribution at once (not enriched afterwards):
    // after a fallback (email refused, SMS accepted), message.sent names the journey, step, variant and template as a
    // provider's delivery report for the same message does; when every channel refuses, message.failed names them too;
    // the measurement rows count each under the channel it ended on.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnOutcomeAfterAFallback_IsAttributedAsAProvidersReportForTheSameMessage(bool smsAccepts)
    {
        var email = new Scripted(ChannelNames.Email, (m, _) => ((EmailMessage)m).Subject == "hello" ? DeliveryResult.PermanentFailure("mailbox unknown") : DeliveryResult.Accepted("e-" + m.MessageId));
        var sms = new Scripted(ChannelNames.Sms, (m, _) => smsAccepts ? DeliveryResult.Accepted("s-" + m.MessageId) : DeliveryResult.PermanentFailure("unreachable"));
        await using var host = Host(null, new MapRenderer(), o =>
        {
            o.Journeys.Add(Welcome);
            o.Journeys.Add(OutcomeAttributionJourneys.After("after-sent", EventTypes.MessageSent, ChannelNames.Email));
            o.Journeys.Add(OutcomeAttributionJourneys.After("after-failed", EventTypes.MessageFailed, ChannelNames.Email));
            o.Journeys.Add(OutcomeAttributionJourneys.After("after-delivered", EventTypes.MessageDelivered, ChannelNames.Email));
        }, (ChannelNames.Email, email), (ChannelNames.Sms, sms));

        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnEmail), Identifier.Phone(AnnPhone)]);
        await host.Engine.RunDispatchAsync();
        var hello = Assert.Single(sms.Messages);
        if (smsAccepts)
        {
            // The provider reports the delivery naming only the message: measurement adds what its touch knows.
            await host.TrackAsync(EventTypes.MessageDelivered, [Ann], new { message_id = hello.MessageId, channel = "sms" }, channel: ChannelNames.Sms);
            await host.Engine.RunDispatchAsync();
        }

        await host.Engine.RunDispatchAsync(); // the follow-up the outcome planned
        var followUps = email.Messages.Cast<EmailMessage>().Select(m => m.Subject).Where(s => s != "hello").Order(StringComparer.Ordinal);
        Assert.Equal(smsAccepts ? ["after-delivered", "after-sent"] : ["after-failed"], followUps);

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome" });
        var outcome = Assert.Single(rows, r => r.Key.Metric == (smsAccepts ? MeasurementMetrics.Sent : MeasurementMetrics.Failed));
        Assert.Equal(("hello", "a", "hello", smsAccepts ? ChannelNames.Sms : ChannelNames.Email, 1L),
            (outcome.Key.StepId, outcome.Key.Variant, outcome.Key.TemplateId, outcome.Key.Channel, outcome.Count));
        if (smsAccepts)
        {
            var delivered = Assert.Single(rows, r => r.Key.Metric == MeasurementMetrics.Delivered);
            Assert.Equal(outcome.Key with { Metric = MeasurementMetrics.Delivered }, delivered.Key);
        }
    }

    /// <summary>Holds every hand-over until released; says when the first one arrived.</summary>
    private sealed class Gated : IChannelTransport
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.ConfigureAwait(false);
            return DeliveryResult.Accepted("p-" + message.MessageId);
        }
    }

    // A run that finds nothing due while another run's send is in flight waits for that send (its final wait copies only
    // the unfinished ones): when it returns, the outcome is on her profile. One cancelled while it waits ends with the
    // cancellation once the send is done, and the send's outcome is kept.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARunWithNothingOfItsOwn_WaitsForAnotherRunsSendInFlight(bool cancelWhileWaiting)
    {
        var gated = new Gated();
        await using var host = Host(null, new MapRenderer(), o => { o.Delivery.SendTimeout = TimeSpan.FromHours(1); o.Delivery.Lease = TimeSpan.FromHours(4); }, (ChannelNames.Email, gated));
        await host.TrackAsync("profile.updated", [Ann, Identifier.Email(AnnEmail)]);
        await host.Client.SendAsync(Ann, Request("r1"));

        var first = Task.Run(() => host.Engine.RunDispatchAsync());
        await gated.Entered.Task; // claimed and registered: any later run sees it in flight
        using var cancel = new CancellationTokenSource();
        var second = Task.Run(() => host.Engine.RunDispatchAsync(cancel.Token));
        if (cancelWhileWaiting)
        {
            await cancel.CancelAsync();
        }

        gated.Release.SetResult();
        try
        {
            Assert.Equal(0, await second);
            Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSent); // before the first run is awaited
        }
        catch (OperationCanceledException) when (cancelWhileWaiting)
        {
        }

        await first;
        Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSent);
    }

    // ---------------------------------------------------------------- contact preferences (1f13117)

    // A preference centre's list with an unticked box left as null (["sms", null]): it was accepted and read as "sms";
    // refusing the whole event lost her limit with it. Null items are gaps, as a null value is no choice; a number is
    // still refused with its path. null, "" and [] are accepted as before (null removes her choice, "" and [] name none).
    [Theory]
    [InlineData("[\"sms\", null, \"email\"]", "sms,email")]
    [InlineData("[null]", "")]
    [InlineData("null", "")]
    [InlineData("\"\"", "")]
    [InlineData("[]", "")]
    [InlineData("\" , sms ,, \"", "sms")]
    public async Task APreferredChannelListWithGaps_IsAccepted_WithHerLimit(string value, string expected)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var r = await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Ann],
            JsonDocument.Parse($$"""{"preferred_channels": {{value}}, "max_messages": 2, "period": "P1W"}""").RootElement));

        Assert.Equal(TrackStatus.Accepted, r.Status);
        var preferences = (await host.ProfileAsync(Ann)).Preferences!;
        Assert.Equal(expected, string.Join(",", preferences.PreferredChannels));
        Assert.Equal((2, TimeSpan.FromDays(7)), (preferences.MaxMessages, preferences.Period));
    }

    [Fact]
    public async Task AVeryLongListOfPreferredChannels_IsAccepted_AndReadInOrderWithoutRepeats()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var names = Enumerable.Range(0, 2000).Select(i => "ch" + (i % 500)).ToArray();
        var r = await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Ann], new { preferred_channels = names }));

        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.Equal(names.Take(500), (await host.ProfileAsync(Ann)).Preferences!.PreferredChannels);
    }

    // The period's bounds, in weeks (read by the ISO fallback) and in the forms XML Schema reads: a month is 30 days,
    // a year 365; the longest is 3,660 days, the shortest a second.
    [Theory]
    [InlineData("P522W", 3654)]
    [InlineData("P1M", 30)]
    [InlineData("P1Y", 365)]
    [InlineData("P10Y", 3650)]
    [InlineData("P3660D", 3660)]
    [InlineData("P523W", null)]
    [InlineData("P11Y", null)]
    [InlineData("P0W", null)]
    [InlineData("-P1W", null)]
    [InlineData("P1.5W", null)]
    [InlineData("p1w", null)]
    public async Task APeriodInWeeksOrOtherIsoForms_IsReadWithItsBounds(string period, int? days)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var r = await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Ann], new { max_messages = 1, period }));

        if (days is null)
        {
            Assert.Equal(TrackStatus.Rejected, r.Status);
            Assert.Equal("properties.period", Assert.Single(r.Errors).Field);
            return;
        }

        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.Equal(TimeSpan.FromDays(days.Value), (await host.ProfileAsync(Ann)).Preferences!.Period);
    }

    // ---------------------------------------------------------------- rule history (3c62a93)

    private static SegmentDefinition Segment(string json) => SegmentJson.Parse(json).Value!;

    private static readonly SegmentDefinition[] OrderSegments =
    [
        Segment("""{"id": "three-orders", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 3}, "within": "P30D"}}"""),
        Segment("""{"id": "spent-100", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 100}}"""),
        Segment("""{"id": "spent-150", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 150}}"""),
    ];

    private static OmnichannelTestHost SegmentHost(IOmnichannelStore store, DateTimeOffset? start = null) =>
        OmnichannelTestHost.Create(o => { foreach (var s in OrderSegments) { o.Segments.Add(s); } }, start: start ?? Start, store: store);

    private static async Task<string> MembershipsAsync(OmnichannelTestHost host, Identifier id) =>
        string.Join(",", OrderSegments.Select(s => s.Id).Where((await host.ProfileAsync(id)).IsInSegment));

    // Lists read from a stored document are copied into indexed ones on their first insert. A profile loaded cold (a
    // second engine on the store, so its history is parsed) gets a redelivered event, the same order placed again with
    // a corrected total, and new orders: the answers are those of the same events on a warm profile, and the answer
    // cache (keyed by list identity) never answers from the list that was replaced.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AHistoryLoadedCold_AnswersAsAWarmOne_AfterDuplicatesCorrectionsAndNewOrders(bool cold)
    {
        var store = new InMemoryOmnichannelStore();
        var first = SegmentHost(store);
        var o1 = first.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 60 });
        await first.TrackAsync(o1);
        for (var i = 2; i <= 17; i++)
        {
            await first.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "old" + i, total = 0 }, at: Start.AddDays(-40 - i)); // outside the window: the cache's lists are long
        }

        var second = first;
        if (cold)
        {
            await first.DisposeAsync();
            second = SegmentHost(store);
        }

        try
        {
            Assert.Equal(TrackStatus.Duplicate, (await second.Client.TrackAsync(o1)).Status);
            Assert.Equal("", await MembershipsAsync(second, Ann));

            // The same order again, a minute later, its total corrected: one order of 40, not two.
            await second.AdvanceAsync(TimeSpan.FromMinutes(1));
            await second.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });
            await second.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 70 });
            Assert.Equal("spent-100", await MembershipsAsync(second, Ann));

            await second.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 45 });
            Assert.Equal("three-orders,spent-100,spent-150", await MembershipsAsync(second, Ann));

            await second.AdvanceAsync(TimeSpan.FromDays(31)); // the window closes; pruning keeps the sums
            Assert.Equal("spent-100,spent-150", await MembershipsAsync(second, Ann));
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    // A merge brings an order both profiles hold (the guest's checkout and the account's later copy with a corrected
    // total): it is combined, not counted twice, also when the account's history was loaded cold.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMergeOfTwoHistoriesHoldingOneOrder_CountsItOnce_ColdOrWarm(bool cold)
    {
        var store = new InMemoryOmnichannelStore();
        var guest = Identifier.AnonymousId("cookie-39");
        var first = SegmentHost(store);
        await first.TrackAsync(EventTypes.OrderPlaced, [guest], new { order_id = "o1", total = 60 });
        await first.AdvanceAsync(TimeSpan.FromMinutes(5));
        await first.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 80 });
        await first.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 30 });
        var second = first;
        if (cold)
        {
            await first.DisposeAsync();
            second = SegmentHost(store, first.Time.GetUtcNow()); // a restart: the clock goes on
        }

        try
        {
            await second.TrackAsync("user.logged_in", [guest, Ann]);
            Assert.Equal("spent-100", await MembershipsAsync(second, Ann));
            await second.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o3", total = 40 });
            Assert.Equal("three-orders,spent-100,spent-150", await MembershipsAsync(second, Ann));
        }
        finally
        {
            await second.DisposeAsync();
        }
    }
}
