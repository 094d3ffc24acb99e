using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

public sealed class TemplateValidatorTests
{
    private static TemplateError SingleError(string source, string channel = ChannelNames.Sms) => Assert.Single(Validate(source, channel));

    private static void AssertAt(TemplateError error, TemplateErrorKind kind, int line, int column)
    {
        Assert.Equal((kind, line, column), (error.Kind, error.Line, error.Column));
        Assert.Equal(("t", "sms", "body"), (error.TemplateId, error.Variant, error.Part));
    }

    [Fact]
    public void Validate_WhenOutputIsNotClosed_ReportsSyntaxAtTheOpeningBraces()
    {
        var error = SingleError("Hello\n  {{ profile.first_name\nbye");

        AssertAt(error, TemplateErrorKind.Syntax, 2, 3);
        Assert.Contains("'}}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenTagIsNotClosed_ReportsSyntaxAndKeepsScanningAfterIt()
    {
        var errors = Validate("a\n{% if profile.first_name \n{{ profle }}");

        Assert.Equal(2, errors.Count);
        AssertAt(errors[0], TemplateErrorKind.Syntax, 2, 1);
        AssertAt(errors[1], TemplateErrorKind.UnknownData, 3, 4);
    }

    [Fact]
    public void Validate_WhenBlockIsNeverClosed_ReportsItWhereItOpens()
    {
        var error = SingleError("line one\nab{% if profile.first_name %}yes");

        AssertAt(error, TemplateErrorKind.UnclosedBlock, 2, 3);
        Assert.Contains("endif", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenEndTagClosesAnOuterBlock_ReportsTheInnerBlockUnclosed()
    {
        var error = SingleError("{% for l in profile.cart %}\n  {% if l.name %}{{ l.name }}\n{% endfor %}");

        AssertAt(error, TemplateErrorKind.UnclosedBlock, 2, 3);
    }

    [Fact]
    public void Validate_WhenEndTagHasNoOpening_ReportsUnexpectedTag()
    {
        var error = SingleError("{% if true %}x{% endfor %}{% endif %}");

        AssertAt(error, TemplateErrorKind.UnexpectedTag, 1, 15);
        Assert.Contains("'if'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x {% else %}", 1, 3)]
    [InlineData("{% for l in profile.cart %}{% when 1 %}{% endfor %}", 1, 28)]
    [InlineData("\n\n  {% break %}", 3, 3)]
    [InlineData("{% case device.type %}{% when 'mobile' %}{% endcase %}{% elsif true %}", 1, 55)]
    [InlineData("{% if profile.id %}a{% else %}b\n{% else %}c{% endif %}", 2, 1)]
    [InlineData("{% case device.type %}{% else %}b{% when 'mobile' %}{% endcase %}", 1, 34)]
    [InlineData("{% for i in (1..2) %}a{% else %}b{% endfor %}", 1, 23)]
    public void Validate_WhenTagIsOutsideItsBlock_ReportsUnexpectedTagWithPosition(string source, int line, int column)
    {
        AssertAt(SingleError(source), TemplateErrorKind.UnexpectedTag, line, column);
    }

    [Theory]
    [InlineData("Hi {% frobnicate %}", 1, 4)]
    [InlineData("a\nb {% include 'footer' %}", 2, 3)]
    public void Validate_WhenTagIsUnknownOrUnsupported_ReportsUnknownTag(string source, int line, int column)
    {
        AssertAt(SingleError(source), TemplateErrorKind.UnknownTag, line, column);
    }

    [Fact]
    public void Validate_WhenFilterIsUnknown_ReportsItAtTheFilterName()
    {
        const string source = "{{ profile.first_name | upcase | shout }}";

        var error = SingleError(source);

        AssertAt(error, TemplateErrorKind.UnknownFilter, 1, source.IndexOf("shout", StringComparison.Ordinal) + 1);
        Assert.Contains("shout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenStringIsNotClosed_ReportsSyntaxAtTheQuote()
    {
        AssertAt(SingleError("ok\n{{ 'abc }}\nnext line"), TemplateErrorKind.Syntax, 2, 4);
    }

    [Fact]
    public void Validate_WhenTagNeedsAnExpression_ReportsSyntax()
    {
        AssertAt(SingleError("{% if %}x{% endif %}"), TemplateErrorKind.Syntax, 1, 1);
        AssertAt(SingleError("  {% for x %}{% endfor %}"), TemplateErrorKind.Syntax, 1, 3);
        AssertAt(SingleError("{% assign = 3 %}"), TemplateErrorKind.Syntax, 1, 1);
    }

    [Fact]
    public void Validate_WhenRootIsUnknown_FlagsUnknownDataWithPosition()
    {
        var error = SingleError("Hi\n  there {{ profle.first_name }}");

        AssertAt(error, TemplateErrorKind.UnknownData, 2, 12);
        Assert.Contains("'profle'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ profile.frist_name }}", "frist_name")]
    [InlineData("{% if event.kind == 'x' %}{% endif %}", "kind")]
    [InlineData("{{ device.model }}", "model")]
    public void Validate_WhenMemberOfAFixedShapeIsUnknown_FlagsUnknownData(string source, string member)
    {
        var error = SingleError(source);

        Assert.Equal(TemplateErrorKind.UnknownData, error.Kind);
        Assert.Contains($"'{member}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% if device == 'mobile' %}tap{% else %}click{% endif %}", 1, 7)]
    [InlineData("{% if 'mobile' != device %}click{% endif %}", 1, 19)]
    [InlineData("{% unless event == 3 %}x{% endunless %}", 1, 11)]
    public void Validate_AnObjectComparedWithAValue_IsRefused_NamingTheMemberToCompare(string source, int line, int column)
    {
        // `device == 'mobile'` is always false (device is {type, os}): the KittySupplies sample shipped it.
        var error = SingleError(source);

        AssertAt(error, TemplateErrorKind.UnknownData, line, column);
        Assert.Contains("is an object", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% if device.type == 'mobile' %}tap{% endif %}")]
    [InlineData("{% if device == nil %}{% endif %}{% if profile != blank %}{% endif %}")]
    public void Validate_AMemberComparedWithAValue_OrAnObjectWithNil_IsFine(string source) => Assert.Empty(Validate(source, ChannelNames.Sms));

    [Fact]
    public void Validate_LoopVariables_AreKnownOnlyInsideTheirLoop()
    {
        const string source = "{% for line in profile.cart %}{{ line.name }}{{ forloop.index }}{% endfor %}{{ line.name }}";

        var error = SingleError(source);

        AssertAt(error, TemplateErrorKind.UnknownData, 1, source.LastIndexOf("line.name", StringComparison.Ordinal) + 1);
    }

    [Fact]
    public void Validate_AssignedVariables_AreKnownFromTheirAssignmentOn()
    {
        var error = SingleError("{{ total }}{% assign total = profile.cart_total | plus: 1 %}{{ total }}{% capture c %}x{% endcapture %}{{ c }}{% increment n %}{{ n }}");

        AssertAt(error, TemplateErrorKind.UnknownData, 1, 4);
    }

    [Theory]
    [InlineData("{{ 'profle' | append: \"x\" }} {{ 3.5 | plus: 1 }}")]
    [InlineData("{%- if profile.cart == empty and device.type != nil or event.properties contains 'x' -%}y{%- endif -%}")]
    [InlineData("{% for i in (1..profile.cart.size) reversed limit: 2 offset: 1 %}{{ i }}{% endfor %}")]
    [InlineData("{% raw %}{{ unknown }} {% bogus %}{% endraw %}{% comment %}{% nonsense %}{% endcomment %}")]
    [InlineData("{{ journey.anything.at.all }} {{ now | date: '%H' }} {{ profile.traits['first name'] }} {{ event.properties.items[0] }}")]
    [InlineData("{% case device.type %}{% when 'mobile', 'tablet' %}tap{% else %}click{% endcase %}{% cycle 'a', 'b' %}")]
    [InlineData("<style>@media (max-width:600px){.x{width:100%}}</style>")]
    public void Validate_WellFormedTemplates_HaveNoErrors(string source)
    {
        Assert.Empty(Validate(source));
    }

    [Fact]
    public void Validate_WhenRawIsNeverClosed_ReportsUnclosedBlock()
    {
        AssertAt(SingleError("a {% raw %}{{ x }}"), TemplateErrorKind.UnclosedBlock, 1, 3);
    }

    [Fact]
    public void Validate_ReportsEveryErrorInSourceOrder()
    {
        var errors = Validate("{{ a }}\n{% bogus %}\n{{ b | nope }}\n{% if true %}");

        Assert.Equal(
            [(1, 4, TemplateErrorKind.UnknownData), (2, 1, TemplateErrorKind.UnknownTag), (3, 4, TemplateErrorKind.UnknownData), (3, 8, TemplateErrorKind.UnknownFilter), (4, 1, TemplateErrorKind.UnclosedBlock)],
            errors.Select(e => (e.Line, e.Column, e.Kind)));
    }

    [Fact]
    public void Validate_EmailHtmlPart_IsNamedInTheError()
    {
        var error = Assert.Single(Validate("<p>\n{{ profile.first_name | nope }}</p>", ChannelNames.Email));

        Assert.Equal(("email", "html", 2, 25), (error.Variant, error.Part, error.Line, error.Column));
        Assert.Equal("t/email.html(2,25): Unknown filter 'nope'.", error.ToString());
    }

    [Fact]
    public void Validate_Variants_ReportInvalidDimensionsMissingPartsAndDuplicates()
    {
        var template = new TemplateDocument("bad", [
            new TemplateVariant { Channel = ChannelNames.Email, Parts = new Dictionary<string, string> { ["html"] = "x", ["body"] = "y" } },
            TemplateVariant.Sms("a") with { Locale = "spanish" },
            TemplateVariant.Sms("b") with { DeviceType = "watch" },
            TemplateVariant.InApp("c"),
            TemplateVariant.InApp("d"),
            new TemplateVariant { Channel = ChannelNames.WhatsApp, Parts = new Dictionary<string, string> { ["text"] = "t", ["template_name"] = "n" } },
            TemplateVariant.Push("t", "b") with { Channel = "Push!" },
        ]);

        var errors = new TemplateValidator().Validate(template);

        Assert.Contains(errors, e => e is { Variant: "email", Part: null, Kind: TemplateErrorKind.InvalidPart } && e.Message.Contains("subject", StringComparison.Ordinal));
        Assert.Contains(errors, e => e is { Variant: "email", Part: "body", Kind: TemplateErrorKind.InvalidPart });
        Assert.Contains(errors, e => e is { Variant: "sms.spanish", Kind: TemplateErrorKind.InvalidVariant });
        Assert.Contains(errors, e => e is { Variant: "sms.watch", Kind: TemplateErrorKind.InvalidVariant });
        Assert.Contains(errors, e => e is { Variant: "in_app", Kind: TemplateErrorKind.InvalidVariant } && e.Message.Contains("Two variants", StringComparison.Ordinal));
        Assert.Contains(errors, e => e is { Variant: "whatsapp", Kind: TemplateErrorKind.InvalidPart });
        Assert.Contains(errors, e => e is { Variant: "Push!", Kind: TemplateErrorKind.InvalidVariant });
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void Validate_WhatsAppParameters_MustBeNumberedFromOneWithoutGaps()
    {
        var template = Single("wa", new TemplateVariant
        {
            Channel = ChannelNames.WhatsApp,
            Parts = new Dictionary<string, string> { ["template_name"] = "order", ["param1"] = "a", ["param3"] = "c" },
        });

        var error = Assert.Single(new TemplateValidator().Validate(template));

        Assert.Equal(("param3", TemplateErrorKind.InvalidPart), (error.Part, error.Kind));
    }

    [Fact]
    public void Validate_CycleOverDataInHtml_IsRejectedBecauseItBypassesEscaping()
    {
        var error = Assert.Single(Validate("<p>\n {% cycle profile.first_name, 'b' %}</p>", ChannelNames.Email));

        Assert.Equal((TemplateErrorKind.UnexpectedTag, 2, 2), (error.Kind, error.Line, error.Column));
        Assert.Empty(Validate("{% cycle 'odd', 'even' %}", ChannelNames.Email));
        Assert.Empty(Validate("{% cycle profile.first_name, 'b' %}"));
    }

    [Fact]
    public void Validate_TemplateWithoutVariants_IsAnError()
    {
        var error = Assert.Single(new TemplateValidator().Validate(new TemplateDocument("empty", [])));

        Assert.Equal(TemplateErrorKind.InvalidVariant, error.Kind);
    }

    [Fact]
    public void Load_KeepsValidTemplatesAndReportsTheOthers()
    {
        var result = TemplateRenderer.Load([Single("good", TemplateVariant.Sms("ok")), Single("broken", TemplateVariant.Sms("{% if %}{% endif %}"))]);

        Assert.False(result.Succeeded);
        Assert.Equal("broken", Assert.Single(result.Errors).TemplateId);
        Assert.Equal(["good"], result.Renderer.TemplateIds);
        Assert.Equal(TemplateErrorKind.NotFound, Assert.Single(result.Renderer.Render("broken", ChannelNames.Sms, Context()).Errors).Kind);
    }
}
