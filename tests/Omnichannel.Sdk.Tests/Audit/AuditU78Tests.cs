using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U78: decisions made on a hot copy of a profile that commit nothing of it (after commit 838a01e, which covered
/// events left unlinked and refusals after an erasure). Two engines on one store stand for two processes or two silos:
/// each keeps hot copies, and only a commit checks a copy's version against the store's.
/// </summary>
public sealed class AuditU78Tests
{
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u78");
    private static readonly Identifier AnnMail = Identifier.Email("ann-u78@example.com");

    /// <summary>Runs <c>during</c> on its first hand-over and answers it with <c>first</c>; later ones are accepted and kept.</summary>
    private sealed class ScriptedTransport(string channel, DeliveryResult first, Func<Task>? during = null) : IChannelTransport
    {
        private int _attempts;

        public string Channel { get; } = channel;

        public int Attempts => Volatile.Read(ref _attempts);

        public System.Collections.Concurrent.ConcurrentQueue<OutboundMessage> Accepted { get; } = new();

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _attempts) == 1)
            {
                if (during is not null)
                {
                    await during();
                }

                return first;
            }

            Accepted.Enqueue(message);
            return DeliveryResult.Accepted("p-" + Attempts);
        }
    }

    // One partition per engine: every piece of work meets the same hot copy.
    private static OmnichannelTestHost Host(IOmnichannelStore store, DeliverySetup? delivery = null) =>
        OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 1;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Retry!.MaxRetryAttempts = 2;
                o.Delivery.Retry.Delay = TimeSpan.Zero;
            },
            Morning,
            store,
            delivery is null ? null : WithRenderer(delivery));

    private static DeliverySetup WithRenderer(DeliverySetup setup)
    {
        setup.Renderer = new TemplateIdRenderer();
        return setup;
    }

    private static async Task SignUpAsync(OmnichannelTestHost host)
    {
        await host.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
    }

    private static MessageRequest Request(string key, MessageClass kind = MessageClass.Marketing) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = kind };

    /// <summary>
    /// A hand-over after the first (a quick retry) checks her profile again, but read the engine's hot copy and, finding
    /// nothing to write, committed nothing: consent withdrawn (or an unsubscribe) recorded through another process while
    /// the first attempt failed was not seen, and the retry went to her. A decision that commits nothing of the profile
    /// now stands only on the stored version.
    /// </summary>
    [Theory]
    [InlineData("consent")]
    [InlineData("unsubscribe")]
    public async Task HerOptOutThroughAnotherEngine_WhileTheFirstHandOverFails_StopsTheQuickRetry(string change)
    {
        var store = new InMemoryOmnichannelStore();
        await using var there = Host(store);
        var email = new ScriptedTransport(ChannelNames.Email, DeliveryResult.TransientFailure("421 try again"), () => change == "consent"
            ? there.TrackAsync(there.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }) with { Id = "there-consent" })
            : there.TrackAsync(there.Event(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" }) with { Id = "there-unsubscribe" }));
        await using var here = Host(store, new DeliverySetup().AddTransport("email", email));
        await SignUpAsync(here);

        Assert.Equal(SendStatus.Queued, (await here.Client.SendAsync(Ann, Request("m1"))).Status);
        await here.Engine.RunDispatchAsync();

        Assert.Equal(1, email.Attempts);
        Assert.Empty(email.Accepted);
        Assert.Contains((await here.ProfileAsync(Ann)).Timeline, t => t.Type is EventTypes.MessageFailed or EventTypes.MessageSkipped);
    }

    /// <summary>
    /// Pinned: a hard bounce recorded through another engine during the failed attempt stops the retry of any class,
    /// through the suppression list in the store (read by every hand-over after the first), whatever the hot copy says.
    /// </summary>
    [Theory]
    [InlineData(MessageClass.Marketing)]
    [InlineData(MessageClass.Transactional)]
    public async Task AHardBounceThroughAnotherEngine_WhileTheFirstHandOverFails_StopsTheQuickRetry(MessageClass kind)
    {
        var store = new InMemoryOmnichannelStore();
        await using var there = Host(store);
        var email = new ScriptedTransport(ChannelNames.Email, DeliveryResult.TransientFailure("421 try again"), () =>
            there.TrackAsync(there.Event(EventTypes.MessageBounced, [Ann], new { channel = "email", bounce_type = "hard", address = AnnMail.Value }) with { Id = "there-bounce" }));
        await using var here = Host(store, new DeliverySetup().AddTransport("email", email));
        await SignUpAsync(here);

        Assert.Equal(SendStatus.Queued, (await here.Client.SendAsync(Ann, Request("m1", kind))).Status);
        await here.Engine.RunDispatchAsync();

        Assert.Equal(1, email.Attempts);
        Assert.Empty(email.Accepted);
    }

    /// <summary>
    /// Pinned: a message planned on a copy that still shows her consent, withdrawn meanwhile through another engine, is
    /// planned again from the store (the planning commits, and its version check fails) and never leaves.
    /// </summary>
    [Fact]
    public async Task ASendPlannedOnAnOldCopy_AfterAnotherEngineRecordedHerOptOut_IsSkipped()
    {
        var store = new InMemoryOmnichannelStore();
        await using var there = Host(store);
        var email = new RecordingTransport(ChannelNames.Email);
        await using var here = Host(store, new DeliverySetup().AddTransport("email", email));
        await SignUpAsync(here);
        Assert.Equal(TrackStatus.Accepted, (await there.TrackAsync(there.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }) with { Id = "there-1" })).Status);

        var sent = await here.Client.SendAsync(Ann, Request("m2"));
        await here.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, sent.Status);
        Assert.Empty(email.Messages);
    }

    /// <summary>
    /// Pinned: public reads (the profile, its GDPR export, segment members, the suppression list) read the store, never
    /// a hot copy, so they show at once what another engine wrote.
    /// </summary>
    [Fact]
    public async Task PublicReads_ShowWhatAnotherEngineWroteAtOnce()
    {
        var store = new InMemoryOmnichannelStore();
        await using var here = Host(store);
        await using var there = Host(store);
        await SignUpAsync(here);
        _ = await here.ProfileAsync(Ann); // hot here

        await there.TrackAsync(there.Event("user.updated", [Ann], traits: new { tier = "gold" }) with { Id = "there-1" });
        await there.TrackAsync(there.Event(EventTypes.MessageBounced, [Ann], new { channel = "email", bounce_type = "hard", address = AnnMail.Value }) with { Id = "there-2" });

        Assert.Equal("gold", (await here.ProfileAsync(Ann)).Traits["tier"]?.GetValue<string>());
        var export = await here.Client.ExportProfileAsync(Ann);
        Assert.Contains("gold", export!.ToJsonString(), StringComparison.Ordinal);
        Assert.True(await here.Client.IsSuppressedAsync(AnnMail));
    }

    /// <summary>
    /// Pinned: her erasure through one engine while the other holds a hot copy of her profile: the other finds no profile
    /// to read, export or message, and refuses her next event as erased.
    /// </summary>
    [Fact]
    public async Task HerErasureThroughAnotherEngine_LeavesNothingOfTheHotCopyInUse()
    {
        var store = new InMemoryOmnichannelStore();
        var email = new RecordingTransport(ChannelNames.Email);
        await using var here = Host(store, new DeliverySetup().AddTransport("email", email));
        await using var there = Host(store);
        await SignUpAsync(here);
        _ = await here.ProfileAsync(Ann);

        Assert.True(await there.Client.EraseProfileAsync(Ann));

        Assert.Null(await here.Client.GetProfileAsync(Ann));
        Assert.Null(await here.Client.ExportProfileAsync(AnnMail));
        Assert.Equal(SendStatus.UnknownProfile, (await here.Client.SendAsync(Ann, Request("m3", MessageClass.Transactional))).Status);
        await here.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        Assert.Equal(TrackStatus.Erased, (await here.Client.TrackAsync(here.Event("page.viewed", [Ann, AnnMail]))).Status);
        Assert.Null(await here.Client.GetProfileAsync(Ann));
    }
}
