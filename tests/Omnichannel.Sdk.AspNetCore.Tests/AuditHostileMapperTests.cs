using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit Hostile, the tracking API's mapper: values of the wrong JSON type are refused with their field, never dropped
/// in silence, and no message makes the mapper answer without naming where the problem is.
/// </summary>
public sealed class AuditHostileMapperTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 5, 2, 12, 0, 0, TimeSpan.Zero));

    private static MappedMessage Map(string json)
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        using var doc = JsonDocument.Parse(json);
        return mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, Clock.GetUtcNow(), null, null));
    }

    [Theory]
    [InlineData("userId", "{\"id\":\"u-1\"}")]
    [InlineData("userId", "[\"u-1\"]")]
    [InlineData("userId", "true")]
    [InlineData("anonymousId", "{\"id\":\"a-1\"}")]
    [InlineData("anonymousId", "false")]
    [InlineData("anonymousId", "[1]")]
    public void AnIdOfTheWrongType_IsRefusedWithItsField_NotDroppedInSilence(string field, string value)
    {
        // The other id is valid, so the message used to be accepted on it alone: an identify whose userId was an object
        // linked nothing to the customer and said so nowhere.
        var other = field == "userId" ? "\"anonymousId\":\"a-9\"" : "\"userId\":\"u-9\"";
        var mapped = Map($$"""{"type":"identify","messageId":"m",{{other}},"{{field}}":{{value}}}""");
        Assert.Null(mapped.Event);
        var error = Assert.Single(mapped.Errors);
        Assert.Equal(field, error.Field);
        Assert.Contains("string", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("userId")]
    [InlineData("anonymousId")]
    public void ANullOrNumericId_IsStillRead(string field)
    {
        var absent = Map($$"""{"type":"track","event":"E","messageId":"m","userId":"u","anonymousId":"a","{{field}}":null}""");
        Assert.Empty(absent.Errors);
        var number = Map($$"""{"type":"track","event":"E","messageId":"m","userId":"u","anonymousId":"a","{{field}}":12345}""");
        Assert.Empty(number.Errors);
        Assert.Contains(number.Event!.Identifiers, i => i.Value == "12345");
    }

    [Theory]
    [InlineData("""{"type":"identify","messageId":"m","userId":"u","traits":{"email":"a@example.com","plan":"a","plan":"b"}}""")]
    [InlineData("""{"type":"group","messageId":"m","userId":"u","groupId":"g","traits":{"name":"a","name":"b"}}""")]
    public void RepeatedTraitKeys_AreRefusedWithTheirPath_NotAnUnreadableMessage(string json)
    {
        var mapped = Map(json);
        Assert.Null(mapped.Event);
        var error = Assert.Single(mapped.Errors);
        Assert.Contains("traits.", error.Field, StringComparison.Ordinal);
        Assert.DoesNotContain("could not be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RepeatedKeysInContextTraits_ReachTheEngine_WhichKeepsTheLast()
    {
        // Passed on as they are (no JsonObject is built of them): the engine applies traits key by key, the last winning.
        var mapped = Map("""{"type":"identify","messageId":"m","userId":"u","context":{"traits":{"plan":"a","plan":"b"}}}""");
        Assert.Empty(mapped.Errors);
    }

    [Theory]
    [InlineData("properties.list[1].k", """{"type":"track","messageId":"m","userId":"u","event":"E","properties":{"list":[1,{"k":"\ud800"}]}}""")]
    [InlineData("event", """{"type":"track","messageId":"m","userId":"u","event":"Signed \ud800 Up"}""")]
    [InlineData("userId", """{"type":"track","messageId":"m","userId":"u\udc00","event":"E"}""")]
    [InlineData("anonymousId", """{"type":"track","messageId":"m","anonymousId":"\ud800a","event":"E"}""")]
    [InlineData("messageId", """{"type":"track","messageId":"m\ud800","userId":"u","event":"E"}""")]
    [InlineData("type", """{"type":"track\ud800","messageId":"m","userId":"u","event":"E"}""")]
    [InlineData("groupId", """{"type":"group","messageId":"m","userId":"u","groupId":"g\ud800"}""")]
    [InlineData("previousId", """{"type":"alias","messageId":"m","userId":"u","previousId":"p\ud800"}""")]
    public void AnUnpairedSurrogate_IsRefusedWithItsField(string field, string json)
    {
        var mapped = Map(json);
        Assert.Null(mapped.Event);
        Assert.Contains(mapped.Errors, e => e.Field == field && e.Message.Contains("surrogate", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"locale":"en\ud800"}""")]
    [InlineData("""{"timezone":"Europe/London\udc00"}""")]
    [InlineData("""{"campaign":{"name":"\ud800spring"}}""")]
    [InlineData("""{"device":{"type":"\ud800"}}""")]
    [InlineData("""{"traits":{"email":"a\ud800@example.com"}}""")]
    public void ContextTextThatIsNotWellFormed_IsLeftOut_NotTheEventsLoss(string context)
    {
        var mapped = Map($$"""{"type":"track","messageId":"m","userId":"u","event":"E","context":{{context}}}""");
        Assert.Empty(mapped.Errors);
        Assert.NotNull(mapped.Event);
    }

    [Theory]
    [InlineData("track", "properties", "properties")]
    [InlineData("identify", "traits", "traits")]
    [InlineData("group", "traits", "traits")]
    [InlineData("identify", "context", "context.traits")]
    public void AnObjectNestedTooDeepToCopy_IsRefusedWithItsPath(string call, string field, string path)
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 500)) + "1" + new string('}', 500);
        var value = field == "context" ? "{\"traits\":" + deep + "}" : deep;
        var mapped = MapDeep($$"""{"type":"{{call}}","messageId":"m","userId":"u","groupId":"g","event":"E","{{field}}":{{value}}}""");
        Assert.Null(mapped.Event);
        var error = Assert.Single(mapped.Errors);
        Assert.StartsWith(path + ".a.a.a", error.Field, StringComparison.Ordinal);
        Assert.Contains("nested", error.Message, StringComparison.Ordinal);
    }

    private static readonly string[] Fields =
    [
        "type", "event", "userId", "anonymousId", "previousId", "groupId", "messageId", "timestamp", "originalTimestamp",
        "sentAt", "traits", "properties", "context", "name", "category",
    ];

    private static readonly string[] HostileValues =
    [
        "null", "true", "0", "-0", "1e400", "-1e-400", "\"\"", "\"  \"", "\"\\u200b\\u200f\"", "\"\\ud800\"", "\"a\\u0000b\"",
        "[]", "[1,{\"k\":\"\\udc00\"}]", "{}", "{\"k\":1,\"k\":2}", "{\"\\ud800\":1}", "{\"traits\":{\"email\":\"\\udc00\"},\"device\":[]}",
        string.Concat(Enumerable.Repeat("{\"a\":", 500)) + "1" + new string('}', 500),
        "\"" + new string('x', 100_000) + "\"",
    ];

    [Fact]
    public void EveryCallWithAnyHostileValueInAnyField_IsMappedOrRefusedWithTheField()
    {
        foreach (var call in new[] { "track", "identify", "page", "alias", "group" })
        {
            foreach (var field in Fields)
            {
                foreach (var value in HostileValues)
                {
                    var valid = new Dictionary<string, string>
                    {
                        ["type"] = $"\"{call}\"", ["event"] = "\"E\"", ["userId"] = "\"u\"", ["previousId"] = "\"p\"",
                        ["groupId"] = "\"g\"", ["messageId"] = "\"m\"",
                    };
                    valid[field] = value;
                    var json = "{" + string.Join(',', valid.Select(kv => $"\"{kv.Key}\":{kv.Value}")) + "}";
                    var mapped = MapDeep(json);
                    Assert.True(mapped.Event is null != (mapped.Errors.Count == 0), json[..Math.Min(json.Length, 200)]);
                    Assert.All(mapped.Errors, e => Assert.True(
                        e.Field.Length > 0 && e.Field != "message",
                        $"{call}, {field} = {value[..Math.Min(value.Length, 60)]}: {e.Field}: {e.Message}"));
                }
            }
        }
    }

    private static MappedMessage MapDeep(string json)
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1_000 });
        return mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, Clock.GetUtcNow(), null, null));
    }
}
