using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>A fake SMS/push/WhatsApp gateway with one endpoint per kind of answer.</summary>
public sealed class ProviderGatewayFixture : LoopbackKestrel
{
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TaskCompletionSource neverAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource hangArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Arms <c>/hang</c>: the returned task completes when a request reaches it.</summary>
    public Task ExpectHang()
    {
        hangArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return hangArrived.Task;
    }

    protected override void Map(WebApplication app)
    {
        app.MapMethods("/created", ["POST", "PUT", "PATCH"], () => Results.Json(new { sid = "SM-1", status = "queued" }, statusCode: 201));
        app.MapPost("/moved", () => Results.Redirect("/echo", permanent: true));
        app.MapPost("/echo", () => Results.Json(new { id = "echo-1" }));
        app.MapPost("/numeric-id", () => Results.Content("""{"id":12345}""", "application/json"));
        app.MapPost("/nested", () => Results.Json(new { data = new { messages = new[] { new { id = "wamid.9" } } } }));
        app.MapPost("/no-id", () => Results.StatusCode(202));
        app.MapPost("/throttled", (HttpContext context) =>
        {
            context.Response.Headers.RetryAfter = "30";
            return Results.Json(new { message = "slow down" }, statusCode: 429);
        });
        app.MapPost("/throttled-until", (HttpContext context) =>
        {
            context.Response.Headers.RetryAfter = Now.AddSeconds(90).ToString("R", CultureInfo.InvariantCulture);
            return Results.Json(new { message = "quota exhausted" }, statusCode: 429);
        });
        app.MapPost("/status/{code:int}", (int code) => Results.Json(new { message = $"status {code}" }, statusCode: code));
        app.MapPost("/bad", () => Results.Json(
            new { error = new { code = 21211, message = "The 'To' number +1555 is not valid." } }, statusCode: 400));
        app.MapPost("/custom-error", () => Results.Json(new { fault = new { text = "template not approved" } }, statusCode: 422));
        app.MapPost("/text-error", () => Results.Text("no such sender id\n", statusCode: 404));
        app.MapPost("/hang", async (HttpContext context) =>
        {
            hangArrived.TrySetResult();
            try
            {
                // Never answers on its own: the client's time-out or cancellation ends the exchange.
                await neverAnswered.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            return Results.StatusCode(200);
        });
    }

    protected override void OnStopping() => neverAnswered.TrySetResult();
}
