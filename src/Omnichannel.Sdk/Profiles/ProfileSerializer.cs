using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>The profile's stored form: UTF-8 JSON. Stores treat it as opaque bytes.</summary>
internal static class ProfileSerializer
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Source-generated metadata: the profile is written on every commit, so reflection-free serialisation pays. Empty
    // collections are left out of the document (a reader gets the empty default): most profiles have no returns, no
    // open cart, no journeys, and every commit writes the whole document.
    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<CustomerProfile> ProfileInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<CustomerProfile>)
        new JsonSerializerOptions(Options) { TypeInfoResolver = new ProfileJsonContext().WithAddedModifier(SkipEmptyCollections) }.GetTypeInfo(typeof(CustomerProfile));

    public static byte[] Serialize(CustomerProfile profile) => JsonSerializer.SerializeToUtf8Bytes(profile, ProfileInfo);

    public static CustomerProfile Deserialize(byte[] document, long version)
    {
        var p = JsonSerializer.Deserialize(document, ProfileInfo)
            ?? throw new InvalidDataException("A stored profile document is empty.");
        p.Version = version;
        return p;
    }

    private static void SkipEmptyCollections(System.Text.Json.Serialization.Metadata.JsonTypeInfo info)
    {
        foreach (var property in info.Properties)
        {
            if (property.PropertyType != typeof(string) && typeof(System.Collections.ICollection).IsAssignableFrom(property.PropertyType))
            {
                property.ShouldSerialize = static (_, value) => value is not System.Collections.ICollection { Count: 0 };
            }
        }
    }

    /// <summary>The version of the export shape (<c>docs/schemas/profile-export.schema.json</c>).</summary>
    public const string ExportFormat = "omnichannel-profile-export/1";

    // Stored fields the curated part of the export already shows (the rest goes under "internal", whatever it is).
    private static readonly HashSet<string> Curated = new(StringComparer.Ordinal)
    {
        "id", "createdAt", "identifierList", "traitValues", "statistics", "cartLines", "cartClearedAt", "wishlistItems", "consentRecords",
        "preferences", "timeZone", "locale", "timelineEntries", "mergeRecords", "conflictRecords", "segmentMemberships", "messageLog",
        "suppressedAddresses", "journeys", "segments",
    };

    /// <summary>
    /// The person-facing export (a subject access request): everything held, with traits nested and derived values
    /// included. Curated sections first; every other stored field of the profile under <c>internal</c>, so nothing the
    /// SDK keeps is left out even when the profile document grows.
    /// </summary>
    public static JsonObject Export(CustomerProfile p, DateTimeOffset exportedAt)
    {
        var exportOptions = new JsonSerializerOptions(Options) { WriteIndented = true };
        var stored = JsonSerializer.SerializeToNode(p, ProfileInfo)!.AsObject();
        var rest = new JsonObject();
        foreach (var (name, value) in stored)
        {
            if (!Curated.Contains(name))
            {
                rest[name] = value?.DeepClone();
            }
        }

        var o = new JsonObject
        {
            ["format"] = ExportFormat,
            ["exportedAt"] = exportedAt,
            ["id"] = p.Id,
            ["createdAt"] = p.CreatedAt,
            ["lifecycleStage"] = JsonSerializer.SerializeToNode(p.LifecycleStage, exportOptions),
            ["identifiers"] = JsonSerializer.SerializeToNode(p.Identifiers, exportOptions),
            ["traits"] = p.Traits,
            ["statistics"] = JsonSerializer.SerializeToNode(p.Statistics, exportOptions),
            ["averageOrderValue"] = p.Statistics.AverageOrderValue,
            ["cart"] = JsonSerializer.SerializeToNode(p.Cart, exportOptions),
            ["cartClearedAt"] = p.CartClearedAt,
            ["wishlist"] = JsonSerializer.SerializeToNode(p.Wishlist, exportOptions),
            ["consents"] = JsonSerializer.SerializeToNode(p.Consents, exportOptions),
            ["consentHistory"] = JsonSerializer.SerializeToNode(p.Timeline.Where(t => t.Type == EventTypes.ConsentChanged).ToList(), exportOptions),
            ["preferences"] = JsonSerializer.SerializeToNode(p.Preferences, exportOptions),
            ["timeZone"] = p.TimeZone,
            ["locale"] = p.Locale,
            ["segments"] = JsonSerializer.SerializeToNode(p.Segments, exportOptions),
            ["journeys"] = JsonSerializer.SerializeToNode(p.Journeys, exportOptions),
            ["messageLog"] = stored["messageLog"]?.DeepClone() ?? new JsonArray(),
            ["suppressedAddresses"] = JsonSerializer.SerializeToNode(p.SuppressedAddresses, exportOptions),
            ["timeline"] = JsonSerializer.SerializeToNode(p.Timeline, exportOptions),
            ["merges"] = JsonSerializer.SerializeToNode(p.Merges, exportOptions),
            ["conflicts"] = JsonSerializer.SerializeToNode(p.Conflicts, exportOptions),
            ["internal"] = rest,
        };
        return o;
    }
}

[JsonSerializable(typeof(CustomerProfile))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
