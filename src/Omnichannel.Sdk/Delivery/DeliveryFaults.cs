using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Omnichannel.Sdk.Delivery;

/// <summary>How the dispatcher reads what a transport did: failures classified, sizes bounded, unset results refused.</summary>
internal static class DeliveryFaults
{
    /// <summary>Whether an exception from a transport is worth retrying (see <see cref="DeliveryOptions.IsTransientException"/>).</summary>
    public static bool IsTransient(Exception ex, DeliveryOptions o) => o.IsTransientException?.Invoke(ex) ?? IsTransientByDefault(ex);

    public static bool IsTransientByDefault(Exception ex) => ex switch
    {
        TimeoutException or IOException or SocketException or OperationCanceledException => true,
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } code } => code is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)code >= 500,
        AggregateException { InnerExceptions.Count: > 0 } a => a.InnerExceptions.All(IsTransientByDefault),
        _ => ex.InnerException is { } inner && inner is not ArgumentException && IsTransientByDefault(inner),
    };

    /// <summary>A transport's result as the dispatcher trusts it: an unset one (<c>default</c>) never reads as success.</summary>
    public static DeliveryResult Checked(DeliveryResult result) =>
        Enum.IsDefined(result.Status) && result.Status != DeliveryStatus.None
            ? result
            : DeliveryResult.PermanentFailure("the transport returned no result (default(DeliveryResult)); not retried, since it may have sent");

    /// <summary>Why a rendered message is too big for its channel, or null.</summary>
    public static string? TooLarge(OutboundMessage message, DeliveryOptions o)
    {
        if (message is SmsMessage sms && sms.SegmentCount > o.MaxSmsSegments)
        {
            return $"the SMS has {sms.SegmentCount} segments; at most {o.MaxSmsSegments} are allowed";
        }

        if (message is WhatsAppMessage { Text.Length: > 4096 } wa)
        {
            return $"the WhatsApp text has {wa.Text.Length} characters; WhatsApp allows 4096";
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(message, message.GetType()).Length;
        if (message is PushMessage && bytes > o.MaxPushBytes)
        {
            return $"the push notification is {bytes} bytes; at most {o.MaxPushBytes} are allowed";
        }

        return bytes > o.MaxMessageBytes ? $"the message is {bytes} bytes; at most {o.MaxMessageBytes} are allowed" : null;
    }
}
