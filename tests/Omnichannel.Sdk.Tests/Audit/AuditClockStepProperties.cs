using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated timed event of audit CK.</summary>
/// <param name="Kind">Which kind of event (see <see cref="AuditClockStepProperties.Build"/>).</param>
/// <param name="Who">Which person: 0 in London, 1 in New York.</param>
/// <param name="Minute">When it happens, in minutes after the start.</param>
/// <param name="Variant">Picks values within the kind.</param>
public sealed record TimedEvent(int Kind, int Who, int Minute, int Variant);

/// <summary>One generated run of audit CK: the events, the small steps of host A and the extra jump points of host B.</summary>
/// <param name="Events">The timed events.</param>
/// <param name="SmallStep">Host A's step, in minutes (1–30).</param>
/// <param name="Jumps">Extra instants (minutes after the start) host B also lands on, besides the events.</param>
public sealed record ClockRun(TimedEvent[] Events, int SmallStep, int[] Jumps);

/// <summary>FsCheck generators for audit CK.</summary>
public static class ClockRunArbitrary
{
    public static Arbitrary<ClockRun> Runs() =>
        (from events in Gen.ListOf(
             from kind in Gen.Choose(0, 5)
             from who in Gen.Choose(0, 1)
             from minute in Gen.Choose(0, AuditClockStepProperties.SpanMinutes)
             from variant in Gen.Choose(0, 11)
             select new TimedEvent(kind, who, minute, variant))
         from step in Gen.Choose(1, 30)
         from jumps in Gen.ListOf(Gen.Choose(0, AuditClockStepProperties.SpanMinutes))
         select new ClockRun(events.Take(14).ToArray(), step, jumps.Take(4).ToArray()))
        .ToArbitrary();
}

/// <summary>
/// Audit CK: "the size of the clock's steps changes nothing", as a property. Two hosts with the same definitions get
/// the same timed events, each tracked when the host's clock reaches its instant. Host A moves its clock in small steps
/// (1–30 minutes, through <see cref="OmnichannelTestHost.AdvanceAsync"/>, which also stops at every wake-up: time passing
/// continuously). Host B sets its clock straight to the next event instant (or one of a few random instants), hours or
/// days ahead, and only then runs what fell due, as a process that was asleep or a timer that fired late. Definitions:
/// an event-triggered journey with a wait, a branch on a segment with a time window, a wait until a local time, a
/// marketing and a transactional send and a goal; an inactivity journey; an annual birthday; journeys on entering and
/// leaving windowed segments; quiet hours (no frequency cap: see NewHost). Compared at every event instant: segment memberships; at the end:
/// segment transitions, journey entries, first waits, the steps after them, branch arms and goal conversions (from the
/// timelines, with their instants), the messages handed to the transports (none twice, none unplanned) and the
/// conversion measurement rows. Work B notices late
/// runs at its catch-up (decided, audit G and Y), so B's instants are compared with "the first instant B was awake at or
/// after A's", and what follows from lateness (waits reached at the catch-up, quiet hours) is not compared.
/// </summary>
public sealed class AuditClockStepProperties
{
    internal const int SpanMinutes = 4 * 24 * 60;

    internal static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;

    internal static readonly Identifier[] People = [Identifier.Email("ck0@example.com"), Identifier.Email("ck1@example.com")];

    internal static readonly string[] Zones = ["Europe/London", "America/New_York"];

    [Property(Arbitrary = [typeof(ClockRunArbitrary)], MaxTest = 100)]
    public void LargeJumps_GiveWhatSmallStepsGive(ClockRun run) =>
        RunAsync(run).GetAwaiter().GetResult();

    // Soak A (thirty-fourth session): her 01:32 view's window closed at 07:32 and a view at 07:32 entered her again; the
    // timeline lists the two at that instant as "entered, exited", and the oracle read her as out when the branch at 08:57
    // (rightly) went warm. The oracle now reads an instant's transitions as a count, not as an order.
    [Property(Arbitrary = [typeof(ClockRunArbitrary)], MaxTest = 1, Replay = "(9310507759890619834,15485043561498849613,54)")]
    public void Replay_AnExitAndAReEntryAtOneInstant_LeaveHerAMember(ClockRun run) =>
        RunAsync(run).GetAwaiter().GetResult();

    /// <summary>Renders a fixed message (its template id as subject) and notes the instant each key was planned at.</summary>
    internal sealed class Renderer : IMessageRenderer
    {
        public ConcurrentDictionary<string, DateTimeOffset> Planned { get; } = new(StringComparer.Ordinal);

        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset at, CancellationToken cancellationToken = default)
        {
            Planned.TryAdd(request.Key, at);
            return ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
        }
    }

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
           {"id": "wait", "type": "delay", "duration": "PT2H"},
           {"id": "route", "type": "branch", "branches": [{"condition": {"segment": "viewers"}, "next": "warm"}], "else": "cold"},
           {"id": "warm", "type": "send", "channels": ["email"], "template": "cart-warm", "next": "morning"},
           {"id": "cold", "type": "send", "channels": ["email"], "template": "cart-cold", "next": "morning"},
           {"id": "morning", "type": "delayUntilLocalTime", "localTime": "10:00"},
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
         "trigger": {"type": "date", "trait": "birthday", "annual": true, "localTime": "09:00"},
         "goal": {"event": "order.placed", "within": "PT12H"},
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
         "goal": {"event": "order.placed", "within": "PT8H"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "come-back"}]}
        """,
    ];

    internal static (OmnichannelTestHost Host, RecordingTransport Email, Renderer Renderer) NewHost()
    {
        var renderer = new Renderer();
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 2;
                // No frequency cap: caps count catch-up sends by hand-over (audit DX, decided), so a jump may skip a send that
                // small steps made, and with it the conversion its goal would credit (a review found a seed that did).
                foreach (var json in SegmentTexts)
                {
                    var parsed = Omnichannel.Sdk.Segments.SegmentJson.Parse(json);
                    o.Segments.Add(parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors)));
                }

                foreach (var json in JourneyJsonTexts)
                {
                    var parsed = JourneyJson.Parse(json);
                    o.Journeys.Add(parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors)));
                }
            },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("esp", email));
        return (host, email, renderer);
    }

    internal static CustomerEvent Build(TimedEvent e, int index)
    {
        var who = People[e.Who];
        var at = Start + TimeSpan.FromMinutes(e.Minute);
        var v = e.Variant;
        var (type, properties, traits) = e.Kind switch
        {
            0 => ("page.viewed", (object?)new { path = "/p" + v }, (object?)null),
            1 => (EventTypes.CartItemAdded, new { product_id = "p" + (v % 3) }, null),
            2 => (EventTypes.OrderPlaced, new { order_id = $"o{index}", total = 10 + v, currency = "GBP" }, null),
            3 => ("user.updated", null, new { birthday = $"1990-01-{5 + (v % 5):D2}" }),
            4 => ("cart.emptied", null, null),
            _ => ("page.viewed", new { path = "/home" }, null),
        };

        return new CustomerEvent
        {
            Id = $"ck-{index:D3}",
            Type = type,
            Timestamp = at,
            Identifiers = [who],
            Channel = ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
        };
    }

    internal static async Task SetUpAsync(OmnichannelTestHost host)
    {
        for (var i = 0; i < People.Length; i++)
        {
            await host.TrackAsync(new CustomerEvent
            {
                Id = $"ck-consent-{i}",
                Type = EventTypes.ConsentChanged,
                Timestamp = Start - TimeSpan.FromDays(1),
                Identifiers = [People[i]],
                Channel = ChannelNames.Web,
                Properties = JsonData.From(new { channel = ChannelNames.Email, granted = true }),
                Context = new EventContext { TimeZone = Zones[i] },
            });
        }
    }

    internal static async Task RunAsync(ClockRun run)
    {
        var events = run.Events.Select((e, i) => (Spec: e, Event: Build(e, i))).OrderBy(x => x.Spec.Minute).ThenBy(x => x.Event.Id, StringComparer.Ordinal).ToList();
        var (a, emailA, rendererA) = NewHost();
        var (b, emailB, rendererB) = NewHost();
        await using var _a = a;
        await using var _b = b;
        await SetUpAsync(a);
        await SetUpAsync(b);
        var end = Start + TimeSpan.FromMinutes(SpanMinutes) + TimeSpan.FromDays(2);
        var stops = events.Select(x => Start + TimeSpan.FromMinutes(x.Spec.Minute))
            .Concat(run.Jumps.Select(m => Start + TimeSpan.FromMinutes(m)))
            .Append(end)
            .Distinct()
            .Order()
            .ToList();
        var trace = new List<string> { $"step {run.SmallStep} min; B stops {string.Join(", ", stops.Select(s => s.ToString("dd HH:mm")))}; events:" };
        trace.AddRange(events.Select(x => $"  {x.Event.Timestamp:dd HH:mm} {x.Event.Type} {x.Event.Identifiers[0].Value} {x.Event.Properties} {x.Event.Traits}"));
        var next = 0;
        foreach (var stop in stops)
        {
            // A: small steps up to the stop (stopping at every wake-up on the way).
            while (a.Time.GetUtcNow() < stop)
            {
                var to = a.Time.GetUtcNow() + TimeSpan.FromMinutes(run.SmallStep);
                await a.AdvanceToAsync(to < stop ? to : stop);
            }

            // B: the clock jumps straight to the stop; what fell due meanwhile runs only now.
            if (b.Time.GetUtcNow() < stop)
            {
                b.Time.SetUtcNow(stop);
            }

            await b.AdvanceAsync(TimeSpan.Zero);

            while (next < events.Count && events[next].Event.Timestamp == stop)
            {
                await a.TrackAsync(events[next].Event);
                await b.TrackAsync(events[next].Event);
                next++;
            }

            var sa = await MembershipsAsync(a);
            var sb = await MembershipsAsync(b);
            Assert.True(sa == sb, $"segments at {stop:dd HH:mm}:\nsmall steps:\n{sa}\nlarge jumps:\n{sb}\n{string.Join("\n", trace)}");
        }

        var ta = await TimelinesAsync(a);
        var tb = await TimelinesAsync(b);
        string Dump() => $"small steps:\n{string.Join("\n", ta)}\nlarge jumps:\n{string.Join("\n", tb)}\n{string.Join("\n", trace)}";

        // B is awake only at its stops: what A did at t, B does at the first stop at or after t.
        DateTimeOffset Ceil(DateTimeOffset t) => stops.First(s => s >= t);

        // 1. Segment transitions at their own instants (the edge of a window, not the wake-up).
        Assert.True(Select(ta, e => e.Type.StartsWith("segment.", StringComparison.Ordinal), e => e.At) == Select(tb, e => e.Type.StartsWith("segment.", StringComparison.Ordinal), e => e.At), "segment transitions\n" + Dump());

        // 2. Every trigger (inactivity, birthday, segment entry and exit) enters once, at B's first stop after A entered.
        static bool NotCart(Entry e) => !e.Summary.StartsWith("cart:", StringComparison.Ordinal);
        Assert.True(Select(ta, e => e.Type == "journey.entered" && NotCart(e), e => Ceil(e.At)) == Select(tb, e => e.Type == "journey.entered" && NotCart(e), e => e.At), "journey entries\n" + Dump());
        // A cart added while B's instance still waits (its wait until a local time counted from B's late wake-up, as
        // decided: later waits count from the catch-up) is refused there; only the instances both hosts started compare.
        var enteredB = tb.Where(e => e.Type == "journey.entered").Select(e => (e.Who, e.At, Journey: e.Summary.Split(':')[0])).ToHashSet();
        var waitsB = tb.Where(e => e.Type == "journey.waiting").Select(e => (e.Who, e.Summary)).ToHashSet();
        var commonA = ta.Where(e => e.Type != "journey.waiting" || enteredB.Contains((e.Who, e.At, e.Summary.Split(':')[0]))).ToList();

        // And the other way (a review found the seed): B, whose earlier instance ended first there, takes a later cart add
        // that A refused because A's instance from an add B had refused still waited.
        var enteredA = ta.Where(e => e.Type == "journey.entered").Select(e => (e.Who, e.At, Journey: e.Summary.Split(':')[0])).ToHashSet();
        var waitsA = ta.Where(e => e.Type == "journey.waiting").Select(e => (e.Who, e.Summary)).ToHashSet();
        var commonB = tb.Where(e => e.Type != "journey.waiting" || enteredA.Contains((e.Who, e.At, e.Summary.Split(':')[0]))).ToList();
        bool AfterACommonWait(Entry e)
        {
            var journey = e.Summary.Split(':')[0];
            var wait = tb.Where(w => w.Who == e.Who && w.Type == "journey.waiting" && w.At <= e.At && w.Summary.StartsWith(journey + ": wait: until ", StringComparison.Ordinal)).MaxBy(w => w.At);
            return wait is null || waitsA.Contains((wait.Who, wait.Summary));
        }

        // 3. A first wait counts from the trigger: the same end in both (for triggers at an event's instant; a journey
        // entered on a window's edge is entered when B wakes, and its wait counts from there, as decided).
        static bool FirstWait(Entry e) => e.Type == "journey.waiting" && e.Summary.Contains(": wait: until", StringComparison.Ordinal) && !e.Summary.StartsWith("lapsed", StringComparison.Ordinal);
        Assert.True(Select(commonA, FirstWait, e => e.At) == Select(commonB, FirstWait, e => e.At), "first waits\n" + Dump());

        // 4. The step after a first wait runs once, at B's first stop at or after the wait's end (never twice, never skipped).
        static bool AfterWait(Entry e) => e.Type == "journey.branched" || (e.Type is "journey.sent" or "journey.skipped" && e.Summary.StartsWith("thanks:", StringComparison.Ordinal));
        static Entry Arm(Entry e) => e with { Summary = e.Summary.Split(" →")[0].Split(" on ")[0].Split(": frequency")[0] };
        var afterA = ta.Where(AfterWait).Where(e => waitsB.Contains((e.Who, $"{e.Summary.Split(':')[0]}: wait: until {e.At:u}"))).Select(Arm).ToList();
        Assert.True(Select(afterA, _ => true, e => Ceil(e.At)) == Select([.. tb.Where(AfterWait).Where(AfterACommonWait).Select(Arm)], _ => true, e => e.At), "steps after a wait\n" + Dump());

        // 5. A branch on a windowed segment reads the membership of the instant it runs at (the window closes at its
        // edge, not at the next wake-up): warm exactly when she viewed a page in the six hours before, in both hosts.
        foreach (var (host, entries) in new[] { ("small steps", ta), ("large jumps", tb) })
        {
            foreach (var branch in entries.Where(e => e.Type == "journey.branched"))
            {
                var transitions = entries.Where(e => e.Who == branch.Who && e.Type.StartsWith("segment.", StringComparison.Ordinal) && e.Summary.StartsWith("Viewed", StringComparison.Ordinal)).ToList();
                if (transitions.Any(t => t.At == branch.At))
                {
                    continue; // an event at that very instant is tracked after the wake-up: either reading is defensible
                }

                // Transitions at one instant are listed by entry id, not in the order they happened (an exit at the window's
                // edge and a re-entry by a view at that very instant read "entered, exited"): as they alternate, an instant
                // with as many entries as exits leaves the membership as it was, else the more frequent kind wins.
                var member = false;
                foreach (var instant in transitions.Where(t => t.At < branch.At).GroupBy(t => t.At))
                {
                    var entered = instant.Count(t => t.Type == "segment.entered");
                    var exited = instant.Count() - entered;
                    member = entered == exited ? member : entered > exited;
                }

                Assert.True(member == branch.Summary.Contains("→ warm", StringComparison.Ordinal), $"{host}: {branch.Who} at {branch.At:dd HH:mm} {branch.Summary} (member: {member})\n" + Dump());
            }
        }

        // 7. A goal's window opens at the trigger's own instant (an inactivity deadline, a birthday, a window's edge), not
        // at the wake-up that noticed it: the same orders convert.
        // (Compared by the journey's conversion record, not by the instance's own entry: an instance B still runs, its
        // wait counted from the catch-up, converts in place where A's had ended and converted through the goal watch.)
        static bool Converted(Entry e) => e.Type == "journey.converted" && !e.Summary.StartsWith("cart", StringComparison.Ordinal) && e.Summary.Contains(") converted by ", StringComparison.Ordinal);
        static Entry Conversion(Entry e) => e with { Summary = e.Summary.Split(" (")[0] + " converted by " + e.Summary.Split(") converted by ")[1].Split(';')[0] };
        Assert.True(Select([.. ta.Where(Converted).Select(Conversion)], _ => true, e => e.At) == Select([.. tb.Where(Converted).Select(Conversion)], _ => true, e => e.At), "conversions\n" + Dump());

        // 6. Nothing is handed over twice; conversions (from the events) are the same.
        Assert.Empty(emailA.DuplicateMessageIds);
        Assert.Empty(emailB.DuplicateMessageIds);
        var ca = (await a.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:" })).Select(r => r.ToString()).Order(StringComparer.Ordinal);
        var cb = (await b.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:" })).Select(r => r.ToString()).Order(StringComparer.Ordinal);
        Assert.Equal(ca, cb);
        // 7. Every message handed over was planned once (its key) and went to the transport once.
        Assert.True(emailA.Records.All(r => rendererA.Planned.ContainsKey(r.Message.MessageId)) && emailB.Records.All(r => rendererB.Planned.ContainsKey(r.Message.MessageId)), "a message handed over unplanned\n" + Dump());
    }

    internal sealed record Entry(string Who, DateTimeOffset At, string Type, string Summary);

    private static string Select(List<Entry> entries, Func<Entry, bool> where, Func<Entry, DateTimeOffset> at) =>
        string.Join("\n", entries.Where(where).Select(e => $"{e.Who} {at(e):dd HH:mm} {e.Type} {e.Summary}").Order(StringComparer.Ordinal));

    internal static async Task<string> MembershipsAsync(OmnichannelTestHost host)
    {
        var lines = new List<string>();
        foreach (var who in People)
        {
            if (await host.Client.GetProfileAsync(who) is { } profile)
            {
                lines.Add($"{who.Value}: {string.Join(",", profile.Segments.Select(s => $"{s.SegmentId}@{s.EnteredAt:dd HH:mm}"))}");
            }
        }

        return string.Join("\n", lines);
    }

    internal static async Task<List<Entry>> TimelinesAsync(OmnichannelTestHost host)
    {
        var entries = new List<Entry>();
        foreach (var who in People)
        {
            if (await host.Client.GetProfileAsync(who) is { } profile)
            {
                entries.AddRange(profile.Timeline
                    .Where(t => t.Type.StartsWith("journey.", StringComparison.Ordinal) || t.Type.StartsWith("segment.", StringComparison.Ordinal))
                    .Select(t => new Entry(who.Value, t.Timestamp, t.Type, t.Summary ?? string.Empty)));
            }
        }

        return [.. entries.OrderBy(e => e.At).ThenBy(e => e.Who, StringComparer.Ordinal)];
    }
}
