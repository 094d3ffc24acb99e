using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Omnichannel.Sdk in a service collection.</summary>
public static class OmnichannelServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engine, <see cref="IOmnichannelClient"/> and its hosted service. Options are validated at start-up.
    /// The store defaults to <see cref="InMemoryOmnichannelStore"/> unless a <c>Use…Store</c> call picks another.
    /// Calling it again adds nothing twice (only the extra <paramref name="configure"/>).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>A builder to plug in stores and channels.</returns>
    public static OmnichannelBuilder AddOmnichannel(this IServiceCollection services, Action<OmnichannelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<OmnichannelOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(OmnichannelEngine)))
        {
            return new OmnichannelBuilder(services);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OmnichannelOptions>, OmnichannelOptionsValidator>());
        options.ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new OmnichannelEngine(
            sp.GetRequiredService<IOptions<OmnichannelOptions>>().Value,
            sp.GetService<IOmnichannelStore>() ?? new InMemoryOmnichannelStore(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
            BuildDelivery(sp)));
        services.TryAddSingleton<IOmnichannelClient>(sp => sp.GetRequiredService<OmnichannelEngine>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OmnichannelHostedService>());
        return new OmnichannelBuilder(services);
    }

    private static Omnichannel.Sdk.Delivery.DeliverySetup BuildDelivery(IServiceProvider sp)
    {
        var setup = new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = sp.GetService<Omnichannel.Sdk.Delivery.IMessageRenderer>() };
        foreach (var r in sp.GetServices<Omnichannel.Sdk.Delivery.ChannelTransportRegistration>())
        {
            var transport = r.Factory(sp);
            if (transport.Channel != r.Channel)
            {
                throw new InvalidOperationException($"The transport '{r.Name}' was registered for channel '{r.Channel}' but sends on '{transport.Channel}'.");
            }

            setup.AddTransport(r.Name, transport, r.Preference);
        }

        return setup;
    }
}

/// <summary>Plugs stores and channels into Omnichannel.Sdk. Returned by <c>AddOmnichannel</c>.</summary>
public sealed class OmnichannelBuilder
{
    internal OmnichannelBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection, for extension methods of adapter packages.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Loads a segment at start-up (validated with the options).</summary>
    /// <param name="segment">The definition, built with <see cref="Omnichannel.Sdk.Segments.Segment.Define"/> or parsed from JSON.</param>
    public OmnichannelBuilder AddSegment(Omnichannel.Sdk.Segments.SegmentDefinition segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        Services.Configure<OmnichannelOptions>(o => o.Segments.Add(segment));
        return this;
    }

    /// <summary>Loads segments from JSON (one definition or an array), at start-up.</summary>
    /// <param name="json">The definitions.</param>
    /// <exception cref="Omnichannel.Sdk.Segments.SegmentDefinitionException">The JSON is invalid; every error is listed with its JSON path.</exception>
    public OmnichannelBuilder AddSegmentsFromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var trimmed = json.TrimStart();
        IReadOnlyList<Omnichannel.Sdk.Segments.SegmentDefinition> definitions;
        if (trimmed.StartsWith('['))
        {
            var many = Omnichannel.Sdk.Segments.SegmentJson.ParseMany(json);
            definitions = many.Value ?? throw new Omnichannel.Sdk.Segments.SegmentDefinitionException(many.Errors);
        }
        else
        {
            var one = Omnichannel.Sdk.Segments.SegmentJson.Parse(json);
            definitions = [one.Value ?? throw new Omnichannel.Sdk.Segments.SegmentDefinitionException(one.Errors)];
        }

        foreach (var d in definitions)
        {
            AddSegment(d);
        }

        return this;
    }

    /// <summary>Loads a journey at start-up (validated with the options). Load every version that may have running instances.</summary>
    /// <param name="journey">The definition, built with <see cref="Omnichannel.Sdk.Journeys.Journey.Define"/> or parsed from JSON.</param>
    public OmnichannelBuilder AddJourney(Omnichannel.Sdk.Journeys.JourneyDefinition journey)
    {
        ArgumentNullException.ThrowIfNull(journey);
        Services.Configure<OmnichannelOptions>(o => o.Journeys.Add(journey));
        return this;
    }

    /// <summary>Loads journeys from JSON (one definition or an array), at start-up.</summary>
    /// <param name="json">The definitions.</param>
    /// <exception cref="Omnichannel.Sdk.Journeys.JourneyDefinitionException">The JSON is invalid; every error is listed with its JSON path.</exception>
    public OmnichannelBuilder AddJourneysFromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        IReadOnlyList<Omnichannel.Sdk.Journeys.JourneyDefinition> definitions;
        if (json.TrimStart().StartsWith('['))
        {
            var many = Omnichannel.Sdk.Journeys.JourneyJson.ParseMany(json);
            definitions = many.Value ?? throw new Omnichannel.Sdk.Journeys.JourneyDefinitionException(many.Errors);
        }
        else
        {
            var one = Omnichannel.Sdk.Journeys.JourneyJson.Parse(json);
            definitions = [one.Value ?? throw new Omnichannel.Sdk.Journeys.JourneyDefinitionException(one.Errors)];
        }

        foreach (var d in definitions)
        {
            AddJourney(d);
        }

        return this;
    }

    /// <summary>
    /// Receives the events journeys emit (<c>emit</c> steps), through the outbox: at least once, each with a stable
    /// <see cref="Omnichannel.Sdk.Delivery.OutboundMessage.MessageId"/> to de-duplicate on, retried when the handler throws.
    /// </summary>
    /// <param name="handler">Handles one event.</param>
    public OmnichannelBuilder OnJourneyEvent(Func<Omnichannel.Sdk.Delivery.HostEventMessage, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return AddTransport("journey-events", ChannelNames.Host, _ => new Omnichannel.Sdk.Delivery.HostEventTransport(handler));
    }

    /// <summary>
    /// Adds a transport for a channel under a name. Several transports of one channel may coexist; the one with the
    /// lowest <paramref name="preference"/> is tried first.
    /// </summary>
    /// <param name="name">A name unique among the channel's transports.</param>
    /// <param name="channel">The channel (see <see cref="ChannelNames"/>).</param>
    /// <param name="factory">Builds the transport.</param>
    /// <param name="preference">Lower is tried first.</param>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is not a lower_case channel name.</exception>
    /// <exception cref="InvalidOperationException">A transport with this name is already registered for the channel.</exception>
    public OmnichannelBuilder AddTransport(string name, string channel, Func<IServiceProvider, Omnichannel.Sdk.Delivery.IChannelTransport> factory, int preference = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        ArgumentNullException.ThrowIfNull(factory);
        if (!EventValidator.ChannelPattern().IsMatch(channel))
        {
            // Send steps and events name channels in lower case: a transport under "Email" would never be used, and every
            // message on email would fail later with "no transport is registered".
            throw new ArgumentException(
                $"'{channel}' is not a valid channel name (expected a lower_case name such as email, sms, push: see ChannelNames).", nameof(channel));
        }

        if (Services.Any(d => d.ServiceType == typeof(Omnichannel.Sdk.Delivery.ChannelTransportRegistration)
            && d.ImplementationInstance is Omnichannel.Sdk.Delivery.ChannelTransportRegistration r && r.Name == name && r.Channel == channel))
        {
            throw new InvalidOperationException($"A transport named '{name}' is already registered for channel '{channel}'.");
        }

        Services.AddSingleton(new Omnichannel.Sdk.Delivery.ChannelTransportRegistration(name, channel, preference, factory));
        return this;
    }

    /// <summary>
    /// The channels the development transports register for when none are named: <c>email</c>, <c>sms</c>, <c>push</c>,
    /// <c>whatsapp</c>, <c>in_app</c> and <c>webhook</c> (every channel a message is sent on).
    /// </summary>
    public static IReadOnlyList<string> MessageChannels { get; } =
        [ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push, ChannelNames.WhatsApp, ChannelNames.InApp, ChannelNames.Webhook];

    /// <summary>
    /// For samples and local development: prints every message to the console (or <paramref name="writer"/>) as a
    /// readable block and accepts it — one <see cref="Omnichannel.Sdk.Delivery.ConsoleTransport"/> named <c>console</c>
    /// per channel. Registering it again for a channel adds nothing.
    /// </summary>
    /// <param name="channels">The channels; <see langword="null"/> for every channel of <see cref="MessageChannels"/>.</param>
    /// <param name="writer">Where to print; <see cref="Console.Out"/> when <see langword="null"/>.</param>
    /// <param name="preference">Lower is tried first (default 0); raise it to keep the console as a fallback behind a real provider.</param>
    public OmnichannelBuilder AddConsoleTransport(IEnumerable<string>? channels = null, TextWriter? writer = null, int preference = 0)
    {
        foreach (var channel in channels ?? MessageChannels)
        {
            if (!IsRegistered("console", channel))
            {
                AddTransport("console", channel, _ => new Omnichannel.Sdk.Delivery.ConsoleTransport(channel, writer), preference);
            }
        }

        return this;
    }

    /// <summary>
    /// For samples and local development: writes every message into <paramref name="directory"/> — each email as an
    /// <c>.eml</c> file any mail client opens, every other message as a JSON line in <c>&lt;channel&gt;.jsonl</c> — and
    /// accepts it: one <see cref="Omnichannel.Sdk.Delivery.FileTransport"/> named <c>file</c> per channel. Registering it
    /// again for a channel adds nothing.
    /// </summary>
    /// <param name="directory">The folder, created when missing. Use a folder of your own (for example
    /// <c>Directory.CreateTempSubdirectory("my-shop-").FullName</c>), not a shared fixed path.</param>
    /// <param name="channels">The channels; <see langword="null"/> for every channel of <see cref="MessageChannels"/>.</param>
    /// <param name="preference">Lower is tried first (default 0).</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    public OmnichannelBuilder AddFileTransport(string directory, IEnumerable<string>? channels = null, int preference = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        foreach (var channel in channels ?? MessageChannels)
        {
            if (!IsRegistered("file", channel))
            {
                AddTransport("file", channel, _ => new Omnichannel.Sdk.Delivery.FileTransport(channel, full), preference);
            }
        }

        return this;
    }

    private bool IsRegistered(string name, string channel) =>
        Services.Any(d => d.ServiceType == typeof(Omnichannel.Sdk.Delivery.ChannelTransportRegistration)
            && d.ImplementationInstance is Omnichannel.Sdk.Delivery.ChannelTransportRegistration r && r.Name == name && r.Channel == channel);

    /// <summary>
    /// Renders messages with Liquid templates from <paramref name="source"/>. The templates are loaded and validated when
    /// the engine starts: any error (with template, part, line and column) stops the start
    /// (<see cref="Omnichannel.Sdk.Templates.TemplateRenderException"/>), and so does a start-up journey whose send step
    /// names a template the source does not hold (<see cref="Omnichannel.Sdk.Journeys.JourneyDefinitionException"/>), and
    /// so do email templates without <c>Delivery.EmailFrom</c>, their sender, and templates printing
    /// <c>journey.unsubscribe_url</c> without <c>Delivery.Unsubscribe.Endpoint</c> (<see cref="OptionsValidationException"/>).
    /// </summary>
    /// <param name="source">Where the templates are (an in-memory or file-system source, or the host's own).</param>
    /// <param name="configure">Renderer options (default time zone and locale, render budget); the output limits start from <see cref="Omnichannel.Sdk.Delivery.DeliveryOptions"/>.</param>
    public OmnichannelBuilder UseTemplates(Omnichannel.Sdk.Templates.ITemplateSource source, Action<Omnichannel.Sdk.Templates.TemplateRendererOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Services.AddSingleton<Omnichannel.Sdk.Delivery.IMessageRenderer>(sp =>
        {
            var delivery = sp.GetRequiredService<IOptions<OmnichannelOptions>>().Value.Delivery;
            var options = new Omnichannel.Sdk.Templates.TemplateRendererOptions
            {
                // A message that renders also fits the outbox and its channel.
                MaxOutputLength = delivery.MaxMessageBytes,
                MaxSmsSegments = delivery.MaxSmsSegments,
                MaxPushBytes = delivery.MaxPushBytes,

                // The zone quiet hours and journeys use for a customer without one: her "morning" and dates too.
                DefaultTimeZone = Omnichannel.Sdk.Delivery.DeliveryOptions.TimeZoneOrNull(delivery.DefaultTimeZone) ?? TimeZoneInfo.Utc,
            };
            configure?.Invoke(options);
            var loaded = Omnichannel.Sdk.Templates.TemplateRenderer.LoadAsync(source, options).AsTask().GetAwaiter().GetResult();
            if (!loaded.Succeeded)
            {
                throw Omnichannel.Sdk.Templates.TemplateRenderException.AtLoad(loaded.Errors);
            }

            // A start-up journey that sends a template the source does not hold could never send: say so now, not as a
            // "rendering failed" skip on the first customer's timeline.
            var missing = new List<Omnichannel.Sdk.DefinitionError>();
            foreach (var journey in sp.GetRequiredService<IOptions<OmnichannelOptions>>().Value.Journeys)
            {
                for (var i = 0; i < journey.Steps.Count; i++)
                {
                    if (journey.Steps[i] is Omnichannel.Sdk.Journeys.SendStep send && !loaded.Renderer.TemplateIds.Contains(send.TemplateId))
                    {
                        missing.Add(new(
                            $"$.steps[{i}].template",
                            $"journey '{journey.Id}' step '{send.Id}' sends template '{send.TemplateId}', which the template source given to UseTemplates does not hold (it holds: {string.Join(", ", loaded.Renderer.TemplateIds.Order(StringComparer.Ordinal))})"));
                    }
                }
            }

            if (missing.Count > 0)
            {
                throw new Omnichannel.Sdk.Journeys.JourneyDefinitionException(missing);
            }

            // Email templates without a sender could never be sent: every message would fail at its first render, and a
            // test asserting that nothing was sent would pass for the wrong reason.
            if (delivery.EmailFrom is null && loaded.Renderer.EmailVariantsWithoutSender().Order(StringComparer.Ordinal).ToList() is { Count: > 0 } unsent)
            {
                throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(OmnichannelOptions),
                [
                    $"Delivery.EmailFrom is not set, so the email template variant(s) {string.Join(", ", unsent.Take(10))}{(unsent.Count > 10 ? ", …" : "")} could never be sent " +
                    "(an email's sender is Delivery.EmailFrom): set it, for example to \"Kitty Supplies <hello@kitty.example>\".",
                ]);
            }

            // A template printing the unsubscribe link while no endpoint is configured would send marketing email with an
            // empty link (the law in most markets requires a working one).
            if (delivery.Unsubscribe.Endpoint is null && loaded.Renderer.VariantsMentioning("unsubscribe_url").Order(StringComparer.Ordinal).ToList() is { Count: > 0 } linkless)
            {
                throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(OmnichannelOptions),
                [
                    $"The template variant(s) {string.Join(", ", linkless.Take(10))}{(linkless.Count > 10 ? ", …" : "")} print journey.unsubscribe_url, but " +
                    "Delivery.Unsubscribe.Endpoint is not set, so the link would be empty: set it to the URL that MapOmnichannelUnsubscribe() serves " +
                    "(for example https://shop.example/unsubscribe).",
                ]);
            }

            return new Omnichannel.Sdk.Templates.TemplateMessageRenderer(loaded.Renderer, sp.GetRequiredService<IOptions<OmnichannelOptions>>().Value.Delivery.EmailFrom);
        });
        return this;
    }

    /// <summary>Uses the in-memory store (the default): for tests and samples; nothing survives the process.</summary>
    public OmnichannelBuilder UseInMemoryStore() => UseStore(_ => new InMemoryOmnichannelStore());

    /// <summary>Uses a store built by <paramref name="factory"/>. Only one store may be chosen.</summary>
    /// <param name="factory">Builds the store.</param>
    /// <exception cref="InvalidOperationException">A store was already chosen.</exception>
    public OmnichannelBuilder UseStore(Func<IServiceProvider, IOmnichannelStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var existing = Services.FirstOrDefault(d => d.ServiceType == typeof(IOmnichannelStore));
        if (existing is not null)
        {
            throw new InvalidOperationException(
                "An Omnichannel store is already registered (" + (existing.ImplementationType?.Name ?? "by a factory") + "). " +
                "Call only one of UseInMemoryStore, UseSqliteStore, UsePostgreSqlStore or UseStore.");
        }

        Services.AddSingleton(factory);
        return this;
    }
}

/// <summary>Validates <see cref="OmnichannelOptions"/> at start-up, reporting every problem at once.</summary>
internal sealed class OmnichannelOptionsValidator : IValidateOptions<OmnichannelOptions>
{
    public ValidateOptionsResult Validate(string? name, OmnichannelOptions options)
    {
        var problems = options.Validate();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>
/// Starts the engine with the host and drains its queues when the host stops: once every hosted service has stopped
/// (<see cref="IHostedLifecycleService.StoppedAsync"/>), so that the web server, registered before or after the SDK, has
/// drained the requests in flight that call the engine. A host that does not call the lifecycle methods stops it in
/// <see cref="StopAsync"/>. The host's stop token (its <c>ShutdownTimeout</c>) does not cut the drain, which says so in the
/// log when it runs past it.
/// </summary>
internal sealed partial class OmnichannelHostedService(OmnichannelEngine engine, ILogger<OmnichannelHostedService>? logger = null) : IHostedLifecycleService
{
    private volatile bool _stoppedLater;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stoppedLater = true; // this host calls StoppedAsync after every StopAsync
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stoppedLater)
        {
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    // Not cut at the stop token: abandoning a send in flight would leave it claimed, and the next process would send the
    // message again. Past the token, an operator whose host (or orchestrator) stops waiting is told what it waits for.
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var draining = engine.DisposeAsync().AsTask();
        if (!draining.IsCompleted && cancellationToken.CanBeCanceled)
        {
            await draining.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!draining.IsCompleted && logger is not null)
            {
                LogDrainPastShutdownTimeout(logger, engine.Options.Delivery.SendTimeout);
            }
        }

        await draining.ConfigureAwait(false);
    }

    [LoggerMessage(126, LogLevel.Warning, "The host's stop token was cancelled (HostOptions.ShutdownTimeout ran out, or the caller of StopAsync cancelled) while the engine was still draining: queued events are being committed and sends in flight recorded, each within {SendTimeout} (Delivery.SendTimeout); the stop waits for them, as a message cut off mid-send would be sent again by the next process")]
    private static partial void LogDrainPastShutdownTimeout(ILogger logger, TimeSpan sendTimeout);
}
