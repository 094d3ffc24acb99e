using System.Net.Mail;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// A transport for samples and local development that writes messages into a folder: each email as an RFC 5322
/// <c>.eml</c> file (open it in any mail client), every other message as one JSON line appended to
/// <c>&lt;channel&gt;.jsonl</c>.
/// </summary>
/// <remarks>
/// Emails are written by the BCL's <see cref="SmtpClient"/> with <see cref="SmtpDeliveryMethod.SpecifiedPickupDirectory"/>:
/// HTML and text bodies become <c>multipart/alternative</c>, and the <c>Message-ID</c> is derived from
/// <see cref="OutboundMessage.MessageId"/>. The file is named after the message id too, so a resend replaces the file
/// rather than adding a second one. Use one instance per folder; it is safe to call from several threads.
/// </remarks>
public sealed class FileTransport : IChannelTransport
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates a file transport for <paramref name="channel"/> writing into <paramref name="directory"/>.</summary>
    /// <param name="channel">The channel it is registered for; also names the <c>.jsonl</c> file of non-email messages.</param>
    /// <param name="directory">The folder; created when missing.</param>
    public FileTransport(string channel, string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Channel = channel;
        Directory = Path.GetFullPath(directory);
    }

    /// <inheritdoc />
    public string Channel { get; }

    /// <summary>The folder messages are written to.</summary>
    public string Directory { get; }

    /// <summary>
    /// Writes the message. Accepted under the written file's name (<c>&lt;id&gt;.eml</c> or <c>&lt;channel&gt;.jsonl</c>);
    /// an email with an address that cannot be parsed is a permanent failure.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        System.IO.Directory.CreateDirectory(Directory);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return message is EmailMessage email
                ? await WriteEmailAsync(email, cancellationToken).ConfigureAwait(false)
                : await AppendJsonLineAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<DeliveryResult> WriteEmailAsync(EmailMessage email, CancellationToken cancellationToken)
    {
        MailMessage mail;
        try
        {
            mail = ToMailMessage(email);
        }
        catch (FormatException e)
        {
            return DeliveryResult.PermanentFailure("Invalid address: " + e.Message);
        }

        using (mail)
        {
            // SmtpClient names its file with a fresh GUID; write into a private folder, then move to a stable name.
            var staging = Path.Combine(Directory, ".staging-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(staging);
            try
            {
                using (var client = new SmtpClient { DeliveryMethod = SmtpDeliveryMethod.SpecifiedPickupDirectory, PickupDirectoryLocation = staging })
                {
                    await client.SendMailAsync(mail, cancellationToken).ConfigureAwait(false);
                }

                var written = System.IO.Directory.GetFiles(staging, "*.eml").Single();
                var fileName = FileSafeName(email.MessageId) + ".eml";
                File.Move(written, Path.Combine(Directory, fileName), overwrite: true);
                return DeliveryResult.Accepted(fileName);
            }
            finally
            {
                System.IO.Directory.Delete(staging, recursive: true);
            }
        }
    }

    private async Task<DeliveryResult> AppendJsonLineAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var fileName = FileSafeName(Channel) + ".jsonl";
        var line = JsonSerializer.Serialize(message, message.GetType(), JsonOptions) + "\n";
        var stream = new FileStream(Path.Combine(Directory, fileName), FileMode.Append, FileAccess.Write, FileShare.Read, 4096, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return DeliveryResult.Accepted(fileName);
    }

    private static MailMessage ToMailMessage(EmailMessage email)
    {
        var mail = new MailMessage
        {
            From = new MailAddress(email.From),
            Subject = email.Subject,
            SubjectEncoding = Encoding.UTF8,
            HeadersEncoding = Encoding.UTF8,
            BodyEncoding = Encoding.UTF8,
            BodyTransferEncoding = TransferEncoding.QuotedPrintable, // readable in a text editor, unlike base64
        };
        try
        {
            mail.To.Add(new MailAddress(email.To));
            if (email.ReplyTo is not null)
            {
                mail.ReplyToList.Add(new MailAddress(email.ReplyTo));
            }

            mail.Headers["Message-ID"] = "<" + MessageIdLocalPart(email.MessageId) + "@" + MessageIdDomain(mail.From.Host) + ">";
            foreach (var (name, value) in email.Headers)
            {
                mail.Headers[name] = value;
            }

            if (email.TextBody is not null && email.HtmlBody is not null)
            {
                // Text first, HTML last: the last alternative is the one clients prefer.
                foreach (var (body, mediaType) in new[] { (email.TextBody, MediaTypeNames.Text.Plain), (email.HtmlBody, MediaTypeNames.Text.Html) })
                {
                    var view = AlternateView.CreateAlternateViewFromString(body, Encoding.UTF8, mediaType);
                    view.TransferEncoding = TransferEncoding.QuotedPrintable;
                    mail.AlternateViews.Add(view);
                }
            }
            else
            {
                mail.Body = email.TextBody ?? email.HtmlBody ?? "";
                mail.IsBodyHtml = email.TextBody is null && email.HtmlBody is not null;
            }

            return mail;
        }
        catch
        {
            mail.Dispose();
            throw;
        }
    }

    /// <summary>The id as a Message-ID local part: kept as is when it is a dot-atom, otherwise made safe and suffixed with a hash so two ids never collide.</summary>
    // A Message-ID is ASCII (RFC 5322): an internationalised sender domain is written as its A-label (punycode).
    private static string MessageIdDomain(string host)
    {
        if (host.Length == 0)
        {
            return "localhost";
        }

        try
        {
            return System.Text.Ascii.IsValid(host) ? host : new System.Globalization.IdnMapping().GetAscii(host);
        }
        catch (ArgumentException)
        {
            return "localhost";
        }
    }

    internal static string MessageIdLocalPart(string messageId) => SafeName(messageId, c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~.".Contains(c));

    /// <summary>The id as a file name: kept as is when safe everywhere, otherwise made safe and suffixed with a hash.</summary>
    internal static string FileSafeName(string id) => SafeName(id, c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static string SafeName(string id, Func<char, bool> allowed)
    {
        if (id.Length > 0 && id.All(allowed) && id[0] != '.' && id[^1] != '.' && !id.Contains("..", StringComparison.Ordinal))
        {
            return id;
        }

        var safe = new string([.. id.Select(c => allowed(c) && c != '.' ? c : '_')]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..12];
        return safe + "-" + hash;
    }
}
