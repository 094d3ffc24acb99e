namespace Omnichannel.Sdk;

/// <summary>
/// Well-known channel names. A channel is any <c>lower_case</c> name; these are the ones the SDK knows.
/// </summary>
public static class ChannelNames
{
    /// <summary>The shop's website.</summary>
    public const string Web = "web";

    /// <summary>The shop's mobile app.</summary>
    public const string App = "app";

    /// <summary>A physical store (point of sale, click-and-collect counter).</summary>
    public const string Store = "store";

    /// <summary>Email.</summary>
    public const string Email = "email";

    /// <summary>SMS text messages.</summary>
    public const string Sms = "sms";

    /// <summary>Mobile push notifications.</summary>
    public const string Push = "push";

    /// <summary>WhatsApp.</summary>
    public const string WhatsApp = "whatsapp";

    /// <summary>Live chat or a chat bot.</summary>
    public const string Chat = "chat";

    /// <summary>Social networks (ads, direct messages).</summary>
    public const string Social = "social";

    /// <summary>Phone calls with the call centre.</summary>
    public const string Phone = "phone";

    /// <summary>Webhooks to the host's or a partner's systems.</summary>
    public const string Webhook = "webhook";

    /// <summary>Messages shown inside the app or on the website.</summary>
    public const string InApp = "in_app";

    /// <summary>
    /// Events a journey's <c>emit</c> step hands to the host (<see cref="Delivery.HostEventMessage"/>), delivered through
    /// the outbox to the transport registered for this channel (see <c>OnJourneyEvent</c> on the builder).
    /// </summary>
    public const string Host = "host";

    /// <summary>Every channel name above.</summary>
    public static IReadOnlyList<string> All { get; } = [Web, App, Store, Email, Sms, Push, WhatsApp, Chat, Social, Phone, Webhook, InApp, Host];
}
