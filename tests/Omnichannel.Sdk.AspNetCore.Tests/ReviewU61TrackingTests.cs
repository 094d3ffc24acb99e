using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Review of audit U61 (an Authorization header that names no write key, passed over for the body's key).</summary>
public sealed class ReviewU61TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static string Basic(string user, string password = "") => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    private HttpRequestMessage Post(string path, byte[] body, string? authorization, bool gzip = false)
    {
        var content = new ByteArrayContent(gzip ? Gzip(body) : body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, path)) { Content = content };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(raw);
        }

        return output.ToArray();
    }

    private async Task<string> SendAsync(string path, string json, string? authorization, bool gzip = false)
    {
        using var response = await server.Http.SendAsync(Post(path, Encoding.UTF8.GetBytes(json), authorization, gzip));
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }

    // A batch with one message nested past the depth limit, beside an Authorization header that names no write key (an
    // OAuth Bearer token): without a header the deep message is rejected alone and the other stored; with it, the parse
    // error was taken for "no key" and the whole batch was a 401, every event lost.
    [Fact]
    public async Task ATooDeepMessageInABatch_BesideAHeaderThatIsNoWriteKey_IsRejectedAlone_NotA401()
    {
        var user = Id("r61-deep");
        var deep = new string('[', 1001) + new string(']', 1001);
        var json = $$$"""{"writeKey":"{{{TrackingServer.BackendKey}}}","batch":[{"type":"track","userId":"{{{user}}}","event":"Deep","messageId":"{{{Id("m")}}}","properties":{"x":{{{deep}}}}},{"type":"track","userId":"{{{user}}}","event":"Ping","messageId":"{{{Id("m")}}}"}]}""";

        var answer = await SendAsync("v1/batch", json, "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln");

        Assert.StartsWith("200 ", answer, StringComparison.Ordinal);
        var body = JsonNode.Parse(answer[4..])!;
        Assert.Equal((1, 0), ((int)body["accepted"]!, (int)body["rejected"]![0]!["index"]!));
        Assert.Equal("server", Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.Type == "ping").Channel);

        // A single call nested too deep beside such a header names no key it could be read for: still the header's 401.
        var single = await SendAsync("v1/t", $$$"""{"writeKey":"{{{TrackingServer.WebsiteKey}}}","userId":"{{{user}}}","event":"Deep","properties":{"x":{{{deep}}}}}""", "Bearer x");
        Assert.StartsWith("401 ", single, StringComparison.Ordinal);
    }

    // Held: a header that names a valid key wins over a body that names another valid key (the event is the header's
    // source, not the body's); a header that names none, whatever its form (Basic without a space, bad base64, 20 KB of
    // it, a Bearer token), is passed over for the body's key, also in a gzip body and on the short aliases; a query key
    // beside a foreign header counts; a gzip bomb beside a foreign header is bounded and answered 401.
    [Fact]
    public async Task HostileHeadersAndBodies_AreAuthenticatedByTheRightKey_Held()
    {
        string Single(string user, string? key) => key is null
            ? $$"""{"userId":"{{user}}","event":"Ping","messageId":"{{Id("m")}}"}"""
            : $$"""{"writeKey":"{{key}}","userId":"{{user}}","event":"Ping","messageId":"{{Id("m")}}"}""";
        var both = Id("r61-both");
        Assert.StartsWith("200 ", await SendAsync("v1/t", Single(both, TrackingServer.BackendKey), Basic(TrackingServer.WebsiteKey)), StringComparison.Ordinal);
        Assert.Equal("web", Assert.Single((await server.ProfileAsync(Identifier.CustomerId(both))).Timeline).Channel);

        foreach (var header in new[] { "Basic", "Basic !!!!", "Basic " + new string('A', 20_000), "Bearer " + TrackingServer.BackendKey, Basic("", TrackingServer.WebsiteKey) })
        {
            var user = Id("r61-h");
            Assert.StartsWith("200 ", await SendAsync("v1/t", Single(user, TrackingServer.BackendKey), header), StringComparison.Ordinal);
            Assert.Equal("server", Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline).Channel);
        }

        var zipped = Id("r61-gz");
        Assert.StartsWith("200 ", await SendAsync("v1/i", $$"""{"writeKey":"{{TrackingServer.BackendKey}}","userId":"{{zipped}}","messageId":"{{Id("m")}}"}""", "Bearer x", gzip: true), StringComparison.Ordinal);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(zipped)));
        Assert.StartsWith("200 ", await SendAsync("v1/t?writeKey=" + TrackingServer.WebsiteKey, Single(Id("r61-q"), null), "Bearer x"), StringComparison.Ordinal);
        Assert.StartsWith("401 ", await SendAsync("v1/t", Single(Id("r61-n"), null), "Bearer " + TrackingServer.WebsiteKey), StringComparison.Ordinal);

        using var bomb = await server.Http.SendAsync(Post("v1/batch", new byte[50_000_000], "Bearer x", gzip: true));
        Assert.Equal(HttpStatusCode.Unauthorized, bomb.StatusCode);
    }
}

public sealed class ReviewU61RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    // Held: one bucket per key wherever the key comes from. A client cannot exceed a key's limit by alternating the
    // header, a foreign header beside the body's key, and the query's key: within one round (well under a second at one
    // request per second, no burst) only one of the three is admitted.
    [Fact]
    public async Task AKeysRateLimit_IsNotBypassedByAlternatingWhereTheKeyGoes_Held()
    {
        var refused = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            foreach (var way in new[] { "header", "body", "query" })
            {
                var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, way == "query" ? "v1/track?writeKey=" + TrackingServer.WebsiteKey : "v1/track"))
                {
                    Content = new StringContent("{" + (way == "body" ? $"\"writeKey\":\"{TrackingServer.WebsiteKey}\"," : "") + $"\"userId\":\"r61-rl\",\"event\":\"Ping\",\"messageId\":\"r61-rl-{way}{i}\"}}", Encoding.UTF8, "application/json"),
                };
                request.Headers.TryAddWithoutValidation("Authorization", way == "header" ? "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey + ":")) : "Bearer x");
                using var response = await server.Http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    refused.Add(way);
                }
            }
        }

        Assert.Contains("body", refused);
        Assert.Contains("query", refused);
    }
}
