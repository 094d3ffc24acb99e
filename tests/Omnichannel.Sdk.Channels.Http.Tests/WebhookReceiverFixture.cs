using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Channels.Http;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>A webhook receiver as a shop's partner would write it: verify with <see cref="WebhookSignature.Verify(string, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>, then record.</summary>
public sealed class WebhookReceiverFixture : LoopbackKestrel
{
    public const string Secret = "whsec_receiver_0123456789";

    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The receiver's clock; fixed, so a sender whose clock lags is detected.</summary>
    public FakeTimeProvider Clock { get; } = new(Now);

    /// <summary>The receiver's verdict per request path.</summary>
    public ConcurrentDictionary<string, WebhookVerificationResult> Verdicts { get; } = new();

    protected override void Map(WebApplication app)
    {
        app.MapPost("/hooks/{id}", async (HttpContext context) =>
        {
            var body = await ReadBodyAsync(context);
            var verdict = WebhookSignature.Verify(
                Secret,
                context.Request.Headers[WebhookHeaders.Timestamp],
                context.Request.Headers[WebhookHeaders.Signature],
                body,
                Clock.GetUtcNow(),
                WebhookSignature.DefaultTolerance);
            Verdicts[context.Request.Path.Value!] = verdict;
            return verdict.IsValid
                ? Results.NoContent()
                : Results.Json(new { error = new { message = $"signature rejected: {verdict.Status}" } }, statusCode: 401);
        });
        app.MapPost("/busy", (HttpContext context) =>
        {
            context.Response.Headers.RetryAfter = "120";
            return Results.StatusCode(503);
        });
        app.MapPost("/gone", () => Results.Text("this hook was deleted", statusCode: 410));
    }
}
