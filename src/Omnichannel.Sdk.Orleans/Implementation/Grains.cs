using Orleans;
using Orleans.Concurrency;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// One customer's grain, keyed by a keyed hash of her most trusted identifier (never the value: grain ids reach Orleans'
/// logs). Orleans activates it on exactly one silo of the cluster and runs one call at a time, so her events are applied
/// in order by one writer, on the silo that keeps her profile hot.
/// </summary>
internal interface IProfileGrain : IGrainWithStringKey
{
    /// <summary>Tracks events (each as its JSON), returns one result JSON per event, in order.</summary>
    Task<string[]> TrackAsync(string[] events);

    /// <summary>Sends a message to the person holding an identifier; returns the result JSON.</summary>
    Task<string> SendAsync(string recipient, string request);

    /// <summary>
    /// After an erasure: this silo's engine drops its deserialised copies of the profiles (her own and those she
    /// absorbed), once each partition finishes the work queued before. Not awaited by the partitions.
    /// </summary>
    [AlwaysInterleave] // a drop of cached copies only: it need not wait for the customer's turn, nor hold it
    [ResponseTimeout("00:00:05")] // best effort: a silo that does not answer (killed, not yet declared dead) must not hold the erasure's answer for the whole response timeout
    Task ForgetAsync(string[] profileIds);
}

/// <summary>Reads and operations that are not one customer's turn: served by any silo, on the local engine.</summary>
internal interface IEngineGrain : IGrainWithIntegerKey
{
    Task<byte[]?> GetProfileAsync(string identifier);

    Task<byte[]?> GetProfileByIdAsync(string profileId);

    Task<string?> ExportProfileAsync(string identifier);

    Task<bool> EraseProfileAsync(string identifier, bool allowReturn);

    Task<bool> LiftErasureAsync(string identifier);

    Task<bool> IsSuppressedAsync(string identifier);

    Task<string> PreviewSegmentAsync(string segment);

    Task<string[]> GetSegmentMembersAsync(string segmentId, string? afterProfileId, int limit);

    Task<string> GetJourneyStatisticsAsync(string journeyId);

    Task<int> UnsubscribeAsync(string token);

    /// <summary>The profile id holding each identifier (JSON of <see cref="ClusterJson.WriteIdentifier"/>, normalised), or <see langword="null"/>, in the order given.</summary>
    Task<string?[]> OwnersAsync(string[] identifiers);
}

/// <summary>Runs a customer's turn on the silo's engine (see <see cref="IProfileGrain"/>).</summary>
internal sealed class ProfileGrain(IServiceProvider services) : Grain, IProfileGrain
{
    private readonly OmnichannelEngine _engine = SiloParts.Engine(services);
    private readonly ClusterDefinitions _definitions = SiloParts.Definitions(services);

    // A silo that just joined first catches up with the cluster's run-time definitions.
    public override Task OnActivateAsync(CancellationToken cancellationToken) => _definitions.WhenReady.WaitAsync(cancellationToken);

    public async Task<string[]> TrackAsync(string[] events)
    {
        var parsed = events.Select(ClusterJson.ReadEvent).ToList();
        var results = parsed.Count == 1
            ? [await _engine.TrackAsync(parsed[0]!)]
            : await _engine.TrackBatchAsync(parsed!);
        return [.. results.Select(ClusterJson.Write)];
    }

    public async Task<string> SendAsync(string recipient, string request)
    {
        var result = await _engine.SendAsync(ClusterJson.ReadIdentifier(recipient), ClusterJson.Read<Delivery.MessageRequest>(request));
        return ClusterJson.Write(result);
    }

    public Task ForgetAsync(string[] profileIds)
    {
        foreach (var id in profileIds)
        {
            _engine.ForgetHotCopies(id);
        }

        return Task.CompletedTask;
    }
}

/// <summary>A stateless worker: every silo runs these locally, as many as it needs.</summary>
[StatelessWorker]
internal sealed class EngineGrain(IServiceProvider services) : Grain, IEngineGrain
{
    private readonly OmnichannelEngine _engine = SiloParts.Engine(services);
    private readonly ClusterDefinitions _definitions = SiloParts.Definitions(services);

    public override Task OnActivateAsync(CancellationToken cancellationToken) => _definitions.WhenReady.WaitAsync(cancellationToken);

    public async Task<byte[]?> GetProfileAsync(string identifier) =>
        await _engine.GetProfileAsync(ClusterJson.ReadIdentifier(identifier)) is { } p ? ClusterJson.WriteProfile(p) : null;

    public async Task<byte[]?> GetProfileByIdAsync(string profileId) =>
        await _engine.GetProfileByIdAsync(profileId) is { } p ? ClusterJson.WriteProfile(p) : null;

    public async Task<string?> ExportProfileAsync(string identifier) =>
        (await _engine.ExportProfileAsync(ClusterJson.ReadIdentifier(identifier)))?.ToJsonString();

    public async Task<bool> EraseProfileAsync(string identifier, bool allowReturn) =>
        await _engine.EraseProfileAsync(ClusterJson.ReadIdentifier(identifier), new Privacy.EraseOptions { AllowReturn = allowReturn });

    public async Task<bool> LiftErasureAsync(string identifier) =>
        await _engine.LiftErasureAsync(ClusterJson.ReadIdentifier(identifier));

    public async Task<bool> IsSuppressedAsync(string identifier) =>
        await _engine.IsSuppressedAsync(ClusterJson.ReadIdentifier(identifier));

    public async Task<string> PreviewSegmentAsync(string segment)
    {
        var parsed = Segments.SegmentJson.Parse(segment);
        var definition = parsed.Value ?? throw new Segments.SegmentDefinitionException(parsed.Errors);
        return ClusterJson.Write(await _engine.PreviewSegmentAsync(definition));
    }

    public async Task<string[]> GetSegmentMembersAsync(string segmentId, string? afterProfileId, int limit) =>
        [.. await _engine.GetSegmentMembersAsync(segmentId, afterProfileId, limit)];

    public async Task<string> GetJourneyStatisticsAsync(string journeyId) =>
        ClusterJson.Write(await _engine.GetJourneyStatisticsAsync(journeyId));

    public async Task<int> UnsubscribeAsync(string token) => (int)await _engine.UnsubscribeAsync(token);

    public async Task<string?[]> OwnersAsync(string[] identifiers)
    {
        var ids = identifiers.Select(ClusterJson.ReadIdentifier).ToList();
        var owners = await _engine.ResolveOwnersAsync(ids);
        return [.. ids.Select(id => owners.TryGetValue(id, out var owner) ? owner : null)];
    }
}
