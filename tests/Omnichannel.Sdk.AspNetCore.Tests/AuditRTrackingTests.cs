using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit R: bug classes from public reports of comparable ingestion endpoints (RudderStack, PostHog, Sentry Relay,
/// Segment's libraries), each replayed against the tracking API.
/// </summary>
public sealed class AuditRTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private Task<HttpResponseMessage> PostBytesAsync(string call, byte[] bytes, string contentType, string? scheme = "Basic")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (scheme is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", scheme + " " + Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey + ":")));
        }

        return server.Http.SendAsync(request);
    }

    private static string Track(string user, string messageId, string extra = "") =>
        $$"""{"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{messageId}}"{{extra}}}""";

    [Theory]
    [InlineData(1777629600000L)] // milliseconds since the epoch (customerio-node #160; logstash #10369)
    [InlineData(1777629600L)]    // seconds
    public async Task AnEpochNumberTimestamp_IsRefusedWithItsField_NotReadAsAnotherTime(long epoch)
    {
        var response = await server.PostAsync("track", Track(Id("user"), Id("m"), $",\"timestamp\":{epoch}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await BodyAsync(response))["errors"]!.AsArray());
        Assert.Equal("timestamp", (string)error!["field"]!);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z")]
    [InlineData("9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z")]
    public async Task AClockCorrectionOutOfRange_IsRefusedWithTheTimestampField_NotAnUnreadableMessage(string timestamp, string sentAt)
    {
        // Sentry Relay #534 ("fragile clock drift correction"): receivedAt − (sentAt − timestamp) is computed from two
        // client clocks; a broken one put it outside DateTimeOffset's range, and the message "could not be read".
        var response = await server.PostAsync("track", Track(Id("user"), Id("m"), $",\"timestamp\":\"{timestamp}\",\"sentAt\":\"{sentAt}\""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var fields = (await BodyAsync(response))["errors"]!.AsArray().Select(e => (string)e!["field"]!).ToList();
        Assert.Contains("timestamp", fields);
    }

    [Theory]
    [InlineData("utf-16")]   // .NET's StringContent(json, Encoding.Unicode) labels its body so
    [InlineData("utf-16le")]
    [InlineData("utf-16be")]
    [InlineData("iso-8859-1")] // PHP clients that never converted to UTF-8, honest about it
    public async Task ABodyInTheCharsetItsContentTypeNames_IsRead(string charset)
    {
        // RFC 7159 allowed UTF-16 and UTF-32 JSON; ASP.NET Core's own ReadFromJsonAsync transcodes by the declared
        // charset. A body whose Content-Type names its charset was a 400 ("not valid JSON"), which clients drop.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Search","properties":{"query":"café"},"messageId":"{{Id("m")}}"}""";
        var encoding = Encoding.GetEncoding(charset);

        var response = await PostBytesAsync("track", encoding.GetBytes(json), $"application/json; charset={charset}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Theory]
    [InlineData("utf-16LE")]
    [InlineData("utf-16BE")]
    [InlineData("utf-32LE")]
    public async Task AnUnlabelledUtf16Or32Body_WithOrWithoutItsByteOrderMark_IsRead(string name)
    {
        // PowerShell 5's Out-File and .NET's StreamWriter(Encoding.Unicode) write UTF-16 with a byte-order mark and a
        // plain application/json label; RFC 4627 section 3 tells the encoding from the first bytes.
        foreach (var bom in new[] { true, false })
        {
            var encoding = name switch
            {
                "utf-16LE" => (Encoding)new UnicodeEncoding(bigEndian: false, byteOrderMark: bom),
                "utf-16BE" => new UnicodeEncoding(bigEndian: true, byteOrderMark: bom),
                _ => new UTF32Encoding(bigEndian: false, byteOrderMark: bom),
            };
            var user = Id("user");
            var response = await PostBytesAsync("batch", [.. encoding.GetPreamble(), .. encoding.GetBytes($$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Search","properties":{"query":"café ☕"},"messageId":"{{Id("m")}}"}]}""")], "application/json");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, (int)(await BodyAsync(response))["accepted"]!);
        }
    }

    [Fact]
    public async Task ASentAtFromABrokenClock_ThatCannotCorrectTheTimestamp_LeavesItAsSent()
    {
        // As an unreadable sentAt: the transport's stamp corrects the event's time or nothing; it never loses the event.
        var user = Id("user");
        var response = await server.PostAsync("track", Track(user, Id("m"), ",\"timestamp\":\"2026-03-01T10:00:00Z\",\"sentAt\":\"9999-12-31T00:00:00Z\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entry = Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), entry.Timestamp);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/plain;charset=UTF-8")]
    [InlineData("application/x-www-form-urlencoded")] // curl -d without -H
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=UTF8")]
    public async Task AJsonBodyUnderAnyContentType_IsRead(string contentType)
    {
        var user = Id("user");
        var response = await PostBytesAsync("track", Encoding.UTF8.GetBytes(Track(user, Id("m"))), contentType);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("BASIC")]
    public async Task TheBasicSchemeInAnyCase_Authenticates(string scheme)
    {
        // RFC 9110 §11.1: the auth scheme is case-insensitive.
        var user = Id("user");
        var response = await PostBytesAsync("track", Encoding.UTF8.GetBytes(Track(user, Id("m"))), "application/json", scheme);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AnEmptyBatch_Is200WithNothingAccepted()
    {
        // analytics-node flushes on a timer; an empty flush must not be an error the client logs or retries.
        var response = await server.PostAsync("batch", """{"batch":[],"sentAt":"2026-05-01T10:00:00Z"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(0, (int)body["accepted"]!);
        Assert.Null(body["rejected"]);
    }

    [Theory]
    [InlineData("1e400")]                    // beyond double
    [InlineData("123456789012345678901234567890")] // beyond decimal and long
    [InlineData("-0")]
    [InlineData("1.0E+2")]
    [InlineData("0.1000000000000000055511151231257827")]
    public async Task AnOrderWithAnExtremeNumericTotal_IsStoredOrRefusedWithItsField_NeverA5xx(string total)
    {
        // analytics-python and -go send whatever number the app computed; RudderStack and PostHog report events lost to
        // numbers their readers could not hold.
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":{{total}},"currency":"EUR"},"messageId":"{{Id("m")}}"}
            """);

        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await BodyAsync(response))["errors"]!.AsArray()[0]!;
            Assert.StartsWith("properties", (string)error["field"]!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KeysThatDifferOnlyInCase_AreTwoKeys_NotARepeatedKey()
    {
        // JSON keys are case-sensitive; a case-insensitive reader (Jackson's ACCEPT_CASE_INSENSITIVE_PROPERTIES, a
        // Postgres citext column) merged "Total" and "total" or refused them as repeated.
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1","Color":"Red","color":"red"},
             "context":{"traits":{"Plan":"a","plan":"b"} },"messageId":"{{Id("m")}}"}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TheSameMessageSentConcurrently_IsStoredOnce()
    {
        // analytics.js retries a request whose answer is slow while the first is still in flight (its retry queue);
        // Both copies arriving together must not both be stored.
        var user = Id("user");
        var message = $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":10,"currency":"EUR"},"messageId":"{{Id("m")}}"}""";

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => server.PostAsync("track", message)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    [Fact]
    public async Task AFullBatchForOneUser_StoresEveryMessage()
    {
        // Offline mobile clients flush their whole queue for one user at once (analytics-kotlin's 1,000-event queue).
        var user = Id("user");
        const int n = 100;
        var batch = string.Join(",", Enumerable.Range(0, n).Select(i =>
            $$"""{"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o{{i}}","total":1,"currency":"EUR"},"messageId":"{{Id("m")}}","timestamp":"2026-03-01T10:{{i / 60:00}}:{{i % 60:00}}Z"}"""));

        var response = await server.PostAsync("batch", $$"""{"batch":[{{batch}}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(n, (int)(await BodyAsync(response))["accepted"]!);
        Assert.Equal(n, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    [Fact]
    public async Task ARejectedMessage_FixedAndResentWithTheSameMessageId_IsStored()
    {
        // A messageId is recorded only for what was stored: a client that fixes a 400 and resends it (same id) must not
        // get a silent "duplicate".
        var user = Id("user");
        var messageId = Id("m");
        var bad = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{messageId}}","timestamp":"yesterday"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var good = await server.PostAsync("batch", $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{messageId}}"}]}""");

        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(1, (int)(await BodyAsync(good))["accepted"]!);
    }
}
