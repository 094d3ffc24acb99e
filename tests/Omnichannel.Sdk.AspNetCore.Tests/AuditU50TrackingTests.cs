using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U50, the tracking endpoint's regressions found by <see cref="AuditU50TrackingProperties"/>: a message nested past
/// the body's depth limit, and text that cannot be decoded (a lone surrogate escape) outside a message.
/// </summary>
public sealed class AuditU50TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Order(string user, string orderId) =>
        $$$"""{"type":"track","messageId":"{{{user}}}-{{{orderId}}}","userId":"{{{user}}}","event":"Order Completed","properties":{"order_id":"{{{orderId}}}","total":10}}""";

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> Read(Task<HttpResponseMessage> sending)
    {
        using var response = await sending;
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task ABatchMessageNestedPastTheDepthLimit_IsRejectedAlone_WithThePath()
    {
        // 1,001 arrays deep: valid JSON, past the body's limit of 1,000. The whole batch was a 400 "not valid JSON".
        var deep = new string('[', 1001) + "1" + new string(']', 1001);
        var json = "{\"batch\":[" + Order("u50-deep", "o1") + ",{\"type\":\"identify\",\"userId\":\"u50-deep\",\"traits\":{\"address\":" + deep + "}}," + Order("u50-deep", "o2") + "]}";

        var (status, body) = await Read(server.PostAsync("batch", json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)body!["accepted"]!);
        var rejected = Assert.Single(body["rejected"]!.AsArray());
        Assert.Equal(1, (int)rejected!["index"]!);
        var error = Assert.Single(rejected["errors"]!.AsArray());
        Assert.StartsWith("traits.address[0][0]", (string)error!["field"]!, StringComparison.Ordinal);
        Assert.Contains("1000 levels", (string)error["message"]!, StringComparison.Ordinal);
        Assert.Equal(2, (await server.ProfileAsync(Identifier.CustomerId("u50-deep"))).Statistics.OrderCount);
    }

    [Fact]
    public async Task ASingleCallNestedPastTheDepthLimit_IsA400_NamingTheField()
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 1001)) + "1" + new string('}', 1001);

        var (status, body) = await Read(server.PostAsync("identify", "{\"userId\":\"u50-deep-single\",\"traits\":" + deep + "}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("nested more than 1000 levels deep", (string)body!["error"]!, StringComparison.Ordinal);
        Assert.StartsWith("traits.a.a.a", (string)Assert.Single(body["errors"]!.AsArray())!["field"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABatchsSentAt_ThatCannotBeDecoded_CorrectsNothing_InsteadOfA503()
    {
        // A lone surrogate escape in the batch's sentAt: read with GetString, it threw, and the batch was a 503 that
        // clients resend for ever.
        var json = "{\"batch\":[" + Order("u50-sentat", "o1") + "],\"sentAt\":\"\\ud800\"}";

        var (status, body) = await Read(server.PostAsync("batch", json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (int)body!["accepted"]!);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId("u50-sentat"))).Statistics.OrderCount);
    }

    [Fact]
    public async Task ABatchContext_WithTextThatCannotBeDecoded_IsReadWithoutIt_AndItsMessagesAreStored()
    {
        // Copied into every message, the undecodable locale refused each one as "message: could not be read".
        var json = "{\"batch\":[" + Order("u50-ctx", "o1") + "," + Order("u50-ctx", "o2") + "],\"context\":{\"locale\":\"\\ud800\",\"timezone\":\"Europe/London\"}}";

        var (status, body) = await Read(server.PostAsync("batch", json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)body!["accepted"]!);
        Assert.Null(body["rejected"]);
        var profile = await server.ProfileAsync(Identifier.CustomerId("u50-ctx"));
        Assert.Equal(2, profile.Statistics.OrderCount);
        Assert.Equal("Europe/London", profile.TimeZone);
    }

    [Fact]
    public async Task AMessageWithTextThatCannotBeDecoded_BesideABatchContext_IsRefusedWithItsField()
    {
        var bad = "{\"type\":\"track\",\"userId\":\"u50-field\",\"event\":\"Product Viewed\",\"properties\":{\"name\":\"\\udc00\"}}";
        var json = "{\"batch\":[" + bad + "," + Order("u50-field", "o1") + "],\"context\":{\"timezone\":\"Europe/London\"}}";

        var (status, body) = await Read(server.PostAsync("batch", json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (int)body!["accepted"]!);
        var rejected = Assert.Single(body["rejected"]!.AsArray());
        Assert.Equal(0, (int)rejected!["index"]!);
        Assert.Equal("properties.name", (string)Assert.Single(rejected["errors"]!.AsArray())!["field"]!);
    }
}
