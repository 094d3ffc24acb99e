using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Review of audit U65 through the real endpoint: a dotted trait key past <c>MaxJsonDepth</c> is refused per message,
/// named where the message held it. RudderStack's SDKs send an identify's traits in <c>context.traits</c> only; the
/// engine's error named <c>traits.k0.k1…</c>, a field that message did not have.
/// </summary>
public sealed class ReviewU65TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Fact]
    public async Task ADottedTraitKeyTooDeep_IsRefusedAtTheFieldTheMessageHeldIt_AndTheBatchsOtherMessagesApply()
    {
        var user = Id("r65");
        var deep = string.Join(".", Enumerable.Range(0, 40).Select(i => "k" + i));
        var json = $$$$"""
            {"batch": [
              {"type": "identify", "userId": "{{{{user}}}}", "messageId": "{{{{Id("m")}}}}", "context": {"traits": {"{{{{deep}}}}": 1, "first_name": "Ann"}}},
              {"type": "identify", "userId": "{{{{user}}}}", "messageId": "{{{{Id("m")}}}}", "traits": {"{{{{deep}}}}": 1}},
              {"type": "identify", "userId": "{{{{user}}}}", "messageId": "{{{{Id("m")}}}}", "context": {"traits": {"last_name": "Lee"}}}
            ]}
            """;

        using var response = await server.PostAsync("batch", json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(1, (int)body["accepted"]!);
        var rejected = body["rejected"]!.AsArray();
        Assert.Equal([0, 1], rejected.Select(r => (int)r!["index"]!));
        var fromContext = (string)Assert.Single(rejected[0]!["errors"]!.AsArray())!["field"]!;
        var ownTraits = (string)Assert.Single(rejected[1]!["errors"]!.AsArray())!["field"]!;
        Assert.StartsWith("context.traits.k0.k1.", fromContext, StringComparison.Ordinal);
        Assert.StartsWith("traits.k0.k1.", ownTraits, StringComparison.Ordinal);

        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("Lee", (string?)profile.Traits["last_name"]);
        Assert.Null(profile.Traits["first_name"]);
    }
}
