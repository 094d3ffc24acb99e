using System.Text;
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
        var (result, lines) = await ScriptedSmtp.SendAsync("josé@example.com", smtpUtf8: false);

        Assert.True(result.Status == DeliveryStatus.PermanentFailure, string.Join(" | ", lines.Where(l => !l.StartsWith("EHLO", StringComparison.Ordinal)).Take(3)));
        Assert.Contains("SMTPUTF8", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase)); // nothing sent to a guessed mailbox
        Assert.DoesNotContain(lines, l => l.StartsWith("DATA", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AUtf8LocalPart_ToAServerWithSmtpUtf8_GoesToThatVeryAddress()
    {
        var (result, lines) = await ScriptedSmtp.SendAsync("josé@example.com", smtpUtf8: true);

        Assert.True(result.IsAccepted, result.Reason);
        Assert.Contains(lines, l => l.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase) && l.Contains("SMTPUTF8", StringComparison.Ordinal));
        Assert.Contains("RCPT TO:<josé@example.com>", lines);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnInternationalisedDomain_WithAnAsciiLocalPart_GoesAsItsALabel_WithoutSmtpUtf8(bool smtpUtf8)
    {
        var (result, lines) = await ScriptedSmtp.SendAsync("ann@bücher.example", smtpUtf8);

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

        var (result, lines) = await ScriptedSmtp.SendAsync("ann@example.com", smtpUtf8: false, subject, $"\"{name}\" <hello@kitty.example>");

        Assert.True(result.IsAccepted, result.Reason);
        var raw = string.Join("\r\n", lines.Where(l => l.StartsWith("DATA> ", StringComparison.Ordinal)).Select(l => l[6..]));
        var headerBlock = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        Assert.True(System.Text.Ascii.IsValid(headerBlock), "headers must be 7-bit without SMTPUTF8");
        Assert.DoesNotContain(headerBlock.Split("\r\n"), l => l.Length > 998);
        using var parsed = MimeKit.MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        Assert.Equal(subject, parsed.Subject);
        Assert.Equal(name, ((MimeKit.MailboxAddress)parsed.From[0]).Name);
    }
}
