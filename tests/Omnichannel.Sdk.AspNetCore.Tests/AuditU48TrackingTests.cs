using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit U48 (refunds by products as Segment clients send them), over HTTP on the shared <see cref="TrackingServer"/>.</summary>
public sealed class AuditU48TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // Segment's e-commerce spec: Order Refunded may carry only order_id and products (GA4's partial refund by items).
    // Order Completed with revenue 50 (two "a" at 20, one "b" at 10, by sku); the refund lists one "a" by its sku and
    // quantity only: 20 comes off her spend's returns. It took nothing off before.
    [Fact]
    public async Task AnOrderRefundedByProductsOnly_TakesTheirValueOff()
    {
        var user = Id("user");
        var order = Id("o");
        var completed = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{order}}","revenue":50,"currency":"GBP","products":[{"sku":"A-1","price":20,"quantity":2},{"sku":"B-1","price":10,"quantity":1}]} }""", TrackingServer.WebsiteKey);
        Assert.True(completed.StatusCode == HttpStatusCode.OK, $"{(int)completed.StatusCode} {await completed.Content.ReadAsStringAsync()}");
        var refunded = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Refunded","messageId":"{{Id("m")}}","properties":{"order_id":"{{order}}","products":[{"sku":"A-1","quantity":1}]} }""", TrackingServer.WebsiteKey);
        Assert.True(refunded.StatusCode == HttpStatusCode.OK, $"{(int)refunded.StatusCode} {await refunded.Content.ReadAsStringAsync()}");

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(50m, p.Statistics.TotalSpent);
        Assert.Equal(20m, p.Statistics.ReturnValue);
    }
}
