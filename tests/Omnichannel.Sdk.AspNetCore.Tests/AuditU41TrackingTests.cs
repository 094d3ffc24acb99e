using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U41 (batches, imports and history), over HTTP. A batch's answer accounts for every message: an import tool
/// compares what it sent with what was taken, and a message acknowledged but neither counted nor listed is one it cannot
/// explain (langfuse/langfuse#14568: sampled-out events reported as successes, now listed as warnings;
/// druid-io/tranquility#56 "callers can tell which events were dropped"; honeybadger-io/honeybadger-ruby#838).
/// </summary>
public sealed class AuditU41TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    [Theory]
    [InlineData("batch")]
    [InlineData("import")]
    public async Task ABatchWithAnErasedPersonsHistory_CountsHerMessagesAsErased_SoTheCountsAddUp(string path)
    {
        // A replay of last year's orders after she asked to be forgotten: hers are acknowledged and not stored.
        var gone = Id("gone");
        var kept = Id("kept");
        var first = await server.PostAsync("track", $$"""{"userId":"{{gone}}","event":"Signed Up","messageId":"{{Id("m")}}"}""", TrackingServer.BackendKey);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(await server.Client.EraseProfileAsync(Identifier.CustomerId(gone)));

        var batch = $$"""
            {"batch":[
              {"type":"track","userId":"{{gone}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"2025-11-02T10:00:00Z","properties":{"order_id":"{{Id("o")}}","total":10,"currency":"EUR"} },
              {"type":"track","userId":"{{kept}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"2025-11-02T11:00:00Z","properties":{"order_id":"{{Id("o")}}","total":12,"currency":"EUR"} },
              {"type":"track","userId":"{{gone}}","event":"Order Completed","messageId":"{{Id("m")}}","timestamp":"2025-12-02T10:00:00Z","properties":{"order_id":"{{Id("o")}}","total":14,"currency":"EUR"} },
              {"type":"track","userId":"{{kept}}","messageId":"{{Id("m")}}"}
            ]}
            """;
        var response = await server.PostAsync(path, batch, TrackingServer.BackendKey);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.Equal(0, (int)body["duplicates"]!);
        Assert.Equal(2, (int?)body["erased"]);
        Assert.Equal(3, (int)Assert.Single(body["rejected"]!.AsArray())!["index"]!);
        Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId(gone)));
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(kept))).Statistics.OrderCount);
    }

    [Fact]
    public async Task ABatchWithNoErasedPerson_HasNoErasedCount()
    {
        var user = Id("user");
        var response = await server.PostAsync("batch", $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Signed Up","messageId":"{{Id("m")}}"}]}""", TrackingServer.BackendKey);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.False(body.ContainsKey("erased"));
    }

    // An import script marks what it loads as history (Klaviyo's historical_import, segmentio/action-destinations#3094):
    // context.historical true, and only true, is the event's EventContext.Historical.
    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("\"true\"", false)]
    [InlineData("1", false)]
    public void ContextHistorical_True_MarksTheEventAsHistory(string value, bool historical)
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        using var doc = JsonDocument.Parse($$"""{"type":"track","userId":"u","event":"Order Completed","messageId":"m","timestamp":"2025-01-02T10:00:00Z","properties":{"order_id":"o1","total":5},"context":{"historical":{{value}}} }""");
        var mapped = mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero), null, null));
        Assert.NotNull(mapped.Event);
        Assert.Equal(historical, mapped.Event!.Context?.Historical == true);
    }
}
