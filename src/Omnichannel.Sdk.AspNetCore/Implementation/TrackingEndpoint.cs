using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

/// <summary>
/// Serves the HTTP Tracking API's calls: authenticates, rate-limits, reads (gzip) bodies within the limits, maps and
/// tracks. Status codes are the ones clients act on: <c>200</c> accepted (also a duplicate, and a batch whose bad
/// messages were dropped), <c>400</c> never retried, <c>401</c> unknown key, <c>429</c> and <c>503</c> retried.
/// Logs carry counts, sources and field names, never ids, traits or addresses.
/// </summary>
internal sealed partial class TrackingEndpoint : IDisposable
{
    private readonly TrackingApiOptions _options;
    private readonly IOmnichannelClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WriteKeyAuthenticator _authenticator;
    private readonly SpecMessageMapper _mapper;
    private readonly PartitionedRateLimiter<string>? _limiter;

    public TrackingEndpoint(IOptions<TrackingApiOptions> options, IOmnichannelClient client, TimeProvider time, ILoggerFactory? loggerFactory, IOptions<OmnichannelOptions>? engineOptions = null)
    {
        _options = options.Value;
        _client = client;
        _time = time;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Omnichannel.Sdk.AspNetCore.Tracking") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _authenticator = new WriteKeyAuthenticator(_options.WriteKeys);
        _mapper = new SpecMessageMapper(_options, engineOptions?.Value.MaxContextValueLength ?? 256, engineOptions?.Value.Identity, engineOptions?.Value.MaxClockSkew);
        if (_options.RequestsPerSecond > 0)
        {
            var perSecond = _options.RequestsPerSecond;
            var burst = Math.Max(_options.Burst, 1);
            _limiter = PartitionedRateLimiter.Create<string, string>(source => RateLimitPartition.GetTokenBucketLimiter(source, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
    }

    // Deep enough for anything but a deliberately nested body; shallow enough for the mapper's recursive walks.
    private const int MaxJsonDepth = 1_000;

    public void Dispose() => _limiter?.Dispose();

    /// <summary>Handles one request; <paramref name="callType"/> is <see langword="null"/> for <c>/batch</c>.</summary>
    public async Task HandleAsync(HttpContext http, string? callType)
    {
        var ct = http.RequestAborted;

        // The key comes as HTTP Basic, else as the body's "writeKey" (the Spec allows both; browser clients send text/plain
        // bodies with the key inside to avoid a CORS preflight), else the query's. An Authorization header that names no
        // write key is not the end: analytics-node sends "Bearer <OAuth token>" beside the body's writeKey when OAuth is
        // configured, and a staging site behind HTTP Basic has the browser send the site's own credentials.
        var hasHeader = !string.IsNullOrEmpty(http.Request.Headers.Authorization.ToString());
        var source = hasHeader ? _authenticator.Authenticate(http.Request.Headers.Authorization) : null;
        if (source is not null && !await AdmitAsync(http, source).ConfigureAwait(false))
        {
            return;
        }

        // A header that named no key and a body that names none either: 401, as before the body was read for one.
        var headerFailed = hasHeader && source is null;
        // A batch's envelope comes on top of the messages clients count against the limit (audit U108).
        var limit = callType is null ? (int)Math.Min((long)_options.MaxBatchBytes + TrackingApiOptions.BatchEnvelopeBytes, int.MaxValue) : _options.MaxMessageBytes;
        var (body, bodyError) = await ReadBodyAsync(http.Request, limit, ct).ConfigureAwait(false);
        if (body is null && headerFailed)
        {
            await UnauthorizedAsync(http).ConfigureAwait(false);
            return;
        }

        if (body is null)
        {
            LogBadRequest(_logger, source?.Source ?? "(unauthenticated)", "body");
            await ErrorAsync(http, StatusCodes.Status400BadRequest, bodyError!).ConfigureAwait(false);
            return;
        }

        JsonDocument document;
        try
        {
            // A UTF-8 byte-order mark may be ignored (RFC 8259, section 8.1), and some clients write one. The depth limit
            // is well above the engine's (32 levels), so a deeply nested message is rejected alone, not its whole batch.
            var json = body.AsMemory();
            if (json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                json = json[3..];
            }

            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException) when (FindTooDeep(body.AsSpan(Bom(body)), MaxJsonDepth) is { } tooDeep)
        {
            // Valid JSON nested past the parser's limit: a batch message that is too deep is refused alone (it was the
            // whole batch, as "not valid JSON"); otherwise the body is refused with the path that is too deep. Beside a
            // header that named no key, the batch's own writeKey is read once the deep messages are replaced (a 401
            // here lost the whole batch for one message); a body that cannot be read is the header's 401.
            var replaced = callType is null ? WithoutTooDeepMessages(body.AsSpan(Bom(body)), tooDeep) : null;
            if (replaced is null && headerFailed)
            {
                await UnauthorizedAsync(http).ConfigureAwait(false);
                return;
            }

            if (replaced is null)
            {
                LogBadRequest(_logger, source?.Source ?? "(unauthenticated)", "depth");
                var deep = tooDeep.First(f => callType is not null || f.Message < 0);
                var tooDeepMessage = $"is nested more than {MaxJsonDepth} levels deep";
                await ErrorAsync(http, StatusCodes.Status400BadRequest, "the body " + tooDeepMessage, [new ValidationError(deep.Path, tooDeepMessage)]).ConfigureAwait(false);
                return;
            }

            // Every container past the limit was inside a replaced message, so this reads.
            document = JsonDocument.Parse(replaced, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException) when (headerFailed)
        {
            await UnauthorizedAsync(http).ConfigureAwait(false);
            return;
        }
        catch (JsonException ex)
        {
            LogBadRequest(_logger, source?.Source ?? "(unauthenticated)", "json");

            // Where, not what: the parser's own message quotes the body, which may hold personal data.
            var where = ex.LineNumber is { } line && ex.BytePositionInLine is { } position
                ? $" (line {line + 1}, byte {position + 1} of the line)"
                : string.Empty;
            await ErrorAsync(http, StatusCodes.Status400BadRequest, "the body is not valid JSON" + where).ConfigureAwait(false);
            return;
        }

        using (document)
        {
            if (source is null)
            {
                // Else the query's writeKey: navigator.sendBeacon can set no header, so RudderStack's beacon queue puts the
                // key in the URL (…/beacon/v1/batch?writeKey=…) and none in its text/plain body.
                var presented = SpecMessageMapper.Str(document.RootElement, "writeKey");
                if (string.IsNullOrWhiteSpace(presented) && http.Request.Query.TryGetValue("writeKey", out var inQuery) && inQuery.Count == 1)
                {
                    presented = inQuery[0];
                }

                source = _authenticator.AuthenticateKey(presented);
                if (source is null)
                {
                    await UnauthorizedAsync(http).ConfigureAwait(false);
                    return;
                }

                if (!await AdmitAsync(http, source).ConfigureAwait(false))
                {
                    return;
                }
            }

            try
            {
                if (callType is null)
                {
                    await BatchAsync(http, document.RootElement, source, ct).ConfigureAwait(false);
                }
                else
                {
                    await SingleAsync(http, document.RootElement, callType, source, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away; it will retry what it did not see acknowledged.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A store failure: 5xx, so the client retries (the message ids make a retry a duplicate). The exception's
                // text may quote data, so only its type is logged.
                LogStoreFailure(_logger, source.Source, ex.GetType().FullName ?? ex.GetType().Name);
                if (!http.Response.HasStarted)
                {
                    await ErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "the events could not be stored; retry").ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Answers the settings request a client makes when its CDN host is this one (analytics-kotlin, analytics-swift and
    /// analytics-react-native: <c>GET https://{cdnHost}/projects/{writeKey}/settings</c>; analytics-next with
    /// <c>cdnURL</c>: <c>GET {cdnURL}/v1/projects/{writeKey}/settings</c>). The answer names this host and prefix as the
    /// <c>Segment.io</c> destination's <c>apiHost</c>, so a client keeps sending here, and a metrics sample rate of 0, so
    /// it sends no telemetry to Segment. An unknown key is <c>404</c>, as Segment's CDN answers it.
    /// </summary>
    public async Task SettingsAsync(HttpContext http, string? writeKey)
    {
        var source = _authenticator.AuthenticateKey(writeKey);
        if (source is null)
        {
            LogUnauthorized(_logger);
            await ErrorAsync(http, StatusCodes.Status404NotFound, "no settings for this write key").ConfigureAwait(false);
            return;
        }

        // The API's own prefix is what precedes /projects/{key}/settings in the request's path (a nested group included).
        var path = (http.Request.PathBase + http.Request.Path).Value ?? string.Empty;
        var at = path.LastIndexOf("/projects/", StringComparison.Ordinal);
        var apiHost = http.Request.Host.Value + (at > 0 ? path[..at] : string.Empty);
        http.Response.Headers.CacheControl = "public, max-age=300";
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["integrations"] = new JsonObject
            {
                ["Segment.io"] = new JsonObject
                {
                    ["apiKey"] = writeKey!.Trim(),
                    ["apiHost"] = apiHost,
                    ["protocol"] = http.Request.Scheme,
                },
            },
            ["plan"] = new JsonObject { ["track"] = new JsonObject { ["__default"] = new JsonObject { ["enabled"] = true } } },
            ["edgeFunction"] = new JsonObject(),
            ["middlewareSettings"] = new JsonObject(),
            ["metrics"] = new JsonObject { ["sampleRate"] = 0 },
        }, http.RequestAborted).ConfigureAwait(false);
    }

    private Task UnauthorizedAsync(HttpContext http)
    {
        LogUnauthorized(_logger);
        http.Response.Headers.WWWAuthenticate = WriteKeyAuthenticator.Challenge;
        return ErrorAsync(http, StatusCodes.Status401Unauthorized, "no configured write key (TrackingApiOptions.WriteKeys) was sent: send one as HTTP Basic (the key as the user name, an empty password), else as \"writeKey\" in the body, else as \"writeKey\" in the query");
    }

    /// <summary>Takes a token from the source's bucket; answers 429 and returns <see langword="false"/> when there is none.</summary>
    private async Task<bool> AdmitAsync(HttpContext http, TrackingWriteKey source)
    {
        if (_limiter is null)
        {
            return true;
        }

        using var lease = _limiter.AttemptAcquire(source.Source);
        if (lease.IsAcquired)
        {
            return true;
        }

        LogRateLimited(_logger, source.Source);
        http.Response.Headers.RetryAfter = "1";
        await ErrorAsync(http, StatusCodes.Status429TooManyRequests, "rate limit of this write key exceeded; retry later").ConfigureAwait(false);
        return false;
    }

    private async Task SingleAsync(HttpContext http, JsonElement message, string callType, TrackingWriteKey source, CancellationToken ct)
    {
        var mapped = _mapper.Map(message, callType, Facts(http, source, null));
        if (mapped.Event is null)
        {
            LogRejected(_logger, source.Source, 1, string.Join(",", mapped.Errors.Select(e => e.Field)));
            await ErrorAsync(http, StatusCodes.Status400BadRequest, "the message is invalid", mapped.Errors).ConfigureAwait(false);
            return;
        }

        var result = await _client.TrackAsync(mapped.Event, ct).ConfigureAwait(false);
        switch (result.Status)
        {
            case TrackStatus.Rejected:
                var errors = mapped.InMessageTerms(result.Errors);
                LogRejected(_logger, source.Source, 1, string.Join(",", errors.Select(e => e.Field)));
                await ErrorAsync(http, StatusCodes.Status400BadRequest, "the message is invalid", errors).ConfigureAwait(false);
                return;
            case TrackStatus.Failed when !result.IsTransient:
                // It would fail the same way again: a status clients retry would have them resend it for ever.
                LogRejected(_logger, source.Source, 1, "event");
                await ErrorAsync(http, StatusCodes.Status422UnprocessableEntity, "the event cannot be applied; sending it again will not help").ConfigureAwait(false);
                return;
            case TrackStatus.Failed or TrackStatus.StoreFailed:
                LogFailed(_logger, source.Source, 1);
                await ErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "the event could not be stored; retry").ConfigureAwait(false);
                return;
            default:
                LogTracked(_logger, source.Source, callType, result.Status == TrackStatus.Accepted ? 1 : 0, result.Status == TrackStatus.Duplicate ? 1 : 0);
                var answer = new JsonObject { ["success"] = true };
                if (NotApplied(result, mapped) is { Count: > 0 } ignored)
                {
                    // First hour, eleventh pass: an offset sent as context.timezone was dropped with nothing said anywhere.
                    LogIgnored(_logger, source.Source, 1, string.Join(",", ignored.Select(e => e.Field)));
                    answer["ignored"] = Errors(ignored);
                }

                await http.Response.WriteAsJsonAsync(answer, ct).ConfigureAwait(false);
                return;
        }
    }

    private async Task BatchAsync(HttpContext http, JsonElement root, TrackingWriteKey source, CancellationToken ct)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
        {
            LogBadRequest(_logger, source.Source, "batch");
            await ErrorAsync(http, StatusCodes.Status400BadRequest, "the body must be an object with a \"batch\" array").ConfigureAwait(false);
            return;
        }

        var count = batch.GetArrayLength();
        if (count > _options.MaxBatchMessages)
        {
            LogBadRequest(_logger, source.Source, "batch.length");
            await ErrorAsync(http, StatusCodes.Status400BadRequest, $"a batch holds at most {_options.MaxBatchMessages} messages").ConfigureAwait(false);
            return;
        }

        // Read as a message's own sentAt is (every ISO 8601 form the mapper reads): the same clock error is corrected
        // whether the message or its batch carries it. One that cannot be read corrects nothing.
        DateTimeOffset? sentAt = SpecMessageMapper.TryDate(root, "sentAt", out var sa) ? sa : null;
        var facts = Facts(http, source, sentAt);
        var batchContext = root.TryGetProperty("context", out var bc) && bc.ValueKind == JsonValueKind.Object ? ReadableContext(bc) : default;
        var rejected = new JsonArray();
        var events = new List<CustomerEvent>(count);
        var positions = new List<(int Index, string? MessageId, MappedMessage Mapped)>(count);
        var index = 0;
        foreach (var message in batch.EnumerateArray())
        {
            try
            {
                // Measured on its UTF-8 bytes: GetRawText transcodes, and throws on a message with invalid UTF-8, which
                // made the whole batch a 503 that clients resend for ever.
                var size = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(message).Length;
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty(TooDeepMarker, out var tooDeepAt))
                {
                    rejected.Add(Rejection(index, null, [new(tooDeepAt.GetString()!, $"is nested more than {MaxJsonDepth} levels deep")]));
                }
                else if (size > _options.MaxMessageBytes)
                {
                    rejected.Add(Rejection(index, SpecMessageMapper.Str(message, "messageId"), [new("message", $"is {size} bytes; at most {_options.MaxMessageBytes} are allowed")]));
                }
                else if (_mapper.Map(WithBatchContext(message, batchContext), null, facts) is var mapped && mapped.Event is { } e)
                {
                    events.Add(e);
                    positions.Add((index, mapped.MessageId, mapped));
                }
                else
                {
                    rejected.Add(Rejection(index, mapped.MessageId, mapped.Errors));
                }
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
            {
                // A message that cannot be read (invalid UTF-8 inside a string) is this message's problem alone.
                rejected.Add(Rejection(index, null, [new("message", $"could not be read ({ex.GetType().Name})")]));
            }

            index++;
        }

        var results = events.Count == 0 ? [] : await _client.TrackBatchAsync(events, ct).ConfigureAwait(false);
        int accepted = 0, duplicates = 0, erased = 0, failed = 0;
        var ignored = new JsonArray();
        var ignoredFields = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < results.Count; i++)
        {
            switch (results[i].Status)
            {
                case TrackStatus.Accepted:
                    accepted++;
                    if (NotApplied(results[i], positions[i].Mapped) is { Count: > 0 } parts)
                    {
                        ignoredFields.UnionWith(parts.Select(e => e.Field));
                        ignored.Add(new JsonObject { ["index"] = positions[i].Index, ["messageId"] = positions[i].MessageId, ["fields"] = Errors(parts) });
                    }

                    break;
                case TrackStatus.Duplicate:
                    duplicates++;
                    break;
                case TrackStatus.Erased:
                    // Acknowledged (a resend would be refused again) but not stored: counted, so an import's counts add up.
                    erased++;
                    break;
                case TrackStatus.Rejected:
                    rejected.Add(Rejection(positions[i].Index, positions[i].MessageId, positions[i].Mapped.InMessageTerms(results[i].Errors)));
                    break;
                case TrackStatus.Failed when !results[i].IsTransient:
                    // It would fail the same way again: listed like a rejection, so the batch is not resent for ever.
                    rejected.Add(Rejection(positions[i].Index, positions[i].MessageId, [new("event", "cannot be applied to its profile; sending it again will not help")]));
                    break;
                case TrackStatus.Failed or TrackStatus.StoreFailed:
                    failed++;
                    break;
            }
        }

        if (rejected.Count > 0)
        {
            LogRejected(_logger, source.Source, rejected.Count, "batch");
        }

        if (failed > 0)
        {
            // Retrying the whole batch is safe: what was stored comes back as duplicates.
            LogFailed(_logger, source.Source, failed);
            await ErrorAsync(http, StatusCodes.Status503ServiceUnavailable, $"{failed} event(s) could not be stored; retry the batch").ConfigureAwait(false);
            return;
        }

        LogTracked(_logger, source.Source, "batch", accepted, duplicates);
        var response = new JsonObject { ["success"] = true, ["accepted"] = accepted, ["duplicates"] = duplicates };
        if (erased > 0)
        {
            response["erased"] = erased;
        }

        if (rejected.Count > 0)
        {
            response["rejected"] = rejected;
        }

        if (ignored.Count > 0)
        {
            LogIgnored(_logger, source.Source, ignored.Count, string.Join(",", ignoredFields));
            response["ignored"] = ignored;
        }

        await http.Response.WriteAsJsonAsync(response, ct).ConfigureAwait(false);
    }

    private RequestFacts Facts(HttpContext http, TrackingWriteKey source, DateTimeOffset? batchSentAt) =>
        new(source, _time.GetUtcNow(), batchSentAt, _options.StoreIpAddress ? http.Connection.RemoteIpAddress?.ToString() : null);

    [LoggerMessage(1, LogLevel.Warning, "Tracking request refused: no valid write key")]
    private static partial void LogUnauthorized(ILogger logger);

    [LoggerMessage(2, LogLevel.Warning, "Tracking request from source {Source} refused: rate limit exceeded")]
    private static partial void LogRateLimited(ILogger logger, string source);

    [LoggerMessage(3, LogLevel.Information, "Tracking request from source {Source} refused: bad {Part}")]
    private static partial void LogBadRequest(ILogger logger, string source, string part);

    [LoggerMessage(4, LogLevel.Information, "Tracking: {Count} message(s) from source {Source} rejected (fields: {Fields})")]
    private static partial void LogRejected(ILogger logger, string source, int count, string fields);

    [LoggerMessage(5, LogLevel.Warning, "Tracking: {Count} event(s) from source {Source} could not be stored; answered 503 so the client retries")]
    private static partial void LogFailed(ILogger logger, string source, int count);

    [LoggerMessage(6, LogLevel.Error, "Tracking: storing events from source {Source} threw {ExceptionType}; answered 503 so the client retries")]
    private static partial void LogStoreFailure(ILogger logger, string source, string exceptionType);

    // What an accepted message carried that was not applied, in its own terms and never by value: the context this
    // endpoint left out, the parts the engine ignored, then the identifiers a limit kept off her profile
    // (TrackResult.NotLinked, named by position and mapped to the message's own field).
    private static IReadOnlyList<ValidationError> NotApplied(TrackResult result, MappedMessage mapped)
    {
        var engine = result.NotLinked.Count == 0 ? result.Ignored : [.. result.Ignored, .. result.NotLinked];
        var leftOut = result.Status == TrackStatus.Accepted ? mapped.LeftOut : [];
        return engine.Count == 0 ? leftOut : [.. leftOut, .. mapped.InMessageTerms(engine)];
    }

    [LoggerMessage(204, LogLevel.Information, "Tracking: {Count} message(s) from source {Source} accepted with parts not applied (fields: {Fields})")]
    private static partial void LogIgnored(ILogger logger, string source, int count, string fields);

    [LoggerMessage(7, LogLevel.Debug, "Tracking {Call} from source {Source}: {Accepted} accepted, {Duplicates} duplicate(s)")]
    private static partial void LogTracked(ILogger logger, string source, string call, int accepted, int duplicates);
}
