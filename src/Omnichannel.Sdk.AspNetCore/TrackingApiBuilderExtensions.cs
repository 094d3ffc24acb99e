using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.AspNetCore;
using Omnichannel.Sdk.AspNetCore.Implementation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Segment-Spec tracking endpoint's services; map it with <c>app.MapOmnichannelTracking("/v1")</c>.</summary>
public static class TrackingApiBuilderExtensions
{
    /// <summary>
    /// Adds the tracking endpoint's options (validated at start-up: at least one write key of 16 or more characters,
    /// unique keys and sources, valid channel and event-type names, positive limits) and its handler. Calling it again
    /// only adds <paramref name="configure"/>. Time comes from the <see cref="TimeProvider"/> in the container.
    /// </summary>
    /// <param name="builder">The builder from <c>AddOmnichannel</c>.</param>
    /// <param name="configure">Adds write keys and adjusts limits and the mapping (<see cref="TrackingApiOptions"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// The protocol is the HTTP Tracking API of the Segment Spec
    /// (<see href="https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/"/>); invalid options
    /// make the host's start fail with an <see cref="OptionsValidationException"/> listing every problem.
    /// </remarks>
    public static OmnichannelBuilder AddTrackingApi(this OmnichannelBuilder builder, Action<TrackingApiOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<TrackingApiOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrackingApiOptions>, TrackingApiOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TrackingEndpoint>();
        return builder;
    }
}

/// <summary>Fails start-up with every problem of <see cref="TrackingApiOptions"/>.</summary>
internal sealed class TrackingApiOptionsValidator : IValidateOptions<TrackingApiOptions>
{
    public ValidateOptionsResult Validate(string? name, TrackingApiOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "Tracking API: " + e));
    }
}
