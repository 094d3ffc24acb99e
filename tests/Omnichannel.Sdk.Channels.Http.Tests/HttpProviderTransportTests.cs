using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

public sealed class HttpProviderTransportTests(ProviderGatewayFixture gateway) : IClassFixture<ProviderGatewayFixture>, IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly HttpClient httpClient = new();
    private readonly FakeTimeProvider clock = new(ProviderGatewayFixture.Now);

    public void Dispose() => httpClient.Dispose();

    [Fact]
    public async Task SendAsync_When201WithAnId_IsAcceptedWithTheProvidersId()
    {
        var result = await Transport("/created", o => o.MessageIdPath = "sid").SendAsync(Sms("sms-201"));

        Assert.Equal(DeliveryResult.Accepted("SM-1"), result);
    }

    [Theory]
    [InlineData("/nested", "data.messages.0.id", "wamid.9")]
    [InlineData("/nested", "$.data.messages.0.id", "wamid.9")]
    [InlineData("/numeric-id", "id", "12345")]
    [InlineData("/echo", "id", "echo-1")]
    public async Task SendAsync_ReadsTheMessageIdAtTheConfiguredPath(string path, string idPath, string expected)
    {
        var result = await Transport(path, o => o.MessageIdPath = idPath).SendAsync(Sms("sms-path"));

        Assert.Equal(DeliveryResult.Accepted(expected), result);
    }

    [Theory]
    [InlineData("/no-id", "id")]
    [InlineData("/nested", "data.messages.3.id")]
    [InlineData("/echo", null)]
    public async Task SendAsync_When2xxCarriesNoIdAtThePath_IsAcceptedWithoutId(string path, string? idPath)
    {
        var result = await Transport(path, o => o.MessageIdPath = idPath).SendAsync(Sms("sms-noid"));

        Assert.Equal(DeliveryResult.Accepted(null), result);
    }

    [Fact]
    public async Task SendAsync_PostsTheDefaultSmsBodyWithStaticHeadersAndTheIdempotencyKey()
    {
        var transport = Transport("/echo", o => o.Headers["Authorization"] = "Bearer sk_live_123");

        await transport.SendAsync(Sms("sms-headers") with { From = "KittyShop" });

        var request = gateway.At("/echo").Single(r => r.Header("Idempotency-Key") == "sms-headers");
        Assert.Equal("POST", request.Method);
        Assert.Equal("Bearer sk_live_123", request.Header("Authorization"));
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"messageId":"sms-headers","to":"+34600111222","from":"KittyShop","body":"Your order shipped"}"""),
            JsonNode.Parse(request.Body)));
    }

    [Fact]
    public async Task SendAsync_UsesTheConfiguredMethodPayloadBuilderAndIdempotencyHeader()
    {
        var transport = Transport("/created", o =>
        {
            o.Method = HttpMethod.Put;
            o.IdempotencyKeyHeader = "X-Request-Id";
            o.PayloadBuilder = m =>
            {
                var body = HttpProviderTransport.DefaultPayload(m);
                body["sender_id"] = "KITTY";
                return body;
            };
        });

        var result = await transport.SendAsync(Sms("sms-put"));

        Assert.True(result.IsAccepted);
        var request = gateway.At("/created").Single(r => r.Header("X-Request-Id") == "sms-put");
        Assert.Equal("PUT", request.Method);
        Assert.Null(request.Header("Idempotency-Key"));
        Assert.Equal("KITTY", JsonNode.Parse(request.Body)!["sender_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task SendAsync_WhenIdempotencyHeaderIsNull_SendsNone()
    {
        await Transport("/echo", o => o.IdempotencyKeyHeader = null).SendAsync(Sms("sms-nokey"));

        var request = gateway.At("/echo").Single(r => r.BodyText.Contains("sms-nokey", StringComparison.Ordinal));
        Assert.Null(request.Header("Idempotency-Key"));
    }

    [Fact]
    public async Task SendAsync_SendsWhatsAppTemplatesWithTheirParameters()
    {
        var transport = Transport("/echo", o => o.Channel = ChannelNames.WhatsApp);
        var message = new WhatsAppMessage
        {
            MessageId = "wa-1",
            To = "+34600111222",
            TemplateName = "order_shipped",
            TemplateLanguage = "es",
            TemplateParameters = ["Clara", "A-1"],
        };

        var result = await transport.SendAsync(message);

        Assert.Equal(DeliveryResult.Accepted("echo-1"), result);
        var request = gateway.At("/echo").Single(r => r.Header("Idempotency-Key") == "wa-1");
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""
                {"messageId":"wa-1","to":"+34600111222","type":"template",
                 "template":{"name":"order_shipped","language":"es","parameters":["Clara","A-1"]}}
                """),
            JsonNode.Parse(request.Body)));
    }

    [Fact]
    public void DefaultPayload_ShapesPushAndWhatsAppText()
    {
        var push = new PushMessage
        {
            MessageId = "push-1",
            DeviceTokens = ["tok-a", "tok-b"],
            Title = "Back in stock",
            Body = "Tuna treats are back",
            DeepLink = "kitty://p/42",
            Data = new Dictionary<string, string> { ["sku"] = "TUNA" },
        };
        var text = new WhatsAppMessage { MessageId = "wa-2", To = "+34600111222", Text = "¿Te ayudamos?" };

        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""
                {"messageId":"push-1","tokens":["tok-a","tok-b"],"title":"Back in stock","body":"Tuna treats are back",
                 "deepLink":"kitty://p/42","data":{"sku":"TUNA"}}
                """),
            HttpProviderTransport.DefaultPayload(push)));
        Assert.True(JsonNode.DeepEquals(
            JsonNode.Parse("""{"messageId":"wa-2","to":"+34600111222","type":"text","text":"¿Te ayudamos?"}"""),
            HttpProviderTransport.DefaultPayload(text)));
    }

    [Fact]
    public async Task SendAsync_When429WithRetryAfterSeconds_IsTransientAndCarriesTheDelay()
    {
        var result = await Transport("/throttled").SendAsync(Sms("sms-429"));

        Assert.Equal(DeliveryResult.TransientFailure("HTTP 429 Too Many Requests: slow down; retry-after=30s", TimeSpan.FromSeconds(30)), result);
        Assert.True(HttpFailureReason.TryGetRetryAfter(result, out var delay));
        Assert.Equal(TimeSpan.FromSeconds(30), delay);
    }

    [Fact]
    public async Task SendAsync_When429WithRetryAfterDate_MeasuresTheDelayOnTheClock()
    {
        var result = await Transport("/throttled-until").SendAsync(Sms("sms-429-date"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.True(HttpFailureReason.TryGetRetryAfter(result, out var delay));
        Assert.Equal(TimeSpan.FromSeconds(90), delay);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(425)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    public async Task SendAsync_WhenTheProviderAnswersARetryableStatus_IsTransient(int status)
    {
        var result = await Transport($"/status/{status}").SendAsync(Sms($"sms-{status}"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.StartsWith($"HTTP {status} ", result.Reason, StringComparison.Ordinal);
        Assert.EndsWith($": status {status}", result.Reason, StringComparison.Ordinal);
        Assert.False(HttpFailureReason.TryGetRetryAfter(result, out _));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(410)]
    [InlineData(422)]
    public async Task SendAsync_WhenTheProviderAnswersAnotherClientError_IsPermanent(int status)
    {
        var result = await Transport($"/status/{status}").SendAsync(Sms($"sms-{status}"));

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.EndsWith($": status {status}", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_When400WithAnErrorObject_ReportsTheProvidersMessage()
    {
        var result = await Transport("/bad").SendAsync(Sms("sms-400"));

        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 400 Bad Request: The 'To' number +1555 is not valid."), result);
    }

    [Fact]
    public async Task SendAsync_WhenErrorMessagePathIsConfigured_ReadsTheMessageThere()
    {
        var result = await Transport("/custom-error", o => o.ErrorMessagePath = "fault.text").SendAsync(Sms("sms-422"));

        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 422 Unprocessable Entity: template not approved"), result);
    }

    [Fact]
    public async Task SendAsync_WhenTheErrorBodyIsPlainText_ReportsTheText()
    {
        var result = await Transport("/text-error").SendAsync(Sms("sms-404"));

        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 404 Not Found: no such sender id"), result);
    }

    [Fact]
    public async Task SendAsync_WhenNothingListensOnThePort_IsTransientNetworkError()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var transport = new HttpProviderTransport(
            httpClient, new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri($"http://127.0.0.1:{port}/sms") }, clock);

        var result = await transport.SendAsync(Sms("sms-refused"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.StartsWith("Network error (ConnectionError)", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenTheProviderNeverAnswers_TimesOutOnTheClockAsTransient()
    {
        var arrived = gateway.ExpectHang();
        var transport = Transport("/hang", o => o.Timeout = TimeSpan.FromSeconds(10));

        var send = transport.SendAsync(Sms("sms-hang")).AsTask();
        await arrived.WaitAsync(Guard);
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(send.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        var result = await send.WaitAsync(Guard);

        Assert.Equal(DeliveryResult.TransientFailure("The provider did not answer within 10 s."), result);
    }

    [Fact]
    public async Task SendAsync_WhenTheCallerCancelsWhileWaiting_IsTransient()
    {
        var arrived = gateway.ExpectHang();
        using var cancellation = new CancellationTokenSource();

        var send = Transport("/hang").SendAsync(Sms("sms-cancel"), cancellation.Token).AsTask();
        await arrived.WaitAsync(Guard);
        await cancellation.CancelAsync();
        var result = await send.WaitAsync(Guard);

        Assert.Equal(DeliveryResult.TransientFailure("The send was cancelled before the provider answered."), result);
    }

    [Fact]
    public async Task SendAsync_WhenTheMessageIsForAnotherChannel_IsPermanent()
    {
        var push = new PushMessage { MessageId = "push-x", DeviceTokens = ["t"], Title = "t", Body = "b" };

        var result = await Transport("/echo").SendAsync(push);

        Assert.Equal(DeliveryResult.PermanentFailure("This transport sends on channel 'sms', not 'push'."), result);
    }

    [Fact]
    public async Task SendAsync_WhenThePayloadBuilderThrows_IsPermanent()
    {
        var transport = Transport("/echo", o => o.PayloadBuilder = _ => throw new InvalidOperationException("no template"));

        var result = await transport.SendAsync(Sms("sms-builder"));

        Assert.Equal(DeliveryResult.PermanentFailure("Building the request body failed: InvalidOperationException: no template"), result);
    }

    [Fact]
    public void Constructor_WhenOptionsAreInvalid_ListsEveryProblem()
    {
        var options = new HttpProviderOptions { Endpoint = new Uri("/relative", UriKind.Relative), Method = HttpMethod.Get, MessageIdPath = "data..id" };
        options.Headers["Bad Name"] = "x";

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new HttpProviderTransport(httpClient, options, clock));

        Assert.Contains("Channel must be set", error.Message, StringComparison.Ordinal);
        Assert.Contains("Endpoint must be an absolute http or https URL (got '/relative')", error.Message, StringComparison.Ordinal);
        Assert.Contains("Method must be POST, PUT or PATCH (got 'GET')", error.Message, StringComparison.Ordinal);
        Assert.Contains("MessageIdPath 'data..id'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Header name 'Bad Name' is not a valid HTTP header name", error.Message, StringComparison.Ordinal);
    }

    private HttpProviderTransport Transport(string path, Action<HttpProviderOptions>? configure = null)
    {
        var options = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = gateway.Url(path) };
        configure?.Invoke(options);
        return new HttpProviderTransport(httpClient, options, clock);
    }

    private static SmsMessage Sms(string id) => new() { MessageId = id, To = "+34600111222", Body = "Your order shipped" };
}
