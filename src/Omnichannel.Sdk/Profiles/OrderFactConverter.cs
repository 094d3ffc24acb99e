using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>
/// The stored form of an <see cref="OrderFact"/> (orders, returns, loyalty and referral tallies): what the serializer wrote
/// before, less what a reader gets back anyway. <c>updatedAt</c> is left out when it equals <c>at</c>, and
/// <c>firstEventId</c> when it equals <c>eventId</c> (a fact of one report, nearly every one): about a third of an order's
/// bytes, written on every commit of a profile with fewer than <see cref="WrittenJson{T}.MinimumToKeep"/> orders. Written
/// by hand: the serializer's skip rules box each <see langword="decimal"/> they test. Documents written before read the
/// same (every field present).
/// </summary>
internal sealed class OrderFactConverter : JsonConverter<OrderFact>
{
    public override OrderFact Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"An order fact must be an object, not {reader.TokenType}.");
        }

        decimal total = 0;
        string? currency = null, eventId = null, firstEventId = null, order = null;
        DateTimeOffset? at = null, updatedAt = null;
        Dictionary<string, OrderLine>? lines = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw new JsonException("An order fact's member has no name.");
            }

            var name = reader.GetString();
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            switch (name)
            {
                case "total": total = reader.GetDecimal(); break;
                case "currency": currency = reader.GetString(); break;
                case "at": at = reader.GetDateTimeOffset(); break;
                case "updatedAt": updatedAt = reader.GetDateTimeOffset(); break;
                case "eventId": eventId = reader.GetString(); break;
                case "firstEventId": firstEventId = reader.GetString(); break;
                case "order": order = reader.GetString(); break;
                case "lines": lines = JsonSerializer.Deserialize(ref reader, LinesInfo(options)); break;
                default: reader.Skip(); break; // a member a later version added
            }
        }

        // Lenient as the serializer was: a member it left out as a default reads as that default.
        var first = at ?? updatedAt ?? default;
        var newest = eventId ?? firstEventId ?? string.Empty;
        return new OrderFact(total, currency, first, updatedAt ?? first, newest, firstEventId ?? newest, order, lines);
    }

    public override void Write(Utf8JsonWriter writer, OrderFact value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();

        // 0.00 is not 0: its scale is kept (review of session 57), so only a zero without decimals is left out.
        if (value.Total != 0 || value.Total.Scale != 0)
        {
            writer.WriteNumber("total", value.Total);
        }

        if (value.Currency is { } currency)
        {
            writer.WriteString("currency", currency);
        }

        writer.WriteString("at", value.At);
        if (value.UpdatedAt != value.At || value.UpdatedAt.Offset != value.At.Offset)
        {
            writer.WriteString("updatedAt", value.UpdatedAt);
        }

        writer.WriteString("eventId", value.EventId);
        if (!string.Equals(value.FirstEventId, value.EventId, StringComparison.Ordinal))
        {
            writer.WriteString("firstEventId", value.FirstEventId);
        }

        if (value.Order is { } order)
        {
            writer.WriteString("order", order);
        }

        if (value.Lines is { Count: > 0 } lines)
        {
            writer.WritePropertyName("lines");
            ElementWise.WriteObject(writer, lines, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<OrderLine>)options.GetTypeInfo(typeof(OrderLine)));
        }

        writer.WriteEndObject();
    }

    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<Dictionary<string, OrderLine>> LinesInfo(JsonSerializerOptions options) =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<Dictionary<string, OrderLine>>)options.GetTypeInfo(typeof(Dictionary<string, OrderLine>));
}
