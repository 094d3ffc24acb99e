using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit U47 (money as tracking clients send it), over HTTP on the shared <see cref="TrackingServer"/>.</summary>
public sealed class AuditU47TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // Templated calls (spree/spree#8311's Segment trackers, a Solidus shop's `currency: '<%= order.currency %>'`) write a
    // nil as ''; a tag manager's undefined variable too. Audit U38 read a blank amount as none, but a blank currency still
    // refused the whole order ("'' is not an ISO 4217 currency code"): the order, its spend and its conversion were lost.
    // A blank currency names none, as a missing one: the order counts in the headline currency.
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task ABlankCurrency_NamesNone_NotTheOrdersLoss(string blank)
    {
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{Id("o")}}","total":"19.99","currency":"{{blank}}"} }""", TrackingServer.WebsiteKey);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(19.99m, p.Statistics.TotalSpent);
        Assert.Empty(p.Statistics.SpentByCurrency); // no currency of its own
    }

    // A currency that is no ISO code is still refused with its field: only a blank one is read as none.
    [Fact]
    public async Task ACurrencyThatIsNoCode_IsStillRefused_WithItsField()
    {
        var response = await server.PostAsync("track", $$"""{"userId":"{{Id("user")}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"{{Id("o")}}","total":5,"currency":"€"} }""", TrackingServer.WebsiteKey);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("properties.currency", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
