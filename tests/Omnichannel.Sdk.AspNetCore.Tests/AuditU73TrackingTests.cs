using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U73: <c>context.device.token</c>, the device's push token in the Segment Spec's common fields
/// (https://segment.com/docs/connections/spec/common/), was not mapped: the push channel's address (<c>device_id</c>) was
/// <c>context.device.id</c>, a vendor id no push provider accepts, and the token a mobile library sends was dropped.
/// </summary>
public sealed class AuditU73TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<JsonNode> PostOkAsync(string call, string json)
    {
        var response = await server.PostAsync(call, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{json} → {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    // An app that registered for push sends its token beside its device id on every event (analytics-ios and
    // analytics-android put it in context.device.token): the token becomes her push address; the id is listed as not
    // applied (it is no push address, and beside the token it would tie); her anonymous id and user id link as before.
    [Fact]
    public async Task ContextDeviceToken_IsHerPushAddress_AndTheDeviceIdBesideItIsListedAsIgnored()
    {
        var user = Id("u73-user");
        var anon = Id("u73-anon");
        var vendorId = "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB";
        var token = "ff15bc0c20a1c4a2b1d7" + Guid.NewGuid().ToString("N");
        var answer = await PostOkAsync("track", $$"""
            {"userId":"{{user}}","anonymousId":"{{anon}}","event":"App Opened","messageId":"{{Id("m")}}",
             "context":{"device":{"id":"{{vendorId}}","token":"{{token}}","type":"ios"} } }
            """);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(token, Assert.Single(p.Identifiers, i => i.Type == IdentifierTypes.DeviceId).Value);
        Assert.Contains(p.Identifiers, i => i.Type == IdentifierTypes.AnonymousId && i.Value == anon);
        var ignored = Assert.Single(answer["ignored"]!.AsArray());
        Assert.Equal("context.device.id", (string?)ignored!["field"]);
    }

    // Without a token nothing changes: the device id is linked (AuditU38TrackingTests.AUsableDeviceId_IsStillLinked), and
    // a token with a control character is left out and listed, as a device id is, without losing the event.
    [Fact]
    public async Task AnUnusableToken_IsLeftOut_AndTheDeviceIdStaysLinked()
    {
        var user = Id("u73-user");
        var device = Id("u73-device");
        var answer = await PostOkAsync("track", $$"""
            {"userId":"{{user}}","event":"App Opened","messageId":"{{Id("m")}}","context":{"device":{"id":"{{device}}","token":"t\u0007"} } }
            """);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(device, Assert.Single(p.Identifiers, i => i.Type == IdentifierTypes.DeviceId).Value);
        Assert.Equal("context.device.token", (string?)Assert.Single(answer["ignored"]!.AsArray())!["field"]);
    }
}
