using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Delivery;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the one-click unsubscribe endpoint (RFC 8058) that marketing email's <c>List-Unsubscribe</c> links point at.</summary>
public static class UnsubscribeEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves <paramref name="pattern"/> for the links of <c>Delivery.Unsubscribe</c> (set its <c>Endpoint</c> to this
    /// URL as the public sees it):
    /// <list type="bullet">
    /// <item><c>POST {pattern}?t={token}</c> — what mail clients send for one-click unsubscribe (body
    /// <c>List-Unsubscribe=One-Click</c>, RFC 8058 §3.2) and what the confirmation page's button sends: records the
    /// unsubscribe through <see cref="IOmnichannelClient.UnsubscribeAsync"/> and answers <c>200</c> with a short page;
    /// <c>400</c> for a token that does not verify. A person since erased gets <c>200</c> too (she gets nothing anyway).</item>
    /// <item><c>GET {pattern}?t={token}</c> — the link clicked in the message: a page naming the topic, with one button
    /// that posts the same URL (<c>400</c> for a token that does not verify). It never unsubscribes by itself, because
    /// mail scanners and link previews fetch links (RFC 8058 §3.2).</item>
    /// </list>
    /// The pages are minimal HTML in English, with no script; put your own page in front of <c>GET</c> if you want one.
    /// Mapping logs a warning when <c>Delivery.Unsubscribe.Endpoint</c> is not set or its path does not end with
    /// <paramref name="pattern"/> (the links would be dead, unless a proxy rewrites the path).
    /// </summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="pattern">The route. Default <c>/unsubscribe</c>.</param>
    /// <returns>The route group, to add conventions.</returns>
    /// <exception cref="InvalidOperationException">The services hold no <see cref="IOmnichannelClient"/> (call <c>services.AddOmnichannel(...)</c>, with <c>UseOrleansClient()</c> in a process that only sends).</exception>
    public static RouteGroupBuilder MapOmnichannelUnsubscribe(this IEndpointRouteBuilder endpoints, string pattern = "/unsubscribe")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(IOmnichannelClient)))
        {
            throw new InvalidOperationException("MapOmnichannelUnsubscribe needs the engine or a cluster client: call services.AddOmnichannel(...) first.");
        }

        WarnWhenLinksPointElsewhere(endpoints.ServiceProvider, pattern);
        var group = endpoints.MapGroup(pattern);
        group.MapGet("/", (HttpContext http) =>
        {
            var token = http.Request.Query["t"].ToString();
            if (http.RequestServices.GetRequiredService<IOmnichannelClient>().ReadUnsubscribeLink(token) is not { } link)
            {
                return Page(StatusCodes.Status400BadRequest, "This unsubscribe link is not valid.", null);
            }

            // The form posts to this very URL (its query carries the token); the body says it is a person's click.
            var what = link.Topic is { } topic ? $"“{topic}” {link.Channel} messages" : $"all marketing {link.Channel} messages";
            return Page(StatusCodes.Status200OK, $"Unsubscribe from {what}?", "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>");
        });
        group.MapPost("/", async (HttpContext http) =>
        {
            var token = http.Request.Query["t"].ToString();
            if (token.Length == 0 && http.Request.HasFormContentType)
            {
                try
                {
                    token = (await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false))["t"].ToString();
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException or ArgumentException)
                {
                    // A body that is no form the reader can read (a broken multipart body, more values or a longer value
                    // than its limits, a charset .NET does not decode) carries no token: answered as a missing one (400),
                    // not left to escape as a 500. BadHttpRequestException, a read that failed, is an IOException.
                    token = string.Empty;
                }
            }

            var client = http.RequestServices.GetRequiredService<IOmnichannelClient>();
            UnsubscribeStatus status;
            try
            {
                status = await client.UnsubscribeAsync(token, http.RequestAborted).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Not recorded: say so, and answer a status a mail provider's one-click POST retries.
                return Page(StatusCodes.Status503ServiceUnavailable, "We could not record your unsubscribe. Please try again in a moment.", null);
            }

            return status switch
            {
                UnsubscribeStatus.InvalidToken => Page(StatusCodes.Status400BadRequest, "This unsubscribe link is not valid.", null),
                _ => Page(StatusCodes.Status200OK, "You are unsubscribed.", "<p>You will not receive these emails any more.</p>"),
            };
        }).DisableAntiforgery();
        return group;
    }

    // The links carry Delivery.Unsubscribe.Endpoint, not this route: a mismatch makes every link dead. A proxy may
    // rewrite paths, so a mismatch is a warning, not a refusal to start.
    private static void WarnWhenLinksPointElsewhere(IServiceProvider services, string pattern)
    {
        var endpoint = services.GetService<IOptions<OmnichannelOptions>>()?.Value.Delivery.Unsubscribe.Endpoint;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("Omnichannel.Sdk.AspNetCore.Unsubscribe");
        if (logger is null)
        {
            return;
        }

        if (endpoint is null)
        {
            logger.LogWarning("MapOmnichannelUnsubscribe maps {Pattern}, but Delivery.Unsubscribe.Endpoint is not set: marketing email carries no unsubscribe link", pattern);
        }
        else if (!endpoint.AbsolutePath.TrimEnd('/').EndsWith(pattern.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            logger.LogWarning("MapOmnichannelUnsubscribe maps {Pattern}, but the links point at {Path} (Delivery.Unsubscribe.Endpoint): unless a proxy rewrites it, every link is dead", pattern, endpoint.AbsolutePath);
        }
    }

    private static IResult Page(int status, string title, string? body) => Results.Content(
        $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{WebUtility.HtmlEncode(title)}</title></head><body><h1>{WebUtility.HtmlEncode(title)}</h1>{body}</body></html>",
        "text/html; charset=utf-8",
        statusCode: status);
}
