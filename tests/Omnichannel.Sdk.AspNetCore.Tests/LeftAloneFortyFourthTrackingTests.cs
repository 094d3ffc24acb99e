using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Left alone last session: context the endpoint itself leaves out (a value over the context limit or with a control
/// character, a device id or a <c>context.traits</c> email the SDK cannot hold) was dropped with a bare
/// <c>{"success":true}</c>. It is now listed under <c>ignored</c> by its Spec field, never by its value, single and batch.
/// </summary>
public sealed class LeftAloneFortyFourthTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [Fact]
    public async Task ContextTheEndpointLeavesOut_IsListedUnderIgnored_ByField_NeverByValue()
    {
        var user = $"n44-{Guid.NewGuid():N}";
        var longZone = "Europe/" + new string('x', 300);
        var badMail = $"n44-not-an-email-{Guid.NewGuid():N}";
        var longDevice = "dev-" + new string('d', 300);
        using var response = await server.PostAsync("track", $$$"""
            {"userId": "{{{user}}}", "event": "Signed Up",
             "context": {"timezone": "{{{longZone}}}", "campaign": {"name": "spring\nsale"}, "device": {"id": "{{{longDevice}}}", "type": "ios"},
                         "traits": {"email": "{{{badMail}}}"}, "locale": "en-GB"}}
            """);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var fields = JsonNode.Parse(text)!["ignored"]!.AsArray().Select(f => (string)f!["field"]!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "context.campaign.name", "context.device.id", "context.timezone", "context.traits.email" }, fields);
        Assert.DoesNotContain(badMail, text, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxxxxxx", text, StringComparison.Ordinal);
        Assert.DoesNotContain("dddddddd", text, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs, l => l.Contains(badMail, StringComparison.Ordinal));

        // The rest of the message was applied: her profile exists, with the locale and device type it carried.
        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("en-GB", profile.Locale);
    }

    [Fact]
    public async Task ContextLeftOutInABatch_IsListedAtItsIndex_AndAFittingMessageHasNoEntry()
    {
        var user = $"n44b-{Guid.NewGuid():N}";
        var messageId = $"m-{Guid.NewGuid():N}";
        using var response = await server.PostAsync("batch", $$$$"""
            {"batch": [
              {"type": "track", "event": "Product Viewed", "userId": "{{{{user}}}}", "messageId": "m-a-{{{{user}}}}", "context": {"locale": "en-GB"}},
              {"type": "track", "event": "Product Viewed", "userId": "{{{{user}}}}", "messageId": "{{{{messageId}}}}", "context": {"location": {"city": "{{{{new string('c', 400)}}}}"}}}
            ]}
            """);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (int)body["accepted"]!);
        var entry = Assert.Single(body["ignored"]!.AsArray())!;
        Assert.Equal(1, (int)entry["index"]!);
        Assert.Equal(messageId, (string?)entry["messageId"]);
        var field = Assert.Single(entry["fields"]!.AsArray())!;
        Assert.Equal("context.location.city", (string?)field["field"]);
        Assert.Contains("400 characters", (string?)field["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFittingMessage_StillAnswersABareSuccess()
    {
        using var response = await server.PostAsync("track", $$$$"""{"userId": "n44c-{{{{Guid.NewGuid():N}}}}", "event": "Signed Up", "context": {"timezone": "Europe/Paris", "device": {"id": "dev-1"}}}""");

        Assert.Equal("{\"success\":true}", await response.Content.ReadAsStringAsync());
    }
}
