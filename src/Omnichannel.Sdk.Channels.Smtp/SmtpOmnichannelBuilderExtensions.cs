using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Channels.Smtp;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="SmtpTransport"/> with Omnichannel.Sdk.</summary>
public static class SmtpOmnichannelBuilderExtensions
{
    /// <summary>
    /// Adds an SMTP transport for <see cref="ChannelNames.Email"/> under <paramref name="name"/>. Its options are named after
    /// the transport and validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddOmnichannel</c>.</param>
    /// <param name="configure">Sets the server, credentials and default sender.</param>
    /// <param name="name">The transport's name among the email transports; default <c>smtp</c>.</param>
    /// <param name="preference">Lower is tried first; default 0.</param>
    /// <exception cref="InvalidOperationException">An email transport with this name is already registered.</exception>
    public static OmnichannelBuilder AddSmtpTransport(this OmnichannelBuilder builder, Action<SmtpTransportOptions> configure, string name = "smtp", int preference = 0)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        builder.AddTransport(
            name,
            ChannelNames.Email,
            sp => new SmtpTransport(sp.GetRequiredService<IOptionsMonitor<SmtpTransportOptions>>().Get(name), sp.GetService<TimeProvider>()),
            preference);
        builder.Services.AddOptions<SmtpTransportOptions>(name).Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmtpTransportOptions>, SmtpTransportOptionsValidator>());
        return builder;
    }
}

/// <summary>Validates every named <see cref="SmtpTransportOptions"/>, reporting all problems at once.</summary>
internal sealed class SmtpTransportOptionsValidator : IValidateOptions<SmtpTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, SmtpTransportOptions options)
    {
        var problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"SMTP transport '{name}': {p}"));
    }
}
