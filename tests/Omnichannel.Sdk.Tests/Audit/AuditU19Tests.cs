using System.Globalization;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U19: consent with re-grants, topics, merges and arrival order against a reference model of the documented rule
/// (src/Omnichannel.Sdk/README.md, "Consent" and "SMS replies"; <see cref="CustomerProfile.GetConsent"/>). The model:
/// per (channel, topic) the newest decision by event time stands (at the same instant a refusal, then the higher event
/// id); for a topic, a refusal of the topic itself stands whatever the channel-wide decision, otherwise the newer of the
/// topic's own grant and the channel-wide decision (topic <c>*</c>; a tie is a refusal); an unsubscribe without a topic, a
/// complaint and <c>STOP</c> are channel-wide refusals; <c>START</c> is a channel-wide SMS grant that stands only when
/// some other SMS channel-wide decision exists (else no decision); a merge keeps every decision of both sides and the
/// rule is applied to the union. Marketing needs a grant (an opt-out topic only no refusal); transactional needs none.
/// </summary>
public sealed class AuditU19Tests
{
    private static readonly Identifier[] Ids = [Identifier.CustomerId("ann"), Identifier.Email("ann@example.com"), Identifier.Phone("+12125550101")];
    private static readonly string[] Channels = [ChannelNames.Email, ChannelNames.Sms];
    private static readonly string?[] Topics = [null, "offers", "news", "newsletter"];
    private const string OptOutTopic = "news";
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;

    // ---- The reference model ----

    /// <summary>One consent decision as the model sees it: on whose identifier, channel, topic (<c>*</c>: all), when.</summary>
    internal sealed record Decision(string Id, int Who, string Channel, string Topic, bool Granted, DateTimeOffset At, bool Start);

    /// <summary>The newer of two decisions: later event time; at the same instant a refusal; then the higher event id.</summary>
    private static bool Newer(Decision a, Decision b) =>
        a.At != b.At ? a.At > b.At : a.Granted != b.Granted ? !a.Granted : string.CompareOrdinal(a.Id, b.Id) > 0;

    private static Decision? Newest(IEnumerable<Decision> ds) => ds.Aggregate((Decision?)null, (best, d) => best is null || Newer(d, best) ? d : best);

    /// <summary>The model's answer: granted, refused or no decision (<see langword="null"/>) for a channel and topic.</summary>
    internal static bool? Model(IReadOnlyCollection<Decision> ds, string channel, string? topic)
    {
        var wide = ds.Where(d => d.Channel == channel && d.Topic == "*").ToList();
        var cw = Newest(wide);
        if (cw is { Start: true } && wide.All(d => d.Start))
        {
            cw = null; // START with nothing to undo grants nothing
        }

        if (topic is null)
        {
            return cw?.Granted;
        }

        var sp = Newest(ds.Where(d => d.Channel == channel && d.Topic == topic));
        if (sp is null)
        {
            return cw?.Granted;
        }

        if (!sp.Granted)
        {
            return false; // she refused this topic in particular: no channel-wide decision lifts it
        }

        return cw is null ? true : Newer(cw, sp) ? cw.Granted : true;
    }

    private static bool MaySend(bool? decision, string? topic) => topic == OptOutTopic ? decision != false : decision == true;

    // ---- The engine under test ----

    private sealed class Recorder(string channel) : IChannelTransport
    {
        private readonly List<OutboundMessage> _received = [];
        private int _faults;

        public string Channel { get; } = channel;

        public IReadOnlyList<string> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received.Select(m => m is EmailMessage e ? e.Subject : ((SmsMessage)m).Body)];
                }
            }
        }

        public void FailOnce() => Interlocked.Exchange(ref _faults, 1);

        public void Heal() => Interlocked.Exchange(ref _faults, 0);

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Decrement(ref _faults) >= 0)
            {
                return ValueTask.FromResult(DeliveryResult.TransientFailure("gateway timeout"));
            }

            Interlocked.Exchange(ref _faults, 0);
            lock (_received)
            {
                _received.Add(message);
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

    private sealed class Harness : IAsyncDisposable
    {
        public Harness()
        {
            Host = OmnichannelTestHost.Create(
                o =>
                {
                    o.Partitions = 2;
                    o.Delivery.OptOutTopics.Add(OptOutTopic);
                    o.Delivery.Retry = null;                       // a transient failure waits for the dispatcher's retry
                    o.Delivery.RetryDelay = TimeSpan.FromHours(1);
                },
                start: Start,
                delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", Email).AddTransport("sms-gw", Sms));
        }

        public Recorder Email { get; } = new(ChannelNames.Email);

        public Recorder Sms { get; } = new(ChannelNames.Sms);

        public OmnichannelTestHost Host { get; }

        public int Sends { get; set; }

        public Recorder On(string channel) => channel == ChannelNames.Email ? Email : Sms;

        public async Task Track(CustomerEvent e)
        {
            var r = await Host.Client.TrackAsync(e);
            Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Duplicate, $"{e.Id} {e.Type}: {r.Status} {string.Join("; ", r.Errors.Select(x => x.Field + " " + x.Message))}");
        }

        public async Task<SendStatus> Send(int who, string channel, string? topic, string key, MessageClass cls = MessageClass.Marketing) =>
            (await Host.Client.SendAsync(Ids[who], new MessageRequest { Key = key, Channels = [channel], TemplateId = key, Topic = topic, Class = cls })).Status;

        public async Task<string> Consents(int k)
        {
            var parts = new List<string>();
            for (var i = 0; i < k; i++)
            {
                var p = await Host.ProfileAsync(Ids[i]);
                foreach (var c in Channels)
                {
                    foreach (var t in Topics)
                    {
                        parts.Add($"{i}:{c}/{t ?? "*"}={p.GetConsent(c, t)?.Granted.ToString() ?? "none"}");
                    }
                }
            }

            return string.Join(" ", parts);
        }

        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }

    // ---- Generated histories ----

    /// <summary>A generated history: the events, the model's decisions (by event id) and the links.</summary>
    internal sealed record History(int K, List<CustomerEvent> Events, Dictionary<string, Decision[]> Decisions, Dictionary<string, (int A, int B)> Links);

    private static CustomerEvent Ev(string id, string type, int who, DateTimeOffset at, object? properties, string channel = ChannelNames.Web, int? other = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = other is { } o ? [Ids[who], Ids[o]] : [Ids[who]],
        Channel = channel,
        Properties = properties is null ? default : JsonData.From(properties),
    };

    internal static History Generate(Random r)
    {
        var k = r.Next(1, 4);
        var events = new List<CustomerEvent>();
        var decisions = new Dictionary<string, Decision[]>(StringComparer.Ordinal);
        var links = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        var n = r.Next(1, 13);
        for (var i = 0; i < n; i++)
        {
            var id = "u19-" + i.ToString("D3", CultureInfo.InvariantCulture);
            var who = r.Next(k);
            var at = Start.AddMinutes(-10 * r.Next(1, 7)); // six instants: ties, and re-grants on either side of withdrawals
            var channel = Channels[r.Next(2)];
            var topic = Topics[r.Next(Topics.Length)];
            Decision D(string c, string? t, bool g, bool start = false) => new(id, who, c, t ?? "*", g, at, start);
            var kind = r.Next(100);
            if (kind < 45)
            {
                var granted = r.Next(2) == 0;
                events.Add(Ev(id, EventTypes.ConsentChanged, who, at, topic is null ? new { channel, granted } : new { channel, topic, granted }));
                decisions[id] = [D(channel, topic, granted)];
            }
            else if (kind < 55)
            {
                var granted = r.Next(2) == 0;
                events.Add(Ev(id, granted ? EventTypes.NewsletterSubscribed : EventTypes.NewsletterUnsubscribed, who, at, null));
                decisions[id] = [D(ChannelNames.Email, "newsletter", granted)];
            }
            else if (kind < 65)
            {
                events.Add(Ev(id, EventTypes.MessageUnsubscribed, who, at, topic is null ? new { channel } : new { channel, topic }, channel));
                decisions[id] = [D(channel, topic, false)];
            }
            else if (kind < 72)
            {
                events.Add(Ev(id, EventTypes.MessageComplained, who, at, new { channel }, channel));
                decisions[id] = [D(channel, null, false)];
            }
            else if (kind < 86)
            {
                var stop = r.Next(2) == 0;
                events.Add(Ev(id, EventTypes.MessageReplied, who, at, new { channel = ChannelNames.Sms, text = stop ? "Stop." : "start" }, ChannelNames.Sms));
                decisions[id] = [D(ChannelNames.Sms, null, !stop, start: !stop)];
            }
            else if (k > 1)
            {
                var a = r.Next(k);
                var b = (a + 1 + r.Next(k - 1)) % k;
                events.Add(Ev(id, "user.logged_in", a, at, null, other: b));
                links[id] = (a, b);
            }
            else
            {
                events.Add(Ev(id, "page.viewed", who, at, null));
            }
        }

        return new History(k, events, decisions, links);
    }

    /// <summary>The decisions the model holds for identifier <paramref name="who"/>'s profile after <paramref name="arrived"/>.</summary>
    private static List<Decision> Known(History h, IEnumerable<string> arrived, int who)
    {
        var ids = arrived.ToHashSet(StringComparer.Ordinal);
        var parent = Enumerable.Range(0, 3).ToArray();
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);
        foreach (var (id, (a, b)) in h.Links)
        {
            if (ids.Contains(id))
            {
                parent[Find(a)] = Find(b);
            }
        }

        return [.. h.Decisions.Where(kv => ids.Contains(kv.Key)).SelectMany(kv => kv.Value).Where(d => Find(d.Who) == Find(who))];
    }

    private static string ModelConsents(History h)
    {
        var all = h.Events.Select(e => e.Id).ToList();
        var parts = new List<string>();
        for (var i = 0; i < h.K; i++)
        {
            var known = Known(h, all, i);
            foreach (var c in Channels)
            {
                foreach (var t in Topics)
                {
                    parts.Add($"{i}:{c}/{t ?? "*"}={Model(known, c, t)?.ToString() ?? "none"}");
                }
            }
        }

        return string.Join(" ", parts);
    }

    private static string Describe(History h, IEnumerable<CustomerEvent> order) =>
        string.Join("\n", order.Select(e => $"{e.Id} {e.Type} at {e.Timestamp:HH:mm} via {string.Join("+", e.Identifiers!.Select(i => i.Type))} {(e.Properties is { ValueKind: not System.Text.Json.JsonValueKind.Undefined } p ? p.GetRawText() : "")}"));

    // ---- The property ----

    // For random histories of grants, withdrawals, re-grants, unsubscribes, complaints, STOP and START, channel-wide and
    // per topic, on one to three identifiers of hers linked at random points: tracked in a random arrival order with some
    // events repeated, and with a marketing email planned part-way (held by a transient failure until after the rest
    // arrives), the engine's consent read and every marketing send equal the model's answer and tracking in time order;
    // the held email goes only if the model allows it both when it was planned and at dispatch.
    [Property(MaxTest = 60)]
    public void ConsentAfterAnyArrivalOrder_EqualsTheModel_AtSendAndAtDispatch(int seed) => Check(seed).GetAwaiter().GetResult();

    private static async Task Check(int seed)
    {
        var r = new Random(seed);
        var h = Generate(r);
        var firstSeen = Enumerable.Range(0, h.K).Select(i => Ev("u19-seen-" + i, "page.viewed", i, Start.AddDays(-2), null)).ToList();
        var shuffled = h.Events.OrderBy(_ => r.Next()).ToList();
        foreach (var e in h.Events.Where(_ => r.Next(4) == 0))
        {
            shuffled.Insert(r.Next(shuffled.IndexOf(e), shuffled.Count + 1), e); // a retry, after the first delivery
        }

        var inTime = h.Events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        var heldTopic = Topics[r.Next(Topics.Length)];
        var heldAt = r.Next(shuffled.Count + 1);
        var trace = $"seed {seed}, k={h.K}, held email/{heldTopic ?? "*"} after {heldAt} arrivals\n" + Describe(h, shuffled);
        var expected = ModelConsents(h);

        await using var a = new Harness();
        foreach (var e in firstSeen)
        {
            await a.Track(e);
        }

        SendStatus? held = null;
        bool heldMayGo = false;
        for (var i = 0; i <= shuffled.Count; i++)
        {
            if (i == heldAt && h.K > 1)
            {
                heldMayGo = MaySend(Model(Known(h, shuffled.Take(i).Select(e => e.Id), 1), ChannelNames.Email, heldTopic), heldTopic);
                a.Email.FailOnce();
                held = await a.Send(1, ChannelNames.Email, heldTopic, "held");
                if (held != SendStatus.Queued)
                {
                    a.Email.Heal();
                }

                await a.Host.Engine.RunDispatchAsync();
                Assert.True(held == (heldMayGo ? SendStatus.Queued : SendStatus.Skipped), $"held send answered {held}\n{trace}");
                Assert.Empty(a.Email.Received);
            }

            if (i < shuffled.Count)
            {
                await a.Track(shuffled[i]);
            }
        }

        await a.Host.AdvanceAsync(TimeSpan.FromHours(3));
        await a.Host.Engine.RunDispatchAsync();
        if (held is not null)
        {
            var goes = heldMayGo && MaySend(Model(Known(h, h.Events.Select(e => e.Id), 1), ChannelNames.Email, heldTopic), heldTopic);
            Assert.True(goes == a.Email.Received.Contains("held"), $"held email/{heldTopic ?? "*"} went: {!goes}, model: {goes}\n{trace}");
        }

        Assert.True(expected == await a.Consents(h.K), $"engine (arrival order): {await a.Consents(h.K)}\nmodel: {expected}\n{trace}");

        await using var b = new Harness();
        foreach (var e in firstSeen.Concat(inTime))
        {
            await b.Track(e);
        }

        Assert.Equal(expected, await b.Consents(h.K));

        // Marketing sends now, on email through her email and on SMS through her phone, every topic; and transactional.
        foreach (var (who, channel) in new[] { (1, ChannelNames.Email), (2, ChannelNames.Sms) }.Where(x => x.Item1 < h.K))
        {
            var known = Known(h, h.Events.Select(e => e.Id), who);
            foreach (var t in Topics)
            {
                var key = $"now-{channel}-{t ?? "*"}";
                var may = MaySend(Model(known, channel, t), t);
                var status = await a.Send(who, channel, t, key);
                await a.Host.Engine.RunDispatchAsync();
                Assert.True(may == (status == SendStatus.Queued) && may == a.On(channel).Received.Contains(key), $"{key}: {status}, model may send: {may}\n{trace}");
            }

            Assert.Equal(SendStatus.Queued, await a.Send(who, channel, null, "t-" + channel, MessageClass.Transactional));
            await a.Host.Engine.RunDispatchAsync();
            Assert.Contains("t-" + channel, a.On(channel).Received);
        }
    }

    // ---- Documented edge cases ----

    private static DateTimeOffset At(int minutesBefore) => Start.AddMinutes(-minutesBefore);

    private static CustomerEvent Consent(string id, int who, int minutesBefore, bool granted, string? topic = null, string channel = ChannelNames.Email) =>
        Ev(id, EventTypes.ConsentChanged, who, At(minutesBefore), topic is null ? new { channel, granted } : new { channel, topic, granted });

    private static async Task<Harness> Seen(int k = 3)
    {
        var h = new Harness();
        for (var i = 0; i < k; i++)
        {
            await h.Track(Ev("seen-" + i, "page.viewed", i, Start.AddDays(-2), null));
        }

        return h;
    }

    private static async Task<(bool? Consent, SendStatus Send)> Answer(Harness h, string? topic, int who = 1, string channel = ChannelNames.Email)
    {
        var consent = (await h.Host.ProfileAsync(Ids[who])).GetConsent(channel, topic)?.Granted;
        var status = await h.Send(who, channel, topic, $"m-{channel}-{topic ?? "*"}-{++h.Sends}");
        await h.Host.Engine.RunDispatchAsync();
        return (consent, status);
    }

    // Same instant: the refusal stands (GetConsent: "at the same instant a refusal stands"; design notes, "An opt-out and
    // an opt-in at the same instant leave her opted out"), whatever the event ids and the arrival order, channel-wide and
    // per topic.
    [Theory]
    [InlineData(null, false)]
    [InlineData(null, true)]
    [InlineData("offers", false)]
    [InlineData("offers", true)]
    public async Task AGrantAndAWithdrawalAtTheSameInstant_LeaveHerOptedOut_WhateverTheIdsAndTheArrival(string? topic, bool grantFirst)
    {
        await using var h = await Seen();
        CustomerEvent[] pair = [Consent("a-withdraw", 1, 10, false, topic), Consent("z-grant", 1, 10, true, topic)]; // the grant has the higher id
        foreach (var e in grantFirst ? pair.Reverse() : pair)
        {
            await h.Track(e);
        }

        Assert.Equal((false, SendStatus.Skipped), await Answer(h, topic));
        Assert.Empty(h.Email.Received);
    }

    // A re-grant older than the withdrawal, arriving after it, changes nothing; a newer one wins whenever it arrives.
    [Theory]
    [InlineData(null)]
    [InlineData("offers")]
    public async Task AReGrantOlderThanTheWithdrawal_ArrivingAfterIt_ChangesNothing_ANewerOneWins(string? topic)
    {
        await using var h = await Seen();
        await h.Track(Consent("c1", 1, 40, true, topic));
        await h.Track(Consent("c2", 1, 20, false, topic));
        await h.Track(Consent("c3", 1, 30, true, topic)); // re-grant, older than the withdrawal, late
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, topic));

        await h.Track(Consent("c4", 1, 10, true, topic)); // re-grant after the withdrawal
        Assert.Equal((true, SendStatus.Queued), await Answer(h, topic));
        Assert.Single(h.Email.Received);
    }

    // README table: "email opt-out for every topic, then newsletter opt-in: granted (other topics stay refused)", and
    // "newsletter opt-out, then email opt-in for every topic: refused (other topics granted)"; each pair also tracked
    // newest first.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AChannelWideWithdrawal_ThenATopicGrant_GrantsThatTopicOnly(bool newestFirst)
    {
        await using var h = await Seen();
        CustomerEvent[] events = [Consent("w", 1, 20, false), Ev("n", EventTypes.NewsletterSubscribed, 1, At(10), null)];
        foreach (var e in newestFirst ? events.Reverse() : events)
        {
            await h.Track(e);
        }

        Assert.Equal((true, SendStatus.Queued), await Answer(h, "newsletter"));
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, "offers"));
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, null));
        Assert.Single(h.Email.Received);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATopicWithdrawal_ThenAChannelWideGrant_LeavesThatTopicRefused_UntilTheTopicIsGrantedAgain(bool newestFirst)
    {
        await using var h = await Seen();
        CustomerEvent[] events = [Ev("n1", EventTypes.NewsletterUnsubscribed, 1, At(30), null), Consent("g", 1, 20, true)];
        foreach (var e in newestFirst ? events.Reverse() : events)
        {
            await h.Track(e);
        }

        Assert.Equal((false, SendStatus.Skipped), await Answer(h, "newsletter"));
        Assert.Equal((true, SendStatus.Queued), await Answer(h, "offers"));
        Assert.Equal((true, SendStatus.Queued), await Answer(h, null));

        await h.Track(Ev("n2", EventTypes.NewsletterSubscribed, 1, At(10), null));
        Assert.Equal((true, SendStatus.Queued), await Answer(h, "newsletter"));
        Assert.Equal(3, h.Email.Received.Count);
    }

    // A merge keeps every decision and the newest stands: a granted profile (her email) and a withdrawn one (her customer
    // id), the withdrawal older or newer than the grant, linked from either side.
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task AMergeOfAGrantedAndAWithdrawnProfile_KeepsTheNewerDecision_EitherWay(bool withdrawalNewer, bool fromEmail)
    {
        await using var h = await Seen(2);
        await h.Track(Consent("grant", 1, withdrawalNewer ? 30 : 10, true, "offers"));
        await h.Track(Consent("withdraw", 0, withdrawalNewer ? 10 : 30, false, "offers"));
        Assert.Equal((true, SendStatus.Queued), await Answer(h, "offers"));

        await h.Track(fromEmail ? Ev("link", "user.logged_in", 1, Start, null, other: 0) : Ev("link", "user.logged_in", 0, Start, null, other: 1));
        var expected = withdrawalNewer ? (false, SendStatus.Skipped) : (true, SendStatus.Queued);
        Assert.Equal<(bool?, SendStatus)>(expected, await Answer(h, "offers"));
        Assert.Equal(withdrawalNewer ? 1 : 2, h.Email.Received.Count);
    }

    // STOP refuses SMS; START undoes it only when newer; a STOP arriving after a newer START changes nothing; START from
    // someone who never decided grants nothing (README, "SMS replies").
    [Fact]
    public async Task SmsStopAndStart_FollowEventTime_AndAStartWithNothingToUndo_GrantsNothing()
    {
        await using var h = await Seen();
        await h.Track(Ev("r1", EventTypes.MessageReplied, 2, At(40), new { channel = ChannelNames.Sms, text = "START" }, ChannelNames.Sms));
        Assert.Equal((null, SendStatus.Skipped), await Answer(h, null, 2, ChannelNames.Sms));

        await h.Track(Ev("r2", EventTypes.MessageReplied, 2, At(10), new { channel = ChannelNames.Sms, text = "START" }, ChannelNames.Sms));
        await h.Track(Ev("r3", EventTypes.MessageReplied, 2, At(20), new { channel = ChannelNames.Sms, text = "stop" }, ChannelNames.Sms)); // older, late
        Assert.Equal((true, SendStatus.Queued), await Answer(h, null, 2, ChannelNames.Sms));

        await h.Track(Ev("r4", EventTypes.MessageReplied, 2, At(5), new { channel = ChannelNames.Sms, text = "STOP" }, ChannelNames.Sms));
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, null, 2, ChannelNames.Sms));
        Assert.Single(h.Sms.Received);
    }

    // Transactional messages need no marketing consent (README: "transactional messages need no consent"; audit Cons):
    // after an unsubscribe-all, a complaint and a STOP they still go, while marketing does not.
    [Fact]
    public async Task TransactionalMessages_IgnoreMarketingRefusals_OnEveryChannel()
    {
        await using var h = await Seen();
        await h.Track(Consent("g1", 1, 50, true));
        await h.Track(Consent("g2", 2, 50, true, channel: ChannelNames.Sms));
        await h.Track(Ev("u", EventTypes.MessageUnsubscribed, 1, At(30), new { channel = ChannelNames.Email }, ChannelNames.Email));
        await h.Track(Ev("c", EventTypes.MessageComplained, 1, At(20), new { channel = ChannelNames.Email }, ChannelNames.Email));
        await h.Track(Ev("s", EventTypes.MessageReplied, 2, At(10), new { channel = ChannelNames.Sms, text = "STOP" }, ChannelNames.Sms));
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, null));
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, null, 2, ChannelNames.Sms));

        Assert.Equal(SendStatus.Queued, await h.Send(1, ChannelNames.Email, null, "t-email", MessageClass.Transactional));
        Assert.Equal(SendStatus.Queued, await h.Send(2, ChannelNames.Sms, null, "t-sms", MessageClass.Transactional));
        await h.Host.Engine.RunDispatchAsync();
        Assert.Equal(["t-email"], h.Email.Received);
        Assert.Equal(["t-sms"], h.Sms.Received);
    }

    // At dispatch: a message planned while she was opted in and held (a transient failure) does not go after a
    // withdrawal stamped after it arrives, nor once an older grant then arrives late; one planned while she was opted out
    // is not sent, and a late older grant does not bring it (or a new one) back.
    [Theory]
    [InlineData(null)]
    [InlineData("offers")]
    public async Task AHeldMessage_IsStoppedAtDispatch_ByANewerWithdrawal_AndALateOlderGrantDoesNotBringItBack(string? topic)
    {
        await using var h = await Seen();
        await h.Track(Consent("g2", 1, 20, true, topic));
        h.Email.FailOnce();
        Assert.Equal(SendStatus.Queued, await h.Send(1, ChannelNames.Email, topic, "held"));
        await h.Host.Engine.RunDispatchAsync();
        Assert.Empty(h.Email.Received);

        await h.Track(Consent("w", 1, 10, false, topic));
        await h.Track(Consent("g1", 1, 30, true, topic)); // older grant, late
        await h.Host.AdvanceAsync(TimeSpan.FromHours(3));
        await h.Host.Engine.RunDispatchAsync();
        Assert.Empty(h.Email.Received);
        Assert.Equal((false, SendStatus.Skipped), await Answer(h, topic));
        Assert.Empty(h.Email.Received);
    }

    [Fact]
    public async Task AMessagePlannedWhileOptedOut_IsNotSent_AfterALateOlderGrant()
    {
        await using var h = await Seen();
        await h.Track(Consent("w", 1, 10, false, "offers"));
        Assert.Equal(SendStatus.Skipped, await h.Send(1, ChannelNames.Email, "offers", "planned"));
        await h.Track(Consent("g", 1, 30, true, "offers"));
        await h.Host.AdvanceAsync(TimeSpan.FromHours(3));
        await h.Host.Engine.RunDispatchAsync();
        Assert.Empty(h.Email.Received);
    }
}
