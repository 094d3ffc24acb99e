using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Engine;

public sealed class RegistrationTests
{
    [Fact]
    public async Task AddOmnichannel_RegistersClientOnTheContainersClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddOmnichannel(o => o.Identity.DefaultPhoneCountryCode = "44");
        await using var sp = services.BuildServiceProvider();

        var client = sp.GetRequiredService<IOmnichannelClient>();
        Assert.Same(sp.GetRequiredService<OmnichannelEngine>(), client);
        var r = await client.TrackAsync(new CustomerEvent { Id = "e1", Type = "x.a", Timestamp = time.GetUtcNow(), Identifiers = [Identifier.Phone("07700 900123")] });
        Assert.Equal(TrackStatus.Accepted, r.Status);
        Assert.NotNull(await client.GetProfileAsync(Identifier.Phone("+447700900123")));
        Assert.IsType<InMemoryOmnichannelStore>(sp.GetRequiredService<OmnichannelEngine>().Store);
    }

    [Fact]
    public void AddOmnichannel_Twice_AddsNothingTwice()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel();
        var count = services.Count;
        services.AddOmnichannel();
        Assert.Equal(count, services.Count);
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
        Assert.Single(services, d => d.ServiceType == typeof(IOmnichannelClient));
        Assert.Single(services, d => d.ServiceType == typeof(OmnichannelEngine));
    }

    [Fact]
    public void UseStore_Twice_ThrowsWithAdvice()
    {
        var builder = new ServiceCollection().AddOmnichannel().UseInMemoryStore();
        var ex = Assert.Throws<InvalidOperationException>(() => builder.UseStore(_ => new InMemoryOmnichannelStore()));
        Assert.Contains("Call only one of", ex.Message);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUp_ListingEveryProblem()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOmnichannel(o =>
        {
            o.Partitions = 0;
            o.TimelineLength = 0;
            o.Identity.DefaultPhoneCountryCode = "+44";
        });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(3, ex.Failures.Count());
        Assert.Contains(ex.Failures, f => f.Contains("Partitions"));
        Assert.Contains(ex.Failures, f => f.Contains("DefaultPhoneCountryCode"));
    }

    [Fact]
    public void Engine_WithoutContainer_ValidatesOptions()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new OmnichannelEngine(new OmnichannelOptions { MaxCommitAttempts = 0 }, new InMemoryOmnichannelStore()));
        Assert.Contains("MaxCommitAttempts", ex.Message);
    }

    [Fact]
    public async Task Engine_PublishesMetricsOnTheSdkMeter()
    {
        var outcomes = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OmnichannelTelemetry.Name && instrument.Name == "omnichannel.events.tracked")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (outcomes)
            {
                outcomes.Add((string)tags[0].Value!);
            }
        });
        listener.Start();

        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.a", [Identifier.Email("m@x.io")]);
        await host.Client.TrackAsync(host.Event("BAD", [Identifier.Email("m@x.io")]));

        lock (outcomes)
        {
            Assert.Contains("accepted", outcomes);
            Assert.Contains("rejected", outcomes);
        }
    }
}
