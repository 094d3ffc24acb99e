using System.Globalization;
using Omnichannel.Sdk.Templates;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit E: a server in another culture writes the same texts.</summary>
public sealed class AuditECultureTests
{
    [Theory]
    [InlineData("de-DE")]
    [InlineData("tr-TR")]
    [InlineData("fr-FR")]
    public void TheRenderBudgetErrors_ReadTheSame_OnAServerInAnotherCulture(string culture)
    {
        // The reason lands on her timeline (message.skipped) and in SendResult.Reason; elsewhere the SDK writes invariant
        // numbers ("1,600 characters"). On a de-DE server the render budget wrote "2.048 characters" and "100.000 steps"
        // (fr-FR: a narrow no-break space), so the same failure read differently per machine.
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
        try
        {
            var options = new TemplateRendererOptions { MaxOutputLength = 2048 };
            var output = TemplateVariant.Email("s", "{% for i in (1..300) %}<p>{{ i }}</p>{% endfor %}");
            var built = TemplateVariant.Email("s", "{% assign s = 'x' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}");
            var steps = TemplateVariant.Email("s", "{% for i in (1..5000) %}{% for j in (1..4000) %}{% endfor %}{% endfor %}");

            Assert.Contains("longer than 2,048 characters", Error(output, options), StringComparison.Ordinal);
            Assert.Contains("longer than 2,048 characters", Error(built, options), StringComparison.Ordinal);
            Assert.Contains("more than 100,000 steps", Error(steps, new TemplateRendererOptions()), StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    private static string Error(TemplateVariant variant, TemplateRendererOptions options)
    {
        var result = Renderer(options, Single("t", variant)).Render("t", variant.Channel, Context());
        Assert.False(result.Succeeded);
        return Assert.Single(result.Errors).Message;
    }
}
