using MailKit.Security;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>Audit H: header injection, non-ASCII and IDN addresses, long subjects over a real SMTP server.</summary>
[Collection(SmtpServerCollection.Name)]
public sealed class AuditHSmtpTests(SmtpServerFixture server)
{
    private SmtpTransport Transport(Action<SmtpTransportOptions>? configure = null)
    {
        var options = new SmtpTransportOptions { Host = "127.0.0.1", Port = server.Port, SecureSocketOptions = SecureSocketOptions.None, Timeout = TimeSpan.FromSeconds(10) };
        configure?.Invoke(options);
        return new SmtpTransport(options);
    }

    private static EmailMessage Email(string id) => new()
    {
        MessageId = id,
        From = "Kitty Supplies <hello@kitty.example>",
        To = "ann@example.com",
        Subject = "Hello",
        TextBody = "Hi Ann.",
    };

    private IEnumerable<MimeMessage> AllDelivered()
    {
        var folder = Path.Combine(server.MailDirectory, "new");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Select(f => MimeMessage.Load(f)).ToList() : [];
    }

    [Theory]
    [InlineData("Hi Ann\r\nBcc: mallory@evil.example\r\nX-Injected: yes")]
    [InlineData("Hi Ann\nBcc: mallory@evil.example")]
    [InlineData("Hi Ann\rBcc: mallory@evil.example")]
    [InlineData("Hi Ann\u2028Bcc: mallory@evil.example\u2029X-Injected: yes")]
    [InlineData("Hi Ann\u0085Bcc: mallory@evil.example")]
    public async Task AuditH_SubjectWithLineBreaks_InjectsNoHeaderAndNoRecipient(string subject)
    {
        var id = "audith-subject-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id) with { Subject = subject });

        Assert.True(result.IsAccepted, result.Reason);
        var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
        Assert.Null(mime.Headers["Bcc"]);
        Assert.Null(mime.Headers["X-Injected"]);
        Assert.Equal("ann@example.com", mime.Headers["X-RcptTo"]);
        Assert.Contains("mallory@evil.example", mime.Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditH_ExtraHeaderValueWithLineBreaks_InjectsNoHeaderAndNoRecipient()
    {
        var id = "audith-header-" + Guid.NewGuid().ToString("N");
        var message = Email(id) with
        {
            Headers = new Dictionary<string, string> { ["X-Campaign"] = "spring\r\nBcc: mallory@evil.example\r\nX-Injected: yes" },
        };

        var result = await Transport().SendAsync(message);

        if (result.IsAccepted)
        {
            var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
            Assert.Null(mime.Headers["Bcc"]);
            Assert.Null(mime.Headers["X-Injected"]);
            Assert.Equal("ann@example.com", mime.Headers["X-RcptTo"]);
        }
        else
        {
            Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
            Assert.Empty(server.Delivered(id + "@kitty.example"));
        }
    }

    [Theory]
    [InlineData("\"Kitty\r\nBcc: mallory@evil.example\" <hello@kitty.example>")]
    [InlineData("Kitty\r\nBcc: mallory@evil.example <hello@kitty.example>")]
    [InlineData("\"Kitty\u2028Bcc: mallory@evil.example\" <hello@kitty.example>")]
    public async Task AuditH_FromDisplayNameWithLineBreaks_InjectsNoHeaderAndNoRecipient(string from)
    {
        var id = "audith-from-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id) with { From = from, ReplyTo = from });

        Assert.NotEqual(DeliveryStatus.TransientFailure, result.Status);
        Assert.DoesNotContain(AllDelivered(), m => m.Headers["X-RcptTo"]?.Contains("mallory", StringComparison.Ordinal) == true);
        foreach (var mime in server.Delivered(id + "@kitty.example"))
        {
            Assert.Null(mime.Headers["Bcc"]);
            Assert.Equal("hello@kitty.example", Assert.Single(mime.From.Mailboxes).Address);
        }
    }

    [Fact]
    public async Task AuditH_NonAsciiDisplayNamesAndSubject_RoundTripThroughRfc2047()
    {
        var id = "audith-utf8-" + Guid.NewGuid().ToString("N");
        var message = Email(id) with
        {
            From = "Zoë Åström – Kätzchen <hello@kitty.example>",
            To = "Jörg Ünal <joerg@example.com>",
            ReplyTo = "Службa поддержки <care@kitty.example>",
            Subject = "Ihre Bestellung „Größe L“ ist unterwegs ✓ 🐱 — 注文",
        };

        var result = await Transport().SendAsync(message);

        Assert.True(result.IsAccepted, result.Reason);
        var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
        Assert.Equal("Zoë Åström – Kätzchen", Assert.Single(mime.From.Mailboxes).Name);
        Assert.Equal("Jörg Ünal", Assert.Single(mime.To.Mailboxes).Name);
        Assert.Equal("Службa поддержки", Assert.Single(mime.ReplyTo.Mailboxes).Name);
        Assert.Equal(message.Subject, mime.Subject);
    }

    [Fact]
    public async Task AuditH_VeryLongSubject_IsFoldedAndReadBackWhole()
    {
        var id = "audith-long-" + Guid.NewGuid().ToString("N");
        var subject = string.Concat(Enumerable.Repeat("Größte Auswahl für Ihre Katze ", 40)) + new string('x', 1200);

        var result = await Transport().SendAsync(Email(id) with { Subject = subject });

        Assert.True(result.IsAccepted, result.Reason);
        var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
        Assert.Equal(subject, mime.Subject);
    }

    [Fact]
    public async Task AuditH_SenderWithAnInternationalisedDomain_GetsAnAsciiMessageId()
    {
        var id = "audith-idn-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id) with { From = "Kätzchen <hallo@kätzchen.example>" });

        Assert.True(result.IsAccepted, result.Reason);
        Assert.All(result.ProviderMessageId!, c => Assert.True(c < 128, $"non-ASCII Message-ID {result.ProviderMessageId}"));
        Assert.Equal(id + "@xn--ktzchen-5wa.example", result.ProviderMessageId);
        var raw = Directory.GetFiles(Path.Combine(server.MailDirectory, "new")).Select(File.ReadAllText).Single(t => t.Contains(id, StringComparison.Ordinal));
        Assert.Contains("Message-Id: <" + result.ProviderMessageId + ">", raw, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AuditH_RecipientListInTo_IsRejectedAndSendsToNobody()
    {
        var id = "audith-list-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id) with { To = "ann@example.com, mallory@evil.example" });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Empty(server.Delivered(id + "@kitty.example"));
    }

    [Fact]
    public async Task AuditH_NonAsciiLocalPart_IsAValueNotAnException()
    {
        var id = "audith-smtputf8-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id) with { To = "jörg@exämple.com" });

        Assert.NotEqual(DeliveryStatus.None, result.Status);
    }
}
