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
/// Segments and journeys load at silo start-up (<c>AddSegment</c>, <c>AddJourney</c>, or the options), and change at run
/// time through <see cref="UpsertSegmentAsync"/>, <see cref="RemoveSegmentAsync"/>, <see cref="PublishJourneyAsync"/> and
/// <see cref="RemoveJourneyAsync"/> as on one engine: the cluster checks each change once, numbers it, and every silo
/// applies the same changes in the same order before its grains run another event (a silo that joins later catches up
/// before its first event). A living silo the cluster cannot reach within two tries of 5 s each is the exception: its
/// grains run on the previous definitions until it next asks, on its sweep (<see cref="OmnichannelClusterOptions.Sweep"/>). The change's background work (a segment's backfill, a journey's visit of running instances)
/// runs once, on one silo. Run-time changes survive the death of any silo; like a single engine's, they do not survive a
/// restart of every silo.
/// </remarks>
public sealed partial class OmnichannelClusterClient : IOmnichannelClient
{
    // How long a change refused because a silo has not answered is asked again: about as long as Orleans' membership takes
    // to declare a silo dead (probes 10 s apart, three missed, then votes), after which the registry no longer waits for it.
    private static readonly TimeSpan UnavailableWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan UnavailableLongestPause = TimeSpan.FromSeconds(8);
    private readonly IGrainFactory _grains;
    private readonly OmnichannelOptions _options;
    private readonly byte[] _routingKey;
    private readonly OmnichannelEngine? _silo;
    private readonly SiloStarted? _siloStarted;
    private readonly ClientDefinitionsView _view;
    private readonly Privacy.IdentifierHasher _hasher;

    /// <summary>Creates a client over a cluster.</summary>
    /// <param name="grains">The cluster (an <c>IClusterClient</c>, or a silo's <c>IGrainFactory</c>).</param>
    /// <param name="options">The same options the silos run with: identity rules route events, definitions answer <see cref="Segments"/> and <see cref="Journeys"/>.</param>
    public OmnichannelClusterClient(IGrainFactory grains, OmnichannelOptions options)
        : this(grains, options, null, null)
    {
    }

    internal OmnichannelClusterClient(IGrainFactory grains, OmnichannelOptions options, OmnichannelEngine? silo, SiloStarted? siloStarted = null)
    {
        _siloStarted = siloStarted;
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        _grains = grains;
        _options = options;
        _silo = silo;
        _view = new ClientDefinitionsView(grains, options);
        _routingKey = Encoding.UTF8.GetBytes(options.Privacy.HashKey ?? "omnichannel-routing");
        _hasher = Privacy.IdentifierHasher.From(options.Privacy, []);
    }

    /// <inheritdoc />
    /// <remarks>
    /// On a silo, the cluster's segments as this silo applies them. In a process that only sends, the start-up options'
    /// segments with the cluster's run-time changes applied, asked of the cluster when the last answer is over a second
    /// old (a read may wait up to 5 s for it; if the cluster does not answer, the last known segments are returned).
    /// </remarks>
    public IReadOnlyList<SegmentDefinition> Segments => _silo is { } engine ? engine.Segments : _view.Segments;

    /// <summary>Reads the registry's changes now (in a process that only sends), as a read of <see cref="Segments"/> does once its last answer is a second old.</summary>
    internal Task RefreshDefinitionsAsync() => _silo is null ? _view.RefreshAsync() : Task.CompletedTask;

    /// <inheritdoc />
    /// <remarks>The newest version of each journey; where it comes from as for <see cref="Segments"/>.</remarks>
    public IReadOnlyList<JourneyDefinition> Journeys => _silo is { } engine ? engine.Journeys : _view.Journeys;

    /// <inheritdoc />
    /// <remarks>
    /// A call refused by a silo that is leaving is sent again first (three more times over about 1.75 s). When the grain
    /// call fails (her silo died or stopped with the event in its grain, the call outlived the cluster's response
    /// timeout), the result is <see cref="TrackStatus.StoreFailed"/> and transient, as for a batch: the event may or
    /// may not have been applied, and sending it again applies it once. A client whose Orleans client has not connected,
    /// or whose silo has not started (its host not started), throws <see cref="InvalidOperationException"/> saying so,
    /// before anything is sent.
    /// </remarks>
    public async ValueTask<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default)
    {
        // As one engine: an event whose token is cancelled before it is sent is not applied (a retry is not a duplicate).
        cancellationToken.ThrowIfCancellationRequested();

        // Once sent, the answer is awaited whatever the token (bounded by the cluster's response time-out): the grain may
        // already be applying it, and a caller told "cancelled" about an applied event would act on a falsehood.
        var grain = Profile(RouteOf(customerEvent));
        var json = ClusterJson.Write(customerEvent);
        string[] results;
        try
        {
            results = await TrackOnAsync(grain, [json]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // As a batch's customer whose call failed, and as one engine whose store failed: a result, transient. It threw
            // the transport's exception (a TimeoutException after a silo was killed with the event in its grain), which a
            // caller that follows the interface (failures are results) did not catch and never sent again.
            return CallFailed(customerEvent?.Id, ex);
        }

        return ClusterJson.Read<TrackResult>(results[0]);
    }

    /// <summary>
    /// Sends events to their grain; a call refused because the silo holding the grain is stopping or gone
    /// (<c>OrleansMessageRejectionException</c>, <c>SiloUnavailableException</c>) is sent again, up to three more times
    /// over about 1.75 s, and meets the grain on a living silo. Safe because events apply once by id: a call the leaving
    /// silo had run answers <see cref="TrackStatus.Duplicate"/>. Other failures (a timeout) are the caller's to retry.
    /// </summary>
    /// <remarks>dotnet/orleans#4757 (retrying those two on a graceful shutdown, for idempotent calls), #457.</remarks>
    private static async Task<string[]> TrackOnAsync(IProfileGrain grain, string[] json)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await grain.TrackAsync(json).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt <= RefusedCallPauses.Length && ex is global::Orleans.Runtime.OrleansMessageRejectionException or global::Orleans.Runtime.SiloUnavailableException)
            {
                await Task.Delay(RefusedCallPauses[attempt - 1]).ConfigureAwait(false);
            }
        }
    }

    // How long a call refused by a leaving silo waits before each new try: the cluster's directory forgets the silo's grains.
    private static readonly TimeSpan[] RefusedCallPauses = [TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)];

    /// <summary>
    /// A customer's event whose grain call failed: transient, with the exception's type and scrubbed text, and its innermost
    /// cause's (Orleans wraps a grain's failure to activate, whose own text says what the silo lacks).
    /// </summary>
    private static TrackResult CallFailed(string? eventId, Exception ex)
    {
        var cause = ex;
        while (cause.InnerException is { } inner)
        {
            cause = inner;
        }

        var because = ReferenceEquals(cause, ex) ? string.Empty : $"; caused by {cause.GetType().Name}: {Privacy.PersonalDataScrubber.Scrub(cause.Message)}";
        return new TrackResult
        {
            EventId = eventId ?? string.Empty,
            Status = TrackStatus.StoreFailed,
            IsTransient = true,
            FailureReason = $"the cluster call for this customer's events failed ({ex.GetType().Name}: {Privacy.PersonalDataScrubber.Scrub(ex.Message)}{because}); " +
                "the event may not have been applied: send it again (it is applied once)",
        };
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
    /// <remarks>
    /// The silo that takes the call erases her in the store and drops its engine's copies of her profile; then each
    /// grain her identifiers route events to is told to drop its silo's copies too (those silos kept her deserialised
    /// profile in memory until evicted). That last step is best effort and waits at most 5 seconds per grain, whatever the
    /// response timeout (the calls run side by side): a silo that cannot be reached, or was killed and is not yet declared
    /// dead, keeps its stale copy until eviction (harmless to correctness: the store's version check refuses it), and the
    /// erasure stands.
    /// </remarks>
    public async ValueTask<bool> EraseProfileAsync(Identifier identifier, Privacy.EraseOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested(); // a cancelled erasure is not made; once sent, its answer is awaited (as every write here)
        var before = await HerProfileAsync(identifier).ConfigureAwait(false);
        var erased = await Engine.EraseProfileAsync(ClusterJson.WriteIdentifier(identifier), options.AllowReturn).ConfigureAwait(false);
        if (erased && before is not null)
        {
            await ForgetHotCopiesAsync(before).ConfigureAwait(false);
        }

        return erased;
    }

    /// <summary>Her profile before an erasure, for the grains to tell; null when it cannot be read (the erasure decides alone).</summary>
    private async Task<CustomerProfile?> HerProfileAsync(Identifier identifier)
    {
        try
        {
            return ReadProfile(await Engine.GetProfileAsync(ClusterJson.WriteIdentifier(identifier)).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>
    /// Tells the grain of each of her identifiers (where her events ran, so where her profile is kept hot) to drop the
    /// copies of her profile and of those she absorbed: audit U63 left them in memory on every silo but the erasing one.
    /// </summary>
    private async Task ForgetHotCopiesAsync(CustomerProfile her)
    {
        string[] ids = [her.Id, .. her.Merges.Select(m => m.AbsorbedProfileId)];
        var routes = her.Identifiers.Select(i => RouteOf(new Identifier(i.Type, i.Value))).Distinct(StringComparer.Ordinal);
        var calls = routes.Select(route => ForgetOnAsync(route, ids)).ToList();
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    private async Task ForgetOnAsync(string route, string[] profileIds)
    {
        try
        {
            await Profile(route).ForgetAsync(profileIds).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Best effort (see EraseProfileAsync): the erasure is made; this silo's copy waits for eviction, as before.
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> LiftErasureAsync(Identifier identifier, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested(); // as an erasure: not lifted when the caller sees it cancelled
        return await Engine.LiftErasureAsync(ClusterJson.WriteIdentifier(identifier)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsSuppressedAsync(Identifier identifier, CancellationToken cancellationToken = default) =>
        await Engine.IsSuppressedAsync(ClusterJson.WriteIdentifier(identifier)).WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>Recorded by a silo (any silo: the profile's commit decides), which verifies the token with its own keys.</remarks>
    public async ValueTask<Delivery.UnsubscribeStatus> UnsubscribeAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        cancellationToken.ThrowIfCancellationRequested(); // as one engine: an unsubscribe cancelled before it leaves is not recorded
        return (Delivery.UnsubscribeStatus)await Engine.UnsubscribeAsync(token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Delivery.UnsubscribeLink? ReadUnsubscribeLink(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Delivery.UnsubscribeToken.Read(_hasher, token) is { } link ? new Delivery.UnsubscribeLink(link.Channel, link.Topic) : null;
    }

    /// <inheritdoc />
    public async ValueTask<Delivery.SendResult> SendAsync(Identifier recipient, Delivery.MessageRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested(); // as one engine: a send cancelled before it leaves is not queued
        var answer = await Profile(RouteOf(recipient)).SendAsync(ClusterJson.WriteIdentifier(recipient), ClusterJson.Write(request)).ConfigureAwait(false);
        return ClusterJson.Read<Delivery.SendResult>(answer);
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

        var value = IdentifierText.Trim(id.Value);
        return rule.Normalizer is { } normalize
            ? normalize(value, _options.Identity, out var normalized, out _) ? new Identifier(id.Type, normalized) : null
            : new Identifier(id.Type, value);
    }

    // A keyed hash, never the value: grain ids appear in Orleans' own logs and metrics.
    private string Hash(string value) => Convert.ToHexString(HMACSHA256.HashData(_routingKey, Encoding.UTF8.GetBytes(value)), 0, 16);

    private IProfileGrain Profile(string key) => Grain(g => g.GetGrain<IProfileGrain>(key));

    private IEngineGrain Engine => Grain(g => g.GetGrain<IEngineGrain>(0));

    /// <summary>
    /// A grain reference. Orleans answers a cluster client that has not connected yet (its host not started) as if the
    /// grain did not exist, with an <see cref="ArgumentException"/> naming this package's internal interface, and a silo
    /// not started yet with a <see cref="NullReferenceException"/> from inside the call; say what is missing instead.
    /// </summary>
    private T Grain<T>(Func<IGrainFactory, T> get)
    {
        if (_siloStarted is { Started: false })
        {
            // On a silo whose host has not started, Orleans' own call failed with a NullReferenceException.
            throw new InvalidOperationException(
                "This Orleans silo has not started yet: start the host first (e.g. await host.StartAsync() or app.Run()) " +
                "before calling IOmnichannelClient; nothing was sent.");
        }

        try
        {
            return get(_grains);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException(
                "The Orleans cluster client knows no silo that serves Omnichannel grains: either it has not connected yet " +
                "(start the host first, e.g. await host.StartAsync() or app.Run(), before calling IOmnichannelClient; a cluster " +
                "client learns the silos' grains once connected), or no silo runs services.AddOmnichannel(...).UseOrleans(). " +
                $"Orleans said: {ex.Message}", ex);
        }
    }

    private static CustomerProfile? ReadProfile(byte[]? message) => message is null ? null : ClusterJson.ReadProfile(message);

    private static readonly TimeSpan FollowPoll = TimeSpan.FromSeconds(5);
}
