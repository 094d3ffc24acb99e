using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, merges under opt-out: a person who opted out on one profile is never messaged after it merges with an
/// opted-in one, whichever side survives, unless she opted in again later in time.
/// </summary>
public sealed class MergeConsentTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static OmnichannelTestHost Host() => OmnichannelTestHost.Create(
        o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
        delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));

    private static MessageRequest Promo(string key, string? topic = null) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Topic = topic };

    [Theory]
    [InlineData(true, null)]
    [InlineData(false, null)]
    [InlineData(true, "offers")]
    [InlineData(false, "offers")]
    public async Task AnOptOut_OnEitherSide_SurvivesTheMerge_UntilSheOptsInAgainLater(bool optOutOnSurvivor, string? topic)
    {
        await using var host = Host();
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known], at: t - TimeSpan.FromHours(3)));
        await host.TrackAsync(host.Event("page.viewed", [Ann], at: t - TimeSpan.FromHours(3)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [optOutOnSurvivor ? Ann : Known], new { channel = "email", topic, granted = true }, at: t - TimeSpan.FromHours(2)));
        await host.TrackAsync(host.Event(EventTypes.MessageUnsubscribed, [optOutOnSurvivor ? Known : Ann], new { channel = "email" }, at: t - TimeSpan.FromHours(1)));

        await host.TrackAsync("user.logged_in", [Known, Ann]);

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1", topic))).Status);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Ann, Promo("p2", topic))).Status);

        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic, granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p3", topic))).Status);
    }

    [Fact]
    public async Task AnOlderOptIn_ArrivingAfterTheMerge_DoesNotUndoANewerOptOut()
    {
        await using var host = Host();
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known], at: t - TimeSpan.FromHours(3)));
        await host.TrackAsync(host.Event(EventTypes.MessageUnsubscribed, [Known], new { channel = "Email" }, at: t - TimeSpan.FromHours(1)));
        await host.TrackAsync("user.logged_in", [Known, Ann]);

        // A back-filled opt-in from before the unsubscribe, under the address only.
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: t - TimeSpan.FromHours(2)));

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
    }

    private static readonly DateTimeOffset LateEvening = new(2026, 1, 5, 22, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AMessageHeldForQuietHours_IsNotSent_WhenAMergeBringsANewerOptOut(bool messageOnAbsorbed)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: LateEvening, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known, Identifier.Email("ann@work.example")], at: t - TimeSpan.FromHours(3)));
        await host.TrackAsync(host.Event("page.viewed", [Ann], at: t - TimeSpan.FromHours(3)));
        var messaged = messageOnAbsorbed ? Ann : Known;
        var other = messageOnAbsorbed ? Known : Ann;
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [messaged], new { channel = "email", granted = true }, at: t - TimeSpan.FromHours(2)));
        var q = await host.Client.SendAsync(messaged, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" });
        Assert.Equal(SendStatus.Queued, q.Status);
        Assert.True(q.DueAt > t);

        await host.TrackAsync(host.Event(EventTypes.MessageUnsubscribed, [other], new { channel = "email" }, at: t - TimeSpan.FromHours(1)));
        await host.TrackAsync("user.logged_in", [Known, Ann]);

        await host.AdvanceToAsync(q.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        var p = await host.ProfileAsync(Known);
        Assert.Contains(p.Timeline, e => e.Type == EventTypes.MessageSkipped);
    }

    [Fact]
    public async Task AMessageHeldForQuietHours_IsNotSent_WhenAMergeBringsAHardBounceOfItsAddress()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(start: LateEvening, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        var q = await host.Client.SendAsync(Known, Promo("promo"));
        Assert.True(q.DueAt > host.Time.GetUtcNow());
        await host.TrackAsync(EventTypes.MessageBounced, [Identifier.AnonymousId("cookie")], new { channel = "email", address = "ann@example.com", bounce_type = "hard" });
        await host.TrackAsync("user.logged_in", [Known, Identifier.AnonymousId("cookie")]);
        await host.AdvanceToAsync(q.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }
}
