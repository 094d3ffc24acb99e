using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

public sealed class TemplateRendererTests
{
    [Fact]
    public void Render_WithProfile_ExposesFirstNameTraitsAndStatistics()
    {
        var body = RenderSms("Hi {{ profile.first_name }} ({{ profile.traits.tier }}, {{ profile.traits.address.city }}): {{ profile.statistics.order_count }} orders, {{ profile.statistics.total_spent }} {{ profile.statistics.currency }}");

        Assert.Equal("Hi Clara (gold, Lyon): 3 orders, 150.5 EUR", body);
    }

    [Fact]
    public void Render_WithCart_LoopsOverLinesAndTotals()
    {
        var body = RenderSms("{% for line in profile.cart %}{{ line.quantity }}x {{ line.name }}={{ line.line_total }};{% endfor %} total {{ profile.cart_total }}");

        Assert.Equal("2x Cat food=25;1x Litter=8; total 33", body);
    }

    [Fact]
    public void Render_WithEvent_ExposesTypeAndNestedProperties()
    {
        var context = Context(@event: Event("order.shipped", new { order_id = "A-17", carrier = new { name = "Colissimo" }, items = new[] { "bowl", "toy" } }));

        var body = RenderSms("{{ event.type }} {{ event.properties.order_id }} via {{ event.properties.carrier.name }}: {{ event.properties.items | join: ', ' }}", context);

        Assert.Equal("order.shipped A-17 via Colissimo: bowl, toy", body);
    }

    [Fact]
    public void Render_WithJourneyContext_ExposesValuesDictionariesAndObjectsAsData()
    {
        var context = Context() with
        {
            Journey = new Dictionary<string, object?>
            {
                ["coupon"] = "CAT10",
                ["discount"] = 10,
                ["step"] = new Dictionary<string, object?> { ["name"] = "reminder" },
                ["offer"] = new JourneyOffer("Free shipping", 49.9m),
            },
        };

        var body = RenderSms("{{ journey.coupon }} -{{ journey.discount }}% {{ journey.step.name }} {{ journey.offer.Title }} over {{ journey.offer.Threshold }}", context);

        Assert.Equal("CAT10 -10% reminder Free shipping over 49.9", body);
    }

    [Fact]
    public void Render_Now_IsTheGivenTimeInTheCustomersTimeZone()
    {
        var clock = Clock();
        var context = Context(Clara(timeZone: "America/Los_Angeles"), now: clock.GetUtcNow());

        Assert.Equal("03:30 2026-06-09", RenderSms("{{ now | date: '%H:%M %Y-%m-%d' }}", context));

        clock.Advance(TimeSpan.FromHours(10));
        Assert.Equal("13:30", RenderSms("{{ now | date: '%H:%M' }}", context with { Now = clock.GetUtcNow() }));
    }

    [Fact]
    public void Render_Device_ExposesTheNormalisedDeviceType()
    {
        var context = Context(@event: Event("page.viewed", context: new EventContext { DeviceType = "Phone", Os = "iOS 18" }));

        Assert.Equal("mobile on iOS 18", RenderSms("{{ device.type }} on {{ device.os }}", context));
    }

    [Fact]
    public void Render_AssignCaptureAndDefault_WorkAsInLiquid()
    {
        var body = RenderSms("{% assign n = profile.cart | size %}{% capture greet %}Hey {{ profile.traits.nickname | default: profile.first_name }}{% endcapture %}{{ greet }}, {{ n }} items");

        Assert.Equal("Hey Clara, 2 items", body);
    }

    [Fact]
    public void Render_EmailHtml_EscapesTraitValuesButTextAndSubjectStayRaw()
    {
        var profile = Clara().WithTrait("first_name", "<script>alert('x')</script>");
        var renderer = Renderer(Single("t", TemplateVariant.Email("Hi {{ profile.first_name }}", "<p>Hi {{ profile.first_name }}</p>", "Hi {{ profile.first_name }}")));

        var email = renderer.Render("t", ChannelNames.Email, Context(profile)).GetValueOrThrow();

        Assert.Equal("<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>", email.Html);
        Assert.Equal("Hi <script>alert('x')</script>", email.Text);
        Assert.Equal("Hi <script>alert('x')</script>", email.Subject);
    }

    [Fact]
    public void Render_SmsBody_IsNotEscaped()
    {
        var profile = Clara().WithTrait("first_name", "<b>Tom & Jerry</b>");

        Assert.Equal("Hi <b>Tom & Jerry</b>", RenderSms("Hi {{ profile.first_name }}", Context(profile)));
    }

    [Fact]
    public void Render_EmailHtml_RawFilterOptsOutAndEscapeIsNotDoubled()
    {
        var context = Context() with { Journey = new Dictionary<string, object?> { ["banner"] = "<img src=\"b.png\">", ["note"] = "a & b" } };
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", "{{ journey.banner | raw }}|{{ journey.note | escape }}|{{ journey.note | upcase }}")));

        var html = renderer.Render("t", ChannelNames.Email, context).GetValueOrThrow().Html;

        Assert.Equal("<img src=\"b.png\">|a &amp; b|A &amp; B", html);
    }

    [Fact]
    public void Render_EmailHtml_CapturedOutputIsEscapedExactlyOnce()
    {
        var profile = Clara().WithTrait("first_name", "A&B");
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", "{% capture who %}<b>{{ profile.first_name }}</b>{% endcapture %}{{ who }}")));

        var html = renderer.Render("t", ChannelNames.Email, Context(profile)).GetValueOrThrow().Html;

        Assert.Equal("&lt;b&gt;A&amp;B&lt;/b&gt;", html);
    }

    [Fact]
    public void Render_EmailHtml_KeepsNumbersAndListsReadable()
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", "{{ profile.statistics.total_spent }} {{ profile.statistics.order_count | plus: 1 }} {{ event.properties.tags }}")));

        var html = renderer.Render("t", ChannelNames.Email, Context(@event: Event("x", new { tags = new[] { "<a>", "b" } }))).GetValueOrThrow().Html;

        Assert.Equal("150.5 4 &lt;a&gt;b", html);
    }

    [Fact]
    public void Render_PushAndWhatsApp_FillTheirParts()
    {
        var renderer = Renderer(
            new TemplateDocument("shipped", [
                TemplateVariant.Push("Shipped!", "{{ profile.first_name }}, it is on its way", "kitty://orders/{{ event.properties.order_id }}"),
                TemplateVariant.WhatsAppTemplate("order_shipped", "{{ profile.first_name }}", "{{ event.properties.order_id }}"),
            ]));
        var context = Context(@event: Event("order.shipped", new { order_id = "A-17" }));

        var push = renderer.Render("shipped", ChannelNames.Push, context).GetValueOrThrow();
        var whatsApp = renderer.Render("shipped", ChannelNames.WhatsApp, context).GetValueOrThrow();

        Assert.Equal(("Shipped!", "Clara, it is on its way", "kitty://orders/A-17"), (push.Title, push.Body, push.DeepLink));
        Assert.Equal("order_shipped", whatsApp.TemplateName);
        Assert.Equal(["Clara", "A-17"], whatsApp.Parameters);
    }

    [Fact]
    public void Render_WhenAFilterFailsOnTheData_ReturnsARenderErrorNotAnEmptyString()
    {
        var renderer = Renderer(Single("t", TemplateVariant.Sms("{{ profile.statistics.order_count | divided_by: journey.zero }}")));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["zero"] = 0 } };

        var result = renderer.Render("t", ChannelNames.Sms, context);

        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal((TemplateErrorKind.Render, "sms", "body"), (error.Kind, error.Variant, error.Part));
        var thrown = Assert.Throws<TemplateRenderException>(() => result.GetValueOrThrow());
        Assert.Same(result.Errors, thrown.Errors);
    }

    [Fact]
    public void Render_WhenALoopRunsPastTheLimit_FailsWithARenderError()
    {
        var renderer = Renderer(new TemplateRendererOptions { MaxSteps = 5 }, Single("t", TemplateVariant.Sms("{% for i in (1..50) %}{{ i }}{% endfor %}")));

        var result = renderer.Render("t", ChannelNames.Sms, Context());

        Assert.Equal(TemplateErrorKind.Render, Assert.Single(result.Errors).Kind);
    }

    [Fact]
    public void Render_WhenTemplateIsUnknown_ReturnsNotFound()
    {
        var result = Renderer(Single("t", TemplateVariant.Sms("x"))).Render("missing", ChannelNames.Sms, Context());

        Assert.Equal(TemplateErrorKind.NotFound, Assert.Single(result.Errors).Kind);
        Assert.Null(result.Value);
    }

    [Fact]
    public void Render_WhenNoVariantServesTheChannel_ReturnsNotFoundNamingTheChannel()
    {
        var result = Renderer(Single("t", TemplateVariant.Sms("x"))).Render("t", ChannelNames.Push, Context());

        var error = Assert.Single(result.Errors);
        Assert.Equal(TemplateErrorKind.NotFound, error.Kind);
        Assert.Contains("'push'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_WithoutProfile_RendersEmptyProfileValues()
    {
        var body = RenderSms("Hello{{ profile.first_name }}!", Context() with { Profile = null });

        Assert.Equal("Hello!", body);
    }

    [Fact]
    public void Render_CannotReachClrMembersOfJourneyObjects()
    {
        var context = Context() with { Journey = new Dictionary<string, object?> { ["offer"] = new JourneyOffer("Free", 1m) } };

        Assert.Equal("[]", RenderSms("[{{ journey.offer.Describe }}{{ journey.offer.GetType }}]", context));
    }

    public sealed record JourneyOffer(string Title, decimal Threshold)
    {
        public string Describe() => "method called";
    }
}
