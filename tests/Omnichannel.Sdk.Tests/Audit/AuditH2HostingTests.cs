using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit H2: bug classes from public reports of host-integrated .NET libraries (OpenTelemetry .NET, Microsoft.Extensions
/// Hosting, Logging and DI, MassTransit, Azure SDK), replayed against the engine's hosting and observability.
/// </summary>
public sealed class AuditH2HostingTests
{
    private const string Email = "ann.lee@example.com";

    // A real-time bound only so that a broken build fails instead of hanging; nothing waits for time to pass.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static OmnichannelOptions Options()
    {
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Delivery.Retry!.Delay = TimeSpan.Zero;
        return options;
    }

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, Identifier who) =>
        new() { Id = id, Type = type, Timestamp = at, Identifiers = [who] };

    // AzureAD/azure-activedirectory-identitymodel-extensions-for-dotnet#826, AzureAD/microsoft-authentication-library-for-dotnet#502:
    // an exception's message may carry personal data, and logging the exception whole puts it in the logs. A store that
    // echoes the key it refused (PostgreSQL's "Key (value)=(ann@…) already exists" with Include Error Detail) did exactly
    // that through the engine's "Failed to apply an event" error, although the event's own result was scrubbed.
    [Fact]
    public async Task AStoreExceptionNamingHerAddress_IsLoggedWithoutIt()
    {
        var logs = new ConcurrentQueue<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new Capture(logs)));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var store = new FlakyStore(new InMemoryOmnichannelStore())
        {
            Rewrite = c => throw new InvalidOperationException(
                $"23505: duplicate key value violates unique constraint \"identifiers_pkey\"; DETAIL: Key (type, value)=(email, {Email}) already exists",
                new FormatException($"The input string '{Email}' was not in a correct format.")),
        };
        await using var engine = new OmnichannelEngine(Options(), store, time, loggerFactory);

        var result = await engine.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)));

        Assert.Equal(TrackStatus.StoreFailed, result.Status);
        Assert.DoesNotContain(Email, result.FailureReason, StringComparison.OrdinalIgnoreCase);
        var failure = Assert.Single(logs, l => l.Contains("Failed to apply", StringComparison.Ordinal));
        Assert.Contains("InvalidOperationException", failure, StringComparison.Ordinal); // still says what failed
        Assert.Contains("FormatException", failure, StringComparison.Ordinal); // and why
        Assert.Contains("[email]", failure, StringComparison.Ordinal);
        Assert.All(logs, l => Assert.DoesNotContain(Email, l, StringComparison.OrdinalIgnoreCase));
    }

    // dotnet/runtime#52223 (SYSLIB1006), aspnet/Mvc#6062, dotnet/efcore#6802: an event id identifies one event within a
    // logger category, so log filters and dashboards that key on it see two different events as one. The engine's
    // category (OmnichannelEngine) used 6 for both "started" and "forgot processed ids", and 8 for both "lifted an
    // erasure" and "validating threw".
    [Fact]
    public void LogEventIds_AreUniqueWithinEachCategory()
    {
        var duplicates = typeof(OmnichannelEngine).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Select(m => (Type: t, Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>())))
            .Where(x => x.Attribute is not null)
            .GroupBy(x => (x.Type, x.Attribute!.EventId))
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key.Type.Name} event id {g.Key.EventId}: {string.Join(", ", g.Select(x => x.Method.Name))}")
            .ToList();

        Assert.Contains(typeof(OmnichannelEngine).GetMethods(BindingFlags.Static | BindingFlags.NonPublic), m => m.GetCustomAttribute<LoggerMessageAttribute>() is not null);
        Assert.Empty(duplicates);
    }

    // dotnet/docs#23819 and dotnet/runtime#43637: a background loop that fails must neither stop the host nor stop
    // working for good. A store outage during the wake-up timer's due read left the timer disarmed: no journey wait or
    // segment window ran again until some new event happened to arm it (a quiet night: none).
    [Fact]
    public async Task AWakeUpRunWhoseStoreReadFailsOnce_RunsTheWaitsLater_WithoutANewEvent()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var transport = new Signalling();
        var options = Options();
        options.Journeys.Add(Journey.Define("later", "Later")
            .TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "later", null, MessageClass.Transactional))
            .Build());
        await using var engine = new OmnichannelEngine(options, store, time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("signal", transport));
        await engine.RunDueAsync(); // the start-up run is over
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)))).Status);

        Interlocked.Exchange(ref store.FailDueReads, 1);
        time.Advance(TimeSpan.FromHours(1)); // the timer fires; the store read fails
        await store.DueReadFailed.Task.WaitAsync(Bound);
        Assert.False(transport.Sent.Task.IsCompleted);

        time.Advance(TimeSpan.FromMinutes(10)); // only the clock moves
        var sent = await transport.Sent.Task.WaitAsync(Bound);
        Assert.Equal("later", ((EmailMessage)sent).Subject);
    }

    // The same class for the dispatcher (MassTransit#569-style "the bus stops delivering" reports): an outbox claim that
    // failed once left the dispatch timer disarmed, so a message already planned was never sent until another was planned.
    [Fact]
    public async Task ADispatchWhoseOutboxClaimFailsOnce_SendsTheMessageLater_WithoutANewOne()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var transport = new Signalling();
        await using var engine = new OmnichannelEngine(Options(), store, time, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("signal", transport));
        await engine.RunDispatchAsync(); // the start-up run is over
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email)))).Status);

        Interlocked.Exchange(ref store.FailClaims, 1);
        await engine.SendAsync(Identifier.Email(Email), new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await store.ClaimFailed.Task.WaitAsync(Bound);
        Assert.False(transport.Sent.Task.IsCompleted);

        time.Advance(TimeSpan.FromMinutes(10)); // only the clock moves
        var sent = await transport.Sent.Task.WaitAsync(Bound);
        Assert.Equal("receipt", ((EmailMessage)sent).Subject);
    }

    // Azure/azure-sdk-for-net#12856, Particular/NServiceBus#1390: a client used after it was closed should say so with
    // ObjectDisposedException. SendAsync threw the queue's ChannelClosedException (an implementation detail, which a
    // host's retry policy may take for a transient fault), and EraseProfileAsync erased her through a disposed engine.
    [Fact]
    public async Task CallsAfterDisposal_ThrowObjectDisposedException()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var store = new InMemoryOmnichannelStore();
        var engine = new OmnichannelEngine(Options(), store, time);
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e0", "x.a", time.GetUtcNow(), Identifier.Email(Email)))).Status);
        await engine.DisposeAsync();
        await engine.DisposeAsync(); // twice is fine

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.TrackAsync(Event("e1", "x.a", time.GetUtcNow(), Identifier.Email(Email))));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.TrackBatchAsync([Event("e2", "x.a", time.GetUtcNow(), Identifier.Email(Email))]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.SendAsync(Identifier.Email(Email), new MessageRequest { Key = "k", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional }));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.EraseProfileAsync(Identifier.Email(Email)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.LiftErasureAsync(Identifier.Email(Email)));

        // Reads still answer (a health check during shutdown), and the refused erasure did not happen.
        await using var after = new OmnichannelEngine(Options(), store, time);
        Assert.NotNull(await after.GetProfileAsync(Identifier.Email(Email)));
    }

    // nats-io/nats.net#1260, Particular/NServiceBus.SqlServer#302: stopping must drain what was already taken, not drop
    // it; and the host may pass StopAsync a token that is already cancelled (its shutdown timeout already spent). An event
    // the worker holds when the host stops, with that token, is still committed and answered Accepted; a second stop and
    // the container's disposal are harmless.
    [Fact]
    public async Task StopAsync_WithACancelledToken_CommitsTheEventAlreadyTaken()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var inner = new InMemoryOmnichannelStore();
        var store = new FlakyStore(inner) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseStore(_ => store);
        var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();

        var tracking = client.TrackAsync(Event("e1", "user.signed_up", time.GetUtcNow(), Identifier.Email(Email))).AsTask();
        await store.CommitWaiting.Task.WaitAsync(Bound); // the worker holds it
        var stopping = host.StopAsync(new CancellationToken(canceled: true));
        Assert.False(tracking.IsCompleted);
        store.Gate.SetResult();
        await stopping.WaitAsync(Bound);

        Assert.Equal(TrackStatus.Accepted, (await tracking.WaitAsync(Bound)).Status);
        await host.StopAsync();
        host.Dispose();
        await using var after = new OmnichannelEngine(Options(), inner, time);
        Assert.NotNull(await after.GetProfileAsync(Identifier.Email(Email)));
    }

    // dotnet/extensions#2113, dotnet/aspnetcore#35224, dotnet/runtime#98551: Development turns on ValidateScopes and
    // ValidateOnBuild, and a library whose registrations fail them breaks only there (or, worse, only in production).
    // The whole registration, with templates, a transport and a second AddOmnichannel call, builds, starts and stops
    // under both, and the container and the client share one engine.
    [Fact]
    public async Task TheRegistration_PassesValidateOnBuildAndValidateScopes()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development });
        builder.Services.AddOmnichannel(o => o.Delivery.EmailFrom = "shop@example.com").AddConsoleTransport(writer: TextWriter.Null);
        builder.Services.AddOmnichannel(o => o.Partitions = 2);
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        using var host = builder.Build();
        await host.StartAsync();
        using (var scope = host.Services.CreateScope())
        {
            Assert.Same(host.Services.GetRequiredService<OmnichannelEngine>(), scope.ServiceProvider.GetRequiredService<IOmnichannelClient>());
        }

        Assert.Equal(2, host.Services.GetRequiredService<OmnichannelEngine>().Options.Partitions);
        await host.StopAsync();
    }

    // open-telemetry/opentelemetry-dotnet#4315 and #5618 (the SDK's 2,000-point cardinality limit), getsentry/develop#828:
    // a metric tag per customer, event id or message key grows without bound. Many customers, events and messages leave
    // the engine's metrics with as many tag sets as a few: none carries an id.
    [Fact]
    public async Task MetricTags_DoNotGrowWithCustomersEventsOrMessages()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 4, 10, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection().AddMetrics();
        using var sp = services.BuildServiceProvider();
        var factory = sp.GetRequiredService<IMeterFactory>();
        var tagSets = new ConcurrentDictionary<string, byte>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Scope == factory) // this engine's meter only: other tests run beside it
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, _, tags, _) => tagSets.TryAdd(i.Name + "|" + string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")), 0));
        listener.SetMeasurementEventCallback<double>((i, _, tags, _) => tagSets.TryAdd(i.Name + "|" + string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")), 0));
        listener.Start();

        var transport = new Signalling();
        await using var engine = new OmnichannelEngine(Options(), new InMemoryOmnichannelStore(), time, meterFactory: factory,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("signal", transport));
        async Task Customer(int n)
        {
            var who = Identifier.CustomerId($"c-{n}");
            await engine.TrackAsync(Event($"e-{n}", "user.signed_up", time.GetUtcNow(), who));
            await engine.TrackAsync(Event($"e-{n}", "user.signed_up", time.GetUtcNow(), who)); // a duplicate
            await engine.SendAsync(who, new MessageRequest { Key = $"m-{n}", Channels = [ChannelNames.Email], TemplateId = "t", Class = MessageClass.Transactional });
        }

        for (var n = 0; n < 3; n++)
        {
            await Customer(n);
        }

        await engine.RunDispatchAsync();
        var few = tagSets.Keys.ToHashSet();
        for (var n = 3; n < 40; n++)
        {
            await Customer(n);
        }

        await engine.RunDispatchAsync();
        Assert.Contains(few, k => k.StartsWith("omnichannel.events.tracked|", StringComparison.Ordinal));
        Assert.Equal(few.Order(StringComparer.Ordinal), tagSets.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(tagSets.Keys, k => k.Contains("c-", StringComparison.Ordinal) || k.Contains("e-", StringComparison.Ordinal) || k.Contains("m-", StringComparison.Ordinal));
    }

    private sealed class Signalling : IChannelTransport
    {
        public TaskCompletionSource<OutboundMessage> Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Channel => ChannelNames.Email;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.TrySetResult(message);
            return ValueTask.FromResult(DeliveryResult.Accepted("p-1"));
        }
    }

    /// <summary>Every log line as a sink would write it: the message, each argument and the exception with its stack.</summary>
    private sealed class Capture(ConcurrentQueue<string> lines) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue("scope " + state);
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {eventId}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}
