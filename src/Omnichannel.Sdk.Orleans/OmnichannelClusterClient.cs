using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Orleans.Implementation;
using Omnichannel.Sdk.Segments;
using Orleans;

namespace Omnichannel.Sdk.Orleans;

/// <summary>
/// <see cref="IOmnichannelClient"/> on an Orleans cluster: each event goes to the grain of its most trusted identifier
/// (the same key the single-process engine partitions by), which applies it with the engine's unit of work on the silo
/// that owns the customer; reads are served by any silo. Registered by <c>UseOrleans()</c> (silos) and
/// <c>UseOrleansClient()</c> (processes that only send).
/// </summary>
/// <remarks>
/// Segments and journeys are loaded at silo start-up (<c>AddSegment</c>, <c>AddJourney</c>, or the options): changing them
/// at run time would change one silo only, so <see cref="UpsertSegmentAsync"/>, <see cref="RemoveSegmentAsync"/>,
/// <see cref="PublishJourneyAsync"/> and <see cref="RemoveJourneyAsync"/> throw <see cref="NotSupportedException"/> on a cluster.
/// </remarks>
public sealed class OmnichannelClusterClient : IOmnichannelClient
{
    private readonly IGrainFactory _grains;
    private readonly OmnichannelOptions _options;
    private readonly byte[] _routingKey;

    /// <summary>Creates a client over a cluster.</summary>
    /// <param name="grains">The cluster (an <c>IClusterClient</c>, or a silo's <c>IGrainFactory</c>).</param>
    /// <param name="options">The same options the silos run with: identity rules route events, definitions answer <see cref="Segments"/> and <see cref="Journeys"/>.</param>
    public OmnichannelClusterClient(IGrainFactory grains, OmnichannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        _grains = grains;
        _options = options;
        _routingKey = Encoding.UTF8.GetBytes(options.Privacy.HashKey ?? "omnichannel-routing");
    }

    /// <inheritdoc />
    public IReadOnlyList<SegmentDefinition> Segments => [.. _options.Segments];

    /// <inheritdoc />
    public IReadOnlyList<JourneyDefinition> Journeys =>
        [.. _options.Journeys.GroupBy(j => j.Id, StringComparer.Ordinal).Select(g => g.MaxBy(j => j.Version)!)];

    /// <inheritdoc />
    public async ValueTask<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default)
    {
        var results = await Profile(RouteOf(customerEvent)).TrackAsync([ClusterJson.Write(customerEvent)]).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<TrackResult>(results[0]);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrackResult>> TrackBatchAsync(IEnumerable<CustomerEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var list = events.ToList();
        var results = new TrackResult[list.Count];

        // One call per customer (her events in order, in one turn of her grain); customers in parallel.
        var groups = list.Select((e, i) => (Event: e, Index: i)).GroupBy(x => RouteOf(x.Event), StringComparer.Ordinal);
        await Task.WhenAll(groups.Select(async g =>
        {
            var items = g.ToList();
            var answers = await Profile(g.Key).TrackAsync([.. items.Select(x => ClusterJson.Write(x.Event))]).ConfigureAwait(false);
            for (var k = 0; k < items.Count; k++)
            {
                results[items[k].Index] = ClusterJson.Read<TrackResult>(answers[k]);
            }
        })).WaitAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <inheritdoc />
    public async ValueTask<CustomerProfile?> GetProfileAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        ReadProfile(await Engine.GetProfileAsync(ClusterJson.WriteIdentifier(identifier)).WaitAsync(cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async ValueTask<CustomerProfile?> GetProfileByIdAsync(string profileId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        return ReadProfile(await Engine.GetProfileByIdAsync(profileId).WaitAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async ValueTask<JsonObject?> ExportProfileAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        await Engine.ExportProfileAsync(ClusterJson.WriteIdentifier(identifier)).WaitAsync(cancellationToken).ConfigureAwait(false) is { } json
            ? JsonNode.Parse(json)!.AsObject()
            : null;

    /// <inheritdoc />
    public ValueTask<bool> EraseProfileAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        EraseProfileAsync(identifier, Privacy.EraseOptions.Default, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> EraseProfileAsync(Identifier identifier, Privacy.EraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return await Engine.EraseProfileAsync(ClusterJson.WriteIdentifier(identifier), options.AllowReturn).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> LiftErasureAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        await Engine.LiftErasureAsync(ClusterJson.WriteIdentifier(identifier)).WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        await Engine.IsSuppressedAsync(ClusterJson.WriteIdentifier(identifier)).WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask<Delivery.SendResult> SendAsync(Identifier recipient, Delivery.MessageRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var answer = await Profile(RouteOf(recipient)).SendAsync(ClusterJson.WriteIdentifier(recipient), ClusterJson.Write(request)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<Delivery.SendResult>(answer);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always on a cluster: load segments at silo start-up.</exception>
    public ValueTask<SegmentBackfill> UpsertSegmentAsync(SegmentDefinition segment, IProgress<SegmentBackfillProgress>? progress = null, CancellationToken cancellationToken = default) =>
        throw RunTimeDefinitions("segments");

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always on a cluster: load segments at silo start-up.</exception>
    public ValueTask<bool> RemoveSegmentAsync(string segmentId, CancellationToken cancellationToken = default) =>
        throw RunTimeDefinitions("segments");

    /// <inheritdoc />
    public async ValueTask<SegmentPreview> PreviewSegmentAsync(SegmentDefinition segment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var answer = await Engine.PreviewSegmentAsync(SegmentJson.Serialize(segment)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<SegmentPreview>(answer);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetSegmentMembersAsync(string segmentId, string? afterProfileId = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(segmentId);
        return await Engine.GetSegmentMembersAsync(segmentId, afterProfileId, limit).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always on a cluster: load journeys at silo start-up.</exception>
    public Task<int> PublishJourneyAsync(JourneyDefinition journey, CancellationToken cancellationToken = default) =>
        throw RunTimeDefinitions("journeys");

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always on a cluster: load journeys at silo start-up.</exception>
    public Task<bool> RemoveJourneyAsync(string journeyId, CancellationToken cancellationToken = default) =>
        throw RunTimeDefinitions("journeys");

    /// <inheritdoc />
    public async Task<JourneyStatistics> GetJourneyStatisticsAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(journeyId);
        var answer = await Engine.GetJourneyStatisticsAsync(journeyId).WaitAsync(cancellationToken).ConfigureAwait(false);
        return ClusterJson.Read<JourneyStatistics>(answer);
    }

    /// <summary>The grain key of an event: its most trusted identifier, as the single-process engine partitions.</summary>
    internal string RouteOf(CustomerEvent? e)
    {
        Identifier? best = null;
        var bestPriority = int.MinValue;
        foreach (var id in e?.Identifiers ?? [])
        {
            if (id.Type is not null && _options.Identity.Rules.TryGetValue(id.Type, out var rule) && rule.Priority > bestPriority && Normalized(id) is { } n)
            {
                (best, bestPriority) = (n, rule.Priority);
            }
        }

        // An event with no usable identifier is rejected by whichever silo gets it: spread those by event id.
        return best is { } b ? RouteOf(b) : "e" + Hash("\0event\0" + (e?.Id ?? string.Empty));
    }

    private string RouteOf(Identifier identifier) => "p" + Hash((Normalized(identifier) ?? identifier) is var n ? n.Type + ":" + n.Value : string.Empty);

    private Identifier? Normalized(Identifier id)
    {
        if (id.Type is null || id.Value is null || !_options.Identity.Rules.TryGetValue(id.Type, out var rule))
        {
            return null;
        }

        var value = id.Value.Trim();
        return rule.Normalizer is { } normalize
            ? normalize(value, _options.Identity, out var normalized, out _) ? new Identifier(id.Type, normalized) : null
            : new Identifier(id.Type, value);
    }

    // A keyed hash, never the value: grain ids appear in Orleans' own logs and metrics.
    private string Hash(string value) => Convert.ToHexString(HMACSHA256.HashData(_routingKey, Encoding.UTF8.GetBytes(value)), 0, 16);

    private IProfileGrain Profile(string key) => _grains.GetGrain<IProfileGrain>(key);

    private IEngineGrain Engine => _grains.GetGrain<IEngineGrain>(0);

    private static CustomerProfile? ReadProfile(byte[]? message) => message is null ? null : ClusterJson.ReadProfile(message);

    private static NotSupportedException RunTimeDefinitions(string what) => new(
        $"Changing {what} at run time is not supported on an Orleans cluster yet (it would change one silo's engine only). " +
        $"Load {what} at silo start-up with AddSegment/AddJourney (or the options) and roll the silos.");
}
