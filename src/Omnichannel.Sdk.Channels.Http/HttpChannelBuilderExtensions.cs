using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Channels.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the webhook and JSON-over-HTTP provider transports, each with a named <see cref="IHttpClientFactory"/> client.</summary>
public static class HttpChannelBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="WebhookTransport"/> on channel <see cref="ChannelNames.Webhook"/> under <paramref name="name"/>,
    /// with named options (validated at start-up) and the HTTP client <see cref="WebhookTransport.GetHttpClientName"/>.
    /// Timestamps and time-outs use the <see cref="TimeProvider"/> in the container. The client does not follow
    /// redirects: a 3xx answer is a permanent failure.
    /// </summary>
    /// <param name="builder">The builder from <c>AddOmnichannel</c>.</param>
    /// <param name="configure">Sets the secret and, optionally, the default URL, time-out and headers.</param>
    /// <param name="name">The transport's name, unique among webhook transports. Default: <c>webhook</c>.</param>
    /// <param name="preference">Lower is tried first among webhook transports. Default: 0.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">A webhook transport with this name is already registered.</exception>
    public static OmnichannelBuilder AddWebhookTransport(
        this OmnichannelBuilder builder, Action<WebhookTransportOptions> configure, string name = "webhook", int preference = 0)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        // AddTransport first: it throws on a duplicate name before anything else is registered.
        var clientName = WebhookTransport.GetHttpClientName(name);
        builder.AddTransport(name, ChannelNames.Webhook, sp => new WebhookTransport(
            () => sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName),
            sp.GetRequiredService<IOptionsMonitor<WebhookTransportOptions>>().Get(name),
            sp.GetService<TimeProvider>() ?? TimeProvider.System), preference);

        var services = builder.Services;
        services.AddOptions<WebhookTransportOptions>(name).Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookTransportOptions>>(new NamedOptionsValidator<WebhookTransportOptions>(name, o => o.Validate()));
        services.TryAddSingleton(TimeProvider.System);
        // A redirect would re-send the signed headers to another URL (and turn the POST into a GET): answer 3xx as a failure.
        services.AddHttpClient(clientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }

    /// <summary>
    /// Adds an <see cref="HttpProviderTransport"/> under <paramref name="name"/> on the channel set in its options, with
    /// named options (validated at start-up) and the HTTP client <see cref="HttpProviderTransport.GetHttpClientName"/>.
    /// The client does not follow redirects: a 3xx answer is a permanent failure.
    /// </summary>
    /// <param name="builder">The builder from <c>AddOmnichannel</c>.</param>
    /// <param name="name">The transport's name, unique among the channel's transports (for example <c>acme-sms</c>).</param>
    /// <param name="configure">
    /// Sets the channel, endpoint and the rest. It is also run once at registration to learn the channel, so it should
    /// have no side effects.
    /// </param>
    /// <param name="preference">Lower is tried first among the channel's transports. Default: 0.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="configure"/> sets no <see cref="HttpProviderOptions.Channel"/>.</exception>
    /// <exception cref="InvalidOperationException">A transport with this name is already registered for the channel.</exception>
    public static OmnichannelBuilder AddHttpProviderTransport(
        this OmnichannelBuilder builder, string name, Action<HttpProviderOptions> configure, int preference = 0)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);

        // The registration needs the channel now; the options themselves are built (and validated) by the container.
        var probe = new HttpProviderOptions();
        configure(probe);
        if (string.IsNullOrWhiteSpace(probe.Channel))
        {
            throw new ArgumentException(
                $"HTTP provider transport '{name}': set HttpProviderOptions.Channel (for example \"sms\") in configure.", nameof(configure));
        }

        var clientName = HttpProviderTransport.GetHttpClientName(name);
        builder.AddTransport(name, probe.Channel, sp => new HttpProviderTransport(
            () => sp.GetRequiredService<IHttpClientFactory>().CreateClient(clientName),
            sp.GetRequiredService<IOptionsMonitor<HttpProviderOptions>>().Get(name),
            sp.GetService<TimeProvider>() ?? TimeProvider.System), preference);

        var services = builder.Services;
        services.AddOptions<HttpProviderOptions>(name).Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpProviderOptions>>(new NamedOptionsValidator<HttpProviderOptions>(name, o => o.Validate()));
        services.TryAddSingleton(TimeProvider.System);
        // A redirect would re-send the static headers (API keys) to another URL, or turn the POST into a GET whose 2xx
        // would read as accepted: answer 3xx as a failure, as for webhooks.
        services.AddHttpClient(clientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        return builder;
    }
}

/// <summary>Validates one named options instance, reporting every problem at once with the instance's name.</summary>
internal sealed class NamedOptionsValidator<TOptions>(string name, Func<TOptions, List<string>> validate) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? optionsName, TOptions options)
    {
        if (optionsName != name)
        {
            return ValidateOptionsResult.Skip;
        }

        var problems = validate(options);
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{typeof(TOptions).Name} '{name}': {p}"));
    }
}
