namespace Omnichannel.Sdk.AspNetCore;

/// <summary>
/// Settings of the tracking endpoint that <c>MapOmnichannelTracking</c> serves: the HTTP Tracking API of the Segment Spec
/// (<see href="https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/"/>), as Segment's,
/// RudderStack's and compatible clients send it. Registered with <c>AddTrackingApi</c> and validated at start-up.
/// </summary>
public sealed class TrackingApiOptions
{
    /// <summary>The HTTP Tracking API's limit on one message: 32 KB.</summary>
    public const int SpecMaxMessageBytes = 32 * 1024;

    /// <summary>The HTTP Tracking API's limit on one batch request: 500 KB.</summary>
    public const int SpecMaxBatchBytes = 500 * 1024;

    /// <summary>
    /// The write keys clients authenticate with (HTTP Basic, the key as the user name and an empty password, else the
    /// body's <c>writeKey</c>, as when there is no <c>Authorization</c> header or it names no write key), each naming
    /// its source. At least one is required; keys and source names must be unique. A request without a known key gets
    /// <c>401</c>. Keys are compared in constant time.
    /// </summary>
    public IList<TrackingWriteKey> WriteKeys { get; } = [];

    /// <summary>
    /// The largest message accepted, in bytes of (decompressed) JSON. Default <see cref="SpecMaxMessageBytes"/> (32 KB),
    /// the Spec's limit. A single call over it gets <c>400</c>; a message over it inside a batch is rejected alone.
    /// </summary>
    public int MaxMessageBytes { get; set; } = SpecMaxMessageBytes;

    /// <summary>
    /// The largest request body accepted, in bytes of decompressed JSON. Default <see cref="SpecMaxBatchBytes"/> (500 KB),
    /// the Spec's limit for <c>/batch</c>. Over it the whole request gets <c>400</c> (clients do not retry a 400).
    /// A <c>/batch</c> body may be up to <see cref="BatchEnvelopeBytes"/> longer: clients count the limit over their
    /// messages and then add the envelope (analytics-ruby and RudderStack's Ruby client fill 512,000 bytes of messages, then
    /// write <c>{"batch":[…],"sentAt":…}</c> and a comma between messages around them).
    /// </summary>
    public int MaxBatchBytes { get; set; } = SpecMaxBatchBytes;

    /// <summary>
    /// How far past <see cref="MaxBatchBytes"/> a <c>/batch</c> body may go for the envelope and separators clients add
    /// after counting their messages against the limit: 4 KiB (audit U108).
    /// </summary>
    public const int BatchEnvelopeBytes = 4 * 1024;

    /// <summary>The most messages one <c>/batch</c> request may carry. Default 2,500 (the Spec's body limit allows about that many tiny messages); at least 1.</summary>
    public int MaxBatchMessages { get; set; } = 2_500;

    /// <summary>
    /// Requests per second each write key may make (a token bucket per key, refilled every second; <c>0</c> turns rate
    /// limiting off). Over it the request gets <c>429</c> with <c>Retry-After</c>, which clients retry. Default 200.
    /// </summary>
    public int RequestsPerSecond { get; set; } = 200;

    /// <summary>
    /// The token bucket's size: the most requests a write key may make at once after a quiet spell (the bucket then refills
    /// at <see cref="RequestsPerSecond"/>). Default 400; at least 1 when rate limiting is on.
    /// </summary>
    public int Burst { get; set; } = 400;

    /// <summary>
    /// Whether the client's IP address (<c>context.ip</c>, else the connection's address) is kept, as the event property
    /// <c>ip</c>. Default <see langword="false"/>: an IP address is personal data; it is dropped unless the host asks for it.
    /// </summary>
    public bool StoreIpAddress { get; set; }

    /// <summary>How messages become <see cref="CustomerEvent"/>s: identifiers, event types, property names.</summary>
    public TrackingMapping Mapping { get; } = new();

    /// <summary>Every problem with these options, empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (WriteKeys.Count == 0)
        {
            errors.Add($"{nameof(WriteKeys)}: add at least one write key (o.WriteKeys.Add(new TrackingWriteKey {{ Key = ..., Source = \"website\" }})).");
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        var sources = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < WriteKeys.Count; i++)
        {
            var k = WriteKeys[i];
            if (k is null)
            {
                errors.Add($"{nameof(WriteKeys)}[{i}] is null.");
                continue;
            }

            var which = string.IsNullOrWhiteSpace(k.Source) ? "" : $" (source '{k.Source}')";
            if (string.IsNullOrWhiteSpace(k.Key))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Key)}{which} is not set: give it a random secret of at least 16 characters without ':' (for example `openssl rand -hex 16`), kept in configuration or a secret store (a configuration key that is missing reads as null).");
            }
            else if (k.Key.Length < 16 || k.Key.Contains(':', StringComparison.Ordinal))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Key)}{which} must be at least 16 characters without ':' (a random secret, for example `openssl rand -hex 16`).");
            }
            else if (k.Key.Trim().Length != k.Key.Length)
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Key)}{which} starts or ends with white space (a secret file's trailing newline?): no client sends it, so trim it.");
            }
            else if (!keys.Add(k.Key))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Key)} is used by another write key.");
            }

            if (string.IsNullOrWhiteSpace(k.Source))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Source)} is required (the name of the source, for example website).");
            }
            else if (!sources.Add(k.Source))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Source)} '{k.Source}' names another write key's source too.");
            }

            if (!Implementation.Names.IsChannel(k.Channel))
            {
                errors.Add($"{nameof(WriteKeys)}[{i}].{nameof(TrackingWriteKey.Channel)} must be a lower_case channel name such as web or app.");
            }
        }

        if (MaxMessageBytes < 1024)
        {
            errors.Add($"{nameof(MaxMessageBytes)} must be at least 1024.");
        }

        if (MaxBatchBytes < MaxMessageBytes)
        {
            errors.Add($"{nameof(MaxBatchBytes)} must be at least {nameof(MaxMessageBytes)}.");
        }

        if (MaxBatchMessages < 1)
        {
            errors.Add($"{nameof(MaxBatchMessages)} must be at least 1.");
        }

        if (RequestsPerSecond < 0)
        {
            errors.Add($"{nameof(RequestsPerSecond)} must not be negative (0 turns rate limiting off).");
        }

        if (RequestsPerSecond > 0 && Burst < 1)
        {
            errors.Add($"{nameof(Burst)} must be at least 1.");
        }

        Mapping.Validate(errors);
        return errors;
    }
}

/// <summary>One write key and the source it names.</summary>
public sealed class TrackingWriteKey
{
    /// <summary>
    /// The secret clients send as the HTTP Basic user name (at least 16 characters, no <c>:</c>, no white space at either
    /// end; white space around a presented key is ignored). Required.
    /// </summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>
    /// The source's name (for example <c>website</c>, <c>ios-app</c>, <c>backend</c>), kept on every event from this key
    /// as the property <c>tracking_source</c> and used in logs and rate-limit partitions. Required, unique.
    /// </summary>
    public string Source { get; set; } = string.Empty;

    /// <summary>The SDK channel of this source's events (see <see cref="ChannelNames"/>). Default <c>web</c>.</summary>
    public string Channel { get; set; } = ChannelNames.Web;
}
