using Fluid;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>
/// Quoted literals are read at load as the engine's parser (Fluid on Parlot 1.5.9) reads them: a backslash escapes the
/// next character (\' \" \\ \0 \a \b \f \n \r \t \v, \u and four hex digits, \x and hex digits), any other escape or a
/// string never closed is a syntax error, and every literal-argument check judges the decoded value. Each expectation
/// below was first taken from the engine itself (FluidParser.TryParse and a render); the properties keep comparing them.
/// </summary>
public sealed class TemplateLiteralEscapeTests
{
    private static readonly FluidParser Engine = new();

    private static TemplateLoadResult Load(string source) => TemplateRenderer.Load([Single("t", TemplateVariant.Sms(source))]);

    // What the engine alone does with a source: null when it does not parse it, else its render.
    private static string? EngineRender(string source) =>
        Engine.TryParse(source, out var template, out _) ? template.Render(new TemplateContext()) : null;

    [Theory]
    [InlineData(@"{{ 12.5 | format_number: '0.00 \'EUR\'' }}", "12.50 EUR")]
    [InlineData(@"{{ journey.x | format_number: ""0.00 \""EUR\"""" }}", "5.00 EUR")]
    [InlineData(@"{{ 'a\'b' }}|{{ ""a\""b"" }}|{{ 'a\""b' }}|{{ ""a\'b"" }}", "a'b|a\"b|a\"b|a'b")]
    [InlineData(@"{{ 'a\\b' }}|{{ '\\' }}", @"a\b|\")]
    [InlineData(@"{{ 'a\u0041b' }}|{{ 'a\u00411' }}|{{ 'caf\u00e9' }}", "aAb|aA1|café")]
    [InlineData(@"{{ 'a\x41-' }}|{{ 'a\x41b' }}|{{ 'a\x41424' }}", "aA-|a\u041b|a\u41424")]
    [InlineData(@"{{ 'a\nb' }}", "a\nb")]
    [InlineData(@"{{ 'a\'}}' }}|{{ ""%}{{"" }}", "a'}}|%}{{")]
    [InlineData("{{ 'a }}\nb' }}", "a }}\nb")]
    [InlineData(@"{{ 'x' | append: '\'' | append: ""\"""" }}", "x'\"")]
    [InlineData(@"{% assign q = 'it\'s' %}{{ q }}", "it's")]
    [InlineData(@"{% if 'a\'b' == ""a'b"" %}y{% endif %}", "y")]
    [InlineData(@"{% case 'a\'' %}{% when 'a\'' %}y{% endcase %}", "y")]
    [InlineData(@"{% cycle 'a\'', 'b' %}{% cycle 'a\'', 'b' %}", "a'b")]
    [InlineData(@"{% for i in (1..3) %}{% cycle 'x\'|', ""y\"""" %}{% endfor %}", "x'|y\"x'|")]
    [InlineData(@"{% assign words = journey.s | split: '\u0020' %}{% for w in words %}[{{ w }}]{% endfor %}", "[hello][world][foo]")]
    [InlineData(@"{{ profile['first\'name'] }}|{{ 'a[\']' }}", "|a[']")]
    [InlineData(@"{{ 'now' | format_date: 'dd\'/\'MM' }}", "09/06")]
    [InlineData(@"{{ 'divided_by: 0 \' | modulo: 0' }}", "divided_by: 0 ' | modulo: 0")]
    [InlineData(@"{{ journey.x | divided_by: '\u0032' }}", "2")]
    [InlineData(@"{% for i in (1..3) %}{{ i }}{% endfor %}{{ ' \'(1..2)\' ' }}", "123 '(1..2)' ")]
    public void ALegalEscape_LoadsAndRendersWhatTheEngineGives(string source, string expected)
    {
        Assert.NotNull(EngineRender(source)); // the engine parses it too

        var result = Renderer(Single("t", TemplateVariant.Sms(source))).Render("t", ChannelNames.Sms, Data());

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(expected, result.Value!.Body);
    }

    [Theory]
    [InlineData(@"{{ 'a^\db' }}")]
    [InlineData(@"{{ 'a^\/b' }}")]
    [InlineData(@"{{ 'a^\ b' }}")]
    [InlineData(@"{{ 'a^\u41b' }}")]
    [InlineData(@"{{ 'a^\U0041' }}")]
    [InlineData(@"{{ 'a^\xg' }}")]
    [InlineData(@"{{ 'a^\X41' }}")]
    [InlineData(@"{{ ""a\'b^\c"" }}")]
    [InlineData("{{ 'a^\\\nb' }}")]
    [InlineData("Hi\n{% assign q = 'x^\\q' %}{{ q }}")]
    [InlineData("x\r\n  {% if journey.x == 'a^\\z' %}y{% endif %}")]
    [InlineData(@"{{ journey.x | format_number: '0.00 ^\E' }}")]
    [InlineData(@"{% case journey.x %}{% when 'a', 'b^\k' %}y{% endcase %}")]
    public void AnEscapeTheEngineDoesNotRead_IsRefusedAsSyntax_AtItsBackslash(string marked)
    {
        var (source, line, column) = Marked(marked);
        Assert.Null(EngineRender(source)); // the engine does not parse it

        var error = Assert.Single(Validate(source));

        Assert.Equal((TemplateErrorKind.Syntax, line, column), (error.Kind, error.Line, error.Column));
        Assert.Contains("is not an escape the engine reads", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(@"{{ ^'abc\' }}")]
    [InlineData(@"ok {{ ^'abc\'")]
    [InlineData(@"{{ 'a' }}{{ ^'b\' }}x")]
    [InlineData("a\n{{ journey.x | append: ^\"b\\\" }}")]
    public void AStringAnEscapedQuoteLeavesOpen_IsRefusedAsSyntax_AtItsQuote(string marked)
    {
        var (source, line, column) = Marked(marked);
        Assert.Null(EngineRender(source));

        var error = Assert.Single(Validate(source));

        Assert.Equal((TemplateErrorKind.Syntax, line, column), (error.Kind, error.Line, error.Column));
        Assert.Contains("never closed", error.Message, StringComparison.Ordinal);
    }

    // The checks judge the value the engine decodes, not the text written.
    [Theory]
    [InlineData(@"{{ 'now' | format_date: ^'\\' }}", "is not a .NET date format")]
    [InlineData(@"{{ 'no\u0077' | format_date: ^'q' }}", "is not a .NET date format")]
    [InlineData(@"{{ journey.x | format_number: ^'\u0058' }}", "is not a number format")]
    [InlineData(@"{{ journey.x | divided_by: ^'\x30' }}", "divides by zero")]
    [InlineData(@"{{ journey.x | modulo: ^""0\x2e4"" }}", "divides by zero")]
    public void ALiteralArgument_IsJudgedByItsDecodedValue(string marked, string message)
    {
        var (source, line, column) = Marked(marked);
        Assert.True(Engine.TryParse(source, out _, out _));

        var error = Assert.Single(Validate(source));

        Assert.Equal((TemplateErrorKind.InvalidArgument, line, column), (error.Kind, error.Line, error.Column));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    // truncate returns "" for a nil input before it reads its length (Fluid's StringFilters.Truncate): a length past Int32
    // fails only for a customer whose input is not nil, and a literal input is never nil.
    [Theory]
    [InlineData("{{ journey.missing | truncate: 2147483647.5 }}|", "|")]
    [InlineData("{{ journey.missing | truncate: 3000000000 }}|", "|")]
    [InlineData("{{ journey.missing | truncate: -2147483648 }}|", "|")]
    [InlineData("{{ 'abc' | truncate: 2147483647.4 }}|", "abc|")]
    [InlineData("{{ 'abc' | truncate: -2147483645 }}|", "...|")]
    [InlineData("{{ 'abc' | truncate: -2147483648, '' }}|", "|")]
    public void ATruncateLengthPastInt32_RendersForANilInput(string source, string expected)
    {
        var result = Renderer(Single("t", TemplateVariant.Sms(source))).Render("t", ChannelNames.Sms, Data());

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(expected, result.Value!.Body);
    }

    [Fact]
    public void ATruncateLengthPastInt32_OverData_FailsOnlyForTheCustomerWhoHasTheData()
    {
        var renderer = Renderer(Single("t", TemplateVariant.Sms("{{ journey.s | truncate: 2147483647.5 }}|")));

        Assert.Equal(TemplateErrorKind.Render, Assert.Single(renderer.Render("t", ChannelNames.Sms, Data()).Errors).Kind);
        Assert.Equal("|", renderer.Render("t", ChannelNames.Sms, Context(Clara())).GetValueOrThrow().Body);
    }

    [Theory]
    [InlineData("{{ 'abc' | truncate: ^2147483647.5 }}")]
    [InlineData("{{ 5 | truncate: ^3000000000 }}")]
    [InlineData("{{ '' | truncate: ^-2147483648 }}")]
    [InlineData("{{ \"abc\" | truncate: ^-2147483646 }}")]
    [InlineData("{{ 'abc' | truncate: ^-2147483648, 'x' }}")]
    public void ATruncateLengthThatFailsForALiteralInput_IsRefusedAtLoad(string marked)
    {
        var (source, line, column) = Marked(marked);
        Assert.True(Engine.TryParse(source, out var template, out _));
        Assert.ThrowsAny<Exception>(() => template.Render(new TemplateContext()));

        var error = Assert.Single(Validate(source));

        Assert.Equal((TemplateErrorKind.InvalidArgument, line, column), (error.Kind, error.Line, error.Column));
        Assert.Contains("past the lengths 'truncate' takes", error.Message, StringComparison.Ordinal);
    }

    // Any text, written as a single-quoted literal with each character in one of the forms the engine reads, loads and
    // renders as itself.
    [Property(Arbitrary = [typeof(EscapedText)], MaxTest = 300)]
    public void AnyTextWrittenWithEscapes_LoadsAndRendersAsItself((string Text, string Literal) written)
    {
        var source = "{{ '" + written.Literal + "' }}";
        Assert.Equal(written.Text, EngineRender(source));

        var load = Load(source);

        Assert.True(load.Succeeded, string.Join("; ", load.Errors));
        Assert.Equal(written.Text, load.Renderer.Render("t", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
    }

    // Any characters between two quotes, backslashes and quotes among them: the template loads exactly when the engine
    // parses it, and then renders what the engine renders.
    [Property(Arbitrary = [typeof(EscapedText)], MaxTest = 2000)]
    public void AnyQuotedText_LoadsExactlyWhenTheEngineParsesIt((string Raw, bool Double) quoted)
    {
        var q = quoted.Double ? "\"" : "'";
        var source = "{{ " + q + quoted.Raw + q + " }}";
        var engine = EngineRender(source);

        var load = Load(source);

        Assert.True(load.Succeeded == (engine is not null), $"{source}: engine {(engine is null ? "refused" : "parsed")}; load: {string.Join("; ", load.Errors)}");
        if (engine is not null)
        {
            Assert.Equal(engine, load.Renderer.Render("t", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
        }
    }

    public static class EscapedText
    {
        private static readonly char[] Printable = [.. Enumerable.Range(32, 95).Select(c => (char)c), 'é', '€', '\n'];

        // A character and one way of writing it in a single-quoted literal.
        private static Gen<(string Text, string Written)> Character() =>
            from c in Gen.Elements(Printable)
            from form in Gen.Choose(0, 3)
            select (c.ToString(), form switch
            {
                1 => $"\\u{(int)c:x4}",
                2 => $"\\x{(int)c:X4}",
                3 when c is '\n' => "\\n",
                _ => c switch { '\\' => @"\\", '\'' => @"\'", '"' when form == 3 => "\\\"", _ => c.ToString() },
            });

        public static Arbitrary<(string Text, string Literal)> Written() =>
            (from chars in Gen.ListOf(Character())
             select (string.Concat(chars.Select(c => c.Text)), string.Concat(chars.Select(c => c.Written)))).ToArbitrary();

        public static Arbitrary<(string Raw, bool Double)> Raw() =>
            (from chars in Gen.ListOf(Gen.Elements('a', ' ', '\'', '"', '\\', 'n', 't', 'u', 'x', '4', '1', 'F', 'g', '}', '{', '%'))
             from isDouble in Gen.Elements(false, true)
             select (new string([.. chars.Take(14)]), isDouble)).ToArbitrary();
    }
}
