using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>The password never goes over a connection without TLS unless the host allows it (RFC 8314's downgrade).</summary>
public sealed class SmtpAuthenticationTlsTests
{
    private static readonly EmailMessage Message = new() { MessageId = "tls-1", From = "hello@kitty.example", To = "ann@example.com", Subject = "Hi", TextBody = "Hi." };

    [Fact]
    public async Task AServerThatOffersNoStartTls_GetsNoPassword_AndTheMessageIsATransientFailure()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = ServeAsync(listener);
        var transport = new SmtpTransport(Options(listener, allow: false));

        var result = await transport.SendAsync(Message);
        var commands = await server.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.Contains("offered no TLS", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(commands, c => c.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task WhenTheHostAllowsIt_TheTransportLogsInWithoutTls_AndSends()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = ServeAsync(listener);
        var transport = new SmtpTransport(Options(listener, allow: true));

        var result = await transport.SendAsync(Message);
        var commands = await server.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.Status == DeliveryStatus.Accepted, result.Reason);
        Assert.Contains(commands, c => c.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AUserNameWithoutTls_IsRefusedAtStartUp_UnlessAllowed()
    {
        var options = new SmtpTransportOptions { Host = "relay.internal", UserName = "u", Password = "p", SecureSocketOptions = SecureSocketOptions.None };
        Assert.Contains(options.Validate(), p => p.Contains("AllowAuthenticationWithoutTls", StringComparison.Ordinal));
        options.AllowAuthenticationWithoutTls = true;
        Assert.Empty(options.Validate());
    }

    private static SmtpTransportOptions Options(TcpListener listener, bool allow) => new()
    {
        Host = "127.0.0.1",
        Port = ((IPEndPoint)listener.LocalEndpoint).Port,
        SecureSocketOptions = SecureSocketOptions.Auto, // STARTTLS when offered; this server offers none
        UserName = "shop",
        Password = "secret",
        AllowAuthenticationWithoutTls = allow,
        Timeout = TimeSpan.FromSeconds(10),
    };

    // A plain SMTP server that advertises AUTH PLAIN but no STARTTLS, and accepts everything; returns the commands it got.
    private static async Task<List<string>> ServeAsync(TcpListener listener)
    {
        var commands = new List<string>();
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task SendAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
        await SendAsync("220 plain relay");
        var inData = false;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (inData)
            {
                if (line == ".")
                {
                    inData = false;
                    await SendAsync("250 queued");
                }

                continue;
            }

            commands.Add(line);
            var verb = line.Split(' ')[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await SendAsync("250-plain\r\n250 AUTH PLAIN");
                    break;
                case "AUTH":
                    await SendAsync("235 2.7.0 authenticated");
                    break;
                case "DATA":
                    inData = true;
                    await SendAsync("354 go ahead");
                    break;
                case "QUIT":
                    await SendAsync("221 bye");
                    return commands;
                default:
                    await SendAsync("250 ok");
                    break;
            }
        }

        return commands;
    }
}
