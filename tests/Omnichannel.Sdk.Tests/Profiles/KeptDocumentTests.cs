using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// What a load of the in-memory store returns is the version it names, for good: later commits of the profile must not
/// change it, whatever form the store keeps its documents in (<see cref="SharedDocument"/>, and any form kept or
/// overwritten in place that a later change may bring: see the fifty-sixth session's design note).
/// </summary>
public sealed class KeptDocumentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Event(string customer, int i) => (i % 3) switch
    {
        0 => new CustomerEvent
        {
            Id = $"{customer}-order-{i}", Type = EventTypes.OrderPlaced, Timestamp = T0.AddMinutes(i), Identifiers = [Identifier.CustomerId(customer)],
            Properties = JsonData.From(new { order_id = $"{customer}-o{i}", total = 10 + i, currency = "EUR" }),
        },
        1 => new CustomerEvent
        {
            Id = $"{customer}-view-{i}", Type = "product.viewed", Timestamp = T0.AddMinutes(i), Identifiers = [Identifier.CustomerId(customer)],
            Properties = JsonData.From(new { product_id = $"sku-{i % 7}", note = new string('é', i % 50) }), // the head grows and shrinks
        },
        _ => new CustomerEvent
        {
            Id = $"{customer}-traits-{i}", Type = "user.updated", Timestamp = T0.AddMinutes(i), Identifiers = [Identifier.CustomerId(customer)],
            Traits = JsonData.From(new { name = new string('x', (i * 37) % 300) }),
        },
    };

    [Fact]
    public async Task ADocumentALoadReturned_StaysAsLoaded_WhileLaterCommitsGoOn()
    {
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), store);
        for (var i = 0; i < 40; i++)
        {
            await engine.TrackAsync(Event("c1", i));
        }

        var id = (await store.ResolveIdentifiersAsync([Identifier.CustomerId("c1")]))[Identifier.CustomerId("c1")];
        var loaded = (await store.LoadProfileAsync(id))!;
        var asLoaded = loaded.Document;
        Assert.NotNull(loaded.Shared);

        for (var i = 40; i < 80; i++)
        {
            await engine.TrackAsync(Event("c1", i));
        }

        Assert.Equal(asLoaded, loaded.Document);
        Assert.Equal(asLoaded, ProfileSerializer.Serialize(ProfileSerializer.Deserialize(loaded)));
        var now = (await store.LoadProfileAsync(id))!;
        Assert.Equal(loaded.Version + 40, now.Version);
        Assert.Equal(ProfileSerializer.Serialize((await engine.GetProfileAsync(Identifier.CustomerId("c1")))!), now.Document);
    }

    // Any interleaving of commits (one event or a run of them, on two customers) and loads held on to: each document a
    // load returned reads, at the end, as it read when loaded, and as the contiguous write of the profile of its version.
    [Property(MaxTest = 40)]
    public void LoadsHeldAcrossAnyCommits_KeepTheirVersion(byte[] ops) => LoadsHold(ops ?? []).GetAwaiter().GetResult();

    private static async Task LoadsHold(byte[] ops)
    {
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { TimelineLength = 20 }, store);
        var held = new List<(StoredProfile Stored, byte[] Bytes, byte[] Written)>();
        var seq = 0;
        foreach (var op in ops.Take(80))
        {
            var customer = op % 2 == 0 ? "a" : "b";
            switch ((op / 2) % 4)
            {
                case 0:
                case 1:
                    await engine.TrackAsync(Event(customer, seq++));
                    break;
                case 2:
                    await engine.TrackBatchAsync(Enumerable.Range(0, 1 + (op % 5)).Select(_ => Event(customer, seq++)).ToList());
                    break;
                default:
                    if ((await store.ResolveIdentifiersAsync([Identifier.CustomerId(customer)])).TryGetValue(Identifier.CustomerId(customer), out var id))
                    {
                        var stored = (await store.LoadProfileAsync(id))!;
                        var hot = (await engine.GetProfileByIdAsync(id))!;
                        held.Add((stored, stored.Document, ProfileSerializer.Serialize(hot)));
                    }

                    break;
            }
        }

        foreach (var (stored, bytes, written) in held)
        {
            Assert.Equal(bytes, stored.Document);
            Assert.Equal(written, stored.Document);
            Assert.Equal(stored.DocumentLength, stored.Document.Length);
        }
    }
}
