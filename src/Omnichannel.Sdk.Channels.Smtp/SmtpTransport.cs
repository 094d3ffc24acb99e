using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp;

/// <summary>
/// Sends <see cref="EmailMessage"/>s over SMTP with MailKit: one connection per message, <c>multipart/alternative</c>
/// when both bodies are set, and a <c>Message-ID</c> derived from <see cref="OutboundMessage.MessageId"/> so a resend
/// carries the same id as the first attempt.
/// </summary>
/// <remarks>
/// Failures are values: a connection that cannot be made, a time-out, a broken connection, a failed login, a server that
/// offers no AUTH (with a <see cref="SmtpTransportOptions.UserName"/>) or no STARTTLS (with
/// <see cref="SecureSocketOptions.StartTls"/>), a server that refuses the session before any message command (even with
/// 5xx, such as a <c>554</c> greeting), a 4xx reply, a <c>552</c> to <c>RCPT</c> (RFC 5321 §4.5.3.1.10) or a mailbox full
/// (<c>5.2.2</c>, RFC 3463) are <see cref="DeliveryStatus.TransientFailure"/>; any other 5xx reply (recipient, sender or
/// message rejected), an address that cannot be parsed or an extra header whose name is not a header field name is
/// <see cref="DeliveryStatus.PermanentFailure"/> with the server's reason, as is an
/// address with a non-ASCII local part (RFC 6531; To, From or Reply-To) to a server that does not offer <c>SMTPUTF8</c>.
/// A connection lost after the message's final dot, before the server's reply, is transient (at-least-once: the retry
/// carries the same <c>Message-ID</c>). Cancelling the token throws <see cref="OperationCanceledException"/>.
/// </remarks>
public sealed partial class SmtpTransport : IChannelTransport
{
    private readonly SmtpTransportOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the transport.</summary>
    /// <param name="options">Server and sender settings; validated here. The transport keeps its own copy.</param>
    /// <param name="timeProvider">The clock for the <c>Date</c> header; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; <c>Failures</c> lists every problem (the same exception the container throws at start-up).</exception>
    public SmtpTransport(SmtpTransportOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(SmtpTransportOptions), problems);
        }

        _options = new SmtpTransportOptions
        {
            Host = options.Host,
            Port = options.Port,
            SecureSocketOptions = options.SecureSocketOptions,
            UserName = options.UserName,
            Password = options.Password,
            AllowAuthenticationWithoutTls = options.AllowAuthenticationWithoutTls,
            DefaultFrom = options.DefaultFrom,
            MessageIdDomain = options.MessageIdDomain,
            Timeout = options.Timeout,
        };
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public string Channel => ChannelNames.Email;

    /// <summary>Sends an email; accepted under its <c>Message-ID</c> (without angle brackets).</summary>
    /// <param name="message">An <see cref="EmailMessage"/>; any other shape is a permanent failure.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message is not EmailMessage email)
        {
            return DeliveryResult.PermanentFailure($"The SMTP transport sends email only, not {message.GetType().Name}.");
        }

        if (email.Headers.Keys.Any(name => !IsHeaderFieldName(name)))
        {
            // MimeKit throws ArgumentException for such a name; the name is not echoed (it may carry an address or a line break).
            return DeliveryResult.PermanentFailure(
                "An extra header's name is not a header field name (RFC 5322 §2.2: printable ASCII without spaces or ':'), so the message was not sent.");
        }

        if (email.Headers.Keys.FirstOrDefault(IsWrittenByTheTransport) is { } reserved)
        {
            // MimeKit binds address headers to the message's recipients: an extra "Bcc" added a recipient and "To" replaced
            // the one whose consent was checked. The name is one of a fixed list, so it is safe to name.
            return DeliveryResult.PermanentFailure(
                $"The extra header '{reserved}' is one the SMTP transport writes itself (addresses, identity, subject or MIME structure), so the message was not sent; set EmailMessage.To, ReplyTo or Subject instead.");
        }

        MimeMessage mime;
        try
        {
            mime = ToMimeMessage(email);
        }
        catch (ParseException e)
        {
            return DeliveryResult.PermanentFailure("Invalid address: " + e.Message);
        }

        using (mime)
        using (var client = new SmtpClient { Timeout = (int)_options.Timeout.TotalMilliseconds })
        {
            try
            {
                await client.ConnectAsync(_options.Host, _options.Port, _options.SecureSocketOptions, cancellationToken).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(_options.UserName))
                {
                    if (!client.IsSecure && !_options.AllowAuthenticationWithoutTls)
                    {
                        // No STARTTLS offered (or stripped on the way): the password is not sent in the clear. Transient, so a
                        // fallback provider can take the message, and a downgrade that passes does not lose it.
                        return DeliveryResult.TransientFailure(
                            "The SMTP server offered no TLS, so the transport did not log in (the password is never sent unencrypted). " +
                            "Check the server's STARTTLS, or set SmtpTransportOptions.AllowAuthenticationWithoutTls for a trusted relay.");
                    }

                    await client.AuthenticateAsync(_options.UserName, _options.Password ?? "", cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NotSupportedException e) when (!cancellationToken.IsCancellationRequested)
            {
                // MailKit's answer when the server lacks what the options require: no AUTH at all (a port-25 relay, or AUTH
                // offered only after a STARTTLS it does not have) or no STARTTLS with SecureSocketOptions.StartTls. A
                // configuration problem like a failed login: transient, so a fallback provider can take the message.
                return DeliveryResult.TransientFailure("The SMTP server does not offer what SmtpTransportOptions require: " + e.Message);
            }
            catch (SmtpCommandException e) when (!cancellationToken.IsCancellationRequested)
            {
                // A 5xx before any message command (a "554 no service" greeting, a refused EHLO or STARTTLS) says the server
                // will not talk to this client now, nothing about the message: retry later, as MTAs do (Postfix's
                // smtp_skip_5xx_greeting), instead of failing every message for good.
                return DeliveryResult.TransientFailure($"The SMTP server refused the session (SMTP {(int)e.StatusCode}): {e.Message}");
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && Classify(e) is { } failure)
            {
                return failure;
            }

            // An address whose local part is not ASCII (RFC 6531) can only go to a server that offers SMTPUTF8. MailKit
            // sent it as raw UTF-8 anyway, which such a server may refuse, mangle into another mailbox or pass on to one
            // that does (jstedfast/MailKit#1026, nodemailer/nodemailer#1378). It is refused before any message command,
            // for good: the same server answers the same way at every retry, and the next channel can reach her.
            if (!client.Capabilities.HasFlag(SmtpCapabilities.UTF8)
                // Reply-To too (review 26b): it is not in the envelope, but MimeKit wrote its UTF-8 local part as a raw 8-bit
                // header, the same violation, to a server that never offered to take it.
                && mime.From.Mailboxes.Concat(mime.To.Mailboxes).Concat(mime.ReplyTo.Mailboxes).Any(m => !Ascii.IsValid(m.LocalPart)))
            {
                return DeliveryResult.PermanentFailure(
                    "The address has a non-ASCII local part (RFC 6531) and the SMTP server does not offer SMTPUTF8, so it cannot be sent there.");
            }

            try
            {
                await client.SendAsync(mime, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && Classify(e) is { } failure)
            {
                return failure;
            }

            try
            {
                await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && Classify(e) is not null)
            {
                // The message was accepted; a failed QUIT changes nothing.
            }
        }

        return DeliveryResult.Accepted(mime.MessageId);
    }

    /// <summary>Maps an SMTP reply code to a failure: 5xx is permanent, anything else transient.</summary>
    internal static DeliveryResult FromStatusCode(int statusCode, string reason)
    {
        var text = $"SMTP {statusCode}: {reason}";
        return statusCode is >= 500 and < 600 ? DeliveryResult.PermanentFailure(text) : DeliveryResult.TransientFailure(text);
    }

    /// <summary>
    /// Maps a refused command to a failure: <see cref="FromStatusCode"/>, except two 5xx replies that are transient.
    /// The enhanced code <c>5.2.2</c>, mailbox full (RFC 3463: "a persistent transient failure"; the recipient can make
    /// room), whatever the basic code; and a <c>552</c> to <c>RCPT</c> (RFC 5321 §4.5.3.1.10: RFC 821's "too many
    /// recipients", which clients should treat as temporary, as Postfix does) unless its enhanced code names another
    /// permanent cause (<c>552 5.3.4</c>, the message's size, or a policy refusal such as <c>5.7.1</c>), which stays
    /// permanent.
    /// </summary>
    internal static DeliveryResult FromCommand(SmtpCommandException command)
    {
        var code = (int)command.StatusCode;
        var enhanced = EnhancedCode().Match(command.Message);
        var (klass, detail) = enhanced.Success ? (enhanced.Groups[1].Value, enhanced.Groups[2].Value) : ("", "");
        var mailboxFull = klass == "5" && detail == "2.2";
        var tooManyRecipients = code == 552 && command.ErrorCode == SmtpErrorCode.RecipientNotAccepted && (klass != "5" || detail is "5.3" or "2.2");
        return code is >= 500 and < 600 && (mailboxFull || tooManyRecipients)
            ? DeliveryResult.TransientFailure($"SMTP {code}: {command.Message}")
            : FromStatusCode(code, command.Message);
    }

    // The reply's first enhanced status code (RFC 3463 class.subject.detail), as servers write it at a line's start.
    [System.Text.RegularExpressions.GeneratedRegex(@"(?m)^\s*([245])\.(\d{1,3}\.\d{1,3})(?![0-9.])", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex EnhancedCode();

    /// <summary>
    /// Whether an extra header would take over what the transport writes from the message itself: the originator and
    /// destination fields and identification fields of RFC 5322 §3.6 (From, Sender, Reply-To, To, Cc, Bcc, Message-ID,
    /// Date, Subject), the trace and resent fields (Return-Path, Resent-*), and the MIME structure (MIME-Version,
    /// Content-*; RFC 2045). Case-insensitive.
    /// </summary>
    internal static bool IsWrittenByTheTransport(string name) =>
        TransportHeaders.Contains(name)
        || name.StartsWith("Resent-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase);

    private static readonly HashSet<string> TransportHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "Date", "Subject", "Return-Path", "MIME-Version",
    };

    /// <summary>Whether <paramref name="name"/> is a header field name: printable US-ASCII except <c>:</c> (RFC 5322 §2.2).</summary>
    internal static bool IsHeaderFieldName(string name) => name.Length > 0 && name.All(c => c is > ' ' and <= '~' and not ':');

    /// <summary>Maps an exception from MailKit or the network to a failure; <see langword="null"/> when it is a bug to let through.</summary>
    internal static DeliveryResult? Classify(Exception exception) => exception switch
    {
        SmtpCommandException command => FromCommand(command),
        SocketException socket => DeliveryResult.TransientFailure($"Could not reach the SMTP server ({socket.SocketErrorCode}): {socket.Message}"),
        AuthenticationException auth => DeliveryResult.TransientFailure("SMTP authentication failed (check UserName and Password): " + auth.Message),
        SslHandshakeException tls => DeliveryResult.TransientFailure("TLS handshake with the SMTP server failed: " + tls.Message),
        SmtpProtocolException protocol => DeliveryResult.TransientFailure("SMTP protocol error: " + protocol.Message),
        ServiceNotConnectedException notConnected => DeliveryResult.TransientFailure("SMTP connection lost: " + notConnected.Message),
        TimeoutException timeout => DeliveryResult.TransientFailure("SMTP time-out: " + timeout.Message),
        OperationCanceledException => DeliveryResult.TransientFailure("SMTP time-out."),
        IOException io => DeliveryResult.TransientFailure("SMTP connection error: " + io.Message),
        _ => null,
    };

    private MimeMessage ToMimeMessage(EmailMessage email)
    {
        var fromText = string.IsNullOrWhiteSpace(email.From) ? _options.DefaultFrom : email.From;
        if (fromText is null)
        {
            throw new ParseException("The message has no From and SmtpTransportOptions.DefaultFrom is not set.", 0, 0);
        }

        var from = MailboxAddress.Parse(fromText);
        var mime = new MimeMessage();
        try
        {
            mime.From.Add(from);
            mime.To.Add(MailboxAddress.Parse(email.To));
            if (email.ReplyTo is not null)
            {
                mime.ReplyTo.Add(MailboxAddress.Parse(email.ReplyTo));
            }

            mime.Subject = email.Subject;
            mime.Date = _timeProvider.GetUtcNow();
            var domain = _options.MessageIdDomain ?? MessageIdDomain(from.Domain);
            mime.MessageId = MessageIdLocalPart(email.MessageId) + "@" + domain;
            foreach (var (name, value) in email.Headers)
            {
                mime.Headers.Replace(name, value);
            }

            mime.Body = new BodyBuilder { TextBody = email.TextBody, HtmlBody = email.HtmlBody }.ToMessageBody();
            return mime;
        }
        catch
        {
            mime.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The sender's domain as the right side of a Message-ID: a Message-ID is ASCII-only (RFC 5322), so an
    /// internationalised domain is written in its A-label (punycode) form, as MimeKit writes the address itself.
    /// </summary>
    internal static string MessageIdDomain(string senderDomain)
    {
        if (senderDomain.Length == 0)
        {
            return "localhost";
        }

        if (System.Text.Ascii.IsValid(senderDomain))
        {
            return senderDomain;
        }

        try
        {
            return new IdnMapping().GetAscii(senderDomain);
        }
        catch (ArgumentException)
        {
            return "localhost";
        }
    }

    /// <summary>
    /// The message id as a Message-ID local part: kept when it is a dot-atom (so resends are recognisable by eye),
    /// otherwise made safe and suffixed with a hash of the original so two ids never collide.
    /// </summary>
    internal static string MessageIdLocalPart(string messageId)
    {
        static bool Allowed(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~".Contains(c);
        var dotAtom = messageId.Length > 0 && messageId[0] != '.' && messageId[^1] != '.'
            && !messageId.Contains("..", StringComparison.Ordinal) && messageId.All(c => c == '.' || Allowed(c));
        if (dotAtom)
        {
            return messageId;
        }

        var safe = new string([.. messageId.Select(c => Allowed(c) ? c : '_')]);
        return safe + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(messageId)))[..12];
    }
}
