using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk;

// One-click unsubscribe (RFC 8058): the link and headers of a marketing email, and the POST that records it.
public sealed partial class OmnichannelEngine
{
    /// <inheritdoc />
    public async ValueTask<UnsubscribeStatus> UnsubscribeAsync(string token, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(token);
        if (UnsubscribeToken.Read(_hasher, token) is not { } link)
        {
            return UnsubscribeStatus.InvalidToken;
        }

        var properties = new Dictionary<string, object?> { ["message_id"] = link.MessageKey, ["channel"] = link.Channel };
        if (link.Topic is { } topic)
        {
            properties["topic"] = topic;
        }

        var result = await EnqueueProfileWork(link.ProfileId, async (p, now) =>
        {
            // A refusal this very link recorded (or a provider's report of an unsubscribe from the same message) stands: a
            // repeated click or a mail client's retry records nothing. Any other refusal in force (a complaint, a preference
            // centre's "no") does not: the click is her newest decision, and a grant stamped before it but arriving after it
            // (a late batch) must not outrank it, as it did when the click recorded nothing (audit U66). "Unsubscribe from
            // all" is recorded too while a topic she opted back into since reads granted (audit U66). The event id names
            // the decision the click answers, so the same link clicked again after she opted back in records a new
            // unsubscribe, while retries of one click stay one event. A refusal of the whole channel is not the topic's own
            // (a later channel-wide "yes" lifts it but not a refusal of the topic itself: audit Cons).
            var inForce = p.ConsentRecords.GetValueOrDefault(CustomerProfile.ConsentKey(link.Channel, link.Topic ?? ConsentRecord.AnyTopic));
            var answers = inForce;
            var clickedAt = _time.GetUtcNow();
            string? again = null;
            if (inForce is { Granted: false } && inForce.Source == "unsubscribe:" + link.MessageKey)
            {
                answers = link.Topic is null ? NewestTopicGrantAfter(p, link.Channel, inForce) : null;
                if (answers is null)
                {
                    // The same link clicked again an hour or more after the refusal it recorded: her decision is restated
                    // now, so a grant stamped between the two clicks that arrives late does not outrank it (left alone by
                    // audits U66 and U71). A mail client's retries and a double click within the hour stay one event.
                    if (clickedAt - inForce.At < UnsubscribeRestatedAfter)
                    {
                        return new ChangeEffect();
                    }

                    again = ":again:" + (clickedAt.UtcTicks / UnsubscribeRestatedAfter.Ticks).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            var e = new CustomerEvent
            {
                Id = link.MessageKey + ":unsubscribed" + (again ?? (answers is null ? "" : ":" + answers.At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture))),
                Type = EventTypes.MessageUnsubscribed,
                Timestamp = clickedAt,
                Identifiers = [],
                Channel = link.Channel,
                Properties = JsonData.From(properties),
            };
            var (changes, journeys) = await ApplyEventAsync(p, e, now, everything: false, merged: false, cancellationToken).ConfigureAwait(false);
            return new ChangeEffect { Changes = changes, EventId = e.Id, Outbox = journeys?.Outbox ?? (IReadOnlyList<Storage.OutboxEntry>)[], Journeys = journeys };
        }, cancellationToken).ConfigureAwait(false);
        // Not recorded (the store kept failing) must never read as done: she would be told she is out and still be mailed,
        // and the mail provider that posted it would not post it again.
        return result switch
        {
            null => throw new InvalidOperationException("The unsubscribe could not be recorded; the store kept failing. It is safe to post the same link again."),
            { Status: UnitStatus.Gone } => UnsubscribeStatus.ProfileNotFound,
            _ => UnsubscribeStatus.Unsubscribed,
        };
    }

    // How long after the refusal a click recorded the same link's next click restates it (see UnsubscribeAsync).
    private static readonly TimeSpan UnsubscribeRestatedAfter = TimeSpan.FromHours(1);

    // The newest grant of a topic of the channel newer than its channel-wide refusal (such a topic reads granted), if any.
    private static ConsentRecord? NewestTopicGrantAfter(CustomerProfile p, string channel, ConsentRecord channelWide)
    {
        ConsentRecord? newest = null;
        foreach (var c in p.ConsentRecords.Values)
        {
            if (c.Granted && c.Channel == channel && c.Topic != ConsentRecord.AnyTopic && Stamp.Newer(c, channelWide)
                && (newest is null || Stamp.Newer(c, newest)))
            {
                newest = c;
            }
        }

        return newest;
    }

    /// <inheritdoc />
    public UnsubscribeLink? ReadUnsubscribeLink(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return UnsubscribeToken.Read(_hasher, token) is { } link ? new UnsubscribeLink(link.Channel, link.Topic) : null;
    }

    /// <summary>The one-click unsubscribe link of a message, or <see langword="null"/> when it gets none (off, not marketing, not email).</summary>
    internal string? UnsubscribeUrl(string profileId, string messageKey, string channel, string? topic, MessageClass messageClass)
    {
        if (_options.Delivery.Unsubscribe.Endpoint is not { } endpoint || messageClass != MessageClass.Marketing || channel != ChannelNames.Email)
        {
            return null;
        }

        // The payload is base64url, so its text need not be ASCII: a key in another script, escaped as \uXXXX (six bytes a
        // character, twelve for an emoji), made a token past the reader's bound, a dead link. Now every token written
        // here is within UnsubscribeToken.MaxLength.
        var payload = UnsubscribeToken.Payload(profileId, messageKey, channel, topic);
        var token = Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(_hasher.Sign(UnsubscribeToken.Purpose, payload));

        // A header is ASCII (RFC 2369 wants a URI): an internationalised host went out in Unicode, which MimeKit writes as
        // RFC 2047 encoded-words that no mailbox provider decodes (jstedfast/MimeKit#236), so the one-click button was lost.
        // The host is written as its A-label; the path and query are already percent-encoded.
        if (!System.Text.Ascii.IsValid(endpoint.Host))
        {
            endpoint = new UriBuilder(endpoint) { Host = endpoint.IdnHost }.Uri;
        }

        return endpoint.GetLeftPart(UriPartial.Query) + (string.IsNullOrEmpty(endpoint.Query) ? "?" : "&") + "t=" + token;
    }

    /// <summary>The request a template renders: with <c>unsubscribe_url</c> in its data when the message has a link.</summary>
    private static MessageRequest WithUnsubscribeUrl(MessageRequest request, string? url)
    {
        if (url is null)
        {
            return request;
        }

        var data = request.Data?.DeepClone().AsObject() ?? [];
        data["unsubscribe_url"] = url;
        return request with { Data = data };
    }

    /// <summary>An email with the <c>List-Unsubscribe</c> (RFC 2369) and <c>List-Unsubscribe-Post</c> (RFC 8058) headers.</summary>
    private OutboundMessage WithUnsubscribeHeaders(OutboundMessage message, string? url)
    {
        if (url is null || message is not EmailMessage email)
        {
            return message;
        }

        // Review rv60: the renderer's headers as they are (two differing only in case included: copied into a map that
        // ignores case, they threw and the send failed as "the store kept failing"), its own one-click headers (in any case)
        // replaced by the SDK's.
        var headers = new Dictionary<string, string>(email.Headers.Count + 2, StringComparer.Ordinal);
        foreach (var (name, value) in email.Headers)
        {
            if (!string.Equals(name, "List-Unsubscribe", StringComparison.OrdinalIgnoreCase) && !string.Equals(name, "List-Unsubscribe-Post", StringComparison.OrdinalIgnoreCase))
            {
                headers[name] = value;
            }
        }

        headers["List-Unsubscribe"] = _options.Delivery.Unsubscribe.Mailto is { } mailto ? $"<{url}>, <mailto:{mailto}?subject=unsubscribe>" : $"<{url}>";
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
        return email with { Headers = headers };
    }
}
