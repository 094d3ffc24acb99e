using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit U66 (consent, subscription state and every unsubscribe path), through the one-click endpoint on Kestrel: a link
/// whose topic was altered, and "unsubscribe from all" after she opted back into a topic.
/// </summary>
public sealed class AuditU66UnsubscribeTests : IAsyncLifetime
{
    private LoopbackShop _shop = null!;

    public async Task InitializeAsync() => _shop = await LoopbackShop.StartAsync(
        "audit-u66-unsubscribe-tests-key-000000001",
        [new TemplateDocument("news", [TemplateVariant.Email("News", "<p>Hello</p><a href=\"{{ journey.unsubscribe_url }}\">Unsubscribe</a>")])]);

    public async Task DisposeAsync()
    {
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }
    }

    private OmnichannelEngine Engine => _shop.App.Services.GetRequiredService<OmnichannelEngine>();

    private Task TrackAsync(Identifier who, string id, string type, object? properties = null) =>
        Engine.TrackAsync(new CustomerEvent { Id = who.Value + "-" + id, Type = type, Timestamp = _shop.Time.GetUtcNow(), Identifiers = [who], Properties = properties is null ? default : JsonData.From(properties) }).AsTask();

    // A marketing mail with the topic (or none) to a customer who opted in to the whole channel; its link on this server.
    private async Task<Uri> LinkAsync(Identifier who, string? topic)
    {
        await Engine.TrackAsync(new CustomerEvent { Id = who.Value + "-e1", Type = "user.signed_up", Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [who, Identifier.Email(who.Value + "@example.com")] });
        await TrackAsync(who, "e2", EventTypes.ConsentChanged, new { channel = "email", granted = true });
        var key = who.Value + "-" + (topic ?? "all");
        Assert.Equal(SendStatus.Queued, (await Engine.SendAsync(who, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Topic = topic })).Status);
        await Engine.RunDispatchAsync();
        var link = new Uri(((EmailMessage)_shop.Email.Messages.Last()).Headers["List-Unsubscribe"].Trim('<', '>'));
        return new Uri(_shop.Base, link.PathAndQuery);
    }

    // A token of topic X turned into one of topic Y (payload rewritten, signature kept) is refused on GET and POST, and
    // neither topic changes. (Listmonk and Mautic reports of links whose list id could be edited in the URL.)
    [Fact]
    public async Task ALinkWhoseTopicWasAltered_IsRefused_AndChangesNeitherTopic()
    {
        var who = Identifier.CustomerId("c-altered");
        var link = await LinkAsync(who, "newsletter");
        var query = System.Web.HttpUtility.ParseQueryString(link.Query);
        var token = query["t"]!;
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(0, dot)));
        Assert.Contains("\"newsletter\"", payload, StringComparison.Ordinal);
        var altered = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload.Replace("\"newsletter\"", "\"offers\"", StringComparison.Ordinal))) + token[dot..];
        var forged = new Uri(_shop.Base, "unsubscribe?t=" + Uri.EscapeDataString(altered));
        await TrackAsync(who, "e3", EventTypes.ConsentChanged, new { channel = "email", topic = "offers", granted = true });
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(forged)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync(forged, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]))).StatusCode);

        var p = (await Engine.GetProfileAsync(who))!;
        Assert.True(p.GetConsent(ChannelNames.Email, "offers")!.Granted);
        Assert.True(p.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.DoesNotContain(p.Timeline, t => t.Type == EventTypes.MessageUnsubscribed);
    }

    // The mail client's one-click POST on an "all marketing" link, after she turned everything off and then opted back
    // into offers: the page says she is out, so offers must stop too (it recorded nothing before audit U66).
    [Fact]
    public async Task TheOneClickPostOfAnAllLink_AfterSheOptedBackIntoATopic_StopsThatTopic()
    {
        var who = Identifier.CustomerId("c-all");
        var link = await LinkAsync(who, null);
        _shop.Time.Advance(TimeSpan.FromDays(1));
        await TrackAsync(who, "e3", EventTypes.ConsentChanged, new { channel = "email", granted = false });
        _shop.Time.Advance(TimeSpan.FromDays(1));
        await TrackAsync(who, "e4", EventTypes.ConsentChanged, new { channel = "email", topic = "offers", granted = true });
        _shop.Time.Advance(TimeSpan.FromDays(1));
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(link)).StatusCode); // the page: changes nothing
        Assert.True((await Engine.GetProfileAsync(who))!.GetConsent(ChannelNames.Email, "offers")!.Granted);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(link, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]))).StatusCode);

        Assert.False((await Engine.GetProfileAsync(who))!.GetConsent(ChannelNames.Email, "offers")!.Granted);
        Assert.Equal(SendStatus.Skipped, (await Engine.SendAsync(who, new MessageRequest { Key = "c-all-offer", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "offers" })).Status);
    }
}
