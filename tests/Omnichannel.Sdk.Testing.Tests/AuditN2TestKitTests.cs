using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>Audit N2: a newcomer's first hour with the test kit (clock direction, assertions that cannot pass vacuously, DST).</summary>
public sealed class AuditN2TestKitTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    // A morning mail at 09:00 in her zone, the day after she asks for it.
    private static OmnichannelTestHost Morning(DateTimeOffset start) => OmnichannelTestHost.Create(
        services => services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("morning", [TemplateVariant.Email("Good morning", "<p>Hi</p>")])))
            .AddJourney(Journey.Define("morning", "Morning")
                .TriggeredBy(t => t.Event("morning.requested"))
                .Steps(s => s.DelayUntilLocalTime("until-9", new TimeOnly(9, 0)).Send("hello", [ChannelNames.Email], "morning", topic: "news"))
                .Build()),
        new OmnichannelTestHostOptions { Start = start });

    [Fact]
    public async Task AdvanceAsync_WithANegativeSpan_ThrowsAndLeavesTheClock()
    {
        await using var host = OmnichannelTestHost.Create();
        var start = host.Time.GetUtcNow();

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.AdvanceAsync(TimeSpan.FromHours(-1)));

        Assert.Equal("by", ex.ParamName);
        Assert.Contains("never moves backwards", ex.Message, StringComparison.Ordinal);
        Assert.Equal(start, host.Time.GetUtcNow());
    }

    [Fact]
    public async Task AdvanceToAsync_AnEarlierInstant_ThrowsAndLeavesTheClock_TheCurrentOneIsAllowed()
    {
        await using var host = OmnichannelTestHost.Create();
        var start = host.Time.GetUtcNow();

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.AdvanceToAsync(start.AddTicks(-1)));
        Assert.Equal("instant", ex.ParamName);
        Assert.Contains("OmnichannelTestHostOptions.Start", ex.Message, StringComparison.Ordinal);

        await host.AdvanceToAsync(start);
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal(start, host.Time.GetUtcNow());
    }

    [Fact]
    public async Task ABareHost_SentThrows_InsteadOfStayingEmptyWhileItsOwnRecorderReceives()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("recorder", email));
        await host.TrackAsync("user.signed_up", [Ann]);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "k1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.Zero);

        Assert.Single(email.SentTo("ann@example.com"));
        var ex = Assert.Throws<InvalidOperationException>(() => host.Sent);
        Assert.Contains("records nothing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordTransportsOff_SentThrows()
    {
        await using var host = OmnichannelTestHost.Create(s => s.AddOmnichannel(), new OmnichannelTestHostOptions { RecordTransports = false });

        Assert.Throws<InvalidOperationException>(() => host.Sent);
    }

    [Fact]
    public async Task AWaitUntilNineLocal_AcrossTheSpringForward_SendsAtNineSummerTime()
    {
        // Europe/London moves from 01:00 GMT to 02:00 BST on 2026-03-29: 09:00 that day is 08:00 UTC.
        await using var host = Morning(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, context: new EventContext { TimeZone = "Europe/London" });
        await host.TrackAsync("morning.requested", [Ann]);

        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 7, 59, 59, TimeSpan.Zero));
        Assert.Empty(host.Sent.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.waiting");

        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 29, 8, 0, 0, TimeSpan.Zero));
        Assert.Single(host.Sent.SentTo("ann@example.com"));
    }

    [Fact]
    public async Task ASecondHostOnTheSameStore_BuildsIdsTheFirstDidNotUse_SoARestartTestKeepsItsEvents()
    {
        // A restart test: the second host's first event used to be evt-000001 again, answered Duplicate, and dropped.
        var store = new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore();
        await using (var before = OmnichannelTestHost.Create(store: store))
        {
            await before.TrackAsync("product.viewed", [Ann]);
        }

        await using var after = OmnichannelTestHost.Create(store: store);
        var result = await after.TrackAsync("product.viewed", [Ann]);

        Assert.Equal(TrackStatus.Accepted, result.Status);
        var profile = await after.Client.GetProfileAsync(Ann);
        Assert.Equal(2, profile!.Timeline.Count);
    }
}
