using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U38 (bug classes from public reports, round 38: what real tracking clients send), over HTTP: e-commerce ids in
/// the Spec v1's and Segment's own camelCase names, amounts left blank by templates, a device clock that moved between an
/// event and its sending, a device id no identifier can hold, and what clients send that was already read right.
/// </summary>
public sealed class AuditU38TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private async Task PostOkAsync(string call, string json, string? writeKey = TrackingServer.WebsiteKey)
    {
        var response = await server.PostAsync(call, json, writeKey);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{json} → {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    // Segment's own reader of an order's id (segmentio/facade, lib/track.js `orderId()`: properties.id, else order_id,
    // else orderId), the Spec v1's `Completed Order {orderId}` (analytics.js-integrations' tests; a shop's
    // `analytics.track('Completed Order', {orderId: paymentReference, total, currency})`), and Segment's own destination
    // docs (segment-docs, Twitter Ads: `analytics.track('Order Completed', {orderId: '50314b8e…', total: 30, …})`): the
    // order's id under `orderId` or `id`. Only `order_id` was read, so each copy was an order of its own: the order
    // updated (or its webhook delivered again under a new messageId) counted two orders and twice the money.
    [Theory]
    [InlineData("Completed Order", "Updated Order", "orderId")]
    [InlineData("Order Completed", "Order Updated", "orderId")]
    [InlineData("Completed Order", "Completed Order", "id")]
    public async Task AnOrdersIdInTheNamesClientsUse_MakesItsUpdateTheSameOrder(string placed, string updated, string key)
    {
        var user = Id("user");
        var order = Id("order");
        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"{{placed}}","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:00:00Z",
               "properties":{"{{key}}":"{{order}}","total":50,"currency":"USD"} },
              {"type":"track","userId":"{{user}}","event":"{{updated}}","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:30:00Z",
               "properties":{"{{key}}":"{{order}}","total":42,"currency":"USD"} }
            ]}
            """;
        var response = await server.PostAsync("batch", batch, TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (int)(await BodyAsync(response))["accepted"]!);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(42m, p.Statistics.TotalSpent);
        Assert.Contains(p.Timeline, t => t.Summary?.Contains(order, StringComparison.Ordinal) == true);
    }

    // segmentio/facade `productId()` (product_id, else productId) and `cartId()` (cart_id, else cartId); wrappers' READMEs
    // show `analytics.track('Product Added', {productId: 'prod-123', price: 99.99, quantity: 1})`. The cart add was
    // refused ("properties.product_id is required"): no cart, so no abandoned-cart reminder.
    [Fact]
    public async Task AProductAddedWithItsIdAsProductId_IsACartLine()
    {
        var user = Id("user");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"Product Added","messageId":"{{Id("m")}}","properties":{"productId":"prod-123","cartId":"c-1","price":99.99,"quantity":1} }""");
        var line = Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Cart);
        Assert.Equal("prod-123", line.ProductId);
        Assert.Equal(99.99m, line.UnitPrice);
    }

    // Shops template their tracking calls (spree/spree#8311's Segment trackers: `price: '<%= product.price.to_f %>'`,
    // `sku: '<%= product.sku %>'`; a Solidus shop's `total: '<%= order.total %>'`, `coupon: '<%= order.coupon_code %>'`),
    // and a nil renders as '' — as a tag manager's undefined variable does. Segment reads such a blank as no value (facade's
    // `||`: `revenue()` falls back past "", `currency("")` is no amount), as this mapper already reads a blank messageId or
    // email. Here a blank total, price or quantity refused the whole event ("must be a number, not string"): the order or
    // the cart add was lost, and a blank product_id hid the sku beside it.
    [Theory]
    [InlineData("""{"order_id":"ORDER","total":"","revenue":42}""", 42)]
    [InlineData("""{"order_id":"ORDER","total":" ","revenue":"","value":"17.50"}""", 17.50)]
    [InlineData("""{"order_id":"ORDER","total":""}""", 0)]
    public async Task ABlankOrderTotal_IsNoAmount_NotTheOrdersLoss(string properties, decimal spent)
    {
        var user = Id("user");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{{properties.Replace("ORDER", Id("order"), StringComparison.Ordinal)}}}""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(spent, p.Statistics.TotalSpent);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public async Task ABlankPriceQuantityOrProductId_IsNoValue_NotTheCartAddsLoss(string productId)
    {
        var user = Id("user");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"Product Added","messageId":"{{Id("m")}}","properties":{"product_id":"{{productId}}","sku":"45790-32","price":"","quantity":" "} }""");
        var line = Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Cart);
        Assert.Equal("45790-32", line.ProductId);
        Assert.Equal(1m, line.Quantity);
        Assert.Null(line.UnitPrice);
    }

    // segmentio/analytics-react-native#977 ("Events from the future": a batch whose sentAt, 2024-05-21, is two weeks
    // before its event's timestamp, 2024-06-04): the device's clock moved back between the event and its sending, so
    // receivedAt − (sentAt − timestamp) put the event two weeks ahead, and the event was refused (400, or listed under
    // `rejected`; the client drops both). Such a correction is no correction: the time as sent is kept.
    [Fact]
    public async Task AClockThatMovedBackBeforeSending_KeepsTheEventAtItsTimeAsSent_NotRefusedAsFuture()
    {
        var user = Id("user");
        var happened = DateTimeOffset.UtcNow.AddMinutes(-3);
        var stamp = happened.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var staleSentAt = DateTimeOffset.UtcNow.AddDays(-14).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var response = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"{{stamp}}",
                       "properties":{"order_id":"{{Id("order")}}","total":20} }],
             "sentAt":"{{staleSentAt}}","writeKey":"{{TrackingServer.WebsiteKey}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.True((int)body["accepted"]! == 1, body.ToJsonString());

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        var at = Assert.Single(p.Timeline, t => t.Type == EventTypes.OrderPlaced).Timestamp;
        Assert.Equal(DateTimeOffset.Parse(stamp, System.Globalization.CultureInfo.InvariantCulture), at);
    }

    // context.device.id is a description the client adds to every event (mobile libraries; analytics-android fell back
    // through several device ids): the mapper already leaves out a context value the engine would refuse, and an unusable
    // email or phone in context.traits, rather than losing the event. A device id no identifier can hold (over 256
    // characters, or with a control character) refused the whole order with `context.device.id`.
    [Theory]
    [InlineData(300)]
    [InlineData(-1)]
    public async Task ADeviceIdNoIdentifierCanHold_IsLeftOut_NotTheOrdersLoss(int length)
    {
        var user = Id("user");
        var deviceId = length > 0 ? new string('d', length) : "d-1\\u0007";
        await PostOkAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{Id("order")}}","total":5},
             "context":{"device":{"id":"{{deviceId}}","type":"android"} } }
            """);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.DoesNotContain(p.Identifiers, i => i.Type == IdentifierTypes.DeviceId);
    }

    // A usable device id is still linked (the control case of the one above).
    [Fact]
    public async Task AUsableDeviceId_IsStillLinked()
    {
        var user = Id("user");
        var device = Id("device");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"App Opened","messageId":"{{Id("m")}}","context":{"device":{"id":"{{device}}","type":"ios"} } }""");
        Assert.Equal((await server.ProfileAsync(Identifier.CustomerId(user))).Id, (await server.ProfileAsync(Identifier.DeviceId(device))).Id);
    }

    // The classic templating bug (`analytics.identify("{{ user.id }}")` before login renders "undefined" or "null"), the ids
    // PostHog refuses to merge on: two visitors whose calls carry such a userId beside their own anonymousId stay two
    // visitors, each known by her anonymousId, and no "undefined" customer gathers them.
    [Theory]
    [InlineData("undefined")]
    [InlineData("null")]
    [InlineData("")]
    public async Task APlaceholderUserId_BesideARealAnonymousId_IsTheVisitors(string placeholder)
    {
        var a1 = Id("anon");
        var a2 = Id("anon");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"identify","userId":"{{placeholder}}","anonymousId":"{{a1}}","traits":{"plan":"free"},"messageId":"{{Id("m")}}"},
              {"type":"track","userId":"{{placeholder}}","anonymousId":"{{a2}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}
            ]}
            """);
        Assert.Equal(2, (int)(await BodyAsync(response))["accepted"]!);
        var first = await server.ProfileAsync(Identifier.AnonymousId(a1));
        var second = await server.ProfileAsync(Identifier.AnonymousId(a2));
        Assert.NotEqual(first.Id, second.Id);
        Assert.DoesNotContain(first.Identifiers, i => i.Type == IdentifierTypes.CustomerId);
        if (placeholder.Length > 0)
        {
            Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId(placeholder)));
        }
    }

    // Shops that template their calls send numbers as text (spree/spree#8311: `price: '<%= product.price.to_f %>'`;
    // openedx-unsupported/ecommerce#3265: `'price': '0'`, `'quantity': str(len(order.lines.all()))`): read as the numbers.
    [Fact]
    public async Task EcommerceNumbersSentAsText_AreReadAsNumbers()
    {
        var user = Id("user");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"Product Added","messageId":"{{Id("m")}}","properties":{"product_id":"p7","price":"12.50","quantity":"2"} }""");
        await PostOkAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{Id("order")}}","total":"166.00","products":[{"product_id":"p7","quantity":"2","price":"12.50"}]} }""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(166m, p.Statistics.TotalSpent);
        Assert.Empty(p.Cart); // the order took the cart
    }
}

/// <summary>Audit U38: a message's times as client libraries write them, read by the mapper against a fake clock.</summary>
public sealed class AuditU38TimestampTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 5, 2, 12, 0, 0, TimeSpan.Zero));

    private static MappedMessage Map(string json, DateTimeOffset? batchSentAt = null)
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        using var doc = JsonDocument.Parse(json);
        return mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, Clock.GetUtcNow(), batchSentAt, null));
    }

    // Offsets and fractions as libraries write them: Python's strftime `%z` in India (`+0530`), analytics-go's
    // RFC3339Nano in the machine's zone (nine digits and `-07:00`), ISO 8601's hour-only offset.
    [Theory]
    [InlineData("2026-05-01T15:30:00+0530")]
    [InlineData("2026-05-01T15:30:00.000+0530")]
    [InlineData("2026-05-01T03:00:00.000000000-07:00")]
    [InlineData("2026-05-01T15:00:00+05")]
    public void OffsetsAsLibrariesWriteThem_AreRead(string stamp)
    {
        var mapped = Map($$"""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"{{stamp}}"}""");
        Assert.Empty(mapped.Errors);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), mapped.Event!.Timestamp);
    }

    // mixpanel/mixpanel-iphone#144 ("Date formatting bug on Japanese / Thailand environment": a Buddhist or Japanese
    // calendar wrote the year as 2569): timestamp and sentAt come from the same formatter, so the correction gives the
    // true time.
    [Fact]
    public void ADeviceClockYearsOff_IsCorrectedBySentAt()
    {
        var mapped = Map("""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"2569-05-02T11:55:00.000Z","sentAt":"2569-05-02T12:00:00.000Z"}""");
        Assert.Equal(Clock.GetUtcNow().AddMinutes(-5), mapped.Event!.Timestamp);
    }

    // analytics-react-native#977 once more, on both sides. A clock behind at sending: the time as sent is kept (it was
    // corrected two weeks into the future, and refused). A timestamp itself two weeks ahead (a clock ahead at the event
    // and right at sending, or a future time sent on purpose): nothing tells when it happened, so the corrected time
    // stands and the engine refuses it, as before. A correction inside the allowed skew holds as it was.
    [Theory]
    [InlineData("2026-05-02T11:57:00.000Z", "2026-04-18T12:00:00.000Z", "2026-05-02T11:57:00Z")]  // sentAt two weeks behind
    [InlineData("2026-05-16T11:57:00.000Z", "2026-05-02T12:00:00.000Z", "2026-05-16T11:57:00Z")]  // timestamp two weeks ahead
    [InlineData("2026-05-02T12:02:00.000Z", "2026-05-02T12:00:00.000Z", "2026-05-02T12:02:00Z")]  // two minutes: within the skew
    [InlineData("2026-05-02T11:57:00.000Z", "2026-05-02T11:49:00.000Z", "2026-05-02T11:57:00Z")]  // eight minutes: over it, as sent
    public void ACorrectionIntoTheFuture_KeepsTheTimeAsSent_WhenThatIsNotInTheFuture(string timestamp, string sentAt, string expected)
    {
        var asOwn = Map($$"""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"{{timestamp}}","sentAt":"{{sentAt}}"}""");
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), asOwn.Event!.Timestamp);

        var asOriginal = Map($$"""{"type":"track","userId":"u","event":"E","messageId":"m","originalTimestamp":"{{timestamp}}"}""", DateTimeOffset.Parse(sentAt, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), asOriginal.Event!.Timestamp);
    }

    // The Spec's receivedAt is the server's stamp; a client that sends one (Jitsu's and RudderStack's payloads carry it)
    // changes neither the event's time nor its content id.
    [Fact]
    public void AReceivedAtSentByTheClient_ChangesNothing()
    {
        var plain = Map("""{"type":"track","userId":"u","event":"E","originalTimestamp":"2026-05-02T13:55:00.000Z","sentAt":"2026-05-02T14:00:00.000Z"}""");
        var stamped = Map("""{"type":"track","userId":"u","event":"E","originalTimestamp":"2026-05-02T13:55:00.000Z","sentAt":"2026-05-02T14:00:00.000Z","receivedAt":"2020-01-01T00:00:00Z"}""");
        Assert.Equal(Clock.GetUtcNow().AddMinutes(-5), stamped.Event!.Timestamp);
        Assert.Equal(plain.Event!.Id, stamped.Event.Id);
    }
}
