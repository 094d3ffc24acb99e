namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// One-click unsubscribe for marketing email (RFC 8058, with the <c>List-Unsubscribe</c> header of RFC 2369): Gmail and
/// Yahoo require it of bulk senders. When <see cref="Endpoint"/> is set, every marketing email gets
/// <c>List-Unsubscribe: &lt;{Endpoint}?t={token}&gt;</c> (and <c>&lt;mailto:…&gt;</c> when <see cref="Mailto"/> is set) and
/// <c>List-Unsubscribe-Post: List-Unsubscribe=One-Click</c>, and its template can show the same link as
/// <c>{{ journey.unsubscribe_url }}</c>. A <c>POST</c> of that URL (the ASP.NET Core package's
/// <c>MapOmnichannelUnsubscribe</c>, or <see cref="IOmnichannelClient.UnsubscribeAsync"/> in the host's own endpoint)
/// records <c>message.unsubscribed</c> for the message's channel and topic: consent is withdrawn, and the next
/// marketing message on that topic is not sent.
/// </summary>
/// <remarks>
/// The token names the profile, the message, its channel and topic, signed with an HMAC-SHA256 under a key derived from
/// <c>Privacy.HashKey</c> (no address or other personal data is in the URL). Set <c>Privacy.HashKey</c> so links keep
/// working across restarts; moving it to <c>Privacy.PreviousHashKeys</c> keeps old links valid. Tokens do not expire: an
/// unsubscribe link must work for as long as the mail may be read.
/// </remarks>
public sealed class UnsubscribeOptions
{
    /// <summary>
    /// The absolute <c>https</c> URL of the host's unsubscribe endpoint (for example
    /// <c>https://shop.example/unsubscribe</c>); <see langword="null"/> (the default) turns one-click unsubscribe off.
    /// <c>http</c> is accepted only for a loopback host (development). Validation names it
    /// <c>Delivery.Unsubscribe.Endpoint</c>.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>An address that unsubscribes by mail (<c>mailto:</c> in <c>List-Unsubscribe</c>), or <see langword="null"/>.</summary>
    public string? Mailto { get; set; }
}

/// <summary>What <see cref="IOmnichannelClient.UnsubscribeAsync"/> did.</summary>
public enum UnsubscribeStatus
{
    /// <summary>The unsubscribe was recorded (or had been already: a second click changes nothing).</summary>
    Unsubscribed,

    /// <summary>The token is malformed or its signature does not verify under any hash key.</summary>
    InvalidToken,

    /// <summary>The token is genuine but its profile no longer exists (erased).</summary>
    ProfileNotFound,
}

/// <summary>What an unsubscribe link withdraws: consent for its topic on its channel.</summary>
/// <param name="Channel">The channel the message went out on (<c>email</c>).</param>
/// <param name="Topic">The message's topic; <see langword="null"/> when it had none (the link then withdraws all marketing on the channel).</param>
public sealed record UnsubscribeLink(string Channel, string? Topic);
