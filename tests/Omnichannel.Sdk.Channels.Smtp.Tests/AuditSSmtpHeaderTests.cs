using MailKit.Security;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// Audit S, bug classes from public reports about MimeKit and other mail libraries: a long <c>List-Unsubscribe</c> header
/// was written as RFC 2047 encoded-words (jstedfast/MimeKit#236, #260; odoo/odoo#289182), which mailbox providers do not
/// decode, so the one-click unsubscribe button disappeared; non-ASCII subjects and display names must survive as
/// encoded-words that decode back to the same text.
/// </summary>
[Collection(SmtpServerCollection.Name)]
public sealed class AuditSSmtpHeaderTests(SmtpServerFixture server)
{
    private SmtpTransport Transport() => new(new SmtpTransportOptions
    {
        Host = "127.0.0.1",
        Port = server.Port,
        SecureSocketOptions = SecureSocketOptions.None,
        Timeout = TimeSpan.FromSeconds(10),
    });

    // The raw header block of the delivered message: what a mailbox provider reads.
    private string RawHeaders(string messageId)
    {
        var file = Directory.GetFiles(Path.Combine(server.MailDirectory, "new"))
            .Single(f => MimeMessage.Load(f).MessageId == messageId);
        var text = File.ReadAllText(file).ReplaceLineEndings("\n");
        return text[..text.IndexOf("\n\n", StringComparison.Ordinal)];
    }

    private static string Unfolded(string rawHeaders, string name)
    {
        var lines = rawHeaders.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
        Assert.True(start >= 0, $"No {name} header in:\n{rawHeaders}");
        var value = lines[start][(name.Length + 1)..];
        for (var i = start + 1; i < lines.Length && lines[i].Length > 0 && (lines[i][0] == ' ' || lines[i][0] == '\t'); i++)
        {
            // RFC 5322 §2.2.3: unfolding removes the CRLF only; the white space stays.
            value += lines[i];
        }

        return value.Trim();
    }

    [Fact]
    public async Task SendAsync_LongListUnsubscribeHeader_StaysPlainAndUnfoldsToTheSameUrls()
    {
        var id = "audit-s-lu-" + Guid.NewGuid().ToString("N");
        var url = "https://shop.example/unsubscribe?t=" + new string('A', 120) + "." + new string('b', 43);
        var header = $"<{url}>, <mailto:unsubscribe@shop.example?subject=unsubscribe>";
        var email = new EmailMessage
        {
            MessageId = id,
            From = "Shop <hello@shop.example>",
            To = "ann@example.com",
            Subject = "Sale",
            TextBody = "Hi",
            Headers = new Dictionary<string, string>
            {
                ["List-Unsubscribe"] = header,
                ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
            },
        };

        var result = await Transport().SendAsync(email);

        Assert.True(result.IsAccepted, result.Reason);
        var raw = RawHeaders(id + "@shop.example");
        var unfolded = Unfolded(raw, "List-Unsubscribe");
        Assert.DoesNotContain("=?", unfolded, StringComparison.Ordinal);
        Assert.Contains("<" + url + ">", unfolded, StringComparison.Ordinal);
        Assert.Contains("<mailto:unsubscribe@shop.example?subject=unsubscribe>", unfolded, StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", Unfolded(raw, "List-Unsubscribe-Post"));
    }

    [Fact]
    public async Task SendAsync_NonAsciiSubjectAndDisplayName_AreEncodedWordsThatDecodeBack()
    {
        var id = "audit-s-subj-" + Guid.NewGuid().ToString("N");
        var subject = "Ihre Bestellung über 42 € ist unterwegs — Grüße aus Köln, 日本からのお知らせ, and a long tail to force folding past 78 characters";
        var email = new EmailMessage
        {
            MessageId = id,
            From = "Café Müller <hello@shop.example>",
            To = "Zoë Ångström <zoe@example.com>",
            Subject = subject,
            TextBody = "Hallo",
        };

        var result = await Transport().SendAsync(email);

        Assert.True(result.IsAccepted, result.Reason);
        var raw = RawHeaders(id + "@shop.example");
        Assert.True(raw.Split('\n').All(l => l.Length <= 998), "A header line is longer than RFC 5322 allows.");
        Assert.True(System.Text.Ascii.IsValid(raw), "Raw headers must be 7-bit when the server did not ask for SMTPUTF8.");
        var mime = Assert.Single(server.Delivered(id + "@shop.example"));
        Assert.Equal(subject, mime.Subject);
        Assert.Equal("Café Müller", Assert.Single(mime.From.Mailboxes).Name);
        Assert.Equal("Zoë Ångström", Assert.Single(mime.To.Mailboxes).Name);
    }
}
