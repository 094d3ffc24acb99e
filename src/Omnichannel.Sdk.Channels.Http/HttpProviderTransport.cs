using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>
/// Sends messages of one channel to a JSON-over-HTTP gateway (SMS, push, WhatsApp providers): builds a JSON body with
/// <see cref="HttpProviderOptions.PayloadBuilder"/>, sends it with the configured method and headers plus an
/// idempotency key, and reads the provider's message id from the answer.
/// </summary>
/// <remarks>
/// 2xx is accepted with the id found at <see cref="HttpProviderOptions.MessageIdPath"/> (read as UTF-8, or in the
/// charset the answer declares; a body that breaks off after the status line leaves the send accepted, without an id);
/// 408, 425, 429, 5xx, network errors, time-outs and cancellation are transient failures (a <c>Retry-After</c> is
/// appended to the reason, see <see cref="HttpFailureReason"/>), and so is 409 when an idempotency key was sent (an
/// earlier attempt under that key is still being processed); any other answer is a permanent failure with the
/// provider's error message.
/// </remarks>
public sealed class HttpProviderTransport : IChannelTransport
{
    private const string HttpClientNamePrefix = "Omnichannel.HttpProvider.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly Func<HttpClient> httpClient;
    private readonly HttpProviderOptions options;
    private readonly TimeProvider timeProvider;

    /// <summary>Creates a transport that sends through <paramref name="httpClient"/> (for use without a container).</summary>
    /// <param name="httpClient">The client; prefer <c>AddHttpProviderTransport</c>, which uses <see cref="IHttpClientFactory"/>.</param>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock for time-outs and <c>Retry-After</c> dates; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; <c>Failures</c> lists every problem (the same exception the container throws at start-up).</exception>
    public HttpProviderTransport(HttpClient httpClient, HttpProviderOptions options, TimeProvider? timeProvider = null)
        : this(Check(httpClient), options, timeProvider ?? TimeProvider.System)
    {
    }

    internal HttpProviderTransport(Func<HttpClient> httpClient, HttpProviderOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(HttpProviderOptions), problems);
        }

        this.httpClient = httpClient;
        this.options = options;
        this.timeProvider = timeProvider;
    }

    /// <summary>The channel from <see cref="HttpProviderOptions.Channel"/>.</summary>
    public string Channel => options.Channel;

    /// <summary>The name of the <see cref="IHttpClientFactory"/> client that <c>AddHttpProviderTransport</c> registers, to add handlers to it.</summary>
    /// <param name="transportName">The transport's name.</param>
    public static string GetHttpClientName(string transportName) => HttpClientNamePrefix + transportName;

    /// <summary>
    /// The body used when no <see cref="HttpProviderOptions.PayloadBuilder"/> is set. Every body has <c>messageId</c>;
    /// then SMS: <c>to</c>, <c>from</c>, <c>body</c>. Push: <c>tokens</c>, <c>title</c>, <c>body</c>, <c>deepLink</c>,
    /// <c>data</c>. WhatsApp: <c>to</c>, <c>type</c> (<c>template</c> or <c>text</c>), then <c>template</c>
    /// (<c>name</c>, <c>language</c>, <c>parameters</c>) or <c>text</c>. Email: <c>from</c>, <c>replyTo</c>, <c>to</c>,
    /// <c>subject</c>, <c>html</c>, <c>text</c>, <c>headers</c>. Webhook: <c>event</c>, <c>payload</c>. In-app: <c>to</c>,
    /// <c>text</c>, <c>actions</c>. Properties without a value are left out. Call it from a custom builder to extend it.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <returns>A new JSON object.</returns>
    /// <exception cref="NotSupportedException">The message is of a type this method does not know.</exception>
    public static JsonObject DefaultPayload(OutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var body = new JsonObject { ["messageId"] = message.MessageId };
        switch (message)
        {
            case SmsMessage sms:
                body["to"] = sms.To;
                AddIfSet(body, "from", sms.From);
                body["body"] = sms.Body;
                break;
            case PushMessage push:
                body["tokens"] = new JsonArray([.. push.DeviceTokens.Select(t => JsonValue.Create(t))]);
                body["title"] = push.Title;
                body["body"] = push.Body;
                AddIfSet(body, "deepLink", push.DeepLink);
                if (push.Data.Count > 0)
                {
                    body["data"] = ToObject(push.Data);
                }

                break;
            case WhatsAppMessage whatsApp:
                body["to"] = whatsApp.To;
                if (whatsApp.TemplateName is not null)
                {
                    body["type"] = "template";
                    var template = new JsonObject { ["name"] = whatsApp.TemplateName };
                    AddIfSet(template, "language", whatsApp.TemplateLanguage);
                    template["parameters"] = new JsonArray([.. whatsApp.TemplateParameters.Select(p => JsonValue.Create(p))]);
                    body["template"] = template;
                }
                else
                {
                    body["type"] = "text";
                    body["text"] = whatsApp.Text;
                }

                break;
            case EmailMessage email:
                body["from"] = email.From;
                AddIfSet(body, "replyTo", email.ReplyTo);
                body["to"] = email.To;
                body["subject"] = email.Subject;
                AddIfSet(body, "html", email.HtmlBody);
                AddIfSet(body, "text", email.TextBody);
                if (email.Headers.Count > 0)
                {
                    body["headers"] = ToObject(email.Headers);
                }

                break;
            case WebhookMessage webhook:
                body["event"] = webhook.EventType;
                body["payload"] = webhook.Payload.ValueKind == JsonValueKind.Undefined ? null : JsonNode.Parse(webhook.Payload.GetRawText());
                break;
            case InAppMessage inApp:
                body["to"] = inApp.To;
                body["text"] = inApp.Text;
                body["actions"] = new JsonArray([.. inApp.Actions.Select(a =>
                {
                    var action = new JsonObject { ["label"] = a.Label };
                    AddIfSet(action, "url", a.Url);
                    return (JsonNode)action;
                })]);
                break;
            default:
                throw new NotSupportedException($"No default payload for {message.GetType().Name}; set HttpProviderOptions.PayloadBuilder.");
        }

        return body;
    }

    /// <inheritdoc />
    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!string.Equals(message.Channel, options.Channel, StringComparison.Ordinal))
        {
            return DeliveryResult.PermanentFailure($"This transport sends on channel '{options.Channel}', not '{message.Channel}'.");
        }

        if (options.IdempotencyKeyHeader is not null && !OptionChecks.IsHeaderValue(message.MessageId))
        {
            return DeliveryResult.PermanentFailure(
                $"The message id is sent in the {options.IdempotencyKeyHeader} header and must be printable ASCII without line breaks.");
        }

        byte[] body;
        try
        {
            var node = options.PayloadBuilder is { } build ? build(message) : DefaultPayload(message);
            body = JsonSerializer.SerializeToUtf8Bytes(node);
        }
#pragma warning disable CA1031 // Any failure of the host's builder is deterministic: report it as a value, retrying cannot help.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return DeliveryResult.PermanentFailure($"Building the request body failed: {ex.GetType().Name}: {ex.Message}");
        }

        using var request = new HttpRequestMessage(options.Method, options.Endpoint)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        };
        foreach (var (name, value) in options.Headers)
        {
            OptionChecks.Apply(request, name, value);
        }

        if (options.IdempotencyKeyHeader is { } keyHeader)
        {
            request.Headers.Remove(keyHeader);
            request.Headers.TryAddWithoutValidation(keyHeader, message.MessageId);
        }

        var idPath = options.MessageIdPath;
        return await HttpExchange.SendAsync(
            httpClient(), request, options.Timeout, timeProvider, options.ErrorMessagePath,
            sentIdempotencyKey: options.IdempotencyKeyHeader is not null,
            onSuccess: reply => DeliveryResult.Accepted(
                idPath is not null && HttpExchange.TryReadString(reply.Body, idPath, out var id) ? id : null),
            cancellationToken).ConfigureAwait(false);
    }

    private static void AddIfSet(JsonObject target, string name, string? value)
    {
        if (value is not null)
        {
            target[name] = value;
        }
    }

    private static JsonObject ToObject(IReadOnlyDictionary<string, string> values)
    {
        var result = new JsonObject();
        foreach (var (key, value) in values)
        {
            result[key] = value;
        }

        return result;
    }

    private static Func<HttpClient> Check(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }
}
