using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>Reads and checks the properties that the engine interprets for well-known event types.</summary>
internal static class WellKnownProperties
{
    public static void Validate(string type, JsonElement p, List<ValidationError> errors)
    {
        switch (type)
        {
            case EventTypes.CartItemAdded:
                RequireString(p, "product_id", errors);
                Number(p, "quantity", errors, positive: true);
                Number(p, "price", errors);
                break;
            case EventTypes.CartItemRemoved:
                RequireString(p, "product_id", errors);
                Number(p, "quantity", errors, positive: true);
                break;
            case EventTypes.WishlistItemAdded:
            case EventTypes.WishlistItemRemoved:
                RequireString(p, "product_id", errors);
                break;
            case EventTypes.OrderPlaced:
            case EventTypes.OrderReturned:
            case EventTypes.CheckoutStarted:
                Number(p, "total", errors);
                break;
            case EventTypes.LoyaltyPointsEarned:
            case EventTypes.LoyaltyPointsRedeemed:
                if (!p.TryGetProperty("points", out _))
                {
                    errors.Add(new("properties.points", "is required"));
                }

                Number(p, "points", errors);
                break;
            case EventTypes.ConsentChanged:
                RequireString(p, "channel", errors);
                if (!p.TryGetProperty("granted", out var g) || g.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add(new("properties.granted", "is required and must be true or false"));
                }

                break;
            case EventTypes.MessageUnsubscribed:
                RequireString(p, "channel", errors);
                break;
            case EventTypes.PreferencesUpdated:
                if (p.TryGetProperty("period", out var period) && TryDuration(period) is null)
                {
                    errors.Add(new("properties.period", "must be an ISO 8601 duration such as P7D"));
                }

                Number(p, "max_messages", errors, positive: true);
                break;
        }
    }

    public static string? String(JsonElement p, string name) =>
        p.ValueKind == JsonValueKind.Object && p.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Number => v.GetRawText(),
                _ => null,
            }
            : null;

    public static decimal? Decimal(JsonElement p, string name)
    {
        if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty(name, out var v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetDecimal(out var d) => d,
            JsonValueKind.String when decimal.TryParse(v.GetString(), System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        };
    }

    public static bool? Bool(JsonElement p, string name) =>
        p.ValueKind == JsonValueKind.Object && p.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    public static TimeSpan? TryDuration(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            var d = System.Xml.XmlConvert.ToTimeSpan(v.GetString()!);
            return d > TimeSpan.Zero ? d : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static void RequireString(JsonElement p, string name, List<ValidationError> errors)
    {
        if (string.IsNullOrWhiteSpace(String(p, name)))
        {
            errors.Add(new($"properties.{name}", "is required"));
        }
    }

    private static void Number(JsonElement p, string name, List<ValidationError> errors, bool positive = false)
    {
        if (!p.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        var d = Decimal(p, name);
        if (d is null)
        {
            errors.Add(new($"properties.{name}", $"must be a number, not {v.ValueKind.ToString().ToLowerInvariant()}"));
        }
        else if (positive && d <= 0)
        {
            errors.Add(new($"properties.{name}", "must be greater than zero"));
        }
    }
}
