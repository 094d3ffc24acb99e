using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>Issue 12, part 4: the export answers a subject access request completely, in the documented shape.</summary>
public sealed class ExportTests
{
    [Fact]
    public async Task Export_HoldsEverything_InTheDocumentedShape()
    {
        var json = await ExportAfterAStoryAsync();
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "schemas", "profile-export.schema.json")))!.AsObject();
        var declared = schema["properties"]!.AsObject().Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var required = schema["required"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();

        Assert.Equal("omnichannel-profile-export/1", json["format"]!.GetValue<string>());
        Assert.All(json.Select(p => p.Key), k => Assert.Contains(k, declared));
        Assert.All(required, k => Assert.True(json.ContainsKey(k), $"the export lacks '{k}'"));
        Assert.False(schema["additionalProperties"]!.GetValue<bool>());

        Assert.True(json["consents"]![0]!["granted"]!.GetValue<bool>());
        Assert.NotEmpty(json["consentHistory"]!.AsArray());
        Assert.NotEmpty(json["messageLog"]!.AsArray());
        Assert.NotEmpty(json["journeys"]!.AsArray());
        Assert.NotNull(json["internal"]!["journeyData"]);
        Assert.NotEmpty(json["segments"]!.AsArray());
        var conflict = json["conflicts"]![0]!;
        Assert.Equal("email", conflict["identifierType"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{64}$", conflict["identifierHash"]!.GetValue<string>());
        Assert.DoesNotContain("other@example.com", json.ToJsonString(), StringComparison.Ordinal); // the other person, hashed
        Assert.DoesNotContain("other-777", json.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_LeavesNoStoredFieldOut()
    {
        await using var host = await StoryAsync();
        var profile = await host.ProfileAsync(Identifier.Email("ann@example.com"));
        var stored = JsonNode.Parse((await host.Store.LoadProfileAsync(profile.Id))!.Document)!.AsObject();
        var export = (await host.Client.ExportProfileAsync(Identifier.Email("ann@example.com")))!;

        // Every stored field is either shown in a curated section or kept as it is under "internal".
        foreach (var (name, _) in stored)
        {
            Assert.True(export["internal"]!.AsObject().ContainsKey(name) || ProfileSerializer_Curated(name), $"stored field '{name}' is not exported");
        }
    }

    internal static async Task<JsonObject> ExportAfterAStoryAsync()
    {
        await using var host = await StoryAsync();
        return (await host.Client.ExportProfileAsync(Identifier.Email("ann@example.com")))!;
    }

    private static bool ProfileSerializer_Curated(string name) => name is "id" or "createdAt" or "identifierList" or "traitValues" or "statistics" or "cartLines"
        or "cartClearedAt" or "wishlistItems" or "consentRecords" or "preferences" or "timeZone" or "locale" or "timelineEntries" or "mergeRecords"
        or "conflictRecords" or "segmentMemberships" or "messageLog" or "suppressedAddresses" or "journeys" or "segments";

    private static async Task<OmnichannelTestHost> StoryAsync()
    {
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Journeys.Add(JourneyScenarios.OrderUpdates());
                o.Segments.Add(Omnichannel.Sdk.Segments.Segment.Define("buyers", "Buyers").Where(r => r.Stat(Omnichannel.Sdk.Segments.ProfileStatisticNames.OrderCount).Gte(1)));
            },
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        Identifier[] ann = [Identifier.CustomerId("ann-1"), Identifier.Email("ann@example.com"), Identifier.AnonymousId("cookie-1")];
        await host.TrackAsync("user.signed_up", ann, traits: new { first_name = "Ann", address = new { city = "Leeds" } });
        await host.TrackAsync(EventTypes.ConsentChanged, ann, new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.CartItemAdded, ann, new { product_id = "tower", quantity = 1, price = 10 });
        await host.TrackAsync(EventTypes.OrderPlaced, ann, new { order_id = "o1", total = 10 });
        await host.Client.SendAsync(ann[0], new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" });
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("other-777"), Identifier.Email("other@example.com")]);
        await host.TrackAsync("x.seen", [Identifier.CustomerId("ann-1"), Identifier.Email("other@example.com")]); // a conflict on her profile
        return host;
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Omnichannel.Sdk.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("The repository root was not found.");
    }
}
