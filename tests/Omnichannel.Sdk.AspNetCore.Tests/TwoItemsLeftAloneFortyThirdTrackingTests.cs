using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Through the real endpoint: an identify removing (<c>null</c>) a trait path an older version stored past
/// <c>MaxJsonDepth</c> was refused as too deep; removing personal data by its key must work. A set of it stays refused.
/// </summary>
public sealed class TwoItemsLeftAloneFortyThirdTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    [Fact]
    public async Task AnIdentifyRemovingATraitPathStoredPastTheLimit_IsAccepted_AndTheTraitIsGone()
    {
        var user = $"n43-{Guid.NewGuid():N}";
        var deep = string.Join(".", Enumerable.Range(0, 70).Select(i => "n" + i));
        using (var first = await server.PostAsync("identify", $$$"""{"userId": "{{{user}}}", "traits": {"first_name": "Ann", "placeholder_n43": 7}}"""))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // The document as an older version wrote it (traits are stored as flat paths), then read afresh.
        var profileId = (await server.ProfileAsync(Identifier.CustomerId(user))).Id;
        var stored = (await server.Store.Inner.LoadProfileAsync(profileId))!;
        var document = Encoding.UTF8.GetString(stored.Document).Replace("\"placeholder_n43\"", "\"" + deep + "\"", StringComparison.Ordinal);
        Assert.Equal(CommitStatus.Committed, (await server.Store.Inner.CommitAsync(new ProfileCommit { ProfileId = profileId, ExpectedVersion = stored.Version, Document = Encoding.UTF8.GetBytes(document) })).Status);
        using (var set = await server.PostAsync("identify", $$$"""{"userId": "{{{user}}}", "traits": {"{{{deep}}}": 8}}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, set.StatusCode);
        }

        using var removal = await server.PostAsync("identify", $$$"""{"userId": "{{{user}}}", "traits": {"{{{deep}}}": null}}""");

        Assert.Equal(HttpStatusCode.OK, removal.StatusCode);
        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("Ann", (string?)profile.Traits["first_name"]);
        Assert.Null(profile.Traits["n0"]);
        Assert.Null(profile.Traits["placeholder_n43"]);
        var export = (await server.Client.ExportProfileAsync(Identifier.CustomerId(user)))!;
        Assert.DoesNotContain("\"n0\":", export["traits"]!.ToJsonString(), StringComparison.Ordinal);
    }

    // Item 2: an identifier a limit kept off her profile (TrackResult.NotLinked) was dropped from the 200 answer with
    // nothing said; it is listed under `ignored` by the Spec field it came from, never by its value.
    [Fact]
    public async Task AnIdentifierNotLinked_IsListedUnderIgnored_ByItsSpecField_SingleAndBatch()
    {
        var email = $"n43-{Guid.NewGuid():N}@example.com";
        var (ann, bob, cat) = ($"n43a-{Guid.NewGuid():N}", $"n43b-{Guid.NewGuid():N}", $"n43c-{Guid.NewGuid():N}");
        using (var first = await server.PostAsync("identify", $$$"""{"userId": "{{{ann}}}", "traits": {"email": "{{{email}}}"}}"""))
        {
            Assert.Equal("{\"success\":true}", await first.Content.ReadAsStringAsync());
        }

        // Bob claims Ann's email: his profile cannot be merged with hers (two customer ids), so the email is not linked.
        using var single = await server.PostAsync("identify", $$$"""{"userId": "{{{bob}}}", "traits": {"email": "{{{email}}}"}}""");
        var singleText = await single.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        var field = Assert.Single(JsonNode.Parse(singleText)!["ignored"]!.AsArray())!;
        Assert.Equal("traits.email", (string?)field["field"]);
        Assert.Contains("was not linked to the profile", (string?)field["message"], StringComparison.Ordinal);
        Assert.DoesNotContain(email, singleText, StringComparison.Ordinal);

        var messageId = $"m-{Guid.NewGuid():N}";
        using var batch = await server.PostAsync("batch", $$$$"""
            {"batch": [
              {"type": "identify", "userId": "{{{{cat}}}}", "messageId": "m-{{{{cat}}}}", "traits": {"first_name": "Cat"}},
              {"type": "track", "event": "Signed Up", "userId": "{{{{cat}}}}", "messageId": "{{{{messageId}}}}", "context": {"traits": {"email": "{{{{email}}}}"}}}
            ]}
            """);
        var batchText = await batch.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var body = JsonNode.Parse(batchText)!;
        Assert.Equal(2, (int)body["accepted"]!);
        var entry = Assert.Single(body["ignored"]!.AsArray())!;
        Assert.Equal(1, (int)entry["index"]!);
        Assert.Equal(messageId, (string?)entry["messageId"]);
        Assert.Equal("context.traits.email", (string?)Assert.Single(entry["fields"]!.AsArray())!["field"]);
        Assert.DoesNotContain(email, batchText, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs, l => l.Contains(email, StringComparison.Ordinal));
    }
}
