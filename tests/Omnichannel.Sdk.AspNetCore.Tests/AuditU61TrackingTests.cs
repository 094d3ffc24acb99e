using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U61 (bug classes from public reports, round 61: the tracking HTTP API as real clients, proxies and retries use
/// it), over HTTP on a real Kestrel server.
/// </summary>
public sealed class AuditU61TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private HttpRequestMessage Post(string path, string json, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, path))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    private static string Basic(string user, string password = "") => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    // analytics-node with OAuth configured (segmentio/analytics-next, packages/node publisher.ts: "Prefer OAuth Bearer
    // token when available; otherwise fall back to Basic auth with write key") sends `Authorization: Bearer <token>` and
    // the write key in the body; a staging shop behind HTTP Basic has the browser add the site's own credentials to
    // same-origin requests. Segment's docs (segment-docs#4137, #6147) and its newer libraries (analytics-kotlin#121,
    // analytics-java#408) authenticate by the body's key. The header was taken as the only key: 401, every event lost.
    [Theory]
    [InlineData("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")]
    [InlineData("BASIC-STAGING")]
    [InlineData("Basic c3RhZ2luZzpob3VuZHM=")]
    public async Task AnAuthorizationHeaderThatIsNoWriteKey_BesideTheBodysWriteKey_IsAuthenticatedByTheBody(string header)
    {
        var user = Id("u61-auth");
        var json = $$$"""{"writeKey":"{{{TrackingServer.BackendKey}}}","batch":[{"type":"track","userId":"{{{user}}}","event":"Order Completed","messageId":"{{{Id("m")}}}","properties":{"order_id":"{{{Id("o")}}}","total":10}}],"sentAt":"2026-03-01T12:00:00Z"}""";
        var h = header == "BASIC-STAGING" ? Basic("staging", "hunter2") : header;
        using var response = await server.Http.SendAsync(Post("v1/batch", json, h));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);

        // The body's key names the source (the backend key's channel), as it does without a header; a single call too.
        Assert.Equal("server", Assert.Single(p.Timeline, t => t.Type == EventTypes.OrderPlaced).Channel);
        var single = $$"""{"writeKey":"{{TrackingServer.WebsiteKey}}","userId":"{{user}}","event":"Ping","messageId":"{{Id("m")}}"}""";
        using var call = await server.Http.SendAsync(Post("v1/t", single, h));
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
    }

    // Segment's own 401 names no key and says nothing of which part was wrong; here too: a missing key, a wrong one, the
    // key sent as the password (user name empty), a wrong header beside no body key, and a wrong body key all get one
    // answer, so a caller cannot tell a near miss from nothing.
    [Theory]
    [InlineData("missing")]
    [InlineData("wrong")]
    [InlineData("password")]
    [InlineData("bodyWrong")]
    [InlineData("bearerAndBodyWrong")]
    public async Task NoKnownKey_Is401_WithOneAnswerWhateverWasSent(string how)
    {
        var json = how is "bodyWrong" or "bearerAndBodyWrong"
            ? """{"writeKey":"wk_website_0123456789abcdeX","userId":"u61-x","event":"Ping"}"""
            : """{"userId":"u61-x","event":"Ping"}""";
        var header = how switch
        {
            "wrong" => Basic("wk_website_0123456789abcdeX"),
            "password" => Basic("", TrackingServer.WebsiteKey),
            "bearerAndBodyWrong" => "Bearer " + TrackingServer.WebsiteKey,
            _ => null,
        };
        using var response = await server.Http.SendAsync(Post("v1/track", json, header));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        var body = await BodyAsync(response);
        Assert.Equal(["success", "error"], body.Select(p => p.Key));
        Assert.Equal("no configured write key (TrackingApiOptions.WriteKeys) was sent: send one as HTTP Basic (the key as the user name, an empty password), else as \"writeKey\" in the body, else as \"writeKey\" in the query", (string)body["error"]!);
        Assert.DoesNotContain(server.Logs, l => l.Contains("0123456789abcde", StringComparison.Ordinal));
    }

    // A header that names no key, beside a body that cannot name one (empty, not JSON): 401 as before, not a 400 about
    // the body.
    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    public async Task AWrongHeader_BesideABodyThatNamesNoKey_IsStill401(string body)
    {
        using var response = await server.Http.SendAsync(Post("v1/track", body, Basic("wk_website_0123456789abcdeX")));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    // analytics-next since April 2026 (segmentio/analytics-next#1342, "Improve HTTP response handling and retry behavior")
    // sends `Authorization: Basic` and, on a retry, `X-Retry-Count` from the browser, beside its `text/plain` body: a
    // shop's pages on another origin now make a CORS preflight for /t, /i, /p, /b… The README's policy (origins, any
    // header, POST and GET, `Retry-After` exposed so the client can read its wait) on the returned group answers it.
    [Fact]
    public async Task APreflightOfAnalyticsNext_IsAnsweredOnEveryPath_ByThePolicyTheReadmeGives_Held()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddCors(o => o.AddPolicy("tracking", p => p
            .WithOrigins("https://shop.example").AllowAnyHeader().WithMethods("POST", "GET").WithExposedHeaders("Retry-After")));
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = "aspnetcore-tests-hash-key-not-a-secret-000061")
            .AddTrackingApi(o => o.WriteKeys.Add(new TrackingWriteKey { Key = TrackingServer.WebsiteKey, Source = "website" }));
        await using var app = builder.Build();
        app.UseCors();
        app.MapOmnichannelTracking("/v1").RequireCors("tracking");
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        using var http = new HttpClient();
        foreach (var path in new[] { "v1/t", "v1/i", "v1/p", "v1/s", "v1/g", "v1/a", "v1/b", "v1/batch", "v1/track" })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri(address, path));
            preflight.Headers.Add("Origin", "https://shop.example");
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,x-retry-count");
            using var answer = await http.SendAsync(preflight);
            Assert.True(answer.IsSuccessStatusCode, $"{path}: {(int)answer.StatusCode}");
            Assert.Equal("https://shop.example", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("authorization", string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        }

        var user = Id("u61-cors");
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "v1/b"))
        {
            Content = new StringContent($$$"""{"writeKey":"{{{TrackingServer.WebsiteKey}}}","batch":[{"type":"track","userId":"{{{user}}}","event":"Ping","messageId":"{{{Id("m")}}}"}],"sentAt":"2026-03-01T12:00:00.000Z"}""", Encoding.UTF8, "text/plain"),
        };
        post.Headers.Add("Origin", "https://shop.example");
        post.Headers.Add("X-Retry-Count", "1");
        post.Headers.TryAddWithoutValidation("Authorization", Basic(TrackingServer.WebsiteKey));
        using var posted = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal("https://shop.example", posted.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("Retry-After", posted.Headers.GetValues("Access-Control-Expose-Headers").Single());
        await app.StopAsync();
    }

    // .NET's and curl's clients send `Expect: 100-continue` before a large body (curl past 1 KB): the server must send the
    // interim 100 (or answer at once) rather than leave the client waiting out its timeout, and read the body after it.
    [Theory]
    [InlineData(TrackingServer.WebsiteKey, HttpStatusCode.OK)]
    [InlineData("wk_website_0123456789abcdeX", HttpStatusCode.Unauthorized)]
    public async Task AClientThatExpects100Continue_IsAnswered_Held(string key, HttpStatusCode expected)
    {
        var user = Id("u61-expect");
        var padding = new string('x', 8_000);
        using var request = Post("v1/batch", $$$"""{"batch":[{"type":"track","userId":"{{{user}}}","event":"Ping","messageId":"{{{Id("m")}}}","properties":{"pad":"{{{padding}}}"}}]}""", Basic(key));
        request.Headers.ExpectContinue = true;
        using var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler);
        using var response = await http.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK, await server.Client.GetProfileAsync(Identifier.CustomerId(user)) is not null);
    }

    // HTTP/1.1 keep-alive with pipelined requests (analytics-python's requests.Session, analytics-go's http.Client and
    // analytics-node's keep-alive agent reuse connections): a request refused before its body is read (401) must not leave
    // its body on the connection to be read as the next request.
    [Fact]
    public async Task ARefusedRequestsBody_IsNotReadAsTheNextPipelinedRequest_Held()
    {
        var user = Id("u61-pipe");
        string Request(string key, string json, bool last) =>
            $"POST /v1/track HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nAuthorization: {Basic(key)}\r\nContent-Type: application/json\r\n" +
            $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n{(last ? "Connection: close\r\n" : string.Empty)}\r\n{json}";
        var refused = Request("wk_website_0123456789abcdeX", """{"userId":"u61-pipe-refused","event":"Ping","messageId":"u61-pipe-r"}""", last: false);
        var accepted = Request(TrackingServer.WebsiteKey, $$"""{"userId":"{{user}}","event":"Ping","messageId":"{{Id("m")}}"}""", last: true);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(refused + accepted));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var all = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var statuses = all.Split("\r\n").Where(l => l.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)).Select(l => l[9..12]).ToArray();
        Assert.Equal(["401", "200"], statuses);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
        Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId("u61-pipe-refused")));
    }

    // A client that timed out resends its batch while the first request is still being stored (analytics-node's
    // httpRequestTimeout of 10 s, analytics-python's timeout of 15 s, then a retry with the same messageIds): one order,
    // counted once; each answer accounts for every message.
    [Fact]
    public async Task ABatchResentWhileTheFirstIsStillBeingStored_IsOneOrder_Held()
    {
        var user = Id("u61-retry");
        var order = Id("o");
        var batch = $$$"""
            {"batch":[
              {"type":"identify","userId":"{{{user}}}","messageId":"{{{Id("m")}}}","traits":{"first_name":"Ana"}},
              {"type":"track","userId":"{{{user}}}","event":"Product Added","messageId":"{{{Id("m")}}}","properties":{"product_id":"p-1","price":5,"quantity":2}},
              {"type":"track","userId":"{{{user}}}","event":"Order Completed","messageId":"{{{Id("m")}}}","properties":{"order_id":"{{{order}}}","total":10,"currency":"USD","products":[{"product_id":"p-1","price":5,"quantity":2}]}}
            ]}
            """;
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.PostAsync("batch", batch, TrackingServer.BackendKey)));
        var accepted = 0;
        var duplicates = 0;
        foreach (var answer in answers)
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var body = await BodyAsync(answer);
            Assert.Equal(3, (int)body["accepted"]! + (int)body["duplicates"]!);
            accepted += (int)body["accepted"]!;
            duplicates += (int)body["duplicates"]!;
        }

        Assert.Equal(3, accepted);
        Assert.Equal(9, duplicates);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(10m, p.Statistics.TotalSpent);
    }
}
