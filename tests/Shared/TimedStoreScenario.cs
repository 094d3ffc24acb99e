using FsCheck;
using FsCheck.Fluent;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>One generated timed event of audit CKS.</summary>
/// <param name="Kind">Which kind of event (see <see cref="TimedStoreScenario.Build"/>).</param>
/// <param name="Who">Which person (0–2, each in her own zone).</param>
/// <param name="Minute">When it happens, in minutes after the start.</param>
/// <param name="Ticks">Extra 100-ns ticks (under a second).</param>
/// <param name="Offset">Which offset the event's instant is written in.</param>
/// <param name="Variant">Picks values within the kind.</param>
public sealed record TimedStoreEvent(int Kind, int Who, int Minute, int Ticks, int Offset, int Variant);

/// <summary>One restart of the durable engine: when (minutes after the start, plus ticks) and how long it is down.</summary>
/// <param name="Minute">When the engine goes down.</param>
/// <param name="Ticks">Extra ticks.</param>
/// <param name="DownMinutes">How long it stays down (events meanwhile are tracked late, when it is up again).</param>
/// <param name="Anchor">When 0 or more: the restart is instead at that event's instant plus one of the definitions' waits
/// (<see cref="TimedStoreScenario.AnchorDelays"/>, picked by <paramref name="Minute"/>) plus -1, 0 or 1 tick (by <paramref name="Ticks"/>),
/// so that it lands on or beside a due instant.</param>
public sealed record TimedStoreRestart(int Minute, int Ticks, int DownMinutes, int Anchor = -1);

/// <summary>One generated run of audit CKS.</summary>
/// <param name="Events">The timed events.</param>
/// <param name="Restarts">The restarts of the durable engine.</param>
public sealed record TimedStoreRun(TimedStoreEvent[] Events, TimedStoreRestart[] Restarts);

/// <summary>FsCheck generators for audit CKS.</summary>
public static class TimedStoreRunArbitrary
{
    public static Arbitrary<TimedStoreRun> Runs() =>
        (from events in Gen.ListOf(
             from kind in Gen.Choose(0, 6)
             from who in Gen.Choose(0, TimedStoreScenario.People.Length - 1)
             from minute in Gen.Choose(0, TimedStoreScenario.SpanMinutes)
             from ticks in Gen.OneOf(Gen.Constant(0), Gen.Choose(1, 9), Gen.Choose(1, 9_999_999))
             from offset in Gen.Choose(0, TimedStoreScenario.Offsets.Length - 1)
             from variant in Gen.Choose(0, 11)
             select new TimedStoreEvent(kind, who, minute, ticks, offset, variant))
         from restarts in Gen.ListOf(
             from minute in Gen.Choose(0, TimedStoreScenario.SpanMinutes + 24 * 60)
             from ticks in Gen.OneOf(Gen.Constant(0), Gen.Choose(1, 9_999_999))
             from down in Gen.OneOf(Gen.Choose(0, 5), Gen.Choose(1, 24 * 60))
             from anchor in Gen.OneOf(Gen.Constant(-1), Gen.Choose(0, 11))
             select new TimedStoreRestart(minute, ticks, down, anchor))
         select new TimedStoreRun(events.Take(12).ToArray(), restarts.Take(3).ToArray()))
        .ToArbitrary();
}

/// <summary>
/// Audit CKS: one random timed scenario on the in-memory store and on a durable store gives the same instants. Four
/// hosts: M (in memory) and D (durable) run continuously (the clock stops at every wake-up) and are compared exactly at
/// every event instant and at the end; R (durable) is disposed with its store and opened again on the same file or
/// database at random instants (some on or a tick beside a due instant), down for a while, and J (in memory) sleeps
/// through the same downtimes without restarting; events that happen while they are down are tracked late, when they
/// are up again. R and J are compared exactly as well: a restart must be nothing more than sleeping (audit CK's oracle:
/// what the continuous engine did at t, a sleeping one does at the first instant it is awake at or after t).
/// Compared: segment memberships with their entry instants, each running journey's step and wake-up, the store's
/// wake-up index (every profile's due instant), the outbox's next due instant, the timelines' journey and segment
/// entries (instants to the tick), every message handed over and the fake clock's tick at hand-over, conversions.
/// </summary>
internal static class TimedStoreScenario
{
    internal const int SpanMinutes = 3 * 24 * 60;

    internal static readonly DateTimeOffset Start = new DateTimeOffset(2026, 3, 27, 17, 59, 59, TimeSpan.Zero).AddTicks(1234567);

    internal static readonly Identifier[] People = [Identifier.Email("k0@example.com"), Identifier.Email("k1@example.com"), Identifier.Email("k2@example.com")];

    internal static readonly string[] Zones = ["Asia/Kathmandu", "America/St_Johns", "Europe/London"];

    internal static readonly TimeSpan[] Offsets = [TimeSpan.FromMinutes(5 * 60 + 45), TimeSpan.FromMinutes(-(3 * 60 + 30)), TimeSpan.FromHours(14), TimeSpan.Zero, TimeSpan.FromMinutes(-(9 * 60 + 30))];

    internal static readonly TimeSpan[] AnchorDelays = [TimeSpan.Zero, TimeSpan.FromSeconds(3661), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromDays(1)];

    internal static readonly string[] SegmentTexts =
    [
        """{"id": "viewers", "name": "Viewed in the last 6 hours", "rule": {"event": "page.viewed", "count": {"op": "gte", "value": 1}, "within": "PT6H"}}""",
        """{"id": "buyers", "name": "Ordered in the last day", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 1}, "within": "P1D"}}""",
    ];

    internal static readonly string[] JourneyJsonTexts =
    [
        """
        {"id": "cart", "version": 1, "name": "Cart",
         "trigger": {"type": "event", "event": "cart.item_added"},
         "exit": [{"event": "cart.emptied"}],
         "goal": {"event": "order.placed", "within": "P1D"},
         "steps": [
           {"id": "wait", "type": "delay", "duration": "PT1H1S"},
           {"id": "route", "type": "branch", "branches": [{"condition": {"segment": "viewers"}, "next": "warm"}], "else": "cold"},
           {"id": "warm", "type": "send", "channels": ["email"], "template": "cart-warm", "next": "morning"},
           {"id": "cold", "type": "send", "channels": ["email"], "template": "cart-cold", "next": "morning"},
           {"id": "morning", "type": "delayUntilLocalTime", "localTime": "07:45"},
           {"id": "receipt", "type": "send", "channels": ["email"], "template": "cart-note", "class": "transactional"}]}
        """,
        """
        {"id": "idle", "version": 1, "name": "Idle",
         "trigger": {"type": "inactivity", "afterEvent": "page.viewed", "noEvent": ["order.placed"], "within": "PT3H"},
         "goal": {"event": "order.placed", "within": "PT6H"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "miss-you"}]}
        """,
        """
        {"id": "bday", "version": 1, "name": "Birthday",
         "trigger": {"type": "date", "trait": "birthday", "annual": true, "localTime": "09:30"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "bday"}]}
        """,
        """
        {"id": "thanks", "version": 1, "name": "Thanks",
         "trigger": {"type": "segment", "segment": "buyers", "on": "entered"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT30M"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional"}]}
        """,
        """
        {"id": "lapsed", "version": 1, "name": "Lapsed",
         "trigger": {"type": "segment", "segment": "viewers", "on": "exited"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "come-back"}]}
        """,
    ];

    internal static CustomerEvent Build(TimedStoreEvent e, int index)
    {
        var at = (Start + TimeSpan.FromMinutes(e.Minute) + TimeSpan.FromTicks(e.Ticks)).ToOffset(Offsets[e.Offset]);
        var v = e.Variant;
        var (type, properties, traits) = e.Kind switch
        {
            0 => ("page.viewed", (object?)new { path = "/p" + v }, (object?)null),
            1 => (EventTypes.CartItemAdded, new { product_id = "p" + (v % 3) }, null),
            2 => (EventTypes.OrderPlaced, new { order_id = $"o{index}", total = 10 + v, currency = "GBP" }, null),
            3 => ("user.updated", null, new { birthday = $"1990-03-{28 + (v % 3):D2}" }),
            4 => ("cart.emptied", null, null),
            5 => ("page.viewed", new { path = "/home" }, null),
            _ => (EventTypes.CartItemAdded, new { product_id = "p9" }, null),
        };

        return new CustomerEvent
        {
            Id = $"cks-{index:D3}",
            Type = type,
            Timestamp = at,
            Identifiers = [People[e.Who]],
            Channel = ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
        };
    }

    /// <summary>One host of the run, which a restart replaces.</summary>
    private sealed class Node(string name, List<string> sent)
    {
        public string Name { get; } = name;

        public List<string> Sent { get; } = sent;

        public OmnichannelTestHost Host { get; set; } = null!;

        public IOmnichannelStore? Durable { get; set; }

        public List<string> Trace { get; } = [];
    }

    private sealed class Recorder(Func<DateTimeOffset> now, List<string> log) : IChannelTransport
    {
        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var mail = (EmailMessage)message;
            lock (log)
            {
                log.Add($"sent {now().UtcTicks} {mail.To} {mail.Subject}");
            }

            return ValueTask.FromResult(DeliveryResult.Accepted(null));
        }
    }

    private static OmnichannelTestHost NewHost(Node node, DateTimeOffset start, IOmnichannelStore store)
    {
        OmnichannelTestHost? host = null;
        // The engine dispatches what is due in its constructor (a restarted engine sends what fell due while it was down),
        // before Create returns: until then the fake clock stands at the start.
        var delivery = new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("rec", new Recorder(() => host?.Time.GetUtcNow() ?? start, node.Sent));
        host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 2;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;

                // Quiet hours that end a tick after 08:00: a held message is due at 08:00:00.0000001 local, not before.
                o.Delivery.QuietHoursStart = new TimeOnly(20, 59, 59).Add(TimeSpan.FromTicks(9_999_999));
                o.Delivery.QuietHoursEnd = new TimeOnly(8, 0).Add(TimeSpan.FromTicks(1));
                foreach (var json in SegmentTexts)
                {
                    var parsed = SegmentJson.Parse(json);
                    o.Segments.Add(parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors)));
                }

                foreach (var json in JourneyJsonTexts)
                {
                    var parsed = JourneyJson.Parse(json);
                    o.Journeys.Add(parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors)));
                }
            },
            start,
            store,
            delivery);
        return host;
    }

    /// <summary>Runs <paramref name="run"/>; <paramref name="open"/> opens (or opens again) the durable store of a given name.</summary>
    public static async Task RunAsync(TimedStoreRun run, Func<string, Task<IOmnichannelStore>> open)
    {
        var events = run.Events.Select((e, i) => (Spec: e, Event: Build(e, i))).OrderBy(x => x.Event.Timestamp).ThenBy(x => x.Event.Id, StringComparer.Ordinal).ToList();
        var end = Start + TimeSpan.FromMinutes(SpanMinutes) + TimeSpan.FromDays(2);
        var stops = events.Select(x => x.Event.Timestamp.ToUniversalTime()).Append(end).Distinct().Order().ToList();
        DateTimeOffset At(TimedStoreRestart r) => r.Anchor >= 0 && r.Anchor < events.Count
            ? events[r.Anchor].Event.Timestamp.ToUniversalTime() + AnchorDelays[r.Minute % AnchorDelays.Length] + TimeSpan.FromTicks((r.Ticks % 3) - 1)
            : Start + TimeSpan.FromMinutes(r.Minute) + TimeSpan.FromTicks(r.Ticks);
        var downs = run.Restarts.Select(r => (First: At(r), Second: TimeSpan.FromMinutes(r.DownMinutes))).Where(x => x.First > Start).OrderBy(x => x.First).ToList();

        var m = new Node("memory", []);
        var d = new Node("durable", []);
        var r = new Node("restarted", []);
        var j = new Node("asleep", []);
        m.Host = NewHost(m, Start - TimeSpan.FromDays(1), new InMemoryOmnichannelStore());
        j.Host = NewHost(j, Start - TimeSpan.FromDays(1), new InMemoryOmnichannelStore());
        d.Durable = await open("d");
        d.Host = NewHost(d, Start - TimeSpan.FromDays(1), d.Durable);
        r.Durable = await open("r");
        r.Host = NewHost(r, Start - TimeSpan.FromDays(1), r.Durable);
        var nodes = new[] { m, d, r, j };
        var log = new List<string> { "events:" };
        log.AddRange(events.Select(x => $"  {x.Event.Timestamp:O} {x.Event.Type} {x.Event.Identifiers[0].Value} {x.Event.Properties} {x.Event.Traits}"));
        log.Add("restarts: " + string.Join(", ", downs.Select(x => $"{x.First:O} for {x.Second}")));
        try
        {
            foreach (var n in nodes)
            {
                for (var i = 0; i < People.Length; i++)
                {
                    await n.Host.TrackAsync(new CustomerEvent
                    {
                        Id = $"cks-consent-{i}",
                        Type = EventTypes.ConsentChanged,
                        Timestamp = Start - TimeSpan.FromDays(1),
                        Identifiers = [People[i]],
                        Channel = ChannelNames.Web,
                        Properties = JsonData.From(new { channel = ChannelNames.Email, granted = true }),
                        Context = new EventContext { TimeZone = Zones[i] },
                    });
                }

                await n.Host.AdvanceToAsync(Start);
            }

            var next = 0;
            var nextDown = 0;
            DateTimeOffset? downUntil = null;
            var late = new List<CustomerEvent>();

            // R wakes: disposed with its store (its clock stood still since it went down), opened again on the same file
            // or database; J's clock jumps. Events that arrived meanwhile are tracked now, late, by both.
            async Task WakeAsync()
            {
                var until = downUntil!.Value;
                await r.Host.DisposeAsync();
                await ((IAsyncDisposable)r.Durable!).DisposeAsync();
                r.Durable = await open("r");
                r.Host = NewHost(r, until, r.Durable);
                await r.Host.AdvanceAsync(TimeSpan.Zero);
                j.Host.Time.SetUtcNow(until);
                await j.Host.AdvanceAsync(TimeSpan.Zero);
                // Each late event, then what it made due (an inactivity deadline already past runs before the next late
                // event, the order they arrive in): without the run between them, whether the engine's own timer runs
                // the deadline before the next event is tracked is a race with the test thread on either store.
                foreach (var e in late)
                {
                    await r.Host.TrackAsync(e);
                    await r.Host.AdvanceAsync(TimeSpan.Zero);
                    await j.Host.TrackAsync(e);
                    await j.Host.AdvanceAsync(TimeSpan.Zero);
                }

                log.Add($"up at {until:O}, {late.Count} late event(s)");
                late.Clear();
                downUntil = null;
            }

            foreach (var stop in stops)
            {
                await m.Host.AdvanceToAsync(stop);
                await d.Host.AdvanceToAsync(stop);

                // R and J: awake until a downtime (stopping at every wake-up), asleep through it, awake again.
                while (true)
                {
                    if (downUntil is { } up)
                    {
                        if (up > stop)
                        {
                            break;
                        }

                        await WakeAsync();
                    }

                    if (nextDown < downs.Count && downs[nextDown].First < stop)
                    {
                        var (from, length) = downs[nextDown++];
                        if (from >= r.Host.Time.GetUtcNow())
                        {
                            await r.Host.AdvanceToAsync(from);
                            await j.Host.AdvanceToAsync(from);
                            downUntil = from + length;
                            log.Add($"down at {from:O}");
                        }

                        continue;
                    }

                    break;
                }

                var asleep = downUntil is not null;
                if (!asleep)
                {
                    await r.Host.AdvanceToAsync(stop);
                    await j.Host.AdvanceToAsync(stop);
                }

                var awake = asleep ? new[] { m, d } : nodes;
                while (next < events.Count && events[next].Event.Timestamp == stop)
                {
                    foreach (var n in awake)
                    {
                        await n.Host.TrackAsync(events[next].Event);
                    }

                    if (asleep)
                    {
                        late.Add(events[next].Event);
                    }

                    next++;
                }

                foreach (var n in awake)
                {
                    await n.Host.AdvanceAsync(TimeSpan.Zero);
                    n.Trace.Add($"@{stop.UtcTicks}\n{await SnapshotAsync(n.Host)}");
                }

                Compare(m, d, log);
                if (!asleep)
                {
                    Compare(j, r, log);
                }
            }

            if (downUntil is not null)
            {
                await WakeAsync();
            }

            foreach (var n in nodes)
            {
                n.Trace.Add(await FinalAsync(n.Host, n.Sent));
            }

            Compare(m, d, log);
            Compare(j, r, log);
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.Host.DisposeAsync();
                if (n.Durable is IAsyncDisposable durable)
                {
                    await durable.DisposeAsync();
                }
            }
        }
    }

    private static void Compare(Node expected, Node actual, List<string> log)
    {
        var e = expected.Trace[^1];
        var a = actual.Trace[^1];
        if (e != a)
        {
            var el = e.Split('\n');
            var al = a.Split('\n');
            var first = Enumerable.Range(0, Math.Max(el.Length, al.Length)).First(i => i >= el.Length || i >= al.Length || el[i] != al[i]);
            Assert.Fail($"{expected.Name} and {actual.Name} differ at line {first}:\n{expected.Name}:\n{e}\n{actual.Name}:\n{a}\n{string.Join("\n", log)}");
        }
    }

    private static string T(DateTimeOffset at) => at.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<string> SnapshotAsync(OmnichannelTestHost host)
    {
        var lines = new List<string>();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var who in People)
        {
            if (await host.Client.GetProfileAsync(who) is not { } profile)
            {
                continue;
            }

            ids[profile.Id] = who.Value;
            lines.Add($"{who.Value} segments {string.Join(",", profile.Segments.Select(s => $"{s.SegmentId}@{T(s.EnteredAt)}").Order(StringComparer.Ordinal))}");
            lines.Add($"{who.Value} journeys {string.Join(",", profile.Journeys.Select(i => $"{i.JourneyId}:{i.StepId}@{(i.WakeAt is { } w ? T(w) : "-")} started {T(i.StartedAt)}").Order(StringComparer.Ordinal))}");
        }

        var wakeUps = await host.Store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1000);
        lines.Add("wake-ups " + string.Join(",", wakeUps.Select(w => $"{ids.GetValueOrDefault(w.ProfileId, "?")}@{w.WakeAt.UtcTicks}").Order(StringComparer.Ordinal)));
        var outbox = await host.Store.GetNextOutboxDueAsync();
        lines.Add("outbox next " + (outbox is { } o ? o.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"));
        return string.Join("\n", lines);
    }

    private static async Task<string> FinalAsync(OmnichannelTestHost host, List<string> sent)
    {
        var lines = new List<string>();
        foreach (var who in People)
        {
            if (await host.Client.GetProfileAsync(who) is { } profile)
            {
                lines.AddRange(profile.Timeline
                    .Where(t => t.Type.StartsWith("journey.", StringComparison.Ordinal) || t.Type.StartsWith("segment.", StringComparison.Ordinal))
                    .Select(t => $"{who.Value} {T(t.Timestamp)} {t.Type} {t.Summary}")
                    .Order(StringComparer.Ordinal));
            }
        }

        lock (sent)
        {
            lines.AddRange(sent.Order(StringComparer.Ordinal));
        }

        lines.AddRange((await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:" })).Select(x => x.ToString()).Order(StringComparer.Ordinal));
        return string.Join("\n", lines);
    }
}
