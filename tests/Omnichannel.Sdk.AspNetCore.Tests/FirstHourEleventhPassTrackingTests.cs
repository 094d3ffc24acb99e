using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// First hour, eleventh pass: the tracking API as a newcomer tries it with curl. An offset sent as
/// <c>context.timezone</c> was dropped with a bare <c>{"success":true}</c> and no log line (the engine's
/// <see cref="TrackResult.Ignored"/> stopped at the endpoint); a brotli or zlib body sent without its
/// <c>Content-Encoding</c> was "not valid JSON (line 1, byte 1 of the line)".
/// </summary>
public sealed class FirstHourEleventhPassTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostRawAsync(string call, byte[] bytes, string? contentEncoding)
    {
        var (status, body) = await server.PostBytesAsync(call, bytes, contentEncoding, "application/json");
        return (status, JsonNode.Parse(body)!.AsObject());
    }

    [Theory]
    [InlineData("+02:00", "UTC offset")]
    [InlineData("UTC−3", "UTC offset")] // a typographic minus, as copied from a web page
    [InlineData("Europe/Pariss", "no time zone this machine knows")]
    public async Task AZoneNotApplied_IsListedUnderIgnored_ByItsSpecField_AndLogged(string zone, string reason)
    {
        var user = Id("fh11-tz");
        var (status, body) = await PostRawAsync("identify", Encoding.UTF8.GetBytes(
            $$$"""{"userId": "{{{user}}}", "traits": {"first_name": "Ann"}, "context": {"timezone": "{{{zone}}}"}}"""), null);

        Assert.Equal(HttpStatusCode.OK, status);
        var ignored = Assert.Single(body["ignored"]!.AsArray());
        Assert.Equal("context.timezone", (string?)ignored!["field"]);   // as the client sent it, not EventContext's name
        Assert.Contains(reason, (string?)ignored["message"], StringComparison.Ordinal);
        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Null(profile.TimeZone);
        Assert.Equal("Ann", (string?)profile.Traits["first_name"]);   // the rest of the message applied
        Assert.Contains(server.Logs, l => l.Contains("accepted with parts not applied (fields: context.timezone)", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, l => l.Contains(zone, StringComparison.Ordinal));   // the value is hers: never logged
    }

    [Fact]
    public async Task InABatch_OnlyTheMessageWhoseZoneWasNotApplied_IsListed_WithItsIndexAndMessageId()
    {
        var (ok, offset) = (Id("fh11-ok"), Id("fh11-off"));
        var (status, body) = await PostRawAsync("batch", Encoding.UTF8.GetBytes($$$"""
            {"batch": [
              {"type": "identify", "userId": "{{{Id("fh11-u")}}}", "messageId": "{{{ok}}}", "context": {"timezone": "Europe/Paris"}},
              {"type": "identify", "userId": "{{{Id("fh11-u")}}}", "messageId": "{{{offset}}}", "context": {"timezone": "GMT-05:30"}}]}
            """), null);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)body["accepted"]!);
        var entry = Assert.Single(body["ignored"]!.AsArray())!;
        Assert.Equal(1, (int)entry["index"]!);
        Assert.Equal(offset, (string?)entry["messageId"]);
        Assert.Equal("context.timezone", (string?)Assert.Single(entry["fields"]!.AsArray())!["field"]);
    }

    [Fact]
    public async Task AZoneThatIsAZone_AnswersAsBefore_WithNothingIgnored()
    {
        var user = Id("fh11-zone");
        var (status, body) = await PostRawAsync("identify", Encoding.UTF8.GetBytes(
            $$$"""{"userId": "{{{user}}}", "context": {"timezone": "America/Mexico_City"}}"""), null);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"success":true}""", body.ToJsonString());
        Assert.Equal("America/Mexico_City", (await server.ProfileAsync(Identifier.CustomerId(user))).TimeZone);
    }

    [Theory]
    [InlineData("br")]
    [InlineData("deflate")]
    public async Task ACompressedBodySentWithoutItsContentEncoding_Is400NamingTheHeaderToSend(string coding)
    {
        var json = Encoding.UTF8.GetBytes($$$"""{"batch": [{"type": "identify", "userId": "{{{Id("fh11-cz")}}}", "messageId": "{{{Id("m")}}}"}]}""");
        using var output = new MemoryStream();
        using (Stream z = coding == "br" ? new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true) : new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(json);
        }

        var (status, body) = await PostRawAsync("batch", output.ToArray(), null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"the body is compressed ({coding}) but no Content-Encoding names it: send it with \"Content-Encoding: {coding}\"", (string?)body["error"]);
        var (declared, _) = await PostRawAsync("batch", output.ToArray(), coding);
        Assert.Equal(HttpStatusCode.OK, declared);   // the same bytes with the header are read
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("{\"batch\": [")]
    public async Task ABodyThatIsNeitherJsonNorCompressed_IsStillNotValidJson(string text)
    {
        var (status, body) = await PostRawAsync("batch", Encoding.UTF8.GetBytes(text), null);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("the body is not valid JSON", (string?)body["error"], StringComparison.Ordinal);
    }
}
