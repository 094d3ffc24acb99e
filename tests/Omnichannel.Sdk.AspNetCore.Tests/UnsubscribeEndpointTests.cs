using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// One-click unsubscribe end to end on Kestrel: a templated marketing email carries the link in its headers and body;
/// a GET of the link (a mail scanner) changes nothing; the mail client's RFC 8058 POST withdraws consent.
/// </summary>
public sealed class UnsubscribeEndpointTests : IAsyncLifetime
{
    private LoopbackShop _shop = null!;

    public async Task InitializeAsync() => _shop = await LoopbackShop.StartAsync(
        "unsubscribe-endpoint-tests-key-000000000001",
        [new TemplateDocument("news", [TemplateVariant.Email("News", "<p>Hello</p><a href=\"{{ journey.unsubscribe_url }}\">Unsubscribe</a>")])]);

    public async Task DisposeAsync()
    {
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheLink_IsInTheHeadersAndTheBody_AGetChangesNothing_AndTheOneClickPostUnsubscribes()
    {
        var engine = _shop.App.Services.GetRequiredService<OmnichannelEngine>();
        var ann = Identifier.CustomerId("c-1");
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [ann, Identifier.Email("ann@example.com")] });
        await engine.TrackAsync(new CustomerEvent { Id = "e2", Type = EventTypes.ConsentChanged, Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [ann], Properties = JsonData.From(new { channel = "email", granted = true }) });
        var sent = await engine.SendAsync(ann, new MessageRequest { Key = "news-1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        Assert.Equal(SendStatus.Queued, sent.Status);
        await engine.RunDispatchAsync();

        var email = (EmailMessage)Assert.Single(_shop.Email.Messages);
        var header = email.Headers["List-Unsubscribe"];
        var link = header.Trim('<', '>');
        Assert.StartsWith("http://127.0.0.1/unsubscribe?t=", link, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(link), email.HtmlBody!, StringComparison.Ordinal);
        var path = new Uri(_shop.Base, new Uri(link).PathAndQuery);

        using var http = new HttpClient();
        var page = await http.GetAsync(path); // a mail scanner, or her click before she confirms
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<form method=\"post\">", html, StringComparison.Ordinal);
        Assert.Contains("“newsletter” email messages", html, StringComparison.Ordinal); // she sees what she is leaving
        Assert.True((await engine.GetProfileAsync(ann))!.GetConsent(ChannelNames.Email, "newsletter")!.Granted);

        var oneClick = await http.PostAsync(path, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
        Assert.Equal(HttpStatusCode.OK, oneClick.StatusCode);
        Assert.False((await engine.GetProfileAsync(ann))!.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.Equal(SendStatus.Skipped, (await engine.SendAsync(ann, new MessageRequest { Key = "news-2", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);

        var forgedPage = await http.GetAsync(new Uri(_shop.Base, "unsubscribe?t=" + Uri.EscapeDataString("eyJ4Ijox.AAAAAAAAAAAAAAAAAAAAAA")));
        Assert.Equal(HttpStatusCode.BadRequest, forgedPage.StatusCode); // told now, not after pressing the button

        var forged = await http.PostAsync(new Uri(_shop.Base, "unsubscribe?t=" + Uri.EscapeDataString("eyJ4Ijox.AAAAAAAAAAAAAAAAAAAAAA")), new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    [Theory]
    [InlineData("https://shop.example/email/stop", true)]
    [InlineData(null, true)]
    [InlineData("https://shop.example/unsubscribe", false)]
    [InlineData("https://shop.example/shop/unsubscribe/", false)] // a path prefix a proxy strips
    public async Task MappingARouteTheLinksDoNotPointAt_IsWarnedAbout(string? endpoint, bool warned)
    {
        var logs = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new RecordingLoggerProvider(logs));
        builder.Services.AddOmnichannel(o =>
        {
            o.Privacy.HashKey = "unsubscribe-endpoint-tests-key-000000000002";
            o.Delivery.Unsubscribe.Endpoint = endpoint is null ? null : new Uri(endpoint);
        });
        await using var app = builder.Build();

        app.MapOmnichannelUnsubscribe("/unsubscribe");

        Assert.Equal(warned, logs.Any(l => l.Contains("Omnichannel.Sdk.AspNetCore.Unsubscribe Warning", StringComparison.Ordinal)));
    }
}
