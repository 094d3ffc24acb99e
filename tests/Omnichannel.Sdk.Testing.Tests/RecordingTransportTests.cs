using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Testing.Tests;

public sealed class RecordingTransportTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), "omni-rec-" + Guid.NewGuid().ToString("N") + ".jsonl");

    public void Dispose() => File.Delete(_file);

    private static EmailMessage Email(string id, string to = "ann@example.com") =>
        new() { MessageId = id, From = "shop@kitty.example", To = to, Subject = "Hi", TextBody = "Hello" };

    [Fact]
    public async Task SendAsync_RecordsMessagesInOrderAndAccepts()
    {
        var transport = new RecordingTransport();

        var result = await transport.SendAsync(Email("m1"));
        await transport.SendAsync(Email("m2"));

        Assert.True(result.IsAccepted);
        Assert.Equal("recorded:m1", result.ProviderMessageId);
        Assert.Equal(["m1", "m2"], transport.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task SentAndSentTo_FilterByShapeAndRecipient()
    {
        var email = new RecordingTransport();
        var sms = email.ForChannel(ChannelNames.Sms);
        await email.SendAsync(Email("e1", "Ann <ANN@example.com>"));
        await email.SendAsync(Email("e2", "bob@example.com"));
        await sms.SendAsync(new SmsMessage { MessageId = "s1", To = "+15550100", Body = "Hi" });

        Assert.Equal(["e1", "e2"], email.Sent<EmailMessage>().Select(m => m.MessageId));
        Assert.Equal("s1", Assert.Single(email.Sent<SmsMessage>()).MessageId);
        Assert.Equal("e1", Assert.Single(email.SentTo("ann@example.com")).MessageId);
        Assert.Equal("s1", Assert.Single(sms.SentTo("+15550100")).MessageId);
        Assert.Equal("s1", Assert.Single(email.MessagesOn(ChannelNames.Sms)).MessageId);
        Assert.Equal(2, email.MessagesOn(ChannelNames.Email).Count);
        Assert.Equal(ChannelNames.Sms, sms.Records.Last().Channel);
    }

    [Fact]
    public async Task SentTo_FindsPushByDeviceTokenAndWebhookByUrl()
    {
        var transport = new RecordingTransport(ChannelNames.Push);
        await transport.SendAsync(new PushMessage { MessageId = "p1", DeviceTokens = ["t1", "t2"], Title = "T", Body = "B" });
        await transport.ForChannel(ChannelNames.Webhook).SendAsync(new WebhookMessage
        {
            MessageId = "h1", Url = new Uri("https://partner.example/hook"), EventType = "e", Payload = JsonDocument.Parse("{}").RootElement,
        });

        Assert.Equal("p1", Assert.Single(transport.SentTo("t2")).MessageId);
        Assert.Equal("h1", Assert.Single(transport.SentTo("https://partner.example/hook")).MessageId);
        Assert.Empty(transport.SentTo("t3"));
    }

    [Fact]
    public async Task DuplicateMessageIds_WhenAMessageIsSentTwice_NamesIt()
    {
        var transport = new RecordingTransport();
        await transport.SendAsync(Email("m1"));
        await transport.SendAsync(Email("m2"));
        Assert.Empty(transport.DuplicateMessageIds);

        await transport.SendAsync(Email("m1"));

        Assert.Equal(["m1"], transport.DuplicateMessageIds);
        Assert.Equal(3, transport.Messages.Count);
    }

    [Fact]
    public async Task Clear_ForgetsEverything()
    {
        var transport = new RecordingTransport(filePath: _file);
        await transport.SendAsync(Email("m1"));

        transport.Clear();

        Assert.Empty(transport.Messages);
        Assert.Empty(new RecordingTransport(filePath: _file).Messages);
    }

    [Fact]
    public async Task SendAsync_WhenCalledFromManyThreads_RecordsEveryMessage()
    {
        var transport = new RecordingTransport(filePath: _file);

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () => await transport.SendAsync(Email("m" + i)))));

        Assert.Equal(100, transport.Messages.Select(m => m.MessageId).Distinct().Count());
        Assert.Equal(100, File.ReadAllLines(_file).Length);
    }

    [Fact]
    public async Task Constructor_WhenFileHasEarlierMessages_LoadsThemWithTheirShapes()
    {
        var before = new RecordingTransport(filePath: _file);
        await before.SendAsync(Email("e1") with { HtmlBody = "<p>x</p>", Headers = new Dictionary<string, string> { ["X-Campaign"] = "spring" } });
        await before.ForChannel(ChannelNames.Sms).SendAsync(new SmsMessage { MessageId = "s1", To = "+15550100", Body = "€5 off", Topic = "promo" });
        await before.ForChannel(ChannelNames.Webhook).SendAsync(new WebhookMessage { MessageId = "h1", EventType = "order.paid", Payload = JsonDocument.Parse("""{"id":7}""").RootElement });
        await before.ForChannel(ChannelNames.InApp).SendAsync(new InAppMessage { MessageId = "i1", To = "c1", Text = "Hi", Actions = [new MessageAction("Go", "https://x.example")] });

        var after = new RecordingTransport(filePath: _file);

        Assert.Equal(["e1", "s1", "h1", "i1"], after.Messages.Select(m => m.MessageId));
        var email = Assert.Single(after.Sent<EmailMessage>());
        Assert.Equal("spring", email.Headers["X-Campaign"]);
        Assert.Equal("<p>x</p>", email.HtmlBody);
        var sms = Assert.Single(after.Sent<SmsMessage>());
        Assert.Equal("€5 off", sms.Body);
        Assert.Equal("promo", sms.Topic);
        Assert.Equal(ChannelNames.Sms, after.Records[1].Channel);
        Assert.Equal(7, Assert.Single(after.Sent<WebhookMessage>()).Payload.GetProperty("id").GetInt32());
        Assert.Equal("https://x.example", Assert.Single(after.Sent<InAppMessage>()).Actions[0].Url);
    }

    [Fact]
    public async Task Constructor_WhenRestartedProcessKeepsSending_CountsAcrossRestartsWithoutLoss()
    {
        var first = new RecordingTransport(filePath: _file);
        await first.SendAsync(Email("m1"));
        await first.SendAsync(Email("m2"));

        var second = new RecordingTransport(filePath: _file);
        await second.SendAsync(Email("m3"));
        var third = new RecordingTransport(filePath: _file);

        Assert.Equal(["m1", "m2", "m3"], third.Messages.Select(m => m.MessageId));
        Assert.Empty(third.DuplicateMessageIds);
    }

    [Fact]
    public async Task Constructor_WhenLastLineWasTornByACrash_DropsItAndAppendsCleanly()
    {
        var first = new RecordingTransport(filePath: _file);
        await first.SendAsync(Email("m1"));
        await File.AppendAllTextAsync(_file, """{"channel":"email","type":"email","message":{"messageId":"m2","fr""");

        var restarted = new RecordingTransport(filePath: _file);
        await restarted.SendAsync(Email("m3"));

        Assert.Equal(["m1", "m3"], new RecordingTransport(filePath: _file).Messages.Select(m => m.MessageId));
    }
}
