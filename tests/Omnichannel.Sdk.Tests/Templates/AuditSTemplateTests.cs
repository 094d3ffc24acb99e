using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>
/// Audit S: bug classes from public reports about Liquid engines (sebastienros/fluid, Shopify/liquid, harttle/liquidjs),
/// each checked against our renderer.
/// </summary>
public sealed class AuditSTemplateTests
{
    // sebastienros/fluid#537: the date filter printed a time in another zone than the one the template is rendered for.
    // Every time in the data (event timestamp, statistics) is the customer's wall clock, as 'now' is.
    [Fact]
    public void Render_DateFilterOnEventAndProfileTimes_PrintsTheCustomersWallClock()
    {
        var profile = Clara(timeZone: "America/Los_Angeles");
        profile.Statistics.LastOrderAt = Start.AddHours(-1); // 09:30 UTC = 02:30 PDT
        var context = Context(profile, Event("order.placed"));

        var body = RenderSms("{{ event.timestamp | date: '%H:%M %Y-%m-%d' }}|{{ profile.statistics.last_order_at | date: '%H:%M' }}|{{ now | date: '%H:%M' }}", context);

        Assert.Equal("03:30 2026-06-09|02:30|03:30", body);
    }

    // sebastienros/fluid#537 (the string form): a JSON time with an offset, from the event's properties, is printed in the
    // customer's zone too; a time without an offset is read as her wall clock.
    [Fact]
    public void Render_DateFilterOnAnIsoStringWithOffset_PrintsTheCustomersWallClock()
    {
        var context = Context(
            Clara(timeZone: "Asia/Tokyo"),
            Event("order.shipped", new { eta = "2026-06-10T15:00:00Z", pickup = "2026-06-10T09:00:00" }));

        var body = RenderSms("{{ event.properties.eta | date: '%d %H:%M' }}|{{ event.properties.pickup | date: '%d %H:%M' }}", context);

        Assert.Equal("11 00:00|10 09:00", body);
    }

    // A date without a time (a birthday trait, a delivery day) is a calendar day, not an instant: it must not move to the
    // day before for a customer west of UTC, nor to the day after east of it.
    [Theory]
    [InlineData("America/Los_Angeles")]
    [InlineData("Pacific/Kiritimati")]
    [InlineData("Pacific/Pago_Pago")]
    public void Render_DateFilterOnADateWithoutATime_KeepsTheDay(string zone)
    {
        var context = Context(Clara(timeZone: zone).WithTrait("birthday", "1990-05-04"), Event("order.shipped", new { delivery_day = "2026-06-10" }));

        var body = RenderSms("{{ profile.traits.birthday | date: '%Y-%m-%d' }}|{{ event.properties.delivery_day | date: '%d %B' }}", context);

        Assert.Equal("1990-05-04|10 June", body);
    }

    // The date filter on a zone that observes daylight saving: the offset is the one in force at that instant, not now's.
    [Fact]
    public void Render_DateFilterAcrossDaylightSaving_UsesTheOffsetOfThatInstant()
    {
        var profile = Clara(timeZone: "Europe/Paris");
        profile.Statistics.FirstSeen = new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero); // CET, UTC+1

        var body = RenderSms("{{ profile.statistics.first_seen | date: '%H:%M %z' }}|{{ now | date: '%H:%M %z' }}", Context(profile));

        Assert.Equal("13:00 +0100|12:30 +0200", body);
    }

    // Shopify/liquid#1127, sebastienros/fluid#328 and #416, harttle/liquidjs#122: default on nil, "", false and an empty
    // list, and allow_false keeping a real false.
    [Theory]
    [InlineData("{{ profile.traits.nickname | default: 'there' }}", "there")]
    [InlineData("{{ profile.traits.empty | default: 'there' }}", "there")]
    [InlineData("{{ profile.traits.opted | default: 'yes' }}", "yes")]
    [InlineData("{{ profile.traits.opted | default: true, allow_false: true }}", "false")]
    [InlineData("{{ profile.traits.tags | default: 'none' }}", "none")]
    [InlineData("{{ profile.traits.space | default: 'x' }}|", " |")]
    [InlineData("{{ profile.first_name | default: 'there' }}", "Clara")]
    public void Render_Default_TreatsNilEmptyAndFalseAsLiquidDoes(string source, string expected)
    {
        var profile = Clara().WithTrait("empty", "").WithTrait("opted", false).WithTrait("tags", Array.Empty<string>()).WithTrait("space", " ");

        Assert.Equal(expected, RenderSms(source, Context(profile)));
    }

    // Shopify/liquid "nil == empty" reports: a missing value, an empty string and an empty list compare as Liquid says.
    [Theory]
    [InlineData("{% if profile.traits.nickname == nil %}nil{% else %}set{% endif %}", "nil")]
    [InlineData("{% if profile.traits.empty == empty %}empty{% else %}not{% endif %}", "empty")]
    [InlineData("{% if profile.traits.empty == blank %}blank{% else %}not{% endif %}", "blank")]
    [InlineData("{% if profile.wishlist == empty %}none{% else %}some{% endif %}", "none")]
    [InlineData("{% if profile.traits.nickname %}yes{% else %}no{% endif %}", "no")]
    [InlineData("{% if profile.traits.zero %}truthy{% else %}falsy{% endif %}", "truthy")]
    [InlineData("{% unless profile.traits.opted %}off{% endunless %}", "off")]
    public void Render_NilEmptyAndTruthiness_FollowLiquid(string source, string expected)
    {
        var profile = Clara().WithTrait("empty", "").WithTrait("zero", 0).WithTrait("opted", false);

        Assert.Equal(expected, RenderSms(source, Context(profile)));
    }

    // Shopify/liquid for-loop reports (limit/offset, forloop.last, reversed) over the cart, and whitespace control.
    [Fact]
    public void Render_LoopOverCart_HonoursLimitOffsetForloopAndWhitespaceControl()
    {
        var source = """
            {%- for line in profile.cart limit: 1 -%}
            {{ line.quantity }}x {{ line.name }}{% unless forloop.last %}, {% endunless %}
            {%- endfor %}|{% for line in profile.cart offset: 1 %}{{ line.name }}{% endfor %}|{% for line in profile.cart reversed %}{{ forloop.index }}:{{ line.product_id }}{% if forloop.last == false %},{% endif %}{% endfor %}|{{ profile.cart | size }} lines, {{ profile.cart_quantity }} items, {{ profile.cart_total }}
            """;

        Assert.Equal("2x Cat food|Litter|1:litter,2:cat-food|2 lines, 3 items, 33", RenderSms(source));
    }

    // Number and money output: the invariant culture (a decimal point, never a comma from the machine's culture), no
    // float noise (0.1 + 0.2), and format_number with an explicit culture for a localised amount.
    [Fact]
    public void Render_Numbers_AreInvariantExactAndLocalisableOnRequest()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            var profile = Clara().WithTrait("a", 0.1m).WithTrait("b", 0.2m).WithTrait("price", 1234.5m);
            var body = RenderSms(
                "{{ profile.traits.a | plus: profile.traits.b }}|{{ profile.statistics.total_spent }}|{{ profile.traits.price | format_number: 'N2', 'fr-FR' }}|{{ profile.traits.price | round: 2 }}",
                Context(profile));

            Assert.Equal("0.3|150.5|1\u202F234,50|1234.5", body);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }
}
