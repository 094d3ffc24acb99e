using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated step of audit U40.</summary>
/// <param name="Kind">Which kind of step (see <see cref="AuditU40Tests.RunAsync"/>).</param>
/// <param name="Person">Which of the two people.</param>
/// <param name="Who">Which of her identifiers: 0 customer id, 1 email, 2 phone, 3 cookie.</param>
/// <param name="Other">A second identifier of hers (links), or which message a webhook reports on.</param>
/// <param name="Variant">Picks values within the kind.</param>
public sealed record U40Step(int Kind, int Person, int Who, int Other, int Variant);

/// <summary>FsCheck generators for audit U40.</summary>
public static class U40StepArbitrary
{
    private static Gen<U40Step[]> Steps() =>
        Gen.Choose(20, 50).SelectMany(n => Gen.ArrayOf(
                from kind in Gen.Frequency(
                    (8, Gen.Choose(0, 2)),          // marketing and transactional sends, journey triggers
                    (2, Gen.Constant(3)),           // orders
                    (8, Gen.Constant(4)),           // outcome webhooks
                    (3, Gen.Constant(5)),           // consent decisions
                    (3, Gen.Constant(6)),           // links (merges), either direction
                    (2, Gen.Constant(7)),           // transient transport failures
                    (4, Gen.Choose(8, 9)),          // dispatch, time passing
                    (3, Gen.Constant(10)))          // a webhook again (a provider's retry) or an event again
                from person in Gen.Choose(0, 1)
                from who in Gen.Choose(0, 3)
                from other in Gen.Choose(0, 11)
                from variant in Gen.Choose(0, 11)
                select new U40Step(kind, person, who, other, variant), n));

    public static Arbitrary<U40Step[]> Sequences() => Arb.From(Steps(), AuditU40Tests.Shrink);
}

/// <summary>
/// Audit U40: cross-feature invariants under random sequences, round 2. Two people with a customer id, an email and a
/// phone each (each its own profile until linked), opted in to email and SMS. Random steps of: marketing and
/// transactional sends, journeys with and without an order goal (one waits an hour, so quiet hours hold it), orders
/// (some re-sent under another identifier), message outcome webhooks (sent, delivered, opened, clicked, unsubscribed,
/// soft and hard bounces) under any identifier of the person the message went to, before and after her identifiers
/// merge, and again (a provider's retry, under another identifier); consent granted and withdrawn per channel and topic
/// (some back-dated); links either way; transient transport failures (retried); dispatch and time passing. Checked
/// against a model after every step: each outcome counted once per message per profile that heard of it (so once after
/// they merge); no marketing after a refusal in force, nothing after a hard bounce of the address; no key handed to a
/// transport twice; no frequency cap exceeded in any window. At the end: each merged profile keys every touch once,
/// counts each order once and holds the newest consent decision per channel and topic.
/// </summary>
public sealed class AuditU40Tests
{
    private const int People = 2;
    private const int PerPerson = 4;
    private const int Nodes = People * PerPerson;
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly DateTimeOffset OptIns = Start - TimeSpan.FromDays(1);
    private static readonly string[] Outcomes = [EventTypes.MessageSent, EventTypes.MessageDelivered, EventTypes.MessageOpened, EventTypes.MessageClicked, EventTypes.MessageUnsubscribed, EventTypes.MessageBounced];
    private static readonly string[] Counted = [MeasurementMetrics.Sent, MeasurementMetrics.Delivered, MeasurementMetrics.Opened, MeasurementMetrics.Clicked, MeasurementMetrics.Unsubscribed, MeasurementMetrics.Bounced];

    private static readonly FrequencyCap[] Caps =
    [
        new(2, TimeSpan.FromHours(6), Channel: ChannelNames.Email),
        new(1, TimeSpan.FromHours(3), Channel: ChannelNames.Sms),
        new(3, TimeSpan.FromHours(12)),
        new(4, null, PerLocalDay: true),
    ];

    internal static Identifier Id(int node) => (node % PerPerson) switch
    {
        0 => Identifier.CustomerId($"c-u40-{node / PerPerson}"),
        1 => Identifier.Email($"u40-{node / PerPerson}@example.com"),
        2 => Identifier.Phone($"+1212555014{node / PerPerson}"),
        _ => Identifier.AnonymousId($"cookie-u40-{node / PerPerson}"),
    };

    private static int NodeOfAddress(string address) => address.Contains('@', StringComparison.Ordinal)
        ? (address[4] - '0') * PerPerson + 1
        : (address[^1] - '0') * PerPerson + 2;

    internal static IEnumerable<T[]> Shrink<T>(T[] steps)
    {
        if (steps.Length > 1)
        {
            yield return steps[..(steps.Length / 2)];
            yield return steps[(steps.Length / 2)..];
        }

        for (var i = 0; i < steps.Length; i++)
        {
            yield return [.. steps[..i], .. steps[(i + 1)..]];
        }
    }

    [Property(Arbitrary = [typeof(U40StepArbitrary)], MaxTest = 100)]
    public void CrossFeatureInvariants_Round2_HoldTogether(U40Step[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    [Fact]
    public Task AHardBounceReportedUnderHerCustomerId_BeforeTheMerge_StopsMailToThatAddress_AfterIt() =>
        RunAsync(
        [
            new(0, 0, 1, 0, 2),    // marketing to her email (email, then SMS): handed over
            new(4, 0, 0, 0, 11),   // a hard bounce naming only the message, under her customer id (its own profile)
            new(6, 0, 0, 1, 0),    // her customer id and her email linked: the pending bounce finds its address
            new(1, 0, 1, 0, 2),    // a transactional message to her email: never to the bounced address
            new(0, 0, 0, 0, 3),    // marketing through her customer id, SMS then email
            new(9, 0, 0, 0, 11),   // six hours pass
        ]);

    [Fact]
    public Task AMessageHeldOvernight_RetriedThreeTimes_ThenReportedUnderBothOfHerIdentifiers_CountsEachOutcomeOnce() =>
        RunAsync(
        [
            new(9, 1, 0, 0, 11),   // 15:00
            new(9, 1, 0, 0, 11),   // 21:00: quiet hours
            new(0, 1, 1, 0, 2),    // marketing to her email, held until 08:00
            new(7, 1, 0, 0, 2),    // the ESP fails three times, transiently
            new(9, 1, 0, 0, 11),   // 03:00
            new(9, 1, 0, 0, 11),   // 09:00: sent on the fourth attempt
            new(4, 1, 0, 0, 1),    // delivered, under her customer id
            new(10, 1, 1, 0, 1),   // the provider's retry of it, under her email
            new(4, 1, 0, 0, 2),    // opened, under her customer id
            new(6, 1, 1, 0, 0),    // her email and customer id linked (the other direction)
            new(10, 1, 1, 1, 2),   // the open's retry after the merge, under her email
            new(3, 1, 0, 0, 2),    // an order: converts once
            new(0, 1, 1, 0, 4),    // two more marketing emails: the cap (2 in 6 h) lets one through
            new(0, 1, 1, 0, 6),
        ]);

    [Fact]
    public async Task AHardBounceNamingOnlyItsMessage_OnAProfileThatNeverSentIt_SuppressesTheAddressAtTheMerge()
    {
        // The property's failure, shrunk: the ESP's webhook handler posts a hard bounce from the server (event channel
        // web) naming only the message, under the cookie of the page she last used. That profile does not know the
        // message, so its channel was read from the event (web): the pending bounce waited for a web message, which the
        // merge never brought, and the next mail went to the address that bounced.
        var esp = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("esp", esp));
        Identifier ann = Identifier.Email("ann@example.com"), cookie = Identifier.AnonymousId("cookie-ann");
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = ChannelNames.Email, granted = true }, at: OptIns);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, new MessageRequest { Key = "m-1", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" })).Status);
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Single(esp.Messages);

        await host.TrackAsync(EventTypes.MessageBounced, [cookie], new { message_id = "m-1", bounce_type = "hard" }, channel: ChannelNames.Web);
        await host.TrackAsync("user.logged_in", [ann, cookie]);

        var receipt = await host.Client.SendAsync(ann, new MessageRequest { Key = "t-2", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(SendStatus.Skipped, receipt.Status);
        Assert.Single(esp.Messages);
    }

    [Fact]
    public async Task AReportStampedBeforeTheHandOver_UnderAnotherProfile_DoesNotDescribeTheMessageAfterTheMerge()
    {
        // The property's second failure, shrunk: the provider's clock two minutes behind ours, its `message.sent` and then
        // a hard bounce, both naming only the message, posted under her cookie. At the merge the cookie's touch was the
        // earliest, so it described the message: channel web. The sent count moved to a web row, and the bounce
        // suppressed "web:+1…", so the next text went to the number that bounced.
        var gateway = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("sms-gw", gateway));
        Identifier ann = Identifier.Phone("+12125550140"), cookie = Identifier.AnonymousId("cookie-ann");
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = ChannelNames.Sms, granted = true }, at: OptIns);
        await host.Client.SendAsync(ann, new MessageRequest { Key = "t-1", Channels = [ChannelNames.Sms], TemplateId = "code", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Single(gateway.Messages);

        await host.TrackAsync(EventTypes.MessageSent, [cookie], new { message_id = "t-1" }, at: Start - TimeSpan.FromMinutes(2));
        await host.TrackAsync(EventTypes.MessageBounced, [cookie], new { message_id = "t-1", bounce_type = "hard" });
        await host.TrackAsync("user.logged_in", [ann, cookie]);

        var next = await host.Client.SendAsync(ann, new MessageRequest { Key = "t-2", Channels = [ChannelNames.Sms], TemplateId = "code", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(SendStatus.Skipped, next.Status);
        Assert.Single(gateway.Messages);
        var sent = (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Sent })).Where(r => r.Count != 0).ToList();
        Assert.Equal([(ChannelNames.Sms, 1L)], sent.Select(r => (r.Key.Channel, r.Count)));
    }

    private sealed record Decision(int Step, int Node, string Channel, string Topic, bool Granted, DateTimeOffset At, string What);

    private sealed record Received(int Step, DateTimeOffset At, string Channel, OutboundMessage Message, long Linked);

    private sealed record Webhook(Received Message, string Type, bool Hard, DateTimeOffset At, string? Topic, bool WithAddress, bool Bare);

    /// <summary>Records every message it accepts with the step, the instant and the identifiers linked to its address.</summary>
    private sealed class Recorder(string channel, Func<int> step, Func<DateTimeOffset> now, Func<string, long> linked, List<Received> _received) : IChannelTransport
    {

        public string Channel { get; } = channel;

        public IReadOnlyList<Received> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            lock (_received)
            {
                _received.Add(new(step(), now(), Channel, message, linked(To(message))));
            }

            return ValueTask.FromResult(DeliveryResult.Accepted("p-" + message.MessageId));
        }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    // One topic as forms and providers spell it: compared trimmed and without case.
    private static string Spelled(int pick) => (pick % 3) switch { 0 => "offers", 1 => "Offers", _ => " OFFERS " };

    private static string To(OutboundMessage message) => message switch { EmailMessage m => m.To, SmsMessage m => m.To, _ => "?" };

    private static bool IsMarketing(OutboundMessage m) => !m.MessageId.StartsWith("t-", StringComparison.Ordinal);

    // The consent rule of the README: the newer of the topic's decision and the channel-wide one, a channel-wide opt-in
    // never lifting a refusal of the topic itself, an opt-out winning a tie.
    private static Decision? Newest(IEnumerable<Decision> decisions) =>
        decisions.OrderByDescending(d => d.At).ThenBy(d => d.Granted).FirstOrDefault();

    private static bool Granted(IEnumerable<Decision> decisions, string channel, string topic)
    {
        var list = decisions.Where(d => d.Channel == channel).ToList();
        var own = Newest(list.Where(d => d.Topic == topic));
        var wide = Newest(list.Where(d => d.Topic == ConsentRecord.AnyTopic));
        if (own is { Granted: false })
        {
            return false;
        }

        if (own is null)
        {
            return wide is { Granted: true };
        }

        return !(wide is { Granted: false } && wide.At >= own.At);
    }

    internal static async Task RunAsync(U40Step[] steps)
    {
        var step = 0;
        var parent = Enumerable.Range(0, Nodes).ToArray();
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);

        long Linked(string address)
        {
            lock (parent)
            {
                var root = Find(NodeOfAddress(address));
                return Enumerable.Range(0, Nodes).Where(i => Find(i) == root).Sum(i => 1L << i);
            }
        }

        TimeProvider? clock = null;
        var handed = new List<Received>(); // both transports', in the order they accepted them
        var email = new Recorder(ChannelNames.Email, () => Volatile.Read(ref step), () => clock!.GetUtcNow(), Linked, handed);
        var sms = new Recorder(ChannelNames.Sms, () => Volatile.Read(ref step), () => clock!.GetUtcNow(), Linked, handed);
        var faultyEmail = new FailingTransport(email);
        var faultySms = new FailingTransport(sms);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 2;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Delivery.Retry = null; // each dispatch attempt is one hand-over
                o.Delivery.MaxAttempts = 4;
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(1);
                foreach (var cap in Caps)
                {
                    o.Delivery.FrequencyCaps.Add(cap);
                }

                o.Journeys.Add(Journey.Define("promo-goal", "Promo with a goal")
                    .TriggeredBy(t => t.Event("promo.requested"))
                    .Goal(EventTypes.OrderPlaced, "P7D")
                    .Steps(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email, ChannelNames.Sms], "promo", "offers"))
                    .Build());
                o.Journeys.Add(Journey.Define("promo-now", "Promo now, no goal")
                    .TriggeredBy(t => t.Event("promo.now"))
                    .Steps(s => s.Send("text", [ChannelNames.Sms, ChannelNames.Email], "now", "offers"))
                    .Build());
            },
            start: Start,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", faultyEmail).AddTransport("sms-gw", faultySms));
        clock = host.Time;

        var decisions = new List<Decision>();
        var orders = new Dictionary<int, HashSet<string>>();
        var tracked = new List<CustomerEvent>();
        var webhooks = new List<(Webhook Hook, int Node)>();
        var reports = new Dictionary<(string Key, string Metric), HashSet<int>>(); // the nodes each outcome was reported under
        var hardBounces = new List<(int Step, int Node, string Channel, string Address)>();
        var log = new List<string>();
        string Trace() => string.Join("\n", log);

        void Report(string key, string metric, int node) =>
            (reports.TryGetValue((key, metric), out var set) ? set : reports[(key, metric)] = []).Add(node);

        async Task<TrackStatus> Send(CustomerEvent e)
        {
            TrackResult r;
            try
            {
                r = await host.Client.TrackAsync(e);
            }
            catch (Exception ex)
            {
                Assert.Fail($"step {step} {e.Type}: TrackAsync threw {ex}\n{Trace()}");
                throw;
            }

            log.Add($"{step}: {e.Id} {e.Type} @{e.Timestamp:HH:mm:ss.fff} via {string.Join("+", e.Identifiers.Select(i => i.Value))} {e.Properties} -> {r.Status} {string.Join("; ", r.Errors)}");
            Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Duplicate, $"step {step} {e.Type}: {r.Status} {string.Join("; ", r.Errors)}\n{Trace()}");
            return r.Status;
        }

        async Task<TrackStatus> Track(string type, int[] nodes, object? properties, DateTimeOffset at, string channel = ChannelNames.Web)
        {
            var e = new CustomerEvent
            {
                Id = $"u40-{tracked.Count:D3}",
                Type = type,
                Timestamp = at,
                Identifiers = [.. nodes.Select(Id)],
                Channel = channel,
                Properties = properties is null ? default : JsonData.From(properties),
            };
            tracked.Add(e);
            return await Send(e);
        }

        async Task Guard(string what, Func<Task> call)
        {
            try
            {
                await call();
            }
            catch (Exception ex)
            {
                Assert.Fail($"step {step} {what} threw {ex}\n{Trace()}");
            }
        }

        async Task Outcome(Webhook w, int node)
        {
            var r = w.Message;
            // A bare report names only its message (posted from the host's server, not on the message's channel).
            var bare = w.Bare && w.Type != EventTypes.MessageUnsubscribed;
            var props = new Dictionary<string, object?> { ["message_id"] = r.Message.MessageId };
            if (!bare)
            {
                props["channel"] = r.Channel;
            }

            if (w.Type == EventTypes.MessageBounced)
            {
                props["bounce_type"] = w.Hard ? "hard" : "soft";
                if (w.WithAddress)
                {
                    props["address"] = To(r.Message);
                }
            }

            if (w.Type == EventTypes.MessageUnsubscribed && w.Topic is not null)
            {
                props["topic"] = w.Topic;
            }

            if (w.Type == EventTypes.MessageClicked)
            {
                props["url"] = w.Topic is null ? "https://kitty.example/sale" : "https://kitty.example/account"; // another link, the same click count
            }

            if (await Track(w.Type, [node], props, w.At, bare ? ChannelNames.Web : r.Channel) != TrackStatus.Accepted)
            {
                return;
            }

            webhooks.Add((w, node));
            Report(r.Message.MessageId, Counted[Array.IndexOf(Outcomes, w.Type)], node);
            if (w.Type == EventTypes.MessageUnsubscribed)
            {
                decisions.Add(new(step, node, r.Channel, w.Topic is null ? ConsentRecord.AnyTopic : "offers", false, w.At, $"unsubscribe {r.Message.MessageId} from {w.Topic ?? "all"}"));
            }
            else if (w.Type == EventTypes.MessageBounced && w.Hard)
            {
                hardBounces.Add((step, node, r.Channel, To(r.Message)));
            }
        }

        // Each person opted in to marketing on her email and on her phone (each its own profile until linked).
        for (var p = 0; p < People; p++)
        {
            await Track(EventTypes.ConsentChanged, [p * PerPerson + 1], new { channel = ChannelNames.Email, granted = true }, OptIns);
            decisions.Add(new(0, p * PerPerson + 1, ChannelNames.Email, ConsentRecord.AnyTopic, true, OptIns, "opt-in"));
            await Track(EventTypes.ConsentChanged, [p * PerPerson + 2], new { channel = ChannelNames.Sms, granted = true }, OptIns);
            decisions.Add(new(0, p * PerPerson + 2, ChannelNames.Sms, ConsentRecord.AnyTopic, true, OptIns, "opt-in"));
        }

        foreach (var s in steps)
        {
            Interlocked.Increment(ref step);
            var node = s.Person * PerPerson + s.Who;
            var v = s.Variant;
            var now = host.Time.GetUtcNow();
            var at = now - TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(step); // unique and increasing with the step
            switch (s.Kind)
            {
                case 0:
                case 1:
                    string[][] routes = [[ChannelNames.Email], [ChannelNames.Sms], [ChannelNames.Email, ChannelNames.Sms], [ChannelNames.Sms, ChannelNames.Email]];
                    var transactional = s.Kind == 1;
                    var request = new MessageRequest
                    {
                        Key = (transactional ? "t-" : "m-") + (v < 2 ? "again" : step.ToString(CultureInfo.InvariantCulture)),
                        Channels = routes[v % 4],
                        TemplateId = "tpl",
                        Topic = transactional ? null : "offers",
                        Class = transactional ? MessageClass.Transactional : MessageClass.Marketing,
                    };
                    SendResult? sent = null;
                    node = s.Person * PerPerson + (s.Who is 0 or 3 && v % 2 == 0 ? 1 + (v / 2 % 2) : s.Who); // mostly through an address of hers
                    await Guard("send", async () => sent = await host.Client.SendAsync(Id(node), request));
                    log.Add($"{step}: send {request.Key} {string.Join(">", request.Channels)} via {Id(node).Value} -> {sent!.Status} {sent.DueAt:HH:mm} {sent.Reason}");
                    break;
                case 2:
                    await Track(v % 2 == 0 ? "promo.requested" : "promo.now", [s.Who is 0 or 3 ? (s.Person * PerPerson) + 1 + (v / 2 % 2) : node], null, now);
                    break;
                case 3:
                    // Sometimes the same order again under another of her identifiers (the browser and the server).
                    var earlier = orders.Where(kv => kv.Key / PerPerson == s.Person && kv.Key != node).SelectMany(kv => kv.Value).Order(StringComparer.Ordinal).ToList();
                    var orderId = v % 3 == 0 && earlier.Count > 0 ? earlier[v % earlier.Count] : $"o-{s.Person}-{step}";
                    if (await Track(EventTypes.OrderPlaced, [node], new { order_id = orderId, total = 20 + v, currency = "GBP" }, v % 4 == 1 ? at - TimeSpan.FromHours(3) : at) == TrackStatus.Accepted)
                    {
                        (orders.TryGetValue(node, out var set) ? set : orders[node] = []).Add(orderId);
                    }

                    break;
                case 4:
                    var all = email.Received;
                    if (all.Count > 0)
                    {
                        var k = s.Other * 7 % all.Count;
                        var person = NodeOfAddress(To(all[k].Message)) / PerPerson;
                        var type = Outcomes[v % 6];
                        var when = all[k].At + TimeSpan.FromMinutes((v % 4 * 10) - 2); // the provider's clock a little behind ours, or later
                        await Outcome(new Webhook(all[k], type, Hard: v >= 6, when > now ? now : when, v % 4 == 1 ? Spelled(s.Other) : null, WithAddress: v % 3 == 0, Bare: s.Other % 4 == 3), person * PerPerson + s.Who);
                    }

                    break;
                case 5:
                    var channel = v % 2 == 0 ? ChannelNames.Email : ChannelNames.Sms;
                    var topic = v / 2 % 2 == 0 ? "offers" : ConsentRecord.AnyTopic;
                    var granted = v / 4 % 2 == 1;
                    var decidedAt = v >= 10 ? at - TimeSpan.FromDays(2) : v >= 8 ? at - TimeSpan.FromHours(2) : at; // back-dated: a late form post, one older than her opt-in
                    object props = topic == ConsentRecord.AnyTopic ? new { channel, granted } : new { channel, topic = Spelled(s.Other), granted };
                    if (await Track(EventTypes.ConsentChanged, [node], props, decidedAt) == TrackStatus.Accepted)
                    {
                        decisions.Add(new(step, node, channel, topic, granted, decidedAt, $"consent {channel}/{topic} {granted}"));
                    }

                    break;
                case 6: // a link of two of her identifiers (a merge), either direction
                    var other = s.Person * PerPerson + (s.Other % PerPerson);
                    if (other != node && await Track("user.logged_in", [node, other], null, at) == TrackStatus.Accepted)
                    {
                        lock (parent)
                        {
                            parent[Find(node)] = Find(other);
                        }
                    }

                    break;
                case 7:
                    (v % 2 == 0 ? faultyEmail : faultySms).FailTransiently(1 + (v % 3));
                    log.Add($"{step}: {1 + (v % 3)} transient failures on {(v % 2 == 0 ? "email" : "sms")}");
                    break;
                case 8:
                    await Guard("dispatch", async () => await host.Engine.RunDispatchAsync());
                    log.Add($"{step}: dispatch");
                    break;
                case 9:
                    var by = TimeSpan.FromMinutes(v < 4 ? 1 + v : 45 * (v - 3));
                    await Guard("advance", () => host.AdvanceAsync(by));
                    log.Add($"{step}: advance {by} to {host.Time.GetUtcNow():HH:mm}");
                    break;
                default:
                    if (v % 3 != 0 && webhooks.Count > 0)
                    {
                        // The provider's retry of a webhook: a new event id, the same report, sometimes a later stamp, under
                        // any identifier of hers.
                        var (hook, _) = webhooks[s.Other * 5 % webhooks.Count];
                        var person = NodeOfAddress(To(hook.Message.Message)) / PerPerson;
                        var later = hook.At + TimeSpan.FromMinutes(v % 2 * 5);
                        await Outcome(hook with { At = later > now ? now : later }, person * PerPerson + s.Who);
                    }
                    else if (tracked.Count > 0)
                    {
                        await Send(tracked[s.Other * 7 % tracked.Count]); // an event again, its id the same
                    }

                    break;
            }

            await Guard("dispatch", async () => await host.Engine.RunDispatchAsync());
            await CheckAsync();
        }

        Interlocked.Increment(ref step);
        await Guard("advance", () => host.AdvanceAsync(TimeSpan.FromDays(2)));
        await CheckAsync();

        // Merged state: every touch keyed once, each order counted once, the newest consent per channel and topic.
        for (var n = 0; n < Nodes; n++)
        {
            var p = await host.Client.GetProfileAsync(Id(n));
            var linked = Enumerable.Range(0, Nodes).Where(m => Find(m) == Find(n)).ToHashSet();
            var expected = orders.Where(kv => linked.Contains(kv.Key)).SelectMany(kv => kv.Value).ToHashSet(StringComparer.Ordinal);
            if (p is null)
            {
                Assert.Empty(expected);
                continue;
            }

            var twice = p.Touches.GroupBy(t => t.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            Assert.True(twice is null, $"{Id(n).Value}: touch {twice?.Key} kept {twice?.Count()} times\n{Trace()}");
            Assert.True(expected.Count == p.Statistics.OrderCount, $"{Id(n).Value}: {p.Statistics.OrderCount} orders, expected {expected.Count}\n{Trace()}");
            foreach (var channel in (string[])[ChannelNames.Email, ChannelNames.Sms])
            {
                foreach (var topic in (string[])["offers", ConsentRecord.AnyTopic])
                {
                    var newest = Newest(decisions.Where(d => linked.Contains(d.Node) && d.Channel == channel && d.Topic == topic));
                    var records = p.Consents.Where(c => c.Channel == channel && c.Topic.Trim().ToLowerInvariant() == topic).ToList();
                    Assert.True(records.Count <= 1, $"{Id(n).Value}: {records.Count} consent records for {channel}/{topic}: {string.Join(", ", records.Select(c => $"'{c.Topic}' {c.Granted}"))}\n{Trace()}");
                    var record = records.FirstOrDefault();
                    Assert.True(newest?.Granted == record?.Granted, $"{Id(n).Value}: {channel}/{topic} is {record?.Granted.ToString() ?? "undecided"}, the newest decision ({newest?.What} at {newest?.At:HH:mm:ss.fff}) says {newest?.Granted.ToString() ?? "undecided"}\n{Trace()}");
                }
            }
        }

        async Task CheckAsync()
        {
            var received = email.Received;

            // No key handed to a transport twice.
            var twice = received.GroupBy(r => r.Message.MessageId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            Assert.True(twice is null, $"message {twice?.Key} accepted {twice?.Count()} times\n{Trace()}");

            foreach (var r in received)
            {
                var to = To(r.Message);
                bool Linked(int n) => (r.Linked & (1L << n)) != 0;

                // Nothing to an address after a hard bounce of it reported (earlier) through an identifier linked to it.
                var bounce = hardBounces.FirstOrDefault(b => b.Step < r.Step && b.Channel == r.Channel && b.Address == to && Linked(b.Node));
                Assert.True(bounce == default, $"{r.Message.MessageId} to {to} at step {r.Step}, after a hard bounce reported via {Id(bounce.Node).Value} at step {bounce.Step}\n{Trace()}");

                // No marketing unless the consent in force (decisions that arrived earlier, through linked identifiers) grants it.
                if (IsMarketing(r.Message))
                {
                    var known = decisions.Where(d => d.Step < r.Step && Linked(d.Node)).ToList();
                    Assert.True(Granted(known, r.Channel, "offers"), $"{r.Channel} {r.Message.MessageId} to {to} at step {r.Step}, refused by then: {string.Join(", ", known.Where(d => d.Channel == r.Channel).Select(d => $"{d.What}@{d.At:HH:mm:ss.fff} via {Id(d.Node).Value} (step {d.Step})"))}\n{Trace()}");

                    // No cap exceeded in the window ending at its hand-over, counting her messages (linked by then).
                    foreach (var cap in Caps)
                    {
                        if (cap.Channel is not null && cap.Channel != r.Channel)
                        {
                            continue;
                        }

                        var inWindow = received.Count(o => IsMarketing(o.Message) && (cap.Channel is null || o.Channel == cap.Channel) && Linked(NodeOfAddress(To(o.Message)))
                            && o.At <= r.At && (cap.PerLocalDay ? o.At.UtcDateTime.Date == r.At.UtcDateTime.Date : o.At > r.At - cap.Window!.Value)); // her zone: UTC
                        Assert.True(inWindow <= cap.Max, $"{inWindow} {cap.Channel ?? "messages"} within {(cap.PerLocalDay ? "her day" : cap.Window)} up to {r.Message.MessageId} at {r.At:HH:mm} (cap {cap.Max})\n{Trace()}");
                    }
                }
            }

            // Each outcome counted once per message per profile that heard of it: once per message after they merged.
            foreach (var r in received)
            {
                Report(r.Message.MessageId, MeasurementMetrics.Sent, NodeOfAddress(To(r.Message))); // the engine's own report
            }

            var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery());
            foreach (var metric in Counted)
            {
                long expected;
                lock (parent)
                {
                    expected = reports.Where(kv => kv.Key.Metric == metric).Sum(kv => kv.Value.Select(Find).Distinct().Count());
                }

                var actual = rows.Where(x => x.Key.Metric == metric).Sum(x => x.Count);
                Assert.True(expected == actual, $"{metric}: {actual} counted, expected {expected}: {string.Join(", ", reports.Where(kv => kv.Key.Metric == metric).Select(kv => $"{kv.Key.Key} via {string.Join("+", kv.Value.Select(n => Id(n).Value))}"))}\n{Trace()}");
            }

            // A journey converts at most the entries it had, and never counts fewer than no active instances.
            foreach (var journey in (string[])["promo-goal", "promo-now"])
            {
                long Counter(string name) => rows.Where(x => x.Key.JourneyId == journey && x.Key.Metric == MeasurementMetrics.JourneyPrefix + name).Sum(x => x.Count);
                Assert.True(Counter("converted") <= Counter("entered"), $"{journey}: {Counter("converted")} converted of {Counter("entered")} entered\n{Trace()}");
                Assert.True(Counter("active") >= 0, $"{journey}: {Counter("active")} active\n{Trace()}");
            }

            // Each order converts once per profile that saw it (once after they merged); no model credits more than that.
            long conversions;
            lock (parent)
            {
                conversions = orders.SelectMany(kv => kv.Value.Select(o => (Root: Find(kv.Key), Order: o))).Distinct().Count();
            }

            var converted = rows.Where(x => x.Key.Metric == MeasurementMetrics.Conversion("order")).Sum(x => x.Count);
            Assert.True(conversions == converted, $"conversions: {converted} counted, expected {conversions}\n{Trace()}");
            foreach (var model in Enum.GetValues<AttributionModel>())
            {
                var credit = rows.Where(x => x.Key.Metric == MeasurementMetrics.Credit("order", model)).Sum(x => x.Sum);
                Assert.True(credit <= conversions + 1e-6, $"{model}: credit {credit} for {conversions} conversions\n{Trace()}");
            }
        }
    }
}
