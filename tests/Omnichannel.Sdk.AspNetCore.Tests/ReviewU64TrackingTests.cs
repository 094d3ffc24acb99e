using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Review of audit U64 (<c>Content-Encoding: br</c>). Brotli has no magic bytes, and U64 sniffed a declared <c>br</c>
/// body as the others are sniffed: a brotli stream whose first byte is <c>[</c> (the BCL's default encoder on any body
/// over 64 KB: window 22, one last meta-block of five length nibbles) was read as JSON, and one starting <c>1F 8B</c>
/// (window 24, one meta-block whose length is 140 + 256k) as gzip; both were a 400 that clients drop.
/// </summary>
public sealed class ReviewU64TrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private Task<(HttpStatusCode Status, string Body)> PostRawAsync(string call, byte[] bytes, string? contentEncoding) =>
        server.PostBytesAsync(call, bytes, contentEncoding);

    private static byte[] BrotliStreamed(byte[] raw, CompressionLevel level)
    {
        using var output = new MemoryStream();
        using (var z = new BrotliStream(output, level, leaveOpen: true))
        {
            z.Write(raw);
        }

        return output.ToArray();
    }

    private static byte[] BrotliOneShot(byte[] raw, int quality, int window)
    {
        var output = new byte[BrotliEncoder.GetMaxCompressedLength(raw.Length)];
        Assert.True(BrotliEncoder.TryCompress(raw, output, out var written, quality, window));
        return output[..written];
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(raw);
        }

        return output.ToArray();
    }

    private static string Message(string user, int padding = 0) =>
        $$"""{"type": "track", "event": "Order Completed", "userId": "{{user}}", "messageId": "{{Id("m")}}", "properties": {"order_id": "{{Id("o")}}", "total": 12.5, "currency": "EUR", "note": "{{new string('n', padding)}}"} }""";

    // A batch of `count` orders of one user, in about `bytes` bytes.
    private static string Batch(string user, int count, int bytes) =>
        $$"""{"batch": [{{string.Join(",", Enumerable.Range(0, count).Select(_ => Message(user, Math.Max(0, (bytes / count) - 200))))}}]}""";

    [Theory]
    [InlineData("default encoder, 100 KB batch", 0x5B)] // '[': was read as JSON
    [InlineData("smallest size, 300 KB batch", 0x5B)]
    [InlineData("quality 11, window 24, 140-byte message", 0x1F)] // 1F 8B: was read as gzip
    [InlineData("quality 11, window 24, 300 KB batch", null)]
    [InlineData("quality 1, window 10, 100 KB batch", null)]
    public async Task ABrotliBody_WhateverItsFirstBytes_IsReadAsBrotli(string kind, int? firstByte)
    {
        var user = Id("r64-br");
        var (json, count) = kind switch
        {
            "default encoder, 100 KB batch" or "quality 1, window 10, 100 KB batch" => (Batch(user, 100, 100_000), 100),
            "smallest size, 300 KB batch" or "quality 11, window 24, 300 KB batch" => (Batch(user, 300, 300_000), 300),
            _ => (Message(user), 1),
        };
        if (count == 1)
        {
            // Padded with trailing white space to a length of 140 + 256k: one meta-block whose length's low byte is 0x8B.
            json += new string(' ', ((140 - (json.Length % 256)) + 256) % 256);
        }

        var raw = Encoding.UTF8.GetBytes(json);
        var body = kind switch
        {
            "default encoder, 100 KB batch" => BrotliStreamed(raw, CompressionLevel.Optimal),
            "smallest size, 300 KB batch" => BrotliStreamed(raw, CompressionLevel.SmallestSize),
            "quality 1, window 10, 100 KB batch" => BrotliOneShot(raw, 1, 10),
            _ => BrotliOneShot(raw, 11, 24),
        };
        if (firstByte is { } b)
        {
            Assert.Equal(b, body[0]); // what made it look like something else
            if (b == 0x1F)
            {
                Assert.Equal(0x8B, body[1]);
            }
        }

        var (status, answer) = await PostRawAsync(count == 1 ? "track" : "batch", body, "br");
        Assert.True(status == HttpStatusCode.OK, $"{status} {answer}");
        Assert.Equal(count, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    // Two codings in a row (RFC 9110, section 8.4: listed in the order applied). "br, gzip" was read as gzip and its inside,
    // brotli, handed to the JSON reader: a 400 "not valid JSON".
    [Theory]
    [InlineData("br, gzip")]
    [InlineData("gzip, br")]
    [InlineData("BR ,  GZIP")]
    [InlineData("gzip, identity, br")]
    public async Task TwoCodingsInARow_AreUndoneInReverseOrder(string contentEncoding)
    {
        var user = Id("r64-two");
        var raw = Encoding.UTF8.GetBytes(Message(user));
        var body = contentEncoding.Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "br,gzip" => Gzip(BrotliStreamed(raw, CompressionLevel.Optimal)),
            _ => BrotliStreamed(Gzip(raw), CompressionLevel.Optimal),
        };
        var (status, answer) = await PostRawAsync("track", body, contentEncoding);
        Assert.True(status == HttpStatusCode.OK, $"{status} {answer}");
        Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
    }

    // A brotli stream cut short: BrotliStream reads what it has and ends without an error, so the cut body reached the JSON
    // reader ("not valid JSON", or worse, a cut that ends between two complete values was read as whole). The decoder's own
    // status tells a cut stream, and the answer says so.
    [Fact]
    public async Task ABrotliStreamCutShort_Is400SayingSo()
    {
        var raw = Encoding.UTF8.GetBytes(Batch(Id("r64-cut"), 20, 20_000));
        var whole = BrotliStreamed(raw, CompressionLevel.Optimal);
        foreach (var cut in new[] { whole.Length - 1, whole.Length / 2, 1 })
        {
            var (status, answer) = await PostRawAsync("batch", whole[..cut], "br");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("not valid brotli", answer, StringComparison.Ordinal);
        }
    }

    // Guards (held before): an empty brotli stream and a zero-length body are "empty"; a body declared br that is plain JSON
    // (a proxy that decompressed it and kept the header), or gzip, is read for what it is; a bomb stops at the limit.
    [Theory]
    [InlineData("empty stream")]
    [InlineData("zero length")]
    [InlineData("plain json")]
    [InlineData("gzip")]
    [InlineData("chained bomb")]
    public async Task BrotliEdges_HoldTheirAnswers(string kind)
    {
        var user = Id("r64-edge");
        var raw = Encoding.UTF8.GetBytes(Message(user));
        var (body, encoding, expected, says) = kind switch
        {
            "empty stream" => (BrotliStreamed([], CompressionLevel.Optimal), "br", HttpStatusCode.BadRequest, "the body is empty"),
            "zero length" => ([], "br", HttpStatusCode.BadRequest, "the body is empty"),
            "plain json" => (raw, "br", HttpStatusCode.OK, "true"),
            "gzip" => (Gzip(raw), "br", HttpStatusCode.OK, "true"),
            _ => (Gzip(BrotliStreamed(new byte[8 << 20], CompressionLevel.Optimal)), "br, gzip", HttpStatusCode.BadRequest, "once decompressed"),
        };
        var (status, answer) = await PostRawAsync("track", body, encoding);
        Assert.True(status == expected, $"{status} {answer}");
        Assert.Contains(says, answer, StringComparison.Ordinal);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(1, (await server.ProfileAsync(Identifier.CustomerId(user))).Statistics.OrderCount);
        }
    }
}
