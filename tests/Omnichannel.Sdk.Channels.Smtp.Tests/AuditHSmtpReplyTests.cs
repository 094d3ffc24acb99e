using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>Audit H: real SMTP replies (a scripted loopback server) map to transient (4xx) or permanent (5xx) failures.</summary>
public sealed class AuditHSmtpReplyTests
{
    [Theory]
    [InlineData("220 ready", "250 ok", "550 5.1.1 <ann@example.com>: user unknown", "250 ok", DeliveryStatus.PermanentFailure)]
    [InlineData("220 ready", "250 ok", "451 4.7.1 greylisted, try again later", "250 ok", DeliveryStatus.TransientFailure)]
    [InlineData("220 ready", "250 ok", "452 4.2.2 mailbox full", "250 ok", DeliveryStatus.TransientFailure)]
    [InlineData("220 ready", "553 5.7.1 sender not allowed", "250 ok", "250 ok", DeliveryStatus.PermanentFailure)]
    [InlineData("220 ready", "421 4.3.2 shutting down", "250 ok", "250 ok", DeliveryStatus.TransientFailure)]
    [InlineData("220 ready", "250 ok", "250 ok", "554 5.7.1 message rejected as spam", DeliveryStatus.PermanentFailure)]
    [InlineData("220 ready", "250 ok", "250 ok", "451 4.3.0 local error in processing", DeliveryStatus.TransientFailure)]
    [InlineData("421 4.3.2 too busy", "250 ok", "250 ok", "250 ok", DeliveryStatus.TransientFailure)]
    [InlineData("554 5.3.2 no service", "250 ok", "250 ok", "250 ok", DeliveryStatus.TransientFailure)]
    [InlineData("220 ready", "250 ok", "250 ok", "250 2.0.0 queued", DeliveryStatus.Accepted)]
    public async Task AuditH_ServerReplies_MapToRetryOrFail(string greeting, string mailFrom, string rcptTo, string afterData, DeliveryStatus expected)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = ServeOnceAsync(listener, greeting, mailFrom, rcptTo, afterData);
        var transport = new SmtpTransport(new SmtpTransportOptions
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)listener.LocalEndpoint).Port,
            SecureSocketOptions = SecureSocketOptions.None,
            Timeout = TimeSpan.FromSeconds(10),
        });

        var result = await transport.SendAsync(new EmailMessage
        {
            MessageId = "audith-reply",
            From = "hello@kitty.example",
            To = "ann@example.com",
            Subject = "Hi",
            TextBody = "Hi.",
        });
        await server.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(expected, result.Status);
        if (expected != DeliveryStatus.Accepted)
        {
            Assert.DoesNotContain("ann@example.com", result.Reason, StringComparison.Ordinal);
        }
    }

    private static async Task ServeOnceAsync(TcpListener listener, string greeting, string mailFrom, string rcptTo, string afterData)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task SendAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));

        await SendAsync(greeting);
        if (!greeting.StartsWith("220", StringComparison.Ordinal))
        {
            return;
        }

        while (await reader.ReadLineAsync() is { } line)
        {
            var verb = line.Split(' ', ':')[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await SendAsync("250-scripted\r\n250 8BITMIME");
                    break;
                case "MAIL":
                    await SendAsync(mailFrom);
                    if (mailFrom.StartsWith("421", StringComparison.Ordinal))
                    {
                        return;
                    }

                    break;
                case "RCPT":
                    await SendAsync(rcptTo);
                    break;
                case "DATA":
                    await SendAsync("354 go ahead");
                    while (await reader.ReadLineAsync() is { } data && data != ".")
                    {
                    }

                    await SendAsync(afterData);
                    break;
                case "RSET":
                    await SendAsync("250 ok");
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
