using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Dispatch cost per message: the whole pipeline (idempotency, address and consent, suppression, caps, quiet hours,
/// rendering, outbox commit, claim, resilience pipeline, outcome event), against one tracked event of the same customers
/// (the baseline: the target is at most 2× that) and against calling the transport directly.
/// One operation is one message (or one event).
/// </summary>
// Each case first warms the JIT up on a copy of itself until compilation is quiet (SteadyState): the profiles of the
// warm-up grow (timelines, message logs), so the measured instance starts from the same data as before the sixteenth
// session, and then runs these ten warm-up rounds as before.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 10, iterationCount: 10, invocationCount: 1)]
[MemoryDiagnoser]
public class DeliveryBenchmarks
{
    private const int Messages = 2_000;
    private const int Customers = 500;

    private readonly CountingTransport _transport = new();
    private OmnichannelEngine _engine = null!;
    private EmailMessage[] _direct = [];
    private CustomerEvent[] _events = [];
    private int _round;

    [GlobalSetup(Target = nameof(Sdk_TrackEvent))]
    public void SetUpTrackEvent()
    {
        SteadyState.WarmUpOnCopy<DeliveryBenchmarks>(
            c => c.SetUp(),
            c =>
            {
                c.PrepareEvents();
                c.Sdk_TrackEvent().GetAwaiter().GetResult();
            },
            c => c.CleanUp());
        SetUp();
    }

    [GlobalSetup(Target = nameof(Transport_Directly))]
    public void SetUpTransport()
    {
        SteadyState.WarmUpOnCopy<DeliveryBenchmarks>(c => c.SetUp(), c => c.Transport_Directly().GetAwaiter().GetResult(), c => c.CleanUp());
        SetUp();
    }

    [GlobalSetup(Target = nameof(Sdk_SendAndDispatch))]
    public void SetUpSendAndDispatch()
    {
        SteadyState.WarmUpOnCopy<DeliveryBenchmarks>(c => c.SetUp(), c => c.Sdk_SendAndDispatch().GetAwaiter().GetResult(), c => c.CleanUp());
        SetUp();
    }

    private void SetUp()
    {
        var options = new OmnichannelOptions();
        options.Delivery.TransactionalQuietHours = QuietHoursAction.Ignore;
        _engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), delivery: new DeliverySetup { Renderer = new SubjectRenderer() }.AddTransport("count", _transport));
        var start = TimeProvider.System.GetUtcNow().AddDays(-1);
        _engine.TrackBatchAsync(Enumerable.Range(0, Customers).Select(i => new CustomerEvent
        {
            Id = $"signup-{i}",
            Type = "user.signed_up",
            Timestamp = start,
            Identifiers = [Identifier.CustomerId($"c{i}"), Identifier.Email($"c{i}@example.com")],
        })).GetAwaiter().GetResult();
        _direct = [.. Enumerable.Range(0, Messages).Select(i => new EmailMessage
        {
            MessageId = $"direct-{i}",
            From = "shop@example.com",
            To = $"c{i % Customers}@example.com",
            Subject = "Your order",
            TextBody = "Thank you",
        })];
    }

    [GlobalCleanup]
    public void CleanUp() => _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The yardstick: one tracked event of the same customers (whose profiles carry the same history).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public async Task<int> Sdk_TrackEvent() => (await _engine.TrackBatchAsync(_events)).Count;

    [IterationSetup(Target = nameof(Sdk_TrackEvent))]
    public void PrepareEvents()
    {
        _round++;
        var at = TimeProvider.System.GetUtcNow();
        _events = [.. Enumerable.Range(0, Messages).Select(i => new CustomerEvent
        {
            Id = $"view-{_round}-{i}",
            Type = "product.viewed",
            Timestamp = at,
            Identifiers = [Identifier.CustomerId($"c{i % Customers}")],
            Properties = JsonData.From(new { product_id = "kibble-2kg" }),
        })];
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> Transport_Directly()
    {
        foreach (var m in _direct)
        {
            await _transport.SendAsync(m);
        }

        return _transport.Count;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> Sdk_SendAndDispatch()
    {
        _round++;
        var pending = new List<Task<SendResult>>(Messages);
        for (var i = 0; i < Messages; i++)
        {
            pending.Add(_engine.SendAsync(Identifier.CustomerId($"c{i % Customers}"), new MessageRequest
            {
                Key = $"order-{_round}-{i}",
                Channels = [ChannelNames.Email],
                TemplateId = "receipt",
                Class = MessageClass.Transactional,
            }).AsTask());
        }

        await Task.WhenAll(pending);
        await _engine.RunDispatchAsync();
        return _transport.Count;
    }

    private sealed class CountingTransport : IChannelTransport
    {
        private int _count;

        public int Count => _count;

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(DeliveryResult.Accepted(message.MessageId));
        }
    }

    private sealed class SubjectRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@example.com", To = address, Subject = "Your order", TextBody = "Thank you" });
    }
}
