using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U108: what the official tracking clients really send, combined as they send it. Each piece was settled by an
/// earlier audit on its own (see docs/design-notes.md, "Audit U108"); these probes send the combinations a real client
/// puts on the wire, through the HTTP endpoint, and would fail if one piece stopped composing with another.
/// </summary>
public sealed class AuditU108Tests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static byte[] Gzip(byte[] bytes)
    {
        using var compressed = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(bytes);
        }

        return compressed.ToArray();
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(string path, byte[] body, string? contentType, string? contentEncoding, string? basicUser)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, path)) { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }

        if (basicUser is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basicUser + ":")));
        }

        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    // analytics-ruby (and RudderStack's Ruby client) fill a batch until its messages' JSON reaches 512,000 bytes, the Spec's
    // 500 KB, then post {"batch":[...],"sentAt":...} with a comma between messages: a full batch is a few dozen bytes over
    // the body limit. It was refused whole with 400, which Ruby does not retry: the batch was lost. The envelope now has
    // an allowance (TrackingApiOptions.BatchEnvelopeBytes); a body past it is still refused.
    [Fact]
    public async Task ARubyBatch_OfFiveHundredKilobytesOfMessages_WithItsEnvelope_IsStoredWhole()
    {
        var user = Id("u108-ruby");
        var messages = new List<string>();
        var counted = 0;
        for (var i = 0; counted < TrackingApiOptions.SpecMaxBatchBytes; i++)
        {
            // Each message about 5 KB (Ruby sends at most 100 a batch); the last one sized to end exactly at 512,000 bytes.
            var head = $$$"""{"type":"track","userId":"{{{user}}}","event":"Product Viewed","messageId":"{{{Id("m")}}}","timestamp":"2026-03-01T10:00:00.000+00:00","context":{"library":{"name":"analytics-ruby","version":"2.4.3"}},"properties":{"note":" """;
            const string Tail = "\"}}";
            var pad = Math.Min(5_000, TrackingApiOptions.SpecMaxBatchBytes - counted - Encoding.UTF8.GetByteCount(head) - Tail.Length);
            var message = head + new string('x', pad) + Tail;
            messages.Add(message);
            counted += Encoding.UTF8.GetByteCount(message);
        }

        Assert.Equal(TrackingApiOptions.SpecMaxBatchBytes, counted);
        var body = Encoding.UTF8.GetBytes($$"""{"batch":[{{string.Join(",", messages)}}],"sentAt":"2026-03-01T10:00:05.000+00:00"}""");
        Assert.True(body.Length > TrackingApiOptions.SpecMaxBatchBytes, "the envelope puts the body over the Spec's number");

        var (status, response) = await SendAsync("v1/batch", body, "application/json", null, TrackingServer.BackendKey);

        Assert.True(status == HttpStatusCode.OK, response?.ToJsonString());
        Assert.Equal(messages.Count, (int)response!["accepted"]!);
        Assert.Null(response["rejected"]);

        // Past the allowance the whole body is still refused, saying the limit.
        var over = Encoding.UTF8.GetBytes($$"""{"batch":[{{string.Join(",", messages)}}],"sentAt":"2026-03-01T10:00:05.000+00:00","pad":"{{new string('x', TrackingApiOptions.BatchEnvelopeBytes)}}"}""");
        var (overStatus, overBody) = await SendAsync("v1/batch", over, "application/json", null, TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.BadRequest, overStatus);
        Assert.Contains($"over {TrackingApiOptions.SpecMaxBatchBytes + TrackingApiOptions.BatchEnvelopeBytes} bytes", overBody?.ToJsonString(), StringComparison.Ordinal);
    }

    // analytics-python as it posts a batch: json.dumps with ensure_ascii (so "ü" is \u00fc), microsecond offsets written
    // "+00:00", context.library, integrations {}, a numeric userId from a shop's integer key, and one message the
    // client let through without an event name. The bad one is listed by index and messageId; the others are stored,
    // the numeric id linking her profile as its text.
    [Fact]
    public async Task APythonBatch_WithOneBadMessage_StoresTheOthers_AndNamesTheBadOne()
    {
        var user = Random.Shared.NextInt64(1_000_000_000, 9_000_000_000);
        var bad = Id("m-bad");
        var json = $$$"""
            {"batch":[
              {"type":"identify","userId":{{{user}}},"traits":{"name":"J\u00fcrgen"},"messageId":"{{{Id("m")}}}","timestamp":"2026-03-01T10:00:00.123456+00:00",
               "context":{"library":{"name":"analytics-python","version":"2.3.2"}},"integrations":{}},
              {"type":"track","userId":{{{user}}},"properties":{"revenue":"12.50","currency":"EUR"},"messageId":"{{{bad}}}","timestamp":"2026-03-01T10:00:01.000000+00:00",
               "context":{"library":{"name":"analytics-python","version":"2.3.2"}},"integrations":{}},
              {"type":"track","userId":{{{user}}},"event":"Order Completed","properties":{"order_id":"{{{Id("o")}}}","revenue":"12.50","total":"12.50","currency":"EUR"},
               "messageId":"{{{Id("m")}}}","timestamp":"2026-03-01T10:00:02.000000+00:00",
               "context":{"library":{"name":"analytics-python","version":"2.3.2"}},"integrations":{}}
            ],"sentAt":"2026-03-01T10:00:03.000000+00:00"}
            """;
        var (status, body) = await SendAsync("v1/batch", Encoding.UTF8.GetBytes(json), "application/json", null, TrackingServer.BackendKey);

        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(2, (int)body!["accepted"]!);
        var rejected = Assert.Single(body["rejected"]!.AsArray())!;
        Assert.Equal(1, (int)rejected["index"]!);
        Assert.Equal(bad, (string?)rejected["messageId"]);
        Assert.Equal("event", (string?)Assert.Single(rejected["errors"]!.AsArray())!["field"]);
        var profile = await server.ProfileAsync(Identifier.CustomerId(user.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.OrderPlaced);
        Assert.Contains(profile.Timeline, t => t.Type == "user.identified");
    }

    // A browser's sendBeacon-style body: gzip, a UTF-8 byte-order mark inside the compressed text, text/plain with a
    // charset, no Authorization header and the key in the body, as analytics.js sends it to avoid a CORS preflight.
    [Theory]
    [InlineData("text/plain;charset=UTF-8")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData(null)]
    public async Task AGzippedBodyWithABom_AndTheKeyInTheBody_IsRead_WhateverItsContentType(string? contentType)
    {
        var anon = Id("u108-anon");
        var json = $$$"""
            {"writeKey":"{{{TrackingServer.WebsiteKey}}}","batch":[
              {"type":"page","anonymousId":"{{{anon}}}","name":"Docs","category":"Help","properties":{"path":"/docs"},"messageId":"{{{Id("m")}}}",
               "context":{"library":{"name":"analytics.js","version":"npm:next-1.70.0"}},"integrations":{},"_metadata":{"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}},
              {"type":"group","anonymousId":"{{{anon}}}","groupId":42,"traits":{"name":"Acme","plan":"pro"},"messageId":"{{{Id("m")}}}"}
            ]}
            """;
        var bytes = Gzip([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json)]);
        var (status, body) = await SendAsync("v1/batch", bytes, contentType, "gzip", null);

        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(2, (int)body!["accepted"]!);
        Assert.Null(body["rejected"]);
        var profile = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Contains(profile.Timeline, t => t.Type == "page.viewed");
        Assert.Contains(profile.Timeline, t => t.Type == "group.joined");
    }

    // An empty batch (a flush with nothing queued; analytics-ruby and analytics-go can send one) is a 200 that accepts
    // nothing, not a 400 the client logs as an error; with the key only in the body it is still authenticated.
    [Fact]
    public async Task AnEmptyBatch_IsAcceptedEmpty()
    {
        var (status, body) = await SendAsync("v1/batch", Encoding.UTF8.GetBytes($$$"""{"batch":[],"sentAt":"2026-03-01T10:00:00Z","writeKey":"{{{TrackingServer.WebsiteKey}}}"}"""), "application/json", null, null);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(0, (int)body!["accepted"]!);
        Assert.Null(body["rejected"]);

        var (wrongKey, _) = await SendAsync("v1/batch", Encoding.UTF8.GetBytes("""{"batch":[],"writeKey":"not-a-key"}"""), "application/json", null, null);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey);
    }

    // RudderStack's alias as its JavaScript SDK sends it: previousId the visitor's anonymous id, userId the new account,
    // context.traits copied in; then a track on the account alone reaches the visitor's profile.
    [Fact]
    public async Task ARudderStackAlias_LinksTheVisitorToTheAccount()
    {
        var anon = Id("u108-anon");
        var user = Id("u108-user");
        var json = $$$"""
            {"type":"alias","previousId":"{{{anon}}}","userId":"{{{user}}}","anonymousId":"{{{anon}}}","channel":"web","rudderId":"{{{Guid.NewGuid()}}}",
             "messageId":"{{{Id("m")}}}","originalTimestamp":"2026-03-01T10:00:00.000Z","sentAt":"2026-03-01T10:00:00.500Z",
             "context":{"library":{"name":"RudderLabs JavaScript SDK","version":"3.0.0"},"traits":{}},"integrations":{"All":true}}
            """;
        var (status, body) = await SendAsync("v1/alias", Encoding.UTF8.GetBytes(json), "application/json;charset=UTF-8", null, TrackingServer.WebsiteKey);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());

        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Contains(profile.Identifiers, i => i.Type == IdentifierTypes.AnonymousId && i.Value == anon);
    }

    // A batch message over the Spec's 32 KB limit is refused alone, named by index and messageId; the batch's others go on.
    [Fact]
    public async Task AMessageOverTheLimit_IsRefusedAlone()
    {
        var anon = Id("u108-anon");
        var big = Id("m-big");
        var json = $$$"""
            {"batch":[
              {"type":"track","anonymousId":"{{{anon}}}","event":"Product Viewed","messageId":"{{{big}}}","properties":{"blob":"{{{new string('x', 33 * 1024)}}}"}},
              {"type":"track","anonymousId":"{{{anon}}}","event":"Product Viewed","messageId":"{{{Id("m")}}}","properties":{"product_id":"p-1"}}
            ]}
            """;
        var (status, body) = await SendAsync("v1/batch", Encoding.UTF8.GetBytes(json), "application/json", null, TrackingServer.WebsiteKey);
        Assert.True(status == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(1, (int)body!["accepted"]!);
        var rejected = Assert.Single(body["rejected"]!.AsArray())!;
        Assert.Equal(0, (int)rejected["index"]!);
        Assert.Equal(big, (string?)rejected["messageId"]);
    }
}
