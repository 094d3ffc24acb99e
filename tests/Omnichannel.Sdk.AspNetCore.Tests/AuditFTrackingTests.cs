using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit F: Spec semantics of identify, alias and batches as the clients in the field send them.</summary>
public sealed class AuditFTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static async Task<JsonObject> BodyAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    [Fact]
    public async Task AnIdentifyWhoseTraitsAreOnlyInContextTraits_SetsThem()
    {
        // RudderStack's JavaScript and mobile SDKs send an identify's traits in context.traits (their spec), with no
        // top-level traits; the traits were dropped and only the email was linked.
        var user = Id("user");
        var email = $"{Guid.NewGuid():N}@example.com";
        var response = await server.PostAsync("identify", $$"""
            {"userId":"{{user}}","anonymousId":"{{Id("anon")}}","messageId":"{{Id("m")}}",
             "context":{"traits":{"email":"{{email}}","first_name":"Ann","plan":"pro"} } }
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.True(p.Has(Identifier.Email(email)));
        Assert.Equal("Ann", p.Traits["first_name"]?.ToString());
        Assert.Equal("pro", p.Traits["plan"]?.ToString());
    }

    [Fact]
    public async Task AnIdentifyWithTopLevelTraits_KeepsThemOverContextTraits()
    {
        var user = Id("user");
        var response = await server.PostAsync("identify", $$"""
            {"userId":"{{user}}","messageId":"{{Id("m")}}","traits":{"plan":"pro"},
             "context":{"traits":{"plan":"free","first_name":"Ann"} } }
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("pro", p.Traits["plan"]?.ToString());
    }

    [Fact]
    public async Task AnAliasOfTheAnonymousId_BringsTheVisitorsCartToTheUser()
    {
        var anon = Id("anon");
        var user = Id("user");
        var r1 = await server.PostAsync("track", $$"""
            {"anonymousId":"{{anon}}","event":"Product Added","properties":{"product_id":"p1","quantity":1},"messageId":"{{Id("m")}}"}
            """);
        var r2 = await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","traits":{"first_name":"Ann"} }""");
        var r3 = await server.PostAsync("alias", $$"""{"previousId":"{{anon}}","userId":"{{user}}","messageId":"{{Id("m")}}"}""");
        Assert.All([r1, r2, r3], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.True(p.Has(Identifier.AnonymousId(anon)));
        Assert.Single(p.Cart);
    }

    [Fact]
    public async Task ANumericUserId_AndTheSameIdAsText_AreOnePerson()
    {
        var n = Random.Shared.NextInt64(10_000_000, 99_999_999);
        await server.PostAsync("track", $$"""{"userId":{{n}},"event":"Thing Done","messageId":"{{Id("m")}}"}""");
        await server.PostAsync("track", $$"""{"userId":"{{n}}","event":"Thing Done","messageId":"{{Id("m")}}"}""");
        var p = await server.ProfileAsync(Identifier.CustomerId(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Fact]
    public async Task OneMessageIdTwiceInABatch_IsStoredOnce()
    {
        var user = Id("user");
        var m = Id("m");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o1","total":10,"currency":"EUR"},"messageId":"{{m}}"},
              {"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"order_id":"o1","total":10,"currency":"EUR"},"messageId":"{{m}}"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await BodyAsync(response);
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.Equal(1, (int)body["duplicates"]!);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.EventCount);
    }

    [Fact]
    public async Task AnonymousEventsThenIdentify_InOneBatch_EndOnOneProfile()
    {
        var anon = Id("anon");
        var user = Id("user");
        var response = await server.PostAsync("batch", $$"""
            {"batch":[
              {"type":"page","anonymousId":"{{anon}}","name":"Home","messageId":"{{Id("m")}}"},
              {"type":"track","anonymousId":"{{anon}}","event":"Product Added","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}"},
              {"type":"identify","anonymousId":"{{anon}}","userId":"{{user}}","traits":{"email":"{{user}}@example.com"},"messageId":"{{Id("m")}}"},
              {"type":"track","anonymousId":"{{anon}}","userId":"{{user}}","event":"Checkout Started","properties":{"total":5},"messageId":"{{Id("m")}}"}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(4, p.Statistics.EventCount);
        Assert.Single(p.Cart);
        Assert.Equal(p.Id, (await server.ProfileAsync(Identifier.AnonymousId(anon))).Id);
    }
}
