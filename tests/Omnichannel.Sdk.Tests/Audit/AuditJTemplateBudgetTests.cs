using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit J: templates that expand hugely must be stopped by the budget before they allocate, not after. Each template
/// here allocated hundreds of megabytes (some, with larger numbers, gigabytes) before the first size or step check.
/// </summary>
public sealed class AuditJTemplateBudgetTests
{
    // A 655,360-character string, built within the 1 MB limit of an email part.
    private const string Big = "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}";

    // 64 references to that string: 40 million characters as text, 64 items as a list.
    private const string Refs = Big + "{% assign a = s | split: ',' %}{% for i in (1..6) %}{% assign a = a | concat: a %}{% endfor %}";

    private static (TemplateRenderResult Result, long Allocated) Measure(TemplateVariant variant, TemplateRendererOptions? options = null, RenderContext? context = null)
    {
        var renderer = Renderer(options, Single("t", variant));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = renderer.Render("t", variant.Channel, context ?? Context());
        return (result, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static string RenderError(TemplateVariant variant, TemplateRendererOptions? options = null, RenderContext? context = null, long maxAllocated = 40_000_000)
    {
        var (result, allocated) = Measure(variant, options, context);
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal(TemplateErrorKind.Render, error.Kind);
        Assert.True(allocated < maxAllocated, $"allocated {allocated:N0} bytes before failing: {error.Message}");
        return error.Message;
    }

    [Theory]
    [InlineData("{% for i in (1..5000000) %}{% break %}{% endfor %}ok")]
    [InlineData("{% tablerow i in (1..5000000) limit: 1 %}{{ i }}{% endtablerow %}")]
    [InlineData("{% if (1..5000000) contains 5 %}yes{% endif %}")]
    [InlineData("{% case (1..5000000) %}{% when 1 %}one{% endcase %}")]
    public void ARangeLargerThanTheStepBudget_IsRefusedBeforeItIsBuilt(string html)
    {
        var message = RenderError(TemplateVariant.Email("s", html));

        Assert.Contains("range (1..5000000) has 5,000,000 numbers", message, StringComparison.Ordinal);
        Assert.Contains(nameof(TemplateRendererOptions.MaxSteps), message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARangeBoundFromCustomerData_IsRefusedBeforeItIsBuilt()
    {
        // A quantity sent by the customer's own app decides the loop: 5 million stars were 250 MB before the first step.
        var context = Context(@event: Event("order.placed", new { quantity = 5_000_000 }));

        var message = RenderError(TemplateVariant.Sms("{% for i in (1..event.properties.quantity) %}*{% endfor %}"), context: context);

        Assert.Contains("5,000,000 numbers", message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNumbersOfRanges_CountAgainstTheStepBudget()
    {
        // 40 iterations in all, but 20 + 20 × 100 numbers built: the inner ranges cost their size.
        var options = new TemplateRendererOptions { MaxSteps = 1000 };

        var message = RenderError(TemplateVariant.Sms("{% for a in (1..20) %}{% for b in (1..100) limit: 1 %}{% endfor %}{% endfor %}ok"), options);

        Assert.Contains("1,000 steps", message, StringComparison.Ordinal);
        Assert.Equal("ok", Renderer(options, Single("t", TemplateVariant.Sms("{% for a in (1..20) %}{% for b in (1..10) limit: 1 %}{% endfor %}{% endfor %}ok"))).Render("t", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
    }

    [Theory]
    [InlineData(Big + "{% capture c %}{% for i in (1..400) %}{{ s }}{% endfor %}{% endcapture %}{{ c | size }}")]
    [InlineData(Big + "{% for i in (1..3) %}{% ifchanged %}{% for j in (1..400) %}{{ s }}{% endfor %}{% endifchanged %}{% endfor %}")]
    public void ABlockBuffer_StopsAtTheOutputLimit_WhileItIsFilled(string html)
    {
        var message = RenderError(TemplateVariant.Email("s", html));

        Assert.Contains("longer than 1,048,576 characters", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Big + "{% assign u = s | slice: 0, 100 %}{{ s | replace: 'x', u | size }}", "'replace'")]
    [InlineData(Big + "{% assign t = s | slice: 0, 50000 %}{% assign u = s | slice: 0, 1000 %}{{ t | split: '' | join: u | size }}", "'join'")]
    [InlineData(Refs + "{{ a | join: '' | size }}", "longer than 1,048,576 characters as text")]
    [InlineData(Refs + "{{ a | upcase | size }}", "longer than 1,048,576 characters as text")]
    [InlineData("{% assign f = '{0,999999}' %}{% for i in (1..5) %}{% assign f = f | append: f %}{% endfor %}{{ f | format_string: 1 | size }}", "'format_string'")]
    [InlineData("{{ '{0:F99999999}' | format_string: 1 | size }}", "'format_string'")]
    [InlineData("{{ 1 | format_number: 'F99999999' | size }}", "'format_number'")]
    [InlineData("{{ now | date: '%99999999N' | size }}", "'date'")]
    public void AFilterWhoseResultWouldPassTheLimit_IsRefusedBeforeItRuns(string html, string expected)
    {
        var message = RenderError(TemplateVariant.Email("s", html));

        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("1,048,576 characters", message, StringComparison.Ordinal);
    }

    [Fact]
    public void FiltersWithinTheLimit_StillWork()
    {
        var body = "{{ 'a-b-c' | replace: '-', '--' }}|{{ 'a,b' | split: ',' | join: ' + ' }}|{{ '{0,4}|{1:F2}' | format_string: 'x', 2 }}|{{ 3.14159 | format_number: 'F2' }}|{{ now | date: '%3N %Y' }}";

        Assert.Equal("a--b--c|a + b|   x|2.00|3.14|000 2026", RenderSms(body));
    }

    [Theory]
    [InlineData("{% for i in (1..5) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ forloop.index }}{% if forloop.first %}f{% endif %}{% endfor %}", "1f3")]
    [InlineData("{% for i in (1..3) %}{% capture c %}<{{ i }}>{% if i == 2 %}{% break %}{% endif %}{% endcapture %}{% endfor %}{{ c }}", "<2>")]
    [InlineData("{% for i in (1..4) reversed %}{% for j in (1..2) %}{{ i }}{{ j }} {% endfor %}{% endfor %}", "41 42 31 32 21 22 11 12 ")]
    [InlineData("{% for i in (1..4) %}{% ifchanged %}{% if i < 3 %}a{% else %}b{% endif %}{% endifchanged %}{% endfor %}", "ab")]
    [InlineData("{% tablerow i in (1..3) cols: 2 %}{{ i }}{% endtablerow %}", "<tr class=\"row1\">\n<td class=\"col1\">1</td><td class=\"col2\">2</td></tr>\n<tr class=\"row2\"><td class=\"col1\">3</td></tr>\n")]
    [InlineData("{% for i in (3..1) %}x{% endfor %}{% for i in (0..0) %}{{ i }}{% endfor %}{% if (1..3) contains 2 %}y{% endif %}", "0y")]
    [InlineData("{% for i in (1..3) %}{% cycle 'a', 'b' %}{% endfor %}{% assign n = 2 %}{% for i in (1..n) offset: 1 %}{{ i }}{% endfor %}", "aba2")]
    public void TheBudgetedConstructs_RenderAsBefore(string body, string expected)
    {
        Assert.Equal(expected, RenderSms(body));
    }

    [Fact]
    public void AListLongerThanAnSmsAsText_MayStillBeBuilt_InAnSms()
    {
        // Lists are bounded by the renderer's limit (1 MB), not the SMS part's 1,600 characters: only printing them counts.
        var names = Enumerable.Range(1, 100).Select(i => (object?)$"Product with a long name number {i:D3}").ToList();
        var context = Context() with { Journey = new Dictionary<string, object?> { ["names"] = names } };

        var body = Renderer(Single("t", TemplateVariant.Sms("{% assign sorted = journey.names | sort | reverse %}{{ sorted | first }}"))).Render("t", ChannelNames.Sms, context).GetValueOrThrow().Body;

        Assert.Equal("Product with a long name number 100", body);
    }

    [Fact]
    public void ALoopThatWritesNothing_StillSeesTheDeadline()
    {
        // A condition over a long list in a loop called no filter and wrote nothing, so the clock was never read: 100,000
        // iterations over a 655,360-item list took over an hour. Every look at this clock moves it 1 ms.
        var clock = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(1) };
        var options = new TemplateRendererOptions { TimeProvider = clock, RenderTimeout = TimeSpan.FromSeconds(1) };
        var context = Context() with { Journey = new Dictionary<string, object?> { ["list"] = new List<object?> { "a", "b" } } };

        var message = RenderError(TemplateVariant.Sms("{% for i in (1..5000) %}{% if journey.list contains 'zz' %}{% endif %}{% endfor %}ok"), options, context);

        Assert.Contains("render deadline (1000 ms)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void NowAsAString_IsTheRendersInstant_NotTheMachinesClock()
    {
        // Fluid reads 'now' and 'today' from DateTimeOffset.Now: on a test host's fake clock (or a render for another
        // instant) the 'now' string and the now variable disagreed.
        var context = Context(Clara(timeZone: "America/Los_Angeles"));

        var body = RenderSms("{{ 'now' | date: '%Y-%m-%d %H:%M' }}|{{ now | date: '%Y-%m-%d %H:%M' }}|{{ 'today' | date: '%Y-%m-%d' }}", context);

        Assert.Equal("2026-06-09 03:30|2026-06-09 03:30|2026-06-09", body);
    }
}
