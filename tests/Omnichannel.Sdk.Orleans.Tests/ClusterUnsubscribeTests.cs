using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// One-click unsubscribe (RFC 8058) from a process that only sends: the web front end of a cluster reads and records a
/// marketing email's link through <see cref="IOmnichannelClient"/>, as one engine does.
/// </summary>
public sealed class ClusterUnsubscribeTests
{
    private static readonly Uri Endpoint = new("https://shop.example/unsubscribe");
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly RecordingTransport _email = new(ChannelNames.Email);
    private readonly InMemoryOmnichannelStore _store = new(); // one store for every silo

    [Fact]
    public async Task AClientOnlyProcess_ReadsAndRecordsTheLink_AndTheNextNewsletterIsNotSent()
    {
        await using var cluster = await InProcessCluster.StartAsync(2, Register);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, Options());
        var events = new ClusterEvents(_time);
        await client.TrackAsync(events.Event("signup", "user.signed_up", null, Ann, Identifier.Email("ann@example.com")));
        await client.TrackAsync(events.Event("consent", EventTypes.ConsentChanged, new { channel = "email", granted = true }, Ann));
        Assert.Equal(SendStatus.Queued, (await client.SendAsync(Ann, Newsletter("n1"))).Status);
        foreach (var engine in cluster.Engines)
        {
            await engine.RunDispatchAsync();
        }

        var token = TokenOf((EmailMessage)Assert.Single(_email.Messages));

        Assert.Equal(new UnsubscribeLink(ChannelNames.Email, "newsletter"), client.ReadUnsubscribeLink(token));
        Assert.Null(client.ReadUnsubscribeLink(token[..^2] + (token[^2..] == "AA" ? "AB" : "AA")));
        Assert.Equal(UnsubscribeStatus.InvalidToken, await client.UnsubscribeAsync("eyJ4Ijox.AAAA"));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await client.UnsubscribeAsync(token));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await client.UnsubscribeAsync(token)); // a second click records nothing more

        var profile = await client.GetProfileAsync(Ann);
        Assert.False(profile!.GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.Single(profile.Timeline, t => t.Type == EventTypes.MessageUnsubscribed);
        Assert.Equal(SendStatus.Skipped, (await client.SendAsync(Ann, Newsletter("n2"))).Status);
    }

    private static MessageRequest Newsletter(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "newsletter", Class = MessageClass.Marketing, Topic = "newsletter" };

    private static string TokenOf(EmailMessage message)
    {
        var url = message.Headers["List-Unsubscribe"].Trim('<', '>');
        return Uri.UnescapeDataString(url[(url.LastIndexOf("t=", StringComparison.Ordinal) + 2)..]);
    }

    private static OmnichannelOptions Options()
    {
        var o = new OmnichannelOptions();
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return o;
    }

    private void Register(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IMessageRenderer>(new StubMessageRenderer());
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            o.Delivery.Unsubscribe.Endpoint = Endpoint;
        })
            .UseStore(_ => _store)
            .AddTransport("recorder", ChannelNames.Email, _ => _email)
            .UseOrleans();
    }
}
