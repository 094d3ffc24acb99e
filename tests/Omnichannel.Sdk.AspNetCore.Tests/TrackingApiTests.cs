using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Requests shaped exactly like the Segment HTTP Tracking API's, sent to a real Kestrel endpoint.</summary>
public sealed class TrackingApiTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    [Fact]
    public async Task AnonymousVisitor_PageViewsAndCart_ThenIdentifyAtLogin_MergesIntoTheKnownProfileAndKeepsTheCart()
    {
        var anon = Id("anon");
        var user = Id("user");
        var email = $"{Guid.NewGuid():N}@example.com";
        var now = DateTimeOffset.UtcNow;

        // An existing customer profile (known by user id and email) from an earlier visit.
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("identify", $$"""
            {"userId":"{{user}}","traits":{"email":"{{email}}","first_name":"Clara"},"messageId":"{{Id("m")}}","timestamp":"{{Iso(now.AddDays(-3))}}"}
            """)).StatusCode);

        // The anonymous visitor browses and fills her cart.
        foreach (var (path, title) in new[] { ("/", "Home"), ("/cats/towers", "Cat towers") })
        {
            var page = await server.PostAsync("page", $$"""
                {"anonymousId":"{{anon}}","name":"{{title}}","properties":{"path":"{{path}}","url":"https://shop.example{{path}}","title":"{{title}}"},
                 "context":{"locale":"es-MX","timezone":"America/Mexico_City","campaign":{"name":"spring","source":"newsletter","medium":"email"} },
                 "messageId":"{{Id("m")}}","timestamp":"{{Iso(now.AddMinutes(-10))}}"}
                """);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal(true, (bool?)(await BodyAsync(page))["success"]);
        }

        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", $$"""
            {"anonymousId":"{{anon}}","event":"Product Added","properties":{"cart_id":"c-1","product_id":"tower-xl","sku":"TX-1","name":"Tower XL","price":89.9,"quantity":1,"currency":"eur"},
             "messageId":"{{Id("m")}}","timestamp":"{{Iso(now.AddMinutes(-5))}}"}
            """)).StatusCode);

        var before = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Single(before.Cart);
        Assert.True(before.IsInSegment("cart-builders"));
        Assert.Equal("es-MX", before.Locale);
        Assert.Equal("America/Mexico_City", before.TimeZone);

        // Login: identify with the user id and the anonymous id the client kept.
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("identify", $$"""
            {"userId":"{{user}}","anonymousId":"{{anon}}","traits":{"email":"{{email}}","plan":"gold"},"messageId":"{{Id("m")}}","timestamp":"{{Iso(now.AddMinutes(-1))}}"}
            """)).StatusCode);

        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(profile.Id, (await server.ProfileAsync(Identifier.AnonymousId(anon))).Id);
        Assert.True(profile.Has(Identifier.Email(email)));
        var line = Assert.Single(profile.Cart);
        Assert.Equal("tower-xl", line.ProductId);
        Assert.Equal(89.9m, line.UnitPrice);
        Assert.Equal("EUR", line.Currency);
        Assert.True(profile.IsInSegment("cart-builders"));
        Assert.Equal("Clara", profile.Traits["first_name"]!.GetValue<string>());
        Assert.Equal("gold", profile.Traits["plan"]!.GetValue<string>());
        Assert.Equal(2, profile.Timeline.Count(t => t.Type == "page.viewed"));
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.CartItemAdded);
        Assert.Equal(2, profile.Timeline.Count(t => t.Type == "user.identified"));
    }

    [Fact]
    public async Task EveryEcommerceEventOfTheSpec_BecomesTheWellKnownType_WithOrderTotalsAndProducts()
    {
        var user = Id("user");
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        var n = 0;
        string Msg(string name, string props) =>
            $$"""{"type":"track","userId":"{{user}}","event":"{{name}}","properties":{{props}},"messageId":"{{Id("m")}}","timestamp":"{{Iso(t0.AddMinutes(n++))}}"}""";
        var batch = $$"""
            {"batch":[
              {{Msg("Products Searched", """{"query":"cat tower"}""")}},
              {{Msg("Product Viewed", """{"product_id":"tower-xl","name":"Tower XL","price":89.9,"currency":"EUR"}""")}},
              {{Msg("Product Added", """{"product_id":"tower-xl","price":89.9,"quantity":2,"currency":"EUR"}""")}},
              {{Msg("Product Added", """{"sku":"mouse-toy","price":4.5,"quantity":1,"currency":"EUR"}""")}},
              {{Msg("Product Removed", """{"product_id":"tower-xl","quantity":1}""")}},
              {{Msg("Cart Viewed", """{"cart_id":"c-9"}""")}},
              {{Msg("Product Added to Wishlist", """{"product_id":"bed-round","name":"Round bed"}""")}},
              {{Msg("Checkout Started", """{"order_id":"o-1","value":94.4,"revenue":94.4,"currency":"EUR"}""")}},
              {{Msg("Order Completed", """{"order_id":"o-1","revenue":94.4,"currency":"EUR","products":[{"product_id":"tower-xl","quantity":1,"price":89.9},{"product_id":"mouse-toy","quantity":1,"price":4.5}]}""")}},
              {{Msg("Order Completed", """{"order_id":"o-2","total":20,"revenue":18,"currency":"EUR","products":[{"product_id":"food","quantity":2,"price":10}]}""")}},
              {{Msg("Order Refunded", """{"order_id":"o-2","total":20,"currency":"EUR"}""")}},
              {{Msg("Order Cancelled", """{"order_id":"o-2"}""")}},
              {{Msg("Signed Up", """{"plan":"free"}""")}}
            ],"sentAt":"{{Iso(DateTimeOffset.UtcNow)}}"}
            """;
        var response = await server.PostAsync("batch", batch);
        var body = await BodyAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(13, (int)body["accepted"]!);
        Assert.Null(body["rejected"]);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(
            [EventTypes.ProductSearched, EventTypes.ProductViewed, EventTypes.CartItemAdded, EventTypes.CartItemAdded, EventTypes.CartItemRemoved,
             EventTypes.CartViewed, EventTypes.WishlistItemAdded, EventTypes.CheckoutStarted, EventTypes.OrderPlaced, EventTypes.OrderPlaced,
             EventTypes.OrderReturned, EventTypes.OrderCancelled, "signed_up"],
            p.Timeline.Where(t => !t.Type.StartsWith("segment.", StringComparison.Ordinal)).OrderBy(t => t.Timestamp).Select(t => t.Type));
        Assert.Equal(2, p.Statistics.OrderCount);
        Assert.Equal(114.4m, p.Statistics.TotalSpent);      // revenue when there is no total; total when both are given
        Assert.Equal(1, p.Statistics.ReturnCount);
        Assert.Equal(1, p.Statistics.CancelledOrderCount);
        Assert.Empty(p.Cart);                                // the order emptied it
        Assert.Equal("bed-round", Assert.Single(p.Wishlist).ProductId);
        Assert.True(p.IsInSegment("customers"));
        Assert.False(p.IsInSegment("cart-builders"));
    }

    [Fact]
    public async Task Alias_LinksThePreviousIdToTheUserId()
    {
        var anon = Id("anon");
        var user = Id("user");
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", $$"""{"anonymousId":"{{anon}}","event":"Product Added","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("identify", $$"""{"userId":"{{user}}","traits":{"name":"Ann"},"messageId":"{{Id("m")}}"}""")).StatusCode);
        Assert.NotEqual((await server.ProfileAsync(Identifier.AnonymousId(anon))).Id, (await server.ProfileAsync(Identifier.CustomerId(user))).Id);

        var alias = await server.PostAsync("alias", $$"""{"previousId":"{{anon}}","userId":"{{user}}","messageId":"{{Id("m")}}"}""");
        Assert.Equal(HttpStatusCode.OK, alias.StatusCode);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.True(p.Has(Identifier.AnonymousId(anon)));
        Assert.Equal("p1", Assert.Single(p.Cart).ProductId);
        Assert.Contains(p.Timeline, t => t.Type == "user.aliased");
    }

    [Fact]
    public async Task Alias_WithoutPreviousId_Is400()
    {
        var response = await server.PostAsync("alias", $$"""{"userId":"{{Id("user")}}","messageId":"{{Id("m")}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(((await BodyAsync(response))["errors"] as JsonArray)!, e => (string?)e!["field"] == "previousId");
    }

    [Fact]
    public async Task BatchWithOneMalformedMessage_StoresTheOthers_AndListsTheBadOne()
    {
        var anon = Id("anon");
        var good1 = Id("m");
        var bad = Id("m");
        var good2 = Id("m");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"page","anonymousId":"{{anon}}","name":"Home","messageId":"{{good1}}"},
              {"type":"track","anonymousId":"{{anon}}","properties":{"product_id":"p1"},"messageId":"{{bad}}"},
              {"type":"track","anonymousId":"{{anon}}","event":"Product Added","properties":{"product_id":"p2","quantity":1},"messageId":"{{good2}}"},
              {"type":"teleport","anonymousId":"{{anon}}"},
              "not an object",
              {"type":"track","event":"Product Viewed","properties":{"product_id":"p3"} },
              {"type":"track","anonymousId":"{{anon}}","event":"Product Added","properties":{"quantity":1},"messageId":"{{Id("m")}}"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(2, (int)body["accepted"]!);
        var rejected = body["rejected"]!.AsArray().Select(r => (Index: (int)r!["index"]!, Fields: r["errors"]!.AsArray().Select(e => (string)e!["field"]!).ToList())).OrderBy(r => r.Index).ToList();
        Assert.Equal([1, 3, 4, 5, 6], rejected.Select(r => r.Index));
        Assert.Contains("event", rejected[0].Fields);
        Assert.Contains("type", rejected[1].Fields);
        Assert.Contains("message", rejected[2].Fields);
        Assert.Contains("userId", rejected[3].Fields);
        Assert.Contains("properties.product_id", rejected[4].Fields);   // the engine's own validation, with its path

        var p = await server.ProfileAsync(Identifier.AnonymousId(anon));
        Assert.Equal("p2", Assert.Single(p.Cart).ProductId);
        Assert.Contains(p.Timeline, t => t.EventId == good1);
        Assert.DoesNotContain(p.Timeline, t => t.EventId == bad);
    }

    [Fact]
    public async Task BatchWithARepeatedKeyInOneMessage_RejectsThatOneWithItsPath_AndStoresTheOthers()
    {
        // It used to answer 503 ("retry"), which a tracking client obeys for ever: every event of the batch was stuck.
        var user = Id("user");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Order Completed","messageId":"{{Id("m")}}","properties":{"order_id":"o1","total":5,"currency":"eur","currency":"eur"} },
              {"type":"track","userId":"{{user}}","event":"Product Viewed","messageId":"{{Id("m")}}","properties":{"product_id":"p1"} }
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(1, (int)body["accepted"]!);
        var rejected = Assert.Single(body["rejected"]!.AsArray());
        Assert.Equal(0, (int)rejected!["index"]!);
        Assert.Contains("properties.currency", rejected["errors"]!.AsArray().Select(e => (string)e!["field"]!));
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.EventCount);
    }

    [Fact]
    public async Task ClientRetryOfAnAcceptedBatch_IsADuplicate_NotASecondOrder()
    {
        var user = Id("user");
        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-77","total":50,"currency":"EUR"},"messageId":"{{Id("m")}}","timestamp":"{{Iso(DateTimeOffset.UtcNow.AddMinutes(-2))}}"},
              {"type":"track","userId":"{{user}}","event":"Loyalty Card Shown","messageId":"{{Id("m")}}"}
            ],"sentAt":"{{Iso(DateTimeOffset.UtcNow)}}"}
            """;
        var first = await BodyAsync(await server.PostAsync("batch", batch));
        Assert.Equal(2, (int)first["accepted"]!);

        var retry = await server.PostAsync("batch", batch, gzip: true);   // the retry may come compressed
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var second = await BodyAsync(retry);
        Assert.Equal(0, (int)second["accepted"]!);
        Assert.Equal(2, (int)second["duplicates"]!);

        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(50m, p.Statistics.TotalSpent);
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Fact]
    public async Task ClockSkew_WithoutTimestamp_TheEventTimeIsReceivedAtMinusTheClientsSkew()
    {
        var user = Id("user");
        var skew = TimeSpan.FromHours(3);                   // the device's clock is three hours fast
        var happened = DateTimeOffset.UtcNow.AddMinutes(-10);
        var before = DateTimeOffset.UtcNow;
        var response = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{user}}","event":"Video Played","originalTimestamp":"{{Iso(happened + skew)}}","messageId":"{{Id("m")}}"}],
             "sentAt":"{{Iso(before + skew)}}"}
            """);
        var after = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entry = Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.Type == "video_played");
        // receivedAt − (sentAt − originalTimestamp) = receivedAt − (before − happened), receivedAt ∈ [before, after]
        Assert.InRange(entry.Timestamp, happened - TimeSpan.FromMilliseconds(5), happened + (after - before) + TimeSpan.FromMilliseconds(5));
    }

    [Fact]
    public async Task ClockSkew_AnExplicitTimestampWins()
    {
        var user = Id("user");
        var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Coupon Applied","timestamp":"2026-03-01T12:00:00.000Z","originalTimestamp":"2020-01-01T00:00:00Z","sentAt":"2020-01-01T00:00:01Z","messageId":"{{Id("m")}}"}""");
        Assert.Equal(at, Assert.Single((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.Type == "coupon_applied").Timestamp);
    }

    [Fact]
    public async Task Screen_Group_AndDeviceId_MapToEventsAndIdentifiers()
    {
        var user = Id("user");
        var device = Id("dev");
        var email = $"{Guid.NewGuid():N}@example.com";
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("screen", $$"""
            {"userId":"{{user}}","name":"Basket","context":{"device":{"id":"{{device}}","type":"ios"},"os":{"name":"iOS","version":"18.1"},"traits":{"email":"{{email}}"} },"messageId":"{{Id("m")}}"}
            """, TrackingServer.BackendKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("group", $$"""{"userId":"{{user}}","groupId":"acme","traits":{"name":"Acme"},"messageId":"{{Id("m")}}"}""")).StatusCode);
        var p = await server.ProfileAsync(Identifier.DeviceId(device));
        Assert.True(p.Has(Identifier.CustomerId(user)));
        Assert.True(p.Has(Identifier.Email(email)));
        Assert.Contains(p.Timeline, t => t.Type == "screen.viewed" && t.Channel == "server");
        Assert.Contains(p.Timeline, t => t.Type == "group.joined" && t.Channel == "web");
        Assert.Equal(HttpStatusCode.BadRequest, (await server.PostAsync("group", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}"}""")).StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wk_unknown_0000000000000000")]
    [InlineData("wk_website_0123456789abcdeF")]
    public async Task WithoutAValidWriteKey_401(string? key)
    {
        var response = await server.PostAsync("track", $$"""{"userId":"{{Id("u")}}","event":"X"}""", key);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData(TrackingServer.WebsiteKey, HttpStatusCode.OK)]
    [InlineData("wk_unknown_0000000000000000", HttpStatusCode.Unauthorized)]
    public async Task WriteKeyInTheBody_AsBrowserClientsSendIt_WithoutAnAuthorizationHeader(string key, HttpStatusCode expected)
    {
        var user = Id("user");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/batch"))
        {
            Content = new StringContent($$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Browser Ping","messageId":"{{Id("m")}}"}],"writeKey":"{{key}}"}""", System.Text.Encoding.UTF8, "text/plain"),
        };
        Assert.Equal(expected, (await server.Http.SendAsync(request)).StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK, await server.Client.GetProfileAsync(Identifier.CustomerId(user)) is not null);
    }

    [Fact]
    public async Task AnalyticsJsPaths_TheFirstLetterOfEachCall_AndBForItsBatches_AreServed()
    {
        // @segment/analytics-next posts a track to {apiHost}/t, an identify to /i, a page to /p (and /s, /a, /g), and in
        // its batching mode to /b: a text/plain body with the writeKey in it, no Authorization header.
        var user = Id("user");
        var email = $"{Guid.NewGuid():N}@example.com";
        var calls = new (string Path, string Body)[]
        {
            ("v1/i", $$"""{"type":"identify","userId":"{{user}}","traits":{"email":"{{email}}"},"messageId":"{{Id("m")}}","writeKey":"{{TrackingServer.WebsiteKey}}"}"""),
            ("v1/t", $$"""{"type":"track","userId":"{{user}}","event":"Js Ping","messageId":"{{Id("m")}}","writeKey":"{{TrackingServer.WebsiteKey}}"}"""),
            ("v1/p", $$"""{"type":"page","userId":"{{user}}","name":"Home","messageId":"{{Id("m")}}","writeKey":"{{TrackingServer.WebsiteKey}}"}"""),
            ("v1/b", $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Js Batched","messageId":"{{Id("m")}}"}],"writeKey":"{{TrackingServer.WebsiteKey}}"}"""),
        };
        foreach (var (path, body) in calls)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, path))
            {
                Content = new StringContent(body, System.Text.Encoding.UTF8, "text/plain"),
            };
            Assert.True((await server.Http.SendAsync(request)).StatusCode == HttpStatusCode.OK, path);
        }

        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Contains(profile.Identifiers, i => i.Type == IdentifierTypes.Email);
        Assert.Contains(profile.Timeline, t => t.Type == "js_ping");
        Assert.Contains(profile.Timeline, t => t.Type == "js_batched");
        Assert.Contains(profile.Timeline, t => t.Type == "page.viewed");
    }

    [Fact]
    public async Task GzipBodies_AreAccepted_AndInvalidGzipIs400()
    {
        var user = Id("user");
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Newsletter Opened","messageId":"{{Id("m")}}"}""", gzip: true)).StatusCode);
        Assert.Contains((await server.ProfileAsync(Identifier.CustomerId(user))).Timeline, t => t.Type == "newsletter_opened");

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/track")) { Content = new ByteArrayContent([1, 2, 3, 4]) };
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey + ":")));
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task OverTheSizeLimits_400_EvenWhenCompressed()
    {
        var big = new string('x', 33 * 1024);
        var single = await server.PostAsync("track", $$"""{"userId":"{{Id("u")}}","event":"Big","properties":{"blob":"{{big}}"} }""");
        Assert.Equal(HttpStatusCode.BadRequest, single.StatusCode);
        Assert.Contains("32768", (string?)(await BodyAsync(single))["error"], StringComparison.Ordinal);

        // A batch of 16 messages of 33 KB: over 500 KB once decompressed (gzip makes it tiny on the wire).
        var user = Id("u");
        var messages = string.Join(",", Enumerable.Range(0, 16).Select(i => $$"""{"type":"track","userId":"{{user}}","event":"Big","properties":{"blob":"{{big}}"} }"""));
        Assert.Equal(HttpStatusCode.BadRequest, (await server.PostAsync("batch", $$"""{"batch":[{{messages}}]}""", gzip: true)).StatusCode);

        // A batch under 500 KB with one message over 32 KB: only that message is rejected.
        var mixed = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{user}}","event":"Big","properties":{"blob":"{{big}}"} },{"type":"track","userId":"{{user}}","event":"Small","messageId":"{{Id("m")}}"}]}
            """);
        Assert.Equal(HttpStatusCode.OK, mixed.StatusCode);
        var body = await BodyAsync(mixed);
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.Equal(0, (int)body["rejected"]![0]!["index"]!);
    }

    [Theory]
    [InlineData("track", "{not json")]
    [InlineData("batch", """{"messages":[]}""")]
    [InlineData("track", """{"userId":"u-1","event":"X","timestamp":"yesterday"}""")]
    [InlineData("identify", """{"traits":{"email":"a@example.com"} }""")]
    [InlineData("identify", """{"userId":"u-2","traits":{"email":"not-an-email"} }""")]
    public async Task MalformedRequests_400_WithTheField(string call, string json)
    {
        var response = await server.PostAsync(call, json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(false, (bool?)(await BodyAsync(response))["success"]);
    }

    // A newcomer's report: the engine's check of an email from traits answered identifiers[1].value, a name the client
    // never sent. The error now names the message's own field, in a single call and in a batch.
    [Theory]
    [InlineData("""{"userId":"u-ok","traits":{"email":"Clara Martin <clara@example.com>"},"messageId":"m-email-1"}""", "traits.email")]
    [InlineData("""{"userId":"u-ok","traits":{"Email":"Clara Martin <clara@example.com>"},"messageId":"m-email-2"}""", "traits.Email")]
    [InlineData("""{"anonymousId":"a-ok","userId":"u ok\u0000","messageId":"m-email-3"}""", "userId")]
    public async Task AnIdentifierTheEngineRefuses_IsNamedByTheFieldTheClientSent(string identify, string field)
    {
        var single = await server.PostAsync("identify", identify);
        Assert.Equal(HttpStatusCode.BadRequest, single.StatusCode);
        var fields = (await BodyAsync(single))["errors"]!.AsArray().Select(e => (string)e!["field"]!).ToList();
        Assert.Contains(field, fields);
        Assert.DoesNotContain(fields, f => f.StartsWith("identifiers", StringComparison.Ordinal));

        var batch = await server.PostAsync("batch", $$"""{"batch":[{"type":"page","anonymousId":"{{Id("anon")}}","name":"Home","messageId":"{{Id("m")}}"}, {{identify[..^1]}},"type":"identify"}]}""");
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var rejected = Assert.Single((await BodyAsync(batch))["rejected"]!.AsArray());
        Assert.Equal(1, (int)rejected!["index"]!);
        Assert.Contains(field, rejected["errors"]!.AsArray().Select(e => (string)e!["field"]!));
    }

    [Fact]
    public async Task ABodyThatIsNotJson_SaysWhere()
    {
        var response = await server.PostAsync("track", "{\n  \"userId\": \"u-1\",\n  \"event\": X\n}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("the body is not valid JSON (line 3, byte 12 of the line)", (string?)(await BodyAsync(response))["error"]);
    }

    [Fact]
    public async Task IpAddress_IsNotStored_UnlessAsked()
    {
        var user = Id("user");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Ping","context":{"ip":"203.0.113.77"},"messageId":"{{Id("m")}}"}""");
        var export = (await server.Client.ExportProfileAsync(Identifier.CustomerId(user)))!.ToJsonString();
        Assert.DoesNotContain("203.0.113.77", export, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", export, StringComparison.Ordinal);
        Assert.False((await server.ProfileAsync(Identifier.CustomerId(user))).IsInSegment("seen-from-test-net"));
    }

    [Fact]
    public async Task EachWriteKey_NamesItsSource_OnTheEvents()
    {
        var viaBackend = Id("user");
        var viaWebsite = Id("user");
        await server.PostAsync("track", $$"""{"userId":"{{viaBackend}}","event":"Order Completed","properties":{"order_id":"o-b","total":5},"messageId":"{{Id("m")}}"}""", TrackingServer.BackendKey);
        await server.PostAsync("track", $$"""{"userId":"{{viaWebsite}}","event":"Order Completed","properties":{"order_id":"o-w","total":5},"messageId":"{{Id("m")}}"}""");
        Assert.True((await server.ProfileAsync(Identifier.CustomerId(viaBackend))).IsInSegment("backend-buyers"));
        Assert.False((await server.ProfileAsync(Identifier.CustomerId(viaWebsite))).IsInSegment("backend-buyers"));
    }

    [Fact]
    public async Task Logs_CarryNoPersonalData()
    {
        var user = Id("secretuser");
        var email = $"secret{Guid.NewGuid():N}@example.com";
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","traits":{"email":"{{email}}"},"messageId":"{{Id("m")}}"}""");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","traits":{"email":"broken-{{user}}"},"messageId":"{{Id("m")}}"}""");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"X","timestamp":"{{user}}"}""");
        Assert.NotEmpty(server.Logs);
        Assert.DoesNotContain(server.Logs, l => l.Contains(user, StringComparison.Ordinal) || l.Contains(email, StringComparison.Ordinal));
        Assert.Contains(server.Logs, l => l.Contains("source website rejected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenTheStoreFails_503_AndTheClientsRetrySucceedsOnce()
    {
        var user = Id("user");
        var batch = $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o-5","total":12,"currency":"EUR"},"messageId":"{{Id("m")}}"}]}""";
        server.Store.FailCommits = true;
        HttpResponseMessage failed;
        try
        {
            failed = await server.PostAsync("batch", batch);
        }
        finally
        {
            server.Store.FailCommits = false;
        }

        Assert.True((int)failed.StatusCode >= 500, $"expected 5xx, got {(int)failed.StatusCode}");
        Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));

        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("batch", batch)).StatusCode);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }
}
