using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U29: what a cancellation token means. Already cancelled: the call throws <see cref="OperationCanceledException"/>
/// and does nothing. Cancelled during the call: it completes fully, or throws having done nothing visible — never half.
/// </summary>
public sealed class AuditU29Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private sealed class Renderer(Action? onRender = null) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            onRender?.Invoke();
            return ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
        }
    }

    /// <summary>A store around another that runs a hook before the first commit (to cancel a token from inside a call).</summary>
    public class HookStore : DispatchProxy
    {
        public IOmnichannelStore Inner { get; set; } = null!;

        public Action? BeforeFirstCommit { get; set; }

        public static (IOmnichannelStore Store, HookStore Hook) Around(IOmnichannelStore inner)
        {
            var store = DispatchProxy.Create<IOmnichannelStore, HookStore>();
            var hook = (HookStore)(object)store;
            hook.Inner = inner;
            return (store, hook);
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOmnichannelStore.CommitAsync) && BeforeFirstCommit is { } hook)
            {
                BeforeFirstCommit = null;
                hook();
            }

            try
            {
                return targetMethod.Invoke(Inner, args);
            }
            catch (TargetInvocationException ex)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException!).Throw();
                throw;
            }
        }
    }

    private static OmnichannelEngine NewEngine(IOmnichannelStore store, FakeTimeProvider time, ILoggerFactory? logs = null, IMessageRenderer? renderer = null)
    {
        var options = new OmnichannelOptions { Partitions = 1 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return new OmnichannelEngine(options, store, time, logs,
            delivery: new DeliverySetup { Renderer = renderer ?? new Renderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
    }

    private static CustomerEvent Event(string id, string type, FakeTimeProvider time, IReadOnlyList<Identifier> ids, object? properties = null) =>
        new() { Id = id, Type = type, Timestamp = time.GetUtcNow(), Identifiers = ids, Properties = properties is null ? default : JsonData.From(properties) };

    private static async Task SignUp(OmnichannelEngine engine, FakeTimeProvider time)
    {
        await engine.TrackAsync(Event("s1", "user.signed_up", time, [Ann, Identifier.Email("ann@example.com")]));
        await engine.TrackAsync(Event("s2", EventTypes.ConsentChanged, time, [Ann], new { channel = "email", granted = true }));
    }

    private static readonly SegmentDefinition Reachable = new("reachable", "Reachable", new ReachableRule(ChannelNames.Email, null));

    private static readonly MessageRequest Receipt = new() { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    public static TheoryData<string> Calls() =>
    [
        "TrackAsync", "TrackBatchAsync", "GetProfileAsync", "GetProfileByIdAsync", "ExportProfileAsync", "EraseProfileAsync", "LiftErasureAsync",
        "IsSuppressedAsync", "IsSuppressedAsync(unknown)", "SendAsync", "UnsubscribeAsync", "UpsertSegmentAsync", "RemoveSegmentAsync", "PreviewSegmentAsync",
        "GetSegmentMembersAsync", "PublishJourneyAsync", "RemoveJourneyAsync", "GetJourneyStatisticsAsync", "GetMeasurementsAsync",
        "GetExperimentVerdictAsync", "GetGlobalControlVerdictAsync", "DecideExperimentAsync", "RunDueAsync", "RunDispatchAsync",
        "GetNextWakeUpAsync", "AdvanceVirtualClockAsync", "PurgeProcessedEventsAsync", "TestHost.TrackAsync",
    ];

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task AnAlreadyCancelledToken_Throws_AndTheCallDoesNothing(string call)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        await using var engine = NewEngine(new InMemoryOmnichannelStore(), time);
        await SignUp(engine, time);
        await (await engine.UpsertSegmentAsync(Reachable)).Completion;
        var journey = Journey.Define("welcome", "Welcome")
            .TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(s => s.Send("hello", [ChannelNames.Email], "hello", topic: null, MessageClass.Transactional))
            .Build();
        await engine.PublishJourneyAsync(journey);
        var before = (await engine.ExportProfileAsync(Ann))!.ToJsonString();
        var profileId = (await engine.GetProfileAsync(Ann))!.Id;
        await using var testHost = OmnichannelTestHost.Create();
        var cancelled = new CancellationToken(canceled: true);

        Func<Task> act = call switch
        {
            "TrackAsync" => () => engine.TrackAsync(Event("t1", "page.viewed", time, [Bob]), cancelled).AsTask(),
            "TrackBatchAsync" => () => engine.TrackBatchAsync([Event("t1", "page.viewed", time, [Bob])], cancelled),
            "GetProfileAsync" => () => engine.GetProfileAsync(Ann, cancelled).AsTask(),
            "GetProfileByIdAsync" => () => engine.GetProfileByIdAsync(profileId, cancelled).AsTask(),
            "ExportProfileAsync" => () => engine.ExportProfileAsync(Ann, cancelled).AsTask(),
            "EraseProfileAsync" => () => engine.EraseProfileAsync(Ann, cancelled).AsTask(),
            "LiftErasureAsync" => () => engine.LiftErasureAsync(Bob, cancelled).AsTask(),
            "IsSuppressedAsync" => () => engine.IsSuppressedAsync(Identifier.Email("ann@example.com"), cancelled).AsTask(),
            "IsSuppressedAsync(unknown)" => () => engine.IsSuppressedAsync(new Identifier("no-such-type", ""), cancelled).AsTask(),
            "SendAsync" => () => engine.SendAsync(Ann, Receipt, cancelled).AsTask(),
            "UnsubscribeAsync" => () => engine.UnsubscribeAsync("not-a-token", cancelled).AsTask(),
            "UpsertSegmentAsync" => () => engine.UpsertSegmentAsync(new SegmentDefinition("new-seg", "New", new ReachableRule(ChannelNames.Email, null)), null, cancelled).AsTask(),
            "RemoveSegmentAsync" => () => engine.RemoveSegmentAsync("reachable", cancelled).AsTask(),
            "PreviewSegmentAsync" => () => engine.PreviewSegmentAsync(Reachable, cancelled).AsTask(),
            "GetSegmentMembersAsync" => () => engine.GetSegmentMembersAsync("reachable", null, 100, cancelled).AsTask(),
            "PublishJourneyAsync" => () => engine.PublishJourneyAsync(Journey.Define("other", "Other").TriggeredBy(t => t.Event("user.signed_up"))
                .Steps(s => s.Send("hello", [ChannelNames.Email], "hello", topic: null, MessageClass.Transactional)).Build(), cancelled),
            "RemoveJourneyAsync" => () => engine.RemoveJourneyAsync("welcome", cancelled),
            "GetJourneyStatisticsAsync" => () => engine.GetJourneyStatisticsAsync("welcome", cancelled),
            "GetMeasurementsAsync" => () => engine.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery { JourneyId = "welcome" }, cancelled).AsTask(),
            "GetExperimentVerdictAsync" => () => engine.GetExperimentVerdictAsync("welcome", null, cancelled),
            "GetGlobalControlVerdictAsync" => () => engine.GetGlobalControlVerdictAsync("order", null, cancelled),
            "DecideExperimentAsync" => () => engine.DecideExperimentAsync("welcome", null, cancelled),
            "RunDueAsync" => () => engine.RunDueAsync(cancelled),
            "RunDispatchAsync" => () => engine.RunDispatchAsync(cancelled),
            "GetNextWakeUpAsync" => () => engine.GetNextWakeUpAsync(cancelled).AsTask(),
            "AdvanceVirtualClockAsync" => () => engine.AdvanceVirtualClockAsync(time.GetUtcNow().AddDays(1), time.SetUtcNow, cancelled),
            "PurgeProcessedEventsAsync" => () => engine.PurgeProcessedEventsAsync(cancelled).AsTask(),
            "TestHost.TrackAsync" => () => testHost.TrackAsync(testHost.Event("page.viewed", [Bob]), cancelled),
            _ => throw new ArgumentOutOfRangeException(nameof(call)),
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(act);

        // Nothing was done, and the engine goes on working.
        Assert.Equal(before, (await engine.ExportProfileAsync(Ann))!.ToJsonString());
        Assert.Null(await engine.GetProfileAsync(Bob));
        Assert.Null(await testHost.Client.GetProfileAsync(Bob));
        Assert.Equal(["reachable"], engine.Segments.Select(s => s.Id));
        Assert.Equal(["welcome"], engine.Journeys.Select(j => j.Id));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero), time.GetUtcNow());
        Assert.Equal(SendStatus.Queued, (await engine.SendAsync(Ann, Receipt)).Status);
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("after", "page.viewed", time, [Ann]))).Status);
    }

    [Fact]
    public async Task ABatch_CancelledAfterItsFirstEventCommitted_IsAppliedWhole_AndReportsItsResults()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        var (store, hook) = HookStore.Around(new InMemoryOmnichannelStore());
        await using var engine = NewEngine(store, time);
        using var cts = new CancellationTokenSource();
        hook.BeforeFirstCommit = cts.Cancel;

        var results = await engine.TrackBatchAsync([Event("b1", "page.viewed", time, [Ann]), Event("b2", "page.viewed", time, [Bob])], cts.Token);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.NotNull(await engine.GetProfileAsync(Ann));
        Assert.NotNull(await engine.GetProfileAsync(Bob));
    }

    [Fact]
    public async Task AnEvent_CancelledWhileItCommits_IsReportedAsApplied()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        var (store, hook) = HookStore.Around(new InMemoryOmnichannelStore());
        await using var engine = NewEngine(store, time);
        using var cts = new CancellationTokenSource();
        hook.BeforeFirstCommit = cts.Cancel;

        var result = await engine.TrackAsync(Event("e1", "page.viewed", time, [Ann]), cts.Token);

        Assert.Equal(TrackStatus.Accepted, result.Status);
        Assert.NotNull(await engine.GetProfileAsync(Ann));
    }

    [Fact]
    public async Task ASend_CancelledInsideTheRenderer_QueuesItsMessage_IfAndOnlyIfItReportsSuccess()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        using var cts = new CancellationTokenSource();
        await using var engine = NewEngine(new InMemoryOmnichannelStore(), time, renderer: new Renderer(cts.Cancel));
        await SignUp(engine, time);

        SendResult? result = null;
        try
        {
            result = await engine.SendAsync(Ann, Receipt, cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        // Queued means its touch was committed with the outbox entry: the engine's dispatcher may already have sent it (the
        // fake clock runs a timer due at once), so the outbox alone would say "not queued" for a message that left.
        var queued = (await engine.GetProfileAsync(Ann))!.Touches.Exists(t => t.Key == Receipt.Key);
        Assert.Equal(result is not null, queued); // never "cancelled" with the message queued
        Assert.Equal(result is null ? SendStatus.Queued : SendStatus.Duplicate, (await engine.SendAsync(Ann, Receipt)).Status); // sent again: once
    }

    private sealed class CancellingStoreRenderer(CancellationTokenSource cts) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            cts.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult<OutboundMessage?>(null);
        }
    }

    [Fact]
    public async Task ASend_WhoseRendererObservesTheCancellation_Throws_QueuesNothing_AndLogsNoFailure()
    {
        var logs = new List<string>();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ListLogger(logs)).SetMinimumLevel(LogLevel.Debug));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        using var cts = new CancellationTokenSource();
        await using (var engine = NewEngine(new InMemoryOmnichannelStore(), time, factory, new CancellingStoreRenderer(cts)))
        {
            await SignUp(engine, time);

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.SendAsync(Ann, Receipt, cts.Token).AsTask());
            await engine.RunDueAsync(); // the worker has finished with it

            Assert.Null(await engine.Store.GetNextOutboxDueAsync());
            Assert.DoesNotContain((await engine.GetProfileAsync(Ann))!.MessageKeys, k => k == Receipt.Key);
        }

        lock (logs)
        {
            Assert.DoesNotContain(logs, l => l.Contains("failed", StringComparison.OrdinalIgnoreCase));
        }
    }
}
