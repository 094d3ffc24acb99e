using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>Issue 13 §4: every render runs within a budget of steps, time and output, and encodes what it inserts.</summary>
public sealed class TemplateBudgetTests
{
    private static TemplateRenderResult Render(TemplateVariant variant, TemplateRendererOptions? options = null, RenderContext? context = null, CancellationToken cancellationToken = default) =>
        Renderer(options, Single("t", variant)).Render("t", variant.Channel, context ?? Context(), cancellationToken);

    private static TemplateError RenderError(TemplateVariant variant, TemplateRendererOptions? options = null, RenderContext? context = null)
    {
        var result = Render(variant, options, context);
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal(TemplateErrorKind.Render, error.Kind);
        return error;
    }

    private static RenderContext WithJourney(string key, object? value) => Context() with { Journey = new Dictionary<string, object?> { [key] = value } };

    [Fact]
    public void NestedLoops_OfTwentyMillionIterations_AreCutOffQuickly_WithAClearError()
    {
        // 5,000 × 4,000 = 2·10⁷ iterations: each loop alone is small, together they took 13 s and 100 MB of HTML.
        var stopwatch = Stopwatch.StartNew();
        var error = RenderError(TemplateVariant.Email("s", "{% for a in (1..5000) %}{% for b in (1..4000) %}<td>{{ b }}</td>{% endfor %}{% endfor %}"));

        Assert.Contains("100,000 steps", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(TemplateRendererOptions.MaxSteps), error.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public void NestedLoops_WithoutOutput_AreCutOffToo()
    {
        var error = RenderError(TemplateVariant.Sms("{% for a in (1..5000) %}{% for b in (1..4000) %}{% endfor %}{% endfor %}done"));

        Assert.Contains("steps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheStepBudget_IsSharedByAllLoopsOfAPart_SoNestedLoopsDoNotMultiplyPastIt()
    {
        var options = new TemplateRendererOptions { MaxSteps = 1000 };

        // 20 × 20 fits; 40 × 40 = 1,600 iterations does not, though each loop alone runs only 40.
        Assert.True(Render(TemplateVariant.Sms("{% for a in (1..20) %}{% for b in (1..20) %}{% endfor %}{% endfor %}ok"), options).Succeeded);
        RenderError(TemplateVariant.Sms("{% for a in (1..40) %}{% for b in (1..40) %}{% endfor %}{% endfor %}ok"), options);
    }

    [Theory]
    [InlineData("{% assign s = 'x' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}")]
    [InlineData("{% assign s = 'x' %}{% for i in (1..64) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s | size }}")]
    [InlineData("{% assign s = 'xxxxxxxxxxxxxxxx' %}{{ s | append: s | append: s | append: s | append: s | append: s | append: s | append: s | replace: 'x', s | replace: 'x', s | replace: 'x', s | size }}")]
    public void ADoublingString_HitsTheOutputLimit_NotOutOfMemory(string body)
    {
        var error = RenderError(TemplateVariant.Sms(body));

        // An SMS part may hold at most MaxSmsSegments × 160 characters (1,600 by default).
        Assert.Contains("longer than 1,600 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADoublingString_InAnEmail_HitsTheOutputLimit()
    {
        var error = RenderError(TemplateVariant.Email("s", "{% assign s = 'x' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}<p>{{ s }}</p>"));

        Assert.Contains("longer than 1,048,576 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmailBody_OverTheOutputLimit_FailsToRender()
    {
        var options = new TemplateRendererOptions { MaxOutputLength = 2048 };
        var template = TemplateVariant.Email("s", "{% for i in (1..300) %}<p>{{ i }}</p>{% endfor %}");

        var error = RenderError(template, options);

        Assert.Equal("html", error.Part);
        Assert.Contains("longer than 2,048 characters", error.Message, StringComparison.Ordinal);
        Assert.True(Render(TemplateVariant.Email("s", "{% for i in (1..100) %}<p>{{ i }}</p>{% endfor %}"), options).Succeeded);
    }

    [Fact]
    public void AnSms_OfTensOfThousandsOfSegments_IsNeverProduced()
    {
        // The probe rendered an SMS of 68,535 segments; the SMS limit (DeliveryOptions.MaxSmsSegments, default 10) stops it.
        var lines = Enumerable.Range(0, 20_000).Select(i => (object?)$"Item number {i} is still in your cart, come back").ToList();
        var error = RenderError(TemplateVariant.Sms("{% for l in journey.lines %}{{ l }} {% endfor %}"), context: WithJourney("lines", lines));

        Assert.Equal("body", error.Part);
        Assert.Contains("1,600 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnSms_OverItsSegmentLimit_FailsWithTheSegmentCount()
    {
        // 100 Cyrillic letters: UCS-2, two segments, though well under 160 characters.
        var options = new TemplateRendererOptions { MaxSmsSegments = 1 };
        var error = RenderError(TemplateVariant.Sms("{{ journey.word }}"), options, WithJourney("word", new string('Ж', 100)));

        Assert.Contains("2 segments; at most 1", error.Message, StringComparison.Ordinal);
        Assert.True(Render(TemplateVariant.Sms("{{ journey.word }}"), options, WithJourney("word", new string('Ж', 70))).Succeeded);
    }

    [Fact]
    public void APushPart_OverItsByteLimit_FailsToRender()
    {
        var options = new TemplateRendererOptions { MaxPushBytes = 256 };
        var error = RenderError(TemplateVariant.Push("Hi", "{{ journey.text }}"), options, WithJourney("text", new string('é', 200)));

        Assert.Equal("body", error.Part);
        Assert.Contains("400 bytes; at most 256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARender_PastItsDeadline_FailsInsteadOfHoldingTheWorker()
    {
        // Every look at the clock moves it 50 ms: the deadline of 1 s passes after about 20 writes.
        var clock = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(50) };
        var options = new TemplateRendererOptions { TimeProvider = clock, RenderTimeout = TimeSpan.FromSeconds(1) };

        var error = RenderError(TemplateVariant.Sms("{% for i in (1..1000) %}{{ i }}{% endfor %}"), options);

        Assert.Contains("render deadline (1000 ms)", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(TemplateRendererOptions.RenderTimeout), error.Message, StringComparison.Ordinal);
        Assert.True(clock.GetUtcNow() - Start < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void ARender_WithinItsDeadline_Succeeds()
    {
        var clock = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(1) };
        var options = new TemplateRendererOptions { TimeProvider = clock, RenderTimeout = TimeSpan.FromSeconds(1) };

        Assert.Equal("12345", Render(TemplateVariant.Sms("{% for i in (1..5) %}{{ i }}{% endfor %}"), options).GetValueOrThrow().Body);
    }

    [Fact]
    public void ACancelledRender_Stops()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => Render(TemplateVariant.Sms("{% for i in (1..1000) %}{{ i }}{% endfor %}"), cancellationToken: cts.Token));
    }

    [Theory]
    [InlineData("{% assign r = (1..100000000) %}{{ r | size }}")]
    [InlineData("{{ (1..100000000) | join: ',' }}")]
    public void ARange_OutsideALoop_IsRefusedAtLoad(string body)
    {
        var error = Assert.Single(Validate(body));

        Assert.Equal((TemplateErrorKind.Syntax, 1), (error.Kind, error.Line));
        Assert.Contains("only be used in a 'for' tag", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeeplyNestedBlocks_AreRefusedAtLoad_WithTheirPosition()
    {
        var body = string.Concat(Enumerable.Repeat("{% if true %}", 40)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 40));

        var error = Assert.Single(Validate(body));

        Assert.Equal((TemplateErrorKind.Syntax, 1, (32 * 13) + 1), (error.Kind, error.Line, error.Column));
        Assert.Contains("nested more than 32 deep", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("render")]
    [InlineData("echo")]
    [InlineData("include")]
    public void TagsThatPrintPastTheEncodersOrReadFiles_AreNotSupported(string tag)
    {
        var error = Assert.Single(Validate("{% " + tag + " 'x' %}"));

        Assert.Equal(TemplateErrorKind.UnknownTag, error.Kind);
    }

    [Theory]
    [InlineData("MaxSteps", 0)]
    [InlineData("RenderTimeout", 0)]
    [InlineData("MaxOutputLength", 100)]
    [InlineData("MaxSmsSegments", 0)]
    [InlineData("MaxPushBytes", 10)]
    public void Options_OutOfRange_AreRefusedAtLoad(string option, int value)
    {
        var options = new TemplateRendererOptions();
        switch (option)
        {
            case "RenderTimeout":
                options.RenderTimeout = TimeSpan.FromMilliseconds(value);
                break;
            case "MaxOutputLength":
                options.MaxOutputLength = value;
                break;
            case "MaxSmsSegments":
                options.MaxSmsSegments = value;
                break;
            case "MaxPushBytes":
                options.MaxPushBytes = value;
                break;
            default:
                options.MaxSteps = value;
                break;
        }

        Assert.ThrowsAny<ArgumentException>(() => TemplateRenderer.Load([Single("t", TemplateVariant.Sms("x"))], options));
    }
}
