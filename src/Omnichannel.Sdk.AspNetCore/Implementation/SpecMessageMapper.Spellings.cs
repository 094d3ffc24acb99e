using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// Names as tracking clients spell them: Spec event names in other spellings, identifier traits in another case, the
// Spec's e-commerce property names (and the other names clients send them under) as the SDK reads them.
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

    // The Spec's Email events (https://segment.com/docs/connections/spec/email/), as the matcher reads their names (folded,
    // a two-word name's words either way round) → the type TrackingMapping.TrackEvents maps them to by default.
    private static readonly Dictionary<string, string> EmailSpecEvents = FoldedTrackEvents(new Dictionary<string, string>(TrackingMapping.EmailSpecEvents, StringComparer.Ordinal));

    // Channels a message outcome may name instead of email (an `Unsubscribed` an SMS tool sends with `channel: "sms"`).
    private static readonly string[] MessagingChannels = [ChannelNames.Email, ChannelNames.Sms, ChannelNames.WhatsApp, ChannelNames.Push, ChannelNames.InApp];

    /// <summary>
    /// An Email event of the Spec mapped to its default type is about an email (the Spec's category): <c>channel</c> is
    /// <c>email</c> unless it names another messaging channel (left as any other value, a complaint on <c>web</c> would
    /// withdraw nothing of email), <c>message_id</c> is <c>email_id</c> when it has none, a click's <c>url</c> is
    /// <c>link_url</c>, and a blank <c>bounce_type</c> (a template's nil) is none. A bounce type in the words email tools
    /// use is read as the engine's (<see cref="BounceTypeWords"/>); any other is left out (an untyped bounce, which
    /// suppresses nothing) and listed in <paramref name="leftOut"/> rather than refusing the report. A name a shop mapped to
    /// another type is left as it mapped it.
    /// </summary>
    private void ApplyEmailSpec(string name, string eventType, JsonObject p, List<ValidationError> leftOut)
    {
        if (FoldedEventName(name) is not { } folded || !EmailSpecEvents.TryGetValue(folded, out var type) || type != eventType)
        {
            return;
        }

        if (!(p["channel"] is JsonValue channel && channel.TryGetValue<string>(out var named)
            && (Array.IndexOf(MessagingChannels, named.Trim().ToLowerInvariant()) >= 0 || IsCustomChannel(named.Trim().ToLowerInvariant()))))
        {
            p["channel"] = ChannelNames.Email;
        }

        // The Spec's id of the email: the SDK's own message key when the tool sent the SDK's message and echoes its key,
        // otherwise a message of the host's own (the engine counts it once and attributes nothing of the SDK's to it).
        if (NoValue(p["message_id"]) && p["email_id"] is JsonValue emailId
            && (emailId.GetValueKind() == JsonValueKind.Number || (emailId.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text))))
        {
            p["message_id"] = emailId.DeepClone();
        }

        if (eventType == EventTypes.MessageClicked)
        {
            FirstOf(p, NoValue, "url", "link_url");
        }

        if (eventType == EventTypes.MessageBounced)
        {
            foreach (var key in (ReadOnlySpan<string>)["bounce_type", "bounce"])
            {
                if (!p.ContainsKey(key))
                {
                    continue;
                }

                if (NoValue(p[key]))
                {
                    p.Remove(key);
                }
                else if (p[key] is JsonValue v && v.TryGetValue<string>(out var word)
                    && BounceTypeWords.TryGetValue(new string([.. word.Where(char.IsLetter)]), out var bounceType))
                {
                    p[key] = bounceType;
                }
                else
                {
                    p.Remove(key);
                    leftOut.Add(new("properties." + key, "is not a bounce type the SDK knows (hard or soft, or Permanent/Transient, HardBounce/SoftBounce…); the bounce was recorded without one, so it suppresses nothing"));
                }
            }
        }
    }

    // Bounce types in the words of email tools and their webhooks (letters only, any case): Amazon SES's Permanent and
    // Transient, Mailgun's permanent and temporary, Postmark's HardBounce and SoftBounce, and the engine's own hard/soft.
    // Undetermined and anything else stay unknown: a guess of "hard" would suppress a good address for good.
    private static readonly Dictionary<string, string> BounceTypeWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["hard"] = "hard",
        ["permanent"] = "hard",
        ["hardbounce"] = "hard",
        ["soft"] = "soft",
        ["transient"] = "soft",
        ["temporary"] = "soft",
        ["softbounce"] = "soft",
    };

    // A channel of the host's own (LINE, Telegram): an identifier type it registered that is not a built-in one, as the
    // engine reads a custom channel (its transport may be another process's). Replaced by email, an opt-out her LINE tool
    // reported withdrew her email consent and left LINE's.
    private bool IsCustomChannel(string channel) =>
        _identity is not null && _identity.Rules.ContainsKey(channel)
        && channel is not (IdentifierTypes.CustomerId or IdentifierTypes.Email or IdentifierTypes.Phone or IdentifierTypes.AnonymousId
            or IdentifierTypes.DeviceId or IdentifierTypes.LoyaltyCard);

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

    /// <summary>The Spec's e-commerce property names → the ones the SDK reads.</summary>
    private static void ApplyWellKnown(string eventType, JsonObject p)
    {
        switch (eventType)
        {
            case EventTypes.CartItemAdded or EventTypes.CartItemRemoved or EventTypes.WishlistItemAdded
                or EventTypes.WishlistItemRemoved or EventTypes.ProductViewed:
                // Spec: product_id, else sku ("Database id / SKU of the product"); Segment's own reader (segmentio/facade,
                // productId(), cartId()) also takes the camelCase names, and the v1 spec named the product `id`.
                // A product id of white space is none either (the engine requires one that is not blank).
                FirstOf(p, NoValue, "product_id", "productId", "sku", "id");
                FirstOf(p, Missing, "cart_id", "cartId");
                NoBlankNumber(p, "price");
                NoBlankNumber(p, "quantity");
                break;
            case EventTypes.OrderPlaced or EventTypes.OrderReturned or EventTypes.CheckoutStarted:
                // Spec: order_id; facade's orderId() reads id, order_id and orderId (the v1 spec's `Completed Order {orderId}`).
                FirstOf(p, Missing, "order_id", "orderId", "id");

                // Spec: total, else revenue, else value; a blank one is none (facade's `||`), so a template's '' for nil
                // neither hides the next one nor refuses the order.
                NoBlankNumber(p, "revenue");
                NoBlankNumber(p, "value");
                if (NoValue(p["total"]) && (p["revenue"] ?? p["value"]) is { } total)
                {
                    p["total"] = total.DeepClone();
                }

                NoBlankNumber(p, "total");
                if (p["items"] is null && p["products"] is JsonArray products)
                {
                    p["items"] = products.DeepClone();
                }

                break;
            case EventTypes.OrderCancelled:
                FirstOf(p, Missing, "order_id", "orderId", "id");
                break;
        }

        if (p["currency"] is JsonValue currency && currency.TryGetValue<string>(out var code))
        {
            // A template's nil rendered as '' (or spaces) names no currency, as a missing one: the shop's is taken, not
            // the event refused (facade's currency() passes over a blank too).
            if (string.IsNullOrWhiteSpace(code))
            {
                p.Remove("currency");
            }
            else
            {
                p["currency"] = code.Trim().ToUpperInvariant();
            }
        }
    }

    // Missing, null or "" (what JavaScript's `||` passes over). White space is a value: a blank " " order_id is an id.
    private static bool Missing(JsonNode? value) => value is null || (value is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0);

    // Missing, null, or text of white space only: no amount.
    private static bool NoValue(JsonNode? value) => value is null || (value is JsonValue v && v.TryGetValue<string>(out var text) && string.IsNullOrWhiteSpace(text));

    // The first of the other names present puts its value under the first name, when that one is missing.
    private static void FirstOf(JsonObject p, Func<JsonNode?, bool> missing, string name, params string[] others)
    {
        if (!missing(p[name]))
        {
            return;
        }

        foreach (var other in others)
        {
            if (!missing(p[other]))
            {
                p[name] = p[other]!.DeepClone();
                return;
            }
        }
    }

    // A number left blank (a template's nil rendered as '') is no number: left out rather than refusing the event.
    private static void NoBlankNumber(JsonObject p, string name)
    {
        if (p[name] is JsonValue v && NoValue(v))
        {
            p.Remove(name);
        }
    }
}
