using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

public sealed class SmtpTransportOptionsTests
{
    [Fact]
    public void Validate_WhenOptionsAreValid_ReportsNothing()
    {
        var options = new SmtpTransportOptions { Host = "smtp.kitty.example", UserName = "u", Password = "p", DefaultFrom = "Kitty <hi@kitty.example>" };

        Assert.Empty(options.Validate());
        Assert.Equal(587, options.Port);
        Assert.Equal(SecureSocketOptions.Auto, options.SecureSocketOptions);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
    }

    [Fact]
    public void Validate_WhenManyThingsAreWrong_ReportsEachClearly()
    {
        var options = new SmtpTransportOptions { Host = " ", Port = 0, Password = "secret", DefaultFrom = "not an address", MessageIdDomain = "bad domain", Timeout = TimeSpan.Zero };

        var problems = options.Validate();

        Assert.Equal(6, problems.Count);
        Assert.Contains(problems, p => p.Contains("Host is required", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Port must be between 1 and 65535 (was 0)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Password is set but UserName is not", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("DefaultFrom is not a valid address", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("MessageIdDomain", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Timeout must be more than zero", StringComparison.Ordinal));
    }

    [Fact]
    public void Constructor_WhenOptionsAreInvalid_ThrowsListingTheProblems()
    {
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new SmtpTransport(new SmtpTransportOptions { Port = 70000 }));

        Assert.Contains("Host is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("(was 70000)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddSmtpTransport_RegistersANamedEmailTransportWithItsPreference()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel().AddSmtpTransport(o => { o.Host = "127.0.0.1"; o.Port = 2525; }, name: "relay", preference: 5);
        using var provider = services.BuildServiceProvider();

        var registration = Assert.Single(provider.GetServices<ChannelTransportRegistration>());

        Assert.Equal("relay", registration.Name);
        Assert.Equal(ChannelNames.Email, registration.Channel);
        Assert.Equal(5, registration.Preference);
        var transport = Assert.IsType<SmtpTransport>(registration.Factory(provider));
        Assert.Equal(ChannelNames.Email, transport.Channel);
        Assert.Equal(2525, provider.GetRequiredService<IOptionsMonitor<SmtpTransportOptions>>().Get("relay").Port);
    }

    [Fact]
    public void AddSmtpTransport_WhenTwoAreNamed_KeepsTheirOptionsApart()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel()
            .AddSmtpTransport(o => o.Host = "primary.example")
            .AddSmtpTransport(o => o.Host = "backup.example", name: "backup", preference: 1);
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<SmtpTransportOptions>>();

        Assert.Equal(2, provider.GetServices<ChannelTransportRegistration>().Count());
        Assert.Equal("primary.example", monitor.Get("smtp").Host);
        Assert.Equal("backup.example", monitor.Get("backup").Host);
    }

    [Fact]
    public void AddSmtpTransport_WhenOptionsAreInvalid_FailsStartUpValidationNamingTheTransport()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel().AddSmtpTransport(o => o.Port = 0, name: "broken");
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(e.Failures, f => f.Contains("SMTP transport 'broken': SmtpTransportOptions.Host is required", StringComparison.Ordinal));
    }

    [Fact]
    public void AddSmtpTransport_WhenNameIsTaken_Throws()
    {
        var builder = new ServiceCollection().AddOmnichannel().AddSmtpTransport(o => o.Host = "a.example");

        Assert.Throws<InvalidOperationException>(() => builder.AddSmtpTransport(o => o.Host = "b.example"));
    }
}
