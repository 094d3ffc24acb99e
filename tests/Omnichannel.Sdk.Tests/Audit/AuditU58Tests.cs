using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U58: bug classes from public reports of host-integrated .NET libraries (Quartz.NET, Kestrel, Microsoft.Extensions
/// Hosting, DI, Configuration and Diagnostics), replayed with the SDK inside a real Generic Host.
/// </summary>
public sealed class AuditU58Tests
{
    private const string Email = "ann.lee@example.com";

    // A real-time bound only so that a broken build fails instead of hanging; nothing waits for time to pass.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, Identifier who) =>
        new() { Id = id, Type = type, Timestamp = at, Identifiers = [who] };

    private static MessageRequest Receipt(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    private static HostApplicationBuilder Builder(FakeTimeProvider time, IOmnichannelStore store, IChannelTransport transport)
    {
        var builder = Host.CreateApplicationBuilder();
        AddReceipts(builder.Services, time, store, transport, partitions: 2);
        return builder;
    }

    /// <summary>The SDK on a fake clock and a given store, with a "receipt" email template sent through <paramref name="transport"/>.</summary>
    internal static void AddReceipts(IServiceCollection services, FakeTimeProvider time, IOmnichannelStore store, IChannelTransport transport, int? partitions = null)
    {
        services.AddSingleton<TimeProvider>(time);
        services.AddOmnichannel(o =>
            {
                o.Partitions = partitions ?? o.Partitions;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.Delivery.EmailFrom = "shop@example.com";
            })
            .UseStore(_ => store)
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("receipt", [TemplateVariant.Email("Your receipt", null, "Thanks")])))
            .AddTransport("gated", ChannelNames.Email, _ => transport);
    }

    // quartznet/quartznet#3701 (host.StopAsync while RunAsync is pending stops every hosted service twice at once),
    // aspnet/KestrelHttpServer#1666 (parallel StopAsync calls must wait for the first, not return at once),
    // microsoft/Agents-for-net#940 (WebApplicationFactory's teardown calls a hosted service's StopAsync more than once).
    // A second stop that returns while the first still drains lets its caller dispose the container, and the store with
    // it, under a send in flight: the provider accepted the message but its "sent" could not be recorded, so the next
    // process sends it again.
    [Fact]
    public async Task TwoStopsAtOnce_TheSecondWaitsForTheSendInFlight_AndTheMessageIsNotSentAgainAfterARestart()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryOmnichannelStore();
        var transport = new GatedTransport();
        using var host = Builder(time, store, transport).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        await client.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)));
        await client.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        time.Advance(TimeSpan.FromSeconds(1));
        await transport.Started.Task.WaitAsync(Bound); // the provider holds the send

        var first = host.StopAsync();
        var second = host.StopAsync();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted); // was: returned at once, the send still in flight
        transport.Gate.SetResult();
        await Task.WhenAll(first, second).WaitAsync(Bound);

        var profile = await client.GetProfileAsync(Identifier.Email(Email));
        Assert.Contains(profile!.Timeline, t => t.Type == EventTypes.MessageSent);

        // The next process on the same store finds nothing left to send.
        var again = new GatedTransport();
        again.Gate.SetResult();
        using var restarted = Builder(time, store, again).Build();
        await restarted.StartAsync();
        time.Advance(TimeSpan.FromMinutes(10));
        await restarted.StopAsync().WaitAsync(Bound);
        Assert.Equal(1, transport.Calls);
        Assert.Equal(0, again.Calls);
    }

    private sealed class GatedTransport : IChannelTransport
    {
        private int _calls;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public string Channel => ChannelNames.Email;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            Started.TrySetResult();
            await Gate.Task.ConfigureAwait(false);
            return DeliveryResult.Accepted("p-" + message.MessageId);
        }
    }

    // dotnet/extensions#1005 (ServiceProvider.Dispose throws "'X' type only implements IAsyncDisposable. Use DisposeAsync
    // to dispose the container."), dotnet/docs#30852: a console tool or test that builds the provider in a using
    // statement, resolves the client and leaves the block crashed in Dispose.
    [Fact]
    public async Task AProviderDisposedSynchronously_StopsTheEngine_InsteadOfThrowing()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey);
        var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IOmnichannelClient>();
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("e1", "user.signed_up", TimeProvider.System.GetUtcNow(), Identifier.Email(Email)))).Status);

        provider.Dispose(); // was: InvalidOperationException

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.TrackAsync(Event("e2", "user.signed_up", TimeProvider.System.GetUtcNow(), Identifier.Email(Email))));
    }

    // dotnet/runtime#36569, dotnet/runtime#46988, dotnet/aspnetcore#12721: options bound from appsettings.json
    // (TimeSpan "hh:mm:ss", enums by name in any case, keys in any case, arrays). A shop binds the SDK's options with
    // BindConfiguration; every kind of setting arrives as written.
    [Fact]
    public void OptionsBoundFromAppSettings_ArriveAsWritten()
    {
        const string json = """
        {
          "Omnichannel": {
            "partitions": 3,
            "MaxClockSkew": "00:02:00",
            "StorePollInterval": null,
            "Privacy": { "HashKey": "0123456789abcdef0123456789abcdef-key", "PreviousHashKeys": [ "0123456789abcdef0123456789abcdef-old" ] },
            "Identity": { "BlockedValues": [ "test@example.com" ] },
            "Delivery": {
              "EmailFrom": "Shop <shop@example.com>",
              "QuietHoursStart": "22:30",
              "MarketingQuietHours": "drop",
              "RetryDelay": "00:00:45",
              "OptOutTopics": [ "promo" ],
              "Unsubscribe": { "Endpoint": "https://shop.example/unsubscribe" }
            },
            "Measurement": { "DefaultModel": "FirstTouch", "TimeZone": "Europe/Paris" }
          }
        }
        """;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        builder.Services.AddOmnichannel();
        builder.Services.AddOptions<OmnichannelOptions>().BindConfiguration("Omnichannel");
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<OmnichannelEngine>().Options;
        Assert.Equal(3, options.Partitions);
        Assert.Equal(TimeSpan.FromMinutes(2), options.MaxClockSkew);
        Assert.Null(options.StorePollInterval); // JSON null turns the look off, as null does in code
        Assert.Equal(["0123456789abcdef0123456789abcdef-old"], options.Privacy.PreviousHashKeys);
        Assert.Contains("TEST@example.com", options.Identity.BlockedValues);
        Assert.Equal(new TimeOnly(22, 30), options.Delivery.QuietHoursStart);
        Assert.Equal(QuietHoursAction.Drop, options.Delivery.MarketingQuietHours);
        Assert.Equal(TimeSpan.FromSeconds(45), options.Delivery.RetryDelay);
        Assert.Equal(["promo"], options.Delivery.OptOutTopics);
        Assert.Equal(new Uri("https://shop.example/unsubscribe"), options.Delivery.Unsubscribe.Endpoint);
        Assert.Equal(AttributionModel.FirstTouch, options.Measurement.DefaultModel);
        Assert.Equal("Europe/Paris", options.Measurement.TimeZone);
        Assert.Single(options.Measurement.Conversions); // nothing appended
    }

    private static IHost BoundHost(string json, Action<OmnichannelBuilder>? more = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        var omnichannel = builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey);
        more?.Invoke(omnichannel);
        builder.Services.AddOptions<OmnichannelOptions>().BindConfiguration("Omnichannel");
        return builder.Build();
    }

    // dotnet/runtime#36569 and #46988, dotnet/aspnetcore#12721: the binder adds a configured array to a collection that
    // already holds defaults. Measurement.Conversions starts with `order`; a conversion in appsettings.json is added to it
    // (as Conversions.Add does in code, README "Measurement"), and one that redefines `order` is refused at start with
    // its path, not silently doubled.
    [Fact]
    public async Task AConversionInAppSettings_IsAddedToTheDefault_AndOneRedefiningOrder_StopsTheStartWithItsPath()
    {
        using (var host = BoundHost("""{ "Omnichannel": { "Measurement": { "Conversions": [ { "Id": "purchase", "EventType": "order.placed" } ] } } }"""))
        {
            var options = host.Services.GetRequiredService<IOptions<OmnichannelOptions>>().Value;
            Assert.Equal(["order", "purchase"], options.Measurement.Conversions.Select(c => c.Id));
        }

        using var redefining = BoundHost("""{ "Omnichannel": { "Measurement": { "Conversions": [ { "Id": "order", "EventType": "order.placed", "RevenueProperty": "subtotal" } ] } } }""");
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => redefining.StartAsync());
        Assert.Contains("Measurement.Conversions[1].Id 'order' is used twice", ex.Message, StringComparison.Ordinal);
    }

    // dotnet/runtime#55218 and #51557 (validation errors that did not say which option): a bad value in appsettings.json
    // stops the start and says which key. A value out of range is named by its option path; a value the binder cannot
    // read by its configuration key. Nothing starts half configured.
    [Theory]
    [InlineData("""{ "Omnichannel": { "Delivery": { "MaxAttempts": 0, "RetryDelay": "-00:00:01" } } }""", typeof(OptionsValidationException), "Delivery.MaxAttempts must be at least 1")]
    [InlineData("""{ "Omnichannel": { "Delivery": { "MaxAttempts": 0, "RetryDelay": "-00:00:01" } } }""", typeof(OptionsValidationException), "Delivery.RetryDelay must not be negative")]
    [InlineData("""{ "Omnichannel": { "Delivery": { "RetryDelay": "45 seconds" } } }""", typeof(InvalidOperationException), "'Omnichannel:Delivery:RetryDelay'")]
    [InlineData("""{ "Omnichannel": { "Delivery": { "MarketingQuietHours": "later" } } }""", typeof(InvalidOperationException), "'Omnichannel:Delivery:MarketingQuietHours'")]
    public async Task ABadValueInAppSettings_StopsTheStart_NamingItsPath(string json, Type exceptionType, string expected)
    {
        using var host = BoundHost(json);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.IsType(exceptionType, ex);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    // dotnet/runtime#65964, dotnet/corert#7808: a worker that calls StopApplication while the host waits for it hung the
    // shutdown. A transport that stops the application from inside its send (a kill switch) lets the host stop: the
    // send's outcome is recorded, the host's run ends, and nothing is sent twice.
    [Fact]
    public async Task StopApplicationFromInsideASend_StopsTheHost_WithTheSendRecordedOnce()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryOmnichannelStore();
        var transport = new StoppingTransport();
        var builder = Builder(time, store, new GatedTransport());
        builder.Services.AddOmnichannel().AddTransport("stopping", ChannelNames.Email, sp =>
        {
            transport.Lifetime = sp.GetRequiredService<IHostApplicationLifetime>();
            return transport;
        }, preference: -1);
        using var host = builder.Build();
        await host.StartAsync();
        var running = host.WaitForShutdownAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        await client.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)));
        await client.SendAsync(Identifier.Email(Email), Receipt("order-1"));
        time.Advance(TimeSpan.FromSeconds(1));

        await running.WaitAsync(Bound);

        Assert.Equal(1, transport.Calls);
        var profile = await client.GetProfileAsync(Identifier.Email(Email));
        Assert.Single(profile!.Timeline, t => t.Type == EventTypes.MessageSent);
    }

    private sealed class StoppingTransport : IChannelTransport
    {
        private int _calls;

        public IHostApplicationLifetime? Lifetime { get; set; }

        public int Calls => Volatile.Read(ref _calls);

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            Lifetime!.StopApplication();
            return ValueTask.FromResult(DeliveryResult.Accepted("p-1"));
        }
    }

    // dotnet/aspnetcore#19994 (the container disposes services under background work still using them),
    // dotnet/runtime#42993: a host disposed without StopAsync (an exception between Build and Stop, a test's `using`).
    // The container disposes the engine before the store it resolved, and the engine drains first: the event a worker
    // holds is committed and answered, and nothing touches the store once it is disposed.
    [Fact]
    public async Task AHostDisposedWithoutStop_DrainsTheEngineBeforeDisposingTheStore()
    {
        var time = new FakeTimeProvider(Start);
        var flaky = new FlakyStore(new InMemoryOmnichannelStore()) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var store = DisposalWatch.Around(flaky);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseStore(_ => store);
        var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();

        var tracking = client.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email))).AsTask();
        await flaky.CommitWaiting.Task.WaitAsync(Bound);
        var disposing = Task.Run(() => host.Dispose());
        flaky.Gate.SetResult();
        await disposing.WaitAsync(Bound);

        Assert.Equal(TrackStatus.Accepted, (await tracking.WaitAsync(Bound)).Status);
        var watch = (DisposalWatch)(object)store;
        Assert.True(watch.Disposed);
        Assert.Equal(0, watch.CallsAfterDisposal);
    }

    /// <summary>A store that counts calls made after the container disposed it.</summary>
    public class DisposalWatch : System.Reflection.DispatchProxy, IAsyncDisposable
    {
        private IOmnichannelStore? _inner;
        private int _disposed;
        private int _late;

        public bool Disposed => Volatile.Read(ref _disposed) != 0;

        public int CallsAfterDisposal => Volatile.Read(ref _late);

        internal static IOmnichannelStore Around(IOmnichannelStore inner)
        {
            var proxy = Create<IOmnichannelStore, DisposalWatch>();
            ((DisposalWatch)(object)proxy)._inner = inner;
            return proxy;
        }

        public ValueTask DisposeAsync()
        {
            Volatile.Write(ref _disposed, 1);
            return ValueTask.CompletedTask;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (Disposed)
            {
                Interlocked.Increment(ref _late);
            }

            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }

    // AppMetrics/AppMetrics#401 and #719 (metrics registered once per process broke a second host in the same test run),
    // dotnet/AspNetCore.Docs#30073 (meters from the host's IMeterFactory, not statics): two hosts side by side, as
    // parallel WebApplicationFactory tests run them. Each engine's instruments come from its own host's meter factory, so
    // each host's listener counts only its own events; the same event id in both is accepted in both (no process-wide
    // de-duplication); and after one host is disposed the other still tracks, counts and traces (the shared
    // ActivitySource is not disposed with an engine).
    [Fact]
    public async Task TwoHostsInOneProcess_KeepTheirOwnEventsMetricsAndSpans_AndOneOutlivesTheOther()
    {
        var time = new FakeTimeProvider(Start);
        var spans = new ConcurrentQueue<string>();
        using var activities = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == OmnichannelTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                if (a.OperationName == OmnichannelTelemetry.Spans.Track && a.GetTagItem("omnichannel.event.type") is "u58.second_host")
                {
                    spans.Enqueue(a.OperationName);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(activities);

        IHost Make()
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey);
            return builder.Build();
        }

        var a = Make();
        using var b = Make();
        using var countA = new TrackedCounter(a.Services.GetRequiredService<IMeterFactory>());
        using var countB = new TrackedCounter(b.Services.GetRequiredService<IMeterFactory>());
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        var clientA = a.Services.GetRequiredService<IOmnichannelClient>();
        var clientB = b.Services.GetRequiredService<IOmnichannelClient>();

        Assert.Equal(TrackStatus.Accepted, (await clientA.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)))).Status);
        Assert.Equal(TrackStatus.Accepted, (await clientB.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)))).Status);
        Assert.Equal(TrackStatus.Accepted, (await clientB.TrackAsync(Event("e2", "product.viewed", time.GetUtcNow(), Identifier.Email(Email)))).Status);
        Assert.Equal(1, countA.Total);
        Assert.Equal(2, countB.Total);

        await a.StopAsync();
        a.Dispose();
        Assert.Equal(TrackStatus.Accepted, (await clientB.TrackAsync(Event("e3", "u58.second_host", time.GetUtcNow(), Identifier.Email(Email)))).Status);
        Assert.Equal(3, countB.Total);
        Assert.Single(spans);
        await b.StopAsync();
    }

    /// <summary>Sums <c>omnichannel.events.tracked</c> from the meters of one meter factory (one host).</summary>
    private sealed class TrackedCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public TrackedCounter(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "omnichannel.events.tracked")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }

    // dotnet/runtime#86592 and dotnet/docs#37170: a meter from IMeterFactory belongs to the factory, and disposing it does
    // nothing; dotnet/runtime#83822: an instrument cannot be taken off a meter. Instruments made on it live until the
    // container does. An application that builds an
    // engine with the host's meter factory and replaces it (a tenant's engine, options re-read after a reload) left the
    // disposed engine's gauges on the host's meter: every collection reported its queue depth, outbox and wake-up lag
    // beside the new engine's (a second series of the same name), and the gauges' callbacks kept the old engine, its
    // profile cache included, reachable for the life of the host.
    [Fact]
    public async Task AnEngineDisposedUnderALivingMeterFactory_NoLongerReportsItsGauges()
    {
        var time = new FakeTimeProvider(Start);
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        var gauges = new ConcurrentDictionary<string, int>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name is "omnichannel.queue.depth" or "omnichannel.outbox.due" or "omnichannel.wake_up.lag")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, _, _, _) => gauges.AddOrUpdate(i.Name, 1, (_, n) => n + 1));
        listener.SetMeasurementEventCallback<double>((i, _, _, _) => gauges.AddOrUpdate(i.Name, 1, (_, n) => n + 1));
        listener.Start();
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;

        var first = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, meterFactory: factory);
        listener.RecordObservableInstruments();
        Assert.Equal(1, gauges["omnichannel.queue.depth"]);
        await first.DisposeAsync();
        gauges.Clear();
        listener.RecordObservableInstruments();
        Assert.Empty(gauges); // was: the disposed engine's three gauges, still observed

        await using var second = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, meterFactory: factory);
        listener.RecordObservableInstruments();
        Assert.Equal(1, gauges["omnichannel.queue.depth"]); // was: 2, one series per engine ever built
        Assert.Equal(1, gauges["omnichannel.outbox.due"]);
        Assert.Equal(1, gauges["omnichannel.wake_up.lag"]);
    }
}
