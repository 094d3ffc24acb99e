using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U104, the tracking endpoint: a batch of valid Segment Spec calls with one message made hostile — a field of any
/// call given a value of the wrong type, a number past decimal or double, a time in an odd spelling (no offset, year 1 or
/// 9999 with an offset, a leap second, a dozen fraction digits), or raw bytes that are not UTF-8 in a string or a key
/// (a BOM, a lone continuation byte, an encoded surrogate, an over-long form, a cut sequence) — is a 200 whose hostile
/// message is accepted or rejected alone with its field, every valid message beside it is stored, and nothing is a 5xx.
/// Each case is spread from one FsCheck int by SplitMix64's finaliser (deterministic across processes).
/// </summary>
public sealed class AuditU104TrackingProperties(AuditTAServer server) : IClassFixture<AuditTAServer>
{
    private static int _run;

    private static Random Seeded(int step)
    {
        var z = unchecked((ulong)(uint)step + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return new Random((int)((z ^ (z >> 31)) & int.MaxValue));
    }

    private static string Valid(string call, string user, int i) => (call switch
    {
        "track" => """{"type":"track","messageId":"USER-mIDX","userId":"USER","event":"Order Completed","timestamp":"2026-06-01T11:00:00.000Z","properties":{"order_id":"o-IDX","total":42.5,"currency":"gbp","products":[{"product_id":"p-1","quantity":2,"price":21.25}]},"context":{"locale":"en-GB","timezone":"Europe/London","traits":{"email":"USER@example.com"}}}""",
        "identify" => """{"type":"identify","messageId":"USER-mIDX","userId":"USER","anonymousId":"anon-USER","traits":{"email":"USER@example.com","firstName":"Ann","address":{"city":"Leeds"},"birthday":"1990-02-01"},"timestamp":"2026-06-01T11:00:00Z"}""",
        "page" => """{"type":"page","messageId":"USER-mIDX","userId":"USER","name":"Home","properties":{"url":"https://shop.example/","title":"Home"},"context":{"userAgent":"Mozilla/5.0","ip":"203.0.113.9"}}""",
        "screen" => """{"type":"screen","messageId":"USER-mIDX","userId":"USER","name":"Cart","properties":{"items":1}}""",
        "alias" => """{"type":"alias","messageId":"USER-mIDX","userId":"USER","previousId":"anon-USER"}""",
        _ => """{"type":"group","messageId":"USER-mIDX","userId":"USER","groupId":"g-1","traits":{"name":"Acme","employees":12}}""",
    }).Replace("USER", user, StringComparison.Ordinal).Replace("IDX", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static readonly string[] Calls = ["track", "identify", "page", "screen", "alias", "group"];

    private static readonly string[] Values =
    [
        "1e400", "-1e400", "-0", "1e-400", "79228162514264337593543950336", "-79228162514264337593543950336", "123456789012345678901234567890", "\"NaN\"",
        "\"Infinity\"", "\"\"", "\"   \"", "\"\\ufeff\"", "\"\\ud800\"", "{}", "[]", "true", "null", "[[[[[[[[[[[[1]]]]]]]]]]]]", "\"2026-06-01T11:00:00\"",
        "\"0001-01-01T00:00:00Z\"", "\"0001-01-01T00:00:00+14:00\"", "\"9999-12-31T23:59:59-14:00\"", "\"9999-12-31T23:59:59.9999999Z\"", "\"2016-12-31T23:59:60Z\"",
        "\"2026-06-01T11:00:00.123456789012Z\"", "\"2026-06-01\"", "\"20260601T110000Z\"", "\"2026-06-01T24:00:00Z\"", "\"2026-06-01T11:00:00+25:00\"", "1780000000000",
    ];

    // Raw bytes no UTF-8 decoder takes: a lone continuation byte, 0xFF, an encoded surrogate, an over-long NUL, a cut
    // sequence, a code point past U+10FFFF; and a BOM inside text (valid UTF-8: taken as text).
    private static readonly byte[][] NotUtf8 = [[0x80], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xC3]];

    /// <summary>Every member of a message (its key's path, the object holding it, its name) and every string value (its path, the value).</summary>
    private static List<(string Path, JsonObject? Holder, string? Name, JsonNode? Value)> Texts(JsonObject message)
    {
        var found = new List<(string, JsonObject?, string?, JsonNode?)>();
        void Walk(JsonNode node, string path)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, value) in o.ToList())
                    {
                        var at = path.Length == 0 ? name : path + "." + name;
                        found.Add((at, o, name, null));
                        if (value is not null)
                        {
                            Walk(value, at);
                        }
                    }

                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        if (a[i] is { } item)
                        {
                            Walk(item, $"{path}[{i}]");
                        }
                    }

                    break;
                case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String:
                    found.Add((path, null, null, v));
                    break;
            }
        }

        Walk(message, string.Empty);
        return found;
    }

    /// <summary>
    /// One hostile message among valid ones in a batch (or alone, on its call's own path): a 200 in a batch, never a 5xx;
    /// a hostile message is accepted, or rejected with its field, and one whose text is not UTF-8 outside context is
    /// rejected at exactly that text's field; every valid message is stored.
    /// </summary>
    [Property(MaxTest = 120)]
    public void OneHostileMessage_IsAnsweredAlone_AndTheValidOnesBesideItAreStored(int step) => Run(step).GetAwaiter().GetResult();

    private async Task Run(int step)
    {
        var r = Seeded(step);
        var run = Interlocked.Increment(ref _run);
        var user = $"u104-{run}-{step}";
        var count = r.Next(2, 6);
        var bad = r.Next(count);
        var call = Calls[r.Next(Calls.Length)];
        var message = JsonNode.Parse(Valid(call, user + "-bad", bad))!.AsObject();
        var texts = Texts(message);
        var (path, holder, name, value) = texts[r.Next(texts.Count)];
        var key = holder is not null;
        const string Marker = "@@U104@@";
        byte[] hostile;
        string? refusedAt = null;
        if (r.Next(2) == 0)
        {
            // A value of another kind, out of range or in an odd spelling, in place of a member's value or a string.
            if (key)
            {
                holder![name!] = Marker;
            }
            else
            {
                value!.ReplaceWith(Marker);
            }

            hostile = Encoding.UTF8.GetBytes(message.ToJsonString().Replace("\"" + Marker + "\"", Values[r.Next(Values.Length)], StringComparison.Ordinal));
        }
        else
        {
            // Bytes that are not UTF-8 inside a key or a string. Outside context either is refused at its field (a key at
            // the object holding it); inside context a key is refused too (every look-up in its object would fail), a
            // string read as absent.
            if (key)
            {
                var moved = holder![name!]?.DeepClone();
                holder.Remove(name!);
                holder[name + Marker] = moved;
            }
            else
            {
                value!.ReplaceWith((string)value! + Marker);
            }

            var text = message.ToJsonString();
            var at = text.IndexOf(Marker, StringComparison.Ordinal);
            hostile = [.. Encoding.UTF8.GetBytes(text[..at]), .. NotUtf8[r.Next(NotUtf8.Length)], .. Encoding.UTF8.GetBytes(text[(at + Marker.Length)..])];
            var inContext = path == "context" || path.StartsWith("context.", StringComparison.Ordinal);
            refusedAt = key ? (path.LastIndexOf('.') is var dot and > 0 ? path[..dot] : "message") : inContext ? null : path;
        }

        var messages = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            messages.Add(i == bad ? hostile : Encoding.UTF8.GetBytes(Valid("track", user, i)));
        }

        var body = new List<byte>("{\"batch\":["u8.ToArray());
        for (var i = 0; i < count; i++)
        {
            body.AddRange(i == 0 ? [] : ","u8.ToArray());
            body.AddRange(messages[i]);
        }

        body.AddRange("]}"u8.ToArray());
        var sent = Shorten(Encoding.UTF8.GetString(hostile));
        var (status, answer) = await PostAsync("batch", [.. body]);
        Assert.True(status == HttpStatusCode.OK, $"{(int)status} for {sent}: {answer}");
        var rejected = answer!["rejected"]?.AsArray() ?? [];
        Assert.All(rejected, x =>
        {
            Assert.Equal(bad, (int)x!["index"]!);
            Assert.All(x["errors"]!.AsArray(), e => Assert.False(string.IsNullOrWhiteSpace((string?)e?["field"]), $"{answer.ToJsonString()} for {sent}"));
        });
        if (refusedAt is not null)
        {
            var fields = rejected.SelectMany(x => x!["errors"]!.AsArray()).Select(e => (string?)e!["field"]).ToList();
            Assert.True(fields.Contains(refusedAt), $"expected {refusedAt}, got [{string.Join(", ", fields)}] for {sent}");
        }

        Assert.Equal(count - 1, (int)answer["accepted"]! + (int)answer["duplicates"]! - (rejected.Count == 0 ? 1 : 0));
        var profile = await server.Client.GetProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(count - 1, profile?.Statistics.OrderCount);

        // Alone, on its call's own path: a 2xx or a 4xx naming the field, the same refusal.
        var (single, singleAnswer) = await PostAsync(call, hostile);
        Assert.True((int)single < 500, $"{(int)single} for {sent}: {singleAnswer}");
        if (refusedAt is not null)
        {
            Assert.Equal(HttpStatusCode.BadRequest, single);
            Assert.Contains(singleAnswer!["errors"]!.AsArray(), e => (string?)e!["field"] == refusedAt);
        }
    }

    /// <summary>
    /// Found by the property above: the JSON parser does not check a string's bytes, and the mapper looked only at text
    /// with an escape in it. A trait holding a byte that is not UTF-8 was stored with U+FFFD in its place (accepted, her
    /// name changed); one in an order id was "message: could not be read (InvalidOperationException)", no field; one in
    /// <c>event</c>, <c>userId</c> or <c>groupId</c> read as absent ("is required"). Each is now refused at its field, as
    /// an escaped lone surrogate already was, and the batch's other messages are stored.
    /// </summary>
    [Theory]
    [InlineData("identify", """{"type":"identify","messageId":"MID","userId":"USER","traits":{"firstName":"A@@B","email":"USER@example.com"}}""", "traits.firstName")]
    [InlineData("identify", """{"type":"identify","messageId":"MID","userId":"USER","traits":{"@@":"x"}}""", "traits")]
    [InlineData("track", """{"type":"track","messageId":"MID","userId":"USER","event":"Order Completed","properties":{"order_id":"o@@","total":5}}""", "properties.order_id")]
    [InlineData("track", """{"type":"track","messageId":"MID","userId":"USER","event":"Order@@ Completed"}""", "event")]
    [InlineData("identify", """{"type":"identify","messageId":"MID","userId":"USER@@"}""", "userId")]
    [InlineData("group", """{"type":"group","messageId":"MID","userId":"USER","groupId":"g@@"}""", "groupId")]
    public async Task TextThatIsNotUtf8_IsRefusedAtItsField_AndTheBatchsOtherMessagesAreStored(string call, string template, string field)
    {
        var user = "u104-utf8-" + Interlocked.Increment(ref _run);
        var text = template.Replace("USER", user, StringComparison.Ordinal).Replace("MID", user + "-m", StringComparison.Ordinal);
        var at = text.IndexOf("@@", StringComparison.Ordinal);
        byte[] bad = [.. Encoding.UTF8.GetBytes(text[..at]), 0xFF, .. Encoding.UTF8.GetBytes(text[(at + 2)..])];
        byte[] batch = [.. "{\"batch\":["u8, .. bad, .. ","u8, .. Encoding.UTF8.GetBytes(Valid("track", user + "-good", 1)), .. "]}"u8];

        var (status, answer) = await PostAsync("batch", batch);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (int)answer!["accepted"]!);
        var rejected = Assert.Single(answer["rejected"]!.AsArray());
        Assert.Equal(0, (int)rejected!["index"]!);
        var error = Assert.Single(rejected["errors"]!.AsArray())!;
        Assert.Equal(field, (string?)error["field"]);
        Assert.Contains("not UTF-8", (string?)error["message"], StringComparison.Ordinal);
        Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId(user)));
        Assert.Equal(1, (await server.Client.GetProfileAsync(Identifier.CustomerId(user + "-good")))!.Statistics.OrderCount);

        var (single, singleAnswer) = await PostAsync(call, bad);
        Assert.Equal(HttpStatusCode.BadRequest, single);
        var singleError = Assert.Single(singleAnswer!["errors"]!.AsArray())!;
        Assert.Equal(field, (string?)singleError["field"]);
        Assert.Contains("not UTF-8", (string?)singleError["message"], StringComparison.Ordinal);
    }

    /// <summary>
    /// Found while fixing the above: a batch message nested past the body's 1,000 levels is refused alone (audit U50), but
    /// when a key on the way down could not be decoded (an escaped lone surrogate, or bytes that are not UTF-8) the scan
    /// that finds it threw inside its exception filter, and the whole batch was a 400 "not valid JSON".
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMessageNestedTooDeep_UnderAKeyThatCannotBeDecoded_IsRejectedAlone(bool rawBytes)
    {
        var user = "u104-deep-" + Interlocked.Increment(ref _run);
        byte[] key = rawBytes ? [(byte)'k', 0xFF] : "k\\ud800"u8.ToArray();
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 1001)) + "1" + new string('}', 1001);
        byte[] batch =
        [
            .. "{\"batch\":["u8, .. Encoding.UTF8.GetBytes(Valid("track", user, 1)),
            .. ",{\"type\":\"identify\",\"userId\":\""u8, .. Encoding.UTF8.GetBytes(user), .. "\",\"traits\":{\""u8, .. key, .. "\":"u8, .. Encoding.UTF8.GetBytes(deep), .. "}},"u8,
            .. Encoding.UTF8.GetBytes(Valid("track", user, 2)), .. "]}"u8,
        ];

        var (status, answer) = await PostAsync("batch", batch);

        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {answer}");
        Assert.Equal(2, (int)answer!["accepted"]!);
        var rejected = Assert.Single(answer["rejected"]!.AsArray());
        Assert.Equal(1, (int)rejected!["index"]!);
        Assert.StartsWith("traits.", (string?)Assert.Single(rejected["errors"]!.AsArray())!["field"], StringComparison.Ordinal);
        Assert.Equal(2, (await server.Client.GetProfileAsync(Identifier.CustomerId(user)))!.Statistics.OrderCount);
    }

    private static string Shorten(string s) => s.Length <= 600 ? s : s[..600] + "…";

    private async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + path));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(AuditTAServer.Key + ":")));
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
        }
        catch (System.Text.Json.JsonException)
        {
            return (response.StatusCode, JsonValue.Create(text));
        }
    }
}
