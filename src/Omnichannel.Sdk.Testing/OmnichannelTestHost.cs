using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing;

/// <summary>
/// An engine on the in-memory store and a <see cref="FakeTimeProvider"/>, for the host's own unit tests:
/// <c>await using var host = OmnichannelTestHost.Create();</c>
/// </summary>
public sealed class OmnichannelTestHost : IAsyncDisposable
{
    private int _sequence;

    private OmnichannelTestHost(OmnichannelEngine engine, FakeTimeProvider time)
    {
        Engine = engine;
        Time = time;
    }

    /// <summary>The default start of the fake clock: 2026-01-05 09:00 UTC (a Monday).</summary>
    public static DateTimeOffset DefaultStart { get; } = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The <c>Privacy.HashKey</c> the test host sets when the test does not: fixed, so hashes are the same in every run.
    /// Public in the source of every test; never use it in production.
    /// </summary>
    public const string TestHashKey = "omnichannel-test-host-hash-key-not-a-secret-0001";

    /// <summary>The engine.</summary>
    public OmnichannelEngine Engine { get; }

    /// <summary>The engine as the host sees it.</summary>
    public IOmnichannelClient Client => Engine;

    /// <summary>The store the engine writes to.</summary>
    public IOmnichannelStore Store => Engine.Store;

    /// <summary>The fake clock; advance it to move time.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>Creates a test host.</summary>
    /// <param name="configure">Adjusts the engine options.</param>
    /// <param name="start">Start of the fake clock; <see cref="DefaultStart"/> when <see langword="null"/>.</param>
    /// <param name="store">The store; a new in-memory store when <see langword="null"/>.</param>
    /// <param name="delivery">Transports (for example a <see cref="RecordingTransport"/>) and the renderer; none when <see langword="null"/>.</param>
    public static OmnichannelTestHost Create(Action<OmnichannelOptions>? configure = null, DateTimeOffset? start = null, IOmnichannelStore? store = null, Delivery.DeliverySetup? delivery = null)
    {
        var time = new FakeTimeProvider(start ?? DefaultStart);
        var options = new OmnichannelOptions { Partitions = 4 };
        options.Delivery.QuickRetryDelay = TimeSpan.Zero; // quick retries must not wait for a fake clock nobody moves
        configure?.Invoke(options);

        // A fixed key keeps test runs repeatable on any store; never use it outside tests.
        options.Privacy.HashKey ??= TestHashKey;
        return new OmnichannelTestHost(new OmnichannelEngine(options, store ?? new InMemoryOmnichannelStore(), time, delivery: delivery), time);
    }

    /// <summary>
    /// Builds an event at the fake clock's current time (or <paramref name="at"/>) with a fresh id.
    /// </summary>
    /// <param name="type">The event type.</param>
    /// <param name="identifiers">Its identifiers.</param>
    /// <param name="properties">Its properties: an anonymous object, a dictionary or a JSON element.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="at">When it happened.</param>
    /// <param name="traits">Trait updates.</param>
    /// <param name="context">Context.</param>
    public CustomerEvent Event(
        string type,
        IReadOnlyList<Identifier> identifiers,
        object? properties = null,
        string channel = ChannelNames.Web,
        DateTimeOffset? at = null,
        object? traits = null,
        EventContext? context = null) => new()
        {
            Id = $"evt-{Interlocked.Increment(ref _sequence):D6}",
            Type = type,
            Timestamp = at ?? Time.GetUtcNow(),
            Identifiers = identifiers,
            Channel = channel,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = context,
        };

    /// <summary>Tracks an event and throws when it is not accepted or a duplicate.</summary>
    /// <param name="customerEvent">The event.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The result.</returns>
    /// <exception cref="EventRejectedException">The event was rejected or failed.</exception>
    public async Task<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default)
    {
        var result = await Client.TrackAsync(customerEvent, cancellationToken).ConfigureAwait(false);
        return result.IsAcknowledged ? result : throw new EventRejectedException(result);
    }

    /// <summary>Builds and tracks an event at the current fake time; throws when it is not accepted.</summary>
    /// <param name="type">The event type.</param>
    /// <param name="identifiers">Its identifiers.</param>
    /// <param name="properties">Its properties.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="traits">Trait updates.</param>
    /// <param name="context">Context.</param>
    public Task<TrackResult> TrackAsync(string type, IReadOnlyList<Identifier> identifiers, object? properties = null, string channel = ChannelNames.Web, object? traits = null, EventContext? context = null) =>
        TrackAsync(Event(type, identifiers, properties, channel, null, traits, context));

    /// <summary>Reads the profile that holds an identifier and fails when there is none.</summary>
    /// <param name="identifier">The identifier.</param>
    public async Task<CustomerProfile> ProfileAsync(Identifier identifier) =>
        await Client.GetProfileAsync(identifier).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"No profile holds {identifier.Type} '{identifier.Value}'.");

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Engine.DisposeAsync();

    /// <summary>
    /// Moves the fake clock forward by <paramref name="by"/>, stopping at every pending profile wake-up on the way, so
    /// that time-driven changes (a segment window closing, a wait ending) happen at their exact instants.
    /// </summary>
    /// <param name="by">How far to move.</param>
    public Task AdvanceAsync(TimeSpan by) => AdvanceToAsync(Time.GetUtcNow() + by);

    /// <summary>Moves the fake clock to <paramref name="instant"/>, stopping at every pending wake-up on the way.</summary>
    /// <param name="instant">Where to move; never backwards.</param>
    /// <exception cref="InvalidOperationException">A wake-up stays due after it ran (a failing store, for instance).</exception>
    public Task AdvanceToAsync(DateTimeOffset instant) => Engine.AdvanceVirtualClockAsync(instant, Time.SetUtcNow);
}
