using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Orleans.Implementation;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// The silo's own log lines carry no personal data either: a store or grain exception quoting her address (as
/// PostgreSQL's "Key (value)=(…) already exists" does) is logged scrubbed, as the engine's are (audit H2).
/// </summary>
public sealed class SiloLogScrubTests
{
    private const string Email = "ann.private@example.com";

    [Fact]
    public async Task ASweepThatFails_LogsTheFailure_WithoutTheAddressItsExceptionQuotes()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var lines = new List<string>();
        var twoLines = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = ThrowingStore.Wrap(new InMemoryOmnichannelStore(), nameof(IOmnichannelStore.GetDueProfilesAsync), $"duplicate key: Key (value)=({Email}) already exists");
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { Privacy = { HashKey = OmnichannelTestHost.TestHashKey } }, store, time);
        var grains = ThrowingGrains.Create($"registry unreachable while resolving {Email}");
        var options = new OmnichannelClusterOptions();
        await using var sweep = new DueWorkSweep(engine, new ClusterDefinitions(engine, grains), time, options, new LoggerOf<DueWorkSweep>(lines, 2, twoLines));

        await sweep.StartAsync(CancellationToken.None);
        time.Advance(options.Sweep);
        await twoLines.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the sweep runs on the timer's callback

        Assert.Equal(2, lines.Count); // the catch-up and the sweep, each logged once
        Assert.All(lines, line => Assert.DoesNotContain(Email, line, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(lines, line => line.Contains("InvalidOperationException", StringComparison.Ordinal)); // the type still says what failed
    }

    private sealed class LoggerOf<T>(List<string> sink, int expected, TaskCompletionSource reached) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (sink)
            {
                sink.Add(formatter(state, exception) + " " + exception);
                if (sink.Count == expected)
                {
                    reached.TrySetResult();
                }
            }
        }
    }

    /// <summary>A store that throws from one method, quoting personal data, and forwards the rest.</summary>
    public class ThrowingStore : DispatchProxy
    {
        private IOmnichannelStore _inner = null!;
        private string _method = "";
        private string _message = "";

        public static IOmnichannelStore Wrap(IOmnichannelStore inner, string method, string message)
        {
            var proxy = Create<IOmnichannelStore, ThrowingStore>();
            var self = (ThrowingStore)(object)proxy;
            (self._inner, self._method, self._message) = (inner, method, message);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == _method
                ? throw new InvalidOperationException(_message)
                : UnwrapInvoke(targetMethod, _inner, args);

        private static object? UnwrapInvoke(MethodInfo method, object target, object?[]? args)
        {
            try
            {
                return method.Invoke(target, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is { } inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(inner).Throw();
                throw;
            }
        }
    }

    /// <summary>A grain factory whose every call fails, quoting personal data (an unreachable registry).</summary>
    public class ThrowingGrains : DispatchProxy
    {
        private string _message = "";

        public static global::Orleans.IGrainFactory Create(string message)
        {
            var proxy = Create<global::Orleans.IGrainFactory, ThrowingGrains>();
            ((ThrowingGrains)(object)proxy)._message = message;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => throw new InvalidOperationException(_message);
    }
}
