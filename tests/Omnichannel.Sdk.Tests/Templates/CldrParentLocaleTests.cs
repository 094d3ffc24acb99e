using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Templates;

// The template locale chain against CLDR's parent locales (UTS #35 "Parent Locales"; unicode-org/cldr
// common/supplemental/supplementalData.xml): a script that is not the language's usual one goes to root, never to the
// bare language in the other script; Bokmål and Nynorsk go through Norwegian. Reports of the kind: a Taiwanese or Hong
// Kong reader shown Simplified Chinese (falling-fruit/falling-fruit-web#753, greasyfork-org/greasyfork#1223), a phone
// set to nb-NO shown the default language past a text labelled no (i18next and Flutter localisation reports).
public sealed class CldrParentLocaleTests
{
    private static string? Pick(string? customer, params TemplateVariant[] variants) =>
        Renderer(new TemplateRendererOptions { DefaultLocale = "en" }, new TemplateDocument("hello", [TemplateVariant.Sms("Hello") with { Locale = "en" }, .. variants]))
            .Render("hello", ChannelNames.Sms, Context() with { Locale = customer })
            .GetValueOrThrow()
            .Body;

    [Theory]
    [InlineData("zh-TW")]
    [InlineData("zh-HK")]
    [InlineData("zh-MO")]
    [InlineData("zh-Hant")]
    [InlineData("zh_Hant_TW")]
    public void TraditionalChinese_DoesNotFallToSimplifiedZh_ButToTheShopsDefault(string customer) =>
        Assert.Equal("Hello", Pick(customer, TemplateVariant.Sms("简体") with { Locale = "zh" }));

    [Theory]
    [InlineData("zh-CN", "简体")]
    [InlineData("zh-Hans-SG", "简体")]
    [InlineData("zh", "简体")]
    [InlineData("zh-TW", "繁體")]
    [InlineData("zh-Hant-HK", "繁體")]
    public void Chinese_WithBothScripts_EachReaderGetsHers(string customer, string expected) =>
        Assert.Equal(expected, Pick(customer, TemplateVariant.Sms("简体") with { Locale = "zh" }, TemplateVariant.Sms("繁體") with { Locale = "zh-Hant" }));

    [Fact]
    public void Macau_FallsBackToHongKong_BeforeTraditionalChinese() =>
        Assert.Equal("港", Pick("zh-MO", TemplateVariant.Sms("繁體") with { Locale = "zh-Hant" }, TemplateVariant.Sms("港") with { Locale = "zh-Hant-HK" }));

    [Theory]
    [InlineData("sr-Latn-RS", "Hello")]
    [InlineData("sr-Latn", "Hello")]
    [InlineData("sr-Cyrl-RS", "Здраво")]
    [InlineData("sr-RS", "Здраво")]
    [InlineData("uz-Cyrl-UZ", "Hello")]
    [InlineData("uz-UZ", "Salom")]
    [InlineData("az-Cyrl", "Hello")]
    public void ANonDefaultScript_DoesNotFallToTheLanguageInItsUsualScript(string customer, string expected) =>
        Assert.Equal(expected, Pick(customer,
            TemplateVariant.Sms("Здраво") with { Locale = "sr" },
            TemplateVariant.Sms("Salom") with { Locale = "uz" },
            TemplateVariant.Sms("Salam") with { Locale = "az" }));

    [Theory]
    [InlineData("nb-NO")]
    [InlineData("nb")]
    [InlineData("nn-NO")]
    [InlineData("no-NO")]
    [InlineData("no")]
    public void Norwegian_BokmalAndNynorsk_TakeATextLabelledNo(string customer) =>
        Assert.Equal("Hei", Pick(customer, TemplateVariant.Sms("Hei") with { Locale = "no" }));

    [Theory]
    [InlineData("no-NO", "Hei (nb)")]
    [InlineData("no", "Hei (nb)")]
    [InlineData("nb-NO", "Hei (nb)")]
    public void Norwegian_ATextLabelledNb_ServesAPhoneThatReportsNo(string customer, string expected) =>
        Assert.Equal(expected, Pick(customer, TemplateVariant.Sms("Hei (nb)") with { Locale = "nb" }));

    [Fact]
    public void Bokmal_PrefersItsOwnText_OverNorwegian() =>
        Assert.Equal("Hei (nb)", Pick("nb-NO", TemplateVariant.Sms("Hei (no)") with { Locale = "no" }, TemplateVariant.Sms("Hei (nb)") with { Locale = "nb" }));

    [Fact]
    public void Nynorsk_PrefersNorwegian_OverBokmal() =>
        Assert.Equal("Hei (no)", Pick("nn-NO", TemplateVariant.Sms("Hei (no)") with { Locale = "no" }, TemplateVariant.Sms("Hei (nb)") with { Locale = "nb" }));

    [Fact]
    public void AShopWhoseDefaultIsZh_StillServesItToTraditionalReaders() =>
        Assert.Equal("简体", Renderer(new TemplateRendererOptions { DefaultLocale = "zh" }, new TemplateDocument("hello", [TemplateVariant.Sms("Hello"), TemplateVariant.Sms("简体") with { Locale = "zh" }]))
            .Render("hello", ChannelNames.Sms, Context() with { Locale = "zh-TW" }).GetValueOrThrow().Body);
}
