using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>One generated event of audit U100.</summary>
/// <param name="Kind">Which kind (see <see cref="AuditU100Scenario.Build"/>).</param>
/// <param name="Variant">Picks the key and values within the kind (few keys, so reports of one key are common).</param>
/// <param name="Minute">Event time in minutes after the start (small, so equal timestamps are common).</param>
/// <param name="Carrier">Which of her identifiers carries it when split: 0 her cookie, 1 her email, 2 her customer id.</param>
/// <param name="ArrivalKey">Sorts the events into their generated arrival order.</param>
/// <param name="Again">When not negative, the event is sent a second time (same id) at this arrival key, carried by <see cref="Carrier"/> + <see cref="Again"/> % 2.</param>
public sealed record U100Event(int Kind, int Variant, int Minute, int Carrier, int ArrivalKey, int Again);

/// <summary>
/// Audit U100: arrival order and merges, round 5, over the state added or re-stored since U90: journey re-entry records
/// with cooldowns keyed on an event property (U97), loyalty and referral entries by key, order facts (written by
/// <c>OrderFactConverter</c>), capped lists written from their last write's pieces (the timeline at a small cap),
/// suppression (hard bounces, soft-bounce runs, complaints), measured conversions per order, returns-only profiles.
/// Her events are carried by her cookie, her email or her customer id; two logins (cookie + email, email + customer id)
/// merge them in a chain three deep at generated arrival positions. Every run ends on a new host over the same store (a
/// restart: what is read comes back from the stored document).
/// </summary>
public static class AuditU100Scenario
{
    public const int Kinds = 13;

    public static readonly Identifier Cookie = Identifier.AnonymousId("cookie-u100");
    public static readonly Identifier Email = Identifier.Email("u100@example.com");
    public static readonly Identifier Customer = Identifier.CustomerId("u100");
    public static readonly Identifier[] All = [Cookie, Email, Customer];

    /// <summary>
    /// The timeline's caps these runs use: small (2, 6), so late events older than its oldest entry are common; 16, so the
    /// list is long enough to be written from its last write's pieces (<c>WrittenJson.MinimumToKeep</c>, session 59).
    /// </summary>
    public static readonly int[] TimelineCaps = [2, 6, 16];

    /// <summary>SplitMix64's finaliser: spreads a generated int into places that replay from the seed.</summary>
    public static ulong Spread(int value, int salt)
    {
        var z = ((ulong)(uint)value << 32 | (uint)salt) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);

    private static readonly string[] SegmentJsons =
    [
        """{"id": "spent100", "name": "x", "rule": {"stat": "totalSpent", "op": "gte", "value": 100}}""",
        """{"id": "orders2", "name": "x", "rule": {"stat": "orderCount", "op": "gte", "value": 2}}""",
        """{"id": "returned50", "name": "x", "rule": {"stat": "returnValue", "op": "gte", "value": 50}}""",
        """{"id": "retlapsed", "name": "x", "rule": {"lastEvent": "order.returned", "op": "moreThanAgo", "value": "PT65M"}}""",
        """{"id": "lapsed", "name": "x", "rule": {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "PT65M"}}""",
        """{"id": "bigorder", "name": "x", "rule": {"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}]}}""",
        """{"id": "bigredeem", "name": "x", "rule": {"event": "loyalty.points_redeemed", "where": [{"property": "points", "op": "gte", "value": 100}]}}""",
        """{"id": "reflapsed", "name": "x", "rule": {"lastEvent": "referral.converted", "op": "moreThanAgo", "value": "PT70M"}}""",
        """{"id": "points100", "name": "x", "rule": {"stat": "loyaltyPoints", "op": "gte", "value": 100}}""",
        """{"id": "offers-ok", "name": "x", "rule": {"reachable": "email", "topic": "offers"}}""",
        """{"id": "email-ok", "name": "x", "rule": {"reachable": "email"}}""",
        """{"id": "carted2", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 2}}""",
        """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
    ];

    private static readonly string[] SegmentIds = [.. SegmentJsons.Select(s => SegmentJson.Parse(s).Value!.Id)];

    // Re-entry per viewed product, once a day (U97): its entry records are what the audit compares.
    private static readonly JourneyDefinition Browse = JourneyRig.Parse("""
        {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
         "entry": {"correlationKey": "product_id", "reEntry": "afterCooldown", "cooldown": "P1D"},
         "steps": [{"id": "w", "type": "delay", "duration": "PT3H"}, {"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
        """);

    /// <summary>Builds one event of the stream (its id is fixed by its index, so a duplicate is the same event).</summary>
    public static CustomerEvent Build(U100Event g, int index, IReadOnlyList<Identifier> who)
    {
        var v = g.Variant;
        int[] amounts = [10, 50, 150];
        string[] currencies = ["EUR", "GBP"];
        string type;
        object? properties = null;
        object? traits = null;
        EventContext? context = null;
        switch (g.Kind)
        {
            case 0:
                // An order or its correction (the id sent again): its total, currency and product may change.
                type = EventTypes.OrderPlaced;
                properties = JsonNode.Parse($$"""{"order_id": "o{{v % 3}}", "total": {{amounts[(v / 3) % 3]}}, "currency": "{{currencies[(v / 9) % 2]}}", "items": [{"product_id": "p{{v % 2}}", "quantity": 1, "price": {{amounts[(v / 3) % 3]}}}]}""");
                break;
            case 1:
                // A return by return_id (o2 is never ordered: a returns-only profile is common), a correction, a cancellation.
                if (v % 5 == 4)
                {
                    type = EventTypes.OrderCancelled;
                    properties = new { order_id = "o" + (v % 3) };
                }
                else
                {
                    type = EventTypes.OrderReturned;
                    properties = JsonNode.Parse($$"""{"order_id": "o{{((v / 2) % 3 == 0 ? 2 : v % 2)}}", "return_id": "r{{v % 2}}", "total": {{new[] { 5, 60, 120 }[(v / 2) % 3]}}, "currency": "{{currencies[(v / 3) % 2]}}"}""");
                }

                break;
            case 2:
                // Loyalty and referrals by key (U93): earned, redeemed, sent, converted.
                (type, properties) = (v % 4) switch
                {
                    0 => (EventTypes.LoyaltyPointsEarned, (object)new { transaction_id = "t" + (v / 4 % 2), points = amounts[(v / 2) % 3] }),
                    1 => (EventTypes.LoyaltyPointsRedeemed, new { transaction_id = "t" + (v / 4 % 2 + 2), points = amounts[(v / 2) % 3] }),
                    2 => (EventTypes.ReferralSent, new { referral_id = "f" + (v / 4 % 2), points = amounts[(v / 2) % 3] }),
                    _ => (EventTypes.ReferralConverted, new { referral_id = "f" + (v / 4 % 2), points = amounts[(v / 2) % 3] }),
                };
                break;
            case 3:
                type = EventTypes.ConsentChanged;
                properties = new { channel = v % 5 == 4 ? "sms" : "email", topic = (v % 3) switch { 0 => null, 1 => "offers", _ => "news" }, granted = v % 2 == 0 };
                break;
            case 4:
                type = v % 4 == 3 ? EventTypes.CartItemRemoved : EventTypes.CartItemAdded;
                properties = v % 4 == 3
                    ? new { product_id = "p" + (v % 3) }
                    : (object)new { product_id = "p" + (v % 3), quantity = 1 + (v % 2), price = amounts[(v / 3) % 3], currency = "EUR" };
                break;
            case 5:
                type = v % 3 == 2 ? EventTypes.WishlistItemRemoved : EventTypes.WishlistItemAdded;
                properties = new { product_id = "p" + (v % 2), name = "W" + (v % 3) };
                break;
            case 6:
                type = "user.updated";
                traits = (v % 4) switch
                {
                    0 => new { tier = "gold" },
                    1 => new { tier = "silver" },
                    2 => (object)new { tier = (string?)null },
                    _ => new { tier = "gold", city = "C" + (v % 3) },
                };
                break;
            case 7:
                // Suppression: soft bounces of distinct messages (three make a run), a hard bounce, a complaint.
                type = v % 6 == 5 ? EventTypes.MessageComplained : EventTypes.MessageBounced;
                properties = (v % 6) switch
                {
                    5 => new { channel = "email", message_id = "c" + (v % 2) },
                    4 => (object)new { channel = "email", address = "U100@Example.com", bounce_type = "hard", message_id = "h" + (v % 2) },
                    _ => new { channel = "email", address = "u100@example.com", bounce_type = "soft", message_id = "sb" + (v % 4) },
                };
                break;
            case 8:
                // The browse journey's trigger: its product is the correlation value of the re-entry cooldown.
                type = EventTypes.ProductViewed;
                properties = new { product_id = "p" + (v % 3) };
                break;
            case 9:
                type = "page.viewed";
                context = new EventContext
                {
                    TimeZone = (v % 3) switch { 0 => "Europe/London", 1 => "Asia/Tokyo", _ => null },
                    Locale = (v % 4) switch { 0 => "en-GB", 1 => "de-DE", 2 => "fr-FR", _ => null },
                };
                break;
            case 10:
                type = EventTypes.PreferencesUpdated;
                properties = (v % 4) switch
                {
                    0 => JsonNode.Parse("""{"preferred_channels": ["sms", "email"]}"""),
                    1 => JsonNode.Parse($$"""{"max_messages": {{1 + (v % 3)}}, "period": "P7D"}"""),
                    2 => JsonNode.Parse("""{"max_messages": null}"""),
                    _ => JsonNode.Parse("""{"preferred_channels": ["email"], "period": "P1D"}"""),
                };
                break;
            case 11:
                // Loyalty without a key: each report counts (the duplicate of one must not).
                type = EventTypes.LoyaltyPointsEarned;
                properties = new { points = 10 + v };
                break;
            default:
                type = EventTypes.NewsletterSubscribed;
                properties = new { channel = "email", topic = v % 2 == 0 ? "news" : "offers" };
                break;
        }

        return new CustomerEvent
        {
            Id = "e" + index.ToString("D2", CultureInfo.InvariantCulture),
            Type = type,
            Timestamp = (Start + TimeSpan.FromMinutes(g.Minute)).ToOffset(TimeSpan.FromMinutes(new[] { 0, 330, -300 }[index % 3])),
            Identifiers = who,
            Channel = ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = context,
        };
    }

    /// <summary>A login linking two of her identifiers (the merges).</summary>
    public static CustomerEvent Link(string id, int minute, params Identifier[] who) => new()
    {
        Id = id,
        Type = "user.logged_in",
        Timestamp = Start + TimeSpan.FromMinutes(minute),
        Identifiers = who,
        Channel = ChannelNames.Web,
    };

    /// <summary>What is fed, in order: the events of the stream (and their duplicates) and the two logins.</summary>
    /// <param name="Events">The events in arrival order.</param>
    /// <param name="PassingBefore">Indexes of events before which the clock moves 15 minutes (the rest of <see cref="Passing"/> after the last).</param>
    public sealed record Feed(IReadOnlyList<CustomerEvent> Events, IReadOnlyList<int>? PassingBefore = null);

    /// <summary>How far the clock moves in every run, between events or after them, before she is read.</summary>
    public static readonly TimeSpan Passing = TimeSpan.FromMinutes(30);

    /// <summary>One identity from the start (every event carries all three identifiers), in event-time order: the reference.</summary>
    public static Feed OneIdentityInTimeOrder(U100Event[] events, int link1Minute, int link2Minute)
    {
        var built = events.Select((e, i) => Build(e, i, All))
            .Append(Link("login-1", link1Minute, All))
            .Append(Link("login-2", link2Minute, All));
        return new Feed([.. built.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// Split over her three identifiers, with the duplicates, and the logins (cookie + email, then or before email + customer
    /// id) at the arrival keys given, in arrival-key order (or its reverse).
    /// </summary>
    public static Feed Split(U100Event[] events, int link1Minute, int link1Arrival, int link2Minute, int link2Arrival, bool reverse = false, bool passing = false)
    {
        var items = new List<(long Key, CustomerEvent Event)>();
        for (var i = 0; i < events.Length; i++)
        {
            var g = events[i];
            items.Add((g.ArrivalKey * 4L, Build(g, i, [All[g.Carrier]])));
            if (g.Again >= 0)
            {
                items.Add((g.Again * 4L + 1, Build(g, i, [All[(g.Carrier + (g.Again % 2)) % 3]])));
            }
        }

        items.Add((link1Arrival * 4L + 2, Link("login-1", link1Minute, Cookie, Email)));
        items.Add((link2Arrival * 4L + 3, Link("login-2", link2Minute, Email, Customer)));
        var ordered = items.OrderBy(x => x.Key).Select(x => x.Event).ToList();
        if (reverse)
        {
            ordered = [.. items.OrderBy(x => x.Event.Timestamp).ThenBy(x => x.Event.Id, StringComparer.Ordinal).ThenBy(x => x.Key).Select(x => x.Event).Reverse()];
        }

        // The clock moves 15 minutes twice at places spread from the logins' draws (SplitMix64's finaliser).
        int At(int salt) => (int)(Spread(link1Arrival ^ link2Minute, salt) % (ulong)(ordered.Count + 1));
        return new Feed(ordered, passing ? [At(1), At(2)] : null);
    }

    /// <summary>One identity, arrival-key order with the duplicates (no merge).</summary>
    public static Feed OneIdentityAsArrived(U100Event[] events)
    {
        var items = new List<(long Key, CustomerEvent Event)>();
        for (var i = 0; i < events.Length; i++)
        {
            var g = events[i];
            items.Add((g.ArrivalKey * 2L, Build(g, i, All)));
            if (g.Again >= 0)
            {
                items.Add((g.Again * 2L + 1, Build(g, i, All)));
            }
        }

        items.Add((-2, Link("login-1", 0, All)));
        items.Add((-1, Link("login-2", 0, All)));
        return new Feed([.. items.OrderBy(x => x.Key).Select(x => x.Event)]);
    }

    /// <summary>What a user reads, one string per part (so a failure names the part).</summary>
    public sealed record Read(string Export, string Answers, string Measured, string Journey, string Lifted = "")
    {
        public string ExportTimeless { get; init; } = Export;

        public string JourneyTimeless { get; init; } = Journey;

        /// <summary>
        /// The same, without the journeys' instants (when the clock moved between events, an instance starts when its
        /// trigger is processed: U97's documented choice, cooldowns counted from then).
        /// </summary>
        public static void SameButJourneyInstants(Read expected, Read actual, string expectedName, string actualName)
        {
            static Read Strip(Read r) => new(r.ExportTimeless, r.Answers, r.Measured, r.JourneyTimeless, r.Lifted);
            Same(Strip(expected), Strip(actual), expectedName, actualName);
        }

        public static void Same(Read expected, Read actual, string expectedName, string actualName)
        {
            Assert.True(expected.Answers == actual.Answers, $"answers, {expectedName} vs {actualName}:\n{Diff(expected.Answers, actual.Answers)}");
            Assert.True(expected.Measured == actual.Measured, $"measured, {expectedName} vs {actualName}:\n{expected.Measured}\n{actual.Measured}");
            Assert.True(expected.Journey == actual.Journey, $"journey entries, {expectedName} vs {actualName}:\n{expected.Journey}\n{actual.Journey}");
            Assert.True(expected.Lifted == actual.Lifted, $"after lifting her email, {expectedName} vs {actualName}:\n{Diff(expected.Lifted, actual.Lifted)}");
            Assert.True(expected.Export == actual.Export, $"export, {expectedName} vs {actualName}:\n{Diff(expected.Export, actual.Export)}");
        }

        private static string Diff(string a, string b)
        {
            var at = 0;
            while (at < Math.Min(a.Length, b.Length) && a[at] == b[at])
            {
                at++;
            }

            var from = Math.Max(0, at - 300);
            return $"at {at}\nexpected: …{a[from..Math.Min(a.Length, at + 300)]}\nactual:   …{b[from..Math.Min(b.Length, at + 300)]}";
        }
    }

    /// <summary>
    /// Tracks <paramref name="feed"/> one event at a time on a host over <paramref name="store"/> (a new in-memory store when
    /// null), then reads her live; then starts a second host over the same store (a restart) and reads her again: both must
    /// agree. Returns the live read.
    /// </summary>
    public static async Task<Read> RunAsync(Feed feed, int timelineCap, IOmnichannelStore? store = null, bool batch = false)
    {
        void Configure(OmnichannelOptions o) => o.TimelineLength = timelineCap;
        var owned = store is null;
        store ??= new InMemoryOmnichannelStore();
        try
        {
            Read live;
            Read afterLift;
            var passed = TimeSpan.Zero;
            await using (var rig = JourneyRig.Create([Browse], [.. SegmentJsons.Select(s => SegmentJson.Parse(s).Value!)], Configure, start: Start + TimeSpan.FromHours(1), store: store))
            {
                if (batch)
                {
                    foreach (var r in await rig.Host.Client.TrackBatchAsync(feed.Events))
                    {
                        Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
                    }
                }
                else
                {
                    for (var i = 0; i < feed.Events.Count; i++)
                    {
                        foreach (var _ in feed.PassingBefore?.Where(x => x == i) ?? [])
                        {
                            await rig.Host.AdvanceAsync(TimeSpan.FromMinutes(15));
                            passed += TimeSpan.FromMinutes(15);
                        }

                        var r = await rig.Host.TrackAsync(feed.Events[i]);
                        Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
                    }
                }

                await rig.Host.AdvanceAsync(Passing - passed + TimeSpan.FromMinutes(5));
                live = await ReadAsync(rig.Host);

                // The host lifts her email's suppression (U98's lift marks): read again; the restart must read this.
                var lifted = await rig.Host.Client.LiftErasureAsync(Email);
                afterLift = await ReadAsync(rig.Host);
                live = live with { Lifted = $"lift {lifted}\n{afterLift.Answers}\n{afterLift.ExportTimeless}" };
            }

            // A restart on the same store: nothing hot, her document read back.
            await using (var again = JourneyRig.Create([Browse], [.. SegmentJsons.Select(s => SegmentJson.Parse(s).Value!)], Configure, start: Start + TimeSpan.FromHours(1) + Passing + TimeSpan.FromMinutes(5), store: store))
            {
                var reloaded = await ReadAsync(again.Host);
                Read.Same(afterLift, reloaded, "live, lifted", "after a restart");
            }

            return live;
        }
        finally
        {
            if (owned && store is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
        }
    }


    private static async Task<Read> ReadAsync(OmnichannelTestHost host)
    {
        var answers = new List<string>();
        var profile = await host.Client.GetProfileAsync(Customer) ?? await host.Client.GetProfileAsync(Cookie);
        foreach (var id in SegmentIds)
        {
            var members = await host.Client.GetSegmentMembersAsync(id);
            answers.Add($"{id}={profile?.IsInSegment(id) ?? false}/{members.Count}");
        }

        if (profile is not null)
        {
            foreach (var channel in new[] { ChannelNames.Email, ChannelNames.Sms })
            {
                foreach (var topic in new string?[] { null, "offers", "news" })
                {
                    var c = profile.GetConsent(channel, topic);
                    answers.Add($"{channel}/{topic}={c?.Granted}@{c?.At.UtcDateTime:O}");
                }
            }

            var s = profile.Statistics;
            answers.Add(FormattableString.Invariant($"stats orders={s.OrderCount} spent={s.TotalSpent} returns={s.ReturnCount} returned={s.ReturnValue} points={s.LoyaltyPoints} last={s.LastOrderAt?.UtcDateTime:O}"));
        }

        answers.Add($"suppressed email={await host.Client.IsSuppressedAsync(Email)}");

        var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        var measured = FormattableString.Invariant($"measured {rows.Sum(r => r.Count)} {Math.Round(rows.Sum(r => r.Sum), 6) + 0.0}");

        var export = await host.Client.ExportProfileAsync(Customer) ?? await host.Client.ExportProfileAsync(Cookie);
        if (export is null)
        {
            return new Read("none", string.Join("\n", answers), measured, "");
        }

        var (text, journey) = Comparables(export.DeepClone().AsObject(), instants: true);
        var (timeless, journeyTimeless) = Comparables(export, instants: false);
        return new Read(text, string.Join("\n", answers), measured, journey) { ExportTimeless = timeless, JourneyTimeless = journeyTimeless };
    }

    private static (string Export, string Journey) Comparables(JsonObject export, bool instants)
    {
        var journey = JourneyEntries(export, instants);
        export["journeys"] = Unnumbered(export["journeys"], instants);
        if (export["internal"] is JsonObject inner)
        {
            foreach (var key in inner.Select(kv => kv.Key).Where(k => k.Contains("ourney", StringComparison.Ordinal)).ToList())
            {
                inner[key] = Unnumbered(inner[key], instants);
            }
        }

        // The rules' history is compared through the segment answers it gives (a restored entry has no properties). The
        // engine's own timeline entries (segment transitions, journey steps) are processing history.
        export["internal"]?.AsObject().Remove("ruleHistory");
        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray()
            .Where(t => !IsEngineEntry(t!["type"]!.GetValue<string>(), t["channel"]!.GetValue<string>()))
            .Select(t => t!.DeepClone())
            .OrderBy(t => t!["timestamp"]!.GetValue<DateTimeOffset>())
            .ThenBy(t => t!["eventId"]!.GetValue<string>(), StringComparer.Ordinal)]);
        export["identifiers"] = new JsonArray();
        return (Regex.Replace(Comparable(export), "p_[0-9a-f]{32}", "p_…"), journey);
    }

    /// <summary>The engine's own timeline entries, as the SDK tells them apart (audit U100): processing history.</summary>
    public static bool IsEngineEntry(string type, string channel) =>
        type is EventTypes.SegmentEntered or EventTypes.SegmentExited or "message.queued"
        || type.StartsWith("journey.", StringComparison.Ordinal)
        || (type == EventTypes.MessageSkipped && channel == "system");

    // The export without what depends on processing rather than on the events (as ArrivalOrderProperties.Comparable).
    private static string Comparable(JsonObject export)
    {
        export.Remove("id");
        export.Remove("createdAt");
        export.Remove("merges");
        export.Remove("conflicts");
        export["internal"]?.AsObject().Remove("orderConversions");
        export["segments"] = string.Join(",", export["segments"]!.AsArray().Select(m => m!["segmentId"]?.GetValue<string>() ?? m.ToJsonString()).Order(StringComparer.Ordinal));
        return Canonical(export)!.ToJsonString();
    }

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Canonical(kv.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };

    // Journey state without its processing bookkeeping (as audit U68): which instance number, which trigger event (of
    // two for one correlation value, the first to arrive starts it), the instance counter; arrays compared as sets.
    // Without instants (instants: false), also without when instances started and wake and when entries started or ended.
    private static JsonNode? Unnumbered(JsonNode? node, bool instants) => node switch
    {
        JsonObject o => new JsonObject(o
            .Where(kv => kv.Key is not ("id" or "instanceId" or "sequence" or "originProfileId" or "triggerEventId" or "nextInstance" or "eventStartedAt" or "counters"))
            .Where(kv => instants || kv.Key is not ("startedAt" or "wakeAt" or "firstStartedAt" or "lastStartedAt" or "lastEndedAt"))
            .Select(kv => KeyValuePair.Create(kv.Key, Unnumbered(kv.Value, instants)))),
        JsonArray a => new JsonArray([.. a.Select(x => Unnumbered(x, instants)).Select(x => Canonical(x)).OrderBy(x => x?.ToJsonString(), StringComparer.Ordinal)]),
        null => null,
        _ => node.DeepClone(),
    };

    // The journey's entry records per correlation value (which values are in their cooldown), read from the export.
    private static string JourneyEntries(JsonObject export, bool instants) =>
        Unnumbered(export["journeys"], instants)?.ToJsonString() + " " + string.Join(" ", (export["internal"] as JsonObject)?.Where(kv => kv.Key.Contains("ourney", StringComparison.Ordinal)).Select(kv => kv.Key + "=" + Unnumbered(kv.Value, instants)?.ToJsonString()) ?? []);
}

/// <summary>FsCheck generator of audit U100, shared by the core and SQLite properties: a stream of her events, some sent twice, and two logins.</summary>
public static class U100Streams
{
    /// <summary>Two logins (minute and arrival position each) and up to <paramref name="most"/> events.</summary>
    public static Gen<(int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events)> Of(int most) =>
        from l1Minute in Gen.Choose(0, 40)
        from l1Arrival in Gen.Choose(0, 1_000_000)
        from l2Minute in Gen.Choose(0, 40)
        from l2Arrival in Gen.Choose(0, 1_000_000)
        from events in Gen.ListOf(
                from kind in Gen.Choose(0, AuditU100Scenario.Kinds - 1)
                from variant in Gen.Choose(0, 17)
                from minute in Gen.Choose(0, 40)
                from carrier in Gen.Choose(0, 2)
                from arrival in Gen.Choose(0, 1_000_000)
                from again in Gen.Frequency((4, Gen.Constant(-1)), (1, Gen.Choose(0, 1_000_000)))
                select new U100Event(kind, variant, minute, carrier, arrival, again))
            .Select(l => l.Take(most).ToArray())
        select (l1Minute, l1Arrival, l2Minute, l2Arrival, events);
}
