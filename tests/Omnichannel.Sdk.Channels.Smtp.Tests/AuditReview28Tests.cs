using MailKit.Net.Smtp;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>Review of the twenty-eighth session's changes to the SMTP transport (audit U17 and its review).</summary>
public sealed class AuditReview28Tests
{
    // The enhanced code is read where servers write it, at a line's start, in any line of a multi-line reply; 5.2.22 is
    // not 5.2.2; a 4.x.x under a 5xx basic code does not make a 550 transient; 552 is "too many recipients" only at RCPT.
    [Theory]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 552, "5.2.2 Mailbox full", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 552, "5.2.2 Mailbox full", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "The account is over quota\n5.2.2 Please try later", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "5.1.1 No such user\n5.2.2 see above", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "5.2.22 No such thing", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "5.2.2.1 No such thing", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "User unknown (see RFC 3463 5.2.2 for quota)", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "4.2.2 Mailbox full", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 552, "4.2.2 Mailbox full", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 552, "Too many recipients", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 552, "5.5.3 Too many recipients", DeliveryStatus.TransientFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 552, "5.1.1 No such user", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.SenderNotAccepted, 552, "Too many recipients", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 552, "Message size exceeds fixed maximum", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 552, "5.3.4 Message too big", DeliveryStatus.PermanentFailure)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 452, "4.5.3 Too many recipients", DeliveryStatus.TransientFailure)]
    public void AnEnhancedCode_IsReadAtALinesStart_AndA552IsTooManyRecipientsOnlyAtRcpt(SmtpErrorCode where, int code, string text, DeliveryStatus expected)
    {
        var result = SmtpTransport.Classify(new SmtpCommandException(where, (SmtpStatusCode)code, text));
        Assert.Equal(expected, result?.Status);
        Assert.Contains(text, result!.Value.Reason!, StringComparison.Ordinal);
    }

    // The name check agrees with MimeKit's own rule character by character (every name MimeKit takes passes, every name it
    // refuses is a permanent failure before connecting), including names MimeKit treats specially.
    [Fact]
    public void TheHeaderNameCheck_AgreesWithMimeKit_ForEveryCharacter()
    {
        for (var c = 0; c < 0x600; c++)
        {
            var name = "X-" + (char)c;
            bool mimeKitTakes;
            try
            {
                _ = new Header(name, "v");
                mimeKitTakes = true;
            }
            catch (ArgumentException)
            {
                mimeKitTakes = false;
            }

            Assert.True(mimeKitTakes == SmtpTransport.IsHeaderFieldName(name), $"U+{c:X4}: MimeKit {mimeKitTakes}");
        }

        Assert.All(["Content-Type", "Bcc", "Message-Id", "List-Unsubscribe-Post", "X~Odd!#$%&'*+^`|"], n => Assert.True(SmtpTransport.IsHeaderFieldName(n)));
        Assert.False(SmtpTransport.IsHeaderFieldName(""));
    }
}
