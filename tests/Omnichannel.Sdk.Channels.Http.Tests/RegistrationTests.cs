using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

public sealed class RegistrationTests(ProviderGatewayFixture gateway) : IClassFixture<ProviderGatewayFixture>
{
    private readonly FakeTimeProvider clock = new(ProviderGatewayFixture.Now);

    [Fact]
    public async Task AddWebhookTransport_RegistersATransportThatSignsWithTheContainersClockThroughTheNamedClient()
    {
        var services = Services();
        services.AddOmnichannel().AddWebhookTransport(o =>
        {
            o.Secret = "whsec_di";
            o.DefaultUrl = gateway.Url("/echo");
        });
        // The host can extend the named client, for example with its own handler.
        services.AddHttpClient(WebhookTransport.GetHttpClientName("webhook")).AddHttpMessageHandler(() => new TaggingHandler());
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var registration = Assert.Single(provider.GetServices<ChannelTransportRegistration>());
        Assert.Equal(("webhook", ChannelNames.Webhook, 0), (registration.Name, registration.Channel, registration.Preference));
        var transport = registration.Factory(provider);
        var result = await transport.SendAsync(new WebhookMessage
        {
            MessageId = "di-hook-1",
            EventType = "cart.abandoned",
            Payload = JsonDocument.Parse("""{"cart":"C-9"}""").RootElement,
        });

        Assert.Equal(DeliveryResult.Accepted(null), result);
        var request = gateway.At("/echo").Single(r => r.Header(WebhookHeaders.IdempotencyKey) == "di-hook-1");
        Assert.Equal("yes", request.Header("X-Tagged"));
        Assert.Equal(ProviderGatewayFixture.Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), request.Header(WebhookHeaders.Timestamp));
        Assert.True(WebhookSignature.Verify(
            "whsec_di", request.Header(WebhookHeaders.Timestamp), request.Header(WebhookHeaders.Signature), request.Body, clock.GetUtcNow(), TimeSpan.FromMinutes(5)).IsValid);
    }

    [Fact]
    public async Task AddWebhookTransport_DoesNotFollowRedirectsWithTheSignedHeaders()
    {
        var services = Services();
        services.AddOmnichannel().AddWebhookTransport(o =>
        {
            o.Secret = "whsec_di";
            o.DefaultUrl = gateway.Url("/moved");
        });
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var transport = Assert.Single(provider.GetServices<ChannelTransportRegistration>()).Factory(provider);

        var result = await transport.SendAsync(new WebhookMessage
        {
            MessageId = "di-hook-moved",
            EventType = "order.shipped",
            Payload = JsonDocument.Parse("{}").RootElement,
        });

        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 301 Moved Permanently"), result);
        Assert.Single(gateway.At("/moved"), r => r.Header(WebhookHeaders.IdempotencyKey) == "di-hook-moved");
        Assert.DoesNotContain(gateway.At("/echo"), r => r.Header(WebhookHeaders.IdempotencyKey) == "di-hook-moved");
    }

    [Fact]
    public async Task AddHttpProviderTransport_RegistersTwoProvidersOfAChannelWithTheirPreference()
    {
        var services = Services();
        services.AddOmnichannel()
            .AddHttpProviderTransport("acme-sms", o =>
            {
                o.Channel = ChannelNames.Sms;
                o.Endpoint = gateway.Url("/created");
                o.MessageIdPath = "sid";
            }, preference: 1)
            .AddHttpProviderTransport("backup-sms", o =>
            {
                o.Channel = ChannelNames.Sms;
                o.Endpoint = gateway.Url("/throttled");
            }, preference: 2);
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var registrations = provider.GetServices<ChannelTransportRegistration>().OrderBy(r => r.Preference).ToList();
        Assert.Equal([("acme-sms", "sms", 1), ("backup-sms", "sms", 2)], registrations.Select(r => (r.Name, r.Channel, r.Preference)));
        var sms = new SmsMessage { MessageId = "di-sms-1", To = "+34600111222", Body = "hi" };
        Assert.Equal(DeliveryResult.Accepted("SM-1"), await registrations[0].Factory(provider).SendAsync(sms));
        Assert.Equal(DeliveryStatus.TransientFailure, (await registrations[1].Factory(provider).SendAsync(sms)).Status);
    }

    [Fact]
    public void AddWebhookTransport_WhenOptionsAreInvalid_FailsAtStartUpListingEveryProblem()
    {
        var services = Services();
        services.AddOmnichannel().AddWebhookTransport(o => o.DefaultUrl = new Uri("file:///tmp/hook"), name: "partner");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("WebhookTransportOptions 'partner': Secret must not be empty: the receiver verifies the signature with it.", error.Failures);
        Assert.Contains("WebhookTransportOptions 'partner': DefaultUrl must be an absolute http or https URL (got 'file:///tmp/hook').", error.Failures);
    }

    [Fact]
    public void AddHttpProviderTransport_WhenOptionsAreInvalid_FailsAtStartUpWithTheTransportsName()
    {
        var services = Services();
        services.AddOmnichannel().AddHttpProviderTransport("push-gw", o => o.Channel = ChannelNames.Push);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(["HttpProviderOptions 'push-gw': Endpoint must be set to the provider's absolute http or https URL."], error.Failures);
    }

    [Fact]
    public void AddHttpProviderTransport_WithATimeoutNoTimerCanHold_FailsAtStartUp()
    {
        var services = Services();
        services.AddOmnichannel().AddHttpProviderTransport("push-gw", o =>
        {
            o.Channel = ChannelNames.Push;
            o.Endpoint = new Uri("https://gw.example/");
            o.Timeout = TimeSpan.MaxValue;
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(error.Failures, f => f.Contains("Timeout must be at most 10 minutes", StringComparison.Ordinal));
    }

    [Fact]
    public void AddHttpProviderTransport_WhenNoChannelIsSet_ThrowsAtRegistration()
    {
        var builder = Services().AddOmnichannel();

        var error = Assert.Throws<ArgumentException>(() => builder.AddHttpProviderTransport("gw", o => o.Endpoint = new Uri("https://gw.example/")));

        Assert.Contains("HTTP provider transport 'gw': set HttpProviderOptions.Channel", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddWebhookTransport_WhenTheNameIsTaken_Throws()
    {
        var builder = Services().AddOmnichannel().AddWebhookTransport(o => o.Secret = "a");

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddWebhookTransport(o => o.Secret = "b"));

        Assert.Contains("'webhook'", error.Message, StringComparison.Ordinal);
    }

    private ServiceCollection Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        return services;
    }

    private sealed class TaggingHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Add("X-Tagged", "yes");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
