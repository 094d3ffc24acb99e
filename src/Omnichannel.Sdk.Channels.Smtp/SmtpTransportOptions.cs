using MailKit.Security;
using MimeKit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp;

/// <summary>Where and how <see cref="SmtpTransport"/> connects. Validated when the transport is built (and at host start-up).</summary>
public sealed class SmtpTransportOptions
{
    /// <summary>The SMTP server's host name or IP address. Required.</summary>
    public string Host { get; set; } = "";

    /// <summary>The server's port. Default 587 (submission with STARTTLS).</summary>
    public int Port { get; set; } = 587;

    /// <summary>
    /// TLS use: <see cref="SecureSocketOptions.Auto"/> (the default: TLS on port 465, STARTTLS when offered otherwise),
    /// <see cref="SecureSocketOptions.StartTls"/> to require it, or <see cref="SecureSocketOptions.None"/> for a local relay.
    /// </summary>
    public SecureSocketOptions SecureSocketOptions { get; set; } = SecureSocketOptions.Auto;

    /// <summary>User name to authenticate with; <see langword="null"/> (the default) to send without authenticating.</summary>
    public string? UserName { get; set; }

    /// <summary>Password for <see cref="UserName"/>.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Whether <see cref="UserName"/> and <see cref="Password"/> may be sent over a connection without TLS. Default
    /// <see langword="false"/>: when the server offers no STARTTLS (or an attacker on the way strips it, the downgrade
    /// that RFC 8314 warns of), the transport does not log in and the message is a transient failure. Set it only for a
    /// trusted relay on a private network.
    /// </summary>
    public bool AllowAuthenticationWithoutTls { get; set; }

    /// <summary>
    /// The sender used when a message's <c>From</c> is empty, for example <c>"Kitty Supplies &lt;hello@kitty.example&gt;"</c>.
    /// Default <see langword="null"/>: every message must name its sender.
    /// </summary>
    public string? DefaultFrom { get; set; }

    /// <summary>
    /// The domain of generated <c>Message-ID</c> headers (<c>&lt;message-id@domain&gt;</c>). Default <see langword="null"/>:
    /// the sender's domain.
    /// </summary>
    public string? MessageIdDomain { get; set; }

    /// <summary>Time-out of each network operation (connect, each command). Default 30 seconds; at most 10 minutes.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every problem with these options, each as a sentence; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            problems.Add("SmtpTransportOptions.Host is required: set it to the SMTP server's host name.");
        }

        if (Port is < 1 or > 65535)
        {
            problems.Add($"SmtpTransportOptions.Port must be between 1 and 65535 (was {Port}).");
        }

        if (!Enum.IsDefined(SecureSocketOptions))
        {
            problems.Add($"SmtpTransportOptions.SecureSocketOptions has an unknown value ({(int)SecureSocketOptions}).");
        }

        if (Password is not null && string.IsNullOrEmpty(UserName))
        {
            problems.Add("SmtpTransportOptions.Password is set but UserName is not: set both, or neither to send without authenticating.");
        }

        if (!string.IsNullOrEmpty(UserName) && SecureSocketOptions == SecureSocketOptions.None && !AllowAuthenticationWithoutTls)
        {
            problems.Add("SmtpTransportOptions.UserName is set with SecureSocketOptions.None: the password would go unencrypted. Use StartTls or SslOnConnect, or set AllowAuthenticationWithoutTls for a trusted relay on a private network.");
        }

        if (DefaultFrom is not null && !MailboxAddress.TryParse(DefaultFrom, out _))
        {
            problems.Add($"SmtpTransportOptions.DefaultFrom is not a valid address ('{DefaultFrom}').");
        }

        if (MessageIdDomain is not null && (MessageIdDomain.Length == 0 || !MessageIdDomain.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.')))
        {
            problems.Add($"SmtpTransportOptions.MessageIdDomain must be a host name ('{MessageIdDomain}').");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"SmtpTransportOptions.Timeout must be more than zero and at most 10 minutes (was {Timeout}).");
        }

        return problems;
    }
}
