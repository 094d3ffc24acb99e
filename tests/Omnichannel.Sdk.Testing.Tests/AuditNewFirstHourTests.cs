using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>Audit New: a newcomer's first hour (registration mistakes that must say what is missing).</summary>
public sealed class AuditNewFirstHourTests
{
    [Fact]
    public async Task AJourneyThatSends_WithoutUseTemplates_SaysTemplatesAreMissing_NotThatTheTemplateHasNothingForTheChannel()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddOmnichannel()
            .AddJourney(Journey.Define("welcome", "Welcome")
                .TriggeredBy(t => t.Event(EventTypes.NewsletterSubscribed))
                .Steps(s => s.Send("hello", [ChannelNames.Email], "welcome-email", topic: "newsletter"))
                .Build()));
        var ann = Identifier.Email("ann@example.com");
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });

        await host.TrackAsync(EventTypes.NewsletterSubscribed, [ann]);

        Assert.Empty(host.Sent.Messages);
        var skipped = Assert.Single((await host.ProfileAsync(ann)).Timeline, t => t.Type == "journey.skipped");
        Assert.Contains("no templates are registered (call UseTemplates(source)", skipped.Summary, StringComparison.Ordinal);
        Assert.Contains("'welcome-email'", skipped.Summary, StringComparison.Ordinal);
    }
    [Fact]
    public async Task AJourneyPublishedAtRunTime_NamingATemplateNotLoaded_IsRefusedWithItsPath_AsAtStart()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart-reminder", [TemplateVariant.Email("Your cart", "<p>Waiting.</p>")]))));
        var journey = Journey.Define("abandoned-cart", "Abandoned cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .Steps(s => s.Delay("wait-1h", "PT1H").Send("reminder", [ChannelNames.Email], "cart-remider", topic: "cart"))
            .Build();

        var ex = await Assert.ThrowsAsync<JourneyDefinitionException>(() => host.Client.PublishJourneyAsync(journey));

        var error = Assert.Single(ex.Errors);
        Assert.Equal("$.steps[1].template", error.Path);
        Assert.Contains("'cart-remider'", error.Message, StringComparison.Ordinal);
        Assert.Contains("it holds: cart-reminder", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Client.Journeys, j => j.Id == "abandoned-cart");
    }
}
