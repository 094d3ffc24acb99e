using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// A message key is accepted once, ever (the store remembers it). A host that reuses one for another person is told
/// so — never "Queued" for a message that will not go.
/// </summary>
public sealed class MessageKeyReuseTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private sealed class PlainRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hello" });
    }

    private static MessageRequest Receipt(string key) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    private static async Task<(OmnichannelTestHost Host, RecordingTransport Email)> CreateAsync()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new PlainRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")]);
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email("bob@example.com")]);
        return (host, email);
    }

    [Fact]
    public async Task AKeyReusedForAnotherPerson_IsAnsweredDuplicate_NotQueued()
    {
        var (host, email) = await CreateAsync();
        await using var _ = host;

        Assert.Equal(SendStatus.Queued, (await host.Engine.SendAsync(Ann, Receipt("order-42"))).Status);
        var bob = await host.Engine.SendAsync(Bob, Receipt("order-42"));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Duplicate, bob.Status);
        Assert.Contains("another message", bob.Reason, StringComparison.Ordinal);
        Assert.Equal(["ann@example.com"], email.Sent<EmailMessage>().Select(m => m.To));
        Assert.DoesNotContain((await host.ProfileAsync(Bob)).Timeline, t => t.EventId.StartsWith("order-42", StringComparison.Ordinal)); // nothing of it written
    }

    [Fact]
    public async Task AKeySentForTwoPeopleAtOnce_IsQueuedForOne_AndTheOtherIsTold()
    {
        var (host, email) = await CreateAsync();
        await using var _ = host;

        var answers = await Task.WhenAll(host.Engine.SendAsync(Ann, Receipt("k")).AsTask(), host.Engine.SendAsync(Bob, Receipt("k")).AsTask());
        await host.Engine.RunDispatchAsync();

        Assert.Equal([SendStatus.Queued, SendStatus.Duplicate], answers.Select(a => a.Status).Order());
        Assert.Single(email.Sent<EmailMessage>());
    }
}
