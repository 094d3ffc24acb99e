using Microsoft.Extensions.Logging;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>A logger (and its provider) that keeps every formatted line, with its exception, for tests that read the logs.</summary>
internal sealed class ListLogger(List<string> sink) : ILoggerProvider, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (sink)
        {
            sink.Add(formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
        }
    }
}
