using System.Text;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U63 on SQLite: event ids a shop built from her address ("signup-ann@example.com") stayed in
/// <c>processed_events</c>, readable in the database file, after her erasure; the file now holds none of her values.
/// </summary>
public sealed class AuditU63SqliteTests : IDisposable
{
    private const string Email = "ann.u63.sqlite@example.com";
    private const string Phone = "+447700900163";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task HerEventIdsBuiltFromHerAddress_LeaveNoTraceInTheFile_AndHerRedeliveryIsStillRefused()
    {
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using var host = OmnichannelTestHost.Create(
            start: new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero),
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        Identifier[] ann = [Identifier.CustomerId("c-ann-u63"), Identifier.Email(Email), Identifier.Phone(Phone)];
        var signup = host.Event("user.signed_up", ann) with { Id = "signup-" + Email };
        var order = host.Event(EventTypes.OrderPlaced, [ann[0]], new { order_id = "o-1", total = 30 }) with { Id = "order-" + Email };
        var bobs = host.Event("user.signed_up", [Identifier.Email("bob.keeper@example.com")]) with { Id = "signup-bob.keeper@example.com" };
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(signup)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(order)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(bobs)).Status);
        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), Email), "the test must see her address before the erasure");

        Assert.True(await host.Client.EraseProfileAsync(ann[0]));

        var bytes = DatabaseFileBytes.Read(path);
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her address is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, Phone), "her phone is still in the files");
        Assert.True(DatabaseFileBytes.Contains(bytes, "bob.keeper@example.com"), "the other person's data must still be readable");
        Assert.False(await store.IsEventProcessedAsync(signup.Id));
        Assert.True(await store.IsEventProcessedAsync(bobs.Id));
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(signup)).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(order)).Status);
        Assert.Equal(TrackStatus.Duplicate, (await host.Client.TrackAsync(bobs)).Status);
    }
}
