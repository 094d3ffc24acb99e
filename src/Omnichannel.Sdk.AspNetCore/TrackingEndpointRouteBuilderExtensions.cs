using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.AspNetCore.Implementation;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Segment-Spec HTTP Tracking API onto Omnichannel.Sdk.</summary>
public static class TrackingEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the HTTP Tracking API of the Segment Spec
    /// (<see href="https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/"/>) under
    /// <paramref name="prefix"/>: <c>POST {prefix}/track</c>, <c>/identify</c>, <c>/page</c>, <c>/screen</c>,
    /// <c>/alias</c>, <c>/group</c>, and <c>/batch</c> (also as <c>/import</c>); and the paths analytics.js posts to, <c>/t</c>, <c>/i</c>, <c>/p</c>, <c>/s</c>, <c>/a</c>, <c>/g</c> and <c>/b</c> (batching); and <c>GET {prefix}/projects/{writeKey}/settings</c>, the settings a client fetches from its CDN host (<c>200</c> with this host and prefix as the <c>Segment.io</c> <c>apiHost</c>, <c>404</c> for an unknown key); and, outside the group, <c>POST /beacon{prefix}/batch</c>, where RudderStack's JavaScript SDK sends beacon batches with the write key in the query (<c>?writeKey=</c>). Each message becomes a
    /// <see cref="Omnichannel.Sdk.CustomerEvent"/> tracked through <see cref="Omnichannel.Sdk.IOmnichannelClient"/>, its
    /// <c>messageId</c> the event id, so a client's retry is a duplicate.
    /// <para>
    /// Requests authenticate with HTTP Basic, a write key as the user name, else (no <c>Authorization</c> header, or
    /// one that names no write key, such as an OAuth <c>Bearer</c> token) with the body's <c>writeKey</c>, else the
    /// query's <c>writeKey</c> (<c>401</c> otherwise); bodies may be
    /// gzip-, deflate- or Brotli-compressed (<c>Content-Encoding: gzip</c>, <c>x-gzip</c>, <c>deflate</c>, <c>br</c>, or up to
    /// three in a row such as <c>br, gzip</c>; the body's limit applies to every decoded layer), and are read for
    /// what they are when the header is wrong (gzip by its magic bytes, plain JSON as it is; a brotli or zlib body sent
    /// without the header is a <c>400</c> naming the header to send). Answers: <c>200</c> <c>{"success":true}</c> when the message is
    /// stored (or was already), and for a batch whose invalid messages are listed under <c>rejected</c> (the others are
    /// stored); parts of a stored message that were not applied (<c>context.timezone</c> sent as a UTC offset or a zone
    /// this machine does not know: <see cref="Omnichannel.Sdk.TrackResult.Ignored"/>; an identifier a limit kept off her
    /// profile, by the field it came from such as <c>traits.email</c>, never its value:
    /// <see cref="Omnichannel.Sdk.TrackResult.NotLinked"/>) are listed under <c>ignored</c>,
    /// <c>[{field, message}]</c> for a single call, <c>[{index, messageId, fields}]</c> for a batch; <c>400</c> for a body over the limits (32 KB per call, 500 KB per batch by default), malformed JSON, or
    /// an invalid single message, with every problem and its field (clients do not retry a 400); <c>429</c> with
    /// <c>Retry-After</c> over a write key's rate; <c>503</c> when the store failed, so clients retry.
    /// </para>
    /// </summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="prefix">The path prefix. Default <c>/v1</c>, where the clients send by default.</param>
    /// <returns>The route group, to add conventions (host filters, CORS for browser clients, ...).</returns>
    /// <exception cref="InvalidOperationException"><c>AddTrackingApi</c> was not called on the services.</exception>
    public static RouteGroupBuilder MapOmnichannelTracking(this IEndpointRouteBuilder endpoints, string prefix = "/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        // Checked now, resolved at the first request: mapping must not build the engine before the host starts.
        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(TrackingEndpoint)))
        {
            throw new InvalidOperationException(
                "MapOmnichannelTracking needs the tracking API's services: call services.AddOmnichannel(...).AddTrackingApi(o => o.WriteKeys.Add(...)) first.");
        }

        var group = endpoints.MapGroup(prefix);
        foreach (var call in new[] { "track", "identify", "page", "screen", "alias", "group" })
        {
            group.MapPost("/" + call, (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, call)).WithName("omnichannel-tracking-" + call + prefix.Replace('/', '-'));
        }

        group.MapPost("/batch", (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, null));
        group.MapPost("/import", (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, null));

        // analytics.js (@segment/analytics-next) posts each call to the first letter of its type (/t, /i, /p, /s, /a,
        // /g) and its batching mode to /b.
        foreach (var call in new[] { "track", "identify", "page", "screen", "alias", "group" })
        {
            group.MapPost("/" + call[0], (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, call));
        }

        group.MapPost("/b", (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, null));

        // The settings the mobile libraries (and analytics-next given a cdnURL) fetch from their CDN host: pointed here,
        // a 404 left them on their built-in defaults (analytics-next fails to load).
        group.MapGet("/projects/{writeKey}/settings", (HttpContext http, string writeKey) => http.RequestServices.GetRequiredService<TrackingEndpoint>().SettingsAsync(http, writeKey));

        // RudderStack's JavaScript SDK (v3, useBeacon) sends its beacon batches to {dataPlaneUrl}/beacon/v1/batch, the key
        // in the query: served beside the group, at "/beacon" + prefix, so a dataPlaneUrl of the host's root reaches it.
        endpoints.MapPost("/beacon" + prefix.TrimEnd('/') + "/batch", (HttpContext http) => http.RequestServices.GetRequiredService<TrackingEndpoint>().HandleAsync(http, null));
        return group;
    }
}
