using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class FileTransportTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "omni-file-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task SendAsync_WhenEmailHasBothBodies_WritesMultipartAlternativeEml()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);
        var email = new EmailMessage
        {
            MessageId = "order-42.confirmation",
            From = "Kitty Supplies <hello@kitty.example>",
            ReplyTo = "care@kitty.example",
            To = "ann@example.com",
            Subject = "Your order ✓",
            TextBody = "Thanks for your order.",
            HtmlBody = "<p>Thanks for your <b>order</b>.</p>",
            Headers = new Dictionary<string, string> { ["List-Unsubscribe"] = "<https://kitty.example/u/1>" },
        };

        var result = await transport.SendAsync(email);

        Assert.True(result.IsAccepted);
        Assert.Equal("order-42.confirmation.eml", result.ProviderMessageId);
        var eml = await File.ReadAllTextAsync(Path.Combine(_directory, "order-42.confirmation.eml"));
        Assert.Contains("Message-ID: <order-42.confirmation@kitty.example>", eml, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("To: ann@example.com", eml, StringComparison.Ordinal);
        Assert.Contains("Reply-To: care@kitty.example", eml, StringComparison.Ordinal);
        Assert.Contains("List-Unsubscribe: <https://kitty.example/u/1>", eml, StringComparison.Ordinal);
        Assert.Contains("multipart/alternative", eml, StringComparison.Ordinal);
        Assert.Contains("text/plain", eml, StringComparison.Ordinal);
        Assert.Contains("text/html", eml, StringComparison.Ordinal);
        Assert.Contains("Subject: =?utf-8?", eml, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Thanks for your order.", eml, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_directory));
        Assert.Empty(Directory.GetDirectories(_directory));
    }

    [Fact]
    public async Task SendAsync_FromAnInternationalisedDomain_WritesAnAsciiMessageId()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);
        var result = await transport.SendAsync(new EmailMessage { MessageId = "m-1", From = "hallo@kätzchen.example", To = "ann@example.com", Subject = "Hallo", TextBody = "Hallo" });

        Assert.True(result.IsAccepted);
        var eml = await File.ReadAllTextAsync(Path.Combine(_directory, "m-1.eml"));
        Assert.Contains("Message-ID: <m-1@xn--ktzchen-5wa.example>", eml, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SendAsync_WhenTheSameEmailIsResent_ReplacesTheFile()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);
        var email = new EmailMessage { MessageId = "m1", From = "a@kitty.example", To = "b@example.com", Subject = "Hi", TextBody = "one" };

        await transport.SendAsync(email);
        await transport.SendAsync(email with { TextBody = "two" });

        var file = Assert.Single(Directory.GetFiles(_directory));
        Assert.Contains("two", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenMessageIdHasUnsafeCharacters_UsesASafeDistinctFileName()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);
        var email = new EmailMessage { MessageId = "journey/welcome:step 1", From = "a@kitty.example", To = "b@example.com", Subject = "Hi", TextBody = "x" };

        var first = await transport.SendAsync(email);
        var second = await transport.SendAsync(email with { MessageId = "journey/welcome:step_1" });

        Assert.NotEqual(first.ProviderMessageId, second.ProviderMessageId);
        Assert.Equal(2, Directory.GetFiles(_directory, "*.eml").Length);
        Assert.DoesNotContain('/', first.ProviderMessageId!);
    }

    [Fact]
    public async Task SendAsync_WhenAddressIsInvalid_FailsPermanently()
    {
        var transport = new FileTransport(ChannelNames.Email, _directory);

        var result = await transport.SendAsync(new EmailMessage { MessageId = "m1", From = "a@kitty.example", To = "not an address", Subject = "Hi", TextBody = "x" });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Contains("Invalid address", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenNotEmail_AppendsOneJsonLinePerMessageToChannelFile()
    {
        var transport = new FileTransport(ChannelNames.Sms, _directory);

        var first = await transport.SendAsync(new SmsMessage { MessageId = "s1", To = "+15550100", Body = "Hello" });
        await transport.SendAsync(new SmsMessage { MessageId = "s2", To = "+15550101", Body = "Bye 😀" });

        Assert.True(first.IsAccepted);
        Assert.Equal("sms.jsonl", first.ProviderMessageId);
        var lines = await File.ReadAllLinesAsync(Path.Combine(_directory, "sms.jsonl"));
        Assert.Equal(2, lines.Length);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("s2", second.RootElement.GetProperty("messageId").GetString());
        Assert.Equal("+15550101", second.RootElement.GetProperty("to").GetString());
        Assert.Equal("Bye 😀", second.RootElement.GetProperty("body").GetString());
    }

    [Fact]
    public async Task SendAsync_WhenManyThreadsAppend_KeepsEveryLineWhole()
    {
        var transport = new FileTransport(ChannelNames.Webhook, _directory);
        var payload = JsonDocument.Parse("""{"ok":true}""").RootElement;

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(async () => await transport.SendAsync(new WebhookMessage { MessageId = "h" + i, EventType = "order.paid", Payload = payload }))));

        var lines = await File.ReadAllLinesAsync(Path.Combine(_directory, "webhook.jsonl"));
        var ids = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("messageId").GetString()).ToHashSet();
        Assert.Equal(40, ids.Count);
    }
}
