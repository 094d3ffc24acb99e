using System.Text.Json.Nodes;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>
/// Options of an <see cref="HttpProviderTransport"/>: one JSON-over-HTTP gateway for one channel (an SMS, push or
/// WhatsApp provider). Validated at start-up.
/// </summary>
public sealed class HttpProviderOptions
{
    /// <summary>The channel this gateway sends on, for example <see cref="ChannelNames.Sms"/>. Required.</summary>
    public string Channel { get; set; } = "";

    /// <summary>
    /// The provider's endpoint, an absolute <c>http</c> or <c>https</c> URL without credentials (<c>user:password@</c>
    /// is refused: HttpClient does not send it; put them in <see cref="Headers"/>). Required.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The HTTP method: POST, PUT or PATCH. Default: POST.</summary>
    public HttpMethod Method { get; set; } = HttpMethod.Post;

    /// <summary>
    /// Static headers sent with every request, for example <c>Authorization: Bearer …</c>. Values must be printable ASCII
    /// (HttpClient refuses anything else on every request, so it is refused at start). Default: none.
    /// </summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Builds the JSON body for a message. Default: <see langword="null"/>, meaning
    /// <see cref="HttpProviderTransport.DefaultPayload(OutboundMessage)"/>. An exception it throws makes the send a
    /// permanent failure (a retry would build the same body).
    /// </summary>
    public Func<OutboundMessage, JsonNode>? PayloadBuilder { get; set; }

    /// <summary>
    /// Where the provider's message id is in a 2xx JSON answer: a dot-separated path such as <c>sid</c>,
    /// <c>data.id</c> or <c>messages.0.id</c> (array indexes are numbers). Default: <c>id</c>. <see langword="null"/>
    /// means the answer is not read (accepted without an id); a missing id is also accepted without one.
    /// </summary>
    public string? MessageIdPath { get; set; } = "id";

    /// <summary>
    /// Where the error message is in a failed JSON answer, as a path like <see cref="MessageIdPath"/>. Default:
    /// <see langword="null"/>, which tries <c>message</c>, <c>error.message</c>, <c>error_description</c>, <c>error</c>,
    /// <c>detail</c>, <c>title</c> and <c>errors.0.message</c>, then falls back to the raw body.
    /// </summary>
    public string? ErrorMessagePath { get; set; }

    /// <summary>
    /// The header that carries the message id so the provider can de-duplicate retries. Default:
    /// <c>Idempotency-Key</c>; <see langword="null"/> to send none.
    /// </summary>
    public string? IdempotencyKeyHeader { get; set; } = WebhookHeaders.IdempotencyKey;

    /// <summary>
    /// How long to wait for the provider's answer, measured on the <see cref="TimeProvider"/>; past it the send is a
    /// transient failure. Default: 30 seconds; at most 10 minutes. <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every problem with these options; empty when they are usable.</summary>
    internal List<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Channel))
        {
            problems.Add("Channel must be set (for example \"sms\", \"push\" or \"whatsapp\").");
        }

        if (Endpoint is null)
        {
            problems.Add("Endpoint must be set to the provider's absolute http or https URL.");
        }
        else if (!OptionChecks.IsHttpUrl(Endpoint))
        {
            problems.Add($"Endpoint must be an absolute http or https URL (got '{OptionChecks.WithoutCredentials(Endpoint)}').");
        }
        else if (OptionChecks.HasCredentials(Endpoint))
        {
            problems.Add("Endpoint must not carry credentials (user:password@): the HTTP client does not send them; set Headers[\"Authorization\"] instead.");
        }

        if (Method is null || (Method != HttpMethod.Post && Method != HttpMethod.Put && Method != HttpMethod.Patch))
        {
            problems.Add($"Method must be POST, PUT or PATCH (got '{Method}').");
        }

        if (MessageIdPath is not null && !IsPath(MessageIdPath))
        {
            problems.Add($"MessageIdPath '{MessageIdPath}' must be a dot-separated path of non-empty names, or null.");
        }

        if (ErrorMessagePath is not null && !IsPath(ErrorMessagePath))
        {
            problems.Add($"ErrorMessagePath '{ErrorMessagePath}' must be a dot-separated path of non-empty names, or null.");
        }

        if (IdempotencyKeyHeader is not null)
        {
            OptionChecks.CheckHeaders(new Dictionary<string, string> { [IdempotencyKeyHeader] = "x" }, problems);
        }

        OptionChecks.CheckTimeout(Timeout, problems);
        OptionChecks.CheckHeaders(Headers, problems);
        return problems;
    }

    private static bool IsPath(string path)
    {
        var trimmed = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
        return trimmed.Split('.').All(s => !string.IsNullOrWhiteSpace(s));
    }
}
