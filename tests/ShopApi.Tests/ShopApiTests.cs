using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Testing;
using ShopApi;
using Xunit;

namespace ShopApi.Tests;

/// <summary>The sample shop API, end to end over HTTP, on its real registration (SQLite in a folder of the test's own).</summary>
public sealed class ShopApiTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("shopapi-tests-").FullName;
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web
            .UseEnvironment("Development")
            .UseSetting("Omnichannel:DataDirectory", _data));
        _http = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _factory.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private static object Event(string id, string type, object[] identifiers, object? properties = null, object? traits = null) => new
    {
        id,
        type,
        timestamp = DateTimeOffset.UtcNow.AddMinutes(-1),
        identifiers,
        properties,
        traits,
    };

    [Fact]
    public async Task BatchIngest_AnswersOneResultPerEvent_WithStatusesAsStrings_AndErrorsWithPaths()
    {
        var response = await _http.PostAsJsonAsync("/events/batch", new[]
        {
            Event("e1", "user.signed_up", [new { type = "email", value = "Clara@Example.com" }], traits: new { first_name = "Clara" }),
            Event("e2", EventTypes.CartItemAdded, [new { type = "email", value = "clara@example.com" }], new { product_id = "tower-xl", quantity = 1, price = 89.9, cart_id = "c1" }),
            Event("e3", EventTypes.CartItemAdded, [new { type = "email", value = "clara@example.com" }], new { product_id = "bowl", quantity = -2 }),
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        Assert.Equal(["Accepted", "Accepted", "Rejected"], results.Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal("properties.quantity", results[2]!["errors"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task Profile_ReturnsTheExportShape()
    {
        await _http.PostAsJsonAsync("/events/batch", new[]
        {
            Event("e1", "user.signed_up", [new { type = "email", value = "clara@example.com" }], traits: new { first_name = "Clara" }),
            Event("e2", EventTypes.CartItemAdded, [new { type = "email", value = "clara@example.com" }], new { product_id = "tower-xl", quantity = 1, price = 89.9, cart_id = "c1" }),
        });

        var profile = JsonNode.Parse(await _http.GetStringAsync("/profiles/email/clara@example.com"))!;

        Assert.Equal("omnichannel-profile-export/1", profile["format"]!.GetValue<string>());
        Assert.Equal("Lead", profile["lifecycleStage"]!.GetValue<string>());
        Assert.Equal("Clara", profile["traits"]!["first_name"]!.GetValue<string>());
        Assert.Equal("tower-xl", profile["cart"]![0]!["productId"]!.GetValue<string>());
        Assert.Contains(profile["segments"]!.AsArray(), s => s!["segmentId"]!.GetValue<string>() == "cart-builders");
        Assert.Contains(profile["journeys"]!.AsArray(), j => j!["journeyId"]!.GetValue<string>() == "abandoned-cart");
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/profiles/email/nobody@example.com")).StatusCode);
    }

    [Fact]
    public async Task TheDefinitionsFromJsonFiles_AreLoaded_AndSegmentsAnswer()
    {
        await _http.PostAsJsonAsync("/events/batch", new[]
        {
            Event("e1", EventTypes.CartItemAdded, [new { type = "anonymous_id", value = "cookie-1" }], new { product_id = "p", quantity = 1 }),
        });

        var members = JsonNode.Parse(await _http.GetStringAsync("/segments/cart-builders/members"))!.AsArray();

        Assert.Single(members);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/segments/no-such-segment/members")).StatusCode);
    }

    [Fact]
    public async Task Health_IsHealthy_AndTheStoreIsTheSqliteFileInItsOwnFolder()
    {
        var health = await _http.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.True(File.Exists(Path.Combine(_data, "shop.db")));
    }

    [Fact]
    public async Task TheShopsRegistration_RunsInAUnitTest_WithTheCartReminderAnHourLater()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Omnichannel:DataDirectory"] = _data }).Build();
        await using var host = OmnichannelTestHost.Create(services => services.AddShopOmnichannel(configuration, _data));
        var clara = Identifier.Email("clara@example.com");
        await host.TrackAsync(EventTypes.ConsentChanged, [clara], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, [clara], new { cart_id = "c1", product_id = "tower-xl" });

        await host.AdvanceAsync(TimeSpan.FromHours(1));

        var reminder = Assert.IsType<Omnichannel.Sdk.Delivery.EmailMessage>(Assert.Single(host.Sent.SentTo("clara@example.com")));
        Assert.Equal("You left something behind", reminder.Subject);
    }
}
