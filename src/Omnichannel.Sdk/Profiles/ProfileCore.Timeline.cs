using System.Text.Json;

namespace Omnichannel.Sdk;

// The timeline: one entry per interaction on any channel, in event-time order, with a short summary of what happened.
// Audit U100: two kinds of entry share the list and each keeps at most the configured length (its oldest dropped
// first): her events (what was tracked) and the engine's own entries (segment transitions, journey steps, messages
// queued or skipped: made when events are processed, as many as the arrival order makes). Under one cap the engine's
// entries took places from her events, so which of her events the timeline (and the export's consent history read
// from it) kept depended on arrival order and on merges.
internal static partial class ProfileCore
{
    internal static void AddTimeline(CustomerProfile p, TimelineEntry entry, int length)
    {
        var list = p.TimelineEntries;
        var engine = IsEngineEntry(entry);
        var counted = list.Count >= length; // a shorter list holds fewer than the cap of either kind: nothing to count
        var sameKind = 0;
        var oldestOfKind = -1;
        for (var k = 0; k < list.Count; k++) // no lambda: its closure would be made on every event
        {
            var other = list[k];
            if (other.MayHaveId(entry) && other.EventId == entry.EventId)
            {
                return;
            }

            if (counted && other.IsEngine == engine)
            {
                sameKind++;
                oldestOfKind = oldestOfKind < 0 ? k : oldestOfKind;
            }
        }

        static bool After(TimelineEntry a, TimelineEntry b) => Stamp.Newer(a.Timestamp, a.EventId, b.Timestamp, b.EventId);
        if (sameKind >= length && oldestOfKind >= 0 && After(list[oldestOfKind], entry))
        {
            return;
        }

        var i = list.Count;
        while (i > 0 && After(list[i - 1], entry))
        {
            i--;
        }

        list.Insert(i, entry);
        for (var over = sameKind + 1 - length; over > 0; over--)
        {
            // The oldest of its kind goes: the list's front when the oldest entry is of this kind, else from within.
            for (var k = 0; k < list.Count; k++)
            {
                if (IsEngineEntry(list[k]) == engine)
                {
                    list.RemoveAt(k);
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Whether a timeline entry is the engine's own (a segment transition, a journey's step, entry refusal or conversion,
    /// a message queued, or skipped by the planner) rather than one of her tracked events: each kind keeps its own
    /// <see cref="OmnichannelOptions.TimelineLength"/>. Read from the entry alone, so a stored document is read the same.
    /// </summary>
    internal static bool IsEngineEntry(TimelineEntry t) => t.IsEngine;

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
