using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// Audit U10: internationalised addresses (RFC 6531/6532) over SMTP. jstedfast/MailKit#1026 (a UTF-8 local part sent
/// as a punycoded "xn--" local part, another mailbox), nodemailer/nodemailer#1378 (no error when the server lacks
/// SMTPUTF8), dotnet/runtime#78640, dahlia/upyo#45 (a clear non-retryable failure before the mail transaction).
/// </summary>
public sealed class AuditU10SmtpTests
{
    [Fact]
    public async Task AUtf8LocalPart_ToAServerWithoutSmtpUtf8_FailsForGood_AndIsNeverSentToAnotherMailbox()
    {
        var (result, lines) = await SendAsync("josé@example.com", smtpUtf8: false);

        Assert.True(result.Status == DeliveryStatus.PermanentFailure, string.Join(" | ", lines.Where(l => !l.StartsWith("EHLO", StringComparison.Ordinal)).Take(3)));
        Assert.Contains("SMTPUTF8", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase)); // nothing sent to a guessed mailbox
        Assert.DoesNotContain(lines, l => l.StartsWith("DATA", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AUtf8LocalPart_ToAServerWithSmtpUtf8_GoesToThatVeryAddress()
    {
        var (result, lines) = await SendAsync("josé@example.com", smtpUtf8: true);

        Assert.True(result.IsAccepted, result.Reason);
        Assert.Contains(lines, l => l.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase) && l.Contains("SMTPUTF8", StringComparison.Ordinal));
        Assert.Contains("RCPT TO:<josé@example.com>", lines);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnInternationalisedDomain_WithAnAsciiLocalPart_GoesAsItsALabel_WithoutSmtpUtf8(bool smtpUtf8)
    {
        var (result, lines) = await SendAsync("ann@bücher.example", smtpUtf8);

        Assert.True(result.IsAccepted, result.Reason);
        Assert.Contains(lines, l => l.StartsWith("RCPT TO:<ann@", StringComparison.OrdinalIgnoreCase)
            && (l.Contains("xn--bcher-kva.example", StringComparison.Ordinal) || (smtpUtf8 && l.Contains("bücher.example", StringComparison.Ordinal))));
    }

    // cyrusimap/cyrus-imapd#2529, dotnet/corefx#19610, neomutt/neomutt#1015 (an encoded-word cut inside a UTF-8
    // sequence or an emoji decodes to U+FFFD): a subject and a sender name made of emoji, accents and CJK, long enough to
    // fold, arrive 7-bit and decode to exactly the same text.
    [Fact]
    public async Task ALongSubjectAndSenderName_OfEmojiAndAccents_FoldAndDecodeToTheSameText()
    {
        var subject = string.Concat(Enumerable.Repeat("Olá 😀 café 注文 ", 12)).Trim();
        var name = "Kitty 🐱 Müller 注文 " + new string('é', 40);

        var (result, lines) = await SendAsync("ann@example.com", smtpUtf8: false, subject, $"\"{name}\" <hello@kitty.example>");

        Assert.True(result.IsAccepted, result.Reason);
        var raw = string.Join("\r\n", lines.Where(l => l.StartsWith("DATA> ", StringComparison.Ordinal)).Select(l => l[6..]));
        var headerBlock = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        Assert.True(System.Text.Ascii.IsValid(headerBlock), "headers must be 7-bit without SMTPUTF8");
        Assert.DoesNotContain(headerBlock.Split("\r\n"), l => l.Length > 998);
        using var parsed = MimeKit.MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        Assert.Equal(subject, parsed.Subject);
        Assert.Equal(name, ((MimeKit.MailboxAddress)parsed.From[0]).Name);
    }

    private static async Task<(DeliveryResult Result, List<string> Lines)> SendAsync(string to, bool smtpUtf8, string subject = "Olá", string from = "Kitty <hello@kitty.example>")
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var lines = new List<string>();
        var server = ServeOnceAsync(listener, smtpUtf8, lines);
        var transport = new SmtpTransport(new SmtpTransportOptions
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)listener.LocalEndpoint).Port,
            SecureSocketOptions = SecureSocketOptions.None,
            Timeout = TimeSpan.FromSeconds(10),
        });

        var result = await transport.SendAsync(new EmailMessage
        {
            MessageId = "u10-eai",
            From = from,
            To = to,
            Subject = subject,
            TextBody = "Olá.",
        });
        await server.WaitAsync(TimeSpan.FromSeconds(10));
        return (result, lines);
    }

    private static async Task ServeOnceAsync(TcpListener listener, bool smtpUtf8, List<string> lines)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        async Task SendAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));

        await SendAsync("220 ready");
        while (await reader.ReadLineAsync() is { } line)
        {
            lines.Add(line);
            var verb = line.Split(' ', ':')[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await SendAsync(smtpUtf8 ? "250-scripted\r\n250-8BITMIME\r\n250 SMTPUTF8" : "250-scripted\r\n250 8BITMIME");
                    break;
                case "MAIL" or "RCPT" or "RSET" or "NOOP":
                    await SendAsync("250 ok");
                    break;
                case "DATA":
                    await SendAsync("354 go ahead");
                    while (await reader.ReadLineAsync() is { } data && data != ".")
                    {
                        lines.Add("DATA> " + (data.StartsWith("..", StringComparison.Ordinal) ? data[1..] : data));
                    }

                    await SendAsync("250 queued");
                    break;
                case "QUIT":
                    await SendAsync("221 bye");
                    return;
                default:
                    await SendAsync("502 not implemented");
                    break;
            }
        }
    }
}
