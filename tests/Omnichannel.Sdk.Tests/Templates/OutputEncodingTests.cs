using System.Text.Json;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>Issue 13 §4: URL attributes drop unsafe schemes; values inserted into JSON payloads cannot change their structure.</summary>
public sealed class OutputEncodingTests
{
    private static string Html(string html, string url)
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", html)));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["url"] = url } };
        return renderer.Render("t", ChannelNames.Email, context).GetValueOrThrow().Html!;
    }

    [Theory]
    [InlineData("javascript:alert(document.cookie)")]
    [InlineData("JaVaScRiPt:alert(1)")]
    [InlineData("  javascript:alert(1)")]
    [InlineData("java\tscript:alert(1)")]
    [InlineData("\u0001javascript:alert(1)")]
    [InlineData("vbscript:msgbox(1)")]
    [InlineData("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")]
    public void AnUnsafeUrl_InAnHrefAttribute_IsNotEmitted(string url)
    {
        var html = Html("<a href=\"{{ journey.url }}\">Open</a>", url);

        Assert.Equal("<a href=\"about:invalid#unsafe-url\">Open</a>", html);
    }

    [Theory]
    [InlineData("<img src='{{ journey.url }}'>", "<img src=\"about:invalid#unsafe-url\">")]
    [InlineData("<form action={{ journey.url }}><button formaction=\"{{ journey.url }}\">Go</button></form>", "<form action=\"about:invalid#unsafe-url\"><button formaction=\"about:invalid#unsafe-url\">Go</button></form>")]
    [InlineData("<a title=\"x\" HREF = \"{{ journey.url | raw }}\">Open</a>", "<a title=\"x\" HREF=\"about:invalid#unsafe-url\">Open</a>")]
    public void AnUnsafeUrl_InAnyUrlAttribute_IsNotEmitted_EvenRaw(string template, string expected)
    {
        Assert.Equal(expected, Html(template, "javascript:alert(1)"));
    }

    [Fact]
    public void AnUnsafeScheme_HiddenWithEntitiesInTheTemplate_IsNotEmitted()
    {
        Assert.Equal("<a href=\"about:invalid#unsafe-url\">x</a>", Html("<a href=\"java&#x09;script&colon;alert(1)\">x</a>", "unused"));
    }

    [Theory]
    [InlineData("https://kitty.example/cart?id=1&amp;x=2", "https://kitty.example/cart?id=1&amp;amp;x=2")]
    [InlineData("mailto:help@kitty.example", "mailto:help@kitty.example")]
    [InlineData("/orders/42", "/orders/42")]
    public void ASafeUrl_IsKept(string url, string emitted)
    {
        Assert.Equal($"<a href=\"{emitted}\">Open</a>", Html("<a href=\"{{ journey.url }}\">Open</a>", url));
    }

    [Fact]
    public void AnUnsafeUrl_AsText_IsOnlyEscaped()
    {
        Assert.Equal("<p>javascript:alert(1)</p>", Html("<p>{{ journey.url }}</p>", "javascript:alert(1)"));
    }

    [Fact]
    public void AnUnsafeUrl_InAPlainTextPart_IsLeftAsItIs()
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("s", null, "Open {{ journey.url }}")));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["url"] = "javascript:alert(1)" } };

        Assert.Equal("Open javascript:alert(1)", renderer.Render("t", ChannelNames.Email, context).GetValueOrThrow().Text);
    }

    private static JsonElement Payload(string template, IReadOnlyDictionary<string, object?> journey)
    {
        var part = LiquidEngine.TryParseJson("hook", template, out var error);
        Assert.True(part is not null, error);
        var data = LiquidData.Build(Context() with { Journey = journey }, Start, null, null);
        return JsonDocument.Parse(LiquidEngine.Render(part, data, Start, RenderBudget.Default, CancellationToken.None)).RootElement.Clone();
    }

    [Fact]
    public void AValue_InsideAJsonString_CannotAddKeys()
    {
        var nick = "x\", \"vip\": true, \"z\": \"";

        var payload = Payload("""{"nick": "{{ journey.nick }}", "id": "{{ journey.id }}"}""", new Dictionary<string, object?> { ["nick"] = nick, ["id"] = "c-1" });

        Assert.False(payload.TryGetProperty("vip", out _));
        Assert.Equal(nick, payload.GetProperty("nick").GetString());
        Assert.Equal(["nick", "id"], payload.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("back\\slash \\\" quote")]
    [InlineData("line\nbreak\ttab\u0001control")]
    [InlineData("</script><script>alert(1)</script>")]
    public void AValue_InsideAJsonString_KeepsItsExactText(string text)
    {
        var payload = Payload("""{"v": "{{ journey.v }}", "raw": "{{ journey.v | raw }}"}""", new Dictionary<string, object?> { ["v"] = text });

        Assert.Equal((text, text), (payload.GetProperty("v").GetString(), payload.GetProperty("raw").GetString()));
    }

    [Fact]
    public void AValue_OutsideAString_IsWrittenAsOneJsonValue()
    {
        var journey = new Dictionary<string, object?>
        {
            ["n"] = 42.5m,
            ["ok"] = true,
            ["s"] = "1, \"vip\": true",
            ["list"] = new List<object?> { "a", 2 },
            ["none"] = null,
            ["obj"] = new Dictionary<string, object?> { ["a"] = "x\"", ["b"] = 1 },
        };

        var payload = Payload("""{"n": {{ journey.n }}, "ok": {{ journey.ok }}, "s": {{ journey.s }}, "list": {{ journey.list }}, "none": {{ journey.none }}, "obj": {{ journey.obj }}}""", journey);

        Assert.Equal(42.5m, payload.GetProperty("n").GetDecimal());
        Assert.True(payload.GetProperty("ok").GetBoolean());
        Assert.Equal("1, \"vip\": true", payload.GetProperty("s").GetString());
        Assert.Equal("[\"a\",2]", payload.GetProperty("list").GetRawText());
        Assert.Equal(JsonValueKind.Null, payload.GetProperty("none").ValueKind);
        Assert.Equal(("x\"", 1), (payload.GetProperty("obj").GetProperty("a").GetString(), payload.GetProperty("obj").GetProperty("b").GetInt32()));
        Assert.Equal(6, payload.EnumerateObject().Count());
    }

    [Fact]
    public void AJsonFilteredValue_OutsideAString_IsNotEncodedTwice()
    {
        var payload = Payload("""{"tags": {{ journey.tags | json }}}""", new Dictionary<string, object?> { ["tags"] = new List<object?> { "a\"b" } });

        Assert.Equal("a\"b", payload.GetProperty("tags")[0].GetString());
    }
}
