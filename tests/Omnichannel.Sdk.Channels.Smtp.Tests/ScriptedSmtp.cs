using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// One message through <see cref="SmtpTransport"/> to a scripted SMTP server on loopback that offers <c>SMTPUTF8</c> or
/// not, keeping every command and every line of the message it received (the latter as <c>DATA&gt; …</c>).
/// </summary>
internal static class ScriptedSmtp
{
    public static async Task<(DeliveryResult Result, List<string> Lines)> SendAsync(string to, bool smtpUtf8, string subject = "Olá", string from = "Kitty <hello@kitty.example>", string? replyTo = null)
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
            MessageId = "scripted-eai",
            From = from,
            To = to,
            Subject = subject,
            TextBody = "Olá.",
            ReplyTo = replyTo,
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
