using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit J: the engine walks a chain of filters (and the budget's rewrite walks conditions) recursively, one level per
/// link. A template of 2,000 chained filters loaded without error, and rendering it overflowed the stack of the thread
/// rendering it: the process ended, whatever called it (a partition worker planning a journey's message).
/// </summary>
public sealed class AuditJTemplateDepthTests
{
    private static string Filters(int n) => "{{ 'x'" + string.Concat(Enumerable.Repeat(" | upcase", n)) + " }}";

    private static string Ands(int n) => "{% if true" + string.Concat(Enumerable.Repeat(" and true", n)) + " %}y{% endif %}";

    [Theory]
    [InlineData(2_000)]
    [InlineData(20_000)]
    public void AChainOfThousandsOfFilters_IsRefusedAtLoad_WithItsPosition(int n)
    {
        var error = Assert.Single(Validate(Filters(n)));

        Assert.Equal((TemplateErrorKind.Syntax, 1, 6 + (100 * 9) + 2), (error.Kind, error.Line, error.Column)); // the 101st '|'
        Assert.Contains("More than 100 filters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConditionOfThousandsOfAnds_IsRefusedAtLoad_WithItsPosition()
    {
        var error = Assert.Single(Validate(Ands(20_000)));

        Assert.Equal((TemplateErrorKind.Syntax, 1, 11 + (100 * 9) + 1), (error.Kind, error.Line, error.Column));
        Assert.Contains("More than 100 'and'/'or'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5_000)]
    [InlineData(200_000)]
    public void IndexesNestedThousandsDeep_AreRefusedAtLoad_WithTheirPosition(int n)
    {
        // Parsing 5,000 levels overflowed the stack while the template was loaded.
        var body = "{% assign a = 'x' %}{{ " + string.Concat(Enumerable.Repeat("a[", n)) + "0" + new string(']', n) + " }}";

        var error = Assert.Single(Validate(body));

        Assert.Equal((TemplateErrorKind.Syntax, 1, 23 + (16 * 2) + 2), (error.Kind, error.Line, error.Column)); // the 17th '['
        Assert.Contains("nested more than 16 deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IndexesNestedSixteenDeep_StillRender()
    {
        var body = "{% assign a = '0' | split: ',' %}{{ " + string.Concat(Enumerable.Repeat("a[", 16)) + "0" + new string(']', 16) + " }}";

        Assert.Equal("0", RenderSms(body));
    }

    [Fact]
    public void AJsonPayload_OfThousandsOfFilters_IsRefusedToo()
    {
        var part = LiquidEngine.TryParseJson("hook", "{\"a\": " + Filters(2_000)[..^3] + " }}}", out var error);

        Assert.Null(part);
        Assert.Contains("More than 100 filters", error, StringComparison.Ordinal);
    }

    [Fact]
    public void AHundredFiltersOrAnds_StillRender()
    {
        Assert.Equal("X", RenderSms(Filters(100)));
        Assert.Equal("y", RenderSms(Ands(100)));
    }

    // Fifty-fifth session: the engine's parser recurses once per nested parenthesis too. Ten thousand '(' in an output
    // or a tag overflowed the stack while the template was loaded, which ended the process (whatever loaded it).
    [Theory]
    [InlineData("{{ profile.a | default: @ }}", 25)]
    [InlineData("{{ @ }}", 4)]
    [InlineData("{% if @ %}x{% endif %}", 7)]
    [InlineData("{% assign x = @ %}", 15)]
    [InlineData("{% for i in @ %}x{% endfor %}", 13)]
    [InlineData("{% case profile.a %}{% when @ %}x{% endcase %}", 29)]
    [InlineData("{% cycle @ %}", 10)]
    public void ParenthesesNestedThousandsDeep_AreRefusedAtLoad_WithTheirPosition(string template, int firstColumn)
    {
        var body = template.Replace("@", new string('(', 10_000), StringComparison.Ordinal);

        var error = Assert.Single(Validate(body), e => e.Kind == TemplateErrorKind.Syntax);

        Assert.Equal((1, firstColumn + 16), (error.Line, error.Column)); // the 17th '('
        Assert.Contains("Parentheses are nested more than 16 deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AJsonPayload_OfParenthesesNestedThousandsDeep_IsRefusedToo()
    {
        var part = LiquidEngine.TryParseJson("hook", "{\"a\": {{ " + new string('(', 10_000) + " }}}", out var error);

        Assert.Null(part);
        Assert.Contains("Parentheses are nested more than 16 deep", error, StringComparison.Ordinal);
    }
}
