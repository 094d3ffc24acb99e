using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// The Spec's Email events (https://segment.com/docs/connections/spec/email/) through the real endpoint, on Kestrel with a
/// fake clock and a recording email transport: an email tool that reports <c>Unsubscribed</c>, <c>Email Marked as
/// Spam</c> or a hard <c>Email Bounced</c> for her must stop the SDK's next marketing email; <c>Email Opened</c> of the
/// SDK's own message (its key in <c>email_id</c>) is that message's open. Before, each was a custom event that did nothing.
/// </summary>
public sealed class EmailSpecTrackingTests : IAsyncLifetime
{
    private const string WriteKey = "wk_email_tool_0123456789abcdef";

    private readonly HttpClient _http = new();
    private LoopbackShop _shop = null!;

    public async Task InitializeAsync() => _shop = await LoopbackShop.StartAsync(
        "email-spec-tracking-tests-key-0000000001",
        [new TemplateDocument("news", [TemplateVariant.Email("News", "<p>Hello</p>")])],
        unsubscribeLinks: false,
        add: b => b.AddTrackingApi(o => o.WriteKeys.Add(new TrackingWriteKey { Key = WriteKey, Source = "email-tool", Channel = "server" })),
        map: app => app.MapOmnichannelTracking("/v1"));

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }
    }

    private OmnichannelEngine Engine => _shop.App.Services.GetRequiredService<OmnichannelEngine>();

    private async Task<JsonNode> TrackAsync(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_shop.Base, "v1/track")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    // She is known by her user id and email, opted in to marketing email, and got one newsletter from the SDK (sent).
    private async Task<(Identifier Who, string Email, string SentKey)> SubscriberWithOneEmailAsync()
    {
        var user = $"es-{Guid.NewGuid():N}";
        var email = user + "@example.com";
        var who = Identifier.CustomerId(user);
        await Engine.TrackAsync(new CustomerEvent { Id = user + "-signup", Type = "user.signed_up", Timestamp = _shop.Time.GetUtcNow().AddMinutes(-2), Identifiers = [who, Identifier.Email(email)] });
        await Engine.TrackAsync(new CustomerEvent { Id = user + "-consent", Type = EventTypes.ConsentChanged, Timestamp = _shop.Time.GetUtcNow().AddMinutes(-1), Identifiers = [who], Properties = JsonData.From(new { channel = "email", granted = true }) });
        var key = user + "-news-1";
        Assert.Equal(SendStatus.Queued, (await Engine.SendAsync(who, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
        await Engine.RunDispatchAsync();
        Assert.Contains(_shop.Email.Messages, m => ((EmailMessage)m).To == email);
        _shop.Time.Advance(TimeSpan.FromMinutes(5));
        return (who, email, key);
    }

    private ValueTask<SendResult> NextNewsletterAsync(Identifier who, string key) =>
        Engine.SendAsync(who, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });

    // Customer.io's, SendGrid's or Braze's report of her opt-out through a Segment-compatible client, as the Spec writes it
    // (context.traits.email names the recipient; email_id is the tool's own id, not a message the SDK sent; list_id is the
    // tool's list). An unsubscribe is about her, whoever sent the mail: the SDK's next marketing email is not sent.
    [Theory]
    [InlineData("Unsubscribed", """, "list_id": "1425", "list_name": "New customers" """, "consent")]
    [InlineData("unsubscribed", "", "consent")]
    [InlineData("Email Marked as Spam", "", "consent")]
    [InlineData("email_marked_as_spam", "", "consent")]
    [InlineData("Email Bounced", """, "bounce_type": "hard" """, "suppressed")]
    [InlineData("Email Bounced", """, "bounce_type": "Permanent" """, "suppressed")] // Amazon SES
    [InlineData("Email Bounced", """, "bounce_type": "HardBounce" """, "suppressed")] // Postmark
    [InlineData("Email Bounced", """, "bounce": "permanent" """, "suppressed")] // Mailgun's severity, the engine's older key
    public async Task AnOptOutReportedByHerEmailTool_StopsTheSdksNextMarketingEmail(string name, string extra, string reason)
    {
        var (who, email, _) = await SubscriberWithOneEmailAsync();

        var answer = await TrackAsync($$$"""
            {"userId": "{{{who.Value}}}", "event": "{{{name}}}", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}",
             "context": {"traits": {"email": "{{{email}}}"}},
             "properties": {"email_id": "18vzF7u3z", "email_subject": "First shirt on us!", "campaign_id": "123", "campaign_name": "New Customer Discount"{{{extra}}}}}
            """);
        _shop.Time.Advance(TimeSpan.FromMinutes(1));

        Assert.Null(answer["ignored"]);
        var next = await NextNewsletterAsync(who, who.Value + "-news-2");
        Assert.Equal(SendStatus.Skipped, next.Status);
        Assert.Contains(reason, next.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(email, next.Reason ?? string.Empty, StringComparison.Ordinal);
    }

    // The Spec's Email Bounced carries no bounce type; the engine suppresses an address only on a bounce reported hard
    // (a full mailbox is soft), so an untyped one is counted as a bounce and suppresses nothing: her next email is sent.
    [Fact]
    public async Task AnEmailBouncedWithoutAType_IsABounce_ThatSuppressesNothing_AsTheEnginesOwnUntypedBounce()
    {
        var (who, email, sentKey) = await SubscriberWithOneEmailAsync();

        await TrackAsync($$$"""
            {"userId": "{{{who.Value}}}", "event": "Email Bounced", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}",
             "context": {"traits": {"email": "{{{email}}}"}}, "properties": {"email_id": "{{{sentKey}}}", "bounce_type": ""}}
            """);

        var profile = (await Engine.GetProfileAsync(who))!;
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.MessageBounced);
        Assert.Equal(SendStatus.Queued, (await NextNewsletterAsync(who, who.Value + "-news-2")).Status);
    }

    // Email tools name bounce types their own way. Before, anything but hard or soft refused the whole report with a 400
    // (which clients never send again): SES's Transient and Postmark's SoftBounce are soft, and a type nobody can read
    // (SES's Undetermined) is left out, listed under `ignored`, and the bounce recorded without one.
    [Theory]
    [InlineData("Transient", null)]
    [InlineData("soft_bounce", null)]
    [InlineData("Undetermined", "properties.bounce_type")]
    [InlineData("550", "properties.bounce_type")]
    public async Task AnEmailBouncedWithAToolsNonHardType_IsRecorded_AndSuppressesNothing(string bounceType, string? ignored)
    {
        var (who, email, sentKey) = await SubscriberWithOneEmailAsync();

        var answer = await TrackAsync($$$"""
            {"userId": "{{{who.Value}}}", "event": "Email Bounced", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}",
             "context": {"traits": {"email": "{{{email}}}"}}, "properties": {"email_id": "{{{sentKey}}}", "bounce_type": "{{{bounceType}}}"}}
            """);

        Assert.Equal(ignored, (string?)answer["ignored"]?.AsArray().Single()!["field"]);
        var profile = (await Engine.GetProfileAsync(who))!;
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.MessageBounced);
        Assert.Equal(SendStatus.Queued, (await NextNewsletterAsync(who, who.Value + "-news-2")).Status);
    }

    // The SDK's own message key in email_id: the open, the delivery and the click are that message's (its template's row
    // counts them). An open naming a message the SDK never sent, or none, is accepted and adds nothing to that row.
    [Fact]
    public async Task AnEmailOpenedOfTheSdksOwnMessage_IsThatMessagesOpen_AndOthersAreHarmless()
    {
        var (who, email, sentKey) = await SubscriberWithOneEmailAsync();

        foreach (var (name, extra) in new[] { ("Email Delivered", ""), ("Email Opened", ""), ("Email Link Clicked", """, "link_id": "101", "link_url": "https://shop.example/winter?promo=NEW" """) })
        {
            await TrackAsync($$$"""
                {"userId": "{{{who.Value}}}", "event": "{{{name}}}", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}",
                 "context": {"traits": {"email": "{{{email}}}"}}, "properties": {"email_id": "{{{sentKey}}}", "email_subject": "News"{{{extra}}}}}
                """);
        }

        await TrackAsync($$$"""{"userId": "{{{who.Value}}}", "event": "Email Opened", "messageId": "{{{Guid.NewGuid():N}}}", "properties": {"email_id": "not-ours-77"}}""");
        await TrackAsync($$$"""{"userId": "{{{who.Value}}}", "event": "Email Opened", "messageId": "{{{Guid.NewGuid():N}}}"}""");

        var rows = await Engine.GetMeasurementsAsync(new MeasurementQuery());
        long Count(string metric) => rows.Where(r => r.Key.Metric == metric && r.Key.TemplateId == "news" && r.Key.Channel == ChannelNames.Email).Sum(r => r.Count);
        Assert.Equal(1, Count(MeasurementMetrics.Delivered));
        Assert.Equal(1, Count(MeasurementMetrics.Opened));
        Assert.Equal(1, Count(MeasurementMetrics.Clicked));
        var profile = (await Engine.GetProfileAsync(who))!;
        Assert.Equal(3, profile.Timeline.Count(t => t.Type == EventTypes.MessageOpened));
    }

    // Audit U82 (Jericho/StrongGrid#405, braze-inc/braze-docs#3024, gophish/gophish#2115): an email tool's machine open
    // and bot click, posted through the endpoint with the provider's flag, stay on her timeline flagged and count nothing
    // on the message's row; her own open then counts.
    [Fact]
    public async Task AnEmailOpenedAndClickedByMachines_StayOnHerTimeline_ButCountNoOpenOrClick()
    {
        var (who, email, sentKey) = await SubscriberWithOneEmailAsync();
        foreach (var (name, extra) in new[] { ("Email Opened", """, "sg_machine_open": true"""), ("Email Link Clicked", """, "link_url": "https://shop.example/winter", "is_suspected_bot_click": true""") })
        {
            await TrackAsync($$$"""
                {"userId": "{{{who.Value}}}", "event": "{{{name}}}", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}",
                 "context": {"traits": {"email": "{{{email}}}"}}, "properties": {"email_id": "{{{sentKey}}}"{{{extra}}}}}
                """);
        }

        long Count(IReadOnlyList<MeasurementRow> rows, string metric) => rows.Where(r => r.Key.Metric == metric && r.Key.TemplateId == "news").Sum(r => r.Count);
        var rows = await Engine.GetMeasurementsAsync(new MeasurementQuery());
        Assert.Equal((0L, 0L), (Count(rows, MeasurementMetrics.Opened), Count(rows, MeasurementMetrics.Clicked)));
        var profile = (await Engine.GetProfileAsync(who))!;
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.MessageOpened && t.Summary == "email, machine (sendgrid)");
        Assert.Contains(profile.Timeline, t => t.Type == EventTypes.MessageClicked && t.Summary == "email, machine (braze)");

        await TrackAsync($$$"""{"userId": "{{{who.Value}}}", "event": "Email Opened", "messageId": "{{{Guid.NewGuid():N}}}", "timestamp": "{{{_shop.Time.GetUtcNow():O}}}", "properties": {"email_id": "{{{sentKey}}}"}}""");
        Assert.Equal(1, Count(await Engine.GetMeasurementsAsync(new MeasurementQuery()), MeasurementMetrics.Opened));
    }

    // A shop that maps one of these names itself keeps its mapping, its properties as sent.
    [Fact]
    public void AShopsOwnMappingOfAnEmailEventName_IsKept()
    {
        var o = new TrackingApiOptions();
        o.Mapping.TrackEvents["Unsubscribed"] = EventTypes.NewsletterUnsubscribed;
        var mapped = Map(o, "Unsubscribed");
        Assert.Equal(EventTypes.NewsletterUnsubscribed, mapped.Type);
        Assert.Equal("web", mapped.Properties.GetProperty("channel").GetString());
        Assert.False(mapped.Properties.TryGetProperty("message_id", out _));
    }

    private static CustomerEvent Map(TrackingApiOptions o, string name, string properties = """{"email_id": "e-1", "channel": "web"}""")
    {
        using var doc = JsonDocument.Parse($$"""{"type":"track","userId":"u","event":{{JsonSerializer.Serialize(name)}},"messageId":"m1","properties":{{properties}}}""");
        return new SpecMessageMapper(o).Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, DateTimeOffset.UnixEpoch, null, null)).Event!;
    }

    private static readonly (string Name, string Type)[] SpecNames =
    [
        ("Email Delivered", EventTypes.MessageDelivered), ("Email Opened", EventTypes.MessageOpened), ("Email Link Clicked", EventTypes.MessageClicked),
        ("Email Bounced", EventTypes.MessageBounced), ("Email Marked as Spam", EventTypes.MessageComplained), ("Unsubscribed", EventTypes.MessageUnsubscribed),
    ];

    // Every spelling the matcher accepts of a Spec Email event (any case per letter; words joined by a space, an
    // underscore or nothing; a two-word name's words either way round) is that event: its type, on email, with the Spec's
    // email_id as the message id (a `web` channel the client sent is no messaging channel and does not survive).
    [Property(Arbitrary = [typeof(Spellings)], MaxTest = 200)]
    public bool AnySpellingTheMatcherAccepts_OfAnEmailEvent_MapsToItsTypeOnEmail(int which, int seed)
    {
        var (name, type) = SpecNames[which % SpecNames.Length];
        var random = new Random(seed);
        var words = name.Split(' ');
        if (words.Length == 2 && random.Next(2) == 0)
        {
            words = [words[1], words[0]];
        }

        var joined = string.Concat(words.Select((w, i) => (i == 0 ? string.Empty : new[] { " ", "_", string.Empty, "  " }[random.Next(4)]) + w));
        var spelled = new string(joined.Select(c => random.Next(2) == 0 ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)).ToArray());
        var e = Map(new TrackingApiOptions(), spelled);
        return e.Type == type
            && e.Properties.GetProperty("channel").GetString() == ChannelNames.Email
            && e.Properties.GetProperty("message_id").GetString() == "e-1";
    }

    public static class Spellings
    {
        public static Arbitrary<int> Ints() => Gen.Choose(0, int.MaxValue - 1).ToArbitrary();
    }
}
