using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated step of audit U18.</summary>
/// <param name="Kind">Which kind of step (see <see cref="AuditU18Tests.RunAsync"/>).</param>
/// <param name="Person">Which of the people (0..2).</param>
/// <param name="Who">Which of her identifiers: 0 cookie, 1 email, 2 phone, 3 customer id.</param>
/// <param name="Other">A second identifier of hers (links).</param>
/// <param name="Variant">Picks values within the kind.</param>
/// <param name="Minute">Event time of a back-dated event, in minutes after the opt-ins.</param>
public sealed record U18Step(int Kind, int Person, int Who, int Other, int Variant, int Minute);

/// <summary>FsCheck generators for audit U18.</summary>
public static class U18StepArbitrary
{
    private static Gen<U18Step[]> Steps() =>
        Gen.ListOf(
                from kind in Gen.Frequency(
                    (6, Gen.Choose(0, 4)),          // page views, cart, orders, returns
                    (4, Gen.Choose(5, 7)),          // consent granted / withdrawn, unsubscribe
                    (3, Gen.Choose(8, 9)),          // identify with traits, links (merges)
                    (1, Gen.Constant(10)),          // erasure
                    (5, Gen.Choose(11, 13)),        // sends, journey triggers
                    (4, Gen.Choose(14, 16)),        // faults, dispatch, time passing
                    (2, Gen.Constant(17)))          // an earlier event arriving again
                from person in Gen.Choose(0, 2)
                from who in Gen.Choose(0, 3)
                from other in Gen.Choose(0, 3)
                from variant in Gen.Choose(0, 11)
                from minute in Gen.Choose(1, 600)
                select new U18Step(kind, person, who, other, variant, minute))
            .Select(l => l.Take(50).ToArray());

    public static Arbitrary<U18Step[]> Sequences() => Arb.From(Steps(), Shrink);

    /// <summary>Shrinks a failing sequence by dropping halves, then single steps, so a failure ends minimal.</summary>
    private static IEnumerable<U18Step[]> Shrink(U18Step[] steps)
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
}

/// <summary>
/// Audit U18: cross-feature invariants under random operation sequences. Three people with four identifiers each; events
/// of every kind (page views, cart, orders and returns, consent per channel and topic, unsubscribes, traits, links that
/// merge), erasure, host sends and journeys (event- and segment-triggered), transport faults, dispatch runs and clock
/// advances, back-dated and repeated events. After every step: no marketing after an accepted withdrawal that covers it;
/// no message key accepted twice; an erased person is sent nothing, resolves to nothing, has her events refused and is in
/// no segment; every call answers a documented status; live segment counts equal a from-scratch preview. At the end:
/// merged profiles keep the union of orders and the strictest consent.
/// </summary>
public sealed class AuditU18Tests
{
    private const int People = 3;
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly DateTimeOffset OptIns = Start - TimeSpan.FromDays(1);
    private static readonly string?[] Topics = [null, "offers", "news"];

    private static readonly SegmentDefinition[] LiveSegments =
    [
        SegmentJson.Parse("""{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!,
        SegmentJson.Parse("""{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""").Value!,
        SegmentJson.Parse("""{"id": "reach-offers", "name": "x", "rule": {"reachable": "email", "topic": "offers"}}""").Value!,
    ];

    internal static Identifier Id(int node) => (node % 4) switch
    {
        0 => Identifier.AnonymousId($"cookie-u18-{node / 4}"),
        1 => Identifier.Email($"u18-{node / 4}@example.com"),
        2 => Identifier.Phone($"+121255501{node / 4:D2}"),
        _ => Identifier.CustomerId($"c-u18-{node / 4}"),
    };

    private static int NodeOfAddress(string address) => address.Contains('@', StringComparison.Ordinal)
        ? (address[4] - '0') * 4 + 1
        : int.Parse(address[^2..], System.Globalization.CultureInfo.InvariantCulture) * 4 + 2;

    [Property(Arbitrary = [typeof(U18StepArbitrary)], MaxTest = 150)]
    public void CrossFeatureInvariants_HoldTogether(U18Step[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    /// <summary>
    /// The property's failure in CI (seed <c>(5591652741754839681,7583584257652200765,66)</c>, forty-sixth session):
    /// her cookie, erased with her, linked again beside another person (a shared browser), then her order event retried
    /// through the cookie alone. It was taken onto his profile (two orders where he placed one); it is refused now.
    /// </summary>
    [Property(Arbitrary = [typeof(U18StepArbitrary)], MaxTest = 1, Replay = "(5591652741754839681,7583584257652200765,66)")]
    public void CrossFeatureInvariants_HoldTogether_ForTheSeedThatFoundHerRetriedOrderOnHisProfile(U18Step[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    [Fact]
    public async Task AnErasedCookie_BesideAnotherCustomerId_IsAccepted_WhileHerCookieAloneAndHerEmailStayRefused()
    {
        // The property's first failure, shrunk; the oracle was wrong, not the engine. "A tombstoned shared device refuses
        // only anonymous use": her erased cookie beside a person identifier nobody erased is somebody else on a shared
        // browser, and is accepted; the cookie alone, and her email, are refused, and her profile does not come back.
        await using var host = OmnichannelTestHost.Create(start: Start);
        await host.TrackAsync("page.viewed", [Id(4), Id(5)]);
        Assert.True(await host.Client.EraseProfileAsync(Id(4)));

        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("page.viewed", [Id(4)]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("page.viewed", [Id(5)]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [Id(7), Id(4)]))).Status);
        Assert.Null(await host.Client.GetProfileAsync(Id(5)));
        var other = await host.Client.GetProfileAsync(Id(7));
        Assert.NotNull(other);
        Assert.False(other.Has(Id(5)));
    }

    [Fact]
    public Task AnErasureThenALinkThroughHerOldCookie_ThenSendsAndJourneys_HoldEveryInvariant() =>
        RunAsync(
        [
            new(8, 1, 0, 0, 1, 10),    // traits: gold (segment, and its journey) on her cookie
            new(9, 1, 0, 1, 0, 20),    // cookie + email linked
            new(1, 1, 1, 0, 4, 30),    // a cart line
            new(3, 1, 3, 0, 1, 40),    // an order under her customer id
            new(10, 1, 0, 0, 0, 50),   // erased through her cookie (cookie + email)
            new(9, 1, 3, 0, 0, 60),    // her customer id beside her erased cookie: accepted (shared device)
            new(11, 1, 1, 0, 2, 70),   // marketing to her erased email: unknown
            new(13, 1, 3, 0, 0, 80),   // a journey trigger under her customer id
            new(16, 1, 0, 0, 3, 90),   // time passes
            new(17, 1, 0, 0, 0, 100),  // an earlier event of hers again: still refused
        ]);

    [Fact]
    public Task AWithdrawalOnHerPhone_ThenALinkFromHerCustomerId_StopsTheJourneysSms_AfterAFailedFirstTry() =>
        RunAsync(
        [
            new(14, 0, 0, 0, 1, 1),    // the SMS gateway fails transiently twice
            new(13, 0, 2, 0, 0, 5),    // promo-now on her phone (email first: she has none there, so SMS)
            new(6, 0, 2, 0, 3, 30),    // consent sms/offers withdrawn on her phone
            new(9, 0, 3, 2, 0, 40),    // her customer id linked to her phone
            new(11, 0, 3, 0, 3, 50),   // marketing SMS then email via her customer id
            new(16, 0, 0, 0, 11, 60),  // six hours pass
        ]);

    private sealed record OptOut(int Step, int Node, string Channel, string? Topic, string What);

    private sealed record Received(int Step, string Channel, OutboundMessage Message, long Linked);

    /// <summary>Records every message it accepts with the step and the identifiers linked to its address; fails as told.</summary>
    private sealed class Recorder(string channel, Func<int> step, Func<string, long> linked) : IChannelTransport
    {
        private readonly Queue<bool> _faults = new(); // true: permanent
        private readonly List<Received> _received = [];

        public string Channel { get; } = channel;

        public IReadOnlyList<Received> Received
        {
            get
            {
                lock (_faults)
                {
                    return [.. _received];
                }
            }
        }

        public void Fail(bool permanent, int times)
        {
            lock (_faults)
            {
                for (var i = 0; i < times; i++)
                {
                    _faults.Enqueue(permanent);
                }
            }
        }

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            lock (_faults)
            {
                if (_faults.TryDequeue(out var permanent))
                {
                    return ValueTask.FromResult(permanent ? DeliveryResult.PermanentFailure("mailbox unavailable") : DeliveryResult.TransientFailure("gateway timeout"));
                }

                _received.Add(new(step(), Channel, message, linked(To(message))));
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

    private static string To(OutboundMessage message) => message switch { EmailMessage m => m.To, SmsMessage m => m.To, _ => "?" };

    private static bool IsMarketing(OutboundMessage m) => !m.MessageId.StartsWith("t-", StringComparison.Ordinal);

    internal static async Task RunAsync(U18Step[] steps)
    {
        var step = 0;
        var parent = Enumerable.Range(0, People * 4).ToArray();
        var erasedAt = Enumerable.Repeat(int.MaxValue, People * 4).ToArray();
        var erasedTime = new DateTimeOffset[People * 4]; // when each node's erasure ran (engine clock)
        var cookieBackAt = new Dictionary<int, DateTimeOffset>(); // an erased cookie linked again beside a person: its erasure's time
        var erasedProfiles = new HashSet<string>(StringComparer.Ordinal);
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);

        long Linked(string address)
        {
            lock (parent)
            {
                var root = Find(NodeOfAddress(address));
                return Enumerable.Range(0, People * 4).Where(i => Find(i) == root).Sum(i => 1L << i);
            }
        }

        var email = new Recorder(ChannelNames.Email, () => Volatile.Read(ref step), Linked);
        var sms = new Recorder(ChannelNames.Sms, () => Volatile.Read(ref step), Linked);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 2;
                foreach (var s in LiveSegments)
                {
                    o.Segments.Add(s);
                }

                o.Journeys.Add(Journey.Define("promo-now", "Promo now")
                    .TriggeredBy(t => t.Event("promo.requested"))
                    .Steps(s => s.Send("mail", [ChannelNames.Email, ChannelNames.Sms], "promo", "offers"))
                    .Build());
                o.Journeys.Add(Journey.Define("promo-later", "Promo later")
                    .TriggeredBy(t => t.Event("promo.later"))
                    .Steps(s => s.Delay("wait", "PT3H").Send("mail", [ChannelNames.Sms, ChannelNames.Email], "news", "news"))
                    .Build());
                o.Journeys.Add(Journey.Define("gold-welcome", "Gold welcome")
                    .TriggeredBy(t => t.SegmentEntered("gold"))
                    .Steps(s => s.Send("mail", [ChannelNames.Email], "gold", "offers"))
                    .Build());
            },
            start: Start,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms-gw", sms));

        var optOuts = new List<OptOut>();
        var orders = new Dictionary<int, HashSet<string>>();
        var tracked = new List<CustomerEvent>();
        var log = new List<string>();

        string Trace() => string.Join("\n", log);

        async Task<TrackStatus> Track(string type, int[] nodes, object? properties, DateTimeOffset at, object? traits = null, string channel = ChannelNames.Web)
        {
            var e = new CustomerEvent
            {
                Id = $"u18-{tracked.Count:D3}",
                Type = type,
                Timestamp = at,
                Identifiers = [.. nodes.Select(Id)],
                Channel = channel,
                Properties = properties is null ? default : JsonData.From(properties),
                Traits = traits is null ? default : JsonData.From(traits),
            };
            tracked.Add(e);
            return await Send(e);
        }

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

            log.Add($"{step}: {e.Id} {e.Type} via {string.Join("+", e.Identifiers.Select(i => i.Value))} {e.Properties} {e.Traits} -> {r.Status} {string.Join("; ", r.Errors)}");
            bool erased;
            lock (parent)
            {
                // Documented ("A tombstoned shared device refuses only anonymous use"): an erased cookie beside a person
                // identifier nobody erased is not refused; her person identifiers, or her cookie alone, are.
                var named = Enumerable.Range(0, People * 4).Where(n => e.Identifiers.Contains(Id(n))).ToList();
                erased = named.Any(n => erasedAt[n] < int.MaxValue && (n % 4 != 0 || named.All(m => m % 4 == 0)))
                    // Her old cookie, linked again beside another person, keeps its erasure's time: an event through it
                    // alone dated before that (hers, queued or retried) stays out (the engine's ReturnedAfter rule).
                    || (named.All(m => m % 4 == 0) && named.Any(n => cookieBackAt.TryGetValue(n, out var back) && e.Timestamp <= back));
                if (!erased && r.Status == TrackStatus.Accepted)
                {
                    foreach (var n in named.Where(n => erasedAt[n] < int.MaxValue))
                    {
                        erasedAt[n] = int.MaxValue; // her old cookie, now someone else's (a shared device)
                        cookieBackAt[n] = cookieBackAt.TryGetValue(n, out var earlier) && earlier > erasedTime[n] ? earlier : erasedTime[n];
                    }
                }
            }

            // Invariants 3 and 4: an erased person's events are refused; every other event here is well formed.
            if (erased)
            {
                Assert.True(r.Status is TrackStatus.Erased or TrackStatus.Duplicate, $"step {step}: an event naming an erased identifier answered {r.Status}\n{Trace()}");
            }
            else
            {
                Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Duplicate, $"step {step} {e.Type}: {r.Status} {string.Join("; ", r.Errors)}\n{Trace()}");
            }

            return r.Status;
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

        // Every person opted in to marketing on her email and her phone (each on its own profile until linked).
        for (var p = 0; p < People; p++)
        {
            await Track(EventTypes.ConsentChanged, [p * 4 + 1], new { channel = ChannelNames.Email, granted = true }, OptIns);
            await Track(EventTypes.ConsentChanged, [p * 4 + 2], new { channel = ChannelNames.Sms, granted = true }, OptIns);
        }

        foreach (var s in steps)
        {
            Interlocked.Increment(ref step);
            var node = s.Person * 4 + s.Who;
            var v = s.Variant;
            var at = OptIns + TimeSpan.FromMinutes(s.Minute);
            var channel = v % 2 == 0 ? ChannelNames.Email : ChannelNames.Sms;
            var topic = Topics[v / 2 % 3];
            string[] products = ["sku-1", "sku-2", "sku-3"];
            switch (s.Kind)
            {
                case 0:
                    await Track("page.viewed", [node], null, at);
                    break;
                case 1:
                    await Track(EventTypes.CartItemAdded, [node], new { product_id = products[v % 3], quantity = 1 + (v % 3), price = 5 + v, currency = "GBP" }, at);
                    break;
                case 2:
                    await Track(EventTypes.CartItemRemoved, [node], new { product_id = products[v % 3], quantity = 1 }, at);
                    break;
                case 3:
                    // Sometimes the same order again under another of her identifiers (the browser and the server).
                    var earlier = orders.Where(kv => kv.Key / 4 == s.Person && kv.Key != node).SelectMany(kv => kv.Value).Order(StringComparer.Ordinal).ToList();
                    var orderId = v % 4 == 0 && earlier.Count > 0 ? earlier[v % earlier.Count] : $"o-{s.Person}-{step}";
                    if (await Track(EventTypes.OrderPlaced, [node], new { order_id = orderId, total = 20 + v, currency = "GBP", items = 1 }, at) == TrackStatus.Accepted)
                    {
                        (orders.TryGetValue(node, out var set) ? set : orders[node] = []).Add(orderId);
                    }

                    break;
                case 4:
                    var known = orders.Where(kv => kv.Key / 4 == s.Person).SelectMany(kv => kv.Value).Order(StringComparer.Ordinal).ToList();
                    if (known.Count > 0)
                    {
                        await Track(EventTypes.OrderReturned, [node], new { order_id = known[v % known.Count], return_id = "r-" + step, total = 5, currency = "GBP" }, at + TimeSpan.FromMinutes(600));
                    }

                    break;
                case 5: // an opt-in, dated before every withdrawal
                    await Track(EventTypes.ConsentChanged, [node], new { channel, topic, granted = true }, OptIns);
                    break;
                case 6:
                    if (await Track(EventTypes.ConsentChanged, [node], new { channel, topic, granted = false }, at) == TrackStatus.Accepted)
                    {
                        optOuts.Add(new(step, node, channel, topic, $"consent {channel}/{topic}"));
                    }

                    break;
                case 7 when v % 4 == 3:
                    if (await Track(EventTypes.MessageReplied, [node], new { channel = ChannelNames.Sms, text = "STOP", message_id = "m-reply" }, at, channel: ChannelNames.Sms) == TrackStatus.Accepted)
                    {
                        optOuts.Add(new(step, node, ChannelNames.Sms, null, "STOP"));
                    }

                    break;
                case 7:
                    var newsTopic = topic ?? "newsletter";
                    if (await Track(EventTypes.NewsletterUnsubscribed, [node], new { channel, topic = newsTopic }, at) == TrackStatus.Accepted)
                    {
                        optOuts.Add(new(step, node, channel, newsTopic, $"newsletter {channel}/{newsTopic}"));
                    }

                    break;
                case 8:
                    await Track("user.updated", [node], null, at, traits: new { tier = v % 3 == 0 ? "silver" : "gold", name = "P" + s.Person });
                    break;
                case 9: // a link of two of her identifiers (merge), either direction
                    var other = s.Person * 4 + s.Other;
                    if (other != node && await Track("user.logged_in", [node, other], null, at) == TrackStatus.Accepted)
                    {
                        lock (parent)
                        {
                            parent[Find(node)] = Find(other);
                        }
                    }

                    break;
                case 10:
                    var profile = await host.Client.GetProfileAsync(Id(node));
                    bool erased = false;
                    await Guard("erase", async () => erased = await host.Client.EraseProfileAsync(Id(node)));
                    log.Add($"{step}: erase {Id(node).Value} -> {erased}");
                    if (erased)
                    {
                        Assert.NotNull(profile);
                        erasedProfiles.Add(profile!.Id);
                        lock (parent)
                        {
                            var root = Find(node);
                            foreach (var n in Enumerable.Range(0, People * 4).Where(n => Find(n) == root).ToList())
                            {
                                // Her profile goes with its decisions and orders; each identifier stands alone, erased.
                                erasedAt[n] = Math.Min(erasedAt[n], step);
                                erasedTime[n] = host.Time.GetUtcNow();
                                optOuts.RemoveAll(o => o.Node == n);
                                orders.Remove(n);
                            }

                            foreach (var n in Enumerable.Range(0, People * 4).Where(n => erasedAt[n] == step))
                            {
                                parent[n] = n;
                            }
                        }
                    }

                    break;
                case 11:
                case 12:
                    string[][] routes = [[ChannelNames.Email], [ChannelNames.Sms], [ChannelNames.Email, ChannelNames.Sms], [ChannelNames.Sms, ChannelNames.Email]];
                    var transactional = s.Kind == 12;
                    var request = new MessageRequest
                    {
                        Key = (transactional ? "t-" : "m-") + (v < 2 ? "again" : step.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        Channels = routes[v % 4],
                        TemplateId = "tpl",
                        Topic = transactional ? null : topic,
                        Class = transactional ? MessageClass.Transactional : MessageClass.Marketing,
                    };
                    SendResult? sent = null;
                    await Guard("send", async () => sent = await host.Client.SendAsync(Id(node), request));
                    log.Add($"{step}: send {request.Key} {string.Join(">", request.Channels)}/{request.Topic} via {Id(node).Value} -> {sent!.Status} {sent.Reason}");
                    Assert.True(Enum.IsDefined(sent.Status), $"step {step}: send answered {sent.Status}\n{Trace()}");
                    if (erasedAt[node] < int.MaxValue)
                    {
                        Assert.True(sent.Status is SendStatus.UnknownProfile or SendStatus.Duplicate, $"step {step}: a send to an erased identifier answered {sent.Status}\n{Trace()}");
                    }

                    break;
                case 13:
                    await Track(v % 2 == 0 ? "promo.requested" : "promo.later", [node], null, host.Time.GetUtcNow());
                    break;
                case 14:
                    (v % 2 == 0 ? email : sms).Fail(permanent: v % 3 == 0, times: 1 + (v % 2));
                    log.Add($"{step}: fault {(v % 2 == 0 ? "email" : "sms")} permanent={v % 3 == 0}");
                    break;
                case 15:
                    await Guard("dispatch", async () => await host.Engine.RunDispatchAsync());
                    log.Add($"{step}: dispatch");
                    break;
                case 16:
                    var by = TimeSpan.FromMinutes(30 * (1 + v));
                    await Guard("advance", () => host.AdvanceAsync(by));
                    log.Add($"{step}: advance {by}");
                    break;
                default: // an earlier event arriving again (a retry of the same event id)
                    if (tracked.Count > 0)
                    {
                        var again = tracked[v * 7 % tracked.Count];
                        await Send(again);
                    }

                    break;
            }

            await Guard("dispatch", async () => await host.Engine.RunDispatchAsync());
            await CheckAsync(host, email, sms, optOuts, erasedAt, erasedProfiles, Trace);
        }

        Interlocked.Increment(ref step);
        await Guard("advance", () => host.AdvanceAsync(TimeSpan.FromDays(2)));
        await CheckAsync(host, email, sms, optOuts, erasedAt, erasedProfiles, Trace);

        // Invariant 6: a merged profile has every order placed under any of its identifiers, and the strictest consent.
        for (var n = 0; n < People * 4; n++)
        {
            if (erasedAt[n] < int.MaxValue)
            {
                continue;
            }

            var p = await host.Client.GetProfileAsync(Id(n));
            var linked = Enumerable.Range(0, People * 4).Where(m => Find(m) == Find(n)).ToHashSet();
            var expected = orders.Where(kv => linked.Contains(kv.Key)).SelectMany(kv => kv.Value).ToHashSet(StringComparer.Ordinal);
            if (p is null)
            {
                Assert.Empty(expected);
                continue;
            }

            Assert.True(expected.Count == p.Statistics.OrderCount, $"{Id(n).Value}: {p.Statistics.OrderCount} orders, expected {expected.Count}\n{Trace()}");
            foreach (var o in optOuts.Where(o => linked.Contains(o.Node) && o.Topic is not null))
            {
                var record = p.Consents.FirstOrDefault(c => c.Channel == o.Channel && c.Topic == o.Topic);
                Assert.True(record is { Granted: false }, $"{Id(n).Value}: {o.What} from {Id(o.Node).Value} is {(record is null ? "missing" : "granted")} on the merged profile\n{Trace()}");
            }
        }
    }

    private static async Task CheckAsync(OmnichannelTestHost host, Recorder email, Recorder sms, List<OptOut> optOuts, int[] erasedAt, HashSet<string> erasedProfiles, Func<string> trace)
    {
        var all = email.Received.Concat(sms.Received).ToList();

        // Invariant 2: no key accepted twice.
        var twice = all.GroupBy(r => r.Message.MessageId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        Assert.True(twice is null, $"message {twice?.Key} accepted {twice?.Count()} times\n{trace()}");

        foreach (var r in all)
        {
            var to = To(r.Message);
            var addressNode = NodeOfAddress(to);

            // Invariant 3: nothing to an erased person's address after her erasure.
            Assert.True(erasedAt[addressNode] >= r.Step, $"{r.Message.MessageId} to {to} at step {r.Step}, after her erasure at step {erasedAt[addressNode]}\n{trace()}");

            // Invariant 1: no marketing on a channel/topic withdrawn (by an identifier linked to the address) earlier.
            if (IsMarketing(r.Message))
            {
                var covering = optOuts.FirstOrDefault(o => o.Step < r.Step && o.Channel == r.Channel && (o.Topic is null || o.Topic == r.Message.Topic) && (r.Linked & (1L << o.Node)) != 0);
                Assert.True(covering is null, $"{r.Channel} {r.Message.MessageId} (topic {r.Message.Topic}) to {to} at step {r.Step}, after {covering?.What} via {(covering is null ? "" : Id(covering.Node).Value)} at step {covering?.Step}\n{trace()}");
            }
        }

        // Invariant 3: her identifiers resolve to nothing; no segment lists her. Invariant 5: live counts equal a preview.
        for (var n = 0; n < erasedAt.Length; n++)
        {
            if (erasedAt[n] < int.MaxValue)
            {
                Assert.True(await host.Client.GetProfileAsync(Id(n)) is null, $"{Id(n).Value} still resolves after her erasure\n{trace()}");
            }
        }

        foreach (var segment in LiveSegments)
        {
            var members = await host.Client.GetSegmentMembersAsync(segment.Id, limit: 1000);
            Assert.True(!members.Any(erasedProfiles.Contains), $"{segment.Id} lists an erased profile\n{trace()}");
            var preview = await host.Client.PreviewSegmentAsync(segment);
            Assert.True(preview.Matching == members.Count, $"{segment.Id}: {members.Count} live members, a fresh evaluation finds {preview.Matching}\n{trace()}");
        }
    }
}
