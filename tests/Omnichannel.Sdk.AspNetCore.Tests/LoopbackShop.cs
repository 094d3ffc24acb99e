using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// A shop on Kestrel at a free loopback port, on a fake clock (2026-03-02 10:00 UTC), sending marketing email at any hour
/// through a recording transport: the host of the unsubscribe endpoint's and the Email events' tests.
/// </summary>
internal sealed class LoopbackShop : IAsyncDisposable
{
    public RecordingTransport Email { get; } = new(ChannelNames.Email);

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));

    public WebApplication App { get; private set; } = null!;

    /// <summary>The server's address, ending with a slash.</summary>
    public Uri Base { get; private set; } = null!;

    public OmnichannelEngine Engine => App.Services.GetRequiredService<OmnichannelEngine>();

    /// <param name="hashKey">The installation's <c>Privacy.HashKey</c>.</param>
    /// <param name="templates">The templates.</param>
    /// <param name="unsubscribeLinks">Whether emails carry unsubscribe links and the endpoint is mapped at <c>/unsubscribe</c>.</param>
    /// <param name="add">More registrations (a tracking API).</param>
    /// <param name="map">More endpoints.</param>
    public static async Task<LoopbackShop> StartAsync(
        string hashKey, IEnumerable<TemplateDocument> templates, bool unsubscribeLinks = true, Action<OmnichannelBuilder>? add = null, Action<WebApplication>? map = null)
    {
        var shop = new LoopbackShop();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(shop.Time);
        var omnichannel = builder.Services.AddOmnichannel(o =>
            {
                o.Privacy.HashKey = hashKey;
                o.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>";
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                if (unsubscribeLinks)
                {
                    o.Delivery.Unsubscribe.Endpoint = new Uri("http://127.0.0.1/unsubscribe");
                }
            })
            .UseTemplates(new InMemoryTemplateSource(templates))
            .AddTransport("recording", ChannelNames.Email, _ => shop.Email);
        add?.Invoke(omnichannel);
        shop.App = builder.Build();
        if (unsubscribeLinks)
        {
            shop.App.MapOmnichannelUnsubscribe();
        }

        map?.Invoke(shop.App);
        await shop.App.StartAsync();
        shop.Base = new Uri(shop.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/') + "/");
        return shop;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
