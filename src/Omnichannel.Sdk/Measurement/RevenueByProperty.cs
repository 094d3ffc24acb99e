using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// An order's revenue by property path (<c>total</c> always, then any other revenue property a conversion follows), kept
/// with its conversion for as long as a return or an update may change it. Stored as the JSON object
/// <c>{"total": 12.5, "net": 10.4}</c>, as a dictionary would be.
/// </summary>
/// <remarks>
/// A value, not a dictionary: nearly every order has only its total, and each measured order keeps one of these for
/// <see cref="MeasurementRecorder.OrderConversionRetention"/>. A dictionary with its entry array was two objects
/// (176 bytes) per order that every profile still in memory carried and the collector had to trace.
/// </remarks>
[JsonConverter(typeof(RevenueByPropertyConverter))]
internal readonly struct RevenueByProperty
{
    internal const string TotalProperty = "total";

    private readonly KeyValuePair<string, double>[]? _others;

    public RevenueByProperty(double total) => Total = total;

    private RevenueByProperty(double total, KeyValuePair<string, double>[]? others) => (Total, _others) = (total, others);

    /// <summary>The order's total.</summary>
    public double Total { get; }

    /// <summary>The revenue under a property path, or 0 when it was not kept.</summary>
    public double Get(string property)
    {
        if (property == TotalProperty)
        {
            return Total;
        }

        return IndexOf(property) is var i and >= 0 ? _others![i].Value : 0;
    }

    /// <summary>Whether the revenue under a property path is kept (<c>total</c> always is).</summary>
    public bool Has(string property) => property == TotalProperty || IndexOf(property) >= 0;

    /// <summary>This revenue with one more property (or a new value for one already kept).</summary>
    public RevenueByProperty With(string property, double value)
    {
        if (property == TotalProperty)
        {
            return new RevenueByProperty(value, _others);
        }

        var others = _others ?? [];
        var i = IndexOf(property);
        var copy = i >= 0 ? (KeyValuePair<string, double>[])others.Clone() : [.. others, default];
        copy[i >= 0 ? i : others.Length] = new(property, value);
        return new RevenueByProperty(Total, copy);
    }

    // A loop, not a predicate: a lambda capturing the parameter allocates on every call, and this runs for every order.
    private int IndexOf(string property)
    {
        var others = _others ?? [];
        for (var i = 0; i < others.Length; i++)
        {
            if (others[i].Key == property)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The kept properties other than <c>total</c>, in the order they were added.</summary>
    public ReadOnlySpan<KeyValuePair<string, double>> Others => _others;
}

/// <summary>Reads and writes <see cref="RevenueByProperty"/> as a JSON object of numbers by property path.</summary>
internal sealed class RevenueByPropertyConverter : JsonConverter<RevenueByProperty>
{
    public override RevenueByProperty Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Expected an object of revenue by property.");
        }

        var revenue = new RevenueByProperty(0);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString() ?? throw new JsonException("Expected a property name.");
            reader.Read();
            revenue = revenue.With(name, reader.GetDouble());
        }

        return revenue;
    }

    public override void Write(Utf8JsonWriter writer, RevenueByProperty value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber(RevenueByProperty.TotalProperty, value.Total);
        foreach (var (name, amount) in value.Others)
        {
            writer.WriteNumber(name, amount);
        }

        writer.WriteEndObject();
    }
}
