using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>The shop's registration, as its Program.cs has it (a real transport the tests must never build).</summary>
internal static class ShopRegistration
{
    public static IServiceCollection AddShop(this IServiceCollection services)
    {
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseStore(_ => throw new InvalidOperationException("the production store must not be opened by a unit test"))
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart-reminder", [TemplateVariant.Email("You left something behind", "<p>Your cart is waiting.</p>")])))
            .AddTransport("provider", ChannelNames.Email, _ => throw new InvalidOperationException("the real provider must not be built by a unit test"))
            .AddJourney(Journey.Define("abandoned-cart", "Abandoned cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .CorrelatedBy("cart_id")
                .ExitOn(EventTypes.OrderPlaced)
                .Steps(s => s.Delay("wait-1h", "PT1H").Send("reminder", [ChannelNames.Email], "cart-reminder", topic: "cart"))
                .Build());
        return services;
    }
}

public sealed class TestHostFromRegistrationTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static async Task SubscribedAsync(OmnichannelTestHost host) =>
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });

    [Fact]
    public async Task TheShopsOwnRegistration_SendsTheCartReminderAnHourLater()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddShop());
        await SubscribedAsync(host);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });

        await host.AdvanceAsync(TimeSpan.FromMinutes(59));
        Assert.Empty(host.Sent.Messages);

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        var reminder = Assert.IsType<EmailMessage>(Assert.Single(host.Sent.MessagesOn(ChannelNames.Email)));
        Assert.Equal("You left something behind", reminder.Subject);
        Assert.Equal("ann@example.com", reminder.To);
    }

    [Fact]
    public async Task AJourneysFirstSend_IsRecordedWhenTrackAsyncReturns()
    {
        await using var host = OmnichannelTestHost.Create(services =>
        {
            services.AddShop();
            services.AddOmnichannel().AddJourney(Journey.Define("welcome", "Welcome")
                .TriggeredBy(t => t.Event("user.signed_up"))
                .Steps(s => s.Send("welcome", [ChannelNames.Email], "cart-reminder", topic: "news"))
                .Build());
        });
        await SubscribedAsync(host);

        await host.TrackAsync("user.signed_up", [Ann]);

        Assert.Single(host.Sent.SentTo("ann@example.com")); // no AdvanceAsync: what is due now is sent before TrackAsync returns
    }

    [Fact]
    public async Task TwoCarts_GetTwoReminders()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddShop());
        await SubscribedAsync(host);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c2", product_id = "bowl" });

        await host.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(2, host.Sent.SentTo("ann@example.com").Count);
    }

    [Fact]
    public async Task StubTemplates_SendsTheTemplateId_AndRecordsChannelsTheShopDidNotRegister()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddShop(), new OmnichannelTestHostOptions { StubTemplates = true });
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Phone("+447700900461")]);

        var sms = await host.Client.SendAsync(Ann, new MessageRequest { Key = "sms-1", Channels = [ChannelNames.Sms], TemplateId = "order-shipped", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(SendStatus.Queued, sms.Status);
        Assert.Equal("order-shipped", Assert.IsType<SmsMessage>(Assert.Single(host.Sent.MessagesOn(ChannelNames.Sms))).Body);
    }

    [Fact]
    public async Task TrackAsync_At_DatesTheEvent()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddShop());
        var yesterday = host.Time.GetUtcNow().AddDays(-1);

        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" }, at: yesterday);

        Assert.Equal(yesterday, Assert.Single((await host.ProfileAsync(Ann)).Timeline).Timestamp);
    }

    [Fact]
    public async Task KeepStore_UsesTheRegisteredStore()
    {
        var store = new InMemoryOmnichannelStore();
        await using (var host = OmnichannelTestHost.Create(s => s.AddOmnichannel().UseStore(_ => store), new OmnichannelTestHostOptions { KeepStore = true }))
        {
            await host.TrackAsync("user.signed_up", [Ann]);
        }

        Assert.Single(await store.ResolveIdentifiersAsync([Ann]));
    }

    [Fact]
    public void ARegistrationWithoutAddOmnichannel_IsRefusedWithWhatIsMissing()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => OmnichannelTestHost.Create(services => services.AddSingleton(TimeProvider.System)));
        Assert.Contains("AddOmnichannel", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class TestKitDependencyTests
{
    [Fact]
    public void TheTestKit_ReferencesNoTestFramework()
    {
        var references = typeof(OmnichannelTestHost).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.DoesNotContain(references, r => r.StartsWith("xunit", StringComparison.OrdinalIgnoreCase)
            || r.StartsWith("nunit", StringComparison.OrdinalIgnoreCase) || r.StartsWith("Microsoft.VisualStudio.TestPlatform", StringComparison.Ordinal));
        Assert.Contains(typeof(Omnichannel.Sdk.Testing.Conformance.StoreConformanceTests).Assembly.GetReferencedAssemblies(), a => a.Name == "xunit.core");
    }
}
