using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>The core's FileTransport writes .eml files; MimeKit (a real mail parser) must read them back intact.</summary>
public sealed class FileTransportMimeTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "omni-eml-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task FileTransport_WritesEmlThatAMailParserReadsBack()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);

        var result = await transport.SendAsync(new EmailMessage
        {
            MessageId = "order-42",
            From = "Kitty Supplies <hello@kitty.example>",
            ReplyTo = "care@kitty.example",
            To = "Ann <ann@example.com>",
            Subject = "Grüße — your order 🐱",
            TextBody = "Danke, Ann! €5 off next time.",
            HtmlBody = "<p>Danke, <b>Ann</b>! €5 off next time.</p>",
            Headers = new Dictionary<string, string> { ["X-Campaign"] = "spring" },
        });

        using var mime = await MimeMessage.LoadAsync(Path.Combine(_directory, result.ProviderMessageId!));
        Assert.Equal("order-42@kitty.example", mime.MessageId);
        Assert.Single(mime.Headers, h => h.Id == HeaderId.MessageId);
        Assert.Equal("Kitty Supplies", Assert.Single(mime.From.Mailboxes).Name);
        Assert.Equal("care@kitty.example", Assert.Single(mime.ReplyTo.Mailboxes).Address);
        Assert.Equal("ann@example.com", Assert.Single(mime.To.Mailboxes).Address);
        Assert.Equal("Grüße — your order 🐱", mime.Subject);
        Assert.Equal("spring", mime.Headers["X-Campaign"]);
        Assert.IsType<MultipartAlternative>(mime.Body);
        Assert.Equal("Danke, Ann! €5 off next time.", mime.TextBody?.TrimEnd());
        Assert.Equal("<p>Danke, <b>Ann</b>! €5 off next time.</p>", mime.HtmlBody?.TrimEnd());
    }
}
