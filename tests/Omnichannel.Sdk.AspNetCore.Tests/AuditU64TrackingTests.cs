using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U64: <c>Content-Encoding: br</c> through the real endpoint. Brotli bodies were answered 400 ("not supported"),
/// which clients drop; they are now read with the BCL's <see cref="BrotliStream"/> under the same decompressed-size limit
/// as gzip, so a brotli bomb is refused as a gzip bomb is.
/// </summary>
public sealed class AuditU64TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private Task<HttpResponseMessage> PostRawAsync(string call, byte[] bytes, string? contentEncoding)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey)));
        return server.Http.SendAsync(request);
    }

    private static byte[] Brotli(Action<Stream> write)
    {
        using var output = new MemoryStream();
        using (var z = new BrotliStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            write(z);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData("br", "batch")]
    [InlineData("BR", "track")]
    [InlineData("br, identity", "batch")]
    public async Task ABrotliBody_IsAccepted_AndItsEventsApplied(string contentEncoding, string call)
    {
        var user = Id("user");
        var message = $$"""{"type": "track", "event": "Order Completed", "userId": "{{user}}", "messageId": "{{Id("m")}}", "properties": {"order_id": "{{Id("o")}}", "total": 12.5, "currency": "EUR"} }""";
        var json = call == "batch" ? $$"""{"batch": [{{message}}]}""" : message;
        var response = await PostRawAsync(call, Brotli(z => z.Write(Encoding.UTF8.GetBytes(json))), contentEncoding);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    [Fact]
    public async Task ABrotliBomb_Is400SayingTheLimit_AsAGzipBombIs()
    {
        // 64 MB of spaces compress to a small body: the decompressed limit stops it, whatever the compressed size.
        var bomb = Brotli(z =>
        {
            z.Write("{\"batch\":["u8);
            var spaces = new byte[1 << 20];
            Array.Fill(spaces, (byte)' ');
            for (var i = 0; i < 64; i++)
            {
                z.Write(spaces);
            }

            z.Write("]}"u8);
        });
        Assert.True(bomb.Length < 100_000, $"{bomb.Length} bytes compressed");
        var response = await PostRawAsync("batch", bomb, "br");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("once decompressed", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABrokenBrotliBody_Is400SayingSo_AndAnUnknownEncodingStillNamesIt()
    {
        var broken = await PostRawAsync("track", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "br");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("not valid brotli", await broken.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Cut short: the end of the stream is missing.
        var whole = Brotli(z => z.Write(Encoding.UTF8.GetBytes($$"""{"type": "track", "event": "x", "userId": "{{Id("user")}}", "properties": {"note": "{{new string('a', 4000)}}{{Guid.NewGuid()}}"} }""")));
        var cut = await PostRawAsync("track", whole[..(whole.Length / 2)], "br");
        Assert.Equal(HttpStatusCode.BadRequest, cut.StatusCode);

        var zstd = await PostRawAsync("track", [1, 2, 3, 4], "zstd");
        Assert.Equal(HttpStatusCode.BadRequest, zstd.StatusCode);
        Assert.Contains("'zstd' is not supported (send gzip, deflate, br or no encoding)", await zstd.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
