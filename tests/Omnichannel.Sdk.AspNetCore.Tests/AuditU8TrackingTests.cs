using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U8 (bug classes from public reports, round 8), the tracking API: numeric user ids, an order updated through the
/// Spec's <c>Order Updated</c>, an anonymous visitor aliased to her account, and a refund of part of an order.
/// </summary>
public sealed class AuditU8TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    // rudderlabs/rudder-sdk-js#1174 ("transform to string any userId passed as number in identify calls"),
    // segmentio/facade#36 ("cast userId to string"): a backend sends the shop's numeric id as a JSON number, the website
    // the same id as text. One person, not two.
    [Fact]
    public async Task AUserIdSentAsANumber_AndAsText_IsOnePerson()
    {
        var number = Random.Shared.NextInt64(1_000_000_000, 9_000_000_000);
        var r1 = await server.PostAsync("identify", $$"""{"userId":{{number}},"traits":{"plan":"pro"},"messageId":"{{Id("m")}}"}""", TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.OK, r1.StatusCode);
        var r2 = await server.PostAsync("track", $$"""{"userId":"{{number}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}""");
        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);

        var p = await server.ProfileAsync(Identifier.CustomerId(number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Single(p.Identifiers, i => i.Type == IdentifierTypes.CustomerId);
        Assert.True(p.TryGetTrait("plan", out _));
        Assert.Contains(p.Timeline, t => t.Type == EventTypes.ProductViewed);
    }

    // The Spec's "Order Updated" (segment.com/docs/connections/spec/ecommerce/v2, "Order Updated"), and
    // woocommerce/woocommerce#28329 / mollie/OpenCart#336 (an order's webhook delivered again): an order completed, then
    // updated under a new messageId with a new total, is one order at its newest total, not two orders.
    [Fact]
    public async Task AnOrderUpdated_AfterItsOrderCompleted_IsOneOrderAtItsNewestTotal()
    {
        var user = Id("user");
        var order = Id("order");
        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:00:00Z",
               "properties":{"order_id":"{{order}}","revenue":50} },
              {"type":"track","userId":"{{user}}","event":"Order Updated","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:30:00Z",
               "properties":{"order_id":"{{order}}","revenue":42} }
            ]}
            """;
        var response = await server.PostAsync("batch", batch, TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (int)(await BodyAsync(response))["accepted"]!);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(42m, p.Statistics.TotalSpent);
    }

    // The Spec's alias (segment.com/docs/connections/spec/alias: "previousId … might be an Anonymous ID assigned to that
    // user"), analytics.js's alias after a sign-up, and PostHog/posthog#31154's neighbour (history lost at the join): an
    // anonymous visitor's page views and cart, aliased to the account she creates, are her account's.
    [Fact]
    public async Task AnAnonymousVisitorAliasedToHerNewAccount_KeepsHerHistoryAndCart()
    {
        var anonymous = Id("anon");
        var user = Id("user");
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("page", $$"""{"anonymousId":"{{anonymous}}","name":"Shoes","messageId":"{{Id("m")}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", $$"""{"anonymousId":"{{anonymous}}","event":"Product Added","properties":{"product_id":"p9","price":12},"messageId":"{{Id("m")}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("alias", $$"""{"userId":"{{user}}","previousId":"{{anonymous}}","messageId":"{{Id("m")}}"}""")).StatusCode);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(p.Id, (await server.ProfileAsync(Identifier.AnonymousId(anonymous))).Id);
        Assert.Contains(p.Timeline, t => t.Type == "page.viewed");
        Assert.Contains(p.Cart, l => l.ProductId == "p9");
    }

    // The Spec's "Order Refunded" with the refunded amount (a partial refund), mapped to the SDK's return: the order keeps
    // counting once, and the refund's value is taken off.
    [Fact]
    public async Task AnOrderRefunded_InPart_IsAReturnOfThatValue_NotASecondOrder()
    {
        var user = Id("user");
        var order = Id("order");
        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:00:00Z",
               "properties":{"order_id":"{{order}}","total":90} },
              {"type":"track","userId":"{{user}}","event":"Order Refunded","messageId":"{{Id("m")}}","timestamp":"2026-03-02T12:00:00Z",
               "properties":{"order_id":"{{order}}","total":30} }
            ]}
            """;
        var response = await server.PostAsync("batch", batch, TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(1, p.Statistics.ReturnCount);
        Assert.Equal(30m, p.Statistics.ReturnValue);
    }
    // A client that stringifies a missing id sends "undefined" or "null" as the anonymousId (PostHog keeps a list of such
    // ids it never merges on; segment-boneyard/segment-docs#6467: an empty userId changes the anonymous id): two customers
    // whose calls carry the same blocked anonymous id stay two people, and a call with an empty userId and a real
    // anonymousId is the visitor's.
    [Theory]
    [InlineData("undefined")]
    [InlineData("null")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    public async Task ABlockedAnonymousId_SharedByTwoCustomers_KeepsThemApart(string blocked)
    {
        var u1 = Id("user");
        var u2 = Id("user");
        var json = $$"""
            {"batch":[
              {"type":"track","userId":"{{u1}}","anonymousId":"{{blocked}}","event":"Product Viewed","messageId":"{{Id("m")}}","properties":{"product_id":"p1"} },
              {"type":"track","userId":"{{u2}}","anonymousId":"{{blocked}}","event":"Product Viewed","messageId":"{{Id("m")}}","properties":{"product_id":"p2"} }
            ]}
            """;
        var response = await server.PostAsync("batch", json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (int)(await BodyAsync(response))["accepted"]!);
        Assert.NotEqual((await server.ProfileAsync(Identifier.CustomerId(u1))).Id, (await server.ProfileAsync(Identifier.CustomerId(u2))).Id);

        var visitor = Id("anon");
        var r = await server.PostAsync("track", $$"""{"userId":"","anonymousId":"{{visitor}}","event":"Product Viewed","properties":{"product_id":"p3"},"messageId":"{{Id("m")}}"}""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains((await server.ProfileAsync(Identifier.AnonymousId(visitor))).Timeline, t => t.Type == EventTypes.ProductViewed);
    }

    // Jitsu and several server libraries send `timestamp` as epoch milliseconds (a JSON number), which the Spec does not
    // allow: the message is refused alone with its field (a 400 a client drops, naming what to fix), never a 5xx that a
    // client would retry for ever, and never read as some other date.
    [Fact]
    public async Task ATimestampInEpochMilliseconds_IsRefusedWithItsField_NotA5xx()
    {
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Product Viewed","timestamp":1767268800000,"messageId":"{{Id("m")}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("timestamp", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
