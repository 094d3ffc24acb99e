using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.AspNetCore;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// A real Kestrel application on 127.0.0.1 (OS-assigned port) with the SDK on its in-memory store, the tracking endpoint
/// at <c>/v1</c>, two write keys, and two segments. Every log line is recorded so tests can look for personal data.
/// </summary>
public class TrackingServer : IAsyncLifetime
{
    public const string WebsiteKey = "wk_website_0123456789abcdef";
    public const string BackendKey = "wk_backend_fedcba9876543210";

    private WebApplication? app;

    public Uri BaseAddress { get; private set; } = null!;

    public IOmnichannelClient Client { get; private set; } = null!;

    public FaultSwitchStore Store { get; } = new();

    public ConcurrentQueue<string> Logs { get; } = new();

    private int loseNextBatchAnswer;
    private int lostAnswers;

    /// <summary>Stores the next batch, then answers 500 instead of 200 (the client sees a failure and retries).</summary>
    public void LoseNextBatchAnswer() => Volatile.Write(ref loseNextBatchAnswer, 1);

    public int LostAnswers => Volatile.Read(ref lostAnswers);

    public HttpClient Http { get; } = new();

    /// <summary>
    /// Posts <paramref name="bytes"/> as they are to <c>/v1/{call}</c> with the website key (HTTP Basic), the content type
    /// and, when given, a <c>Content-Encoding</c> header sent unvalidated; returns the status and the answer's text.
    /// </summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> PostBytesAsync(string call, byte[] bytes, string? contentEncoding = null, string contentType = "application/json; charset=utf-8")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "v1/" + call)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WebsiteKey + ":")));
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    protected virtual void Configure(TrackingApiOptions o)
    {
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(new RecordingLoggerProvider(Logs));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(Store.Proxy);
        builder.Services.AddOmnichannel(o =>
            {
                o.Partitions = 4;
                o.Privacy.HashKey = "aspnetcore-tests-hash-key-not-a-secret-000001"; // the store is a proxy, so the SDK treats it as durable
            })
            .AddSegment(Segment.Define("cart-builders", "Has something in the cart").Where(r => r.Stat(ProfileStatisticNames.CartLineCount).Gte(1)))
            .AddSegment(Segment.Define("customers", "Ordered at least once").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(1)))
            .AddSegment(Segment.Define("backend-buyers", "Ordered through the backend source")
                .Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("tracking_source").Eq("backend")).Count(c => c.Gte(1))))
            .AddSegment(Segment.Define("seen-from-test-net", "Pinged from 203.0.113.77")
                .Where(r => r.Event("ping").Where(r.Property("ip").Eq("203.0.113.77")).Count(c => c.Gte(1))))
            .AddTrackingApi(o =>
            {
                o.WriteKeys.Add(new TrackingWriteKey { Key = WebsiteKey, Source = "website" });
                o.WriteKeys.Add(new TrackingWriteKey { Key = BackendKey, Source = "backend", Channel = "server" });
                Configure(o);
            });
        app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Armed by a test: the batch is stored, then the answer is lost (a 500 replaces it), as when a proxy times out.
            if (context.Request.Path.StartsWithSegments("/v1/batch") && Interlocked.Exchange(ref loseNextBatchAnswer, 0) == 1)
            {
                var original = context.Response.Body;
                context.Response.Body = new MemoryStream();
                await next(context);
                context.Response.Body = original;
                context.Response.Headers.Clear();
                context.Response.StatusCode = 500;
                Interlocked.Increment(ref lostAnswers);
                return;
            }

            await next(context);
        });
        app.MapOmnichannelTracking("/v1");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
        Client = app.Services.GetRequiredService<IOmnichannelClient>();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>POSTs JSON to <c>/v1/{call}</c> as the clients do: Basic auth with the key as user name, empty password.</summary>
    public Task<HttpResponseMessage> PostAsync(string call, string json, string? writeKey = WebsiteKey, bool gzip = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "v1/" + call));
        var bytes = Encoding.UTF8.GetBytes(json);
        if (gzip)
        {
            using var compressed = new MemoryStream();
            using (var z = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                z.Write(bytes);
            }

            bytes = compressed.ToArray();
        }

        request.Content = new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        if (writeKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        }

        return Http.SendAsync(request);
    }

    public async Task<CustomerProfile> ProfileAsync(Identifier id) =>
        await Client.GetProfileAsync(id) ?? throw new Xunit.Sdk.XunitException($"no profile holds {id}");
}

/// <summary>The in-memory store behind a switch: when <see cref="FailCommits"/> is set, every commit throws, as a store that lost its disk would.</summary>
public sealed class FaultSwitchStore
{
    public FaultSwitchStore()
    {
        var proxy = DispatchProxy.Create<IOmnichannelStore, Forwarder>();
        ((Forwarder)(object)proxy).Owner = this;
        Proxy = proxy;
    }

    public InMemoryOmnichannelStore Inner { get; } = new();

    public IOmnichannelStore Proxy { get; }

    public volatile bool FailCommits;

    public class Forwarder : DispatchProxy
    {
        public FaultSwitchStore Owner { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOmnichannelStore.CommitAsync) && Owner.FailCommits)
            {
                return ValueTask.FromException<CommitResult>(new IOException("simulated store failure"));
            }

            try
            {
                return targetMethod.Invoke(Owner.Inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}

public sealed class RecordingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, sink);

    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
    }
}
