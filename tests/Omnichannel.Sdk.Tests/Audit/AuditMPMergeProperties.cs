using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Trust;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated event of audit MP: its kind, a value picker, its time, which identifier it is tracked under.</summary>
/// <param name="Kind">Which kind of event (see <see cref="AuditMPMergeProperties.Build"/>).</param>
/// <param name="Variant">Picks values within the kind.</param>
/// <param name="Minute">Event time in minutes after the start (small, so equal timestamps are common).</param>
/// <param name="Part">Which of her identifiers carries it when split: 0 cookie, 1 email, 2 customer id.</param>
/// <param name="ArrivalKey">Sorts the events into their arrival order.</param>
public sealed record MergeEvent(int Kind, int Variant, int Minute, int Part, int ArrivalKey);

/// <summary>FsCheck generators for audit MP: the kinds of state <see cref="PersonEventArbitrary"/> leaves out.</summary>
public static class MergeEventArbitrary
{
    /// <summary>Kinds in <see cref="AuditMPMergeProperties.Build"/>.</summary>
    public const int Kinds = 18;

    public static Arbitrary<(int LinkA, int LinkB, MergeEvent[] Events)> Streams() =>
        (from linkA in Gen.Choose(0, 40)
         from linkB in Gen.Choose(0, 40)
         from events in Gen.ListOf(
                 from kind in Gen.Choose(0, Kinds - 1)
                 from variant in Gen.Choose(0, 11)
                 from minute in Gen.Choose(0, 30)
                 from part in Gen.Choose(0, 2)
                 from arrival in Gen.Choose(0, 1_000_000)
                 select new MergeEvent(kind, variant, minute, part, arrival))
             .Select(l => l.Take(25).ToArray())
         select (linkA, linkB, events))
        .ToArbitrary();
}

/// <summary>
/// Audit MP: "merges keep everything she has" and "the same state whatever order events arrive in", for the kinds of
/// state the generator of <see cref="ArrivalOrderProperties"/> does not make: cart lines with prices and cart ids,
/// partial removals and orders that empty the cart, returns with return ids, cancellations with reasons, consent per
/// channel and per topic on sms and push, SMS STOP/START replies, every message outcome, devices, nested and array
/// traits with unsets, referrals, support tickets, shipped and delivered orders, journey entries and their waits, and
/// segments over all of it. Profiles are compared through the public export, less what <see
/// cref="ArrivalOrderProperties.Comparable"/> documents as processing history (profile id, creation time, merge and
/// conflict records, segment transitions, order-conversion bookkeeping).
/// </summary>
public sealed class AuditMPMergeProperties
{
    private static readonly Identifier[] Person =
    [
        Identifier.AnonymousId("cookie-mp"),
        Identifier.Email("mp@example.com"),
        Identifier.CustomerId("c-mp"),
    ];

    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromDays(1);

    /// <summary>1. Split between her cookie, email and customer id and linked anywhere = one identifier set all along.</summary>
    [Property(Arbitrary = [typeof(MergeEventArbitrary)], MaxTest = 100)]
    public void SplitThenLinked_EqualsOnePersonAllAlong((int LinkA, int LinkB, MergeEvent[] Events) stream) =>
        SplitThenLinked(stream.LinkA, stream.LinkB, stream.Events).GetAwaiter().GetResult();

    /// <summary>2. The same events in any arrival order (one identifier set) give the time-order profile.</summary>
    [Property(Arbitrary = [typeof(MergeEventArbitrary)], MaxTest = 100)]
    public void AnyArrivalOrder_GivesTheTimeOrderProfile((int LinkA, int LinkB, MergeEvent[] Events) stream) =>
        ArrivalOrder(stream.Events).GetAwaiter().GetResult();

    /// <summary>3. Linking A into B or B into A (which profile was made first, which identifier the link names first).</summary>
    [Property(Arbitrary = [typeof(MergeEventArbitrary)], MaxTest = 100)]
    public void MergeDirection_DoesNotMatter((int LinkA, int LinkB, MergeEvent[] Events) stream) =>
        Symmetry(stream.Events).GetAwaiter().GetResult();

    [Fact]
    public async Task AHardBounceNamingHerAddress_UnderHerCustomerId_StillSuppressesIt_AfterTheMerge()
    {
        // Already right: the bounce lands on a profile that does not know her email yet; it names the address, so the
        // suppression is kept and carried into the merged profile, as when her email was on the event.
        await SplitThenLinked(0, 0, [new MergeEvent(17, 1, 5, 2, 1), new MergeEvent(8, 0, 3, 0, 2)]);
        await using var host = Host();
        await host.TrackAsync(Build(new MergeEvent(17, 1, 5, 2, 1), 0) with { Identifiers = [Person[2]] });
        await host.TrackAsync(Link("link-1", 31, Person[1], Person[2]));
        Assert.Single((await host.Client.ExportProfileAsync(Person[1]))!["suppressedAddresses"]!.AsArray());
    }

    internal static async Task SplitThenLinked(int linkA, int linkB, MergeEvent[] events)
    {
        var built = Arriving(events);
        var links = new[]
        {
            (At: linkA % (built.Count + 1), Event: Link("link-1", 31, Person[0], Person[1])),
            (At: linkB % (built.Count + 1), Event: Link("link-2", 32, Person[1], Person[2])),
        };

        await using var together = Host();
        await using var split = Host();
        for (var i = 0; i <= built.Count; i++)
        {
            foreach (var (_, link) in links.Where(l => l.At == i))
            {
                await together.TrackAsync(link with { Identifiers = Person });
                await split.TrackAsync(link);
            }

            if (i < built.Count)
            {
                await together.TrackAsync(built[i].Event with { Identifiers = Person });
                // A hard bounce without `address` is about the address the profile it lands on sends to (EventTypes.MessageBounced
                // names `address`; OutcomeProperties.BouncedAddress falls back to the profile's own): on a profile that has
                // no email yet there is none to suppress, and the merge cannot know which address it was. Such a bounce is
                // tracked under her email here (audit MP, "Left alone").
                var part = built[i].Spec is { Kind: 17, Variant: var bv } && bv % 3 == 0 ? 1 : built[i].Spec.Part;
                await split.TrackAsync(built[i].Event with { Identifiers = [Person[part]] });
            }
        }

        await AssertSame(together, split, "one identifier set all along", "split, then linked");
    }

    internal static async Task ArrivalOrder(MergeEvent[] events)
    {
        var built = Arriving(events);
        await using var timeOrder = Host();
        await using var arrival = Host();
        foreach (var (_, e) in built.OrderBy(b => b.Event.Timestamp).ThenBy(b => b.Event.Id, StringComparer.Ordinal))
        {
            await timeOrder.TrackAsync(e with { Identifiers = Person });
        }

        foreach (var r in await arrival.Client.TrackBatchAsync([.. built.Select(b => b.Event with { Identifiers = Person })]))
        {
            Assert.True(r.IsAcknowledged, $"{r.EventId}: {r.Status} {string.Join("; ", r.Errors)}");
        }

        await AssertSame(timeOrder, arrival, "in time order", "as arrived");
    }

    internal static async Task Symmetry(MergeEvent[] events)
    {
        // Three profiles (cookie, email, customer id), made in one order and linked one way, or made in the reverse order
        // and linked the other way. (An addressless hard bounce goes with the email, as in SplitThenLinked.)
        var built = Arriving(events);
        List<CustomerEvent> Under(int part) => [.. built
            .Where(b => (b.Spec is { Kind: 17, Variant: var bv } && bv % 3 == 0 ? 1 : b.Spec.Part) == part)
            .Select(b => b.Event with { Identifiers = [Person[part]] })];

        await using var forward = Host();
        await using var backward = Host();
        foreach (var e in Under(0).Concat(Under(1)).Concat(Under(2)))
        {
            await forward.TrackAsync(e);
        }

        foreach (var e in Under(2).Concat(Under(1)).Concat(Under(0)))
        {
            await backward.TrackAsync(e);
        }

        await forward.TrackAsync(Link("link-1", 31, Person[0], Person[1]));
        await forward.TrackAsync(Link("link-2", 32, Person[1], Person[2]));
        await backward.TrackAsync(Link("link-1", 31, Person[2], Person[1]));
        await backward.TrackAsync(Link("link-2", 32, Person[1], Person[0]));
        await AssertSame(forward, backward, "cookie's profile first, linked cookie-email-customer", "customer's profile first, linked customer-email-cookie");
    }

    private static List<(MergeEvent Spec, CustomerEvent Event)> Arriving(MergeEvent[] events) =>
        [.. events.Select((e, i) => (Spec: e, Event: Build(e, i))).OrderBy(b => b.Spec.ArrivalKey).ThenBy(b => b.Event.Id, StringComparer.Ordinal)];

    private static CustomerEvent Link(string id, int minute, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = "user.logged_in",
        Timestamp = Start + TimeSpan.FromMinutes(minute),
        Identifiers = identifiers,
        Channel = ChannelNames.Web,
    };

    private static async Task AssertSame(OmnichannelTestHost expectedHost, OmnichannelTestHost actualHost, string expectedName, string actualName)
    {
        var expected = Comparable(await expectedHost.Client.ExportProfileAsync(Person[1]));
        var actual = Comparable(await actualHost.Client.ExportProfileAsync(Person[1]));
        if (expected != actual)
        {
            var at = 0;
            while (at < Math.Min(expected.Length, actual.Length) && expected[at] == actual[at])
            {
                at++;
            }

            var from = Math.Max(0, at - 400);
            Assert.Fail($"first difference at {at}\n{expectedName}:\n…{expected[from..Math.Min(expected.Length, at + 400)]}\n{actualName}:\n…{actual[from..Math.Min(actual.Length, at + 400)]}");
        }
    }

    // The profile id is processing, not state (ArrivalOrderProperties removes it): a journey instance names the profile it
    // started on, and the journey's timeline entries carry it in their ids (so two entries of one processing instant
    // are ordered by it). Instance ids are allocated by a counter that a merge moves on (design notes, "Events and the
    // engine": instances are renamed when ids collide), so the counter is not compared either.
    private static string Comparable(JsonObject? export)
    {
        if (export is null)
        {
            return "null";
        }

        static string Mask(string s) => Regex.Replace(s, "p_[0-9a-f]{32}", "p_…");
        (export["internal"]?["journeyData"] as JsonObject)?.Remove("nextInstance");

        // An event-triggered journey starts when its trigger is processed (design notes, "Journeys (execution)": "What
        // already went out before a late event arrived stays sent"): which of two triggers started the one instance is
        // arrival history; the instance itself (journey, step, wake-up) is compared.
        // Instances that started on two profiles before they met both ran; the merge ends the later with reason "merged"
        // (design notes, "Events and the engine": "instances (renamed when ids collide; the journey's entry rules then end
        // the later ones with reason `merged`)"), and a second trigger on one profile is refused instead. The counters
        // and the journey's timeline entries record that history; what runs now is compared.
        (export["internal"]?["journeyData"] as JsonObject)?.Remove("counters");
        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray().Where(t => t!["channel"]!.GetValue<string>() != "journey").Select(t => t!.DeepClone())]);
        foreach (var instance in export["internal"]?["journeyData"]?["instances"]?.AsArray() ?? [])
        {
            instance!.AsObject().Remove("triggerEventId");
            instance.AsObject().Remove("eventStartedAt");
        }

        export["timeline"] = new JsonArray([.. export["timeline"]!.AsArray()
            .Select(t => JsonNode.Parse(Mask(t!.ToJsonString())))
            .OrderBy(t => t!["timestamp"]!.GetValue<DateTimeOffset>())
            .ThenBy(t => t!["eventId"]!.GetValue<string>(), StringComparer.Ordinal)]);
        return Mask(ArrivalOrderProperties.Comparable(export));
    }

    private static OmnichannelTestHost Host() => OmnichannelTestHost.Create(o =>
    {
        o.Partitions = 2;
        foreach (var json in new[]
        {
            """{"id": "sms-ok", "name": "x", "rule": {"reachable": "sms", "topic": "offers"}}""",
            """{"id": "push-ok", "name": "x", "rule": {"reachable": "push"}}""",
            """{"id": "returners", "name": "x", "rule": {"event": "order.returned", "count": {"op": "gte", "value": 1}, "within": "P7D"}}""",
            """{"id": "leeds", "name": "x", "rule": {"trait": "home.address.city", "op": "eq", "value": "Leeds"}}""",
            """{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""",
            """{"id": "clickers", "name": "x", "rule": {"event": "message.clicked", "count": {"op": "gte", "value": 1}, "within": "P7D"}}""",
        })
        {
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse(json).Value!);
        }

        o.Journeys.Add(Journey.Define("welcome", "Welcome")
            .TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(s => s.Delay("wait", "PT6H").Send("mail", [ChannelNames.Email], "welcome", null, MessageClass.Transactional))
            .Build());
    });

    internal static CustomerEvent Build(MergeEvent s, int index)
    {
        string[] products = ["sku-1", "sku-2", "sku-9"];
        string[] outcomes = [EventTypes.MessageSent, EventTypes.MessageDelivered, EventTypes.MessageOpened, EventTypes.MessageClicked, EventTypes.MessageFailed, EventTypes.MessageSkipped];
        var v = s.Variant;
        EventContext? context = null;
        object? traits = null;
        object? properties = null;
        string type;
        switch (s.Kind)
        {
            case 0:
                type = EventTypes.CartItemAdded;
                properties = new { product_id = products[v % 3], quantity = 1 + (v % 4), price = 5 + v, currency = v % 2 == 0 ? "GBP" : "EUR", cart_id = "cart-" + (v % 2), name = "P" + v };
                break;
            case 1:
                type = EventTypes.CartItemRemoved;
                properties = new { product_id = products[v % 3], quantity = 1 + (v % 2) };
                break;
            case 2:
                type = EventTypes.OrderPlaced;
                properties = new { order_id = "mo" + (v % 3), total = 20 + v, currency = "GBP", items = 1 + (v % 3) };
                break;
            case 3:
                type = EventTypes.OrderReturned;
                properties = new { order_id = "mo" + (v % 3), return_id = "r" + (v % 4), total = 1 + v, currency = "GBP" };
                break;
            case 4:
                type = EventTypes.OrderCancelled;
                properties = new { order_id = "mo" + (v % 3), reason = v % 2 == 0 ? "late" : "changed mind" };
                break;
            case 5:
                type = EventTypes.ConsentChanged;
                properties = (v % 3) switch
                {
                    0 => new { channel = "sms", topic = "offers", granted = v % 2 == 0 },
                    1 => (object)new { channel = "push", granted = v % 2 == 0 },
                    _ => new { channel = "sms", granted = v % 2 == 0 },
                };
                break;
            case 6:
                type = v % 2 == 0 ? EventTypes.NewsletterUnsubscribed : EventTypes.NewsletterSubscribed;
                properties = new { channel = "sms", topic = "offers" };
                break;
            case 7:
                type = EventTypes.MessageReplied;
                properties = new { channel = "sms", text = (v % 3) switch { 0 => "STOP", 1 => "START", _ => "HELP" }, message_id = "sms-" + (v % 4) };
                break;
            case 8:
                type = outcomes[v % outcomes.Length];
                // One message is on one channel: its id says which.
                properties = v < 6 ? new { channel = "email", message_id = "email-" + (v % 3) } : (object)new { channel = "sms", message_id = "sms-" + (v % 3), reason = "quiet hours", url = "https://x.io/p" };
                break;
            case 9:
                type = EventTypes.MessageUnsubscribed;
                properties = new { channel = v % 2 == 0 ? "sms" : "push", topic = v % 3 == 0 ? null : "offers", message_id = (v % 2 == 0 ? "sms-" : "push-") + (v % 4) };
                break;
            case 10:
                type = "page.viewed";
                context = new EventContext
                {
                    DeviceType = v % 2 == 0 ? "mobile" : "desktop",
                    Os = v % 3 == 0 ? "iOS" : "Windows",
                    TimeZone = v % 4 == 0 ? "Asia/Kathmandu" : "Europe/Paris",
                    Locale = v % 5 == 0 ? "de-DE" : "en-US",
                };
                break;
            case 11:
                type = "user.updated";
                traits = (v % 6) switch
                {
                    0 => new { home = new { address = new { city = "Leeds", zip = "LS1" } } },
                    1 => new { home = new { address = new { city = "York" } } },
                    2 => (object)new { home = new { address = (string?)null } },
                    3 => new { home = (string?)null },
                    4 => new { tags = new[] { "a", "b" }, score = 1.5 + v, vip = v % 2 == 0 },
                    _ => new { tags = (string?)null, score = (double?)null },
                };
                break;
            case 12:
                type = (v % 4) switch { 0 => EventTypes.ReferralSent, 1 => EventTypes.ReferralConverted, 2 => EventTypes.SupportTicketOpened, _ => EventTypes.SupportTicketResolved };
                properties = new { referral_code = "ref" + v, ticket_id = "t" + (v % 2), subject = "help" };
                break;
            case 13:
                type = (v % 4) switch { 0 => EventTypes.OrderShipped, 1 => EventTypes.OrderDelivered, 2 => EventTypes.ProductViewed, _ => EventTypes.CheckoutStarted };
                properties = new { order_id = "mo" + (v % 3), product_id = products[v % 3], total = 3 + v, currency = "GBP" };
                break;
            case 14:
                type = "user.signed_up";
                break;
            case 15:
                type = EventTypes.PreferencesUpdated;
                properties = (v % 3) switch
                {
                    0 => new { preferred_channels = new[] { "sms", "email" } },
                    1 => (object)new { preferred_channels = new[] { "push" }, max_messages = 2 + v },
                    _ => new { period = "P14D" },
                };
                break;
            case 16:
                type = v % 2 == 0 ? EventTypes.WishlistItemAdded : EventTypes.WishlistItemRemoved;
                properties = new { product_id = products[v % 3], name = "W" + v };
                break;
            default:
                type = EventTypes.MessageBounced;
                // Without an address the bounce is about the address her profile sends to (when the message is known).
                properties = v % 3 == 0
                    ? new { channel = "email", bounce_type = "hard", message_id = "email-" + (v % 3) }
                    : (object)new { channel = "email", address = "mp@example.com", bounce_type = v % 2 == 0 ? "soft" : "hard", message_id = "email-" + (v % 4) };
                break;
        }

        return new CustomerEvent
        {
            Id = $"e-{index:D3}",
            Type = type,
            Timestamp = (Start + TimeSpan.FromMinutes(s.Minute)).ToOffset(TimeSpan.FromMinutes(new[] { 0, 345, -180 }[index % 3])),
            Identifiers = [Person[0]],
            Channel = index % 4 == 0 ? ChannelNames.App : index % 4 == 1 ? "store" : ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = context,
        };
    }
}
