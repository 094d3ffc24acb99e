using Omnichannel.Sdk;
using Omnichannel.Sdk.Templates;

namespace ShopApi;

/// <summary>
/// The shop's Omnichannel registration, in one place: Program.cs calls it, and so does a unit test
/// (<c>OmnichannelTestHost.Create(services =&gt; services.AddShopOmnichannel(configuration))</c>).
/// </summary>
public static class ShopRegistration
{
    /// <summary>
    /// Adds Omnichannel.Sdk on SQLite with the segments and journeys of <c>definitions/*.json</c>, the shop's templates
    /// and a file transport (each message as a file in the data folder's <c>outbox</c>).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">
    /// <c>Omnichannel:DataDirectory</c> (default: <c>App_Data</c> under the content root), <c>Omnichannel:HashKey</c>
    /// (required: a per-installation secret of at least 32 bytes), <c>Omnichannel:DefinitionsDirectory</c> (default:
    /// <c>definitions</c> beside the app).
    /// </param>
    /// <param name="contentRoot">The application's content root.</param>
    public static IServiceCollection AddShopOmnichannel(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        var data = Path.GetFullPath(configuration["Omnichannel:DataDirectory"] ?? Path.Combine(contentRoot, "App_Data"));
        var definitions = configuration["Omnichannel:DefinitionsDirectory"] ?? Path.Combine(AppContext.BaseDirectory, "definitions");
        Directory.CreateDirectory(data);

        services.AddOmnichannel(o =>
            {
                o.Privacy.HashKey = configuration["Omnichannel:HashKey"];
                o.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>";
            })
            .UseSqliteStore(Path.Combine(data, "shop.db"))
            .AddSegmentsFromJson(File.ReadAllText(Path.Combine(definitions, "segments.json")))
            .AddJourneysFromJson(File.ReadAllText(Path.Combine(definitions, "journeys.json")))
            .UseTemplates(new InMemoryTemplateSource(
                new TemplateDocument("welcome", [TemplateVariant.Email("Welcome to Kitty Supplies", "<p>Hi {{ profile.first_name }}, welcome!</p>")]),
                new TemplateDocument("cart-reminder", [TemplateVariant.Email("You left something behind", "<p>Your cart is waiting.</p>")])))
            .AddFileTransport(Path.Combine(data, "outbox"), [ChannelNames.Email]);
        return services;
    }
}
