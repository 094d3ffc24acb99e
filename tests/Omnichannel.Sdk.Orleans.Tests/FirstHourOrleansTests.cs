using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Orleans.Implementation;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>First hour with the Orleans package (forty-first session): what a newcomer meets following the README.</summary>
public sealed class FirstHourOrleansTests
{
    // AddOmnichannel(...).UseOrleans() without the host's builder.UseOrleans(silo => ...) failed at start with
    // "Unable to resolve service for type 'Orleans.IGrainFactory' while attempting to activate ClusterDefinitions".
    [Fact]
    public async Task UseOrleans_WithoutTheHostsOrleans_SaysToCallBuilderUseOrleans()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseInMemoryStore().UseOrleans();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("builder.UseOrleans(silo => silo.UseLocalhostClustering())", error.Message, StringComparison.Ordinal);
        var resolve = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IOmnichannelClient>());
        Assert.Contains("builder.UseOrleans(silo =>", resolve.Message, StringComparison.Ordinal);
    }

    // AddOmnichannel(...).UseOrleansClient() without builder.UseOrleansClient(client => ...): "No service for type
    // 'Orleans.IGrainFactory' has been registered."
    [Fact]
    public void UseOrleansClient_WithoutTheHostsOrleansClient_SaysToCallBuilderUseOrleansClient()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseOrleansClient();
        using var host = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IOmnichannelClient>());
        Assert.Contains("builder.UseOrleansClient(client =>", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("builder.UseOrleans(silo =>", error.Message, StringComparison.Ordinal);
    }

    // Two silos each on its own in-memory store (the default without Use...Store, in two processes): events were
    // Accepted and GetProfileAsync answered null for about half the customers, and nothing in the logs said why.
    [Fact]
    public async Task SilosOnTheirOwnInMemoryStores_LogAnErrorNamingTheSiloAndTheFix()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var logs = new ErrorLogs();
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseInMemoryStore().UseOrleans();
        });

        Assert.All(cluster.SiloServices, s => Assert.Single(Sweep(s).SilosNotSharingTheStore()));
        // The first sweep (the default Sweep, 10 s) runs inside Advance, and its store check logs before its first await.
        time.Advance(TimeSpan.FromSeconds(10));
        var error = await logs.Reported.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Contains("in-memory store", error, StringComparison.Ordinal);
        Assert.Contains("UsePostgreSqlStore", error, StringComparison.Ordinal);
        Assert.Contains(cluster.SiloAddresses[0].ToString(), error, StringComparison.Ordinal);
        Assert.Contains(cluster.SiloAddresses[1].ToString(), error, StringComparison.Ordinal);
    }

    // One in-memory store instance given to every silo (the test kit's way, and the README's) is one store: no error.
    [Fact]
    public async Task SilosOnOneSharedInMemoryStore_AreNotReported()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services =>
            services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey).UseStore(_ => store).UseOrleans());

        Assert.Equal(2, cluster.SiloServices.Count);
        Assert.All(cluster.SiloServices, s => Assert.Empty(Sweep(s).SilosNotSharingTheStore()));
    }

    private static DueWorkSweep Sweep(IServiceProvider silo) => silo.GetServices<IHostedService>().OfType<DueWorkSweep>().Single();

    private sealed class ErrorLogs : ILoggerProvider, ILogger
    {
        public TaskCompletionSource<string> Reported { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error && eventId.Id == 131)
            {
                Reported.TrySetResult(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
