using System.Collections;
using System.Globalization;
using System.Text.Json;
using Hash = System.Collections.Generic.Dictionary<string, object?>;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Turns the render context into the plain values the Liquid engine sees: <see cref="Hash"/>, lists, strings,
/// decimals, booleans and times. Nothing else is handed over, so templates cannot reflect on CLR types.
/// </summary>
internal static class LiquidData
{
    private static readonly HashSet<string> ProfileMembers =
    [
        "id", "first_name", "last_name", "name", "email", "phone", "traits", "locale", "time_zone", "lifecycle_stage", "segments",
        "statistics", "cart", "cart_total", "cart_quantity", "wishlist", "created_at",
    ];

    private static readonly HashSet<string> EventMembers = ["id", "type", "channel", "timestamp", "properties", "context"];

    private static readonly HashSet<string> DeviceMembers = ["type", "os"];

    /// <summary>The data roots and, where the shape is fixed, their members (<see langword="null"/> for open ones).</summary>
    public static IReadOnlyDictionary<string, HashSet<string>?> Roots { get; } = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal)
    {
        ["profile"] = ProfileMembers,
        ["event"] = EventMembers,
        ["journey"] = null,
        ["now"] = null,
        ["device"] = DeviceMembers,
    };

    /// <summary>The data of a render; every time in it is on the wall clock of <paramref name="zone"/> (default UTC), as <c>now</c> is.</summary>
    /// <exception cref="RenderDataException">Data nested more than <see cref="MaxDataDepth"/> levels deep, or not convertible; its path starts at the root (<c>journey.list[0]</c>).</exception>
    public static Hash Build(RenderContext context, DateTimeOffset localNow, string? deviceType, string? os, TimeZoneInfo? zone = null) => Normalized(new()
    {
        ["profile"] = Rooted("profile", () => context.Profile is { } p ? Profile(p) : new Hash()),
        ["event"] = Rooted("event", () => context.Event is { } e ? Event(e) : new Hash()),
        ["journey"] = Rooted("journey", () => Dictionary(context.Journey, 0)),
        ["now"] = localNow,
        ["device"] = new Hash { ["type"] = deviceType, ["os"] = os },
    }, zone ?? TimeZoneInfo.Utc);

    // Decimals without trailing zeros (12.50 × 2 prints as 25, not 25.00), doubles as decimals (or as text past their range),
    // and times on the customer's wall clock, in place.
    private static Hash Normalized(Hash hash, TimeZoneInfo zone)
    {
        foreach (var key in hash.Keys.ToList())
        {
            hash[key] = Normalized(hash[key], zone);
        }

        return hash;
    }

    private static object? Normalized(object? value, TimeZoneInfo zone)
    {
        switch (value)
        {
            case decimal d:
                return d / 1.0000000000000000000000000000m;
            case double f:
                // The engine's numbers are decimals: a number past their range (a trait of 1e300), NaN or an infinity failed
                // every part that read the object or list holding it; it is its invariant text instead ("1E+300").
                return double.IsFinite(f) && Math.Abs(f) < 7.9e28 ? (decimal)f / 1.0000000000000000000000000000m : f.ToString("R", CultureInfo.InvariantCulture);
            case DateTimeOffset t:
                return OnWallClock(t, zone);
            case Hash h:
                return Normalized(h, zone);
            case List<object?> list:
                for (var i = 0; i < list.Count; i++)
                {
                    list[i] = Normalized(list[i], zone);
                }

                return list;
            default:
                return value;
        }
    }

    /// <summary>A time on the wall clock of <paramref name="zone"/>; the ends of the calendar, which have none there, stay as they are.</summary>
    internal static DateTimeOffset OnWallClock(DateTimeOffset time, TimeZoneInfo zone) =>
        time.UtcTicks > TimeSpan.TicksPerDay && time.UtcTicks < DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay ? TimeZoneInfo.ConvertTime(time, zone) : time;

    private static Hash Profile(CustomerProfile p)
    {
        Hash traits;
        try
        {
            traits = Json(Serialized(p.Traits, p.Traits.GetType())) as Hash ?? [];
        }
        catch (RenderDataException ex)
        {
            throw ex.Under(".traits");
        }

        var first = Trait(traits, "first_name", "firstName");
        var last = Trait(traits, "last_name", "lastName");
        var s = p.Statistics;
        var cart = p.Cart;
        return new Hash
        {
            ["id"] = p.Id,
            ["first_name"] = first,
            ["last_name"] = last,
            ["name"] = Trait(traits, "name") ?? (string.Join(' ', new[] { first, last }.Where(x => x is not null)) is { Length: > 0 } n ? n : null),
            ["email"] = p.IdentifierValues(IdentifierTypes.Email).FirstOrDefault() ?? Trait(traits, "email"),
            ["phone"] = p.IdentifierValues(IdentifierTypes.Phone).FirstOrDefault() ?? Trait(traits, "phone"),
            ["traits"] = traits,
            ["locale"] = p.Locale,
            ["time_zone"] = p.TimeZone,
            ["lifecycle_stage"] = p.LifecycleStage switch
            {
                LifecycleStage.Visitor => "visitor",
                LifecycleStage.Lead => "lead",
                LifecycleStage.Customer => "customer",
                _ => "repeat_customer",
            },
            ["segments"] = p.Segments.Select(m => (object?)m.SegmentId).ToList(),
            ["statistics"] = new Hash
            {
                ["order_count"] = s.OrderCount,
                ["total_spent"] = s.TotalSpent,
                ["average_order_value"] = s.AverageOrderValue,
                ["currency"] = s.Currency,
                ["loyalty_points"] = s.LoyaltyPoints,
                ["first_seen"] = s.FirstSeen,
                ["last_seen"] = s.LastSeen,
                ["first_order_at"] = s.FirstOrderAt,
                ["last_order_at"] = s.LastOrderAt,
                ["return_count"] = s.ReturnCount,
                ["event_count"] = s.EventCount,
            },
            ["cart"] = cart.Select(l => (object?)new Hash
            {
                ["product_id"] = l.ProductId,
                ["name"] = l.Name,
                ["quantity"] = l.Quantity,
                ["unit_price"] = l.UnitPrice,
                ["currency"] = l.Currency,
                ["line_total"] = l.UnitPrice * l.Quantity,
            }).ToList(),
            ["cart_total"] = cart.Sum(l => (l.UnitPrice ?? 0) * l.Quantity),
            ["cart_quantity"] = cart.Sum(l => l.Quantity),
            ["wishlist"] = p.Wishlist.Select(w => (object?)new Hash { ["product_id"] = w.ProductId, ["name"] = w.Name, ["added_at"] = w.AddedAt }).ToList(),
            ["created_at"] = p.CreatedAt,
        };
    }

    private static string? Trait(Hash traits, params string[] names)
    {
        foreach (var name in names)
        {
            if (traits.TryGetValue(name, out var v) && v is string s)
            {
                return s;
            }
        }

        return null;
    }

    private static Hash Rooted(string root, Func<Hash> build)
    {
        try
        {
            return build();
        }
        catch (RenderDataException ex)
        {
            throw ex.Under(root);
        }
    }

    private static Hash Properties(JsonElement properties)
    {
        try
        {
            return Json(properties) as Hash ?? [];
        }
        catch (RenderDataException ex)
        {
            throw ex.Under(".properties");
        }
    }

    private static Hash Event(CustomerEvent e) => new()
    {
        ["id"] = e.Id,
        ["type"] = e.Type,
        ["channel"] = e.Channel,
        ["timestamp"] = e.Timestamp,
        ["properties"] = Properties(e.Properties),
        ["context"] = e.Context is { } c
            ? new Hash
            {
                ["device_type"] = c.DeviceType,
                ["os"] = c.Os,
                ["locale"] = c.Locale,
                ["time_zone"] = c.TimeZone,
                ["country"] = c.Country,
                ["city"] = c.City,
                ["campaign"] = c.Campaign,
                ["utm_source"] = c.UtmSource,
                ["utm_medium"] = c.UtmMedium,
            }
            : new Hash(),
    };

    /// <summary>
    /// The deepest nesting of objects and lists a render's data may have. The conversion recurses: data nested thousands of
    /// levels deep (a <see cref="JsonElement"/> the host parsed with a high <c>MaxDepth</c>, a dictionary that holds
    /// itself) overflowed the stack and ended the process; past this depth the render fails with the path instead.
    /// </summary>
    internal const int MaxDataDepth = 64;

    private static Hash Dictionary(IEnumerable<KeyValuePair<string, object?>> values, int depth)
    {
        Deeper(depth);
        var hash = new Hash();
        foreach (var (key, value) in values)
        {
            try
            {
                hash[key] = Value(value, depth + 1);
            }
            catch (RenderDataException ex)
            {
                throw ex.Under("." + key);
            }
        }

        return hash;
    }

    private static List<object?> List(IEnumerable<object?> values, int depth)
    {
        Deeper(depth);
        var list = new List<object?>();
        foreach (var value in values)
        {
            try
            {
                list.Add(Value(value, depth + 1));
            }
            catch (RenderDataException ex)
            {
                throw ex.Under($"[{list.Count}]");
            }
        }

        return list;
    }

    private static void Deeper(int depth)
    {
        if (depth >= MaxDataDepth)
        {
            throw new RenderDataException($"is nested more than {MaxDataDepth} levels deep");
        }
    }

    // Host values: primitives pass, containers are converted, anything else goes through JSON (public data only).
    internal static object? Value(object? value, int depth = 0) => value switch
    {
        null => null,
        string or bool or decimal or DateTimeOffset => value,
        DateTime d => new DateTimeOffset(d.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(d, DateTimeKind.Utc) : d),
        int or long or short or byte or uint or ulong or ushort or sbyte => Convert.ToDecimal(value, CultureInfo.InvariantCulture),
        double or float => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        Enum => value.ToString(),
        JsonElement j => Json(j, depth),
        System.Text.Json.Nodes.JsonNode n => Json(Serialized(n, typeof(System.Text.Json.Nodes.JsonNode)), depth),
        IEnumerable<KeyValuePair<string, object?>> d => Dictionary(d, depth),
        IDictionary d => Dictionary(d.Keys.Cast<object>().Select(k => new KeyValuePair<string, object?>(Convert.ToString(k, CultureInfo.InvariantCulture) ?? string.Empty, d[k])), depth),
        IEnumerable list => List(list.Cast<object?>(), depth),
        _ => Json(Serialized(value, value.GetType()), depth),
    };

    // A host object through JSON; one the serializer refuses (a cycle, nesting past its depth, a type it cannot write)
    // fails the render with its path rather than escaping it as a JsonException.
    private static JsonElement Serialized(object value, Type type)
    {
        try
        {
            return JsonSerializer.SerializeToElement(value, type);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            throw new RenderDataException("could not be converted to template data (" + ex.GetType().Name + ")");
        }
    }

    internal static object? Json(JsonElement element, int depth = 0)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                Deeper(depth);
                var hash = new Hash();
                foreach (var p in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new RenderDataException("has a key that cannot be decoded (a lone surrogate)");
                    }

                    try
                    {
                        hash[name] = Json(p.Value, depth + 1);
                    }
                    catch (RenderDataException ex)
                    {
                        throw ex.Under("." + name);
                    }
                }

                return hash;
            case JsonValueKind.Array:
                Deeper(depth);
                var list = new List<object?>();
                foreach (var item in element.EnumerateArray())
                {
                    try
                    {
                        list.Add(Json(item, depth + 1));
                    }
                    catch (RenderDataException ex)
                    {
                        throw ex.Under($"[{list.Count}]");
                    }
                }

                return list;
            case JsonValueKind.String:
                try
                {
                    return element.GetString();
                }
                catch (InvalidOperationException)
                {
                    // A lone surrogate escape ("\udc00"): the InvalidOperationException escaped Render.
                    throw new RenderDataException("is text that cannot be decoded (a lone surrogate)");
                }

            case JsonValueKind.Number:
                return element.TryGetDecimal(out var d) ? d : element.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}

/// <summary>Render data that cannot be given to a template (nested too deep, not convertible), with the path to it.</summary>
internal sealed class RenderDataException(string reason) : InvalidOperationException(reason)
{
    private string _path = string.Empty;

    /// <summary>The path below the data root (<c>.list[0].a</c>).</summary>
    public string Path => _path;

    /// <summary>The reason alone (<see cref="Exception.Message"/> without the path).</summary>
    public string Reason { get; } = reason;

    /// <summary>Prefixes <paramref name="segment"/> to the path (the conversion unwinds from the deepest level up).</summary>
    public RenderDataException Under(string segment)
    {
        _path = segment + _path;
        return this;
    }
}
