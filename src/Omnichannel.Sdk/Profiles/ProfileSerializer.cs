using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>The profile's stored form: UTF-8 JSON. Stores treat it as opaque bytes.</summary>
internal static class ProfileSerializer
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Source-generated metadata: the profile is written on every commit, so reflection-free serialisation pays.
    private static readonly ProfileJsonContext Context = new(new JsonSerializerOptions(Options));

    public static byte[] Serialize(CustomerProfile profile) => JsonSerializer.SerializeToUtf8Bytes(profile, Context.CustomerProfile);

    public static CustomerProfile Deserialize(byte[] document, long version)
    {
        var p = JsonSerializer.Deserialize(document, Context.CustomerProfile)
            ?? throw new InvalidDataException("A stored profile document is empty.");
        p.Version = version;
        return p;
    }

    /// <summary>The person-facing export: everything held, with traits nested and derived values included.</summary>
    public static JsonObject Export(CustomerProfile p)
    {
        var exportOptions = new JsonSerializerOptions(Options) { WriteIndented = true };
        var o = new JsonObject
        {
            ["id"] = p.Id,
            ["createdAt"] = p.CreatedAt,
            ["lifecycleStage"] = JsonSerializer.SerializeToNode(p.LifecycleStage, exportOptions),
            ["identifiers"] = JsonSerializer.SerializeToNode(p.Identifiers, exportOptions),
            ["traits"] = p.Traits,
            ["statistics"] = JsonSerializer.SerializeToNode(p.Statistics, exportOptions),
            ["averageOrderValue"] = p.Statistics.AverageOrderValue,
            ["cart"] = JsonSerializer.SerializeToNode(p.Cart, exportOptions),
            ["wishlist"] = JsonSerializer.SerializeToNode(p.Wishlist, exportOptions),
            ["consents"] = JsonSerializer.SerializeToNode(p.Consents, exportOptions),
            ["preferences"] = JsonSerializer.SerializeToNode(p.Preferences, exportOptions),
            ["timeZone"] = p.TimeZone,
            ["locale"] = p.Locale,
            ["timeline"] = JsonSerializer.SerializeToNode(p.Timeline, exportOptions),
            ["merges"] = JsonSerializer.SerializeToNode(p.Merges, exportOptions),
            ["conflicts"] = JsonSerializer.SerializeToNode(p.Conflicts, exportOptions),
        };
        return o;
    }
}

[JsonSerializable(typeof(CustomerProfile))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
