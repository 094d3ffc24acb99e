using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Audit SP: one seeded sequence of public-API operations (orders with odd amounts, traits with odd text, consent,
/// merging logins, sends inside quiet hours, a journey with a wait, instants with sub-microsecond ticks in far zones, the
/// clock moved by odd amounts) run on an engine over a given store; the trace it returns (profiles as public JSON,
/// segment members, every message handed over and the fake time it was handed over at, journey statistics and
/// measurement rows) must be the same on every store. Profile and message ids are random, so they are renamed in order
/// of appearance.
/// </summary>
internal static partial class StoreParityDriver
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly DateTimeOffset Start = new(2026, 3, 6, 19, 59, 59, TimeSpan.Zero);

    private static readonly string[] Zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu", "America/St_Johns", "UTC"];

    private static readonly string[] Texts =
    [
        "Ärger", "ärger", "ÄRGER", "Zoë ", "Zoe\u0308", "İstanbul", "ß", "SS", "a\u00A0b", "trailing   ", "  leading", "日本語", "😀x", "\uE000", "a\"b\\c",
        "\u2028line", "<script>", new string('x', 300) + "é", "0.1", "1e400", "Z", "a", "B",
    ];

    private static readonly object[] Amounts = [19.99m, 0.1, 0.30000000000000004, 1e-7, 123456789.123456789m, 9007199254740993L, 0.005m, 1e15, 7m, 42.4242424242m];

    private static readonly string[] Currencies = ["USD", "JPY", "EUR", "BHD", "usd"];

    public static IEnumerable<SegmentDefinition> Segments() =>
    [
        SegmentJson.Parse("""{"id": "buyers", "name": "x", "rule": {"stat": "orderCount", "op": "gte", "value": 2}}""").Value!,
        SegmentJson.Parse("""{"id": "big", "name": "x", "rule": {"stat": "totalSpent", "op": "gt", "value": 100}}""").Value!,
        SegmentJson.Parse("""{"id": "umlaut", "name": "x", "rule": {"trait": "nick", "op": "eq", "value": "Ärger"}}""").Value!,
        SegmentJson.Parse("""{"id": "prefix", "name": "x", "rule": {"trait": "nick", "op": "startsWith", "value": "Z"}}""").Value!,
        SegmentJson.Parse("""{"id": "reach", "name": "x", "rule": {"reachable": "email"}}""").Value!,
    ];

    public static JourneyDefinition Journey()
    {
        var parsed = JourneyJson.Parse(JourneyText);
        return parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors));
    }

    private const string JourneyText = """
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterPreviousEnded"}, "goal": {"event": "order.placed", "within": "P2D"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H1S"},
                   {"id": "nudge", "type": "send", "channels": ["email", "sms"], "template": "cart", "topic": "newsletter"},
                   {"id": "wait2", "type": "delay", "duration": "PT7H"},
                   {"id": "again", "type": "send", "channels": ["sms", "email"], "template": "cart2", "class": "transactional"}]}
        """;

    /// <summary>Runs the sequence of <paramref name="seed"/> on <paramref name="store"/> and returns its trace, one line per fact.</summary>
    public static async Task<List<string>> RunAsync(int seed, IOmnichannelStore store, int steps = 40)
    {
        var log = new List<string>();
        OmnichannelTestHost? hostRef = null;
        var delivery = new DeliverySetup { Renderer = new StubMessageRenderer() };
        foreach (var channel in new[] { ChannelNames.Email, ChannelNames.Sms })
        {
            delivery.AddTransport("timed", new TimedRecorder(channel, () => hostRef?.Time.GetUtcNow() ?? Start, log));
        }

        await using var host = OmnichannelTestHost.Create(o =>
        {
            foreach (var s in Segments())
            {
                o.Segments.Add(s);
            }

            o.Journeys.Add(Journey());
            o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
        }, Start, store, delivery);
        hostRef = host;
        var r = new Random(seed);
        var customers = Enumerable.Range(0, 4).Select(i => new[]
        {
            Identifier.Email($"c{i}@Example.com"), Identifier.CustomerId($"C-{i}"), Identifier.AnonymousId($"anon-{i}"), Identifier.Phone($"+4915112345{i:D3}"),
        }).ToArray();
        var n = 0;
        for (var step = 0; step < steps; step++)
        {
            var who = customers[r.Next(customers.Length)];
            var ids = who.Where(_ => r.Next(3) > 0).DefaultIfEmpty(who[0]).ToList();
            var now = host.Time.GetUtcNow();
            var at = (now - TimeSpan.FromTicks(r.Next(0, 3) == 0 ? 0 : r.Next(1, 20_000_000))).ToOffset(TimeSpan.FromMinutes(r.Next(0, 2) == 0 ? 14 * 60 : -11 * 60 + 45 * r.Next(0, 2)));
            var context = new EventContext { TimeZone = Zones[r.Next(Zones.Length)] };
            n++;
            string line;
            switch (r.Next(8))
            {
                case 0:
                    var result = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, ids, new Dictionary<string, object> { ["order_id"] = "O-" + n, ["total"] = Amounts[r.Next(Amounts.Length)], ["currency"] = Currencies[r.Next(Currencies.Length)] }, at: at, context: context));
                    line = "order " + Describe(result);
                    break;
                case 1:
                    result = await host.Client.TrackAsync(host.Event("profile.updated", ids, traits: new Dictionary<string, object> { ["nick"] = Texts[r.Next(Texts.Length)], ["note"] = Texts[r.Next(Texts.Length)], ["n"] = Amounts[r.Next(Amounts.Length)] }, at: at, context: context));
                    line = "traits " + Describe(result);
                    break;
                case 2:
                    result = await host.Client.TrackAsync(host.Event(EventTypes.ConsentChanged, ids, new { channel = r.Next(2) == 0 ? "email" : "sms", topic = r.Next(2) == 0 ? null : "newsletter", granted = r.Next(3) > 0 }, at: at, context: context));
                    line = "consent " + Describe(result);
                    break;
                case 3:
                    var other = customers[r.Next(customers.Length)];
                    result = await host.Client.TrackAsync(host.Event("user.logged_in", [who[0], other[2]], at: at, context: context));
                    line = "login " + Describe(result);
                    break;
                case 4:
                    var send = await host.Client.SendAsync(who[r.Next(who.Length)], new MessageRequest
                    {
                        Key = "k-" + r.Next(6), Channels = r.Next(2) == 0 ? ["email", "sms"] : ["sms", "email"], TemplateId = "promo", Topic = "newsletter",
                        Class = r.Next(3) == 0 ? MessageClass.Transactional : MessageClass.Marketing,
                    });
                    line = $"send {send.Status} {send.Channel} {send.DueAt?.UtcTicks} {send.Reason}";
                    break;
                case 5:
                    result = await host.Client.TrackAsync(host.Event(EventTypes.CartItemAdded, ids, new { product_id = "p" + r.Next(3), quantity = 1, price = Amounts[r.Next(Amounts.Length)] }, at: at, context: context));
                    line = "cart " + Describe(result);
                    break;
                default:
                    var by = r.Next(4) switch
                    {
                        0 => TimeSpan.FromTicks(r.Next(1, 10)),
                        1 => TimeSpan.FromMinutes(r.Next(1, 120)) + TimeSpan.FromTicks(r.Next(1, 10)),
                        2 => TimeSpan.FromHours(r.Next(1, 13)) - TimeSpan.FromTicks(r.Next(0, 10)),
                        _ => TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(3),
                    };
                    await host.AdvanceAsync(by);
                    line = "advance " + by.Ticks;
                    break;
            }

            await host.Engine.RunDispatchAsync();
            log.Add(step + " " + line);
        }

        await host.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromTicks(5));
        await host.Engine.RunDispatchAsync();

        foreach (var who in customers)
        {
            var profile = await host.Client.GetProfileAsync(who[0]);
            // Object members sorted: dispatch hands messages due at one instant to their transports in parallel, so the
            // order their outcomes reach a profile (and so, say, the order of lastSeenByChannel's keys) is not defined.
            log.Add(who[0].Value + " => " + (profile is null ? "none" : Canonical(JsonSerializer.SerializeToNode(profile, Web))?.ToJsonString()));
        }

        foreach (var s in Segments())
        {
            var members = await host.Client.GetSegmentMembersAsync(s.Id, null, 100);
            log.Add("segment " + s.Id + ": " + string.Join(",", members));

            // Page by page (two at a time, after the last id seen): the same members, in the same order, as one page.
            var paged = new List<string>();
            for (IReadOnlyList<string> page = await host.Client.GetSegmentMembersAsync(s.Id, null, 2); page.Count > 0; page = await host.Client.GetSegmentMembersAsync(s.Id, page[^1], 2))
            {
                paged.AddRange(page);
            }

            log.Add("paged " + s.Id + " " + (paged.SequenceEqual(members) ? "same" : "differs: " + string.Join(",", paged)));
        }

        log.Add("journey " + JsonSerializer.Serialize(await host.Client.GetJourneyStatisticsAsync("cart"), Web));
        foreach (var row in await host.Engine.GetMeasurementsAsync(new MeasurementQuery { Limit = 1000 }))
        {
            // Sums are doubles (design notes, "one tall table"): PostgreSQL keeps 16 shards of a row and its readers add them,
            // so the same amounts are added in another grouping and may differ in the last bits: compared to 1e-12, relatively.
            log.Add("row " + JsonSerializer.Serialize(row.Key, Web) + " " + row.Count + " " + row.Sum.ToString("R", CultureInfo.InvariantCulture));
        }

        // Members are listed in profile id order, and profile ids are random: compared as sets.
        return [.. SortTies(Rename(log)).Select(l => l.StartsWith("segment ", StringComparison.Ordinal) && l.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0
            ? l[..(colon + 2)] + string.Join(",", l[(colon + 2)..].Split(',').Order(StringComparer.Ordinal))
            : l)];
    }

    // Messages handed over at one instant go in the order of their outbox keys, which hold random ids: within such a tie
    // the order is not part of the contract, so ties are compared as sets.
    private static List<string> SortTies(List<string> log)
    {
        var result = new List<string>();
        for (var i = 0; i < log.Count;)
        {
            var tick = SentTick(log[i]);
            var j = i + 1;
            while (tick is not null && j < log.Count && SentTick(log[j]) == tick)
            {
                j++;
            }

            result.AddRange(log.Skip(i).Take(j - i).Order(StringComparer.Ordinal));
            i = j;
        }

        return result;
    }

    private static string? SentTick(string line) => line.StartsWith("sent ", StringComparison.Ordinal) ? line.Split(' ')[1] : null;

    // Profile ids (p_ + 32 hex) and other random 32-hex ids become #1, #2… in order of first appearance.
    private static List<string> Rename(List<string> log)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        return [.. log.Select(l => RandomId().Replace(l, m =>
        {
            if (!names.TryGetValue(m.Value, out var name))
            {
                name = "#" + (names.Count + 1).ToString(CultureInfo.InvariantCulture);
                names[m.Value] = name;
            }

            return name;
        }))];
    }

    private static string Describe(TrackResult result) =>
        $"{result.Status} {result.ProfileId} [{string.Join(";", result.Errors)}] [{string.Join(";", result.NotLinked)}] {result.FailureReason} " +
        $"[{string.Join(";", result.SegmentChanges.Select(c => JsonSerializer.Serialize(c, Web)))}]";

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex RandomId();

    private static System.Text.Json.Nodes.JsonNode? Canonical(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o => new System.Text.Json.Nodes.JsonObject(
            o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value)))),
        System.Text.Json.Nodes.JsonArray a => new System.Text.Json.Nodes.JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };

    private static bool Same(string expected, string actual)
    {
        if (expected == actual)
        {
            return true;
        }

        var e = expected.LastIndexOf(' ');
        var a = actual.LastIndexOf(' ');
        return expected.StartsWith("row ", StringComparison.Ordinal) && e > 0 && expected[..e] == (a > 0 ? actual[..a] : null)
            && double.TryParse(expected[(e + 1)..], CultureInfo.InvariantCulture, out var x) && double.TryParse(actual[(a + 1)..], CultureInfo.InvariantCulture, out var y)
            && Math.Abs(x - y) <= 1e-12 * Math.Max(Math.Abs(x), Math.Abs(y));
    }

    /// <summary>The first line where two traces differ, with its neighbours, or null when they are the same.</summary>
    public static string? FirstDifference(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "<none>";
            var a = i < actual.Count ? actual[i] : "<none>";
            if (!Same(e, a))
            {
                var sb = new StringBuilder();
                sb.Append("line ").Append(i).AppendLine(":");
                sb.Append("  in memory: ").AppendLine(e);
                sb.Append("  durable:   ").AppendLine(a);
                return sb.ToString();
            }
        }

        return null;
    }

    private sealed class TimedRecorder(string channel, Func<DateTimeOffset> now, List<string> log) : IChannelTransport
    {
        public string Channel => channel;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var body = message switch
            {
                EmailMessage e => e.To + " | " + e.Subject + " | " + e.TextBody,
                SmsMessage s => s.To + " | " + s.Body,
                _ => message.GetType().Name,
            };
            lock (log)
            {
                log.Add($"sent {now().UtcTicks} {channel} {message.ProfileId} {message.Topic} {body}");
            }

            return ValueTask.FromResult(DeliveryResult.Accepted(null));
        }
    }
}
