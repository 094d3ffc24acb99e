using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated step of audit OO: its kind, the identifier it goes through, a value picker and an event minute.</summary>
/// <param name="Kind">Which kind of step (see <see cref="AuditOptOutProperties.RunAsync"/>).</param>
/// <param name="Who">Which of her identifiers: 0 cookie, 1 email, 2 phone, 3 customer id.</param>
/// <param name="Other">A second identifier (links).</param>
/// <param name="Variant">Picks values within the kind.</param>
/// <param name="Minute">Event time of an opt-out, in minutes after her opt-ins.</param>
public sealed record OptOutStep(int Kind, int Who, int Other, int Variant, int Minute);

/// <summary>FsCheck generators for audit OO.</summary>
public static class OptOutStepArbitrary
{
    /// <summary>Kinds in <see cref="AuditOptOutProperties.RunAsync"/>.</summary>
    public const int Kinds = 17;

    public static Arbitrary<OptOutStep[]> Streams() =>
        Gen.ListOf(
                from kind in Gen.Frequency(
                    (3, Gen.Choose(0, 2)),          // opt-ins, links, plain events
                    (4, Gen.Choose(3, 9)),          // opt-outs of every kind
                    (1, Gen.Constant(10)),          // erasure
                    (6, Gen.Choose(11, 13)),        // sends
                    (4, Gen.Choose(14, 16)))        // faults, dispatch, time passing
                from who in Gen.Choose(0, 3)
                from other in Gen.Choose(0, 3)
                from variant in Gen.Choose(0, 11)
                from minute in Gen.Choose(1, 600)
                select new OptOutStep(kind, who, other, variant, minute))
            .Select(l => l.Take(45).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit OO: "a person who opted out is never messaged", as a property over every path. One person known by a cookie, an
/// email, a phone and a customer id, linked at random points; opt-ins dated before any opt-out; opt-outs of every kind
/// (consent per channel and topic, newsletter and provider unsubscribes, the one-click token, SMS STOP, complaints, hard
/// bounces with and without an address, erasure); sends of every kind (marketing and transactional <c>SendAsync</c> with
/// fallback, journeys that send at once or later), transport faults (transient, permanent so the next channel is used),
/// dispatch runs and time passing (quiet hours hold marketing). A recording transport notes the step at which it is handed
/// each message; no message may follow an opt-out that was accepted at an earlier step and covers it.
/// </summary>
public sealed class AuditOptOutProperties
{
    internal static readonly Identifier[] Person =
    [
        Identifier.AnonymousId("cookie-oo"),
        Identifier.Email("oo@example.com"),
        Identifier.Phone("+12125550123"),
        Identifier.CustomerId("c-oo"),
    ];

    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly DateTimeOffset OptIns = Start - TimeSpan.FromDays(1);
    private static readonly Uri Endpoint = new("https://shop.example/unsubscribe");
    private static readonly string?[] Topics = [null, "offers", "news"];

    [Property(Arbitrary = [typeof(OptOutStepArbitrary)], MaxTest = 100)]
    public void NoTransportIsHandedAMessage_ThatAnAcceptedOptOutCovers(OptOutStep[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    [Fact]
    public async Task AHardBounceNamingOnlyItsMessage_ViaAProfileWithoutThatEmail_SuppressesTheEmail_OnceTheProfilesAreLinked()
    {
        // Found by the property: the bounce names the message (message_id, no address) and comes in under her customer
        // id, whose profile does not know the message yet; it suppressed nothing, and after the merge the next marketing
        // email went to the address that had hard-bounced.
        var email = new Recorder(ChannelNames.Email, () => 0, _ => 0);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        await host.TrackAsync(EventTypes.ConsentChanged, [Person[1]], new { channel = "email", granted = true }, at: OptIns);
        await host.Client.SendAsync(Person[1], new MessageRequest { Key = "m-1", Channels = [ChannelNames.Email], TemplateId = "tpl" });
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Received);

        await host.TrackAsync(EventTypes.MessageBounced, [Person[3]], new { channel = "email", bounce_type = "hard", message_id = "m-1" });
        await host.TrackAsync("user.logged_in", [Person[3], Person[1]]);

        Assert.Single((await host.Client.ExportProfileAsync(Person[1]))!["suppressedAddresses"]!.AsArray());
        var again = await host.Client.SendAsync(Person[1], new MessageRequest { Key = "m-2", Channels = [ChannelNames.Email], TemplateId = "tpl" });
        await host.Engine.RunDispatchAsync();
        Assert.Equal(SendStatus.Skipped, again.Status);
        Assert.Single(email.Received);
    }

    /// <summary>What an accepted opt-out stops.</summary>
    /// <param name="Step">The step it was accepted at.</param>
    /// <param name="Who">The identifier it came through (its profile, and every profile merged with it later).</param>
    /// <param name="Channel">The channel it stops.</param>
    /// <param name="Topic">The topic it stops; null for every topic.</param>
    /// <param name="Address">The address it stops (bounces, erasure); null for every address.</param>
    /// <param name="AllClasses">Whether it stops transactional messages too (suppression).</param>
    /// <param name="Global">Whether it holds for anybody (an erasure's suppression list), not only her linked profiles.</param>
    /// <param name="What">For the failure message.</param>
    private sealed record OptOut(int Step, int Who, string Channel, string? Topic, string? Address, bool AllClasses, bool Global, string What);

    private sealed record Received(int Step, string Channel, OutboundMessage Message, int Linked);

    /// <summary>Records every message it accepts with the step it was handed over in; fails as told.</summary>
    private sealed class Recorder(string channel, Func<int> step, Func<string, int> linked) : IChannelTransport
    {
        private readonly Queue<bool> _faults = new(); // true: permanent
        public string Channel { get; } = channel;
        private readonly List<Received> _received = [];

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

    private static int IndexOfAddress(string address) => address.Contains('@', StringComparison.Ordinal) ? 1 : 2;

    private static bool IsMarketing(OutboundMessage m) => !m.MessageId.StartsWith("t-", StringComparison.Ordinal);

    internal static async Task RunAsync(OptOutStep[] steps)
    {
        var step = 0;
        var parent = new[] { 0, 1, 2, 3 };
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);

        // The identifiers linked to an address when a message to it is handed over (a bit each).
        int Linked(string address)
        {
            lock (parent)
            {
                var root = Find(IndexOfAddress(address));
                return Enumerable.Range(0, 4).Where(i => Find(i) == root).Sum(i => 1 << i);
            }
        }

        var email = new Recorder(ChannelNames.Email, () => Volatile.Read(ref step), Linked);
        var sms = new Recorder(ChannelNames.Sms, () => Volatile.Read(ref step), Linked);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 2;
                o.Delivery.Unsubscribe.Endpoint = Endpoint;
                o.Journeys.Add(Journey.Define("promo-now", "Promo now")
                    .TriggeredBy(t => t.Event("promo.requested"))
                    .Steps(s => s.Send("mail", [ChannelNames.Email, ChannelNames.Sms], "promo", "offers"))
                    .Build());
                o.Journeys.Add(Journey.Define("promo-later", "Promo later")
                    .TriggeredBy(t => t.Event("promo.later"))
                    .Steps(s => s.Delay("wait", "PT3H").Send("mail", [ChannelNames.Sms, ChannelNames.Email], "news", "news"))
                    .Build());
            },
            start: Start,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email).AddTransport("sms-gw", sms));

        var optOuts = new List<OptOut>();
        var log = new List<string>();

        async Task<bool> Track(string type, Identifier[] ids, object? properties, DateTimeOffset at, string channel = ChannelNames.Web)
        {
            var e = new CustomerEvent
            {
                Id = $"oo-{step:D3}",
                Type = type,
                Timestamp = at,
                Identifiers = ids,
                Channel = channel,
                Properties = properties is null ? default : JsonData.From(properties),
            };
            var r = await host.Client.TrackAsync(e);
            Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Erased or TrackStatus.Duplicate, $"step {step} {type}: {r.Status} {string.Join("; ", r.Errors)}");
            log.Add($"{step}: {type} via {string.Join("+", ids.Select(i => i.Type))} {System.Text.Json.JsonSerializer.Serialize(properties)} -> {r.Status}");
            return r.Status == TrackStatus.Accepted;
        }

        foreach (var s in steps)
        {
            Interlocked.Increment(ref step);
            var who = Person[s.Who];
            var v = s.Variant;
            var at = OptIns + TimeSpan.FromMinutes(s.Minute);
            var channel = v % 2 == 0 ? ChannelNames.Email : ChannelNames.Sms;
            var topic = Topics[v / 2 % 3];
            switch (s.Kind)
            {
                case 0: // an opt-in, dated before every opt-out
                    await Track(EventTypes.ConsentChanged, [who], new { channel, topic, granted = true }, OptIns);
                    break;
                case 1: // a link (merge), in either direction
                    if (s.Who != s.Other && await Track("user.logged_in", [who, Person[s.Other]], null, at))
                    {
                        lock (parent)
                        {
                            parent[Find(s.Who)] = Find(s.Other);
                        }
                    }

                    break;
                case 2: // she is seen under one identifier (makes its profile)
                    await Track("page.viewed", [who], null, at);
                    break;
                case 3:
                    if (await Track(EventTypes.ConsentChanged, [who], new { channel, topic, granted = false }, at))
                    {
                        optOuts.Add(new(step, s.Who, channel, topic, null, false, false, $"consent {channel}/{topic}"));
                    }

                    break;
                case 4:
                    var newsTopic = topic ?? "newsletter";
                    if (await Track(EventTypes.NewsletterUnsubscribed, [who], new { channel, topic = newsTopic }, at))
                    {
                        optOuts.Add(new(step, s.Who, channel, newsTopic, null, false, false, $"newsletter {channel}/{newsTopic}"));
                    }

                    break;
                case 5:
                    if (await Track(EventTypes.MessageUnsubscribed, [who], new { channel, topic, message_id = "m-unknown" }, at))
                    {
                        optOuts.Add(new(step, s.Who, channel, topic, null, false, false, $"provider unsubscribe {channel}/{topic}"));
                    }

                    break;
                case 6: // the one-click link of a marketing email she received
                    var withLink = email.Received.Select(r => r.Message).OfType<EmailMessage>().Where(m => m.Headers.ContainsKey("List-Unsubscribe")).ToList();
                    if (withLink.Count > 0)
                    {
                        var m = withLink[v % withLink.Count];
                        var url = m.Headers["List-Unsubscribe"].Trim('<', '>');
                        var token = Uri.UnescapeDataString(url[(url.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
                        var status = await host.Engine.UnsubscribeAsync(token);
                        log.Add($"{step}: unsubscribe link of {m.MessageId} ({m.Topic}) -> {status}");
                        if (status == UnsubscribeStatus.Unsubscribed)
                        {
                            optOuts.Add(new(step, IndexOfAddress(m.To), ChannelNames.Email, m.Topic, null, false, false, $"one-click {m.Topic}"));
                        }
                    }

                    break;
                case 7:
                    if (await Track(EventTypes.MessageReplied, [who], new { channel = ChannelNames.Sms, text = "STOP", message_id = "m-reply" }, at, ChannelNames.Sms))
                    {
                        optOuts.Add(new(step, s.Who, ChannelNames.Sms, null, null, false, false, "STOP"));
                    }

                    break;
                case 8:
                    if (await Track(EventTypes.MessageComplained, [who], new { channel, message_id = "m-complaint" }, at))
                    {
                        optOuts.Add(new(step, s.Who, channel, null, null, false, false, $"complaint {channel}"));
                    }

                    break;
                case 9: // a hard bounce of her email: with its address, or naming a message sent to it
                    var sentMail = email.Received.Select(r => r.Message).ToList();
                    if (v % 3 == 0 && sentMail.Count > 0)
                    {
                        var bounced = sentMail[v % sentMail.Count];
                        if (await Track(EventTypes.MessageBounced, [who], new { channel = ChannelNames.Email, bounce_type = "hard", message_id = bounced.MessageId }, at))
                        {
                            optOuts.Add(new(step, s.Who, ChannelNames.Email, null, ((EmailMessage)bounced).To, true, false, $"hard bounce of {bounced.MessageId}"));
                        }
                    }
                    else if (await Track(EventTypes.MessageBounced, [who], new { channel = ChannelNames.Email, bounce_type = "hard", address = "oo@example.com", message_id = "m-bounce" }, at))
                    {
                        optOuts.Add(new(step, s.Who, ChannelNames.Email, null, "oo@example.com", true, false, "hard bounce with address"));
                    }

                    break;
                case 10: // erasure: every address of her profile is suppressed for anybody
                    var members = new[] { 1, 2 }.Where(i => (Linked(i == 1 ? "@" : "+") & (1 << s.Who)) != 0).ToList();
                    var erased = await host.Client.EraseProfileAsync(who);
                    log.Add($"{step}: erase via {who.Type} -> {erased}");
                    if (erased)
                    {
                        // The erased profile's own decisions go with it (consents, and hard bounces of addresses that
                        // were not hers); what stands is the suppression list of her addresses, added below.
                        lock (parent)
                        {
                            optOuts.RemoveAll(o => !o.Global && Find(o.Who) == Find(s.Who));
                        }

                        foreach (var i in members)
                        {
                            foreach (var c in new[] { ChannelNames.Email, ChannelNames.Sms })
                            {
                                optOuts.Add(new(step, i, c, null, i == 1 ? "oo@example.com" : "+12125550123", true, true, "erasure"));
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
                        Key = (transactional ? "t-" : "m-") + step,
                        Channels = routes[v % 4],
                        TemplateId = "tpl",
                        Topic = transactional ? null : topic,
                        Class = transactional ? MessageClass.Transactional : MessageClass.Marketing,
                    };
                    var sent = await host.Client.SendAsync(who, request);
                    log.Add($"{step}: send {request.Key} {string.Join(">", request.Channels)}/{request.Topic} via {who.Type} -> {sent.Status} {sent.Reason}");
                    break;
                case 13:
                    await Track(v % 2 == 0 ? "promo.requested" : "promo.later", [who], null, host.Time.GetUtcNow());
                    break;
                case 14:
                    (v % 2 == 0 ? email : sms).Fail(permanent: v % 3 == 0, times: 1 + (v % 2));
                    log.Add($"{step}: fault {(v % 2 == 0 ? "email" : "sms")} permanent={v % 3 == 0}");
                    break;
                case 15:
                    await host.Engine.RunDispatchAsync();
                    log.Add($"{step}: dispatch");
                    break;
                default:
                    var by = TimeSpan.FromMinutes(30 * (1 + v));
                    await host.AdvanceAsync(by);
                    log.Add($"{step}: advance {by}");
                    break;
            }

            // A message due now leaves at once on a background pass (the fake clock's timer); the property is about what
            // is handed over after an opt-out was accepted, so each step ends when every hand-over it started has ended
            // (RunDispatchAsync waits for the sends in flight). A check that passed just before the opt-out committed,
            // with the hand-over after it, is the window every sender has; it stays inside one step.
            await host.Engine.RunDispatchAsync();
            Check(email, sms, optOuts, log);
        }

        // Whatever is still queued goes now (or never).
        Interlocked.Increment(ref step);
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        Check(email, sms, optOuts, log);
    }

    private static void Check(Recorder email, Recorder sms, List<OptOut> optOuts, List<string> log)
    {
        foreach (var r in email.Received.Concat(sms.Received))
        {
            var to = To(r.Message);
            var marketing = IsMarketing(r.Message);
            var covering = optOuts.FirstOrDefault(o => o.Step < r.Step
                && o.Channel == r.Channel
                && (o.Topic is null || o.Topic == r.Message.Topic)
                && (o.AllClasses || marketing)
                && (o.Address is null || o.Address == to)
                && (o.Global || (r.Linked & (1 << o.Who)) != 0));
            if (covering is not null)
            {
                Assert.Fail($"{r.Channel} message {r.Message.MessageId} (topic {r.Message.Topic}) to {to} handed over at step {r.Step}, after {covering.What} via {Person[covering.Who].Type} accepted at step {covering.Step}\n{string.Join("\n", log)}");
            }
        }
    }
}
