using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of the store look (<see cref="OmnichannelOptions.StorePollInterval"/>, audit U55) on SQLite files: a virtual
/// clock's runs stay exact and repeatable with the look on, and an engine and its store shut down quietly.
/// </summary>
public sealed class ReviewStorePollTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // The look fires inside every move of the virtual clock (its timer is due each minute); it must not race the clock's
    // quiesce: each run, the same sends at the same instants, each once, and nothing left due. Repeated on fresh files.
    [Fact]
    public async Task AVirtualClockOverDays_WithTheLookEveryMinute_SendsEachMessageOnceAtItsInstant_EveryRun()
    {
        for (var run = 0; run < 8; run++)
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
            var transport = new RecordingTransport();
            await using var services = Build(_folder.File($"run{run}.db"), time, transport, logs: null);
            var engine = services.GetRequiredService<OmnichannelEngine>();
            var dues = new Dictionary<string, DateTimeOffset>();
            for (var i = 0; i < 6; i++)
            {
                var who = Identifier.CustomerId("c" + i);
                Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(TwoProcessStoreScenario.Event(time, "e" + i, EventTypes.CartItemAdded, who, Identifier.Email($"c{i}@example.com")))).Status);
                dues["c" + i] = time.GetUtcNow().AddHours(1);
                await engine.AdvanceVirtualClockAsync(time.GetUtcNow().AddSeconds(97 + (13 * i)), time.SetUtcNow); // off the look's minute
            }

            await engine.AdvanceVirtualClockAsync(time.GetUtcNow().AddDays(3), time.SetUtcNow);

            Assert.Equal(6, transport.Messages.Count);
            Assert.Empty(transport.DuplicateMessageIds);
            foreach (var (id, due) in dues)
            {
                var profile = (await engine.GetProfileAsync(Identifier.CustomerId(id)))!;
                Assert.Contains(profile.Timeline, t => t.Type == "journey.completed" && t.Timestamp == due);
            }

            Assert.Null(await engine.GetNextWakeUpAsync());
        }
    }

    // A host's normal shutdown (engine, then its store, as the container disposes them), then the clock moved on by days:
    // no look after disposal, nothing logged at warning or above.
    [Fact]
    public async Task AnEngineAndItsStoreDisposed_ThenTheClockMovedByDays_NothingIsLookedAtOrLogged()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var lines = new List<string>();
        using var logs = LoggerFactory.Create(b => b.AddProvider(new Lines(lines)).SetMinimumLevel(LogLevel.Warning));
        var services = Build(_folder.File(), time, new RecordingTransport(), logs);
        var engine = services.GetRequiredService<OmnichannelEngine>();
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(TwoProcessStoreScenario.Event(time, "e1", EventTypes.CartItemAdded, Identifier.CustomerId("c1"), Identifier.Email("c1@example.com")))).Status);
        time.Advance(TimeSpan.FromSeconds(59)); // the first look is a second away
        await services.DisposeAsync();
        time.Advance(TimeSpan.FromDays(2));
        await engine.DisposeAsync(); // a second disposal is a no-op
        lock (lines)
        {
            Assert.Empty(lines);
        }
    }

    private static ServiceProvider Build(string path, TimeProvider time, RecordingTransport transport, ILoggerFactory? logs)
    {
        var services = new ServiceCollection();
        if (logs is not null)
        {
            services.AddSingleton(logs);
        }

        TwoProcessStoreScenario.Engine(services, time, transport, wait: true).UseSqliteStore(path);
        return services.BuildServiceProvider();
    }

    private sealed class Lines(List<string> sink) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lock (sink)
                {
                    sink.Add($"{logLevel} {eventId.Id}: {formatter(state, exception)}");
                }
            }
        }
    }
}
