using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Review of audit U47: the tracking API's currency in every form a client sends it.</summary>
public sealed class ReviewU47TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // null, a tab and a blank on a refund name no currency (the refund is in its order's); a lower-case or padded code is
    // the code; a number is refused with its field.
    [Theory]
    [InlineData("null", "JPY")]
    [InlineData("\"\\t\"", "JPY")]
    [InlineData("\" \"", "JPY")]
    [InlineData("\" jpy \"", "JPY")]
    [InlineData("\"gbp\"", "GBP")]
    public async Task ARefundsCurrency_AsClientsSendIt(string currency, string counted)
    {
        var user = Id("user");
        var order = Id("o");
        var placed = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{order}}","total":3000,"currency":"JPY"} }""", TrackingServer.WebsiteKey);
        Assert.Equal(HttpStatusCode.OK, placed.StatusCode);
        var refunded = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Refunded","messageId":"{{Id("m")}}","properties":{"order_id":"{{order}}","total":1000,"currency":{{currency}}} }""", TrackingServer.WebsiteKey);
        Assert.True(refunded.StatusCode == HttpStatusCode.OK, $"{(int)refunded.StatusCode} {await refunded.Content.ReadAsStringAsync()}");

        var s = (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics;
        Assert.Equal(1000m, s.ReturnValueByCurrency.GetValueOrDefault(counted));
        Assert.Single(s.ReturnValueByCurrency);
    }

    [Theory]
    [InlineData("826")]
    [InlineData("true")]
    [InlineData("{\"code\":\"GBP\"}")]
    public async Task ACurrencyThatIsNoString_IsRefused_WithItsField(string currency)
    {
        var response = await server.PostAsync("track", $$"""{"userId":"{{Id("user")}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{Id("o")}}","total":5,"currency":{{currency}}} }""", TrackingServer.WebsiteKey);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("properties.currency", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
