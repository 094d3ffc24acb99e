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

        // A push is measured as a provider receives it: UTF-8 text with only what JSON must escape escaped. The default
        // encoder (the outbox's form, which MaxMessageBytes bounds) writes every non-ASCII character as \uXXXX (an emoji
        // as 12 bytes), which doubled a push in Japanese.
        if (message is PushMessage && Utf8JsonSize(JsonSerializer.SerializeToElement(message, message.GetType())) is var pushBytes && pushBytes > o.MaxPushBytes)
        {
            return $"the push notification is {pushBytes} bytes; at most {o.MaxPushBytes} are allowed";
        }

        var bytes = SerializedSize(message);
        return bytes > o.MaxMessageBytes ? $"the message is {bytes} bytes; at most {o.MaxMessageBytes} are allowed" : null;
    }

    // What SerializeToUtf8Bytes would give, counted rather than kept: every message is measured as it is planned.
    [ThreadStatic]
    private static (ByteCounter Counter, Utf8JsonWriter Writer)? _counting;

    // The default options, with the string maps written as one value (the same bytes, no frame pushed for them).
    private static readonly JsonSerializerOptions Counted = new() { Converters = { new StringMapConverter() } };

    private static long SerializedSize(OutboundMessage message)
    {
        // MaxDepth as the default options write (64), not the writer's own default (1000).
        var (counter, writer) = _counting ?? (new ByteCounter(), new Utf8JsonWriter(Stream.Null, new JsonWriterOptions { MaxDepth = 64, SkipValidation = true }));
        _counting = null; // taken while in use
        counter.Count = 0;
        writer.Reset(counter);
        JsonSerializer.Serialize(writer, message, message.GetType(), Counted);
        writer.Flush();
        _counting = (counter, writer);
        return counter.Count;
    }

    /// <summary>Counts what is written into it and keeps none of it (one scratch buffer, written over).</summary>
    private sealed class ByteCounter : System.Buffers.IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];

        public long Count { get; set; }

        public void Advance(int count) => Count += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint);

        private byte[] Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length)
            {
                _scratch = new byte[sizeHint];
            }

            return _scratch;
        }
    }

    /// <summary>The size of <paramref name="e"/> written compactly in UTF-8, escaping only quotes, backslashes and control characters.</summary>
    internal static long Utf8JsonSize(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                long o = 2, n = 0;
                foreach (var p in e.EnumerateObject())
                {
                    o += StringSize(p.Name) + 1 + Utf8JsonSize(p.Value);
                    n++;
                }

                return o + Math.Max(0, n - 1);
            case JsonValueKind.Array:
                long a = 2, m = 0;
                foreach (var item in e.EnumerateArray())
                {
                    a += Utf8JsonSize(item);
                    m++;
                }

                return a + Math.Max(0, m - 1);
            case JsonValueKind.String:
                return StringSize(e.GetString()!);
            default:
                return e.GetRawText().Length;
        }
    }

    private static long StringSize(string s)
    {
        long size = 2;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                size += 4;
                i++;
                continue;
            }

            size += c switch
            {
                '"' or '\\' or '\n' or '\r' or '\t' or '\b' or '\f' => 2,
                < ' ' => 6,
                < (char)0x80 => 1,
                < (char)0x800 => 2,
                _ => 3,
            };
        }

        return size;
    }
}
