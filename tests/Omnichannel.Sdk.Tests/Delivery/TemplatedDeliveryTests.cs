using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class TemplatedDeliveryTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static ServiceProvider Build(RecordingTransport email, RecordingTransport sms, ITemplateSource templates)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>")
            .UseTemplates(templates)
            .AddTransport("recording", ChannelNames.Email, _ => email)
            .AddTransport("recording", ChannelNames.Sms, _ => sms);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task AMessage_IsRenderedFromItsTemplate_WithTheProfileAndTheRequestData_PerChannel()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var templates = new InMemoryTemplateSource(new TemplateDocument("order-confirmation",
        [
            TemplateVariant.Email("Thanks {{ profile.first_name }}!", "<p>Order {{ journey.order_id }}: {{ profile.traits.note }}</p>", "Order {{ journey.order_id }}"),
            TemplateVariant.Sms("Order {{ journey.order_id }} confirmed"),
        ]));
        await using var provider = Build(email, sms, templates);
        var client = provider.GetRequiredService<IOmnichannelClient>();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await client.TrackAsync(new CustomerEvent
        {
            Id = "e1",
            Type = "user.signed_up",
            Timestamp = OmnichannelTestHost.DefaultStart,
            Identifiers = [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900001")],
            Traits = JsonData.From(new { first_name = "Ann", note = "<b>gift</b>" }),
        });

        var request = new MessageRequest
        {
            Key = "confirm-42",
            Channels = [ChannelNames.Email],
            TemplateId = "order-confirmation",
            Class = MessageClass.Transactional,
            Data = new System.Text.Json.Nodes.JsonObject { ["order_id"] = "KS-42" },
        };
        Assert.Equal(SendStatus.Queued, (await engine.SendAsync(Ann, request)).Status);
        Assert.Equal(SendStatus.Queued, (await engine.SendAsync(Ann, request with { Key = "confirm-42-sms", Channels = [ChannelNames.Sms] })).Status);
        await engine.RunDispatchAsync();

        var mail = Assert.Single(email.Sent<EmailMessage>());
        Assert.Equal(("Thanks Ann!", "Kitty Supplies <hello@kitty.example>", "Order KS-42"), (mail.Subject, mail.From, mail.TextBody));
        Assert.Equal("<p>Order KS-42: &lt;b&gt;gift&lt;/b&gt;</p>", mail.HtmlBody);
        Assert.Equal("Order KS-42 confirmed", Assert.Single(sms.Sent<SmsMessage>()).Body);
    }

    [Fact]
    public async Task AChannelTheTemplateDoesNotCover_IsPassedOver_ForTheNextOne()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var provider = Build(email, sms, new InMemoryTemplateSource(new TemplateDocument("sms-only", [TemplateVariant.Sms("Hi")])));
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = OmnichannelTestHost.DefaultStart, Identifiers = [Ann, Identifier.Email("a@example.com"), Identifier.Phone("+447700900001")] });

        var r = await engine.SendAsync(Ann, new MessageRequest { Key = "k", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "sms-only", Class = MessageClass.Transactional });

        Assert.Equal((SendStatus.Queued, ChannelNames.Sms, "email: the template has nothing for this channel"), (r.Status, r.Channel, r.Reason));
    }

    [Fact]
    public void ATemplateWithErrors_StopsTheStart_WithItsLineAndColumn()
    {
        var broken = new InMemoryTemplateSource(new TemplateDocument("broken", [TemplateVariant.Sms("Hi {{ profile.first_name ")]));
        var ex = Assert.Throws<TemplateRenderException>(() => Build(new RecordingTransport(), new RecordingTransport(ChannelNames.Sms), broken).GetRequiredService<OmnichannelEngine>());
        var error = Assert.Single(ex.Errors);
        Assert.Equal(("broken", 1, 4), (error.TemplateId, error.Line, error.Column));
        Assert.StartsWith("The templates could not be loaded (1 error;", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("\n  " + error, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmailTemplates_WithoutASender_StopTheStart_NamingTheVariants()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel()
            .UseTemplates(new InMemoryTemplateSource(
                new TemplateDocument("welcome", [TemplateVariant.Email("Hi", "<p>Hi</p>")]),
                new TemplateDocument("text-only", [TemplateVariant.Sms("Hi")])));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<OmnichannelEngine>());

        var failure = Assert.Single(ex.Failures);
        Assert.StartsWith("Delivery.EmailFrom is not set, so the email template variant(s) welcome/email could never be sent", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ATemplatePrintingTheUnsubscribeLink_WithoutAnEndpoint_StopsTheStart()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(
                new TemplateDocument("newsletter", [TemplateVariant.Email("News", "<p>News</p><a href=\"{{ journey.unsubscribe_url }}\">Unsubscribe</a>")]),
                new TemplateDocument("receipt", [TemplateVariant.Email("Receipt", "<p>Thanks</p>")])));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<OmnichannelEngine>());

        Assert.StartsWith("The template variant(s) newsletter/email print journey.unsubscribe_url, but Delivery.Unsubscribe.Endpoint is not set", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void AJourneySendingATemplateTheSourceDoesNotHold_StopsTheStart_NamingTheStepAndTheTemplates()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(OmnichannelTestHost.DefaultStart));
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("welcome", [TemplateVariant.Email("Hi", "<p>Hi</p>")])))
            .AddJourneysFromJson("""
                [{"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "newsletter.subscribed"},
                  "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                            {"id": "hello", "type": "send", "channels": ["email"], "template": "welcom"}]}]
                """);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<Omnichannel.Sdk.Journeys.JourneyDefinitionException>(() => provider.GetRequiredService<OmnichannelEngine>());

        var error = Assert.Single(ex.Errors);
        Assert.Equal("$.steps[1].template", error.Path);
        Assert.Equal("journey 'welcome' step 'hello' sends template 'welcom', which the template source given to UseTemplates does not hold (it holds: welcome)", error.Message);
    }

    [Fact]
    public async Task AnSmsOfTensOfThousandsOfSegments_IsNeverSent_AndTheRendererTakesTheLimitFromDeliveryOptions()
    {
        // Issue 13 §4: a loop over a long list rendered an SMS of 68,535 segments.
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var templates = new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Sms("{% for l in journey.lines %}{{ l }} {% endfor %}")]));
        await using var provider = Build(email, sms, templates);
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = OmnichannelTestHost.DefaultStart, Identifiers = [Ann, Identifier.Phone("+447700900001")] });
        var lines = new System.Text.Json.Nodes.JsonArray([.. Enumerable.Range(0, 100_000).Select(i => System.Text.Json.Nodes.JsonValue.Create($"Item {i} is still in your cart"))]);

        var result = await engine.SendAsync(Ann, new MessageRequest { Key = "big", Channels = [ChannelNames.Sms], TemplateId = "cart", Class = MessageClass.Transactional, Data = new() { ["lines"] = lines } });
        await engine.RunDispatchAsync();

        Assert.NotEqual(SendStatus.Queued, result.Status);
        Assert.Contains("1,600 characters", result.Reason, StringComparison.Ordinal);
        Assert.Empty(sms.Sent<SmsMessage>());
    }
}
