using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>Spans for every operation a user traces, linked to the caller's trace; metrics per OpenTelemetry's conventions.</summary>
public sealed class ObservabilityTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private sealed class Spans : IDisposable
    {
        private readonly ActivityListener _listener;

        public Spans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == OmnichannelTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => Stopped.Add(a),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentBag<Activity> Stopped { get; } = [];

        public List<Activity> In(ActivityTraceId trace, string name) => [.. Stopped.Where(a => a.TraceId == trace && a.OperationName == name)];

        public void Dispose() => _listener.Dispose();
    }

    private static JourneyDefinition Welcome() => Journey.Define("welcome", "Welcome")
        .TriggeredBy(t => t.Event("user.signed_up"))
        .Steps(s => s.Send("hello", [ChannelNames.Email], "welcome", @class: MessageClass.Transactional))
        .Build();

    [Fact]
    public async Task EveryTrackedEvent_HasItsOwnSpan_UnderTheCallersSpan()
    {
        using var spans = new Spans();
        await using var host = OmnichannelTestHost.Create();
        using var caller = new Activity("checkout").Start();

        for (var i = 0; i < 9; i++)
        {
            await host.TrackAsync(EventTypes.ProductViewed, [Identifier.AnonymousId("a" + (i % 3))], new { product_id = "p" + i });
        }

        var tracks = spans.In(caller.TraceId, OmnichannelTelemetry.Spans.Track);
        Assert.Equal(9, tracks.Count);
        Assert.All(tracks, t => Assert.Equal(caller.SpanId, t.ParentSpanId));
        Assert.All(tracks, t => Assert.Equal("accepted", t.GetTagItem("omnichannel.event.outcome")));
        var processed = spans.In(caller.TraceId, OmnichannelTelemetry.Spans.ProcessEvent);
        Assert.Equal(9, processed.Count);   // on the partition worker, across the queue, still in the caller's trace
        Assert.All(processed, p => Assert.Contains(tracks, t => t.SpanId == p.ParentSpanId));
    }

    // The event's span ends before its caller hears the answer: a caller (or a test) that looks at its trace right after
    // TrackAsync returns finds the span ended (EveryTrackedEvent_HasItsOwnSpan… failed about 1 run in 11 under load). The
    // span's end is held in the listener, which waits up to a second for the caller's task: it must not complete.
    [Fact]
    public async Task AnEventsSpan_EndsBeforeItsCallerHearsTheAnswer()
    {
        var task = new TaskCompletionSource<Task<TrackResult>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var answeredBeforeTheSpanEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == OmnichannelTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.OperationName == OmnichannelTelemetry.Spans.ProcessEvent && task.Task.Wait(TimeSpan.FromSeconds(30)))
                {
                    // Held here, the span has not ended: the caller must not get its answer meanwhile. Before, the answer
                    // was given first, so the caller's task completed while this callback waited (at once, in practice).
                    answeredBeforeTheSpanEnded.TrySetResult(task.Task.Result.Wait(TimeSpan.FromSeconds(1)));
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var host = OmnichannelTestHost.Create();

        var tracking = host.Client.TrackAsync(new CustomerEvent
        {
            Id = "e1", Type = EventTypes.ProductViewed, Timestamp = host.Time.GetUtcNow(), Identifiers = [Identifier.AnonymousId("a1")],
        }).AsTask();
        task.SetResult(tracking);

        Assert.True((await tracking).IsAcknowledged);
        Assert.False(await answeredBeforeTheSpanEnded.Task);
    }

    [Fact]
    public async Task JourneySteps_Dispatch_AndSends_HaveSpans()
    {
        using var spans = new Spans();
        var recorder = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Journeys.Add(Welcome()),
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("observability-test", recorder));
        using var caller = new Activity("sign-up").Start();

        await host.TrackAsync("user.signed_up", [Ann]);
        caller.Stop();
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));

        var step = Assert.Single(spans.In(caller.TraceId, OmnichannelTelemetry.Spans.JourneyStep));
        Assert.Equal("welcome", step.GetTagItem("omnichannel.journey.id"));
        Assert.Equal("hello", step.GetTagItem("omnichannel.journey.step"));
        var send = Assert.Single(spans.Stopped, a => a.OperationName == OmnichannelTelemetry.Spans.Send && (string?)a.GetTagItem("omnichannel.transport") == "observability-test");
        Assert.Equal(ActivityKind.Client, send.Kind);
        Assert.Equal("accepted", send.GetTagItem("omnichannel.send.outcome"));
        var dispatch = Assert.Single(spans.Stopped, a => a.OperationName == OmnichannelTelemetry.Spans.Dispatch && a.SpanId == send.ParentSpanId);
        Assert.Contains(dispatch.Links, l => l.Context.TraceId == caller.TraceId);   // linked to the trace that planned it
        Assert.Single(recorder.Messages);
    }

    [Fact]
    public async Task AWakeUpRun_HasASpan_WithAProfileWorkSpanPerProfile()
    {
        using var spans = new Spans();
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(
            Segment.Define("recent", "Viewed in the last hour").Where(r => r.Event(EventTypes.ProductViewed).Within("PT1H")).Build()));
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" });
        using var caller = new Activity("nightly").Start();

        await host.AdvanceAsync(TimeSpan.FromHours(2));

        var wake = Assert.Single(spans.In(caller.TraceId, OmnichannelTelemetry.Spans.WakeUp), a => a.GetTagItem("omnichannel.profiles") is 1);
        Assert.Single(spans.In(wake.TraceId, OmnichannelTelemetry.Spans.ProfileWork), w => w.ParentSpanId == wake.SpanId);
        Assert.False((await host.ProfileAsync(Ann)).IsInSegment("recent"));
    }

    [Fact]
    public async Task Metrics_UseSecondsNamespacedAttributes_AndGauges()
    {
        var instruments = new ConcurrentDictionary<string, Instrument>();
        var attributeKeys = new ConcurrentBag<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == OmnichannelTelemetry.Name)
                {
                    instruments[instrument.Name] = instrument;
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record<T>(Instrument i, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            foreach (var t in tags)
            {
                attributeKeys.Add(t.Key);
            }
        }

        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" });
        listener.RecordObservableInstruments();

        Assert.Equal("s", instruments["omnichannel.event.process.duration"].Unit);
        Assert.Equal("s", instruments["omnichannel.send.duration"].Unit);
        Assert.Equal("s", instruments["omnichannel.wake_up.lag"].Unit);
        Assert.IsType<ObservableGauge<long>>(instruments["omnichannel.queue.depth"]);
        Assert.IsType<ObservableGauge<long>>(instruments["omnichannel.outbox.due"]);
        Assert.IsType<ObservableGauge<double>>(instruments["omnichannel.wake_up.lag"]);
        Assert.Contains("omnichannel.event.outcome", attributeKeys);
        Assert.All(attributeKeys, k => Assert.StartsWith("omnichannel.", k, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartUp_LogsTheStoreAndTheTransports()
    {
        var lines = new ConcurrentBag<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new LineProvider(lines)));
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), loggerFactory: loggerFactory,
            delivery: new DeliverySetup().AddTransport("console", new ConsoleTransport(ChannelNames.Sms, TextWriter.Null)));

        var line = Assert.Single(lines, l => l.StartsWith("Omnichannel.Sdk started", StringComparison.Ordinal));
        Assert.Contains("store InMemoryOmnichannelStore", line, StringComparison.Ordinal);
        Assert.Contains("sms:console (ConsoleTransport)", line, StringComparison.Ordinal);
    }

    private sealed class LineProvider(ConcurrentBag<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new LineLogger(lines);

        public void Dispose()
        {
        }

        private sealed class LineLogger(ConcurrentBag<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Add(formatter(state, exception));
        }
    }
}
