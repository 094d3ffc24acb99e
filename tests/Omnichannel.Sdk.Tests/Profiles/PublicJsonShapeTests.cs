using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Public types serialise to their public shape with System.Text.Json's defaults (what ASP.NET Core's
/// <c>Results.Ok(profile)</c> writes): enums as strings, the profile's public fields, never its stored document.
/// </summary>
public sealed class PublicJsonShapeTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static async Task<(OmnichannelTestHost Host, CustomerProfile Profile, TrackResult Result)> ClaraAsync()
    {
        var host = OmnichannelTestHost.Create();
        var clara = Identifier.Email("clara@example.com");
        await host.TrackAsync(EventTypes.ConsentChanged, [clara], new { channel = "email", granted = true });
        var result = await host.TrackAsync(EventTypes.CartItemAdded, [clara, Identifier.AnonymousId("cookie-1")], new { product_id = "tower-xl", quantity = 1, price = 89.9 }, traits: new { first_name = "Clara" });
        return (host, await host.ProfileAsync(clara), result);
    }

    [Fact]
    public async Task CustomerProfile_SerialisesItsPublicFields()
    {
        var (host, profile, _) = await ClaraAsync();
        await using var _ = host;

        var json = JsonSerializer.SerializeToNode(profile, Web)!.AsObject();

        Assert.Equal("Lead", json["lifecycleStage"]!.GetValue<string>());
        Assert.Contains(json["identifiers"]!.AsArray(), i => i!["type"]!.GetValue<string>() == "email" && i["value"]!.GetValue<string>() == "clara@example.com");
        Assert.Equal("Clara", json["traits"]!["first_name"]!.GetValue<string>());
        Assert.Equal("tower-xl", Assert.Single(json["cart"]!.AsArray())!["productId"]!.GetValue<string>());
        Assert.Contains(json["consents"]!.AsArray(), c => c!["channel"]!.GetValue<string>() == "email");
        Assert.Contains(json["timeline"]!.AsArray(), t => t!["type"]!.GetValue<string>() == EventTypes.CartItemAdded);
    }

    [Fact]
    public async Task CustomerProfile_NeverSerialisesItsStoredDocument()
    {
        var (host, profile, _) = await ClaraAsync();
        await using var _ = host;

        var names = JsonSerializer.SerializeToNode(profile, Web)!.AsObject().Select(p => p.Key).ToHashSet();

        string[] stored = ["identifierList", "traitValues", "cartLines", "cartOps", "ruleHistory", "journeyData", "messageLog", "messageKeys", "segmentChecks", "consentRecords", "timelineEntries"];
        Assert.Empty(names.Intersect(stored));
        Assert.Equal(
            ["cart", "cartClearedAt", "conflicts", "consents", "createdAt", "experiments", "id", "identifiers", "journeys", "lifecycleStage", "locale", "merges",
             "preferences", "segments", "statistics", "timeZone", "timeline", "traits", "wishlist"],
            names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TheStoredDocument_StillRoundTripsEveryField()
    {
        var (host, profile, _) = await ClaraAsync();
        await using var _ = host;

        var copy = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(profile), profile.Version);

        Assert.Equal(JsonSerializer.Serialize(profile, Web), JsonSerializer.Serialize(copy, Web));
        var stored = JsonNode.Parse(ProfileSerializer.Serialize(profile))!.AsObject();
        Assert.True(stored.ContainsKey("identifierList"));
        Assert.False(stored.ContainsKey("identifiers"));   // a view, not stored twice
    }

    [Fact]
    public async Task TrackResult_SerialisesItsStatusAsAString()
    {
        var (host, _, result) = await ClaraAsync();
        await using var _ = host;

        var json = JsonSerializer.SerializeToNode(result, Web)!;

        Assert.Equal("Accepted", json["status"]!.GetValue<string>());
    }
}
