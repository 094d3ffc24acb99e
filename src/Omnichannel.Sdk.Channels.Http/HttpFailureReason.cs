using System.Globalization;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http;

/// <summary>
/// Reads what the HTTP transports put in a failure's <see cref="DeliveryResult.Reason"/>. When a transient answer carries
/// <c>Retry-After</c> (seconds or an HTTP date), the reason ends with <c>; retry-after=&lt;whole seconds&gt;s</c>, for example
/// <c>HTTP 429 Too Many Requests: slow down; retry-after=30s</c>.
/// </summary>
public static class HttpFailureReason
{
    /// <summary>The marker that precedes the delay in a reason.</summary>
    public const string RetryAfterMarker = "; retry-after=";

    /// <summary>Reads the provider's requested delay from a transient failure.</summary>
    /// <param name="result">A result from <see cref="WebhookTransport"/> or <see cref="HttpProviderTransport"/>.</param>
    /// <param name="retryAfter">The delay the provider asked for.</param>
    /// <returns>Whether the provider sent <c>Retry-After</c>.</returns>
    public static bool TryGetRetryAfter(DeliveryResult result, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var reason = result.Reason;
        if (result.Status != DeliveryStatus.TransientFailure || reason is null)
        {
            return false;
        }

        var at = reason.LastIndexOf(RetryAfterMarker, StringComparison.Ordinal);
        if (at < 0 || !reason.EndsWith('s'))
        {
            return false;
        }

        var digits = reason.AsSpan(at + RetryAfterMarker.Length, reason.Length - at - RetryAfterMarker.Length - 1);
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        retryAfter = TimeSpan.FromSeconds(seconds);
        return true;
    }

    internal static string WithRetryAfter(string reason, TimeSpan delay)
    {
        // Rounded up so a caller never retries before the provider allows.
        var seconds = (long)Math.Ceiling(delay.TotalSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"{reason}{RetryAfterMarker}{seconds}s");
    }
}
