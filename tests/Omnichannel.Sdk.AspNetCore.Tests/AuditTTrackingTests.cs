using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit T: message ids, body encodings and client clocks as real tracking clients send them.</summary>
public sealed class AuditTTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private Task<HttpResponseMessage> PostRawAsync(string call, byte[] bytes, string? contentEncoding)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding); // lists as clients send them
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey)));
        return server.Http.SendAsync(request);
    }

    private static byte[] Compress(string json, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream();
        using (var z = compressor(output))
        {
            z.Write(Encoding.UTF8.GetBytes(json));
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData(" ")]
    public async Task AWriteKeyWithANewline_AsEchoPipedToBase64Sends_IsAccepted(string trailing)
    {
        // `echo $KEY | base64` encodes the key with echo's newline (and no colon): every request was a 401.
        var user = Id("user");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/track"))
        {
            Content = new StringContent($$"""{"userId":"{{user}}","event":"Product Viewed","timestamp":"2026-03-01T12:00:00Z"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey + trailing)));

        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(request)).StatusCode);
        Assert.NotNull(await server.ProfileAsync(Identifier.CustomerId(user)));
    }

    [Fact]
    public void AConfiguredWriteKeyWithAnEdgeOfWhiteSpace_IsRefusedAtStart()
    {
        var options = new TrackingApiOptions();
        options.WriteKeys.Add(new TrackingWriteKey { Key = "0123456789abcdef0123\n", Source = "website" });

        var error = Assert.Single(options.Validate());
        Assert.Contains("starts or ends with white space", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task ABlankMessageId_IsTreatedAsMissing_NotRejected(string messageId)
    {
        // Hand-written clients (and a PHP client whose uuid extension was missing) send "messageId":"". The event was
        // refused (400, "id is required"), which the client drops; a missing messageId is accepted, so a blank one is too.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-1","total":10,"currency":"EUR"},"timestamp":"2026-03-01T12:00:00Z","messageId":"{{messageId}}"}""";
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", json)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", json)).StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);   // the resend is still a duplicate
    }

    [Fact]
    public async Task WithoutMessageId_AResendWithANewSentAt_IsADuplicate_NotASecondOrder()
    {
        // A client stamps sentAt (and a browser its writeKey) each time it sends; its retry of an order whose answer was
        // lost differs only there. The id made from the message's bytes differed, so the order was counted twice.
        var user = Id("user");
        string Json(string sentAt) =>
            $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-1","total":10,"currency":"EUR"},"timestamp":"2026-03-01T12:00:00.000Z","sentAt":"{{sentAt}}","writeKey":"{{TrackingServer.WebsiteKey}}"}""";
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", Json("2026-03-01T12:00:01.000Z"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", Json("2026-03-01T12:00:31.000Z"))).StatusCode);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);

        // The same inside batches: each message carries its own sentAt (classic analytics.js stamps every attempt).
        var other = Id("user");
        string Batch(string sentAt) =>
            $$"""{"batch":[{"type":"track","userId":"{{other}}","event":"Order Completed","properties":{"order_id":"o-2","total":10,"currency":"EUR"},"timestamp":"2026-03-01T12:00:00.000Z","sentAt":"{{sentAt}}"}]}""";
        Assert.Equal(1, (int)(await BodyAsync(await server.PostAsync("batch", Batch("2026-03-01T12:00:01.000Z"))))["accepted"]!);
        Assert.Equal(1, (int)(await BodyAsync(await server.PostAsync("batch", Batch("2026-03-01T12:01:01.000Z"))))["duplicates"]!);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(other))).Statistics.OrderCount);
    }

    public static TheoryData<string> Deflaters => ["zlib", "raw"];

    [Theory]
    [MemberData(nameof(Deflaters))]
    public async Task DeflateBodies_AreAccepted(string format)
    {
        // Content-Encoding: deflate is the zlib format (RFC 9110, section 8.4.1.2); some clients send raw deflate under that
        // name. Both were answered 400 ("not supported"), which clients do not retry: every event was dropped.
        var user = Id("user");
        var json = $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}]}""";
        var bytes = Compress(json, s => format == "zlib" ? new ZLibStream(s, CompressionLevel.Fastest, leaveOpen: true) : new DeflateStream(s, CompressionLevel.Fastest, leaveOpen: true));
        var response = await PostRawAsync("batch", bytes, "deflate");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Theory]
    [InlineData("gzip", false)]    // says gzip, sends plain JSON (a proxy or CDN decompressed it and kept the header)
    [InlineData("deflate", false)]
    [InlineData(null, true)]       // sends gzip without saying so (a proxy dropped the header)
    [InlineData("x-gzip", true)]   // the old name of gzip (RFC 9110 asks recipients to treat it as gzip)
    public async Task ABodyIsReadForWhatItIs_WhenItsContentEncodingLiesOrIsOld(string? contentEncoding, bool gzipped)
    {
        // PostHog's ingestion reads a body by its magic bytes for the same reason: a 400 here loses the events for good.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}""";
        var bytes = gzipped ? Compress(json, s => new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true)) : Encoding.UTF8.GetBytes(json);
        var response = await PostRawAsync("track", bytes, contentEncoding);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Theory]
    [InlineData("deflate, identity")] // a proxy appended its own coding to the list
    [InlineData("identity, deflate")]
    [InlineData("Deflate ,")]
    public async Task AContentEncodingList_WithIdentityInIt_IsReadAsItsOneCoding(string contentEncoding)
    {
        // Raw deflate is only recognised by its header (it has no magic bytes), so the list must be read, not guessed.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}""";
        var bytes = Compress(json, s => new DeflateStream(s, CompressionLevel.Fastest, leaveOpen: true));
        var response = await PostRawAsync("track", bytes, contentEncoding);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Fact]
    public async Task AnUnknownContentEncoding_AndBrokenGzip_Are400WithTheReason()
    {
        var zstd = await PostRawAsync("track", [1, 2, 3, 4], "zstd"); // br is read since audit U64
        Assert.Equal(HttpStatusCode.BadRequest, zstd.StatusCode);
        Assert.Contains("zstd", (string)(await BodyAsync(zstd))["error"]!, StringComparison.Ordinal);
        var twice = await PostRawAsync("track", [1, 2, 3, 4], "deflate, gzip"); // two real codings: not read
        Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
        var broken = await PostRawAsync("track", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2], "gzip");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
    }
}

/// <summary>Audit T: a message's times, read by the mapper against a fake clock.</summary>
public sealed class AuditTTimestampTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 5, 2, 12, 0, 0, TimeSpan.Zero));

    private static MappedMessage Map(string json, DateTimeOffset? batchSentAt = null)
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        using var doc = JsonDocument.Parse(json);
        return mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, Clock.GetUtcNow(), batchSentAt, null));
    }

    [Theory]
    [InlineData("2026-05-01T10:00Z")]                         // no seconds
    [InlineData("2026-05-01T10:00:00Z")]                      // no fraction
    [InlineData("2026-05-01T10:00:00.000000000Z")]            // Go's RFC3339Nano, nine digits
    [InlineData("2026-05-01T12:00:00.0000000+02:00")]         // .NET's "O", seven digits, an offset
    [InlineData("2026-05-01T10:00:00.000000+00:00")]          // Python's isoformat()
    [InlineData("2026-05-01T10:00:00+0000")]                  // strftime's %z, no colon
    [InlineData("2026-05-01t10:00:00z")]                      // RFC 3339 allows lower case
    [InlineData("2026-05-01 10:00:00Z")]                      // RFC 3339 allows a space
    [InlineData("2026-05-01T10:00:00.0000000000000000001Z")]  // more digits than System.Text.Json reads
    public void OddButValidIsoTimestamps_AreRead(string stamp)
    {
        var mapped = Map($$"""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"{{stamp}}"}""");
        Assert.Empty(mapped.Errors);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), mapped.Event!.Timestamp);
    }

    [Theory]
    [InlineData("10:00")]                       // a time alone was dated today by the server's own clock
    [InlineData("12")]
    [InlineData("yesterday")]
    [InlineData("2026-02-30T10:00:00Z")]
    [InlineData("2026-05-01T24:00:01Z")]
    public void InvalidTimestamps_AreRejectedWithTheirField(string stamp)
    {
        var mapped = Map($$"""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"{{stamp}}"}""");
        Assert.Null(mapped.Event);
        Assert.Equal("timestamp", Assert.Single(mapped.Errors).Field);
    }

    [Fact]
    public void ClockSkew_TimestampOriginalTimestampAndSentAt_FollowSegmentsRule()
    {
        var receivedAt = Clock.GetUtcNow();
        // originalTimestamp and sentAt on a clock 1 h fast: receivedAt − (sentAt − originalTimestamp).
        var a = Map("""{"type":"track","userId":"u","event":"E","messageId":"m","originalTimestamp":"2026-05-02T12:50:00Z","sentAt":"2026-05-02T13:00:00Z"}""");
        Assert.Equal(receivedAt.AddMinutes(-10), a.Event!.Timestamp);
        // the batch's sentAt applies to its messages
        var b = Map("""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"2026-05-02T10:55:00+00:00"}""", new DateTimeOffset(2026, 5, 2, 11, 0, 0, TimeSpan.Zero));
        Assert.Equal(receivedAt.AddMinutes(-5), b.Event!.Timestamp);
        // an explicit timestamp with originalTimestamp is kept as it is
        var c = Map("""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"2026-04-01T00:00:00Z","originalTimestamp":"2026-05-02T12:50:00Z","sentAt":"2026-05-02T13:00:00Z"}""");
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), c.Event!.Timestamp);
    }

    [Fact]
    public void AnUnreadableSentAt_IsIgnored_NotTheEventsLoss()
    {
        // sentAt is the transport's stamp, not the event's: the batch's own unreadable sentAt was already ignored, a
        // message's made the message a 400 that the client drops.
        var mapped = Map("""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"2026-05-01T10:00:00Z","sentAt":"Sat May 02 2026 14:00:00 GMT+0200 (CEST)"}""");
        Assert.Empty(mapped.Errors);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), mapped.Event!.Timestamp);
    }
}
