using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing;

/// <summary>
/// An engine on a <see cref="FakeTimeProvider"/>, for the application's own unit tests. Build it from the application's
/// own registration (<see cref="Create(Action{IServiceCollection}, OmnichannelTestHostOptions?)"/>: the same
/// <c>services.AddOmnichannel(...)</c> call as in Program.cs, with an in-memory store and every channel recorded), or
/// bare (<see cref="Create(Action{OmnichannelOptions}?, DateTimeOffset?, IOmnichannelStore?, DeliverySetup?)"/>).
/// </summary>
public sealed class OmnichannelTestHost : IAsyncDisposable
{
    private readonly ServiceProvider? _services;
    private readonly RecordingTransport? _sent;
    private string? _idPrefix;
    private int _sequence;

    private OmnichannelTestHost(OmnichannelEngine engine, FakeTimeProvider time, ServiceProvider? services = null, RecordingTransport? sent = null)
    {
        Engine = engine;
        Time = time;
        _services = services;
        _sent = sent;
    }

    // A host over a store it was given may follow another host on it (a restart test), or run beside one (two engines on
    // one store): building the ids that host used would have the store answer them Duplicate, and the test would go on
    // without them. The first prefix whose first id the store does not know, and that no other host over the same store
    // object took, is taken, when the host builds its first event (not when it is built: two hosts built before either
    // tracked anything took the same one, audit U103). Ids stay the same from run to run and later hosts' ids sort later.
    private string IdPrefix()
    {
        if (_idPrefix is { } known)
        {
            return known;
        }

        var taken = TakenPrefixes.GetOrCreateValue(Engine.Store);
        lock (taken)
        {
            if (_idPrefix is { } raced)
            {
                return raced;
            }

            for (var n = 1; ; n++)
            {
                var prefix = n == 1 ? "evt-" : $"evt-h{n:D6}-";
                if (!taken.Contains(prefix) && !Engine.Store.IsEventProcessedAsync(prefix + "000001").AsTask().GetAwaiter().GetResult())
                {
                    taken.Add(prefix);
                    return _idPrefix = prefix;
                }
            }
        }
    }

    // The prefixes hosts in this process took over each store object (held weakly: a store let go takes its list with it).
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IOmnichannelStore, HashSet<string>> TakenPrefixes = new();

    /// <summary>
    /// Every message the engine handed to a transport, on every channel, when the host was built from a registration
    /// (<see cref="RecordingTransport.MessagesOn"/>, <see cref="RecordingTransport.SentTo"/>,
    /// <see cref="RecordingTransport.Sent{TMessage}"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The host is bare (<see cref="Create(Action{OmnichannelOptions}?, DateTimeOffset?, IOmnichannelStore?, DeliverySetup?)"/>)
    /// or was built with <see cref="OmnichannelTestHostOptions.RecordTransports"/> off: it records nothing, so an
    /// assertion such as <c>Assert.Empty(host.Sent.Messages)</c> would pass whatever was sent. Read the
    /// <see cref="RecordingTransport"/> you passed in <c>delivery</c> (or registered) instead.
    /// </exception>
    public RecordingTransport Sent => _sent ?? throw new InvalidOperationException(
        "This host records nothing: it was created bare (OmnichannelTestHost.Create(configure, start, store, delivery)) or with " +
        "RecordTransports = false, so host.Sent would stay empty whatever was sent. Read the RecordingTransport you passed in " +
        "'delivery' (or registered), or build the host from your registration: OmnichannelTestHost.Create(services => services.AddShop()).");

    /// <summary>The application's services, when the host was built from its registration; <see langword="null"/> otherwise.</summary>
    public IServiceProvider? Services => _services;

    /// <summary>
    /// Builds the host from the application's own registration: <paramref name="register"/> calls the same
    /// <c>services.AddOmnichannel(...)</c> (segments, journeys, templates, transports) as the application, then the
    /// host puts the engine on a <see cref="FakeTimeProvider"/>, a fresh in-memory store (unless
    /// <see cref="OmnichannelTestHostOptions.KeepStore"/>), a <see cref="RecordingTransport"/> on every channel in place of
    /// the real ones (<see cref="Sent"/>), and, when <see cref="OmnichannelTestHostOptions.StubTemplates"/> is set, a
    /// <see cref="StubMessageRenderer"/> in place of the templates.
    /// </summary>
    /// <param name="register">The application's registration, for example <c>services =&gt; services.AddShop()</c>.</param>
    /// <param name="options">What to replace; the defaults when <see langword="null"/>.</param>
    /// <returns>The host; dispose it to stop the engine.</returns>
    /// <exception cref="OptionsValidationException">The registered options are invalid.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="register"/> does not call <c>AddOmnichannel</c>.</exception>
    public static OmnichannelTestHost Create(Action<IServiceCollection> register, OmnichannelTestHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(register);
        options ??= new OmnichannelTestHostOptions();
        var services = new ServiceCollection();
        register(services);
        if (!services.Any(d => d.ServiceType == typeof(OmnichannelEngine)))
        {
            throw new InvalidOperationException("The registration does not call services.AddOmnichannel(...): there is no engine to test.");
        }

        // In UTC, as the system clock answers GetUtcNow: FakeTimeProvider keeps the offset it is given, so a start written
        // as 22:30+02:00 would have the clock (and every event the host builds) answer a local time production never does.
        var time = new FakeTimeProvider((options.Start ?? DefaultStart).ToUniversalTime());
        services.RemoveAll<TimeProvider>();
        services.AddSingleton<TimeProvider>(time);
        if (!options.KeepStore)
        {
            services.RemoveAll<IOmnichannelStore>();
        }

        if (options.StubTemplates)
        {
            services.RemoveAll<IMessageRenderer>();
            services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
        }

        RecordingTransport? sent = null;
        if (options.RecordTransports)
        {
            sent = new RecordingTransport();
            // Every registered channel, and every message channel the application did not register, records instead of sending.
            var channels = services.Select(d => d.ImplementationInstance).OfType<ChannelTransportRegistration>().Select(r => r.Channel)
                .Concat(OmnichannelBuilder.MessageChannels).Distinct(StringComparer.Ordinal).ToList();
            services.RemoveAll<ChannelTransportRegistration>();
            foreach (var channel in channels)
            {
                var recorder = sent.ForChannel(channel);
                services.AddSingleton(new ChannelTransportRegistration("test-recorder", channel, 0, _ => recorder));
            }
        }

        // Each host's own meters (unless the registration brings a factory): a test reads its host's metrics only.
        services.TryAddSingleton<System.Diagnostics.Metrics.IMeterFactory, HostMeterFactory>();
        services.PostConfigure<OmnichannelOptions>(o =>
        {
            o.Privacy.HashKey ??= TestHashKey;
            if (o.Delivery.Retry is { } retry)
            {
                retry.Delay = TimeSpan.Zero; // quick retries must not wait for a fake clock nobody moves
            }
        });
        var provider = services.BuildServiceProvider();
        try
        {
            return new OmnichannelTestHost(provider.GetRequiredService<OmnichannelEngine>(), time, provider, sent);
        }
        catch
        {
            // Asynchronously: Dispose() throws for a service already resolved that is only IAsyncDisposable (an application's
            // store), and that error would replace the one being reported (review of U58).
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
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

    /// <summary>The engine as the host sees it (the engine itself, unless a test routes it through a cluster client).</summary>
    public IOmnichannelClient Client => ClientOverride ?? Engine;

    // The Orleans tests route the same scenarios through a cluster client; everything else keeps the engine.
    internal IOmnichannelClient? ClientOverride { get; set; }

    /// <summary>The store the engine writes to.</summary>
    public IOmnichannelStore Store => Engine.Store;

    /// <summary>
    /// The fake clock, starting at <see cref="OmnichannelTestHostOptions.Start"/> (<see cref="DefaultStart"/>, 2026-01-05
    /// 09:00 UTC, by default). Read it here (<c>host.Time.GetUtcNow()</c>); move it with <see cref="AdvanceAsync"/> or
    /// <see cref="AdvanceToAsync"/>, which run every wake-up and send on the way and return when they are done.
    /// <c>Time.Advance</c> and <c>Time.SetUtcNow</c> only fire the engine's timers in the background: what falls due is
    /// sent some time after the call returns, racing the test's next line.
    /// </summary>
    public FakeTimeProvider Time { get; }

    /// <summary>Creates a test host.</summary>
    /// <param name="configure">Adjusts the engine options.</param>
    /// <param name="start">Start of the fake clock, kept in UTC; <see cref="DefaultStart"/> when <see langword="null"/>.</param>
    /// <param name="store">The store; a new in-memory store when <see langword="null"/>.</param>
    /// <param name="delivery">Transports (for example a <see cref="RecordingTransport"/>) and the renderer; none when <see langword="null"/>.</param>
    public static OmnichannelTestHost Create(Action<OmnichannelOptions>? configure = null, DateTimeOffset? start = null, IOmnichannelStore? store = null, Delivery.DeliverySetup? delivery = null)
    {
        var time = new FakeTimeProvider((start ?? DefaultStart).ToUniversalTime()); // in UTC, as the system clock answers
        var options = new OmnichannelOptions { Partitions = 4 };
        options.Delivery.Retry!.Delay = TimeSpan.Zero; // quick retries must not wait for a fake clock nobody moves (a fresh options object has one)
        configure?.Invoke(options);

        // A fixed key keeps test runs repeatable on any store; never use it outside tests.
        options.Privacy.HashKey ??= TestHashKey;
        return new OmnichannelTestHost(new OmnichannelEngine(options, store ?? new InMemoryOmnichannelStore(), time, delivery: delivery), time);
    }

    /// <summary>
    /// Builds an event at the fake clock's current time (or <paramref name="at"/>) with a fresh id: <c>evt-000001</c>,
    /// <c>evt-000002</c>… in the order built (ties of time are broken by id). A host over a store passed in (or kept with
    /// <see cref="OmnichannelTestHostOptions.KeepStore"/>) that already holds another host's events, as in a restart
    /// test, or that another host in the process uses too, tags its ids (<c>evt-h000002-000001</c>, then <c>h000003</c>…)
    /// so that it never reuses that host's ids. The tag is chosen when the host builds its first event: two store objects
    /// over one database, each with a host that builds events before the other's are tracked, cannot tell each other
    /// apart, so give such hosts events with ids of your own.
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
            Id = $"{IdPrefix()}{Interlocked.Increment(ref _sequence):D6}",
            Type = type,
            Timestamp = at ?? Time.GetUtcNow(),
            Identifiers = identifiers,
            Channel = channel,
            Properties = properties is null ? default : JsonData.From(properties),
            Traits = traits is null ? default : JsonData.From(traits),
            Context = context,
        };

    /// <summary>
    /// Tracks an event and throws when it is not accepted or a duplicate. On a host built from a registration, what the
    /// event made due at the current fake time (a journey's first send) has been sent when it returns.
    /// </summary>
    /// <param name="customerEvent">The event.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The result.</returns>
    /// <exception cref="EventRejectedException">The event was rejected or failed.</exception>
    public async Task<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default)
    {
        var result = await Client.TrackAsync(customerEvent, cancellationToken).ConfigureAwait(false);
        if (!result.IsAcknowledged)
        {
            throw new EventRejectedException(result);
        }

        if (_services is not null)
        {
            // A host built from the application's registration records what is sent: what the event made due now (a
            // journey's first send) is dispatched before this returns, so the next line can read host.Sent.
            await AdvanceToAsync(Time.GetUtcNow()).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Builds and tracks an event at the current fake time; throws when it is not accepted.</summary>
    /// <param name="type">The event type.</param>
    /// <param name="identifiers">Its identifiers.</param>
    /// <param name="properties">Its properties.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="traits">Trait updates.</param>
    /// <param name="context">Context.</param>
    /// <param name="at">When it happened; the fake clock's current time when <see langword="null"/>. An instant ahead of
    /// the clock is refused as a future event (move the clock with <see cref="AdvanceAsync"/> first).</param>
    public Task<TrackResult> TrackAsync(string type, IReadOnlyList<Identifier> identifiers, object? properties = null, string channel = ChannelNames.Web, object? traits = null, EventContext? context = null, DateTimeOffset? at = null) =>
        TrackAsync(Event(type, identifiers, properties, channel, at, traits, context));

    /// <summary>
    /// Reads the profile that holds an identifier and fails when there is none. To assert that there is none (after an
    /// erasure, say), use <c>host.Client.GetProfileAsync(identifier)</c>, which answers <see langword="null"/>.
    /// </summary>
    /// <param name="identifier">The identifier.</param>
    /// <exception cref="InvalidOperationException">No profile holds <paramref name="identifier"/>.</exception>
    public async Task<CustomerProfile> ProfileAsync(Identifier identifier) =>
        await Client.GetProfileAsync(identifier).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"No profile holds {identifier.Type} '{identifier.Value}'.");

    /// <inheritdoc />
    /// <remarks>
    /// Disposal waits for the sends in flight, as in production. A transport that never answers (a hung provider, or
    /// <see cref="FailingTransport.TimeOut"/> in a test that failed before moving the clock past it) ends only at
    /// <c>Delivery.SendTimeout</c> on the fake clock: while disposal waits, the host moves the fake clock on by the
    /// time-out each second, so a test that failed midway reports its own failure instead of hanging.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        var disposing = Engine.DisposeAsync().AsTask();
        while (!disposing.IsCompleted)
        {
            // Real time: nothing else moves the fake clock once the test has stopped.
            if (await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System)).ConfigureAwait(false) != disposing)
            {
                Time.Advance(Engine.Options.Delivery.SendTimeout);
            }
        }

        await disposing.ConfigureAwait(false);
        if (_services is not null)
        {
            await _services.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves the fake clock forward by <paramref name="by"/>, stopping at every pending profile wake-up on the way, so
    /// that time-driven changes (a segment window closing, a wait ending) happen at their exact instants.
    /// </summary>
    /// <param name="by">How far to move: zero or more (<see cref="TimeSpan.Zero"/> runs and sends what is due now).</param>
    /// <remarks>
    /// A message planned through <c>Client.SendAsync</c> is sent by the engine's timer in the background, racing the test's
    /// next line (a transport may hold it before its outcome is on the profile): <c>await host.AdvanceAsync(TimeSpan.Zero)</c>
    /// returns once it is sent, or failed, and its outcome recorded, also when that background run took it first.
    /// A transport that does not answer (<see cref="FailingTransport.TimeOut"/>) is timed out at <c>Delivery.SendTimeout</c>
    /// on the fake clock when that falls within <paramref name="by"/>; otherwise the call returns with the attempt in flight.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative: the clock never moves backwards.</exception>
    /// <exception cref="InvalidOperationException">A wake-up stays due after it ran (a failing store, for instance).</exception>
    public Task AdvanceAsync(TimeSpan by)
    {
        if (by < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), by,
                $"The fake clock never moves backwards (it is at {Time.GetUtcNow():O}); to test something earlier, start the host there (OmnichannelTestHostOptions.Start) or date the event with 'at'.");
        }

        return AdvanceToAsync(Time.GetUtcNow() + by);
    }

    /// <summary>Moves the fake clock to <paramref name="instant"/>, stopping at every pending wake-up on the way.</summary>
    /// <param name="instant">Where to move: the clock's current time or later (the current time runs and sends what is due now); the clock answers it in UTC.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="instant"/> is before the clock's current time: the clock never moves backwards.</exception>
    /// <exception cref="InvalidOperationException">A wake-up stays due after it ran (a failing store, for instance).</exception>
    public Task AdvanceToAsync(DateTimeOffset instant)
    {
        var now = Time.GetUtcNow();
        if (instant < now)
        {
            throw new ArgumentOutOfRangeException(nameof(instant), instant,
                $"The fake clock never moves backwards (it is at {now:O}); to test something earlier, start the host there (OmnichannelTestHostOptions.Start) or date the event with 'at'.");
        }

        // The clock is set in UTC, as the system clock answers, whatever offset the instant was written with.
        return Engine.AdvanceVirtualClockAsync(instant.ToUniversalTime(), t => Time.SetUtcNow(t.ToUniversalTime()));
    }
}
