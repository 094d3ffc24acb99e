using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Audit Cons: live profile state and consent/delivery rules, whatever order events arrive in.</summary>
public sealed class AuditConsProfileTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    private static async Task<string> ExportAfter(IEnumerable<Func<OmnichannelTestHost, CustomerEvent>> events)
    {
        await using var host = OmnichannelTestHost.Create();
        foreach (var e in events)
        {
            await host.TrackAsync(e(host));
        }

        return ArrivalOrderProperties.Comparable(await host.Client.ExportProfileAsync(Ann));
    }

    private static CustomerEvent At(string id, string type, DateTimeOffset t, object? properties = null, object? traits = null, EventContext? context = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = t,
        Identifiers = [Ann],
        Channel = ChannelNames.Web,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
        Context = context,
    };

    [Fact]
    public async Task Devices_AreTheSame_InAnyArrivalOrder()
    {
        var t = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(5);
        Func<OmnichannelTestHost, CustomerEvent> a = _ => At("e1", "page.viewed", t, context: new EventContext { DeviceType = "mobile", Os = "iOS" });
        Func<OmnichannelTestHost, CustomerEvent> b = _ => At("e2", "page.viewed", t + TimeSpan.FromHours(1), context: new EventContext { DeviceType = "desktop", Os = "Windows" });
        Assert.Equal(await ExportAfter([a, b]), await ExportAfter([b, a]));
    }

    [Fact]
    public async Task AnEmptyObject_NewerThanALeaf_ReplacesIt()
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(At("e1", "user.updated", t - TimeSpan.FromHours(2), traits: new { address = "unknown" }));
        await host.TrackAsync(At("e2", "user.updated", t - TimeSpan.FromHours(1), traits: JsonData.Parse("""{"address": {}}""")));
        var p = await host.ProfileAsync(Ann);
        Assert.False(p.TryGetTrait("address", out _));
    }

    [Fact]
    public async Task AMessageHeldForQuietHours_GoesToTheEmailSheChangedToMeanwhile()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: LateEvening, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("old@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        var q = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" });
        Assert.True(q.DueAt > host.Time.GetUtcNow());
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync("user.updated", [Ann, Identifier.Email("new@example.com")]);
        await host.AdvanceToAsync(q.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        var m = Assert.Single(email.Messages);
        Assert.Equal("new@example.com", ((EmailMessage)m).To);
    }

    [Fact]
    public async Task TheExportedConsentHistory_HasEveryOptOut_NotOnlyConsentChanges()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.NewsletterSubscribed, [Ann], new { channel = "email" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        await host.TrackAsync(EventTypes.NewsletterUnsubscribed, [Ann], new { channel = "email" });
        await host.TrackAsync(EventTypes.MessageUnsubscribed, [Ann], new { channel = "sms" });
        await host.TrackAsync(EventTypes.MessageComplained, [Ann], new { channel = "email" });

        var history = (await host.Client.ExportProfileAsync(Ann))!["consentHistory"]!.AsArray();
        Assert.Equal(
            [EventTypes.NewsletterSubscribed, EventTypes.ConsentChanged, EventTypes.NewsletterUnsubscribed, EventTypes.MessageUnsubscribed, EventTypes.MessageComplained],
            history.Select(h => h!["type"]!.GetValue<string>()));
        Assert.Equal("email/newsletter denied", history[2]!["summary"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUnsubscribeFromATopic_WhileTheChannelIsRefused_StillStands_WhenSheOptsInToTheChannelLater()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/unsubscribe");
            },
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "offers", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "o1", Channels = [ChannelNames.Email], TemplateId = "o1", Topic = "offers" });
        await host.Engine.RunDispatchAsync();
        var header = ((EmailMessage)Assert.Single(email.Messages)).Headers["List-Unsubscribe"];
        var token = Uri.UnescapeDataString(header[(header.IndexOf("t=", StringComparison.Ordinal) + 2)..header.IndexOf('>', StringComparison.Ordinal)]);

        // A spam complaint refuses the whole channel; then she clicks "unsubscribe from offers" too.
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.MessageComplained, [Ann], new { channel = "email", message_id = "o1" });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));

        // Weeks later "email me" at checkout: a channel-wide yes, which does not lift her no to offers in particular.
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "o2", Channels = [ChannelNames.Email], TemplateId = "o2", Topic = "offers" })).Status);
    }

    [Fact]
    public async Task AnUnsubscribeTheStoreCouldNotRecord_IsNotReportedAsDone()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var store = new Omnichannel.Sdk.Tests.Engine.FlakyStore(new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.MaxCommitAttempts = 1;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/unsubscribe");
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "p1" });
        await host.Engine.RunDispatchAsync();
        var header = ((EmailMessage)Assert.Single(email.Messages)).Headers["List-Unsubscribe"];
        var token = Uri.UnescapeDataString(header[(header.IndexOf("t=", StringComparison.Ordinal) + 2)..header.IndexOf('>', StringComparison.Ordinal)]);

        store.ConflictOnce = c => c.EventId?.Contains(":unsubscribed", StringComparison.Ordinal) == true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Engine.UnsubscribeAsync(token).AsTask());
        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Email)!.Granted);

        // Posted again (the mail provider retries a failure): recorded.
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Email)!.Granted);
    }
}
