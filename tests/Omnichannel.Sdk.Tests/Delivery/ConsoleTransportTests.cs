using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class ConsoleTransportTests
{
    [Fact]
    public async Task SendAsync_WhenEmail_PrintsChannelRecipientSubjectAndTextAndAccepts()
    {
        var output = new StringWriter();
        var transport = new ConsoleTransport(ChannelNames.Email, output);
        var email = new EmailMessage
        {
            MessageId = "order-42",
            From = "shop@kitty.example",
            To = "ann@example.com",
            Subject = "Your order",
            TextBody = "Thanks for your order.",
            HtmlBody = "<p>Thanks</p>",
        };

        var result = await transport.SendAsync(email);

        Assert.True(result.IsAccepted);
        Assert.Equal("console:order-42", result.ProviderMessageId);
        var text = output.ToString();
        Assert.Contains("--- email message order-42 ---", text, StringComparison.Ordinal);
        Assert.Contains("To: ann@example.com", text, StringComparison.Ordinal);
        Assert.Contains("Subject: Your order", text, StringComparison.Ordinal);
        Assert.Contains("Thanks for your order.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<p>", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenPushOnAnyChannel_PrintsTitleBodyAndTokens()
    {
        var output = new StringWriter();
        var transport = new ConsoleTransport("app_push", output);

        await transport.SendAsync(new PushMessage { MessageId = "p1", DeviceTokens = ["tok-1", "tok-2"], Title = "Back in stock", Body = "Catnip is back" });

        var text = output.ToString();
        Assert.Equal("app_push", transport.Channel);
        Assert.Contains("--- app_push message p1 ---", text, StringComparison.Ordinal);
        Assert.Contains("To: tok-1, tok-2", text, StringComparison.Ordinal);
        Assert.Contains("Title: Back in stock", text, StringComparison.Ordinal);
        Assert.Contains("Catnip is back", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenSms_PrintsSegmentCount()
    {
        var output = new StringWriter();

        await new ConsoleTransport(ChannelNames.Sms, output).SendAsync(new SmsMessage { MessageId = "s1", To = "+15550100", Body = new string('a', 161) });

        Assert.Contains("Segments: 2 (Gsm7, 161 units)", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenWhatsAppWebhookAndInApp_PrintsTheirContent()
    {
        var output = new StringWriter();
        var transport = new ConsoleTransport(ChannelNames.Chat, output);

        await transport.SendAsync(new WhatsAppMessage { MessageId = "w1", To = "+15550100", TemplateName = "order_shipped", TemplateParameters = ["42"] });
        await transport.SendAsync(new WebhookMessage { MessageId = "h1", EventType = "order.shipped", Payload = JsonDocument.Parse("""{"id":42}""").RootElement });
        await transport.SendAsync(new InAppMessage { MessageId = "i1", To = "c-1", Text = "Need help?", Actions = [new MessageAction("Yes", "https://kitty.example/help")] });

        var text = output.ToString();
        Assert.Contains("Template: order_shipped", text, StringComparison.Ordinal);
        Assert.Contains("{{1}}: 42", text, StringComparison.Ordinal);
        Assert.Contains("Event: order.shipped", text, StringComparison.Ordinal);
        Assert.Contains("""{"id":42}""", text, StringComparison.Ordinal);
        Assert.Contains("Action: Yes -> https://kitty.example/help", text, StringComparison.Ordinal);
        Assert.Contains("Need help?", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_WhenCalledFromManyThreads_WritesBlocksWhole()
    {
        var output = new StringWriter();
        var transport = new ConsoleTransport(ChannelNames.Sms, output);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            Task.Run(async () => await transport.SendAsync(new SmsMessage { MessageId = "s" + i, To = "+1555", Body = "body " + i }))));

        var blocks = output.ToString().Split("--- sms message ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(50, blocks.Length);
        Assert.All(blocks, b =>
        {
            var id = b[..b.IndexOf(' ', StringComparison.Ordinal)];
            Assert.Contains("body " + id[1..], b, StringComparison.Ordinal);
        });
    }
}
