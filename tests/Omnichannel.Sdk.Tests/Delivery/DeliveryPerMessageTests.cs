using System.Reflection;
using FsCheck;
using FsCheck.Xunit;
using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// Issue 14 (delivery per message): dispatch reuses what planning built in this process (the parsed payload, the keyed
/// hashes of its addresses) and an outcome event is written with its touch's attribution at once. None of it may change
/// what is checked or sent: these hold whichever path a message takes.
/// </summary>
public sealed class DeliveryPerMessageTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    /// <summary>
    /// The in-memory store with a switch: once <see cref="SuppressEverything"/> is set, every keyed hash is on the
    /// suppression list (an erasure elsewhere put her address there); with <see cref="CopyPayloads"/>, claimed entries
    /// carry a copy of their payload, as a store that reads it back from disk does.
    /// </summary>
    public class SwitchStore : DispatchProxy
    {
        public IOmnichannelStore Inner { get; set; } = new InMemoryOmnichannelStore();

        public bool SuppressEverything { get; set; }

        public bool CopyPayloads { get; set; }

        public int SuppressionLookUps { get; private set; }

        /// <summary>
        /// Suppress everything from the first claim that returns an entry: between planning and dispatch whichever run
        /// claims it (the engine's start-up run in the background may take it before the test's own run).
        /// </summary>
        public bool SuppressOnClaim { get; set; }

        /// <summary><see cref="SuppressionLookUps"/> when that claim came (those planning made).</summary>
        public int LookUpsAtClaim { get; private set; } = -1;

        public static (IOmnichannelStore Store, SwitchStore Switch) Create()
        {
            var store = DispatchProxy.Create<IOmnichannelStore, SwitchStore>();
            return (store, (SwitchStore)(object)store);
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOmnichannelStore.IsSuppressedAsync))
            {
                SuppressionLookUps++;
                if (SuppressEverything)
                {
                    return ValueTask.FromResult(true);
                }
            }

            if (targetMethod.Name == nameof(IOmnichannelStore.ClaimOutboxAsync) && (CopyPayloads || SuppressOnClaim))
            {
                var claimed = ((ValueTask<IReadOnlyList<OutboxEntry>>)targetMethod.Invoke(Inner, args)!).AsTask().GetAwaiter().GetResult();
                if (SuppressOnClaim && claimed.Count > 0 && !SuppressEverything)
                {
                    LookUpsAtClaim = SuppressionLookUps;
                    SuppressEverything = true;
                }

                return ValueTask.FromResult<IReadOnlyList<OutboxEntry>>(CopyPayloads ? [.. claimed.Select(e => e with { Payload = [.. e.Payload] })] : claimed);
            }

            try
            {
                return targetMethod.Invoke(Inner, args);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException!;
            }
        }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage
            {
                MessageId = "x",
                From = "shop@kitty.example",
                To = address,
                Subject = request.TemplateId,
                TextBody = "Thank you",
                Headers = new Dictionary<string, string> { ["X-Order"] = "o-1" },
                Metadata = new Dictionary<string, string> { ["shop"] = "kitty" },
            });
    }

    private static async Task<(OmnichannelTestHost Host, RecordingTransport Email)> HostAsync(IOmnichannelStore store)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Privacy.HashKey = "0123456789abcdef0123456789abcdef-test";
                o.Delivery.TransactionalQuietHours = QuietHoursAction.Ignore;
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        return (host, email);
    }

    private static MessageRequest Receipt(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    [Fact]
    public async Task AnAddressSuppressedBetweenPlanningAndDispatch_IsNotSentTo()
    {
        var (store, sw) = SwitchStore.Create();
        var (host, email) = await HostAsync(store);
        await using var _ = host;

        // Suppressed when it is claimed, whichever run claims it (asserting that nothing was sent yet raced the engine's
        // start-up run, which may take it in the background as soon as it is planned).
        sw.SuppressOnClaim = true;
        var queued = await host.Client.SendAsync(Ann, Receipt("r1"));
        Assert.Equal(SendStatus.Queued, queued.Status);
        await host.Engine.RunDispatchAsync();

        Assert.Empty(email.Messages);
        Assert.True(sw.LookUpsAtClaim > 0); // planning looked the address up, unsuppressed
        Assert.True(sw.SuppressionLookUps > sw.LookUpsAtClaim); // asked again when it left, with the hashes planning kept
        var failed = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("suppressed before sending", failed.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OfTwoMessagesPlannedTogether_TheSecondIsStopped_WhenTheAddressIsSuppressedAfterTheFirstLeft()
    {
        var (store, sw) = SwitchStore.Create();
        var (host, email) = await HostAsync(store);
        await using var _ = host;
        var first = await host.Client.SendAsync(Ann, Receipt("r1"));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);

        // Planned with the first (same address, same keyed hashes), then the list gains the address when it is claimed.
        sw.SuppressOnClaim = true;
        var second = await host.Client.SendAsync(Ann, Receipt("r2"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal((SendStatus.Queued, SendStatus.Queued), (first.Status, second.Status));
        Assert.Equal(["r1"], email.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task AStoreThatReadsThePayloadBack_SendsTheSameMessage_AsOneThatKeepsIt()
    {
        async Task<string> SentAsync(bool copy)
        {
            var (store, sw) = SwitchStore.Create();
            sw.CopyPayloads = copy;
            var (host, email) = await HostAsync(store);
            await using var _ = host;
            await host.Client.SendAsync(Ann, Receipt("r1"));
            await host.Engine.RunDispatchAsync();
            var sent = Assert.Single(email.Messages);
            var id = (await host.ProfileAsync(Ann)).Id;
            return JsonSerializer.Serialize(sent, sent.GetType()).Replace(id, "{profile}", StringComparison.Ordinal); // ids differ by host
        }

        var kept = await SentAsync(copy: false);
        var readBack = await SentAsync(copy: true);

        Assert.Equal(readBack, kept);
        Assert.Contains("\"X-Order\":\"o-1\"", kept, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageThatFailedTransiently_IsSentOnceOnItsRetry_FromTheKeptPayload()
    {
        var (store, _) = SwitchStore.Create();
        var flaky = new FlakyOnce();
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.TransactionalQuietHours = QuietHoursAction.Ignore;
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(1);
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", flaky));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);

        await host.Client.SendAsync(Ann, Receipt("r1"));
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.Engine.RunDispatchAsync();

        Assert.True(flaky.Calls >= 2);
        Assert.Equal("ann@example.com", Assert.IsType<EmailMessage>(Assert.Single(flaky.Accepted)).To);
        Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageSent);
    }

    [Fact]
    public async Task TheSdksOwnSentEvent_CarriesTheTouchsJourneyStepVariantAndTemplate()
    {
        var welcome = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "hello"}]},
                       {"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([welcome, OutcomeAttributionJourneys.After("after-sent", EventTypes.MessageSent)]);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);

        await rig.Engine.RunDispatchAsync();
        Assert.Equal(["email:hello", "email:after-sent"], rig.Sent());
    }

    private static readonly JsonSerializerOptions SerializersOwn = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// The outbox writes a message's string maps as the serializer's own dictionary handling does, byte for byte (entries
    /// written before, and by other versions, read the same), and reads them back to the same entries, for every map.
    /// </summary>
    [Property(MaxTest = 300)]
    public void StringMaps_AreWrittenCountedAndReadAsTheSerializersOwn(NonNull<string>[] keys, string?[] values)
    {
        var headers = new Dictionary<string, string>();
        for (var i = 0; i < keys.Length; i++)
        {
            headers[keys[i].Get] = values.Length == 0 ? "v" : values[i % values.Length]!; // nulls included
        }

        var message = new EmailMessage
        {
            MessageId = "m-1", From = "shop@example.com", To = "ann@example.com", Subject = "s",
            Headers = headers, Metadata = new Dictionary<string, string> { ["<&>\"\u00e9"] = "\u2028x" },
        };

        var size = JsonSerializer.SerializeToUtf8Bytes(message, message.GetType()).Length; // what MaxMessageBytes bounds
        Assert.Null(DeliveryFaults.TooLarge(message, new DeliveryOptions { MaxMessageBytes = size }));
        Assert.NotNull(DeliveryFaults.TooLarge(message, new DeliveryOptions { MaxMessageBytes = size - 1 }));

        var candidate = OutboxPayload.Candidate(ChannelNames.Email, "ann@example.com", message);
        Assert.Equal(JsonSerializer.SerializeToElement(message, SerializersOwn).GetRawText(), candidate.Message.GetRawText());

        var stored = new OutboxCandidate(candidate.Channel, candidate.Address, candidate.Message); // as read back from storage
        var read = Assert.IsType<EmailMessage>(OutboxPayload.Message(stored));
        Assert.Equal(headers.OrderBy(h => h.Key, StringComparer.Ordinal), read.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Equal(message.Metadata, read.Metadata);
        var theirs = JsonSerializer.Deserialize<EmailMessage>(candidate.Message.GetRawText(), SerializersOwn)!;
        Assert.Equal(theirs.Headers.OrderBy(h => h.Key, StringComparer.Ordinal), read.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"MessageId":"m","From":"f","To":"t","Subject":"s","Headers":{"a":1}}""")]
    [InlineData("""{"MessageId":"m","From":"f","To":"t","Subject":"s","Headers":["a"]}""")]
    [InlineData("""{"MessageId":"m","From":"f","To":"t","Subject":"s","Headers":{"a":{"b":"c"}}}""")]
    public void AStoredMapThatIsNotOfStrings_IsAJsonException_AsBefore(string json)
    {
        var candidate = new OutboxCandidate(ChannelNames.Email, "t", JsonDocument.Parse(json).RootElement.Clone());

        Assert.Throws<JsonException>(() => OutboxPayload.Message(candidate)); // dispatch reports it as unreadable
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<EmailMessage>(json, SerializersOwn));
    }

    private sealed class FlakyOnce : IChannelTransport
    {
        public int Calls;

        public List<OutboundMessage> Accepted { get; } = [];

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref Calls) == 1)
            {
                return ValueTask.FromResult(DeliveryResult.TransientFailure("provider busy"));
            }

            Accepted.Add(message);
            return ValueTask.FromResult(DeliveryResult.Accepted(message.MessageId));
        }
    }
}
