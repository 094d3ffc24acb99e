using Fluid;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>
/// A hostile review of the quoted-literal reading (fifty-fifth session): sources at the edges of the escapes Fluid
/// (Parlot 1.5.9) reads, compared with the engine itself, and long runs of backslashes and quotes, which must be judged
/// in one pass.
/// </summary>
public sealed class TemplateLiteralEscapeReviewTests
{
    private static readonly FluidParser Engine = new();

    private static TemplateLoadResult Load(string source, string channel = ChannelNames.Sms) =>
        TemplateRenderer.Load([Single("t", channel == ChannelNames.Email ? TemplateVariant.Email("s", source) : TemplateVariant.Sms(source))]);

    // What the engine alone does with a source: null when it does not parse it, else its render.
    private static string? EngineRender(string source) =>
        Engine.TryParse(source, out var template, out _) ? template.Render(new TemplateContext()) : null;

    // The template loads exactly when the engine parses it, and then renders what the engine renders.
    [Theory]
    [InlineData(@"{{ 'a\")]
    [InlineData(@"{{ 'a\'")]
    [InlineData(@"{{ 'a' \}}")]
    [InlineData(@"{{ 'a\' }}")]
    [InlineData(@"{{ 'a\\' }}")]
    [InlineData(@"{{ 'a\\'}}")]
    [InlineData(@"{% assign v = 'a\\'%}{{ v }}")]
    [InlineData(@"{% assign v = 'a\'%}{{ v }}")]
    [InlineData(@"{{ 'a\x4142434445464748494A4B4C4D4E4F' }}")]
    [InlineData(@"{{ 'a\xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' }}")]
    [InlineData(@"{{ '\x1' }}|{{ '\xfffff' }}")]
    [InlineData(@"{{ '\uD83D\uDE00' }}")]
    [InlineData(@"{{ '\uD83D' }}|{{ '\uDE00' }}")]
    [InlineData(@"{{ '\uDE00\uD83D' | size }}")]
    [InlineData(@"{{ 'a\0b' | size }}")]
    [InlineData("{{ 'a\0b' | size }}")]
    [InlineData(@"{{ '\a\b\f\r\v\t' | size }}")]
    [InlineData(@"{% raw %}'\q ""{{ 'x\' }}"" {% endraw %}")]
    [InlineData(@"{% comment %}it's \q ""{{ 'x\' }}"" {% endcomment %}ok")]
    [InlineData(@"{% comment %}'{% endcomment %}'ok")]
    [InlineData(@"{% raw %}'{% endraw %}'ok")]
    [InlineData(@"{% case 'b\'' %}{% when 'a\'', ""b'"" or 'c\\' %}y{% else %}n{% endcase %}")]
    [InlineData(@"{% case 'c\\' %}{% when 'a\'' or ""b\"""", 'c\\' %}y{% else %}n{% endcase %}")]
    [InlineData(@"{% case 'x' %}{% when 'a\q', 'x' %}y{% endcase %}")]
    [InlineData(@"{{- 'a\'' -}}|{%- assign v = 'b\\' -%}{{- v -}}")]
    [InlineData(@"{{ 'a\'-}}")]
    [InlineData(@"{{ 'a' | append: '\'-' -}}")]
    [InlineData(@"{{ 'a\' -}}' -}}")]
    [InlineData(@"{% if 'a' == 'a\'%}' %}y{% endif %}")]
    [InlineData(@"{{ 'x' | replace: 'x', '\'' }}{{ 'y' | replace_first: ""y"", ""\"""" }}")]
    [InlineData(@"{{ 'a,b' | split: '\x2c' | join: '\u007c' }}")]
    [InlineData(@"{{ 'abcdef' | truncate: 4, '\x2e' }}")]
    [InlineData(@"{{ 'abcdef' | slice: 1, 2 }}{{ 'x' | default: '\'' }}")]
    public void ASourceAtTheEdgesOfTheEscapes_LoadsExactlyWhenTheEngineParsesIt(string source)
    {
        var engine = EngineRender(source);

        var load = Load(source);

        Assert.True(load.Succeeded == (engine is not null), $"engine {(engine is null ? "refused" : "parsed")}; load: {string.Join("; ", load.Errors)}");
        if (engine is not null)
        {
            Assert.Equal(engine, load.Renderer.Render("t", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
        }
        else
        {
            Assert.Contains(load.Errors, e => e.Kind == TemplateErrorKind.Syntax && e.Line >= 1 && e.Column >= 1);
        }
    }

    // A lone surrogate decoded from '\u' is text the engine renders: an email's HTML part loads and renders it too.
    [Theory]
    [InlineData(@"{{ '\uD83D' }}x")]
    [InlineData(@"{{ '\uDE00\u0000' }}x")]
    public void ALoneSurrogateOrNul_LoadsInAnHtmlPart(string source)
    {
        Assert.NotNull(EngineRender(source));

        var load = Load(source, ChannelNames.Email);

        Assert.True(load.Succeeded, string.Join("; ", load.Errors));
        Assert.EndsWith("x", load.Renderer.Render("t", ChannelNames.Email, Context()).GetValueOrThrow().Html!, StringComparison.Ordinal);
    }

    // Quotes and backslashes inside an inline comment are not a literal.
    [Theory]
    [InlineData(@"{% # it's here %}ok")]
    [InlineData(@"{% # a \q ""b"" %}ok")]
    [InlineData(@"{%- # it's -%}ok")]
    [InlineData(@"{%# ""a\'' %}ok")]
    [InlineData(@"{% # '%}' %}ok")]
    [InlineData(@"{% # a {{ 'b %}ok{{ 'c\' }}")]
    [InlineData(@"{% # a' %}{{ 'x\q' }}")]
    [InlineData(@"{% # a' ")]
    public void AnInlineComment_LoadsExactlyWhenTheEngineParsesIt(string source)
    {
        var engine = EngineRender(source);

        var load = Load(source);

        Assert.True(load.Succeeded == (engine is not null), $"engine {(engine is null ? "refused" : "parsed: " + engine)}; load: {string.Join("; ", load.Errors)}");
        if (engine is not null)
        {
            Assert.Equal(engine, load.Renderer.Render("t", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
        }
    }

    // Named filter arguments with escaped literals.
    [Theory]
    [InlineData(@"{{ 'now' | format_date: format: 'dd\'/\'MM' }}")]
    [InlineData(@"{{ 5 | format_number: format: '0.00 \'EUR\'' }}")]
    public void ANamedArgument_IsComparedWithTheEngine(string source)
    {
        var parsed = Engine.TryParse(source, out _, out _);

        var load = Load(source);

        Assert.True(load.Succeeded == parsed, $"engine {(parsed ? "parsed" : "refused")}; load: {string.Join("; ", load.Errors)}");
    }

    // A megabyte of hostile text is judged in one pass: each of these is refused as Syntax (a test that never ends is the
    // failure), and no exception but the documented result escapes.
    [Theory]
    [InlineData(@"{{ \'}}", "")]
    [InlineData(@"{{\'", "")]
    [InlineData(@"{{ '\", "")]
    [InlineData(@"\'", "{{ '")]
    [InlineData(@"{% if '\'%}", "")]
    [InlineData(@"{% # '", "")]
    [InlineData(@"{{ '{% # '", "")]
    public void AMegabyteOfEscapedQuotes_IsRefusedAsSyntax(string unit, string prefix)
    {
        var source = prefix + string.Concat(Enumerable.Repeat(unit, (1 << 20) / unit.Length));

        var load = Load(source);

        Assert.False(load.Succeeded);
        Assert.Equal(TemplateErrorKind.Syntax, load.Errors[0].Kind);
    }

    [Theory]
    [InlineData(@"\\")]
    [InlineData(@"\'")]
    [InlineData(@"\""")]
    [InlineData(@"\x41")]
    public void AMegabyteLiteralOfEscapes_Loads(string unit)
    {
        var source = "{{ '" + string.Concat(Enumerable.Repeat(unit, (1 << 20) / unit.Length)) + "' | size }}";

        var load = Load(source);

        Assert.True(load.Succeeded, string.Join("; ", load.Errors.Take(3)));
    }

    // A 'for' tag's 'limit:'/'offset:' matches were each checked against the quotes from the tag's start: a megabyte of
    // them read the tag once per match. The tag is now read once, and the negative offset at its end is still found.
    [Theory]
    [InlineData(" limit: 1")]
    [InlineData(" limit: 'a' ")]
    public void AForTagWithAMegabyteOfLoopArguments_IsJudgedInOnePass(string unit)
    {
        var arguments = string.Concat(Enumerable.Repeat(unit, (1 << 20) / unit.Length));
        var source = "{% for i in (1..3)" + arguments + " offset: -1 %}x{% endfor %}";

        var load = Load(source);

        var error = Assert.Single(load.Errors, e => e.Kind == TemplateErrorKind.InvalidArgument);
        Assert.Equal(source.IndexOf("-1", StringComparison.Ordinal) + 1, error.Column);
    }
}
