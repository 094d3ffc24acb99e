using System.Collections.Concurrent;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// A hostile review of the twenty-seventh session's changes (audit U13's journey writes, and the dispatch window);
/// docs/design-notes.md, "Review of the twenty-seventh session's changes", lists what held and what was fixed.
/// </summary>
public sealed class AuditReview27Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-r27");
    private static readonly Identifier AnnMail = Identifier.Email("ann-r27@example.com");

    // ---- The dispatch window ----

    // Holds every message until the test lets it go; says when a number of them are held.
    private sealed class HoldingTransport : IChannelTransport
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<DeliveryResult>> _held = new(StringComparer.Ordinal);

        public TaskCompletionSource FourHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public IReadOnlyList<string> Held => [.. _held.Keys.Order(StringComparer.Ordinal)];

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var release = _held.GetOrAdd(message.MessageId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
            if (_held.Count >= 4)
            {
                FourHeld.TrySetResult();
            }

            return await release.Task;
        }

        public void Release(string messageId) => _held[messageId].TrySetResult(DeliveryResult.Accepted("p-" + messageId));
    }

    private static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = MessageClass.Transactional };

    // A run that finds the engine disposing claims nothing more, but it returned at once, its sends still in flight: the
    // caller was told "handled" for messages not yet sent or recorded (RunDispatchAsync promises it waits until each is
    // sent, rescheduled or failed). Waiting for whole batches, a run never had sends of its own in flight at that check.
    [Fact]
    public async Task ARunThatSeesDisposal_WaitsForItsOwnSendsInFlight_BeforeReturning()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { ClaimOnlyHere = true }; // the timer's runs claim nothing
        var transport = new HoldingTransport();
        var host = OmnichannelTestHost.Create(
            o => { o.Delivery.Retry = null; o.Delivery.DispatchBatchSize = 4; },
            store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("held", transport));
        await using (host)
        {
            await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail]));
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Receipt($"r27-{i}"))).Status);
            }

            var run = Task.Run(() =>
            {
                FlakyStore.ClaimsHere.Value = true;
                return host.Engine.RunDispatchAsync();
            });
            await transport.FourHeld.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the window: four in flight
            var held = transport.Held;
            Assert.Equal(4, held.Count);

            var disposing = host.Engine.DisposeAsync().AsTask();
            transport.Release(held[0]);
            transport.Release(held[1]); // half done: the run looks for more, and finds the engine disposing
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(2))); // real time: the engine's threads, not the clock
            var returnedEarly = run.IsCompleted;

            transport.Release(held[2]);
            transport.Release(held[3]);
            var handled = await run.WaitAsync(TimeSpan.FromSeconds(30));
            await disposing.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.False(returnedEarly, "RunDispatchAsync returned while two of its sends were still in flight");
            Assert.Equal(4, handled);
        }
    }

    // ---- Audit U13: a journey's write starts segment journeys ----
    private const string Vip = """{"id": "vip", "name": "VIP", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""";

    private static SegmentDefinition Segment(string json) => SegmentJson.Parse(json).Value!;

    private static readonly string Upgrade = """
        {"id": "upgrade", "version": 1, "name": "Upgrade", "trigger": {"type": "event", "event": "order.placed"},
         "steps": [{"id": "tag", "type": "updateProfile", "set": {"tier": "vip"}}]}
        """;

    private static string VipWelcome(string reEntry) => $$"""
        {"id": "vip-welcome", "version": 1, "name": "VIP welcome", "trigger": {"type": "segment", "segment": "vip", "on": "entered"},
         "entry": {"reEntry": "{{reEntry}}"},
         "steps": [{"id": "welcome", "type": "send", "channels": ["email"], "template": "vip-welcome", "class": "transactional"}]}
        """;

    // Held: the journey a write starts keeps its re-entry rule. Moved in by a journey's write, out by the host, in again by
    // the next order's write: "never" starts it once, "afterPreviousEnded" twice.
    [Theory]
    [InlineData("never", 1)]
    [InlineData("afterPreviousEnded", 2)]
    public async Task AJourneysWriteMovingHerIntoASegmentAgain_KeepsTheStartedJourneysReEntryRule(string reEntry, int welcomes)
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Upgrade), JourneyRig.Parse(VipWelcome(reEntry))], [Segment(Vip)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50, currency = "GBP" });
        await rig.TrackAsync("profile.updated", [Ann], traits: new { tier = "basic" });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 50, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(Enumerable.Repeat("email:vip-welcome", welcomes), rig.Sent());
        Assert.Equal(welcomes, (await rig.Engine.GetJourneyStatisticsAsync("vip-welcome")).Entered);
    }

    // Held: an order delivered again (the same event id, or the same order under another id) writes nothing new and starts
    // the journey its first delivery's write started once; a write that leaves her where she was starts nothing.
    [Fact]
    public async Task ARedeliveredOrder_AndAWriteThatChangesNoMembership_StartTheSegmentJourneyOnce()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Upgrade), JourneyRig.Parse(VipWelcome("afterPreviousEnded"))], [Segment(Vip)]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var order = rig.Host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50, currency = "GBP" });
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(order)).Status);
        Assert.NotEqual(TrackStatus.Accepted, (await rig.Host.TrackAsync(order)).Status);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50, currency = "GBP" }); // the same order, a new event id
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 50, currency = "GBP" }); // already a VIP: the write moves nothing
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(["email:vip-welcome"], rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("vip-welcome")).Entered);
    }
}
