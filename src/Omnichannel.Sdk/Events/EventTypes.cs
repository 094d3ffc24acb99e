namespace Omnichannel.Sdk;

/// <summary>
/// Well-known e-commerce event types and the properties the engine reads from them. Other properties are kept as
/// they are. Custom types are allowed: any <c>lower.dotted_name</c> (letters, digits, underscores, dot-separated).
/// </summary>
public static class EventTypes
{
    /// <summary>A product page was viewed. Properties: <c>product_id</c>, <c>name</c>, <c>price</c>, <c>currency</c>, <c>category</c>.</summary>
    public const string ProductViewed = "product.viewed";

    /// <summary>The catalogue was searched. Properties: <c>query</c>, <c>results</c> (count).</summary>
    public const string ProductSearched = "product.searched";

    /// <summary>A product was added to the cart. Properties: <c>product_id</c> (required), <c>name</c>, <c>quantity</c> (default 1), <c>price</c> (unit price), <c>currency</c>, <c>cart_id</c>.</summary>
    public const string CartItemAdded = "cart.item_added";

    /// <summary>A product was removed from the cart. Properties: <c>product_id</c> (required), <c>quantity</c> (absent: the whole line).</summary>
    public const string CartItemRemoved = "cart.item_removed";

    /// <summary>The cart was viewed. Properties: <c>cart_id</c>.</summary>
    public const string CartViewed = "cart.viewed";

    /// <summary>Checkout started. Properties: <c>cart_id</c>, <c>total</c>, <c>currency</c>.</summary>
    public const string CheckoutStarted = "checkout.started";

    /// <summary>An order was placed; empties the cart. Properties: <c>order_id</c>, <c>total</c>, <c>currency</c>, <c>items</c> (array or count), <c>fulfillment</c> (<c>delivery</c> or <c>pickup</c>), <c>store_id</c>.</summary>
    public const string OrderPlaced = "order.placed";

    /// <summary>An order was shipped. Properties: <c>order_id</c>, <c>carrier</c>, <c>tracking_number</c>, <c>tracking_url</c>.</summary>
    public const string OrderShipped = "order.shipped";

    /// <summary>An order was delivered. Properties: <c>order_id</c>.</summary>
    public const string OrderDelivered = "order.delivered";

    /// <summary>A click-and-collect order is ready at the store. Properties: <c>order_id</c>, <c>store_id</c>, <c>pickup_code</c>.</summary>
    public const string OrderReadyForPickup = "order.ready_for_pickup";

    /// <summary>A click-and-collect order was picked up. Properties: <c>order_id</c>, <c>store_id</c>.</summary>
    public const string OrderPickedUp = "order.picked_up";

    /// <summary>An order was cancelled. Properties: <c>order_id</c>, <c>reason</c>.</summary>
    public const string OrderCancelled = "order.cancelled";

    /// <summary>Goods were returned, online or in a store (use the event's channel). Properties: <c>order_id</c>, <c>total</c> (refunded amount, positive), <c>currency</c>, <c>items</c>.</summary>
    public const string OrderReturned = "order.returned";

    /// <summary>A product was added to the wishlist. Properties: <c>product_id</c> (required), <c>name</c>.</summary>
    public const string WishlistItemAdded = "wishlist.item_added";

    /// <summary>A product was removed from the wishlist. Properties: <c>product_id</c> (required).</summary>
    public const string WishlistItemRemoved = "wishlist.item_removed";

    /// <summary>Subscribed to the newsletter: grants consent for <c>email</c>/<c>newsletter</c> unless <c>channel</c>/<c>topic</c> say otherwise.</summary>
    public const string NewsletterSubscribed = "newsletter.subscribed";

    /// <summary>Unsubscribed from the newsletter: denies consent for <c>email</c>/<c>newsletter</c> unless <c>channel</c>/<c>topic</c> say otherwise.</summary>
    public const string NewsletterUnsubscribed = "newsletter.unsubscribed";

    /// <summary>A consent decision. Properties: <c>channel</c> (required), <c>topic</c> (absent: every topic of the channel), <c>granted</c> (bool, required), <c>source</c>.</summary>
    public const string ConsentChanged = "consent.changed";

    /// <summary>Contact preferences changed. Properties: <c>preferred_channels</c> (array of channel names, most preferred first, null items skipped; one text of names separated by commas, such as <c>"sms,email"</c>, is read as that list), <c>max_messages</c>, <c>period</c> (ISO 8601 duration, for example <c>P7D</c> or <c>P1W</c>; a month counts 30 days, a year 365). A part left out keeps its value; <c>null</c> removes it. <c>max_messages</c> per <c>period</c> is her own limit: at most that many marketing messages on all channels and topics in any rolling period (transactional ones are not counted); a send past it is skipped with "the customer's own limit of N per P7D reached". A journey's send step tries her preferred channels first among those it names.</summary>
    public const string PreferencesUpdated = "preferences.updated";

    /// <summary>Loyalty points earned. Properties: <c>points</c> (required), <c>transaction_id</c> (the points transaction: the same one sent again under another event id, or known on both sides of a merge, counts once, at its newest <c>points</c>; without it every event counts).</summary>
    public const string LoyaltyPointsEarned = "loyalty.points_earned";

    /// <summary>Loyalty points redeemed. Properties: <c>points</c> (required), <c>transaction_id</c> (counted once per transaction, as for <see cref="LoyaltyPointsEarned"/>).</summary>
    public const string LoyaltyPointsRedeemed = "loyalty.points_redeemed";

    /// <summary>The customer referred someone. Properties: <c>referral_code</c>, <c>channel</c>, <c>referral_id</c> (one referral: sent again under another event id, it counts once).</summary>
    public const string ReferralSent = "referral.sent";

    /// <summary>A referral of this customer converted. Properties: <c>referral_code</c>, <c>referred_customer_id</c>, <c>referral_id</c>. Counted once per <c>referral_id</c>, else per event (the referred customer's id is not kept in the referrer's profile).</summary>
    public const string ReferralConverted = "referral.converted";

    /// <summary>A support ticket was opened. Properties: <c>ticket_id</c>, <c>subject</c>.</summary>
    public const string SupportTicketOpened = "support.ticket_opened";

    /// <summary>A support ticket was resolved. Properties: <c>ticket_id</c>.</summary>
    public const string SupportTicketResolved = "support.ticket_resolved";

    /// <summary>A message was handed to the provider. Properties: <c>message_id</c>, <c>channel</c>, <c>provider_message_id</c>, <c>journey_id</c>, <c>step_id</c>, <c>variant</c>.</summary>
    public const string MessageSent = "message.sent";

    /// <summary>
    /// The provider delivered the message. Properties: <c>message_id</c>, <c>channel</c>. A report on a message (this one and
    /// the others below) may name the provider's id instead of <c>message_id</c>: <c>provider_message_id</c>, as
    /// <see cref="MessageSent"/> carries it (Twilio's MessageSid), places it on the message handed over under that id. One
    /// stamped before 2000-01-01 (a provider's unset time, 1970-01-01) is refused with its path.
    /// </summary>
    public const string MessageDelivered = "message.delivered";

    /// <summary>The message was opened. Properties: <c>message_id</c>, <c>channel</c>.</summary>
    public const string MessageOpened = "message.opened";

    /// <summary>A link in the message was clicked. Properties: <c>message_id</c>, <c>channel</c>, <c>url</c>.</summary>
    public const string MessageClicked = "message.clicked";

    /// <summary>The message bounced. Properties: <c>message_id</c>, <c>channel</c>, <c>address</c>, <c>bounce_type</c> (<c>hard</c> or <c>soft</c>).</summary>
    public const string MessageBounced = "message.bounced";

    /// <summary>The message could not be sent. Properties: <c>message_id</c>, <c>channel</c>, <c>reason</c>.</summary>
    public const string MessageFailed = "message.failed";

    /// <summary>The message was not sent because a policy stopped it. Properties: <c>message_id</c>, <c>channel</c>, <c>reason</c>.</summary>
    public const string MessageSkipped = "message.skipped";

    /// <summary>
    /// The recipient marked the message as spam. Properties: <c>message_id</c>, <c>channel</c>, <c>address</c>,
    /// <c>feedback_type</c> (SES's <c>complaintFeedbackType</c>, an RFC 5965 <c>Feedback-Type</c>: <c>not-spam</c> — she moved
    /// it out of her spam folder — is kept on her timeline and withdraws nothing; any other type, or none, is a complaint).
    /// </summary>
    public const string MessageComplained = "message.complained";

    /// <summary>The recipient unsubscribed through the message: denies consent. Properties: <c>message_id</c>, <c>channel</c> (required), <c>topic</c> (absent: the whole channel).</summary>
    public const string MessageUnsubscribed = "message.unsubscribed";

    /// <summary>
    /// The recipient replied to a message (an inbound SMS a provider's webhook reports). Properties: <c>channel</c>
    /// (required), <c>text</c> (required: the reply as received), <c>message_id</c> (the message replied to, when known).
    /// Identify the person as for any event, usually with <see cref="Identifier.Phone"/> of the sender.
    /// <para>
    /// On <c>sms</c> a reply that is an opt-out keyword (<c>STOP</c>, <c>STOPALL</c>, <c>UNSUBSCRIBE</c>, <c>CANCEL</c>,
    /// <c>END</c>, <c>QUIT</c>, <c>OPTOUT</c>, <c>REVOKE</c>) denies SMS consent for the whole channel, like
    /// <see cref="MessageUnsubscribed"/> without a topic; an opt-in keyword (<c>START</c>, <c>UNSTOP</c>, <c>YES</c>)
    /// grants it again, but only over an earlier decision about the channel (it undoes an opt-out; to a person who never
    /// decided it grants nothing); <c>HELP</c>, <c>INFO</c> and any other text change nothing. The reply must be the
    /// keyword alone: case, surrounding space, punctuation or symbols around it and Unicode width are ignored
    /// (<c>Stop.</c>, <c>ＳＴＯＰ</c>), "please don't stop" is no keyword. Decisions follow event time like every consent
    /// decision, so a late-arriving older <c>STOP</c> does not undo a newer <c>START</c>. On <c>whatsapp</c> only
    /// <c>STOP</c>, <c>STOPALL</c>, <c>UNSUBSCRIBE</c>, <c>OPTOUT</c> and <c>STOP PROMOTIONS</c> are read, and refuse
    /// WhatsApp for every topic (not SMS); words that are conversation in a chat (<c>CANCEL</c>, <c>END</c>, <c>YES</c>)
    /// and opt-in words change nothing there. Other channels' replies change nothing.
    /// </para>
    /// <para>
    /// The text is personal data and is never kept: at the door it is replaced by <c>keyword</c> (<c>opt_out</c>,
    /// <c>opt_in</c>, <c>help</c> or <c>none</c> on sms; <c>opt_out</c> or <c>none</c> on whatsapp), which is what journeys, segments, the timeline and the export
    /// see. Keywords: Twilio's defaults (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out and
    /// https://help.twilio.com/hc/en-us/articles/223134027-Twilio-support-for-opt-out-keywords-SMS-STOP-filtering-), which
    /// include every opt-out keyword of the CTIA Messaging Principles and Best Practices (STOP, QUIT, END, REVOKE, OPT OUT,
    /// CANCEL, UNSUBSCRIBE).
    /// </para>
    /// </summary>
    public const string MessageReplied = "message.replied";

    /// <summary>The profile entered a segment (emitted by the engine, on the timeline). Properties: <c>segment_id</c>.</summary>
    public const string SegmentEntered = "segment.entered";

    /// <summary>The profile left a segment (emitted by the engine, on the timeline). Properties: <c>segment_id</c>.</summary>
    public const string SegmentExited = "segment.exited";

    /// <summary>Every well-known type above.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        ProductViewed, ProductSearched, CartItemAdded, CartItemRemoved, CartViewed, CheckoutStarted, OrderPlaced,
        OrderShipped, OrderDelivered, OrderReadyForPickup, OrderPickedUp, OrderCancelled, OrderReturned,
        WishlistItemAdded, WishlistItemRemoved, NewsletterSubscribed, NewsletterUnsubscribed, ConsentChanged,
        PreferencesUpdated, LoyaltyPointsEarned, LoyaltyPointsRedeemed, ReferralSent, ReferralConverted,
        SupportTicketOpened, SupportTicketResolved, MessageSent, MessageDelivered, MessageOpened, MessageClicked,
        MessageBounced, MessageFailed, MessageSkipped, MessageComplained, MessageUnsubscribed, MessageReplied,
    ];
}
