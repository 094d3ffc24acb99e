using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>
/// Audit: the html part escapes &lt; &gt; &amp; " ' in every output, which is enough inside text and quoted attributes, but an
/// unquoted attribute value (which the SDK supports: its own URL check handles <c>action={{ … }}</c>) ends at a space, so
/// a profile trait with a space adds attributes of its own (an event handler, a style overlaying the message).
/// </summary>
public sealed class AuditHtmlEncodingTests
{
    private static string Html(string html, string value)
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", html)));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["v"] = value } };
        return renderer.Render("t", ChannelNames.Email, context).GetValueOrThrow().Html!;
    }

    [Theory]
    [InlineData("<a href={{ journey.v }}>Open</a>", "https://kitty.example/cart onmouseover=alert(1)")]
    [InlineData("<td class={{ journey.v }}>Hi</td>", "x style=position:fixed;top:0;left:0;width:100%;height:100%")]
    public void AValue_InAnUnquotedAttribute_CannotAddAttributes(string template, string value)
    {
        var html = Html(template, value);
        Assert.DoesNotContain(" onmouseover=", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("java script:alert(1)")] // encoded to java&#32;script: in the value; still caught
    [InlineData(" javascript:alert(1)")]
    [InlineData("JaVaScRiPt\t:alert(1)")]
    public void AnUnsafeUrl_InAnUnquotedUrlAttribute_IsStillBlocked_AfterItsWhitespaceIsEncoded(string value)
    {
        var html = Html("<a href={{ journey.v }}>Open</a>", value);
        Assert.Contains(UrlAttributes.Blocked, html, StringComparison.Ordinal);
        Assert.DoesNotContain("alert", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ASafeUrl_InAnUnquotedAttribute_ReadsTheSame()
    {
        var html = Html("<a href={{ journey.v }}>Open</a>", "https://kitty.example/cart?a=1&b=2");
        Assert.Equal("<a href=https://kitty.example/cart?a&#61;1&amp;b&#61;2>Open</a>", html);
        Assert.Equal("https://kitty.example/cart?a=1&b=2", System.Net.WebUtility.HtmlDecode("https://kitty.example/cart?a&#61;1&amp;b&#61;2"));
    }
}
