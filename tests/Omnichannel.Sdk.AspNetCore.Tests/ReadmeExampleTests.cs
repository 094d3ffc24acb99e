using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>The package README's example, byte for byte (its own server, so its fixed ids meet no other test's).</summary>
public sealed class ReadmeExampleTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private const string Batch = """
        {"batch":[
          {"type":"page","anonymousId":"a-7f3a","name":"Cat towers","messageId":"m-1","timestamp":"2026-05-01T10:00:00.000Z",
           "context":{"locale":"es-MX","timezone":"America/Mexico_City"}},
          {"type":"track","anonymousId":"a-7f3a","event":"Product Added","messageId":"m-2","timestamp":"2026-05-01T10:01:00.000Z",
           "properties":{"product_id":"tower-xl","price":89.9,"quantity":1,"currency":"EUR"}},
          {"type":"identify","userId":"c-1001","anonymousId":"a-7f3a","messageId":"m-3","timestamp":"2026-05-01T10:05:00.000Z",
           "traits":{"email":"clara@example.com","first_name":"Clara"}}
        ],"sentAt":"2026-05-01T10:05:01.000Z"}
        """;

    private async Task<JsonObject> SendAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/batch"))
        {
            Content = new StringContent(Batch, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = AuthenticationHeaderValue.Parse("Basic d2tfd2Vic2l0ZV8wMTIzNDU2Nzg5YWJjZGVmOg==");
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task TheReadmeExample_DoesWhatTheReadmeSays()
    {
        var first = await SendAsync();
        Assert.Equal("""{"success":true,"accepted":3,"duplicates":0}""", first.ToJsonString());

        var clara = await server.ProfileAsync(Identifier.CustomerId("c-1001"));
        var line = Assert.Single(clara.Cart);
        Assert.Equal(("tower-xl", 1m), (line.ProductId, line.Quantity));
        Assert.Equal("Clara", clara.Traits["first_name"]!.GetValue<string>());
        Assert.Equal("es-MX", clara.Locale);
        Assert.True(clara.Has(Identifier.AnonymousId("a-7f3a")) && clara.Has(Identifier.Email("clara@example.com")));
        Assert.Equal(["m-1", "m-2", "m-3"], clara.Timeline.Where(t => t.EventId.StartsWith("m-", StringComparison.Ordinal)).Select(t => t.EventId).Order());

        var again = await SendAsync();
        Assert.Equal("""{"success":true,"accepted":0,"duplicates":3}""", again.ToJsonString());
    }
}
