using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>
/// Posts a <see cref="WebhookMessage"/>'s payload as JSON to its URL (or <see cref="WebhookTransportOptions.DefaultUrl"/>),
/// signed with HMAC-SHA256 over <c>"&lt;timestamp&gt;.&lt;body&gt;"</c>. Headers: <see cref="WebhookHeaders.IdempotencyKey"/>
/// (the message id), <see cref="WebhookHeaders.Event"/>, <see cref="WebhookHeaders.Timestamp"/> (Unix seconds from the
/// <see cref="TimeProvider"/>) and <see cref="WebhookHeaders.Signature"/> (<c>v1=&lt;hex&gt;</c>).
/// </summary>
/// <remarks>
/// A 2xx answer is accepted (webhooks have no provider id, so it is <see langword="null"/>); 408, 409 (every request
/// carries its idempotency key, so a 409 means an earlier attempt is still being processed), 425, 429, 5xx, network
/// errors, time-outs and cancellation are transient (with <c>Retry-After</c>, see <see cref="HttpFailureReason"/>); any
/// other answer is permanent, with the receiver's error message. A URL with credentials in it (<c>user:password@</c>)
/// is a permanent failure: the HTTP client would not send them.
/// </remarks>
public sealed class WebhookTransport : IChannelTransport
{
    private const string HttpClientNamePrefix = "Omnichannel.Webhook.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly Func<HttpClient> httpClient;
    private readonly WebhookTransportOptions options;
    private readonly TimeProvider timeProvider;

    /// <summary>Creates a transport that sends through <paramref name="httpClient"/> (for use without a container).</summary>
    /// <param name="httpClient">The client; prefer <c>AddWebhookTransport</c>, which uses <see cref="IHttpClientFactory"/>.</param>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock for timestamps and time-outs; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; <c>Failures</c> lists every problem (the same exception the container throws at start-up).</exception>
    public WebhookTransport(HttpClient httpClient, WebhookTransportOptions options, TimeProvider? timeProvider = null)
        : this(Check(httpClient), options, timeProvider ?? TimeProvider.System)
    {
    }

    internal WebhookTransport(Func<HttpClient> httpClient, WebhookTransportOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(WebhookTransportOptions), problems);
        }

        this.httpClient = httpClient;
        this.options = options;
        this.timeProvider = timeProvider;
    }

    /// <summary>Always <see cref="ChannelNames.Webhook"/>.</summary>
    public string Channel => ChannelNames.Webhook;

    /// <summary>The name of the <see cref="IHttpClientFactory"/> client that <c>AddWebhookTransport</c> registers, to add handlers to it.</summary>
    /// <param name="transportName">The transport's name (default <c>webhook</c>).</param>
    public static string GetHttpClientName(string transportName) => HttpClientNamePrefix + transportName;

    /// <inheritdoc />
    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message is not WebhookMessage webhook)
        {
            return DeliveryResult.PermanentFailure($"The webhook transport sends only WebhookMessage, not {message.GetType().Name}.");
        }

        var url = webhook.Url ?? options.DefaultUrl;
        if (url is null)
        {
            return DeliveryResult.PermanentFailure("The message has no Url and the transport has no DefaultUrl.");
        }

        if (!OptionChecks.IsHttpUrl(url))
        {
            return DeliveryResult.PermanentFailure($"The webhook URL must be an absolute http or https URL (got '{OptionChecks.WithoutCredentials(url)}').");
        }

        if (OptionChecks.HasCredentials(url))
        {
            // HttpClient sends no Authorization for them: the receiver would refuse, or take the request unauthenticated.
            return DeliveryResult.PermanentFailure(
                "The webhook URL carries credentials (user:password@), which the HTTP client does not send; give them as a header in WebhookTransportOptions.Headers (Authorization).");
        }

        if (webhook.Payload.ValueKind == JsonValueKind.Undefined)
        {
            return DeliveryResult.PermanentFailure("The webhook payload is undefined (a default JsonElement).");
        }

        if (!OptionChecks.IsHeaderValue(webhook.MessageId) || !OptionChecks.IsHeaderValue(webhook.EventType))
        {
            return DeliveryResult.PermanentFailure(
                "The webhook's message id and event type are sent as HTTP headers and must be printable ASCII without line breaks.");
        }

        var body = Serialize(webhook.Payload);
        var timestamp = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        };
        foreach (var (name, value) in options.Headers)
        {
            OptionChecks.Apply(request, name, value);
        }

        // Set last so a configured header cannot override them.
        request.Headers.Remove(WebhookHeaders.IdempotencyKey);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.IdempotencyKey, webhook.MessageId);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Event, webhook.EventType);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Timestamp, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookHeaders.Signature, WebhookSignature.Compute(options.Secret, timestamp, body));

        return await HttpExchange.SendAsync(
            httpClient(), request, options.Timeout, timeProvider, errorMessagePath: null, sentIdempotencyKey: true,
            onSuccess: static _ => DeliveryResult.Accepted(null), cancellationToken).ConfigureAwait(false);
    }

    private static byte[] Serialize(JsonElement payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            payload.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static Func<HttpClient> Check(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }
}
