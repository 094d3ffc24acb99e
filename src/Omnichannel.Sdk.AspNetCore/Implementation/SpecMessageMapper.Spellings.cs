using System.Text.Json;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// Names as tracking clients spell them: Spec event names in other spellings, identifier traits in another case.
internal sealed partial class SpecMessageMapper
{
    // Segment's own event matcher (segmentio/analytics-events) takes a Spec event with its words in either order (the v1
    // spec's "Completed Order") and joined by a space, an underscore or nothing ("order_completed", as RudderStack and
    // PostHog name events): such an order was a custom event, counted nowhere. Exact names win over folded ones, and
    // a table name's own fold over another's swapped words; only two-word names are also read the other way round.
    private static Dictionary<string, string> FoldedTrackEvents(IDictionary<string, string> table)
    {
        var folded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, type) in table)
        {
            if (FoldedEventName(name) is { } key)
            {
                folded.TryAdd(key, type);
            }
        }

        foreach (var (name, type) in table)
        {
            if (name.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var first, var second] && FoldedEventName(second + " " + first) is { } key)
            {
                folded.TryAdd(key, type);
            }
        }

        return folded;
    }

    // "Order Completed", "order_completed", "OrderCompleted" → "ordercompleted".
    private static string? FoldedEventName(string name) => Names.NormalizeCustom(name, null)?.Replace("_", "", StringComparison.Ordinal);

    private static string? StrIgnoringCase(JsonElement obj, string name) => StrIgnoringCase(obj, name, out _);

    /// <summary>As <see cref="StrIgnoringCase(JsonElement, string)"/>, with the key as the message spells it (<paramref name="name"/> when none matched).</summary>
    private static string? StrIgnoringCase(JsonElement obj, string name, out string key)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase) && Str(obj, p.Name) is { } value)
            {
                key = p.Name;
                return value;
            }
        }

        key = name;
        return null;
    }
}
