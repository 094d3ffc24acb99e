using System.Net;
using System.Reflection;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.AspNetCore;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U58: the SDK inside a real ASP.NET Core host. aspnet/Hosting#947, dotnet/aspnetcore#46779 and #3089: services a
/// request in flight depends on were disposed before the server had drained it, so a request that was accepted before
/// the shutdown failed with <see cref="ObjectDisposedException"/> (a 500 instead of its answer).
/// </summary>
public sealed class AuditU58HostTests
{
    private const string WriteKey = "wk_u58_0123456789abcdef";
    private const string HashKey = "aspnetcore-tests-hash-key-not-a-secret-000058";

    // A real-time bound only so that a broken build fails instead of hanging; nothing waits for time to pass.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A tracking request that the server took before the host began to stop is answered and its event stored, whatever
    /// the order in which the application registered the web host and the SDK: with <c>WebApplication</c> (the server is
    /// the last hosted service, so it stops first) and with a Generic Host whose <c>ConfigureWebHost</c> comes before the
    /// <c>ConfigureServices</c> that adds the SDK (the server's hosted service first, so it used to stop last).
    /// </summary>
    [Theory]
    [InlineData("WebApplication")]
    [InlineData("ConfigureWebHost then ConfigureServices")]
    public async Task ATrackingRequestInFlightWhenTheHostStops_IsAnsweredAndStored(string layout)
    {
        var store = new InMemoryOmnichannelStore();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Services(IServiceCollection services) => services.AddOmnichannel(o => o.Privacy.HashKey = HashKey)
            .UseStore(_ => store)
            .AddTrackingApi(o => o.WriteKeys.Add(new TrackingWriteKey { Key = WriteKey, Source = "website" }));
        void Pipeline(IApplicationBuilder app)
        {
            // The request is in the application (past the server's accept) when the host begins to stop.
            app.Use(async (HttpContext context, RequestDelegate next) =>
            {
                entered.TrySetResult();
                await gate.Task;
                await next(context);
            });
            app.UseRouting();
            app.UseEndpoints(e => e.MapOmnichannelTracking());
        }

        IHost host;
        if (layout == "WebApplication")
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            Services(builder.Services);
            var app = builder.Build();
            Pipeline(app);
            host = app;
        }
        else
        {
            host = new HostBuilder()
                .ConfigureWebHost(web => web.UseKestrel().UseUrls("http://127.0.0.1:0").Configure(Pipeline))
                .ConfigureServices(s =>
                {
                    s.AddRouting();
                    Services(s);
                })
                .Build();
        }

        await host.StartAsync();
        var address = new Uri(host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "v1/track"))
        {
            Content = new StringContent("""{"userId":"u58-ann","event":"Signed Up","messageId":"m-u58-1"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        var answer = http.SendAsync(request);
        await entered.Task.WaitAsync(Bound);

        var stopping = host.StopAsync();
        gate.SetResult();
        using var response = await answer.WaitAsync(Bound);
        await stopping.WaitAsync(Bound);
        host.Dispose();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // was, in the second layout: 500, the engine already disposed
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = HashKey;
        await using var after = new OmnichannelEngine(options, store);
        Assert.NotNull(await after.GetProfileAsync(Identifier.CustomerId("u58-ann")));
    }

    /// <summary>
    /// nordic-institute/X-Road#1096 (a database health check that read a cached value) and
    /// microsoft/healthcare-shared-components#1425 (a stale Healthy report served for days): the shop sample's check (samples/ShopApi: a read of the engine, Unhealthy when it
    /// throws) follows the store's outage and its recovery, because a read of an unknown profile reaches the store on
    /// every call and no failure is cached; and once the store is back, the engine tracks again without a restart.
    /// </summary>
    [Fact]
    public async Task TheSamplesHealthCheck_ReportsAStoreOutage_AndItsRecovery()
    {
        var store = OutageSwitch.Around(new InMemoryOmnichannelStore());
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = HashKey).UseStore(_ => store);
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "omnichannel", sp => new ClientReadCheck(sp.GetRequiredService<IOmnichannelClient>()), failureStatus: null, tags: null));
        using var host = builder.Build();
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var client = host.Services.GetRequiredService<IOmnichannelClient>();
        var outage = (OutageSwitch)(object)store;

        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        outage.Down = true;
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
        Assert.NotEqual(TrackStatus.Accepted, (await client.TrackAsync(Event("e1"))).Status);
        outage.Down = false;
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(Event("e1"))).Status); // the retry, stored once the store is back
        await host.StopAsync();
    }

    /// <summary>The sample's check (samples/ShopApi/Program.cs): healthy when the engine reads from its store.</summary>
    private sealed class ClientReadCheck(IOmnichannelClient client) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await client.GetProfileByIdAsync("health-check", cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex)
            {
                return HealthCheckResult.Unhealthy("the store does not answer", ex);
            }
        }
    }

    private static CustomerEvent Event(string id) =>
        new() { Id = id, Type = "user.signed_up", Timestamp = TimeProvider.System.GetUtcNow(), Identifiers = [Identifier.CustomerId("u58-bob")] };

    /// <summary>A store that fails every call with an <see cref="IOException"/> while <see cref="Down"/> is set.</summary>
    public class OutageSwitch : DispatchProxy
    {
        private IOmnichannelStore? _inner;

        public volatile bool Down;

        internal static IOmnichannelStore Around(IOmnichannelStore inner)
        {
            var proxy = Create<IOmnichannelStore, OutageSwitch>();
            ((OutageSwitch)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (Down && targetMethod!.ReturnType.IsGenericType && targetMethod.ReturnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            {
                var fromException = typeof(ValueTask).GetMethods().Single(m => m.Name == nameof(ValueTask.FromException) && m.IsGenericMethod)
                    .MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]);
                return fromException.Invoke(null, [new IOException("simulated outage: the database does not answer")]);
            }

            if (Down && targetMethod!.ReturnType == typeof(ValueTask))
            {
                return ValueTask.FromException(new IOException("simulated outage: the database does not answer"));
            }

            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
