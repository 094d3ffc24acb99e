using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>One request as the server saw it.</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A real Kestrel server on 127.0.0.1 with an OS-assigned port, started once per test class and stopped after it.
/// Subclasses map their endpoints; every request is recorded before the endpoint runs.
/// </summary>
public abstract class LoopbackKestrel : IAsyncLifetime
{
    private WebApplication? app;

    public Uri BaseAddress { get; private set; } = null!;

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public Uri Url(string path) => new(BaseAddress, path);

    public IReadOnlyList<ReceivedRequest> At(string path) => Received.Where(r => r.Path == path).ToList();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        app = builder.Build();
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var copy = new MemoryStream();
            await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
            context.Request.Body.Position = 0;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            Received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "", headers, copy.ToArray()));
            await next(context);
        });
        Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Assert.NotEqual(0, BaseAddress.Port);
    }

    public async Task DisposeAsync()
    {
        OnStopping();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    protected abstract void Map(WebApplication app);

    protected virtual void OnStopping()
    {
    }

    protected static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var copy = new MemoryStream();
        await context.Request.Body.CopyToAsync(copy, context.RequestAborted);
        return copy.ToArray();
    }
}
