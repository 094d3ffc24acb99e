using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// Issue 14 (delivery per message): a planned message is written straight into its outbox payload, and a dispatch of the
/// payload this process planned sends the planned message instead of reading it back. The stored bytes, and what any
/// process reads from them, must be what writing the message into a <see cref="JsonElement"/> first gave.
/// </summary>
public sealed class OutboxCandidateTests
{
    private static readonly JsonSerializerOptions SerializersOwn = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    // The candidates as before: the message written into a JsonElement, then the record written by the serializer's own rules.
    private static string WrittenAsBefore(OutboxPayload payload)
    {
        var candidates = payload.Candidates.Select(c => new OutboxCandidate(c.Channel, c.Address, JsonSerializer.SerializeToElement(OutboxPayload.Message(c), OutboxPayload.Message(c).GetType(), OutboxPayload.Json)) { Shape = c.Shape }).ToList();
        return Encoding.UTF8.GetString((payload with { Candidates = candidates }).Serialize());
    }

    private static OutboundMessage MessageOf(int kind, string text, string? other, string key) => (kind % 5) switch
    {
        0 => new EmailMessage
        {
            MessageId = key, From = "shop@example.com", To = "ann@example.com", Subject = text, HtmlBody = other, TextBody = text,
            Headers = new Dictionary<string, string> { ["X-Note"] = text }, Metadata = new Dictionary<string, string> { [text] = other! },
        },
        1 => new SmsMessage { MessageId = key, To = "+447700900123", Body = text, From = other },
        2 => new PushMessage { MessageId = key, DeviceTokens = [text, "t2"], Title = text, Body = other ?? "b", DeepLink = other, Data = new Dictionary<string, string> { ["k"] = text } },
        3 => new WhatsAppMessage { MessageId = key, To = "+447700900123", TemplateName = other, TemplateParameters = [text], Text = text },
        _ => new InAppMessage { MessageId = key, To = "ann", Text = text, Actions = [new MessageAction(text, other)] },
    };

    /// <summary>Every kept message type, any text (escapes, surrogates, nulls): the payload's bytes are the same as before, and read back the same.</summary>
    [Property(MaxTest = 300)]
    public void APlannedMessage_IsStoredAsBefore_AndReadsBackTheSame(NonNegativeInt kind, NonNull<string> text, string? other, bool shaped)
    {
        var message = MessageOf(kind.Get, text.Get, other, "m-1");
        var channel = shaped ? "line" : message.Channel;
        var candidate = OutboxPayload.Candidate(channel, "to", message);
        var payload = new OutboxPayload("m-1", "p-1", null, MessageClass.Transactional, [candidate]);

        var kept = KeptMessage.Keeps(message);
        Assert.Equal(kept, candidate.Planned is not null);
        Assert.Equal(!HasLoneSurrogate(text.Get) && !HasLoneSurrogate(other), kept); // a lone one is not kept by the JSON
        var bytes = payload.Serialize();
        Assert.Equal(!kept, candidate.IsWritten); // kept: written into the payload, not into an element of its own
        Assert.Equal(WrittenAsBefore(payload), Encoding.UTF8.GetString(bytes));
        var before = new RecordAsBefore(channel, "to", JsonSerializer.SerializeToElement(message, message.GetType(), OutboxPayload.Json)) { Shape = candidate.Shape };
        Assert.Equal(JsonSerializer.Serialize(before, OutboxPayload.Json), JsonSerializer.Serialize(candidate, OutboxPayload.Json)); // the serializer's own record handling, byte for byte

        var read = Assert.Single(OutboxPayload.Deserialize(bytes).Candidates);
        Assert.Null(read.Planned);
        Assert.Equal(candidate.Shape, read.Shape);
        Assert.Equal(JsonSerializer.SerializeToElement(message, message.GetType(), SerializersOwn).GetRawText(), read.Message.GetRawText());
        Assert.Equal(JsonSerializer.Serialize(message, message.GetType(), SerializersOwn), JsonSerializer.Serialize(OutboxPayload.Message(read), message.GetType(), SerializersOwn));
        var sent = OutboxPayload.Message(candidate); // what this process hands a transport
        Assert.NotSame(message, sent);
        Assert.NotSame(sent, OutboxPayload.Message(candidate)); // a new object each time, as read back from the JSON
        Assert.Equal(OutboxPayload.Message(read).GetType(), sent.GetType());
        Assert.Equal(JsonSerializer.Serialize(OutboxPayload.Message(read), message.GetType(), SerializersOwn), JsonSerializer.Serialize(sent, message.GetType(), SerializersOwn));
        if (kept)
        {
            Assert.Equivalent(OutboxPayload.Message(read), sent, strict: true); // every value, maps and lists included
        }
    }

    /// <summary>A message with a JSON payload of the renderer's (which may dispose its document) is written at once, as before.</summary>
    [Fact]
    public void AMessageWithAJsonPayload_IsWrittenAtPlanning()
    {
        WebhookMessage message;
        using (var document = JsonDocument.Parse("""{"order":"o-1"}"""))
        {
            message = new WebhookMessage { MessageId = "m-1", EventType = "order", Payload = document.RootElement };
            var candidate = OutboxPayload.Candidate(ChannelNames.Webhook, "https://example.com/hook", message);
            Assert.Null(candidate.Planned);
            Assert.True(candidate.IsWritten);
            document.Dispose();
            var read = Assert.IsType<WebhookMessage>(OutboxPayload.Message(candidate));
            Assert.Equal("o-1", read.Payload.GetProperty("order").GetString());
        }
    }

    /// <summary>Entries written by earlier versions (the serializer's own record handling, any name case, unknown names) read as before.</summary>
    [Theory]
    [InlineData("""{"key":"m-1","profileId":"p","class":0,"candidates":[{"channel":"email","address":"a@example.com","message":{"messageId":"m-1","from":"f","to":"a@example.com","subject":"s"}}]}""", null)]
    [InlineData("""{"Key":"m-1","ProfileId":"p","Class":0,"Candidates":[{"Channel":"line","Address":"U1","Message":{"messageId":"m-1","to":"U1","body":"hi"},"Shape":"sms","Later":[1,{"a":2}]}]}""", "sms")]
    public void AnEntryWrittenBefore_ReadsAsBefore(string json, string? shape)
    {
        var payload = OutboxPayload.Deserialize(Encoding.UTF8.GetBytes(json));
        var c = Assert.Single(payload.Candidates);
        Assert.Equal(shape, c.Shape);
        var message = OutboxPayload.Message(c);
        Assert.Equal("m-1", message.MessageId);
        Assert.Equal(shape ?? c.Channel, message.Channel);
    }

    /// <summary>Through the engine: the message a transport is handed is the one the renderer gave (with the planner's fields), sent once.</summary>
    [Fact]
    public async Task ThroughTheEngine_TheTransportGetsThePlannedMessage()
    {
        var transport = new PlannedRecorder();
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("rec", transport));
        await host.Engine.TrackAsync(new CustomerEvent
        {
            Id = "signup", Type = "user.signed_up", Timestamp = host.Time.GetUtcNow(),
            Identifiers = [Identifier.CustomerId("ann"), Identifier.Email("ann@example.com")],
        });

        var result = await host.Engine.SendAsync(Identifier.CustomerId("ann"), new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, result.Status);
        await host.Engine.RunDispatchAsync();

        var sent = Assert.IsType<EmailMessage>(Assert.Single(transport.Sent));
        Assert.Equal("receipt-1", sent.MessageId);
        Assert.Equal("ann@example.com", sent.To);
        Assert.Equal("Thank you, \u00e9\u2028\ud83d\ude00", sent.Subject);
        Assert.Equal("v", sent.Headers["X-Shop"]);
    }

    private static bool HasLoneSurrogate(string? text)
    {
        for (var i = 0; text is not null && i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out _, out var read) != System.Buffers.OperationStatus.Done)
            {
                return true;
            }

            i += read;
        }

        return false;
    }

    /// <summary>A renderer that changes the map it returned after planning: the message leaves as it was planned.</summary>
    [Fact]
    public async Task ARendererChangingItsMapAfterPlanning_DoesNotChangeWhatLeaves()
    {
        var transport = new PlannedRecorder();
        var renderer = new SharedMapRenderer();
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", transport));
        await host.Engine.TrackAsync(new CustomerEvent
        {
            Id = "signup", Type = "user.signed_up", Timestamp = host.Time.GetUtcNow(),
            Identifiers = [Identifier.CustomerId("ann"), Identifier.Email("ann@example.com")],
        });

        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Identifier.CustomerId("ann"), new MessageRequest { Key = "r-1", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        renderer.Shared["X-Id"] = "changed after planning";
        renderer.Shared["X-Extra"] = "added after planning";
        await host.Engine.RunDispatchAsync();

        var sent = Assert.IsType<EmailMessage>(Assert.Single(transport.Sent));
        Assert.Equal("r-1", sent.Headers["X-Id"]);
        Assert.False(sent.Headers.ContainsKey("X-Extra"));
    }

    private sealed class SharedMapRenderer : IMessageRenderer
    {
        public Dictionary<string, string> Shared { get; } = [];

        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Shared["X-Id"] = request.Key;
            return ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@example.com", To = address, Subject = "s", Headers = Shared });
        }
    }

    // The candidate's shape before it had a converter of its own, written by the serializer's record handling.
    private sealed record RecordAsBefore(string Channel, string Address, JsonElement Message)
    {
        public string? Shape { get; init; }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage
            {
                MessageId = request.Key, From = "shop@example.com", To = address, Subject = "Thank you, \u00e9\u2028\ud83d\ude00",
                Headers = new Dictionary<string, string> { ["X-Shop"] = "v" },
            });
    }

    private sealed class PlannedRecorder : IChannelTransport
    {
        public List<OutboundMessage> Sent { get; } = [];

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            lock (Sent)
            {
                Sent.Add(message);
            }

            return ValueTask.FromResult(DeliveryResult.Accepted(message.MessageId));
        }
    }
}
