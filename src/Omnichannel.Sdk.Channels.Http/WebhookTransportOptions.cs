using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>Options of a <see cref="WebhookTransport"/>. Validated at start-up.</summary>
public sealed class WebhookTransportOptions
{
    /// <summary>
    /// Where a <see cref="Omnichannel.Sdk.Delivery.WebhookMessage"/> without its own <c>Url</c> is posted. Absolute
    /// <c>http</c> or <c>https</c>, without credentials (<c>user:password@</c> is refused: HttpClient does not send it; put
    /// them in <see cref="Headers"/>). Default: <see langword="null"/> (every message must carry its URL).
    /// </summary>
    public Uri? DefaultUrl { get; set; }

    /// <summary>The shared secret the body is signed with (as UTF-8). Required; give each receiver its own.</summary>
    public string Secret { get; set; } = "";

    /// <summary>
    /// How long to wait for the receiver's answer, measured on the <see cref="TimeProvider"/>; past it the send is a
    /// transient failure. Default: 30 seconds; at most 10 minutes. <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Extra headers sent with every request (for example an <c>Authorization</c> the receiver expects). Values must be
    /// printable ASCII (HttpClient refuses anything else on every request, so it is refused at start). Default: none.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every problem with these options; empty when they are usable.</summary>
    internal List<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Secret))
        {
            problems.Add("Secret must not be empty: the receiver verifies the signature with it.");
        }

        if (DefaultUrl is not null && !OptionChecks.IsHttpUrl(DefaultUrl))
        {
            problems.Add($"DefaultUrl must be an absolute http or https URL (got '{OptionChecks.WithoutCredentials(DefaultUrl)}').");
        }
        else if (DefaultUrl is not null && OptionChecks.HasCredentials(DefaultUrl))
        {
            problems.Add("DefaultUrl must not carry credentials (user:password@): the HTTP client does not send them; set Headers[\"Authorization\"] instead.");
        }

        OptionChecks.CheckTimeout(Timeout, problems);
        OptionChecks.CheckHeaders(Headers, problems);
        return problems;
    }
}

/// <summary>Checks shared by both options classes.</summary>
internal static class OptionChecks
{
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length", "Host", "Transfer-Encoding",
        WebhookHeaders.Event, WebhookHeaders.Timestamp, WebhookHeaders.Signature,
    };

    public static bool IsHttpUrl(Uri url) => url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

    /// <summary>Whether an absolute URL has a user-info part (<c>user:password@</c>), which HttpClient never sends.</summary>
    public static bool HasCredentials(Uri url) => url.IsAbsoluteUri && url.UserInfo.Length > 0;

    /// <summary>The URL as text for a message, its user-info part (a password) left out.</summary>
    public static string WithoutCredentials(Uri url)
    {
        if (HasCredentials(url))
        {
            return url.GetComponents(UriComponents.HttpRequestUrl | UriComponents.Fragment, UriFormat.UriEscaped);
        }

        // No user-info part the parser knows of, yet an '@': a URL missing its scheme ("user:password@host/…" reads as
        // scheme "user"), or a relative "//user:password@host/…". What precedes it may be a password: leave it out.
        var text = url.ToString();
        var at = text.LastIndexOf('@');
        return at < 0 ? text : "…" + text[at..];
    }

    public static void CheckTimeout(TimeSpan timeout, List<string> problems)
    {
        if (timeout <= TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            problems.Add($"Timeout must be positive or Timeout.InfiniteTimeSpan (got {timeout}).");
        }
        else if (timeout > TimeSpan.FromMinutes(10))
        {
            // Beyond what a cancellation timer can hold, and far beyond any useful wait for one request.
            problems.Add($"Timeout must be at most 10 minutes, or Timeout.InfiniteTimeSpan (got {timeout}).");
        }
    }

    public static void CheckHeaders(IDictionary<string, string> headers, List<string> problems)
    {
        foreach (var (name, value) in headers)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Any(c => c <= ' ' || c >= 127 || c == ':'))
            {
                problems.Add($"Header name '{name}' is not a valid HTTP header name.");
            }
            else if (ReservedHeaders.Contains(name))
            {
                problems.Add($"Header '{name}' is set by the transport and cannot be configured.");
            }

            if (value is null || value.Contains('\r') || value.Contains('\n'))
            {
                problems.Add($"Header '{name}' must have a value without line breaks.");
            }
            else if (!IsHeaderValue(value))
            {
                // SocketsHttpHandler refuses it on every request ("Request headers must contain only ASCII characters"),
                // which would read as a network error and be retried for every message. The value is not echoed: it is
                // usually a key.
                problems.Add($"Header '{name}' must be printable ASCII: its value has another character (a pasted non-breaking or zero-width space, or typographic quotes?).");
            }
        }
    }

    /// <summary>
    /// Whether a per-message value (message id, event type) can be sent as an HTTP header value as it is: printable
    /// ASCII only. A line break would start another header; a non-ASCII character is refused by the HTTP client on
    /// every attempt, so neither may be sent or retried.
    /// </summary>
    public static bool IsHeaderValue(string value) => value.All(c => c is >= ' ' and <= '~' or '\t');

    /// <summary>Puts a configured header on the request, or on its content when it is a content header (Content-Type).</summary>
    public static void Apply(HttpRequestMessage request, string name, string value)
    {
        if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
        {
            request.Content.Headers.Remove(name);
            request.Content.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
