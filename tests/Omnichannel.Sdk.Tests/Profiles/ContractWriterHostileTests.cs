using System.Text;
using System.Text.Json;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 64 review: hostile but accepted input (odd JSON shapes in traits and properties, every escape class, extreme
/// and scaled numbers, events of every kind) must leave a stored document that is byte for byte what the serializer
/// writes for the profile read back, and the contract writer must not throw where the serializer would not.
/// </summary>
public sealed class ContractWriterHostileTests
{
    private static readonly Identifier[] Person = [Identifier.CustomerId("c-7"), Identifier.Email("zoë@example.com"), Identifier.AnonymousId("ck\u2028<&>")];

    private static JsonElement J(string json) => JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 }).RootElement.Clone();

    private static string Deep(int depth, bool arrays) =>
        arrays ? new string('[', depth) + "1.000" + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "-0" + new string('}', depth);

    private const string Escapes = "\\\"\\\\\\/\\n\\r\\t<>&'+\\u2028\\u2029é日本😺\\ud83d\\ude3a";

    private const string KeyEscapes = "\\\"\\\\\\/<>&'+\\u2028\\u2029é日本😺 ";

    internal static IEnumerable<(string Type, string? Properties, string? Traits)> Hostile()
    {
        var longText = new string('x', 20_000) + "\\u0001";
        yield return ("user.updated", null, $$"""{"":"", "{{KeyEscapes}}":"{{Escapes}}", "n1":1.000, "n2":-0, "n3":1e308, "n4":-1E-320, "n5":123456789012345678901234567890.12345678901234567890, "n6":0.00, "big":{{new string('9', 400)}}, "t":true, "f":false, "nul":null, "e":{}, "a":[], "long":"{{longText}}"}""");
        yield return ("user.updated", null, $$"""{"deepObj":{{Deep(30, false)}}, "deepArr":{{Deep(30, true)}}, "mixed":[{"":[null,{"k":"\u00ff"}]},"",0.1e-7]}""");
        yield return ("user.updated", null, """{"dup":1,"dup":"two","dup":{"x":3},"gone":null,"z":-0.0,"e":1E+2,"neg":-1.10}""");
        yield return ("user.updated", null, """{"tier":"gold","timeZone":"Europe/London","locale":"en-GB","email":"ZOË@EXAMPLE.COM"}""");
        yield return ("page.viewed", """{"url":"https://x/?a=<b>&c='d'","title":"\u2028\u2029"}""", null);
        yield return ("page.viewed", """{"url":"a","n":1.000,"m":-0,"deep":{"x":{"x":[{"x":{}}]}},"deep2":null}""", null);
        yield return (EventTypes.ProductViewed, """{"product_id":"sku<\u00e9>","price":1e2,"name":"😺"}""", null);
        yield return (EventTypes.ProductSearched, """{"query":"\"'<>&"}""", null);
        yield return (EventTypes.CartItemAdded, """{"product_id":"sku\"2","quantity":3,"price":-0.000,"name":"\ud83d\ude3a\u0007"}""", null);
        yield return (EventTypes.CartItemAdded, """{"product_id":"sku\"2","quantity":2,"price":1.000,"name":"</script>"}""", null);
        yield return (EventTypes.CartItemRemoved, """{"product_id":"sku\"2","quantity":1}""", null);
        yield return (EventTypes.CartViewed, "{}", null);
        yield return (EventTypes.CheckoutStarted, """{"total":0.00,"currency":"GBP"}""", null);
        yield return (EventTypes.OrderPlaced, """{"order_id":"o\u2028<1>","total":999999999999999.9999999999999,"currency":"GBP","items":[{"product_id":"sku\"2","quantity":1,"price":1.10}]}""", null);
        yield return (EventTypes.OrderPlaced, """{"order_id":"o-2","total":0.000,"currency":"EUR"}""", null);
        yield return (EventTypes.OrderPlaced, """{"order_id":"o-3","total":1.2345678901234567890123456789,"currency":"gbp","discount":-0.0}""", null);
        yield return (EventTypes.OrderShipped, """{"order_id":"o\u2028<1>"}""", null);
        yield return (EventTypes.OrderDelivered, """{"order_id":"o\u2028<1>"}""", null);
        yield return (EventTypes.OrderReadyForPickup, """{"order_id":"o-2"}""", null);
        yield return (EventTypes.OrderPickedUp, """{"order_id":"o-2"}""", null);
        yield return (EventTypes.OrderReturned, """{"order_id":"o\u2028<1>","total":0.50,"currency":"GBP","items":[{"product_id":"sku\"2","quantity":1}]}""", null);
        yield return (EventTypes.OrderReturned, """{"order_id":"o-3","total":1e1,"currency":"GBP"}""", null);
        yield return (EventTypes.OrderCancelled, """{"order_id":"o-2"}""", null);
        yield return (EventTypes.OrderCancelled, """{"order_id":"never-placed\u0001"}""", null);
        yield return (EventTypes.WishlistItemAdded, """{"product_id":"w\\1","name":"\t"}""", null);
        yield return (EventTypes.WishlistItemRemoved, """{"product_id":"missing"}""", null);
        yield return (EventTypes.NewsletterSubscribed, """{"channel":"email","topic":"new\u2029s"}""", null);
        yield return (EventTypes.NewsletterUnsubscribed, """{"channel":"email","topic":"new\u2029s"}""", null);
        yield return (EventTypes.ConsentChanged, """{"channel":"sms","topic":"<offers>","granted":true}""", null);
        yield return (EventTypes.ConsentChanged, """{"channel":"email","granted":false}""", null);
        yield return (EventTypes.PreferencesUpdated, """{"preferred_channels":["sms","email","sms"],"max_messages":10000,"period":"P1D","quiet_hours":{"start":"22:00","end":"07:00"}}""", null);
        yield return (EventTypes.LoyaltyPointsEarned, """{"points":999999999999999}""", null);
        yield return (EventTypes.LoyaltyPointsEarned, """{"points":1.000}""", null);
        yield return (EventTypes.LoyaltyPointsRedeemed, """{"points":-5}""", null);
        yield return (EventTypes.ReferralSent, """{"referee":"\u00e9"}""", null);
        yield return (EventTypes.ReferralConverted, "{}", null);
        yield return (EventTypes.SupportTicketOpened, """{"ticket_id":"t\"1"}""", null);
        yield return (EventTypes.SupportTicketResolved, """{"ticket_id":"t\"1"}""", null);
        yield return (EventTypes.MessageSent, """{"channel":"email","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageDelivered, """{"channel":"email","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageOpened, """{"channel":"email","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageClicked, """{"channel":"email","message_id":"m<1>","url":"&"}""", null);
        yield return (EventTypes.MessageBounced, """{"channel":"email","address":"ZOË@example.com","bounce_type":"soft","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageBounced, """{"channel":"email","address":"x\u2028@example.com","bounce_type":"hard","message_id":"m2"}""", null);
        yield return (EventTypes.MessageFailed, """{"channel":"sms","message_id":"m3"}""", null);
        yield return (EventTypes.MessageSkipped, """{"channel":"sms","message_id":"m3"}""", null);
        yield return (EventTypes.MessageComplained, """{"channel":"email","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageUnsubscribed, """{"channel":"email","message_id":"m<1>"}""", null);
        yield return (EventTypes.MessageReplied, """{"channel":"sms","message_id":"m3","text":"STOP"}""", null);
        yield return (EventTypes.SegmentEntered, """{"segment_id":"gold"}""", null);
        yield return (EventTypes.SegmentExited, """{"segment_id":"gold"}""", null);
        yield return ("custom.hostile_event", """{"x":[1.000,-0,1e-400]}""", """{"nested":{"":{"":{"":[]}}}}""");
    }

    private static CustomerEvent EventAt(string id, int i, (string Type, string? Properties, string? Traits) h, Identifier[] ids, DateTimeOffset start) =>
        new()
        {
            Id = id + "\u2028\"<&>",
            Type = h.Type,
            Timestamp = (start + TimeSpan.FromMinutes(i)).ToOffset(TimeSpan.FromMinutes(new[] { 0, 345, -180, 840 }[i % 4])),
            Identifiers = ids,
            Channel = i % 3 == 0 ? ChannelNames.App : ChannelNames.Web,
            Properties = h.Properties is null ? default : J(h.Properties),
            Traits = h.Traits is null ? default : J(h.Traits),
            Context = i % 5 == 0 ? new EventContext { TimeZone = "Asia/Kathmandu", Locale = "ne-NP", Campaign = "\u2028<x>" } : null,
        };

    [Fact]
    public async Task HostileEvents_StoredDocuments_AreTheSerializersBytes()
    {
        var promo = Journeys.JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "page.viewed"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email", "sms"], "template": "promo-mail", "class": "transactional", "next": "pause"},
                       {"id": "pause", "type": "delay", "duration": "PT2H"},
                       {"id": "done", "type": "exit"}]}
            """);
        var segments = new[]
        {
            """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
            """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 25}}""",
        }.Select(j => Omnichannel.Sdk.Segments.SegmentJson.Parse(j).Value!);
        var start = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
        var store = new Storage.InMemoryOmnichannelStore();
        await using var rig = Journeys.JourneyRig.Create([promo], segments, start: start, store: store);
        var hostile = Hostile().ToList();
        var checkedDocs = 0;
        for (var i = 0; i < hostile.Count; i++)
        {
            // Each event under one identifier or two, so that profiles are made apart and merged.
            Identifier[] ids = (i % 4) switch { 0 => [Person[0]], 1 => [Person[1]], 2 => [Person[2]], _ => [Person[i % 3], Person[(i + 1) % 3]] };
            var result = await rig.Engine.TrackAsync(EventAt($"h-{i:D3}", i, hostile[i], ids, start));
            Assert.True(result.Status == TrackStatus.Accepted, $"{hostile[i].Type}: {string.Join("; ", result.Errors)}");
            if (i % 6 == 5)
            {
                await rig.AdvanceAsync(TimeSpan.FromMinutes(50));
            }

            checkedDocs += await CompareAsync(store);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        checkedDocs += await CompareAsync(store);

        // Erased, then back: the whole stream again in one batch, under all three identifiers at once (a merge per event).
        Assert.True(await rig.Engine.EraseProfileAsync(Person[1]));
        checkedDocs += await CompareAsync(store);
        foreach (var id in Person)
        {
            await rig.Engine.LiftErasureAsync(id);
        }

        var again = start + TimeSpan.FromHours(8); // before the rig's clock (events may not come from the future)
        var results = await rig.Engine.TrackBatchAsync(hostile.Select((h, i) => EventAt($"r-{i:D3}", i, h, i % 2 == 0 ? Person : [Person[2 - (i % 3)]], again)).ToList());
        Assert.All(results, r => Assert.True(r.Status == TrackStatus.Accepted, string.Join("; ", r.Errors)));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        checkedDocs += await CompareAsync(store);
        Assert.True(checkedDocs > hostile.Count);
    }

    private static Task<int> CompareAsync(Storage.InMemoryOmnichannelStore store) => ContractWriterProperties.CompareStoredAsync(store, Person);
}
