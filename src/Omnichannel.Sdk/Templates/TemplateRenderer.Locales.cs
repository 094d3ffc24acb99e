namespace Omnichannel.Sdk.Templates;

// Choosing a variant: channel, device and time of day, then the best locale of the fallback chain (BCP 47 tags; CLDR's
// parent locales).
public sealed partial class TemplateRenderer
{
    private static CompiledVariant? Select(CompiledTemplate template, string channel, string? device, TimeOfDay timeOfDay, IReadOnlyList<string?> chain) =>
        template.Variants
            .Where(v => v.Variant.Channel == channel
                && (v.Variant.DeviceType is null || v.Variant.DeviceType == device)
                && (v.Variant.TimeOfDay is null || v.Variant.TimeOfDay == timeOfDay))
            .Select(v => (Variant: v, LocaleRank: LocaleRank(chain, v.Variant.Locale)))
            .Where(x => x.LocaleRank >= 0)
            .OrderBy(x => x.LocaleRank)
            .ThenBy(x => x.Variant.Variant.DeviceType is null ? 1 : 0)
            .ThenBy(x => x.Variant.Variant.TimeOfDay is null ? 1 : 0)
            .Select(x => x.Variant)
            .FirstOrDefault();

    private static int LocaleRank(IReadOnlyList<string?> chain, string? locale)
    {
        for (var i = 0; i < chain.Count; i++)
        {
            if (string.Equals(chain[i], locale, StringComparison.OrdinalIgnoreCase)
                || (locale is not null && chain[i] is { } tag && string.Equals(tag, LocalTime.KnownLocale(locale), StringComparison.OrdinalIgnoreCase)))
            {
                return i;
            }
        }

        return -1;
    }

    // "es_MX" → ["es-MX", "es", <default locale and its parents>, null]. A language code ISO withdrew (Android's "iw")
    // reads as the current one ("he"), and a Chinese region goes through its script before the bare language
    // ("zh-TW" → "zh-TW", "zh-Hant-TW", "zh-Hant", then the default): Taiwan reads Traditional, and "zh" is Simplified
    // (CLDR: zh-Hant's parent is root).
    internal static IReadOnlyList<string?> LocaleChain(string? requested, string? defaultLocale)
    {
        var chain = new List<string?>();
        foreach (var start in new[] { requested, defaultLocale })
        {
            var given = start?.Trim().Replace('_', '-');
            var tag = LocalTime.KnownLocale(given) ?? given;
            if (tag is not null && ChineseScript(tag) is { } scripted)
            {
                Add(chain, tag);
                tag = scripted;
            }

            while (!string.IsNullOrEmpty(tag))
            {
                Add(chain, tag);
                if (CldrParents.TryGetValue(tag, out var parent))
                {
                    // en-AU → en-001 → en, es-MX → es-419 → es, pt-AO → pt-PT → pt, nb → no; "" is CLDR's root:
                    // zh-Hant never reads Simplified zh, sr-Latn never Cyrillic sr.
                    tag = parent;
                    continue;
                }

                if (string.Equals(tag, "no", StringComparison.OrdinalIgnoreCase))
                {
                    // CLDR's legacy alias no → nb (before CLDR 44 made no the parent): a shop's Bokmål text labelled
                    // nb serves a phone that reports no.
                    Add(chain, "nb");
                    break;
                }

                var dash = tag.LastIndexOf('-');
                tag = dash < 0 ? null : tag[..dash];
            }
        }

        chain.Add(null);
        return chain;
    }

    // Audit U73: CLDR's parent locales for the languages whose regional forms do not inherit from the bare language (UTS
    // #35, "Parent Locales"; unicode-org/cldr common/supplemental/supplementalData.xml, <parentLocales>): English outside
    // the US through world English (en-001, and Europe's en-150 through it), Spanish of the Americas through Latin
    // American Spanish (es-419), Portuguese outside Brazil through European Portuguese (pt-PT), Bokmål and Nynorsk
    // through Norwegian (no), and the scripts that go to root (zh-Hant, sr-Latn…). Only these entries; every other tag
    // falls back by truncation. The table, not CultureInfo.Parent: that answer depends on the machine's
    // ICU and is missing under invariant globalization.
    private static readonly System.Collections.Frozen.FrozenDictionary<string, string> CldrParents = BuildCldrParents();

    private static System.Collections.Frozen.FrozenDictionary<string, string> BuildCldrParents()
    {
        var parents = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["en-150"] = "en-001" };
        foreach (var region in "AG AI AU BB BM BS BW BZ CC CK CM CX CY DG DM ER FJ FK FM GB GD GG GH GI GM GY HK IE IL IM IN IO JE JM KE KI KN KY LC LR LS MG MO MS MT MU MV MW MY NA NF NG NR NU NZ PG PK PN PW RW SB SC SD SG SH SL SS SX SZ TC TK TO TT TV TZ UG VC VG VU WS ZA ZM ZW".Split(' '))
        {
            parents["en-" + region] = "en-001";
        }

        foreach (var region in "AT BE CH DE DK FI NL SE SI".Split(' '))
        {
            parents["en-" + region] = "en-150";
        }

        foreach (var region in "AR BO BR BZ CL CO CR CU DO EC GT HN MX NI PA PE PR PY SV US UY VE".Split(' '))
        {
            parents["es-" + region] = "es-419";
        }

        foreach (var region in "AO CH CV FR GQ GW LU MO MZ ST TL".Split(' '))
        {
            parents["pt-" + region] = "pt-PT";
        }

        // Norwegian Bokmål and Nynorsk through Norwegian (CLDR 44+): a shop's text labelled no serves nb-NO and nn-NO.
        parents["nb"] = "no";
        parents["nn"] = "no";
        parents["zh-Hant-MO"] = "zh-Hant-HK";

        // A script that is not the language's usual one goes to root (CLDR's short list of parent="root"), never to the
        // bare language written in the other script: Traditional Chinese does not fall to zh (Simplified), Latin
        // Serbian not to sr (Cyrillic).
        foreach (var tag in "az-Arab az-Cyrl bm-Nkoo bs-Cyrl en-Dsrt en-Shaw ha-Arab iu-Latn mn-Mong ms-Arab pa-Arab shi-Latn sr-Latn uz-Arab uz-Cyrl vai-Latn yue-Hans zh-Hant".Split(' '))
        {
            parents[tag] = "";
        }

        return System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(parents, StringComparer.OrdinalIgnoreCase);
    }

    private static void Add(List<string?> chain, string tag)
    {
        if (!chain.Exists(c => string.Equals(c, tag, StringComparison.OrdinalIgnoreCase)))
        {
            chain.Add(tag);
        }
    }

    // "zh-TW" → "zh-Hant-TW", "zh-CN" → "zh-Hans-CN"; null for a tag that already names a script, or another language.
    private static string? ChineseScript(string tag)
    {
        var parts = tag.Split('-');
        if (parts.Length < 2 || !string.Equals(parts[0], "zh", StringComparison.OrdinalIgnoreCase) || parts[1].Length != 2)
        {
            return null;
        }

        var script = parts[1].ToUpperInvariant() switch
        {
            "TW" or "HK" or "MO" => "Hant",
            "CN" or "SG" or "MY" => "Hans",
            _ => null,
        };
        return script is null ? null : string.Join('-', [parts[0], script, .. parts[1..]]);
    }
}
