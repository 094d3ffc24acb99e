using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

public sealed class SmtpFailureMappingTests
{
    [Theory]
    [InlineData(550, DeliveryStatus.PermanentFailure)]
    [InlineData(551, DeliveryStatus.PermanentFailure)]
    [InlineData(552, DeliveryStatus.PermanentFailure)]
    [InlineData(553, DeliveryStatus.PermanentFailure)]
    [InlineData(554, DeliveryStatus.PermanentFailure)]
    [InlineData(421, DeliveryStatus.TransientFailure)]
    [InlineData(450, DeliveryStatus.TransientFailure)]
    [InlineData(451, DeliveryStatus.TransientFailure)]
    [InlineData(452, DeliveryStatus.TransientFailure)]
    public void FromStatusCode_Maps5xxToPermanentAnd4xxToTransient(int code, DeliveryStatus expected)
    {
        var result = SmtpTransport.FromStatusCode(code, "server says no");

        Assert.Equal(expected, result.Status);
        Assert.Equal($"SMTP {code}: server says no", result.Reason);
    }

    [Fact]
    public void Classify_WhenRecipientIsRejectedWith550_FailsPermanentlyWithTheServersReason()
    {
        var rejected = new SmtpCommandException(SmtpErrorCode.RecipientNotAccepted, SmtpStatusCode.MailboxUnavailable,
            MailboxAddress.Parse("gone@example.com"), "5.1.1 <gone@example.com>: user unknown");

        var result = SmtpTransport.Classify(rejected);

        Assert.Equal(DeliveryStatus.PermanentFailure, result?.Status);

        // The reason is logged and stored: the recipient's address is scrubbed from the server's text.
        Assert.Equal("SMTP 550: 5.1.1 <[email]>: user unknown", result?.Reason);
    }

    [Fact]
    public void Classify_WhenMailboxIsBusy_FailsTransiently()
    {
        var busy = new SmtpCommandException(SmtpErrorCode.RecipientNotAccepted, SmtpStatusCode.MailboxBusy, "4.2.1 try later");

        Assert.Equal(DeliveryStatus.TransientFailure, SmtpTransport.Classify(busy)?.Status);
    }

    [Fact]
    public void Classify_WhenNetworkOrTimeoutOrLoginFails_FailsTransiently()
    {
        Exception[] failures =
        [
            new SocketException((int)SocketError.ConnectionRefused),
            new TimeoutException("connect"),
            new IOException("reset"),
            new SmtpProtocolException("unexpected reply"),
            new AuthenticationException("535 bad credentials"),
        ];

        Assert.All(failures, f => Assert.Equal(DeliveryStatus.TransientFailure, SmtpTransport.Classify(f)?.Status));
    }

    [Fact]
    public void Classify_WhenExceptionIsABug_LetsItThrough()
    {
        Assert.Null(SmtpTransport.Classify(new NullReferenceException()));
        Assert.Null(SmtpTransport.Classify(new InvalidOperationException()));
    }

    [Theory]
    [InlineData("order-42.shipped", "order-42.shipped")]
    [InlineData("a+b=c", "a+b=c")]
    public void MessageIdLocalPart_WhenIdIsADotAtom_KeepsIt(string id, string expected) =>
        Assert.Equal(expected, SmtpTransport.MessageIdLocalPart(id));

    [Fact]
    public void MessageIdLocalPart_WhenIdHasUnsafeCharacters_IsSafeStableAndDistinct()
    {
        var a = SmtpTransport.MessageIdLocalPart("journey/1:step 2");
        var b = SmtpTransport.MessageIdLocalPart("journey/1:step_2");

        Assert.Equal(a, SmtpTransport.MessageIdLocalPart("journey/1:step 2"));
        Assert.NotEqual(a, b);
        Assert.DoesNotContain(' ', a);
        Assert.DoesNotContain(':', a);
        Assert.StartsWith("journey/1_step_2-", a, StringComparison.Ordinal);
    }
}
