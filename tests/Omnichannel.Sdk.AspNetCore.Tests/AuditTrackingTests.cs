using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit: odd but legitimate inputs to the tracking API.</summary>
public sealed class AuditTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private Task<HttpResponseMessage> PostBytesAsync(string call, byte[] bytes)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey + ":")));
        return server.Http.SendAsync(request);
    }

    [Fact]
    public async Task ABodyWithAUtf8ByteOrderMark_IsAccepted_NotDroppedWith400()
    {
        // RFC 8259 §8.1: parsers MAY ignore a BOM. .NET Framework's StreamWriter / PowerShell 5 write one by default; a 400
        // makes the client drop the events for good.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}""";
        var response = await PostBytesAsync("track", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json)]);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
    }

    [Theory]
    [InlineData(70)]
    [InlineData(900)]
    public async Task ABatchWithOneDeeplyNestedMessage_RejectsThatMessageAlone_AndStoresTheOthers(int depth)
    {
        // A message nested 40 levels deep is rejected alone (the engine's 32-level limit); one nested 70 levels deep made the
        // whole body "not valid JSON" (System.Text.Json's default MaxDepth of 64): 400 for the batch, so the client drops
        // every good event with it.
        var user = Id("user");
        var good = Id("m");
        var deep = new string('[', depth) + new string(']', depth);
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{good}}"},
              {"type":"track","userId":"{{user}}","event":"Debug Dump","properties":{"tree":{{deep}} },"messageId":"{{Id("m")}}"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.Equal(1, (int)body["rejected"]![0]!["index"]!);
        Assert.Contains((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.EventId == good);
    }

    [Fact]
    public async Task ABatchLevelContext_AppliesToEveryMessageOfTheBatch()
    {
        // The HTTP API's batch call takes a top-level context (and integrations) that applies to every call of the
        // request (Segment; Customer.io's compatible API: "the context and integrations objects apply to all calls in the
        // request"). It was ignored: the email in context.traits was never linked and the time zone never learned.
        var anon = Id("anon");
        var email = $"{Guid.NewGuid():N}@example.com";
        var response = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","anonymousId":"{{anon}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}],
             "context":{"timezone":"Europe/Paris","locale":"fr-FR","traits":{"email":"{{email}}"} } }
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var profile = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Equal("Europe/Paris", profile.TimeZone);
        Assert.Equal("fr-FR", profile.Locale);
        Assert.True(profile.Has(Identifier.Email(email)));
    }

    [Theory]
    [InlineData("phone", "07700 900461")]   // a UK mobile, read in the default country (+1) as "not a possible length"
    [InlineData("email", "ann@gmail")]      // a typo the shop's sign-up form let through
    public async Task AnUnusableIdentifierInContextTraits_DoesNotLoseTheOrder(string trait, string value)
    {
        // Segment's mobile libraries copy the user's stored traits into context.traits on every event. One malformed
        // stored phone or email then made every later event of that user a 400, orders included, which the client drops.
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-1","total":10,"currency":"EUR"},
             "context":{"traits":{"{{trait}}":"{{value}}","first_name":"Ann"} },"messageId":"{{Id("m")}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    [Theory]
    [InlineData(48)]    // the phone's clock is two days fast: the event was refused as "in the future"
    [InlineData(-72)]   // three days slow: the event was dated three days back, outside "within 1 day" windows
    public async Task ClockSkew_ClientLibrariesThatSendTimestampAndSentAt_AreCorrected(int skewHours)
    {
        // analytics.js and Segment's iOS/Android libraries send the device's time as `timestamp` with `sentAt` (no
        // originalTimestamp); Segment takes that timestamp as the original and corrects it by sentAt. Here `timestamp`
        // was taken as it is, so a device with a wrong clock gave wrong times, or lost its events.
        var user = Id("user");
        var skew = TimeSpan.FromHours(skewHours);
        var happened = DateTimeOffset.UtcNow.AddMinutes(-2);
        var before = DateTimeOffset.UtcNow;
        static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{user}}","event":"Video Played","timestamp":"{{Iso(happened + skew)}}","messageId":"{{Id("m")}}"}],
             "sentAt":"{{Iso(before + skew)}}"}
            """);
        var after = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (int)(await BodyAsync(response))["accepted"]!);
        var entry = Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.Type == "video_played");
        Assert.InRange(entry.Timestamp, happened - TimeSpan.FromMilliseconds(5), happened + (after - before) + TimeSpan.FromMilliseconds(5));
    }

    [Fact]
    public async Task AnEventThatFailsTheSameWayEveryTime_IsNotAnsweredWithARetryForTheWholeBatch()
    {
        // TrackStatus.Failed means "cannot be applied and would fail the same way again" (IsTransient = false), here a
        // stored profile document that cannot be read. The endpoint answered 503 for the whole batch, which tracking
        // clients retry: the batch is resent (and fails) again and again, the good events with it.
        var broken = Id("user");
        var stored = await server.Store.Inner.CommitAsync(new Omnichannel.Sdk.Storage.ProfileCommit
        {
            ProfileId = Id("p"),
            ExpectedVersion = 0,
            Document = Encoding.UTF8.GetBytes("{\"id\": "),
            Claims = [new Omnichannel.Sdk.Storage.IdentifierClaim(Identifier.CustomerId(broken), null)],
        });
        Assert.Equal(Omnichannel.Sdk.Storage.CommitStatus.Committed, stored.Status);

        var good = Id("user");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"track","userId":"{{good}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"},
              {"type":"track","userId":"{{broken}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(1, (int)body["accepted"]!);
    }

    [Fact]
    public async Task ABatchWithInvalidUtf8InOneMessage_RejectsThatMessageAlone_AndStoresTheOthers()
    {
        // A client that sends one Latin-1 string (0xE9 for "é", as PHP's utf8-unaware code does) inside an otherwise
        // well-formed batch.
        var user = Id("user");
        var good = Id("m");
        var head = Encoding.UTF8.GetBytes("{\"batch\":[{\"type\":\"track\",\"userId\":\"" + user + "\",\"event\":\"Product Viewed\",\"properties\":{\"product_id\":\"p1\"},\"messageId\":\"" + good
            + "\"},{\"type\":\"track\",\"userId\":\"" + user + "\",\"event\":\"Search\",\"properties\":{\"query\":\"caf");
        var tail = Encoding.UTF8.GetBytes("\"},\"messageId\":\"" + Id("m") + "\"}]}");
        var response = await PostBytesAsync("batch", [.. head, 0xE9, .. tail]);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.EventId == good);
    }

    [Fact]
    public async Task AnOverlongOptionalContextField_DoesNotLoseTheOrder()
    {
        // context.campaign.name comes from a utm_campaign URL parameter, which the shop does not control. Over 256
        // characters, the whole Order Completed was refused (400): the order is lost because of an optional attribution
        // field. The order should be stored (the over-long context value dropped or cut).
        var user = Id("user");
        var campaign = new string('c', 300);
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-1","total":10,"currency":"EUR"},
             "context":{"campaign":{"name":"{{campaign}}","source":"newsletter"} },"messageId":"{{Id("m")}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }
}

[CollectionDefinition(nameof(LocalTimeZoneCollection), DisableParallelization = true)]
public sealed class LocalTimeZoneCollection;

[Collection(nameof(LocalTimeZoneCollection))]
public sealed class AuditTimestampTests
{
    [Theory]
    [InlineData("2026-05-01T10:00:00")]
    [InlineData("2026-05-01T10:00:00.000")]
    public void ATimestampWithoutOffset_IsReadAsUtc_WhateverTheServersTimeZone(string stamp)
    {
        // The second parser (DateTimeOffset.TryParse) assumes UTC; the first (JsonElement.TryGetDateTimeOffset) reads a
        // stamp without offset in the server's local time zone, so the same message gets another time on another server.
        var old = Environment.GetEnvironmentVariable("TZ");
        try
        {
            Environment.SetEnvironmentVariable("TZ", "America/New_York");
            TimeZoneInfo.ClearCachedData();
            var mapper = new SpecMessageMapper(new TrackingApiOptions());
            var facts = new RequestFacts(new TrackingWriteKey { Source = "s" }, new DateTimeOffset(2026, 5, 2, 0, 0, 0, TimeSpan.Zero), null, null);
            using var doc = JsonDocument.Parse($$"""{"type":"track","userId":"u","event":"E","messageId":"m","timestamp":"{{stamp}}"}""");
            var mapped = mapper.Map(doc.RootElement, null, facts);
            Assert.Equal(new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), mapped.Event!.Timestamp);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TZ", old);
            TimeZoneInfo.ClearCachedData();
        }
    }
}

public sealed class AuditWriteKeyTests
{
    [Fact]
    public void ALongWriteKey_ThatTheOptionsAccept_AuthenticatesOverHttpBasic()
    {
        // The options accept any key of 16 characters or more, but the Basic header was decoded into a 512-byte buffer:
        // a key over about 380 characters (a JWT-like or base64 secret from a vault) never authenticated.
        var key = new string('k', 600);
        var options = new TrackingApiOptions();
        options.WriteKeys.Add(new TrackingWriteKey { Key = key, Source = "backend" });
        Assert.Empty(options.Validate());
        var authenticator = new WriteKeyAuthenticator(options.WriteKeys);
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":"));
        Assert.Equal("backend", authenticator.Authenticate(header)?.Source);
    }
}
