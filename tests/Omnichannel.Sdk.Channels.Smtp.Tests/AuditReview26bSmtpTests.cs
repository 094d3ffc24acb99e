using System.Text;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// Review of the twenty-sixth session: the SMTPUTF8 check of audit U10 looks at every address the message carries, and
/// lets a Unicode display name through.
/// </summary>
public sealed class AuditReview26bSmtpTests
{
    // A sender whose local part is not ASCII is refused before any message command, as a recipient is; a Unicode
    // display name with an ASCII address still goes.
    [Theory]
    [InlineData("Kitty <josé@kitty.example>", false)]
    [InlineData("\"José 😺\" <hello@kitty.example>", true)]
    public async Task TheSender_IsCheckedToo_ButOnlyItsLocalPart(string from, bool accepted)
    {
        var (result, lines) = await ScriptedSmtp.SendAsync("ann@example.com", smtpUtf8: false, from: from);

        Assert.Equal(accepted, result.IsAccepted);
        if (!accepted)
        {
            Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
            Assert.DoesNotContain(lines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
        }
    }

    // A Reply-To whose local part is not ASCII, to a server without SMTPUTF8: the headers must stay 7-bit, so the message
    // is refused as a recipient would be (never a raw UTF-8 header to a server that did not offer it).
    [Fact]
    public async Task AReplyToWithAUtf8LocalPart_ToAServerWithoutSmtpUtf8_IsNotSentAsRawUtf8()
    {
        var (result, lines) = await ScriptedSmtp.SendAsync("ann@example.com", smtpUtf8: false, replyTo: "josé@kitty.example");

        var raw = string.Join("\r\n", lines.Where(l => l.StartsWith("DATA> ", StringComparison.Ordinal)).Select(l => l[6..]));
        Assert.True(Ascii.IsValid(raw), raw.Split("\r\n").FirstOrDefault(l => !Ascii.IsValid(l)));
        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Contains("SMTPUTF8", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("josé", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // With SMTPUTF8 offered, the same Reply-To goes as it is.
    [Fact]
    public async Task AReplyToWithAUtf8LocalPart_ToAServerWithSmtpUtf8_Goes()
    {
        var (result, lines) = await ScriptedSmtp.SendAsync("ann@example.com", smtpUtf8: true, replyTo: "josé@kitty.example");

        Assert.True(result.IsAccepted, result.Reason);
        Assert.Contains(lines, l => l.StartsWith("DATA> Reply-To:", StringComparison.OrdinalIgnoreCase) && l.Contains("josé@kitty.example", StringComparison.Ordinal));
    }
}
