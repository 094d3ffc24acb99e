using System.Net;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Tests.Shared;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Audit U50's seeds: one int per case; the generators are deterministic in it (a failing seed replays).</summary>
public static class U50TrackingSeeds
{
    /// <summary>Any seed.</summary>
    public static Arbitrary<int> Seeds() => Gen.Choose(0, int.MaxValue - 1).ToArbitrary();
}

/// <summary>
/// Audit U50, the tracking endpoint: valid Segment Spec calls mutated by <see cref="AuditU50JsonMutator"/> (wrong types,
/// hostile values, deep nesting, duplicate keys, truncation, a BOM, control characters) are a 2xx or a 4xx naming the
/// field, never a 5xx; in a batch, one mutated message is rejected alone and the good ones beside it are stored.
/// </summary>
public sealed class AuditU50TrackingProperties(AuditTAServer server) : IClassFixture<AuditTAServer>
{
    private static string Valid(string call, string user, int i) => (call switch
    {
        "track" => """{"type":"track","messageId":"USER-mIDX","userId":"USER","event":"Order Completed","timestamp":"2026-06-01T11:00:00.000Z","properties":{"order_id":"o-IDX","total":42.5,"currency":"gbp","products":[{"product_id":"p-1","quantity":2,"price":21.25}]},"context":{"locale":"en-GB","timezone":"Europe/London","traits":{"email":"USER@example.com"}}}""",
        "identify" => """{"type":"identify","messageId":"USER-mIDX","userId":"USER","anonymousId":"anon-USER","traits":{"email":"USER@example.com","firstName":"Ann","address":{"city":"Leeds"},"birthday":"1990-02-01"},"timestamp":"2026-06-01T11:00:00Z"}""",
        "page" => """{"type":"page","messageId":"USER-mIDX","anonymousId":"anon-USER","name":"Home","properties":{"url":"https://shop.example/","title":"Home"},"context":{"userAgent":"Mozilla/5.0","ip":"203.0.113.9"}}""",
        "screen" => """{"type":"screen","messageId":"USER-mIDX","userId":"USER","name":"Cart","properties":{"items":1}}""",
        "alias" => """{"type":"alias","messageId":"USER-mIDX","userId":"USER","previousId":"anon-USER"}""",
        _ => """{"type":"group","messageId":"USER-mIDX","userId":"USER","groupId":"g-1","traits":{"name":"Acme","employees":12}}""",
    }).Replace("USER", user, StringComparison.Ordinal).Replace("IDX", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static readonly string[] Calls = ["track", "identify", "page", "screen", "alias", "group"];

    private static void AssertNamesAField(HttpStatusCode status, JsonNode? body, string sent)
    {
        Assert.True((int)status < 500, $"{(int)status} for {Shorten(sent)}: {body?.ToJsonString()}");
        if (status == HttpStatusCode.BadRequest && body?["errors"] is JsonArray errors)
        {
            Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace((string?)e?["field"]), $"{body.ToJsonString()} for {Shorten(sent)}"));
        }
    }

    private static string Shorten(string s) => s.Length <= 600 ? s : s[..600] + "…";

    /// <summary>A mutated single call is a 2xx or a 4xx (with its field when the message is invalid), never a 5xx.</summary>
    [Property(Arbitrary = [typeof(U50TrackingSeeds)], MaxTest = 80)]
    public void AMutatedCall_IsNeverA5xx(int seed) => RunSingle(seed).GetAwaiter().GetResult();

    private async Task RunSingle(int seed)
    {
        var r = new Random(seed);
        var call = Calls[r.Next(Calls.Length)];
        var json = AuditU50JsonMutator.Mutate(Valid(call, "u50s" + seed, 0), r);
        var (status, body) = await PostAsync(call, json);
        AssertNamesAField(status, body, json);
    }

    /// <summary>
    /// A batch with one mutated message (tree mutations: the batch stays JSON) is a 200; the mutated message is accepted
    /// or rejected alone with its field, and every good one is stored.
    /// </summary>
    [Property(Arbitrary = [typeof(U50TrackingSeeds)], MaxTest = 60)]
    public void OneMutatedMessageInABatch_NeverDropsTheOthers(int seed) => RunBatch(seed).GetAwaiter().GetResult();

    private async Task RunBatch(int seed)
    {
        var r = new Random(seed);
        var user = "u50b" + seed;
        var count = r.Next(2, 6);
        var bad = r.Next(count);
        var messages = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var m = Valid(i == bad ? Calls[r.Next(Calls.Length)] : "track", i == bad ? user + "-bad" : user, i);
            messages.Add(i == bad ? AuditU50JsonMutator.Mutate(m, r, textMutations: false) : m);
        }

        var json = "{\"batch\":[" + string.Join(',', messages) + "]}";
        var (status, body) = await PostAsync("batch", json);
        Assert.True(status == HttpStatusCode.OK || (status == HttpStatusCode.BadRequest && json.Length > 500_000), $"{(int)status} for {Shorten(messages[bad])}: {body?.ToJsonString()}");
        if (status != HttpStatusCode.OK)
        {
            return;
        }

        var rejected = body!["rejected"]?.AsArray() ?? [];
        Assert.All(rejected, x =>
        {
            Assert.Equal(bad, (int)x!["index"]!);
            Assert.All(x["errors"]!.AsArray(), e => Assert.False(string.IsNullOrWhiteSpace((string?)e?["field"]), body.ToJsonString()));
        });
        Assert.Equal(count - 1, (int)body["accepted"]! + (int)body["duplicates"]! - (rejected.Count == 0 ? 1 : 0));
        var profile = await server.Client.GetProfileAsync(Identifier.CustomerId(user));
        Assert.NotNull(profile);
        Assert.Equal(count - 1, profile!.Statistics.OrderCount);
    }

    /// <summary>
    /// A whole batch body mutated (its structure too: null or number messages, a context of the wrong type, truncation, a
    /// BOM, duplicate keys) is a 200 whose counts add up to the messages sent, or a 4xx; never a 5xx.
    /// </summary>
    [Property(Arbitrary = [typeof(U50TrackingSeeds)], MaxTest = 60)]
    public void AMutatedBatchBody_IsNeverA5xx_AndItsCountsAddUp(int seed) => RunBody(seed).GetAwaiter().GetResult();

    private async Task RunBody(int seed)
    {
        var r = new Random(seed);
        var user = "u50w" + seed;
        var messages = Enumerable.Range(0, r.Next(1, 5)).Select(i => Valid(Calls[r.Next(Calls.Length)], user, i));
        var json = AuditU50JsonMutator.Mutate("{\"batch\":[" + string.Join(',', messages) + "],\"context\":{\"library\":{\"name\":\"u50\"}},\"sentAt\":\"2026-06-01T11:00:01Z\"}", r);
        var (status, body) = await PostAsync("batch", json);
        AssertNamesAField(status, body, json);
        if (status == HttpStatusCode.OK && body?["accepted"] is not null)
        {
            using var document = System.Text.Json.JsonDocument.Parse(json.TrimStart('\uFEFF'), new System.Text.Json.JsonDocumentOptions { MaxDepth = 100_000 });
            var sent = document.RootElement.GetProperty("batch").GetArrayLength();
            var counted = (int)body["accepted"]! + (int)body["duplicates"]! + ((int?)body["erased"] ?? 0) + (body["rejected"]?.AsArray().Count ?? 0);
            Assert.True(sent == counted, $"{sent} sent, {counted} counted: {body.ToJsonString()} for {Shorten(json)}");
        }
    }

    private Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, string json) => PostRawAsync(path, json);

    private async Task<(HttpStatusCode Status, JsonNode? Body)> PostRawAsync(string path, string json)
    {
        try
        {
            return await server.PostAsync(path, json);
        }
        catch (System.Text.Json.JsonException)
        {
            // The answer was not JSON: look at the status alone.
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + path));
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AuditTAServer.Key + ":")));
            using var response = await server.Http.SendAsync(request);
            return (response.StatusCode, null);
        }
    }
}
