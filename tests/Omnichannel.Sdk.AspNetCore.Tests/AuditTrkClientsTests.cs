using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit Trk: each tracking client's real requests, pointed at this host, accepted and read as they mean.</summary>
public sealed class AuditTrkClientsTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [Theory]
    // analytics-kotlin 1.x and analytics-swift 1.x: GET https://{cdnHost}/projects/{writeKey}/settings, cdnHost
    // "shop.example/v1" (default "cdn-settings.segment.com/v1"); analytics-react-native 2.x likewise with cdnProxy.
    [InlineData("v1/projects/{0}/settings")]
    public async Task TheSettingsAMobileClientFetchesFromItsCdnHost_NameThisHostAsItsApiHost(string path)
    {
        var response = await server.Http.GetAsync(new Uri(server.BaseAddress, string.Format(System.Globalization.CultureInfo.InvariantCulture, path, TrackingServer.WebsiteKey)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var settings = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        var segment = settings["integrations"]!["Segment.io"]!.AsObject();
        Assert.Equal(TrackingServer.WebsiteKey, segment["apiKey"]!.GetValue<string>());
        Assert.Equal(server.BaseAddress.Authority + "/v1", segment["apiHost"]!.GetValue<string>());
        Assert.Equal("http", segment["protocol"]!.GetValue<string>());
        Assert.Equal(0, settings["metrics"]!["sampleRate"]!.GetValue<int>());
        Assert.True(settings["plan"]!["track"]!["__default"]!["enabled"]!.GetValue<bool>());

        // What the settings name is served: analytics-kotlin/swift post their batches to https://{apiHost}/b.
        var batch = await server.PostAsync("b", $$"""
            {"batch":[{"type":"screen","name":"Home","anonymousId":"{{Guid.NewGuid()}}","messageId":"{{Guid.NewGuid()}}",
              "timestamp":"2026-05-01T10:00:00.000Z","context":{"library":{"name":"analytics-kotlin","version":"1.16.2"} },
              "integrations":{},"properties":{} }],
             "sentAt":"2026-05-01T10:00:01.000Z","writeKey":"{{TrackingServer.WebsiteKey}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
    }

    [Fact]
    public async Task TheSettingsOfAnUnknownWriteKey_Are404_AsSegmentsCdnAnswers()
    {
        var response = await server.Http.GetAsync(new Uri(server.BaseAddress, "v1/projects/wk_unknown_0000000000000000/settings"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(TrackingServer.WebsiteKey, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RudderStackBeaconBatches_WithTheWriteKeyInTheQuery_AreStored()
    {
        // @rudderstack/analytics-js 3.x with useBeacon: navigator.sendBeacon(`${dataPlaneUrl}/beacon/v1/batch?writeKey=…`,
        // Blob(text/plain)), the body {batch, sentAt} with no writeKey and no Authorization header (a beacon sets none).
        var anon = Guid.NewGuid().ToString();
        var body = $$"""
            {"batch":[{"type":"track","event":"Product Added","properties":{"product_id":"tower-xl","quantity":1,"price":89.9},
              "anonymousId":"{{anon}}","userId":"","channel":"web","messageId":"{{Guid.NewGuid()}}",
              "originalTimestamp":"2026-05-01T10:00:00.000Z","sentAt":"2026-05-01T10:00:01.000Z","integrations":{"All":true},
              "context":{"library":{"name":"RudderLabs JavaScript SDK","version":"3.11.0"},"locale":"es-MX"} }],
             "sentAt":"2026-05-01T10:00:01.000Z"}
            """;
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "text/plain");
        var response = await server.Http.PostAsync(new Uri(server.BaseAddress, $"beacon/v1/batch?writeKey={TrackingServer.WebsiteKey}"), content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Single(p.Cart);

        // The query's key is checked like any other.
        using var forged = new StringContent(body, System.Text.Encoding.UTF8, "text/plain");
        var refused = await server.Http.PostAsync(new Uri(server.BaseAddress, "beacon/v1/batch?writeKey=wk_unknown_0000000000000000"), forged);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
