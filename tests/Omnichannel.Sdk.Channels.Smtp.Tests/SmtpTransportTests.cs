using MailKit.Security;
using MimeKit;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

[Collection(SmtpServerCollection.Name)]
public sealed class SmtpTransportTests(SmtpServerFixture server)
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
        ReplyTo = "care@kitty.example",
        To = "Ann Example <ann@example.com>",
        Subject = "Your order #42 is on its way 🐱",
        TextBody = "Hi Ann, your order ships today.",
        HtmlBody = "<p>Hi Ann, your order <b>ships</b> today.</p>",
        Headers = new Dictionary<string, string>
        {
            ["List-Unsubscribe"] = "<https://kitty.example/unsubscribe/ann>",
            ["X-Campaign"] = "order-updates",
        },
    };

    [Fact]
    public async Task SendAsync_DeliversMimeWithAddressesSubjectHeadersAndBothBodies()
    {
        var id = "order-42-shipped-" + Guid.NewGuid().ToString("N");

        var result = await Transport().SendAsync(Email(id));

        Assert.True(result.IsAccepted, result.Reason);
        Assert.Equal(id + "@kitty.example", result.ProviderMessageId);
        var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
        var from = Assert.Single(mime.From.Mailboxes);
        Assert.Equal("hello@kitty.example", from.Address);
        Assert.Equal("Kitty Supplies", from.Name);
        Assert.Equal("care@kitty.example", Assert.Single(mime.ReplyTo.Mailboxes).Address);
        Assert.Equal("ann@example.com", Assert.Single(mime.To.Mailboxes).Address);
        Assert.Equal("Your order #42 is on its way 🐱", mime.Subject);
        Assert.Equal("<https://kitty.example/unsubscribe/ann>", mime.Headers["List-Unsubscribe"]);
        Assert.Equal("order-updates", mime.Headers["X-Campaign"]);
        var alternative = Assert.IsType<MultipartAlternative>(mime.Body);
        Assert.Equal(2, alternative.Count);
        Assert.Equal("Hi Ann, your order ships today.", mime.TextBody?.TrimEnd());
        Assert.Equal("<p>Hi Ann, your order <b>ships</b> today.</p>", mime.HtmlBody?.TrimEnd());
        Assert.Equal("ann@example.com", mime.Headers["X-RcptTo"]); // the envelope, added by the server
    }

    [Fact]
    public async Task SendAsync_WhenResent_CarriesTheSameMessageId()
    {
        var id = "welcome-" + Guid.NewGuid().ToString("N");
        var transport = Transport();

        await transport.SendAsync(Email(id));
        await transport.SendAsync(Email(id));

        var delivered = server.Delivered(id + "@kitty.example");
        Assert.Equal(2, delivered.Count);
    }

    [Fact]
    public async Task SendAsync_WhenMessageIdIsNotADotAtom_DerivesAStableSafeMessageId()
    {
        var id = "journey/welcome:step 1 " + Guid.NewGuid().ToString("N");
        var transport = Transport(o => o.MessageIdDomain = "mail.kitty.example");

        var first = await transport.SendAsync(Email(id));
        var second = await transport.SendAsync(Email(id));

        Assert.True(first.IsAccepted, first.Reason);
        Assert.Equal(first.ProviderMessageId, second.ProviderMessageId);
        Assert.EndsWith("@mail.kitty.example", first.ProviderMessageId, StringComparison.Ordinal);
        Assert.Equal(2, server.Delivered(first.ProviderMessageId!).Count);
    }

    [Fact]
    public async Task SendAsync_WhenFromIsEmpty_UsesDefaultFromAndSendsTextOnly()
    {
        var id = "reset-" + Guid.NewGuid().ToString("N");
        var transport = Transport(o => o.DefaultFrom = "Kitty <noreply@kitty.example>");

        var result = await transport.SendAsync(new EmailMessage { MessageId = id, From = "", To = "bob@example.com", Subject = "Reset", TextBody = "Your code is 1234." });

        Assert.True(result.IsAccepted, result.Reason);
        var mime = Assert.Single(server.Delivered(id + "@kitty.example"));
        Assert.Equal("noreply@kitty.example", Assert.Single(mime.From.Mailboxes).Address);
        Assert.IsType<TextPart>(mime.Body);
        Assert.Equal("Your code is 1234.", mime.TextBody?.TrimEnd());
    }

    [Fact]
    public async Task SendAsync_WhenServerIsNotListening_FailsTransiently()
    {
        var transport = Transport(o => o.Port = SmtpServerFixture.FreePort());

        var result = await transport.SendAsync(Email("nobody-home"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.Contains("ConnectionRefused", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenRecipientIsNotAnAddress_FailsPermanentlyWithoutSending()
    {
        var result = await Transport().SendAsync(Email("bad-address") with { To = "not an address" });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.StartsWith("Invalid address", result.Reason, StringComparison.Ordinal);
        Assert.Empty(server.Delivered("bad-address@kitty.example"));
    }

    [Fact]
    public async Task SendAsync_WhenMessageIsNotEmail_FailsPermanently()
    {
        var result = await Transport().SendAsync(new SmsMessage { MessageId = "s1", To = "+15550100", Body = "Hi" });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Contains("SmsMessage", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenTokenIsCancelled_ThrowsAndSendsNothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Transport().SendAsync(Email("cancelled"), cancelled.Token));
        Assert.Empty(server.Delivered("cancelled@kitty.example"));
    }
}
