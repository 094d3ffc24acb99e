using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit S, bug classes from public reports about one-click unsubscribe endpoints: Notifuse/notifuse#362 (the RFC 8058
/// POST refused for its body: empty, <c>text/plain</c>, multipart), Amunak/thunderbird-list-unsubscribe-addon#8 (clients
/// that post no body at all), link scanners fetching with <c>HEAD</c>, and a topic's unsubscribe that must not stop
/// transactional mail (mautic/mautic do-not-contact reports).
/// </summary>
public sealed class AuditSUnsubscribeTests : IAsyncLifetime
{
    private LoopbackShop _shop = null!;

    public async Task InitializeAsync() => _shop = await LoopbackShop.StartAsync(
        "audit-s-unsubscribe-tests-key-00000000001",
        [new TemplateDocument("news", [TemplateVariant.Email("News", "<p>Hello</p><a href=\"{{ journey.unsubscribe_url }}\">Unsubscribe</a>")]),
                new TemplateDocument("receipt", [TemplateVariant.Email("Receipt", "<p>Thanks</p>")])]);

    public async Task DisposeAsync()
    {
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }
    }

    private OmnichannelEngine Engine => _shop.App.Services.GetRequiredService<OmnichannelEngine>();

    // A newsletter mail to a customer who opted in; returns the link of its List-Unsubscribe header, on this server.
    private async Task<Uri> NewsletterLinkAsync(Identifier who)
    {
        await Engine.TrackAsync(new CustomerEvent { Id = who.Value + "-e1", Type = "user.signed_up", Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [who, Identifier.Email(who.Value + "@example.com")] });
        await Engine.TrackAsync(new CustomerEvent { Id = who.Value + "-e2", Type = EventTypes.ConsentChanged, Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [who], Properties = JsonData.From(new { channel = "email", granted = true }) });
        Assert.Equal(SendStatus.Queued, (await Engine.SendAsync(who, new MessageRequest { Key = who.Value + "-news-1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
        await Engine.RunDispatchAsync();
        var email = (EmailMessage)_shop.Email.Messages.Last();
        var link = new Uri(email.Headers["List-Unsubscribe"].Trim('<', '>'));
        return new Uri(_shop.Base, link.PathAndQuery);
    }

    public static TheoryData<string, Func<HttpContent?>> Bodies => new()
    {
        { "no body", () => null },
        { "empty form", () => new FormUrlEncodedContent([]) },
        { "text/plain", () => new StringContent("List-Unsubscribe=One-Click", Encoding.UTF8, "text/plain") },
        { "multipart", () => new MultipartFormDataContent { { new StringContent("One-Click"), "List-Unsubscribe" } } },
        { "json", () => new StringContent("{\"List-Unsubscribe\":\"One-Click\"}", Encoding.UTF8, "application/json") },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task TheOneClickPost_WithAnyBodyAClientSends_Unsubscribes(string kind, Func<HttpContent?> body)
    {
        var who = Identifier.CustomerId("c-" + kind.Replace(' ', '-').Replace('/', '-'));
        var link = await NewsletterLinkAsync(who);
        using var http = new HttpClient();

        var response = await http.PostAsync(link, body());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((await Engine.GetProfileAsync(who))!.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    [Fact]
    public async Task AHeadOrGetFromALinkScanner_ChangesNothing_AndARepeatedPostStaysOneUnsubscribe()
    {
        var who = Identifier.CustomerId("c-scan");
        var link = await NewsletterLinkAsync(who);
        using var http = new HttpClient();

        using (var head = new HttpRequestMessage(HttpMethod.Head, link))
        {
            var scanned = await http.SendAsync(head);
            Assert.NotEqual(HttpStatusCode.InternalServerError, scanned.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(link)).StatusCode);
        Assert.True((await Engine.GetProfileAsync(who))!.GetConsent(ChannelNames.Email, "newsletter")!.Granted);

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(link, null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(link, null)).StatusCode);
        var unsubscribes = (await Engine.GetProfileAsync(who))!.Timeline.Count(e => e.Type == EventTypes.MessageUnsubscribed);
        Assert.Equal(1, unsubscribes);
    }

    [Fact]
    public async Task ATopicsUnsubscribe_StopsThatTopicOnly_NotTransactionalMail()
    {
        var who = Identifier.CustomerId("c-topic");
        var link = await NewsletterLinkAsync(who);
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(link, null)).StatusCode);

        Assert.Equal(SendStatus.Skipped, (await Engine.SendAsync(who, new MessageRequest { Key = "c-topic-news-2", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
        Assert.Equal(SendStatus.Queued, (await Engine.SendAsync(who, new MessageRequest { Key = "c-topic-promo", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "promotions" })).Status);
        Assert.Equal(SendStatus.Queued, (await Engine.SendAsync(who, new MessageRequest { Key = "c-topic-receipt", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional })).Status);
    }
}
