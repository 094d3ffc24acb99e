using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U99 on SQLite: a host's message keys built from her address ("welcome-ann@example.com") stayed in
/// <c>outbox_keys</c> (a key is remembered for ever), readable in the database file, after her erasure.
/// </summary>
public sealed class AuditU99SqliteTests : IDisposable
{
    private const string Email = "ann.u99.sqlite@example.com";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task HerMessageKeysBuiltFromHerAddress_LeaveNoTraceInTheFile_AndBobsKeyIsStillTaken()
    {
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        var email = new RecordingTransport(ChannelNames.Email);
        // The engine's dispatcher starts as soon as a message due now is queued: the "pending" reminder could be sent before
        // her erasure. Its provider refuses it for an hour instead, so it is pending in the outbox (its row, her address in
        // its payload) at her erasure whichever comes first.
        var provider = new RefusingForAnHour(email, "reminder-");
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.Retry = null, // no quick retries on the fake clock: the refusal is rescheduled at once
            start: new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero),
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", provider));
        var ann = Identifier.CustomerId("c-ann-u99");
        var bob = Identifier.CustomerId("c-bob-u99");
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email(Email)]);
        await host.TrackAsync("user.signed_up", [bob, Identifier.Email("bob.keeper.u99@example.com")]);
        static MessageRequest Welcome(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "w", Class = MessageClass.Transactional };
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Welcome("welcome-" + Email))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(bob, Welcome("welcome-bob.keeper.u99@example.com"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Welcome("reminder-" + Email))).Status); // pending: refused for an hour
        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), Email), "the test must see her address before the erasure");

        Assert.True(await host.Client.EraseProfileAsync(ann));

        var bytes = DatabaseFileBytes.Read(path);
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her address is still in the files");
        Assert.True(DatabaseFileBytes.Contains(bytes, "bob.keeper.u99@example.com"), "the other person's data must still be readable");
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Welcome("welcome-bob.keeper.u99@example.com"))).Status);
        Assert.Equal(2, email.Messages.Count); // the reminder was never sent: it was pending at her erasure
    }

    /// <summary>Refuses messages whose key starts with a prefix for an hour (a transient failure); passes the rest on.</summary>
    private sealed class RefusingForAnHour(RecordingTransport inner, string prefix) : IChannelTransport
    {
        public string Channel => inner.Channel;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
            message.MessageId.StartsWith(prefix, StringComparison.Ordinal)
                ? ValueTask.FromResult(DeliveryResult.TransientFailure("busy", TimeSpan.FromHours(1)))
                : inner.SendAsync(message, cancellationToken);
    }
}
