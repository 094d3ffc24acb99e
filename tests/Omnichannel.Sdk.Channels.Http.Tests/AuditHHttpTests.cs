using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>A gateway that redirects to another origin (localhost instead of 127.0.0.1) and records what arrives there.</summary>
public sealed class AuditHRedirectingGateway : LoopbackKestrel
{
    protected override void Map(WebApplication app)
    {
        // 307 and 308 keep the method and the body: a client that follows them re-posts everything to the new origin.
        app.MapPost("/temporary", (HttpContext context) =>
        {
            context.Response.Headers.Location = OtherOrigin("/landing");
            return Results.StatusCode(307);
        });
        app.MapPost("/permanent", (HttpContext context) =>
        {
            context.Response.Headers.Location = OtherOrigin("/landing");
            return Results.StatusCode(308);
        });
        app.MapPost("/found", (HttpContext context) =>
        {
            context.Response.Headers.Location = OtherOrigin("/landing");
            return Results.StatusCode(302);
        });
        app.MapMethods("/landing", ["GET", "POST"], () => Results.Json(new { id = "landed" }));
        app.MapPost("/ok", () => Results.Json(new { id = "ok-1" }));
    }

    private string OtherOrigin(string path) => new UriBuilder(BaseAddress) { Host = "localhost", Path = path }.Uri.ToString();
}

public sealed class AuditHHttpTests(AuditHRedirectingGateway gateway) : IClassFixture<AuditHRedirectingGateway>, IDisposable
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly HttpClient httpClient = new();

    public void Dispose() => httpClient.Dispose();

    [Theory]
    [InlineData("/temporary", 307)]
    [InlineData("/permanent", 308)]
    [InlineData("/found", 302)]
    public async Task AuditH_AddHttpProviderTransport_DoesNotFollowRedirectsWithTheApiKey(string path, int status)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddOmnichannel().AddHttpProviderTransport("acme-sms", o =>
        {
            o.Channel = ChannelNames.Sms;
            o.Endpoint = gateway.Url(path);
            o.Headers["X-Api-Key"] = "sk_live_secret";
        });
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var transport = Assert.Single(provider.GetServices<ChannelTransportRegistration>()).Factory(provider);
        var key = "audith-sms-" + Guid.NewGuid().ToString("N");

        var result = await transport.SendAsync(new SmsMessage { MessageId = key, To = "+34600111222", Body = "Your code is 1234" });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.StartsWith($"HTTP {status}", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.At("/landing"), r => r.Header("Idempotency-Key") == key || r.Header("X-Api-Key") is not null);
    }

    [Theory]
    [InlineData("commande.expédiée")]
    [InlineData("order.shipped\r\nX-Injected: yes")]
    [InlineData("order.shipped\nX-Injected: yes")]
    public async Task AuditH_Webhook_WhenTheEventTypeCannotBeAHeaderValue_IsPermanentNotRetriedForever(string eventType)
    {
        var transport = new WebhookTransport(httpClient, new WebhookTransportOptions { Secret = "whsec_audit", DefaultUrl = gateway.Url("/ok") }, clock);
        var key = "audith-hook-" + Guid.NewGuid().ToString("N");

        var result = await transport.SendAsync(new WebhookMessage
        {
            MessageId = key,
            EventType = eventType,
            Payload = JsonDocument.Parse("""{"order":"A-1"}""").RootElement,
        });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.DoesNotContain(gateway.Received, r => r.Header("X-Injected") is not null || r.Header("Idempotency-Key") == key);
    }

    [Theory]
    [InlineData("key-1\r\nX-Injected: yes")]
    [InlineData("clé-1")]
    public async Task AuditH_WhenTheMessageIdCannotBeAnIdempotencyKeyHeader_IsPermanentWithoutInjecting(string messageId)
    {
        var webhook = new WebhookTransport(httpClient, new WebhookTransportOptions { Secret = "whsec_audit", DefaultUrl = gateway.Url("/ok") }, clock);
        var provider = new HttpProviderTransport(httpClient, new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = gateway.Url("/ok") }, clock);

        var hook = await webhook.SendAsync(new WebhookMessage { MessageId = messageId, EventType = "order.shipped", Payload = JsonDocument.Parse("{}").RootElement });
        var sms = await provider.SendAsync(new SmsMessage { MessageId = messageId, To = "+34600111222", Body = "hi" });

        Assert.Equal(DeliveryStatus.PermanentFailure, hook.Status);
        Assert.Equal(DeliveryStatus.PermanentFailure, sms.Status);
        Assert.DoesNotContain(gateway.Received, r => r.Header("X-Injected") is not null);
    }

    [Fact]
    public async Task AuditH_Webhook_SignsTheExactBytesSentForNonAsciiAndEscapedPayloads()
    {
        var transport = new WebhookTransport(httpClient, new WebhookTransportOptions { Secret = "whsec_audit", DefaultUrl = gateway.Url("/ok") }, clock);
        var key = "audith-bytes-" + Guid.NewGuid().ToString("N");
        var payload = JsonDocument.Parse("""{"name":"Zoë \u00e9 <b>&'","emoji":"🐱","n":1.50,"big":12345678901234567890}""").RootElement;

        var result = await transport.SendAsync(new WebhookMessage { MessageId = key, EventType = "profile.updated", Payload = payload });

        Assert.True(result.IsAccepted, result.Reason);
        var request = Assert.Single(gateway.At("/ok"), r => r.Header("Idempotency-Key") == key);
        Assert.True(WebhookSignature.Verify(
            "whsec_audit", request.Header(WebhookHeaders.Timestamp), request.Header(WebhookHeaders.Signature), request.Body, clock.GetUtcNow(), WebhookSignature.DefaultTolerance).IsValid);
        Assert.True(JsonElement.DeepEquals(payload, JsonDocument.Parse(request.Body).RootElement));
        Assert.Equal("Zoë é <b>&'", JsonDocument.Parse(request.Body).RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public void AuditH_Verify_AcceptsEitherSecretDuringRotationAndRejectsAnOldTimestampWithAValidSignature()
    {
        var body = """{"a":1}"""u8.ToArray();
        var now = clock.GetUtcNow();
        var ts = now.ToUnixTimeSeconds();
        var header = WebhookSignature.Compute("old", ts, body) + ", " + WebhookSignature.Compute("new", ts, body);

        Assert.True(WebhookSignature.Verify("new", ts.ToString(System.Globalization.CultureInfo.InvariantCulture), header, body, now, TimeSpan.FromMinutes(5)).IsValid);
        Assert.True(WebhookSignature.Verify("old", ts.ToString(System.Globalization.CultureInfo.InvariantCulture), header, body, now, TimeSpan.FromMinutes(5)).IsValid);
        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, WebhookSignature.Verify("other", ts.ToString(System.Globalization.CultureInfo.InvariantCulture), header, body, now, TimeSpan.FromMinutes(5)).Status);
        // The signature binds the timestamp: moving the timestamp breaks it.
        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, WebhookSignature.Verify("new", (ts + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), header, body, now, TimeSpan.FromMinutes(5)).Status);
        Assert.Equal(WebhookVerificationStatus.TimestampOutsideTolerance, WebhookSignature.Verify("new", ts.ToString(System.Globalization.CultureInfo.InvariantCulture), header, body, now.AddMinutes(6), TimeSpan.FromMinutes(5)).Status);
        Assert.Equal(WebhookVerificationStatus.MalformedTimestamp, WebhookSignature.Verify("new", "-5", header, body, now, TimeSpan.FromMinutes(5)).Status);
        Assert.Equal(WebhookVerificationStatus.MalformedTimestamp, WebhookSignature.Verify("new", "99999999999999999999999", header, body, now, TimeSpan.FromMinutes(5)).Status);
        Assert.Equal(WebhookVerificationStatus.TimestampOutsideTolerance, WebhookSignature.Verify("new", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), "v1=" + new string('0', 64) + "," + WebhookSignature.Compute("new", long.MaxValue, body), body, now, TimeSpan.FromMinutes(5)).Status);
    }

    [Fact]
    public async Task AuditH_Provider_SendsNonAsciiSmsAsValidUtf8Json()
    {
        var transport = new HttpProviderTransport(httpClient, new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = gateway.Url("/ok") }, clock);
        var key = "audith-utf8-" + Guid.NewGuid().ToString("N");
        const string text = "Olá Zoë, tu pedido está listo 😺 — 注文 <ok> & \"quoted\"";

        var result = await transport.SendAsync(new SmsMessage { MessageId = key, To = "+34600111222", Body = text });

        Assert.Equal(DeliveryResult.Accepted("ok-1"), result);
        var request = Assert.Single(gateway.At("/ok"), r => r.Header("Idempotency-Key") == key);
        Assert.Equal(text, JsonDocument.Parse(request.Body).RootElement.GetProperty("body").GetString());
    }
}
