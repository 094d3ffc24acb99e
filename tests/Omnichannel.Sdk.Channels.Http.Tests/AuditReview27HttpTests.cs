using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>
/// A hostile review of audit U12 (HTTP transports and webhooks); docs/design-notes.md, "Review of the twenty-seventh
/// session's changes", lists what held and what was fixed.
/// </summary>
public sealed class AuditReview27HttpTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

    private sealed class Scripted(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        public int Calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromResult(answer());
        }
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, byte[] body, string? charset = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = charset };
        return new HttpResponseMessage(status) { Content = content };
    }

    private static HttpProviderTransport Provider(HttpMessageHandler handler, Action<HttpProviderOptions>? configure = null)
    {
        var options = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/v1/messages"), IdempotencyKeyHeader = "Idempotency-Key" };
        configure?.Invoke(options);
        return new HttpProviderTransport(new HttpClient(handler), options, new FakeTimeProvider(Now));
    }

    private static SmsMessage Sms(string id) => new() { MessageId = id, To = "+34600111222", Body = "Your order shipped" };

    // A URL written without its scheme ("user:password@host/…") parses as an absolute URI of scheme "user" with no
    // user-info part, so the check for credentials passed it, and the "must be an absolute http or https URL (got '…')"
    // start-up error printed it whole, password included. Likewise a scheme-relative "//user:password@host/…".
    [Fact]
    public void AUrlMissingItsScheme_WithAPassword_IsRefusedWithoutEchoingThePassword()
    {
        var noScheme = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("acme:pw_r27_secret@sms.example/v1/messages") };
        var relative = new WebhookTransportOptions { Secret = "whsec_r27", DefaultUrl = new Uri("//hooks:pw_r27_secret@partner.example/hooks", UriKind.Relative) };

        var errors = new[]
        {
            Assert.Throws<OptionsValidationException>(() => new HttpProviderTransport(new HttpClient(), noScheme)),
            Assert.Throws<OptionsValidationException>(() => new WebhookTransport(new HttpClient(), relative)),
        };

        Assert.All(errors, e => Assert.Contains("must be an absolute http or https URL", e.Message, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("pw_r27_secret", e.Message, StringComparison.Ordinal));
        Assert.Contains("@sms.example/v1/messages", errors[0].Message, StringComparison.Ordinal); // the rest still helps find the typo
    }

    [Fact]
    public async Task AMessageUrlMissingItsScheme_WithAPassword_IsAPermanentFailure_WithoutThePassword()
    {
        var handler = new Scripted(() => new HttpResponseMessage(HttpStatusCode.NoContent));
        var transport = new WebhookTransport(new HttpClient(handler), new WebhookTransportOptions { Secret = "whsec_r27" }, new FakeTimeProvider(Now));

        var result = await transport.SendAsync(new WebhookMessage
        {
            MessageId = "r27-no-scheme",
            EventType = "order.shipped",
            Url = new Uri("hooks:pw_r27_secret@partner.example/hooks"),
            Payload = System.Text.Json.JsonDocument.Parse("""{"order":"A-1"}""").RootElement,
        });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.DoesNotContain("pw_r27_secret", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, handler.Calls);
    }

    // UTF-16 answers: the byte order mark decides. Big-endian text labelled "utf-16" (RFC 2781's default order) was read
    // little-endian, and UTF-16 with its mark but no charset was read as UTF-8: either way the provider's id was lost.
    [Theory]
    [InlineData("utf-16", true)]
    [InlineData("utf-16", false)]
    [InlineData(null, true)]
    [InlineData(null, false)]
    public async Task AUtf16AnswerWithItsByteOrderMark_KeepsTheProvidersId(string? charset, bool bigEndian)
    {
        var encoding = bigEndian ? Encoding.BigEndianUnicode : Encoding.Unicode;
        var body = (byte[])[.. encoding.GetPreamble(), .. encoding.GetBytes("""{"id":"SM-r27-ü"}""")];

        var result = await Provider(new Scripted(() => Answer(HttpStatusCode.OK, body, charset))).SendAsync(Sms("r27-utf16"));

        Assert.Equal(DeliveryResult.Accepted("SM-r27-ü"), result);
    }

    // Held: a quoted charset, an unknown one and a UTF-32 answer are read, never thrown, and keep the provider's id.
    [Theory]
    [InlineData("\"utf-8\"")]
    [InlineData("x-no-such-charset")]
    [InlineData("utf-32")]
    public async Task AnAnswerInAQuotedUnknownOrWideCharset_KeepsTheProvidersId(string charset)
    {
        var encoding = charset == "utf-32" ? Encoding.UTF32 : Encoding.UTF8;
        var body = encoding.GetBytes("""{"id":"SM-r27"}""");

        var result = await Provider(new Scripted(() => Answer(HttpStatusCode.OK, body, charset))).SendAsync(Sms("r27-charset"));

        Assert.Equal(DeliveryResult.Accepted("SM-r27"), result);
    }
}
