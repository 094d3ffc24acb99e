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
        await using var host = OmnichannelTestHost.Create(
            start: new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero),
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("c-ann-u99");
        var bob = Identifier.CustomerId("c-bob-u99");
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email(Email)]);
        await host.TrackAsync("user.signed_up", [bob, Identifier.Email("bob.keeper.u99@example.com")]);
        static MessageRequest Welcome(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "w", Class = MessageClass.Transactional };
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Welcome("welcome-" + Email))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(bob, Welcome("welcome-bob.keeper.u99@example.com"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Welcome("reminder-" + Email))).Status); // pending
        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), Email), "the test must see her address before the erasure");

        Assert.True(await host.Client.EraseProfileAsync(ann));

        var bytes = DatabaseFileBytes.Read(path);
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her address is still in the files");
        Assert.True(DatabaseFileBytes.Contains(bytes, "bob.keeper.u99@example.com"), "the other person's data must still be readable");
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Welcome("welcome-bob.keeper.u99@example.com"))).Status);
    }
}
