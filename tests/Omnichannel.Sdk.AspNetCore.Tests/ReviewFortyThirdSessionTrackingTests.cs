using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Review of the forty-third session's last changes (first hour, eleventh pass): the <c>200</c> answer's <c>ignored</c>
/// list and the sniffing of a compressed body sent without <c>Content-Encoding</c>, tried with bodies that are not
/// compressed and with values that are hers.
/// </summary>
public sealed class ReviewFortyThirdSessionTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<(HttpStatusCode Status, string Text)> PostRawAsync(string call, byte[] bytes, string contentType = "application/json") =>
        await server.PostBytesAsync(call, bytes, contentEncoding: null, contentType);

    // Text bodies whose first two bytes pass zlib's header check (CM 8, a multiple of 31, no preset dictionary) and whose
    // next bits read as a fixed-Huffman block: ZLibStream, like DeflateStream, returns what it decoded of a stream that
    // never ends, so these were "compressed (deflate)" (found by posting 1,800 random ASCII bodies with the six such
    // pairs: 18 hits). The other cases are the same pairs, which held before too.
    [Theory]
    [InlineData("(S;iVSV")]
    [InlineData("(Sk1-")]
    [InlineData("(Srr")]
    [InlineData("(SKld}gs:@t")]
    [InlineData("x^c'est moi")]
    [InlineData("hCan you read this")]
    [InlineData("XGood morning")]
    [InlineData("8Ok then")]
    public async Task ATextBodyThatIsNotCompressed_IsNotValidJson_NotSaidToBeCompressed(string text)
    {
        var (status, answer) = await PostRawAsync("batch", Encoding.UTF8.GetBytes(text));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("the body is not valid JSON", (string?)JsonNode.Parse(answer)!["error"], StringComparison.Ordinal);
    }

    // JSON in another Unicode encoding, declared by its charset, does not start with '{' or '[' as bytes: it is tried as
    // brotli and zlib first, and must still be read as the JSON it is.
    [Theory]
    [InlineData("utf-16", true, "")]
    [InlineData("utf-16", false, " ")]
    [InlineData("utf-16BE", true, "")]
    [InlineData("utf-16BE", false, "\n")]
    [InlineData("utf-32", true, "")]
    public async Task JsonInAnotherUnicodeEncoding_WithItsCharset_IsStillAccepted(string charset, bool bom, string lead)
    {
        var encoding = Encoding.GetEncoding(charset);
        var json = lead + $$$"""{"batch": [{"type": "identify", "userId": "{{{Id("r43-enc")}}}", "messageId": "{{{Id("m")}}}"}]}""";
        byte[] bytes = [.. bom ? encoding.GetPreamble() : [], .. encoding.GetBytes(json)];

        var (status, answer) = await PostRawAsync("batch", bytes, $"application/json; charset={charset}");

        Assert.True(status == HttpStatusCode.OK, answer);
        Assert.Equal(1, (int?)JsonNode.Parse(answer)!["accepted"]);
    }

    // Whatever she typed as her zone (an email here), neither the answer nor the log quotes it.
    [Fact]
    public async Task AZoneThatIsPersonalData_IsNeverQuoted_InTheAnswerOrTheLog()
    {
        var typed = $"{Id("r43-zone")}@example.com";
        var (single, singleAnswer) = await PostRawAsync("identify", Encoding.UTF8.GetBytes(
            $$$"""{"userId": "{{{Id("r43-u")}}}", "context": {"timezone": "{{{typed}}}"}}"""));
        var (batch, batchAnswer) = await PostRawAsync("batch", Encoding.UTF8.GetBytes(
            $$$"""{"batch": [{"type": "track", "event": "Viewed", "userId": "{{{Id("r43-v")}}}", "messageId": "{{{Id("m")}}}", "context": {"timezone": " {{{typed}}} "}}]}"""));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (single, batch));
        Assert.Equal("context.timezone", (string?)JsonNode.Parse(singleAnswer)!["ignored"]![0]!["field"]);
        Assert.Equal("context.timezone", (string?)JsonNode.Parse(batchAnswer)!["ignored"]![0]!["fields"]![0]!["field"]);
        Assert.DoesNotContain(typed, singleAnswer, StringComparison.Ordinal);
        Assert.DoesNotContain(typed, batchAnswer, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs, l => l.Contains(typed, StringComparison.Ordinal));
    }
}
