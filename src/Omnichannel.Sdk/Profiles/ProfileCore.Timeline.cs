using System.Text.Json;

namespace Omnichannel.Sdk;

// The timeline: one entry per interaction on any channel, in event-time order, at most the configured length (the
// oldest dropped first), with a short summary of what happened.
internal static partial class ProfileCore
{
    internal static void AddTimeline(CustomerProfile p, TimelineEntry entry, int length)
    {
        var list = p.TimelineEntries;
        for (var k = 0; k < list.Count; k++) // no lambda: its closure would be made on every event
        {
            if (list[k].EventId == entry.EventId)
            {
                return;
            }
        }

        static bool After(TimelineEntry a, TimelineEntry b) => Stamp.Newer(a.Timestamp, a.EventId, b.Timestamp, b.EventId);
        if (list.Count >= length && list.Count > 0 && After(list[0], entry))
        {
            return;
        }

        var i = list.Count;
        while (i > 0 && After(list[i - 1], entry))
        {
            i--;
        }

        list.Insert(i, entry);
        if (list.Count > length)
        {
            list.RemoveRange(0, list.Count - length);
        }
    }

    /// <summary>The longest timeline summary, in UTF-16 code units (an ellipsis follows a cut one).</summary>
    internal const int MaxSummaryLength = 200;

    // Audit U34: a summary quotes her values (a product's name, a search), which may be as long as an event allows
    // (32 KiB): copied whole into each of the timeline's entries, 200 views of such a product made a 6 MB profile that
    // every commit wrote again. Cut, keeping a surrogate pair whole; the event itself is applied as it was.
    private static string? Summarize(CustomerEvent e) => Cut(SummarizeWhole(e));

    internal static string? Cut(string? s) => s is null ? null : TextCut.Prefix(s, MaxSummaryLength);

    private static string? SummarizeWhole(CustomerEvent e)
    {
        var p = e.Properties;
        string? Get(string name) => WellKnownProperties.String(p, name);
        return e.Type switch
        {
            EventTypes.OrderPlaced or EventTypes.OrderReturned => OrderSummary(p),
            EventTypes.CartItemAdded or EventTypes.CartItemRemoved or EventTypes.ProductViewed or EventTypes.WishlistItemAdded or EventTypes.WishlistItemRemoved =>
                Join(Get("name") ?? Get("product_id"), Get("quantity") is { } q ? "x" + q : null),
            EventTypes.ProductSearched => Get("query") is { } query ? $"\"{query}\"" : null,
            EventTypes.ConsentChanged => $"{Get("channel")}/{Get("topic") ?? "*"} {(WellKnownProperties.Bool(p, "granted") == true ? "granted" : "denied")}",
            EventTypes.NewsletterSubscribed or EventTypes.NewsletterUnsubscribed =>
                $"{Get("channel") ?? ChannelNames.Email}/{Get("topic") ?? "newsletter"} {(e.Type == EventTypes.NewsletterSubscribed ? "granted" : "denied")}",
            EventTypes.SupportTicketOpened or EventTypes.SupportTicketResolved => Join($"ticket {Get("ticket_id")}", Get("subject")),
            EventTypes.LoyaltyPointsEarned or EventTypes.LoyaltyPointsRedeemed => $"{Get("points")} points",
            _ when e.Type.StartsWith("order.", StringComparison.Ordinal) => Get("order_id") is { } o ? $"order {o}" : null,
            // A provider's reason often quotes the address ("550 <ann@…>: user unknown"), and it may be someone else's: it is
            // kept without addresses or phone numbers, as DeliveryResult keeps its reasons.
            EventTypes.MessageReplied => SmsReplyKeywords.Summary(p), // the keyword class, never what she wrote
            // Audit U82: the timeline says it happened, and that a machine did it ("email, machine (sendgrid)").
            EventTypes.MessageOpened or EventTypes.MessageClicked when MachineEngagement.Is(e) =>
                Join(Get("channel"), $"machine ({Get(MachineEngagement.ReasonProperty) ?? "reported"})"),
            _ when e.Type.StartsWith("message.", StringComparison.Ordinal) => Join(Get("channel"), Privacy.PersonalDataScrubber.Scrub(Get("reason"))),
            _ => null,
        };
    }

    // "order <id>, <total> <currency>" ("order, <total> <currency>" without an id): made in one piece when its parts need no trimming (every order event summarises).
    private static string? OrderSummary(JsonElement p)
    {
        // "order" alone when no order_id came (a tracking call may send none): not "order , 10 EUR".
        var orderId = WellKnownProperties.String(p, "order_id") is { } id && !string.IsNullOrWhiteSpace(id) ? id : "";
        var space = orderId.Length == 0 ? "" : " ";
        // An amount as it was sent (19.90 stays "19.90"): the one text of an id (NumericKey) is no way to show money.
        var total = p.ValueKind == JsonValueKind.Object && p.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number
            ? t.GetRawText() : WellKnownProperties.String(p, "total");
        var currency = total is null ? null : WellKnownProperties.String(p, "currency");
        if (total is { Length: > 0 } && !char.IsWhiteSpace(total[0])
            && (currency is null ? !char.IsWhiteSpace(total[^1]) : currency.Length > 0 && !char.IsWhiteSpace(currency[^1])))
        {
            return currency is null ? string.Concat("order", space, orderId, ", ", total) : string.Concat("order", space, orderId, ", ", total, " ", currency);
        }

        return Join(string.Concat("order", space, orderId), total is null ? null : $"{total} {currency}".Trim());
    }

    // The parts that say something, joined with ", "; null when neither does.
    private static string? Join(string? first, string? second)
    {
        var hasFirst = !string.IsNullOrWhiteSpace(first);
        var hasSecond = !string.IsNullOrWhiteSpace(second);
        return hasFirst && hasSecond ? first + ", " + second : hasFirst ? first : hasSecond ? second : null;
    }
}
