using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit HX (hostile input, round 2): bodies near the limits, compression bombs, lying or odd content types and
/// charsets, and repeated message ids in one batch are each answered with a 200 or a 4xx that says why, never a 5xx.
/// </summary>
public sealed class AuditHxTrackingTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private Task<HttpResponseMessage> PostRawAsync(string call, byte[] bytes, string? contentType, string? contentEncoding = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(TrackingServer.WebsiteKey)));
        return server.Http.SendAsync(request);
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) => await response.Content.ReadAsStringAsync();

    [Fact]
    public async Task AGzipBomb_Is400SayingTheLimit_NotReadWhole()
    {
        // 64 MB of spaces compress to about 64 KB: the decompressed limit stops it, whatever the compressed size.
        using var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write("{\"batch\":["u8);
            var spaces = new byte[1 << 20];
            Array.Fill(spaces, (byte)' ');
            for (var i = 0; i < 64; i++)
            {
                z.Write(spaces);
            }

            z.Write("]}"u8);
        }

        var response = await PostRawAsync("batch", output.ToArray(), "application/json", "gzip");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("once decompressed", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json; charset=utf-7")]
    [InlineData("application/json; charset=\"\"")]
    [InlineData("application/json; charset=windows-1252")]
    [InlineData("application/json; charset=ebcdic-cp-us")]
    [InlineData("application/json; charset=x-unknown")]
    [InlineData("application/json; charset=utf-7; x=1")]
    [InlineData("application/json; charset=csUnicode11UTF7")]
    [InlineData("application/json; charset=utf-32BE")]
    [InlineData("text/plain; charset=utf-16; charset=utf-8")]
    [InlineData("text/plain; ;;; =")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task ABodyWithAnOddOrWrongCharset_IsAnsweredWithoutA5xx(string contentType)
    {
        // A UTF-16 body (it holds NUL bytes, so the charset is consulted) under a label that names another or no encoding.
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Product Viewed","timestamp":"2026-03-01T12:00:00Z"}""";
        var response = await PostRawAsync("track", Encoding.Unicode.GetBytes(json), contentType);
        Assert.True((int)response.StatusCode is 200 or 400, $"{contentType}: {(int)response.StatusCode} {await ErrorOf(response)}");
        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            Assert.Contains("error", await ErrorOf(response), StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// <c>Encoding.GetEncoding("utf-7")</c> throws <see cref="NotSupportedException"/> on .NET 5 and later, which the
    /// charset look-up did not catch: a body labelled utf-7 was a 500 (clients retry it for ever) instead of being read
    /// for what its bytes are, as an unknown charset is.
    /// </summary>
    [Theory]
    [InlineData("application/json; charset=utf-7")]
    [InlineData("text/plain; charset=\"UTF-7\"")]
    [InlineData("application/json; charset=x-unknown")]
    public async Task ACharsetDotNetCannotDecode_IsToldByTheBytes_NotA500(string contentType)
    {
        var user = Id("user");
        var json = $$"""{"userId":"{{user}}","event":"Product Viewed","timestamp":"2026-03-01T12:00:00Z"}""";
        var response = await PostRawAsync("track", Encoding.Unicode.GetBytes(json), contentType);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{contentType}: {(int)response.StatusCode} {await ErrorOf(response)}");
        Assert.NotNull(await server.ProfileAsync(Identifier.CustomerId(user)));
    }

    [Fact]
    public async Task ABatchAtItsByteLimit_IsRead_AndOneByteMore_Is400SayingTheLimit()
    {
        var options = new TrackingApiOptions();
        var user = Id("user");
        var head = $$"""{"batch":[{"type":"track","userId":"{{user}}","event":"Product Viewed","messageId":"{{Id("m")}}","timestamp":"2026-03-01T12:00:00Z"}],"pad":" """;
        var tail = "\"}";
        // The limit with the envelope's allowance (audit U108): clients count MaxBatchBytes over their messages.
        var limit = options.MaxBatchBytes + TrackingApiOptions.BatchEnvelopeBytes;
        var padding = limit - Encoding.UTF8.GetByteCount(head) - tail.Length;
        var exact = Encoding.UTF8.GetBytes(head + new string('x', padding) + tail);
        Assert.Equal(limit, exact.Length);

        var atLimit = await PostRawAsync("batch", exact, "application/json");
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);

        var over = Encoding.UTF8.GetBytes(head + new string('x', padding + 1) + tail);
        var overLimit = await PostRawAsync("batch", over, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, overLimit.StatusCode);
        Assert.Contains($"over {limit} bytes", await ErrorOf(overLimit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OneMessageIdRepeatedInABatch_WithDifferentContent_IsAppliedOnce_AndTheOthersAreCounted()
    {
        var user = Id("user");
        var messageId = Id("m");
        var messages = Enumerable.Range(0, 5).Select(i => new JsonObject
        {
            ["type"] = "track",
            ["userId"] = user,
            ["event"] = "Product Viewed",
            ["messageId"] = messageId,
            ["properties"] = new JsonObject { ["n"] = i },
            ["timestamp"] = "2026-03-01T12:00:00Z",
        });
        var body = new JsonObject { ["batch"] = new JsonArray([.. messages]) }.ToJsonString();
        var response = await PostRawAsync("batch", Encoding.UTF8.GetBytes(body), "application/json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonNode.Parse(await ErrorOf(response))!;
        Assert.Equal(1, (int)answer["accepted"]!);
        Assert.Equal(4, (int)answer["duplicates"]!);

        var profile = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.NotNull(profile);
        Assert.Single(profile.Timeline, t => t.Type == "product.viewed");
    }
}

/// <summary>Audit HX: the unsubscribe endpoint's POST with a body that is no form it can read is a 400, not a 500.</summary>
public sealed class AuditHxUnsubscribeTests : IAsyncLifetime
{
    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero)));
        builder.Services.AddOmnichannel(o =>
        {
            o.Privacy.HashKey = "audit-hx-unsubscribe-tests-key-00000000001";
            o.Delivery.Unsubscribe.Endpoint = new Uri("http://127.0.0.1/unsubscribe");
        });
        _app = builder.Build();
        _app.MapOmnichannelUnsubscribe();
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!;
        _base = new Uri(addresses.Addresses.Single().TrimEnd('/') + "/");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public static TheoryData<string, string> Bodies() => new()
    {
        { "multipart/form-data; boundary=x", "not a multipart body" },
        { "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nabc" },
        { "multipart/form-data", "--x\r\n\r\n--x--" },
        { "application/x-www-form-urlencoded", string.Join('&', Enumerable.Range(0, 5000).Select(i => $"k{i}=v")) },
        { "application/x-www-form-urlencoded", "t=" + new string('a', 5 * 1024 * 1024) },
        { "application/x-www-form-urlencoded", "t=%zz%&&==%" },
        { "application/x-www-form-urlencoded; charset=utf-7", "t=abc" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task APostWithABodyThatIsNoReadableForm_IsA400_NotA500(string contentType, string body)
    {
        using var http = new HttpClient();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await http.PostAsync(new Uri(_base, "unsubscribe"), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
