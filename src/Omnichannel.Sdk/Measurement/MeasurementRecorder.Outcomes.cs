using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Measurement;

// Outcomes of messages (sent, delivered, opened, clicked, bounced, failed…): each updates its touch, and an outcome
// missing what its touch knows (journey, step, variant, template) gains it, so its timeline entry and rows name them.
internal static partial class MeasurementRecorder
{
    /// <summary>
    /// A report on a message (sent, delivered, failed, bounced, opened, clicked, replied, unsubscribed, complained) read
    /// against the message this profile holds (audit U77):
    /// <list type="bullet">
    /// <item>one naming only the provider's id (<c>provider_message_id</c>, what the transport answered and
    /// <c>message.sent</c> carries; Twilio's MessageSid) and no <c>message_id</c> is given the key of the message handed
    /// over under that id, so it counts, is enriched and suppresses as one naming the key does;</item>
    /// <item>one naming no messaging channel (posted on <c>server</c>) gains the channel its message went on: a complaint
    /// naming only its message withdraws that channel, not every one.</item>
    /// </list>
    /// Any other event, and a report of a message this profile does not hold, is returned as it is.
    /// </summary>
    internal static CustomerEvent OfItsMessage(CustomerProfile p, CustomerEvent e)
    {
        if (!ProfileCore.NamesAnAddressOfAMessage(e.Type) || e.Properties.ValueKind != JsonValueKind.Object || p.Touches.Count == 0)
        {
            return e;
        }

        var key = WellKnownProperties.String(e.Properties, "message_id");
        int index;
        if (key is null)
        {
            if (WellKnownProperties.String(e.Properties, "provider_message_id") is not { Length: > 0 } providerId
                || (index = p.Touches.FindIndex(t => string.Equals(t.ProviderId, providerId, StringComparison.Ordinal))) < 0)
            {
                return e;
            }

            key = p.Touches[index].Key;
            var node = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
            node["message_id"] = key;
            e = e with { Properties = JsonSerializer.SerializeToElement(node) };
        }
        else if ((index = Touch.IndexOf(p.Touches, key)) < 0)
        {
            return e;
        }

        var touch = p.Touches[index];
        if (WellKnownProperties.String(e.Properties, "channel") is null && OutcomeProperties.MessagingChannel(e.Channel) is null && touch.Channel.Length > 0)
        {
            // A complaint naming only its message (no channel; posted on "server") is about the channel that message went
            // on, as the documentation says; it withdrew every channel instead (an SMS complaint stopped her email).
            var node = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
            node["channel"] = touch.Channel;
            e = e with { Properties = JsonSerializer.SerializeToElement(node) };
        }

        return e;
    }

    private static CustomerEvent OnOutcome(CustomerProfile p, CustomerEvent e, MeasurementOptions options)
    {
        var props = e.Properties;
        if (props.ValueKind != JsonValueKind.Object || WellKnownProperties.String(props, "message_id") is not { } key)
        {
            return e;
        }

        var index = Touch.IndexOf(p.Touches, key);

        // A message the host sent itself: its touch starts with this outcome, with what the event says of it.
        var touch = index >= 0 ? p.Touches[index] : new Touch
        {
            Key = key,
            Channel = WellKnownProperties.String(props, "channel") ?? e.Channel,
            JourneyId = WellKnownProperties.String(props, "journey_id"),
            StepId = WellKnownProperties.String(props, "step_id"),
            Variant = WellKnownProperties.String(props, "variant"),
            TemplateId = WellKnownProperties.String(props, "template_id"),
            QueuedAt = e.Timestamp,
        };

        // Review of U84: the address a report names (normalised) is where the host's message went, so its delivery, open or
        // click reaches that address only: a report about her old address no longer ends a soft-bounce run of her new one.
        if (touch.SentTo is null && OutcomeProperties.Address(props, touch.Channel) is { } named
            && string.Equals(WellKnownProperties.String(props, "channel") ?? e.Channel, touch.Channel, StringComparison.Ordinal))
        {
            touch = touch with { SentTo = named };
        }

        var at = e.Timestamp;
        if (at < touch.QueuedAt)
        {
            touch = touch with { QueuedAt = at }; // outcomes of a host's message may arrive out of order
        }

        // The earliest instant of each outcome stands, whatever the arrival order; it is counted once per message
        // (unique opens and clicks).
        DateTimeOffset Earliest(DateTimeOffset? known) => known is { } k && k <= at ? k : at;
        DateTimeOffset Latest(DateTimeOffset? known) => known is { } k && k >= at ? k : at;
        string? metric = null;
        var counting = touch; // the touch its count was kept under
        DateTimeOffset? counted = null; // the instant the outcome was counted at, when this copy of it is earlier
        DateTimeOffset? Later(DateTimeOffset? known) => known is { } k && k > at ? k : null;
        switch (e.Type)
        {
            case EventTypes.MessageSent:
                metric = touch.SentAt is null ? MeasurementMetrics.Sent : null;
                counted = Later(touch.SentAt);
                // A fallback may have changed the channel; a later copy of a sent message does not (its count stays
                // under the channel of the copy that counts, the earliest).
                touch = touch with
                {
                    Channel = touch.SentAt is null || at < touch.SentAt ? WellKnownProperties.String(props, "channel") ?? touch.Channel : touch.Channel,
                    SentAt = Earliest(touch.SentAt),
                };
                break;
            case EventTypes.MessageDelivered:
                metric = touch.DeliveredAt is null ? MeasurementMetrics.Delivered : null;
                counted = Later(touch.DeliveredAt);
                touch = touch with { DeliveredAt = Earliest(touch.DeliveredAt), ReachedAt = Latest(touch.ReachedAt) };
                break;
            case EventTypes.MessageOpened:
                metric = touch.OpenedAt is null ? MeasurementMetrics.Opened : null;
                counted = Later(touch.OpenedAt);
                touch = touch with { OpenedAt = Earliest(touch.OpenedAt), ReachedAt = Latest(touch.ReachedAt) };
                break;
            case EventTypes.MessageClicked:
                metric = touch.ClickedAt is null ? MeasurementMetrics.Clicked : null;
                counted = Later(touch.ClickedAt);
                touch = touch with { ClickedAt = Earliest(touch.ClickedAt), ReachedAt = Latest(touch.ReachedAt), Reported = touch.WithReported(Touch.OutcomeDetail(e)) };
                break;
            case EventTypes.MessageUnsubscribed:
                metric = touch.UnsubscribedAt is null ? MeasurementMetrics.Unsubscribed : null;
                counted = Later(touch.UnsubscribedAt);
                touch = touch with { UnsubscribedAt = Earliest(touch.UnsubscribedAt), Reported = touch.WithReported(Touch.OutcomeDetail(e)) };
                break;
            case EventTypes.MessageBounced:
                // Once per message, like the other outcomes: a provider's webhook sent again (or a soft bounce, then a hard
                // one) is one bounced message, not two.
                metric = touch.BouncedAt is null ? MeasurementMetrics.Bounced : null;
                counted = Later(touch.BouncedAt);
                touch = touch with { BouncedAt = Earliest(touch.BouncedAt), FailedAt = Latest(touch.FailedAt) }; // what was sent before it never arrived: no credit
                break;
            case EventTypes.MessageFailed:
                // Once per message too: a provider's failure callback retried (with a new event id) is one failed message.
                metric = touch.FailureReportedAt is null ? MeasurementMetrics.Failed : null;
                counted = Later(touch.FailureReportedAt);
                touch = touch with { FailureReportedAt = Earliest(touch.FailureReportedAt), FailedAt = Latest(touch.FailedAt) };
                break;
        }

        // Compared only when there are kept orders to re-credit: every outcome of every message passes here.
        var changed = p.OrderConversions.Count > 0 ? FirstChangedPoint(index < 0 ? null : p.Touches[index], touch) : null;
        if (index < 0)
        {
            p.Touches.Add(touch);
        }
        else if (touch != p.Touches[index])
        {
            p.Touches[index] = touch;
        }

        if (changed is { } from)
        {
            Reattribute(p, from, options); // a late outcome counts for the orders it preceded, as if it had come first
        }

        if (metric is not null)
        {
            p.PendingMeasurements.Add(MeasurementKey.Of(touch.JourneyId, touch.StepId, touch.Variant, touch.Channel, touch.TemplateId, at, metric, options), 1);
        }
        else if (counted is { } was && CountedMetric(e.Type) is { } name
            && MeasurementKey.Of(counting.JourneyId, counting.StepId, counting.Variant, counting.Channel, counting.TemplateId, was, name, options) is var before
            && MeasurementKey.Of(touch.JourneyId, touch.StepId, touch.Variant, touch.Channel, touch.TemplateId, at, name, options) is var after
            && before != after)
        {
            // An earlier copy of an outcome already counted (a webhook retried, a late first attempt): its earliest
            // instant stands, so its count moves to that day, as a merge keeps it (whatever the arrival order); a sent
            // copy naming another channel moves it there too (the row it was counted under is the one it leaves).
            p.PendingMeasurements.Add(before, -1);
            p.PendingMeasurements.Add(after, 1);
        }

        return Enrich(e, touch);
    }

    // A machine's open or click: its touch is left as it was (audit U82); the event names the touch's journey and step.
    private static CustomerEvent OfMachine(CustomerProfile p, CustomerEvent e) =>
        WellKnownProperties.String(e.Properties, "message_id") is { } key && Touch.IndexOf(p.Touches, key) is var i and >= 0 ? Enrich(e, p.Touches[i]) : e;

    private static string? CountedMetric(string type) => type switch
    {
        EventTypes.MessageSent => MeasurementMetrics.Sent,
        EventTypes.MessageDelivered => MeasurementMetrics.Delivered,
        EventTypes.MessageOpened => MeasurementMetrics.Opened,
        EventTypes.MessageClicked => MeasurementMetrics.Clicked,
        EventTypes.MessageUnsubscribed => MeasurementMetrics.Unsubscribed,
        EventTypes.MessageBounced => MeasurementMetrics.Bounced,
        EventTypes.MessageFailed => MeasurementMetrics.Failed,
        _ => null,
    };

    // The outcome event carries its touch's attribution data (what the host sent is kept).
    private static CustomerEvent Enrich(CustomerEvent e, Touch touch)
    {
        // Most outcomes already carry what their touch knows (a send outside journeys knows only its channel): no parse.
        bool Missing(string name, string? value) =>
            value is not null && !(e.Properties.ValueKind == JsonValueKind.Object && e.Properties.TryGetProperty(name, out _));
        if (!Missing("channel", touch.Channel) && !Missing("journey_id", touch.JourneyId) && !Missing("step_id", touch.StepId)
            && !Missing("variant", touch.Variant) && !Missing("template_id", touch.TemplateId))
        {
            return e;
        }

        // The event's properties, then what the touch adds that they lack: written once, read once (no node tree).
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (e.Properties.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in e.Properties.EnumerateObject())
                {
                    property.WriteTo(w);
                }
            }

            void Add(string name, string? value)
            {
                if (Missing(name, value))
                {
                    w.WriteString(name, value);
                }
            }

            Add("channel", touch.Channel);
            Add("journey_id", touch.JourneyId);
            Add("step_id", touch.StepId);
            Add("variant", touch.Variant);
            Add("template_id", touch.TemplateId);
            w.WriteEndObject();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return e with { Properties = JsonElement.ParseValue(ref reader) };
    }
}
