// A shop's minimal API on Omnichannel.Sdk (SQLite by default):
//   POST /events/batch             a JSON array of events → one result per event (status as a string, errors with paths)
//   GET  /profiles/{type}/{value}  the person's profile in the export shape (docs/schemas/profile-export.schema.json)
//   GET  /segments/{id}/members    a page of a segment's members
//   GET  /health                   the engine and its store answer
// Spans and metrics go to the console through OpenTelemetry.
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Omnichannel.Sdk;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ShopApi;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddShopOmnichannel(builder.Configuration, builder.Environment.ContentRootPath);
builder.Services.AddHealthChecks().AddCheck<OmnichannelHealthCheck>("omnichannel");
builder.Services.AddOpenTelemetry()
    .WithTracing(tracing => tracing.AddSource(OmnichannelTelemetry.Name).AddAspNetCoreInstrumentation().AddConsoleExporter())
    .WithMetrics(metrics => metrics.AddMeter(OmnichannelTelemetry.Name).AddConsoleExporter());

var app = builder.Build();

app.MapPost("/events/batch", async (CustomerEvent[] events, IOmnichannelClient client, CancellationToken cancellationToken) =>
    Results.Ok(await client.TrackBatchAsync(events, cancellationToken)));

app.MapGet("/profiles/{type}/{value}", async (string type, string value, IOmnichannelClient client, CancellationToken cancellationToken) =>
    await client.ExportProfileAsync(new Identifier(type, value), cancellationToken) is { } profile ? Results.Ok(profile) : Results.NotFound());

app.MapGet("/segments/{id}/members", async (string id, string? after, IOmnichannelClient client, CancellationToken cancellationToken) =>
    client.Segments.Any(s => s.Id == id)
        ? Results.Ok(await client.GetSegmentMembersAsync(id, after, 100, cancellationToken))
        : Results.NotFound());

app.MapHealthChecks("/health");
app.Run();

/// <summary>The entry point, public for <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;

/// <summary>Healthy when the engine reads from its store.</summary>
internal sealed class OmnichannelHealthCheck(IOmnichannelClient client) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await client.GetProfileByIdAsync("health-check", cancellationToken);
            return HealthCheckResult.Healthy($"{client.Segments.Count} segment(s), {client.Journeys.Count} journey(s) loaded");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("the store does not answer", ex);
        }
    }
}
