using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

public sealed class VariantSelectionTests
{
    private static readonly TemplateDocument Button = new("cta", [
        TemplateVariant.InApp("click here"),
        TemplateVariant.InApp("tap here") with { DeviceType = DeviceTypes.Mobile },
        TemplateVariant.InApp("tap on your tablet") with { DeviceType = DeviceTypes.Tablet },
    ]);

    private static readonly TemplateDocument Greeting = new("greeting", [
        TemplateVariant.Sms("Hello"),
        TemplateVariant.Sms("Hola") with { Locale = "es" },
        TemplateVariant.Sms("Qué onda") with { Locale = "es-MX" },
        TemplateVariant.Sms("Bonjour") with { Locale = "fr" },
    ]);

    private static readonly TemplateDocument DayParts = new("daypart", [
        TemplateVariant.Sms("Hi"),
        TemplateVariant.Sms("Good morning") with { TimeOfDay = TimeOfDay.Morning },
        TemplateVariant.Sms("Good evening") with { TimeOfDay = TimeOfDay.Evening },
        TemplateVariant.Sms("Sleep well") with { TimeOfDay = TimeOfDay.Night },
    ]);

    private static RenderedTemplate Render(TemplateDocument template, string channel, RenderContext context, TemplateRendererOptions? options = null) =>
        Renderer(options, template).Render(template.Id, channel, context).GetValueOrThrow();

    [Theory]
    [InlineData("desktop", "click here", "in_app")]
    [InlineData("mobile", "tap here", "in_app.mobile")]
    [InlineData("phone", "tap here", "in_app.mobile")]
    [InlineData("tablet", "tap on your tablet", "in_app.tablet")]
    [InlineData("pos", "click here", "in_app")]
    public void Select_ByExplicitDeviceType_PicksTheDeviceVariantOrTheGeneralOne(string device, string expected, string variant)
    {
        var rendered = Render(Button, ChannelNames.InApp, Context() with { DeviceType = device });

        Assert.Equal((expected, variant), (rendered.Text, rendered.Variant));
    }

    [Fact]
    public void Select_WithoutExplicitDevice_UsesTheEventContextDevice()
    {
        var context = Context(@event: Event("cart.abandoned", context: new EventContext { DeviceType = "mobile" }));

        Assert.Equal("tap here", Render(Button, ChannelNames.InApp, context).Text);
    }

    [Fact]
    public void Select_WithoutEventDevice_UsesTheProfilesMostRecentlySeenDevice()
    {
        var profile = Clara();
        profile.Statistics.Devices.Add(new DeviceSeen("mobile", "Android", Start.AddDays(-5)));
        profile.Statistics.Devices.Add(new DeviceSeen("tablet", "iPadOS", Start.AddDays(-1)));
        profile.Statistics.Devices.Add(new DeviceSeen("desktop", "Windows", Start.AddDays(-3)));

        Assert.Equal("tap on your tablet", Render(Button, ChannelNames.InApp, Context(profile)).Text);
    }

    [Theory]
    [InlineData("es-MX", "Qué onda")]
    [InlineData("es_MX", "Qué onda")]
    [InlineData("es-AR", "Hola")]
    [InlineData("es", "Hola")]
    [InlineData("fr-CA", "Bonjour")]
    [InlineData("de-DE", "Hello")]
    public void Select_ByLocale_FollowsTheFallbackChainToTheDefault(string locale, string expected)
    {
        Assert.Equal(expected, Render(Greeting, ChannelNames.Sms, Context() with { Locale = locale }).Body);
    }

    [Fact]
    public void Select_WithoutExplicitLocale_UsesEventContextThenProfileLocale()
    {
        var profile = Clara(locale: "fr-FR");

        Assert.Equal("Bonjour", Render(Greeting, ChannelNames.Sms, Context(profile)).Body);
        Assert.Equal("Qué onda", Render(Greeting, ChannelNames.Sms, Context(profile, Event("x", context: new EventContext { Locale = "es-MX" }))).Body);
    }

    [Fact]
    public void Select_WithDefaultLocaleOption_TriesItBeforeTheVariantWithoutLocale()
    {
        var options = new TemplateRendererOptions { DefaultLocale = "es" };

        var rendered = Render(Greeting, ChannelNames.Sms, Context() with { Locale = "de" }, options);

        Assert.Equal(("Hola", "es"), (rendered.Body, rendered.Locale));
    }

    [Fact]
    public void Select_WhenOnlyLocalisedVariantsExistAndNoneMatches_ReturnsNotFound()
    {
        var template = new TemplateDocument("only-es", [TemplateVariant.Sms("Hola") with { Locale = "es" }]);

        var result = Renderer(template).Render("only-es", ChannelNames.Sms, Context() with { Locale = "en-GB" });

        Assert.Equal(TemplateErrorKind.NotFound, Assert.Single(result.Errors).Kind);
    }

    [Theory]
    [InlineData(8, "Good morning")]
    [InlineData(14, "Hi")]
    [InlineData(19, "Good evening")]
    [InlineData(23, "Sleep well")]
    [InlineData(3, "Sleep well")]
    public void Select_ByTimeOfDay_UsesTheGivenTimeInUtcByDefault(int hour, string expected)
    {
        var clock = Clock(new DateTimeOffset(2026, 6, 9, 0, 0, 0, TimeSpan.Zero));
        clock.Advance(TimeSpan.FromHours(hour));

        Assert.Equal(expected, Render(DayParts, ChannelNames.Sms, Context(now: clock.GetUtcNow())).Body);
    }

    [Fact]
    public void Select_ByTimeOfDay_UsesTheCustomersTimeZone()
    {
        // 10:30 UTC is 03:30 in Los Angeles (night) and 19:30 in Tokyo (evening).
        var now = Clock().GetUtcNow();

        Assert.Equal("Good morning", Render(DayParts, ChannelNames.Sms, Context(Clara(), now: now)).Body);
        Assert.Equal("Sleep well", Render(DayParts, ChannelNames.Sms, Context(Clara(timeZone: "America/Los_Angeles"), now: now)).Body);
        Assert.Equal("Good evening", Render(DayParts, ChannelNames.Sms, Context(Clara(timeZone: "America/Los_Angeles"), now: now) with { TimeZone = "Asia/Tokyo" }).Body);
    }

    [Fact]
    public void Select_WithUnknownTimeZone_FallsBackToTheDefaultZone()
    {
        var options = new TemplateRendererOptions { DefaultTimeZone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo") };

        var rendered = Render(DayParts, ChannelNames.Sms, Context(Clara(timeZone: "Mars/Olympus_Mons"), now: Clock().GetUtcNow()), options);

        Assert.Equal("Good evening", rendered.Body);
    }

    [Fact]
    public void Select_Precedence_LocaleBeatsDeviceAndDeviceBeatsTimeOfDay()
    {
        var template = new TemplateDocument("mix", [
            TemplateVariant.Sms("default"),
            TemplateVariant.Sms("mobile") with { DeviceType = DeviceTypes.Mobile },
            TemplateVariant.Sms("morning") with { TimeOfDay = TimeOfDay.Morning },
            TemplateVariant.Sms("es") with { Locale = "es" },
            TemplateVariant.Sms("es mobile morning") with { Locale = "es", DeviceType = DeviceTypes.Mobile, TimeOfDay = TimeOfDay.Morning },
        ]);
        var morningMobile = Context(now: Clock().GetUtcNow()) with { DeviceType = "mobile" };

        Assert.Equal("es", Render(template, ChannelNames.Sms, morningMobile with { Locale = "es-MX", DeviceType = "desktop" }).Body);
        Assert.Equal("es mobile morning", Render(template, ChannelNames.Sms, morningMobile with { Locale = "es-MX" }).Body);
        Assert.Equal("mobile", Render(template, ChannelNames.Sms, morningMobile with { Locale = "en" }).Body);
        Assert.Equal("morning", Render(template, ChannelNames.Sms, morningMobile with { Locale = "en", DeviceType = "desktop" }).Body);
    }

    [Fact]
    public void Select_PicksOnlyVariantsOfTheRequestedChannel()
    {
        var template = new TemplateDocument("multi", [TemplateVariant.Sms("sms text"), TemplateVariant.InApp("in-app text")]);

        Assert.Equal("in-app text", Render(template, ChannelNames.InApp, Context()).Text);
        Assert.Equal("sms text", Render(template, ChannelNames.Sms, Context()).Body);
    }
}
