using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

public sealed class WebhookTransportTests(WebhookReceiverFixture receiver) : IClassFixture<WebhookReceiverFixture>, IDisposable
{
    private readonly HttpClient httpClient = new();
    private readonly FakeTimeProvider clock = new(WebhookReceiverFixture.Now);

    public void Dispose() => httpClient.Dispose();

    [Fact]
    public async Task SendAsync_PostsThePayloadAsJsonWithSignedHeaders()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        var message = Hook("msg-1", path, """{"order":"A-1","lines":[{"sku":"CAT-FOOD","qty":2}],"note":"ñ"}""");

        var result = await Transport().SendAsync(message);

        Assert.Equal(DeliveryResult.Accepted(null), result);
        var request = Assert.Single(receiver.At(path));
        Assert.Equal("POST", request.Method);
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        Assert.True(JsonElement.DeepEquals(message.Payload, JsonDocument.Parse(request.Body).RootElement));
        Assert.Equal("msg-1", request.Header(WebhookHeaders.IdempotencyKey));
        Assert.Equal("order.shipped", request.Header(WebhookHeaders.Event));
        Assert.Equal(WebhookReceiverFixture.Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), request.Header(WebhookHeaders.Timestamp));
        Assert.Equal(
            WebhookSignature.Compute(WebhookReceiverFixture.Secret, WebhookReceiverFixture.Now.ToUnixTimeSeconds(), request.Body),
            request.Header(WebhookHeaders.Signature));
        Assert.Equal(WebhookVerificationStatus.Valid, receiver.Verdicts[path].Status);
    }

    [Fact]
    public async Task SendAsync_WhenTheSameMessageIsSentAgain_SendsTheSameIdempotencyKey()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        var transport = Transport();
        var first = Hook("msg-retry", path);

        await transport.SendAsync(first);
        clock.Advance(TimeSpan.FromSeconds(40));
        await transport.SendAsync(first);
        await transport.SendAsync(Hook("msg-other", path));

        var requests = receiver.At(path);
        Assert.Equal(["msg-retry", "msg-retry", "msg-other"], requests.Select(r => r.Header(WebhookHeaders.IdempotencyKey)));
        // A retry is signed afresh with the clock's new time, so the receiver's replay window does not reject it.
        Assert.NotEqual(requests[0].Header(WebhookHeaders.Timestamp), requests[1].Header(WebhookHeaders.Timestamp));
        Assert.Equal(WebhookVerificationStatus.Valid, receiver.Verdicts[path].Status);
    }

    [Fact]
    public async Task SendAsync_WhenTheMessageHasNoUrl_PostsToTheDefaultUrl()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        var transport = Transport(o => o.DefaultUrl = receiver.Url(path));

        var result = await transport.SendAsync(Hook("msg-default", url: null));

        Assert.True(result.IsAccepted);
        Assert.Equal("msg-default", Assert.Single(receiver.At(path)).Header(WebhookHeaders.IdempotencyKey));
    }

    [Fact]
    public async Task SendAsync_SendsTheConfiguredStaticHeaders()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        var transport = Transport(o => o.Headers["Authorization"] = "Bearer partner-token");

        await transport.SendAsync(Hook("msg-auth", path));

        Assert.Equal("Bearer partner-token", Assert.Single(receiver.At(path)).Header("Authorization"));
    }

    [Fact]
    public async Task SendAsync_WhenTheSecretDiffersFromTheReceivers_IsRejectedAsPermanentFailure()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");

        var result = await Transport(o => o.Secret = "whsec_someone_else").SendAsync(Hook("msg-forged", path));

        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, receiver.Verdicts[path].Status);
        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Equal("HTTP 401 Unauthorized: signature rejected: SignatureMismatch", result.Reason);
    }

    [Fact]
    public async Task SendAsync_WhenTheSendersClockIsTenMinutesBehind_TheReceiverRejectsTheStaleTimestamp()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        var lagging = new FakeTimeProvider(WebhookReceiverFixture.Now.AddMinutes(-10));
        var transport = new WebhookTransport(httpClient, new WebhookTransportOptions { Secret = WebhookReceiverFixture.Secret }, lagging);

        var result = await transport.SendAsync(Hook("msg-stale", path));

        Assert.Equal(WebhookVerificationStatus.TimestampOutsideTolerance, receiver.Verdicts[path].Status);
        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
    }

    [Fact]
    public async Task Receiver_WhenTheRecordedBodyIsTampered_VerificationFails()
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        await Transport().SendAsync(Hook("msg-tamper", path, """{"refund":10}"""));
        var request = Assert.Single(receiver.At(path));
        var tampered = System.Text.Encoding.UTF8.GetBytes("""{"refund":1000}""");

        var genuine = WebhookSignature.Verify(WebhookReceiverFixture.Secret, request.Header(WebhookHeaders.Timestamp), request.Header(WebhookHeaders.Signature), request.Body, WebhookReceiverFixture.Now, TimeSpan.FromMinutes(5));
        var forged = WebhookSignature.Verify(WebhookReceiverFixture.Secret, request.Header(WebhookHeaders.Timestamp), request.Header(WebhookHeaders.Signature), tampered, WebhookReceiverFixture.Now, TimeSpan.FromMinutes(5));

        Assert.True(genuine.IsValid);
        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, forged.Status);
    }

    [Fact]
    public async Task SendAsync_When503WithRetryAfter_IsTransientWithTheDelay()
    {
        var result = await Transport().SendAsync(Hook("msg-busy", "/busy"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.StartsWith("HTTP 503 Service Unavailable", result.Reason, StringComparison.Ordinal);
        Assert.True(HttpFailureReason.TryGetRetryAfter(result, out var delay));
        Assert.Equal(TimeSpan.FromMinutes(2), delay);
    }

    [Fact]
    public async Task SendAsync_When410Gone_IsPermanentWithTheReceiversText()
    {
        var result = await Transport().SendAsync(Hook("msg-gone", "/gone"));

        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 410 Gone: this hook was deleted"), result);
    }

    [Fact]
    public async Task SendAsync_WhenThereIsNoUrlAnywhere_IsPermanentWithoutCallingOut()
    {
        var result = await Transport().SendAsync(Hook("msg-nowhere", url: null));

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Contains("no Url", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenTheMessageIsNotAWebhook_IsPermanent()
    {
        var result = await Transport().SendAsync(new SmsMessage { MessageId = "sms-1", To = "+15550001", Body = "hi" });

        Assert.Equal(DeliveryResult.PermanentFailure("The webhook transport sends only WebhookMessage, not SmsMessage."), result);
    }

    [Fact]
    public void Constructor_WhenOptionsAreInvalid_ListsEveryProblem()
    {
        var options = new WebhookTransportOptions { Secret = " ", DefaultUrl = new Uri("ftp://example.com/"), Timeout = TimeSpan.Zero };

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new WebhookTransport(httpClient, options, clock));

        Assert.Contains("Secret must not be empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultUrl must be an absolute http or https URL (got 'ftp://example.com/')", error.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout must be positive", error.Message, StringComparison.Ordinal);
    }

    private WebhookTransport Transport(Action<WebhookTransportOptions>? configure = null)
    {
        var options = new WebhookTransportOptions { Secret = WebhookReceiverFixture.Secret };
        configure?.Invoke(options);
        return new WebhookTransport(httpClient, options, clock);
    }

    private WebhookMessage Hook(string id, string? url, string json = """{"order":"A-1"}""") => new()
    {
        MessageId = id,
        Url = url is null ? null : receiver.Url(url),
        EventType = "order.shipped",
        Payload = JsonDocument.Parse(json).RootElement,
    };
}
