using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

public sealed class TemplateSourceTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "omnichannel-templates-" + Guid.NewGuid().ToString("N"));

    public TemplateSourceTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relativePath, string text)
    {
        var path = Path.Combine(_root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public async Task InMemory_ListsIdsInOrderAndReturnsTemplates()
    {
        var source = new InMemoryTemplateSource(Single("welcome", TemplateVariant.Sms("hi")), Single("abandoned-cart", TemplateVariant.Sms("cart")));
        source.Set(Single("welcome", TemplateVariant.Sms("hello")));

        Assert.Equal(["abandoned-cart", "welcome"], await source.ListIdsAsync());
        Assert.Equal("hello", (await source.GetAsync("welcome"))!.Variants[0].Parts["body"]);
        Assert.Null(await source.GetAsync("missing"));
        Assert.True(source.Remove("welcome"));
        Assert.Equal(["abandoned-cart"], await source.ListIdsAsync());
    }

    [Fact]
    public void InMemory_RejectsInvalidIds()
    {
        Assert.Throws<ArgumentException>(() => new InMemoryTemplateSource(Single("../etc", TemplateVariant.Sms("x"))));
    }

    [Fact]
    public async Task InMemory_LoadAsync_RendersThroughTheRenderer()
    {
        var load = await TemplateRenderer.LoadAsync(new InMemoryTemplateSource(Single("welcome", TemplateVariant.Sms("Hi {{ profile.first_name }}"))));

        Assert.True(load.Succeeded);
        Assert.Equal("Hi Clara", load.Renderer.Render("welcome", ChannelNames.Sms, Context()).GetValueOrThrow().Body);
    }

    [Fact]
    public async Task FileSystem_ReadsVariantsAndPartsFromFileNames()
    {
        Write("welcome/email.subject.liquid", "Welcome {{ profile.first_name }}");
        Write("welcome/email.html.liquid", "<h1>Hi {{ profile.first_name }}</h1>");
        Write("welcome/email.es.subject.liquid", "Bienvenida {{ profile.first_name }}");
        Write("welcome/email.es.text.liquid", "Hola");
        Write("welcome/push.morning.es-MX.mobile.title.liquid", "Buenos días");
        Write("welcome/push.morning.es-MX.mobile.body.liquid", "Toca aquí");
        Write("welcome/README.md", "not a template");

        var template = await new FileSystemTemplateSource(_root).GetAsync("welcome");

        Assert.NotNull(template);
        Assert.Equal(["email", "email.es", "push.mobile.es-MX.morning"], template.Variants.Select(v => v.Name).Order(StringComparer.Ordinal));
        var push = template.Variants.Single(v => v.Channel == ChannelNames.Push);
        Assert.Equal((DeviceTypes.Mobile, "es-MX", (TimeOfDay?)TimeOfDay.Morning), (push.DeviceType, push.Locale, push.TimeOfDay));
        Assert.Equal(["body", "title"], push.Parts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Bienvenida {{ profile.first_name }}", template.Variants.Single(v => v.Name == "email.es").Parts["subject"]);
    }

    [Fact]
    public async Task FileSystem_ListsTemplateFoldersAndIgnoresInvalidNames()
    {
        Write("welcome/sms.body.liquid", "hi");
        Write("order-shipped/sms.body.liquid", "shipped");
        Directory.CreateDirectory(Path.Combine(_root, ".hidden"));

        var source = new FileSystemTemplateSource(_root);

        Assert.Equal(["order-shipped", "welcome"], await source.ListIdsAsync());
        Assert.Null(await source.GetAsync("missing"));
        Assert.Null(await source.GetAsync("../" + Path.GetFileName(_root)));
        Assert.Empty(await new FileSystemTemplateSource(Path.Combine(_root, "nope")).ListIdsAsync());
    }

    [Fact]
    public async Task FileSystem_LoadAsync_RendersTheMostSpecificVariant()
    {
        Write("welcome/sms.body.liquid", "Hi {{ profile.first_name }}");
        Write("welcome/sms.es.body.liquid", "Hola {{ profile.first_name }}");

        var load = await TemplateRenderer.LoadAsync(new FileSystemTemplateSource(_root));

        Assert.True(load.Succeeded, string.Join("; ", load.Errors));
        Assert.Equal("Hola Clara", load.Renderer.Render("welcome", ChannelNames.Sms, Context(Clara(locale: "es-MX"))).GetValueOrThrow().Body);
    }

    [Fact]
    public async Task FileSystem_LoadAsync_ReportsErrorsWithFileVariantPartAndPosition()
    {
        Write("welcome/email.subject.liquid", "Hi");
        Write("welcome/email.html.liquid", "<p>\n  {% for line in profile.cart %}{{ line.name }}\n</p>");
        Write("welcome/sms.mobil.body.liquid", "x");
        Write("other/sms.body.liquid", "fine");

        var load = await TemplateRenderer.LoadAsync(new FileSystemTemplateSource(_root));

        Assert.False(load.Succeeded);
        Assert.Contains(load.Errors, e => e.ToString() == "welcome/email.html(2,3): 'for' is never closed: add '{% endfor %}'.");
        Assert.Contains(load.Errors, e => e is { Variant: "sms.mobil", Kind: TemplateErrorKind.InvalidVariant });
        Assert.Equal(["other"], load.Renderer.TemplateIds);
    }

    [Fact]
    public async Task ValidateAsync_ChecksEveryTemplateOfASource()
    {
        var source = new InMemoryTemplateSource(Single("a", TemplateVariant.Sms("{{ profle }}")), Single("b", TemplateVariant.Sms("{% bogus %}")));

        var errors = await new TemplateValidator().ValidateAsync(source);

        Assert.Equal([("a", TemplateErrorKind.UnknownData), ("b", TemplateErrorKind.UnknownTag)], errors.Select(e => (e.TemplateId, e.Kind)));
    }
}
