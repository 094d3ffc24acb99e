using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit.Security;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// Audit U17: bug classes from public reports about email over SMTP (MailKit, Postfix, Postal, Mautic, listmonk,
/// Nodemailer, Django/ActionMailer), each against a scripted SMTP server on loopback that answers as the report's server
/// did and keeps every command and every line of the message it received, as it came over the wire.
/// </summary>
public sealed class AuditU17SmtpTests
{
    private static EmailMessage Email(string id = "u17-1") => new()
    {
        MessageId = id,
        From = "Kitty <hello@kitty.example>",
        To = "ann@example.com",
        Subject = "Hi",
        TextBody = "Hi Ann.",
    };

    // RFC 5321 §4.5.3.1.10: "too many recipients" was 552 in RFC 821; clients SHOULD treat a 552 to RCPT as temporary.
    // Postfix does (smtp_rcpt: 552 at RCPT is read as 452); Nodemailer and the HTTP-style "5xx = permanent" rule did not.
    [Fact]
    public async Task A552ToRcpt_IsTransient_AsRfc5321Asks()
    {
        var run = await Scripted.RunAsync(new Script { Rcpt = "552 4.5.3 too many recipients for this hour" }, Email());

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.DoesNotContain(run.Commands, c => c == "DATA");
    }

    // RFC 3463 X.2.2 "Mailbox full … should be used as a persistent transient failure" (Gmail's "552-5.2.2 over quota",
    // mautic/mautic bounce classification and Postal's soft bounces read it so): whatever the basic code, the recipient
    // can make room. A 552 for the message's size (5.3.4) and a 550 5.1.1 stay permanent.
    [Theory]
    [InlineData("250 ok", "552 5.2.2 mailbox full, over quota", DeliveryStatus.TransientFailure)]
    [InlineData("552-5.2.2 The email account that you tried to reach is over quota.\r\n552 5.2.2 Please direct the recipient to support", "250 queued", DeliveryStatus.TransientFailure)]
    [InlineData("250 ok", "552 5.3.4 message size exceeds fixed limit", DeliveryStatus.PermanentFailure)]
    [InlineData("552 5.3.4 message size exceeds this recipient's limit", "250 queued", DeliveryStatus.PermanentFailure)]
    [InlineData("552 5.7.1 recipient refuses mail from your domain", "250 queued", DeliveryStatus.PermanentFailure)]
    [InlineData("552 5.5.3 too many recipients", "250 queued", DeliveryStatus.TransientFailure)]
    [InlineData("552 too many recipients", "250 queued", DeliveryStatus.TransientFailure)]
    [InlineData("550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please try double-checking", "250 queued", DeliveryStatus.PermanentFailure)]
    public async Task AMailboxFull_IsTransient_WhileSizeAndUnknownUserStayPermanent(string rcpt, string afterData, DeliveryStatus expected)
    {
        var run = await Scripted.RunAsync(new Script { Rcpt = rcpt, AfterData = afterData }, Email());

        Assert.Equal(expected, run.Result.Status);
        Assert.DoesNotContain("ann@example.com", run.Result.Reason, StringComparison.Ordinal);
    }

    // Multiline replies (RFC 5321 §4.2.1): every line of the server's reason reaches the result, not only the last.
    [Fact]
    public async Task AMultilineRejection_KeepsTheWholeReason()
    {
        var run = await Scripted.RunAsync(new Script { Rcpt = "550-5.7.1 Our system has detected an unusual rate\r\n550-5.7.1 of unsolicited mail originating from your IP address.\r\n550 5.7.1 See https://support.example/spam" }, Email());

        Assert.Equal(DeliveryStatus.PermanentFailure, run.Result.Status);
        Assert.Contains("unusual rate", run.Result.Reason, StringComparison.Ordinal);
        Assert.Contains("support.example/spam", run.Result.Reason, StringComparison.Ordinal);
    }

    // The classic duplicate (RFC 1047; jstedfast/MailKit "message sent twice after timeout" reports): the connection is
    // lost after DATA's final dot, before the reply. The outcome is unknown; the transport reports it transient
    // (at-least-once, as every MTA does), and the retry carries the same Message-ID so the receiving side can spot it.
    [Fact]
    public async Task AConnectionLostAfterTheFinalDot_IsTransient_AndTheRetryCarriesTheSameMessageId()
    {
        var first = await Scripted.RunAsync(new Script { AfterData = null }, Email("u17-dup"));
        var retry = await Scripted.RunAsync(new Script(), Email("u17-dup"));

        Assert.Equal(DeliveryStatus.TransientFailure, first.Result.Status);
        Assert.True(retry.Result.IsAccepted, retry.Result.Reason);
        var firstId = Assert.Single(first.Data, l => l.StartsWith("Message-Id:", StringComparison.OrdinalIgnoreCase));
        var retryId = Assert.Single(retry.Data, l => l.StartsWith("Message-Id:", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(firstId, retryId);
        Assert.Equal("u17-dup@kitty.example", retry.Result.ProviderMessageId);
    }

    // A tarpit or a half-dead relay that accepts the connection and never says a word (MailKit's "Timeout is ignored by
    // ConnectAsync" reports; nodemailer greetingTimeout): the send ends as a transient failure after the time-out
    // instead of holding a dispatcher slot for ever.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AServerThatNeverAnswers_EndsInATransientFailureAfterTheTimeout(bool silentFromTheStart)
    {
        var clock = Stopwatch.StartNew();
        var run = await Scripted.RunAsync(
            silentFromTheStart ? new Script { Silent = true } : new Script { AfterData = null, HoldAfterData = true },
            Email(),
            TimeSpan.FromSeconds(1));

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    // The message was accepted (250 after the dot); a server that then drops the line instead of answering QUIT must not
    // turn it into a failure, or the retry sends it twice.
    [Fact]
    public async Task A250ThenNoAnswerToQuit_IsAccepted()
    {
        var run = await Scripted.RunAsync(new Script { CloseOnQuit = true }, Email());

        Assert.True(run.Result.IsAccepted, run.Result.Reason);
    }

    // jstedfast/MailKit FAQ "The SMTP server does not support authentication" (a port-25 MX configured as the relay, a
    // submission server that offers AUTH only after STARTTLS): MailKit throws NotSupportedException, which escaped
    // the transport (read as a permanent failure of that one message by the dispatcher). It is a configuration problem
    // like a failed login: a transient value, so a fallback provider can take the message.
    [Fact]
    public async Task CredentialsForAServerThatOffersNoAuth_AreATransientFailureValue_NotAnException()
    {
        var run = await Scripted.RunAsync(new Script(), Email(), configure: o =>
        {
            o.UserName = "shop";
            o.Password = "s3cret-pa55";
            o.AllowAuthenticationWithoutTls = true;
        });

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.Contains("authentication", run.Result.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // RFC 3207 / RFC 8314: SecureSocketOptions.StartTls against a server that offers no STARTTLS (or had it stripped on
    // the way). MailKit throws NotSupportedException, which escaped the transport; now a transient value, nothing sent.
    [Fact]
    public async Task RequiredStartTls_FromAServerThatOffersNone_IsATransientFailureValue_NotAnException()
    {
        var run = await Scripted.RunAsync(new Script(), Email(), configure: o => o.SecureSocketOptions = SecureSocketOptions.StartTls);

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.Contains("STARTTLS", run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // 535 (RFC 4954): a wrong password fails transiently (a configuration error, not the message's fault) and the reason
    // never carries the password, in clear or in the base64 of AUTH PLAIN.
    [Fact]
    public async Task A535_IsTransient_AndTheReasonNeverCarriesThePassword()
    {
        const string password = "s3cret-pa55";
        var run = await Scripted.RunAsync(new Script { Ehlo = "250-scripted\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME", Auth = "535 5.7.8 Authentication credentials invalid" }, Email(), configure: o =>
        {
            o.UserName = "shop";
            o.Password = password;
            o.AllowAuthenticationWithoutTls = true;
        });

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.Contains("535", run.Result.Reason + string.Join("", run.Commands), StringComparison.Ordinal);
        Assert.DoesNotContain(password, run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0shop\0" + password)), run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // SslOnConnect (port 465) pointed at a plain-text port (the usual 465/587 mix-up in Django EMAIL_USE_SSL reports):
    // a TLS handshake failure, transient, nothing sent.
    [Fact]
    public async Task ImplicitTlsAgainstAPlainTextServer_IsATransientFailure()
    {
        var run = await Scripted.RunAsync(new Script(), Email(), configure: o => o.SecureSocketOptions = SecureSocketOptions.SslOnConnect);

        Assert.Equal(DeliveryStatus.TransientFailure, run.Result.Status);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // A host's extra header with a name that is not a header field name (a space, a colon, a line break: RFC 5322 §2.2,
    // the injection route of the PHPMailer/SwiftMailer header reports): MimeKit throws ArgumentException, which escaped
    // the transport. It is refused as a permanent failure value before connecting, and nothing is injected.
    [Theory]
    [InlineData("X Campaign")]
    [InlineData("X-Campaign:\r\nBcc")]
    [InlineData("Bcc: mallory@evil.example\r\nX-A")]
    [InlineData("")]
    public async Task AnExtraHeaderWithAnInvalidName_IsAPermanentFailure_AndNothingIsSent(string name)
    {
        var message = Email() with { Headers = new Dictionary<string, string> { [name] = "spring-sale" } };

        var run = await Scripted.RunAsync(new Script(), message);

        Assert.Equal(DeliveryStatus.PermanentFailure, run.Result.Status);
        Assert.Contains("header", run.Result.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("mallory", run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // Review of the twenty-eighth session: MimeKit binds address headers to the message's recipients, and MailKit sends to
    // To, Cc and Bcc. An extra "Bcc" header added a recipient whose consent was never checked, and "To" replaced the one
    // whose consent was. Every field the transport writes from the message itself is refused, in any case; other extra
    // headers still go, with exactly one recipient.
    [Theory]
    [InlineData("Bcc")]
    [InlineData("cc")]
    [InlineData("TO")]
    [InlineData("Resent-To")]
    [InlineData("From")]
    [InlineData("Reply-To")]
    [InlineData("Message-Id")]
    [InlineData("Content-Type")]
    [InlineData("Subject")]
    public async Task AnExtraHeaderTheTransportWrites_IsRefused_SoNoRecipientIsAddedOrChanged(string name)
    {
        var message = Email() with { Headers = new Dictionary<string, string> { [name] = "mallory@evil.example" } };

        var run = await Scripted.RunAsync(new Script(), message);

        Assert.Equal(DeliveryStatus.PermanentFailure, run.Result.Status);
        Assert.Contains(name, run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("mallory", run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task OtherExtraHeaders_StillGo_ToTheOneRecipient()
    {
        var message = Email() with
        {
            Headers = new Dictionary<string, string>
            {
                ["X-Campaign"] = "spring-sale",
                ["List-Unsubscribe"] = "<https://kitty.example/u/abc>",
                ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
            },
        };

        var run = await Scripted.RunAsync(new Script(), message);

        Assert.True(run.Result.IsAccepted, run.Result.Reason);
        Assert.Equal(["RCPT TO:<ann@example.com>"], run.Commands.Where(c => c.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase)));
        Assert.Contains(run.RawData, l => l.StartsWith("X-Campaign: spring-sale", StringComparison.Ordinal));
    }

    // Bodies (RFC 5321 §4.5.2 dot-stuffing, §4.5.3.1.6 998-octet lines; Nodemailer/ActionMailer "line too long" and
    // "message truncated at a lone dot" reports; bare LF, RFC 5322 §2.3): to a server without 8BITMIME everything
    // goes 7-bit in lines of at most 998 octets, dots are stuffed, and the bodies read back exactly.
    [Fact]
    public async Task HardBodies_ToAServerWithout8BitMime_Go7BitDotStuffedAndShort_AndReadBackTheSame()
    {
        var text = "Olá Ann,\n.\n.hidden line\nbare LF above, CR below\r\nend ✓";
        var html = "<p>" + string.Concat(Enumerable.Repeat("<b>café</b> ", 400)) + "</p>\n.<i>dot</i>";
        var message = Email() with { TextBody = text, HtmlBody = html };

        var run = await Scripted.RunAsync(new Script { Ehlo = "250-scripted\r\n250 SIZE 10000000" }, message);

        Assert.True(run.Result.IsAccepted, run.Result.Reason);
        Assert.All(run.RawData, l => Assert.True(Ascii.IsValid(l) && l.Length <= 998, $"line of {l.Length}: {l[..Math.Min(40, l.Length)]}"));
        Assert.DoesNotContain(run.RawData, l => l.StartsWith('.') && !l.StartsWith("..", StringComparison.Ordinal));
        using var parsed = run.Parse();
        Assert.Equal(text.Replace("\r\n", "\n", StringComparison.Ordinal), (parsed.TextBody ?? "").Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal(html, (parsed.HtmlBody ?? "").Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    // RFC 1870 SIZE: the transport declares the size in MAIL FROM, so a server can refuse a message that is too large
    // before the body goes (552 5.3.4 at MAIL); that is permanent (retrying cannot shrink it; Postal and listmonk
    // "message too large" reports), and unlike a mailbox full it is not mistaken for 5.2.2.
    [Fact]
    public async Task AMessageTooLargeForTheServer_IsRefusedAtMailFrom_ForGood_WithoutSendingTheBody()
    {
        var run = await Scripted.RunAsync(
            new Script { Ehlo = "250-scripted\r\n250-8BITMIME\r\n250 SIZE 2000", Mail = "552 5.3.4 message size exceeds fixed maximum message size" },
            Email() with { TextBody = new string('x', 5000) });

        Assert.Equal(DeliveryStatus.PermanentFailure, run.Result.Status);
        Assert.Contains(run.Commands, c => c.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase) && c.Contains(" SIZE=", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(run.RawData);
    }

    // A malformed recipient (a typo from a sign-up form) is refused before connecting, and the reason does not carry
    // the text (scrubbing catches well-formed addresses only; Django/ActionMailer echo the address in the exception).
    [Theory]
    [InlineData("annsmith@@example.com")]
    [InlineData("annsmith example.com")]
    public async Task AMalformedRecipient_IsPermanent_AndTheReasonDoesNotEchoIt(string to)
    {
        var run = await Scripted.RunAsync(new Script(), Email() with { To = to });

        Assert.Equal(DeliveryStatus.PermanentFailure, run.Result.Status);
        Assert.DoesNotContain("annsmith", run.Result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Commands, c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }

    // An empty text body (a template that rendered nothing) still makes a well-formed message with a text/plain part.
    [Fact]
    public async Task AnEmptyTextBody_IsAWellFormedMessage()
    {
        var run = await Scripted.RunAsync(new Script(), Email() with { TextBody = "" });

        Assert.True(run.Result.IsAccepted, run.Result.Reason);
        using var parsed = run.Parse();
        Assert.Equal("", (parsed.TextBody ?? "").Trim());
        Assert.True(parsed.Body is TextPart { IsPlain: true });
    }

    // Date comes from the engine's TimeProvider (replays and tests on a fake clock), not the wall clock.
    [Fact]
    public async Task TheDateHeader_ComesFromTheTimeProvider()
    {
        var at = new DateTimeOffset(2026, 3, 1, 10, 30, 0, TimeSpan.Zero);
        var run = await Scripted.RunAsync(new Script(), Email(), clock: new FakeTimeProvider(at));

        using var parsed = run.Parse();
        Assert.Equal(at, parsed.Date);
    }

    // Display names with a comma, quotes, a backslash and non-ASCII (RFC 5322 quoted-string, RFC 2047): Django #25986,
    // nodemailer display-name quoting reports. The name reads back whole and the address stays one mailbox.
    [Fact]
    public async Task ADisplayNameWithCommaQuotesAndAccents_ReadsBackWhole_AsOneMailbox()
    {
        var name = "Müller, Ann \"Annie\" \\ Shop";
        var to = new MailboxAddress(name, "ann@example.com").ToString();
        var run = await Scripted.RunAsync(new Script(), Email() with { To = to, From = new MailboxAddress("Kitty, \"The\" Shop", "hello@kitty.example").ToString() });

        Assert.True(run.Result.IsAccepted, run.Result.Reason);
        Assert.Single(run.Commands, c => c.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase));
        using var parsed = run.Parse();
        var mailbox = Assert.IsType<MailboxAddress>(Assert.Single(parsed.To));
        Assert.Equal(name, mailbox.Name);
        Assert.Equal("Kitty, \"The\" Shop", ((MailboxAddress)parsed.From[0]).Name);
    }

    private sealed record Script
    {
        public string Greeting { get; init; } = "220 ready";
        public string Ehlo { get; init; } = "250-scripted\r\n250 8BITMIME";
        public string Mail { get; init; } = "250 ok";
        public string Rcpt { get; init; } = "250 ok";

        /// <summary>The reply after the final dot; <see langword="null"/> to close the connection (or hold it) without one.</summary>
        public string? AfterData { get; init; } = "250 queued";

        public string Auth { get; init; } = "235 ok";

        /// <summary>Accept the connection and never send a byte.</summary>
        public bool Silent { get; init; }

        /// <summary>With no reply after the dot, keep the connection open (a stall) instead of closing it.</summary>
        public bool HoldAfterData { get; init; }

        public bool CloseOnQuit { get; init; }
    }

    private sealed record Run(DeliveryResult Result, List<string> Commands, List<string> RawData)
    {
        /// <summary>The DATA lines with dot-stuffing undone.</summary>
        public List<string> Data => [.. RawData.Select(l => l.StartsWith("..", StringComparison.Ordinal) ? l[1..] : l)];

        public MimeMessage Parse() => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\r\n", Data) + "\r\n")));
    }

    private static class Scripted
    {
        public static async Task<Run> RunAsync(Script script, EmailMessage message, TimeSpan? timeout = null, Action<SmtpTransportOptions>? configure = null, TimeProvider? clock = null)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var commands = new List<string>();
            var data = new List<string>();
            var connected = new System.Runtime.CompilerServices.StrongBox<bool>();
            var server = ServeOnceAsync(listener, script, commands, data, connected);
            var options = new SmtpTransportOptions
            {
                Host = "127.0.0.1",
                Port = ((IPEndPoint)listener.LocalEndpoint).Port,
                SecureSocketOptions = SecureSocketOptions.None,
                Timeout = timeout ?? TimeSpan.FromSeconds(10),
            };
            configure?.Invoke(options);
            var transport = new SmtpTransport(options, clock);

            var result = await transport.SendAsync(message);
            if (!connected.Value)
            {
                listener.Stop(); // refused before connecting: the pending accept ends
            }

            await server.WaitAsync(TimeSpan.FromSeconds(20));
            return new Run(result, commands, data);
        }

        private static async Task ServeOnceAsync(TcpListener listener, Script script, List<string> commands, List<string> data, System.Runtime.CompilerServices.StrongBox<bool> connected)
        {
            TcpClient accepted;
            try
            {
                accepted = await listener.AcceptTcpClientAsync();
                connected.Value = true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                commands.Add("(no connection)");
                return;
            }

            using var client = accepted;
            var stream = client.GetStream();
            async Task SendAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            try
            {
                if (script.Silent)
                {
                    // Hold the line until the client gives up and closes it.
                    var buffer = new byte[256];
                    while (await stream.ReadAsync(buffer) > 0)
                    {
                    }

                    return;
                }

                using var reader = new StreamReader(stream, new UTF8Encoding(false));
                await SendAsync(script.Greeting);
                while (await reader.ReadLineAsync() is { } line)
                {
                    commands.Add(line);
                    var verb = line.Split(' ', ':')[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            await SendAsync(script.Ehlo);
                            break;
                        case "AUTH":
                            await SendAsync(script.Auth);
                            break;
                        case "MAIL":
                            await SendAsync(script.Mail);
                            break;
                        case "RCPT":
                            await SendAsync(script.Rcpt);
                            break;
                        case "RSET" or "NOOP":
                            await SendAsync("250 ok");
                            break;
                        case "DATA":
                            await SendAsync("354 go ahead");
                            while (await reader.ReadLineAsync() is { } body && body != ".")
                            {
                                data.Add(body);
                            }

                            if (script.AfterData is null)
                            {
                                if (script.HoldAfterData)
                                {
                                    while (await reader.ReadLineAsync() is not null)
                                    {
                                    }
                                }

                                return;
                            }

                            await SendAsync(script.AfterData);
                            break;
                        case "QUIT":
                            if (!script.CloseOnQuit)
                            {
                                await SendAsync("221 bye");
                            }

                            return;
                        default:
                            await SendAsync("502 not implemented");
                            break;
                    }
                }
            }
            catch (IOException)
            {
                // The client closed the connection.
            }
        }
    }
}
