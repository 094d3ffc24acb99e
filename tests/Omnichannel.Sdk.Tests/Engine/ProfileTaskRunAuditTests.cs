using System.Diagnostics.Metrics;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// Audit of runs of profile work: each case queues work behind a held commit (so the partition's worker takes it as a
/// run) and checks that what comes out is what one piece at a time, in queue order, gives.
/// </summary>
public sealed class ProfileTaskRunAuditTests
{
    private static readonly Identifier Bob = Identifier.CustomerId("bob");
    private static readonly Identifier DeeId = Identifier.CustomerId("dee");
    private static readonly Identifier DeeEmail = Identifier.Email("dee@example.com");

    private sealed class PlainRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hello" });
    }

    private static async Task<(OmnichannelTestHost Host, FlakyStore Store, RecordingTransport Email)> CreateAsync(FlakyStore? store = null, bool runs = true)
    {
        store ??= new FlakyStore(new InMemoryOmnichannelStore()) { Runs = runs };
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 1;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/unsubscribe");
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new PlainRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email("bob@example.com")]);
        return (host, store, email);
    }

    private static MessageRequest Marketing(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Class = MessageClass.Marketing };

    private static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    /// <summary>Holds the worker in a commit of Bob's, queues <paramref name="queue"/> behind it, then lets it go on.</summary>
    private static Task<T> BehindAHeldCommitAsync<T>(OmnichannelTestHost host, FlakyStore store, Func<T> queue) =>
        store.BehindAHeldCommitAsync(() => host.Engine.SendAsync(Bob, Receipt("hold-" + Guid.NewGuid().ToString("N"))).AsTask(), queue);

    /// <summary>
    /// Dee signed up by email (her first profile, which has consent) and later by customer id; an event with both merged
    /// the first into the second. Returns the first profile's id, now an alias of the live one.
    /// </summary>
    private static async Task<string> MergedDeeAsync(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [DeeEmail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [DeeEmail], new { channel = "email", granted = true });
        var old = (await host.ProfileAsync(DeeEmail)).Id;
        await host.TrackAsync("user.signed_up", [DeeId]);
        await host.TrackAsync("page.viewed", [DeeId, DeeEmail]);
        var live = await host.ProfileAsync(DeeId);
        Assert.NotEqual(old, live.Id); // the email's profile was absorbed: its id is an alias now
        Assert.Equal(live.Id, (await host.ProfileAsync(DeeEmail)).Id);
        Assert.True(live.GetConsent(ChannelNames.Email, null)!.Granted);
        return old;
    }

    private static string TokenFor(OmnichannelTestHost host, string profileId, string key)
    {
        var url = host.Engine.UnsubscribeUrl(profileId, key, ChannelNames.Email, null, MessageClass.Marketing)!;
        return Uri.UnescapeDataString(url[(url.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
    }

    /// <summary>
    /// Work addressed to a merged profile's old id (an unsubscribe link in an email sent before the merge) and work
    /// addressed to the live id are work on one person. Grouped by the id they were addressed to, the second send ran
    /// before the unsubscribe queued ahead of it: it was answered Queued (and logged against her caps) though she had
    /// opted out; one at a time it is Skipped.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WorkAddressedToAMergedId_KeepsItsPlaceAmongTheLiveIdsWork(bool runs)
    {
        var (host, store, email) = await CreateAsync(runs: runs);
        await using var _ = host;
        var old = await MergedDeeAsync(host);
        var token = TokenFor(host, old, "m0");

        Task<SendResult>? first = null, second = null;
        Task<UnsubscribeStatus>? unsubscribe = null;
        await BehindAHeldCommitAsync(host, store, () =>
        {
            first = host.Engine.SendAsync(DeeId, Marketing("s1")).AsTask();
            unsubscribe = host.Engine.UnsubscribeAsync(token).AsTask();
            second = host.Engine.SendAsync(DeeId, Marketing("s2")).AsTask();
            return 0;
        });

        Assert.Equal(SendStatus.Queued, (await first!).Status);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await unsubscribe!);
        Assert.Equal(SendStatus.Skipped, (await second!).Status); // she had opted out when it came up
        var dee = await host.ProfileAsync(DeeId);
        Assert.DoesNotContain(dee.MessageLog, m => m.Key == "s2");
        await host.Engine.RunDispatchAsync();
        Assert.DoesNotContain(email.Messages, m => m.MessageId.StartsWith('s')); // s1 too: consent is checked again when it leaves
    }

    private sealed class ScopedMeters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options.Name, options.Version, options.Tags, scope: this);

        public void Dispose()
        {
        }
    }

    /// <summary>
    /// A message skipped in a run that is then given up (here: a later piece's store read fails) is planned again alone.
    /// The "skipped" message metric was counted when it was planned, before any commit, so it counted her one skipped
    /// message twice; one at a time it is counted once. Metrics of a change are reported after its commit.
    /// </summary>
    [Fact]
    public async Task AMessageSkippedInARunThatIsGivenUp_IsCountedOnce()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { Runs = true };
        var email = new RecordingTransport(ChannelNames.Email);
        var meters = new ScopedMeters();
        var options = new OmnichannelOptions { Partitions = 1 };
        options.Delivery.Retry!.Delay = TimeSpan.Zero;
        options.Privacy.HashKey = "a-key-0123456789abcdef0123456789abcdef";
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        await using var engine = new OmnichannelEngine(options, store, time, meterFactory: meters, delivery: new DeliverySetup { Renderer = new PlainRenderer() }.AddTransport("email", email));
        var skipped = 0L;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "omnichannel.messages")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var t in tags)
            {
                if (t.Value is "skipped")
                {
                    Interlocked.Add(ref skipped, value);
                }
            }
        });
        listener.Start();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [Bob, Identifier.Email("bob@example.com")] });
        await engine.TrackAsync(new CustomerEvent { Id = "e2", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [DeeId, DeeEmail] });

        store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = engine.SendAsync(Bob, Receipt("hold")).AsTask();
        await store.CommitWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        store.FailSuppressionRead = 2; // the second piece's read: the run is given up after the first was planned
        var noConsent = engine.SendAsync(DeeId, Marketing("m1")).AsTask();
        var receipt = engine.SendAsync(DeeId, Receipt("r1")).AsTask();
        var gate = store.Gate;
        store.Gate = null;
        gate.SetResult();
        await held;

        Assert.Equal(SendStatus.Skipped, (await noConsent).Status);
        Assert.Equal(SendStatus.Queued, (await receipt).Status);
        listener.RecordObservableInstruments();
        Assert.Equal(1, Interlocked.Read(ref skipped));
    }
}
