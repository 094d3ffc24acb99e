using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk;

/// <summary>The profile's export (GDPR art. 15 and 20): its curated shape and every stored field.</summary>
internal static partial class ProfileSerializer
{
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
            ["traitSources"] = TraitSources(p),
            ["statistics"] = JsonSerializer.SerializeToNode(p.Statistics, exportOptions),
            ["averageOrderValue"] = p.Statistics.AverageOrderValue,
            ["cart"] = JsonSerializer.SerializeToNode(p.Cart, exportOptions),
            ["cartClearedAt"] = p.CartClearedAt,
            ["wishlist"] = JsonSerializer.SerializeToNode(p.Wishlist, exportOptions),
            // The decisions in force, as CustomerProfile.Consents and GetConsent read them. An SMS opt-in keyword with no
            // opt-out to undo decides nothing yet but is kept: exported apart, as its "granted": true is no grant.
            ["consents"] = JsonSerializer.SerializeToNode(p.Consents, exportOptions),
            ["consentsAwaitingDecision"] = JsonSerializer.SerializeToNode(
                p.ConsentRecords.Values.Where(c => c.AwaitsDecision).Select(c => c.AsDecision()).OrderBy(c => c.Channel, StringComparer.Ordinal).ThenBy(c => c.Topic, StringComparer.Ordinal).ToList(), exportOptions),
            // Every event that decides consent: a newsletter or link unsubscribe and a complaint withdraw it too.
            ["consentHistory"] = JsonSerializer.SerializeToNode(p.Timeline.Where(t => t.Type is EventTypes.ConsentChanged or EventTypes.NewsletterSubscribed
                or EventTypes.NewsletterUnsubscribed or EventTypes.MessageUnsubscribed or EventTypes.MessageComplained or EventTypes.MessageReplied).ToList(), exportOptions),
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

    // Where each trait came from (GDPR art. 15(1)(g)): the time and id of the event that set it, by dotted path, in
    // ordinal order; a trait an event removed keeps its source with no value.
    private static JsonObject TraitSources(CustomerProfile p)
    {
        var sources = new JsonObject();
        foreach (var (path, value) in p.TraitValues.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sources[path] = new JsonObject { ["at"] = value.At, ["eventId"] = value.EventId };
        }

        return sources;
    }
}
