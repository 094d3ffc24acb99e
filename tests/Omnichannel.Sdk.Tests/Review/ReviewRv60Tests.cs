using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review rv60: a hostile review of session 60's delivery path (background dispatch runs waiting for their own sends, a
/// planned message kept as an object and copied for each hand-over, queued profile work answering with its own completion)
/// and of audits U97–U98. Hostile maps are spread from a generated int by a SplitMix64 finaliser (deterministic across
/// processes).
/// </summary>
public sealed class ReviewRv60Tests
{
    private static readonly Identifier Known = Identifier.CustomerId("rv60");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Uri Endpoint = new("https://shop.example/unsubscribe?list=main");

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // Keys and values a hostile renderer writes: case twins, an empty key, emoji, a lone surrogate, nulls.
    private static readonly string[] Keys = ["X-Tag", "x-tag", "X-TAG", string.Empty, "😀", "k\uD800", "List-Unsubscribe", "a\u0000b", "ǅ", "ǆ"];
    private static readonly string?[] Values = ["v", null, string.Empty, "😀🎉", "\uDC00lone", "line\r\nbreak", "\"q\""];

    private static IReadOnlyDictionary<string, string> HostileMap(ulong seed, int count, bool ignoreCase)
    {
        var map = new Dictionary<string, string>(ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var h = Mix(seed + (ulong)i);
            map.TryAdd(Keys[(int)(h % (ulong)Keys.Length)], Values[(int)((h >> 20) % (ulong)Values.Length)]!);
        }

        return map;
    }

    /// <summary>
    /// Attack on 3a2aa4f/021b1fa: hostile maps (case twins, empty keys, null values, emoji, lone surrogates, a case-insensitive
    /// comparer): what this process hands a transport is what reading the stored JSON back gives, lookups included.
    /// </summary>
    [Property(MaxTest = 200)]
    public void AHostileMap_IsHandedOverAsReadingTheStoredJsonGives(int seed, bool ignoreCase, bool shaped)
    {
        var s = Mix((ulong)(uint)seed);
        var headers = HostileMap(s, (int)(s % 6), ignoreCase);
        var metadata = HostileMap(Mix(s), (int)((s >> 8) % 5), !ignoreCase);
        OutboundMessage message = (s >> 16) % 2 == 0
            ? new EmailMessage { MessageId = "m", From = "shop@example.com", To = "ann@example.com", Subject = "😀", TextBody = "t", Headers = headers, Metadata = metadata }
            : new PushMessage { MessageId = "m", DeviceTokens = [.. headers.Keys.Where(k => k.Length > 0)], Title = "t", Body = "b", Data = headers, Metadata = metadata };
        var candidate = OutboxPayload.Candidate(shaped ? "line" : message.Channel, "to", message);
        var payload = new OutboxPayload("m", "p", null, MessageClass.Transactional, [candidate]);
        var read = OutboxPayload.Deserialize(payload.Serialize()).Candidates[0];

        var here = OutboxPayload.Message(candidate);
        var there = OutboxPayload.Message(read);
        Assert.Equal(there.GetType(), here.GetType());
        Assert.Equivalent(there, here, strict: true);
        foreach (var (a, b) in MapsOf(here).Zip(MapsOf(there)))
        {
            Assert.Equal(b.GetType(), a.GetType());
            Assert.Equal(b.Keys, a.Keys); // same order
            foreach (var probe in Keys)
            {
                Assert.Equal(b.ContainsKey(probe), a.ContainsKey(probe)); // the same lookups either way
            }
        }
    }

    private static IEnumerable<IReadOnlyDictionary<string, string>> MapsOf(OutboundMessage m) => m switch
    {
        EmailMessage e => [e.Headers, e.Metadata],
        PushMessage p => [p.Data, p.Metadata],
        _ => [m.Metadata],
    };

    /// <summary>
    /// Headers differing only in case on a marketing email: the one-click headers are added to them (the renderer's
    /// headers copied into a case-insensitive map threw, and the send failed outright).
    /// </summary>
    [Fact]
    public async Task AMarketingEmailWithHeadersDifferingOnlyInCase_IsSentWithBoth_AndTheOneClickHeaders()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var renderer = new HeadersRenderer(new Dictionary<string, string> { ["X-Tag"] = "a", ["x-tag"] = "b", ["list-unsubscribe"] = "<https://evil.example>" });
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = Endpoint;
            },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });

        var result = await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Marketing, Topic = "newsletter" });
        Assert.Equal(SendStatus.Queued, result.Status);
        await host.AdvanceAsync(TimeSpan.Zero);

        var sent = Assert.IsType<EmailMessage>(Assert.Single(email.Messages));
        Assert.Equal("a", sent.Headers["X-Tag"]);
        Assert.Equal("b", sent.Headers["x-tag"]);
        Assert.StartsWith("<https://shop.example/unsubscribe", sent.Headers["List-Unsubscribe"], StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", sent.Headers["List-Unsubscribe-Post"]);
        Assert.DoesNotContain(sent.Headers.Keys, k => k.Equals("List-Unsubscribe", StringComparison.OrdinalIgnoreCase) && k != "List-Unsubscribe"); // the renderer's own is replaced
    }

    /// <summary>
    /// Attack on 021b1fa: a transport that edits the maps and lists it is handed, then fails transiently, and a renderer
    /// that edits its list after returning it: the retry is handed the message as planned.
    /// </summary>
    [Fact]
    public async Task ATransportEditingWhatItIsHanded_ThenFailing_ChangesNothingTheRetryIsHanded()
    {
        var push = new EditingTransport();
        var renderer = new TokensRenderer();
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = renderer }.AddTransport("push", push));
        await host.TrackAsync("user.signed_up", [Known, Identifier.DeviceId("dev-1")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "push", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = "r1", Channels = [ChannelNames.Push], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        renderer.Tokens.Add("dev-evil"); // after returning it
        renderer.Data["k"] = "changed";
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(2, push.Handed.Count);
        foreach (var handed in push.Handed)
        {
            Assert.Equal(["dev-1"], handed.Tokens);
            Assert.Equal([new KeyValuePair<string, string>("k", "v")], handed.Data);
            Assert.Equal("r1", handed.Metadata.GetValueOrDefault("id", "r1"));
        }
    }

    /// <summary>
    /// The same across the channel's transports: the first edits the message it is handed and fails for good; the second
    /// (the failover) is handed the message as planned.
    /// </summary>
    [Fact]
    public async Task AFailoverTransport_IsHandedTheMessageAsPlanned_NotTheOneTheFirstEdited()
    {
        var first = new EditingTransport("permanent");
        var second = new EditingTransport("accept");
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new TokensRenderer() }.AddTransport("first", first).AddTransport("second", second));
        await host.TrackAsync("user.signed_up", [Known, Identifier.DeviceId("dev-1")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "push", granted = true });

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = "r2", Channels = [ChannelNames.Push], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        await host.AdvanceAsync(TimeSpan.Zero);

        var handed = Assert.Single(first.Handed);
        Assert.Equal(["dev-1"], handed.Tokens);
        handed = Assert.Single(second.Handed);
        Assert.Equal(["dev-1"], handed.Tokens);
        Assert.Equal([new KeyValuePair<string, string>("k", "v")], handed.Data);
        Assert.False(handed.Metadata.ContainsKey("id"));
    }

    /// <summary>
    /// Attack on b7d1717: a send the engine's background run claimed is in flight when a second message's background run
    /// ends (it no longer waits for the first run's send) and when disposal starts: disposal returns only once that send's
    /// outcome is recorded and its entry completed, and nothing is sent twice.
    /// </summary>
    [Fact]
    public async Task DisposalWhileABackgroundRunsSendIsInFlight_ReturnsOnlyOnceItsOutcomeIsRecorded()
    {
        var store = new InMemoryOmnichannelStore();
        var gate = new GateTransport();
        var host = OmnichannelTestHost.Create(store: store, delivery: new DeliverySetup { Renderer = new HeadersRenderer([]) }.AddTransport("email", gate));
        await host.TrackAsync("user.signed_up", [Known, Ann]);

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = "held", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        await gate.Entered.Task; // the background run's send is at the transport
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = "quick", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional })).Status);
        await gate.QuickSent.Task;

        var disposing = host.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted); // the held send is still at the transport
        gate.Release.SetResult();
        await disposing;

        Assert.Equal(["held", "quick"], gate.Sent.Order());
        Assert.Null(await store.GetNextOutboxDueAsync()); // both completed: nothing left to send again
    }

    /// <summary>Attack on 021b1fa: a token cancelled before the send is queued plans nothing, and the call says so.</summary>
    [Fact]
    public async Task ASendWithACancelledToken_IsRefused_AndNothingIsPlanned()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new HeadersRenderer([]) }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Client.SendAsync(Known, new MessageRequest { Key = "c1", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional }, cts.Token));
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Empty(email.Messages);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = "c1", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional })).Status); // the key is still free
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Single(email.Messages);
    }

    private sealed class GateTransport : IChannelTransport
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource QuickSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentBag<string> Sent { get; } = [];

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message.MessageId);
            if (message.MessageId == "held")
            {
                Entered.TrySetResult();
                await Release.Task;
            }
            else
            {
                QuickSent.TrySetResult();
            }

            return DeliveryResult.Accepted("prov-" + message.MessageId);
        }
    }

    private sealed class HeadersRenderer(Dictionary<string, string> headers) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = "s", TextBody = "t", Headers = headers });
    }

    private sealed class TokensRenderer : IMessageRenderer
    {
        public List<string> Tokens { get; } = [];

        public Dictionary<string, string> Data { get; } = [];

        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            Tokens.Clear();
            Tokens.Add(address);
            Data["k"] = "v";
            return ValueTask.FromResult<OutboundMessage?>(new PushMessage { MessageId = "x", DeviceTokens = Tokens, Title = "t", Body = "b", Data = Data });
        }
    }

    private sealed record Handed(List<string> Tokens, List<KeyValuePair<string, string>> Data, Dictionary<string, string> Metadata);

    // "transient": edits what it is handed and fails transiently the first time, then accepts; "permanent": edits and fails
    // for good; "accept": accepts at once.
    private sealed class EditingTransport(string mode = "transient") : IChannelTransport
    {
        public List<Handed> Handed { get; } = [];

        public string Channel => ChannelNames.Push;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var push = (PushMessage)message;
            lock (Handed)
            {
                Handed.Add(new Handed([.. push.DeviceTokens], [.. push.Data], new Dictionary<string, string>(push.Metadata)));
                if (mode == "accept" || (mode == "transient" && Handed.Count > 1))
                {
                    return ValueTask.FromResult(DeliveryResult.Accepted("prov-1"));
                }
            }

            ((List<string>)push.DeviceTokens).Add("dev-2");
            ((Dictionary<string, string>)push.Data)["k"] = "edited";
            ((Dictionary<string, string>)push.Metadata)["id"] = "edited";
            return ValueTask.FromResult(mode == "permanent" ? DeliveryResult.PermanentFailure("no") : DeliveryResult.TransientFailure("try again"));
        }
    }
}
