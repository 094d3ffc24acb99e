using System.Globalization;
using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// The thirty-fifth session's fix of numeric ids (core: <c>LeftAlone34Tests</c>), where tracking clients send them: a
/// numeric <c>userId</c> that passed through floating point on its way (a pandas column of ids with a gap is floats; a
/// Python or PHP float is written with its ".0") named a second customer.
/// </summary>
public sealed class LeftAlone34TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [Theory]
    [InlineData("{0}.0")]
    [InlineData("{0}.000")]
    [InlineData("\"{0}\"")]
    public async Task ANumericUserIdSentAsAnotherFormOfTheSameNumber_IsTheSameCustomer(string sameForm)
    {
        var user = Random.Shared.NextInt64(1_000_000_000, 9_000_000_000).ToString(CultureInfo.InvariantCulture);
        var again = string.Format(CultureInfo.InvariantCulture, sameForm, user);
        foreach (var (id, order) in new[] { (user, "o1"), (again, "o2") })
        {
            var response = await server.PostAsync("track", $$"""{"userId":{{id}},"event":"Order Completed","messageId":"{{Guid.NewGuid():N}}","properties":{"order_id":"{{order}}-{{user}}","total":10,"currency":"EUR"} }""", TrackingServer.BackendKey);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(2, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }
}
