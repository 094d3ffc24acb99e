using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Templates;
using Xunit;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>Profiles, events and renderers shared by the template tests.</summary>
internal static class TemplateTestData
{
    // Tuesday 10:30 UTC: morning in UTC, 03:30 (night) in Los Angeles (PDT, UTC-7), 19:30 (evening) in Tokyo.
    public static readonly DateTimeOffset Start = new(2026, 6, 9, 10, 30, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock(DateTimeOffset? at = null) => new(at ?? Start);

    public static CustomerProfile Clara(string? locale = null, string? timeZone = null)
    {
        var at = Start.AddDays(-30);
        var profile = new CustomerProfile("p-clara", at) { Locale = locale, TimeZone = timeZone };
        profile.TraitValues["first_name"] = new TraitValue(JsonData.From("Clara"), at);
        profile.TraitValues["last_name"] = new TraitValue(JsonData.From("Moreau"), at);
        profile.TraitValues["tier"] = new TraitValue(JsonData.From("gold"), at);
        profile.TraitValues["address.city"] = new TraitValue(JsonData.From("Lyon"), at);
        profile.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Email, "clara@example.com", at));
        profile.Statistics.OrderCount = 3;
        profile.Statistics.TotalSpent = 150.5m;
        profile.Statistics.Currency = "EUR";
        profile.CartLines["cat-food"] = new CartLine { ProductId = "cat-food", Name = "Cat food", Quantity = 2, UnitPrice = 12.5m, Currency = "EUR", UpdatedAt = at };
        profile.CartLines["litter"] = new CartLine { ProductId = "litter", Name = "Litter", Quantity = 1, UnitPrice = 8m, Currency = "EUR", UpdatedAt = at.AddMinutes(1) };
        return profile;
    }

    public static CustomerProfile WithTrait(this CustomerProfile profile, string path, object value)
    {
        profile.TraitValues[path] = new TraitValue(JsonData.From(value), Start);
        return profile;
    }

    public static CustomerEvent Event(string type, object? properties = null, EventContext? context = null) => new()
    {
        Id = "e-1",
        Type = type,
        Timestamp = Start,
        Identifiers = [new Identifier(IdentifierTypes.Email, "clara@example.com")],
        Properties = properties is null ? default : JsonData.From(properties),
        Context = context,
    };

    public static RenderContext Context(CustomerProfile? profile = null, CustomerEvent? @event = null, DateTimeOffset? now = null) => new()
    {
        Profile = profile ?? Clara(),
        Event = @event,
        Now = now ?? Clock().GetUtcNow(),
    };

    public static TemplateRenderer Renderer(params TemplateDocument[] templates) => Renderer(null, templates);

    public static TemplateRenderer Renderer(TemplateRendererOptions? options, params TemplateDocument[] templates)
    {
        var result = TemplateRenderer.Load(templates, options);
        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Errors));
        return result.Renderer;
    }

    public static TemplateDocument Single(string id, TemplateVariant variant) => new(id, [variant]);

    public static string RenderSms(string body, RenderContext? context = null) =>
        Renderer(Single("t", TemplateVariant.Sms(body))).Render("t", ChannelNames.Sms, context ?? Context()).GetValueOrThrow().Body!;

    public static IReadOnlyList<TemplateError> Validate(string source, string channel = ChannelNames.Sms) =>
        new TemplateValidator().Validate(Single("t", channel == ChannelNames.Email ? TemplateVariant.Email("s", source) : TemplateVariant.Sms(source)));

    public static JsonElement Json(string json) => JsonData.Parse(json);

    /// <summary>A source with '^' where an error must point: the source without it, and that line and column (1-based).</summary>
    public static (string Source, int Line, int Column) Marked(string marked)
    {
        var at = marked.IndexOf('^', StringComparison.Ordinal);
        var source = marked.Remove(at, 1);
        var line = marked[..at].Count(c => c == '\n') + 1;
        var column = at - (marked.LastIndexOf('\n', Math.Max(0, at - 1)) + 1) + 1;
        return (source, line, column);
    }

    /// <summary>Clara's context with journey data x = 5 and s = "hello world foo" (the literal-argument tests' data).</summary>
    public static RenderContext Data() =>
        Context(Clara()) with { Journey = new Dictionary<string, object?> { ["x"] = 5, ["s"] = "hello world foo" } };
}
