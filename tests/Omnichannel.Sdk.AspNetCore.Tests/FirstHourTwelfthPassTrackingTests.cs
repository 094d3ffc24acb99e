using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// First hour, twelfth pass: a newcomer's curl with <c>"context": {"traits": {"email": "not-an-email"}}</c> was answered
/// "cannot be used as a email identifier (over 256 characters, a control character, or not a valid email)": three
/// causes for one, and "a email". The answer now names the cause that applied, never the value.
/// </summary>
public sealed class FirstHourTwelfthPassTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [Fact]
    public async Task ContextIdentifiersLeftOut_AreAnsweredWithTheirOwnCause()
    {
        var user = $"n44e-{Guid.NewGuid():N}";
        var badMail = $"n44e-not-an-email-{Guid.NewGuid():N}";
        var longDevice = "dev-" + new string('d', 300);
        using var response = await server.PostAsync("track", $$$$"""
            {"userId": "{{{{user}}}}", "event": "Order Completed", "properties": {"order_id": "o-{{{{user}}}}", "total": 1},
             "context": {"device": {"id": "{{{{longDevice}}}}"}, "traits": {"email": "{{{{badMail}}}}", "phone": "+44 20\t7946 0958"}}}
            """);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ignored = JsonNode.Parse(text)!["ignored"]!.AsArray().ToDictionary(f => (string)f!["field"]!, f => (string)f!["message"]!);
        Assert.Equal("is not a valid email, so it cannot be used as an email identifier; left out, the rest of the message was applied", ignored["context.traits.email"]);
        Assert.Equal("is 304 characters long (at most 256), so it cannot be used as a device_id identifier; left out, the rest of the message was applied", ignored["context.device.id"]);
        Assert.StartsWith("has a control character", ignored["context.traits.phone"], StringComparison.Ordinal);
        Assert.DoesNotContain(badMail, text, StringComparison.Ordinal);
    }
}
