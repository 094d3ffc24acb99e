namespace Omnichannel.Sdk.AspNetCore;

/// <summary>
/// How Segment-Spec messages (<see href="https://segment.com/docs/connections/spec/common/"/>) become
/// <see cref="CustomerEvent"/>s. Every default is the mapping table of the package README.
/// </summary>
public sealed class TrackingMapping
{
    /// <summary>
    /// The identifier type of <c>userId</c>. Default <see cref="IdentifierTypes.CustomerId"/> (<c>customer_id</c>).
    /// </summary>
    public string UserIdType { get; set; } = IdentifierTypes.CustomerId;

    /// <summary>The identifier type of <c>anonymousId</c>. Default <see cref="IdentifierTypes.AnonymousId"/> (<c>anonymous_id</c>).</summary>
    public string AnonymousIdType { get; set; } = IdentifierTypes.AnonymousId;

    /// <summary>
    /// The identifier type of <c>context.device.id</c>. Default <see cref="IdentifierTypes.DeviceId"/>; <see langword="null"/>
    /// ignores it. Context describes the event: a device id the SDK cannot hold as an identifier (over 256 characters, a
    /// control character, or refused by the type's rule) is left out rather than refusing the event.
    /// </summary>
    public string? DeviceIdType { get; set; } = IdentifierTypes.DeviceId;

    /// <summary>
    /// The identifier type of <c>context.device.token</c>, the device's push token (Segment Spec, common fields:
    /// <see href="https://segment.com/docs/connections/spec/common/#context-fields-automatically-collected"/>). Default
    /// <see cref="IdentifierTypes.DeviceId"/>, the address the <c>push</c> channel sends to; <see langword="null"/> ignores
    /// it. When an event carries a usable token and <see cref="DeviceIdType"/> is the same type, <c>context.device.id</c>
    /// is left out of that event (listed under <c>ignored</c>): the id is no push address, and the two seen at one instant
    /// would leave the choice of address to a tie. Set <see cref="DeviceIdType"/> to a registered type of its own to keep
    /// both. A token no identifier can hold is left out, as a device id is.
    /// </summary>
    public string? DeviceTokenType { get; set; } = IdentifierTypes.DeviceId;

    /// <summary>
    /// The identifier type of an <c>alias</c> call's <c>previousId</c>. Default <see cref="IdentifierTypes.AnonymousId"/>:
    /// clients alias the anonymous id a visitor had to the user id she got
    /// (<see href="https://segment.com/docs/connections/spec/alias/"/>).
    /// </summary>
    public string AliasPreviousIdType { get; set; } = IdentifierTypes.AnonymousId;

    /// <summary>
    /// Traits that are identifiers: trait name → identifier type. Read from <c>traits</c> (identify) and from
    /// <c>context.traits</c> (every call), the key compared ignoring case when no key matches exactly (<c>Email</c>). Default <c>email</c> → <c>email</c>, <c>phone</c> → <c>phone</c>. A value the
    /// SDK cannot normalise (an invalid email) in an identify's <c>traits</c> rejects the message, as it would any event;
    /// one in <c>context.traits</c> (which mobile libraries copy onto every event) is left out.
    /// </summary>
    public IDictionary<string, string> TraitIdentifiers { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["email"] = IdentifierTypes.Email,
        ["phone"] = IdentifierTypes.Phone,
    };

    /// <summary>
    /// <c>track</c> event names → SDK event types (names compared ignoring case; a name not found is then compared
    /// ignoring spaces and underscores and, for two-word names, their order, as Segment's own matcher does, so
    /// <c>order_completed</c> and the Spec v1 <c>Completed Order</c> are <c>Order Completed</c>). Default: the e-commerce events of the
    /// Spec (<see href="https://segment.com/docs/connections/spec/ecommerce/v2/"/>) → <see cref="EventTypes"/>:
    /// Products Searched, Product Viewed, Product Added, Product Removed, Cart Viewed, Checkout Started, Order
    /// Completed, Order Updated, Order Refunded, Order Cancelled, Product Added to Wishlist, Product Removed from
    /// Wishlist; and the Email events of the Spec (<see href="https://segment.com/docs/connections/spec/email/"/>), which
    /// email tools send back about the mails they sent: Email Delivered, Email Opened, Email Link Clicked, Email Bounced,
    /// Email Marked as Spam, Unsubscribed → <see cref="EventTypes.MessageDelivered"/>, <see cref="EventTypes.MessageOpened"/>,
    /// <see cref="EventTypes.MessageClicked"/>, <see cref="EventTypes.MessageBounced"/>, <see cref="EventTypes.MessageComplained"/>,
    /// <see cref="EventTypes.MessageUnsubscribed"/>. An Email event mapped to its default type is read as one about email:
    /// <c>channel</c> is <c>email</c> (unless it names <c>sms</c>, <c>whatsapp</c>, <c>push</c> or <c>in_app</c>),
    /// <c>message_id</c> is the Spec's <c>email_id</c> when it has none (the SDK's own message key there attributes the
    /// outcome to that message; any other id is a message of the host's own), a click's <c>url</c> is <c>link_url</c>.
    /// <c>Unsubscribed</c> withdraws consent for the whole channel (the Spec's <c>list_id</c> is the tool's list, not a
    /// topic of the SDK; a <c>topic</c> property is read as one); a bounce suppresses the address only when
    /// <c>bounce_type</c> is <c>hard</c>, as for any <see cref="EventTypes.MessageBounced"/>. Add or replace entries to
    /// map your own names (a name mapped to another type keeps that mapping as it is); a name not listed becomes a custom
    /// type (see <see cref="CustomEventPrefix"/>).
    /// </summary>
    public IDictionary<string, string> TrackEvents { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Products Searched"] = EventTypes.ProductSearched,
        ["Product Searched"] = EventTypes.ProductSearched,
        ["Product Viewed"] = EventTypes.ProductViewed,
        ["Product Added"] = EventTypes.CartItemAdded,
        ["Product Removed"] = EventTypes.CartItemRemoved,
        ["Cart Viewed"] = EventTypes.CartViewed,
        ["Checkout Started"] = EventTypes.CheckoutStarted,
        ["Order Completed"] = EventTypes.OrderPlaced,
        ["Order Updated"] = EventTypes.OrderPlaced,
        ["Order Refunded"] = EventTypes.OrderReturned,
        ["Order Cancelled"] = EventTypes.OrderCancelled,
        ["Product Added to Wishlist"] = EventTypes.WishlistItemAdded,
        ["Product Removed from Wishlist"] = EventTypes.WishlistItemRemoved,
    }.WithEntries(EmailSpecEvents);

    /// <summary>The Spec's Email events and their default types (the mapper reads these as about email).</summary>
    internal static readonly IReadOnlyDictionary<string, string> EmailSpecEvents = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Email Delivered"] = EventTypes.MessageDelivered,
        ["Email Opened"] = EventTypes.MessageOpened,
        ["Email Link Clicked"] = EventTypes.MessageClicked,
        ["Email Bounced"] = EventTypes.MessageBounced,
        ["Email Marked as Spam"] = EventTypes.MessageComplained,
        ["Unsubscribed"] = EventTypes.MessageUnsubscribed,
    };

    /// <summary>
    /// Prepended (with a dot) to the normalised name of a <c>track</c> event not in <see cref="TrackEvents"/>: lower case,
    /// every run of other characters an underscore, so <c>Signed Up</c> is <c>signed_up</c> and <c>Video
    /// Played!</c> is <c>video_played</c>. The name never has a dot, so it cannot collide with a well-known type. Default
    /// <see langword="null"/> (no prefix); <c>"web"</c> gives <c>web.signed_up</c>.
    /// </summary>
    public string? CustomEventPrefix { get; set; }

    /// <summary>The event type of an <c>identify</c> call. Default <c>user.identified</c>.</summary>
    public string IdentifyEventType { get; set; } = "user.identified";

    /// <summary>The event type of a <c>page</c> call. Default <c>page.viewed</c>.</summary>
    public string PageEventType { get; set; } = "page.viewed";

    /// <summary>The event type of a <c>screen</c> call. Default <c>screen.viewed</c>.</summary>
    public string ScreenEventType { get; set; } = "screen.viewed";

    /// <summary>The event type of an <c>alias</c> call. Default <c>user.aliased</c>.</summary>
    public string AliasEventType { get; set; } = "user.aliased";

    /// <summary>The event type of a <c>group</c> call. Default <c>group.joined</c>.</summary>
    public string GroupEventType { get; set; } = "group.joined";

    internal void Validate(List<string> errors)
    {
        foreach (var (name, value) in new[]
        {
            (nameof(UserIdType), UserIdType), (nameof(AnonymousIdType), AnonymousIdType), (nameof(AliasPreviousIdType), AliasPreviousIdType),
        })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{nameof(TrackingApiOptions.Mapping)}.{name} is required.");
            }
        }

        foreach (var (name, value) in new[]
        {
            (nameof(IdentifyEventType), IdentifyEventType), (nameof(PageEventType), PageEventType), (nameof(ScreenEventType), ScreenEventType),
            (nameof(AliasEventType), AliasEventType), (nameof(GroupEventType), GroupEventType),
        })
        {
            if (!Implementation.Names.IsEventType(value))
            {
                errors.Add($"{nameof(TrackingApiOptions.Mapping)}.{name} must be a lower.dotted_name.");
            }
        }

        foreach (var (spec, type) in TrackEvents)
        {
            if (!Implementation.Names.IsEventType(type))
            {
                errors.Add($"{nameof(TrackingApiOptions.Mapping)}.{nameof(TrackEvents)}[\"{spec}\"] must be a lower.dotted_name.");
            }
        }

        foreach (var (trait, type) in TraitIdentifiers)
        {
            if (string.IsNullOrWhiteSpace(trait) || string.IsNullOrWhiteSpace(type))
            {
                errors.Add($"{nameof(TrackingApiOptions.Mapping)}.{nameof(TraitIdentifiers)}: trait names and identifier types are required.");
            }
        }

        if (CustomEventPrefix is not null && !Implementation.Names.IsEventType(CustomEventPrefix))
        {
            errors.Add($"{nameof(TrackingApiOptions.Mapping)}.{nameof(CustomEventPrefix)} must be a lower.dotted_name or null.");
        }
    }
}

internal static class TrackingMappingDefaults
{
    public static Dictionary<string, string> WithEntries(this Dictionary<string, string> map, IReadOnlyDictionary<string, string> entries)
    {
        foreach (var (name, type) in entries)
        {
            map[name] = type;
        }

        return map;
    }
}
