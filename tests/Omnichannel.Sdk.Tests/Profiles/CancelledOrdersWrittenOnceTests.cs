using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// A profile's cancelled orders are never trimmed, and were sorted and written string by string at every commit. Their
/// array is now kept until the next cancellation: the document must stay byte for byte what sorting and writing them again
/// gives, whatever the arrival order, and a kept array a document refers to must never change.
/// </summary>
public sealed class CancelledOrdersWrittenOnceTests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    private static byte[] Shared(CustomerProfile p)
    {
        var shared = ProfileSerializer.SerializeShared(p);
        return shared.Bytes ?? shared.Shared!.ToArray();
    }

    private static string Cancelled(byte[] document)
    {
        using var d = JsonDocument.Parse(document);
        return d.RootElement.TryGetProperty("cancelledOrders", out var c) ? c.GetRawText() : "(none)";
    }

    // Cancellations (some of an order cancelled before), writes in both forms, reloads and merges, on two profiles.
    [Property(MaxTest = 300)]
    public void TheDocument_IsWhatSortingAndWritingEveryCancelledOrderAgainGives(NonNegativeInt[] steps)
    {
        var profiles = new[] { new CustomerProfile("a", Start), new CustomerProfile("b", Start) };
        var n = 0;
        foreach (var step in steps)
        {
            n++;
            var s = unchecked((int)(((uint)step.Get * 2654435761u) + ((uint)n * 40503u)) & int.MaxValue); // spread over every choice
            var which = s % 2;
            var p = profiles[which];
            switch ((s / 2) % 6)
            {
                case 0:
                case 1: // one cancellation, sometimes one she had
                    p.CancelledOrders.Add($"order:{(s / 12) % 60}");
                    break;
                case 2: // many at once, across the kept size
                    for (var k = 0; k < 1 + ((s / 12) % 12); k++)
                    {
                        p.CancelledOrders.Add($"order:m{n}-{k}");
                    }

                    break;
                case 3: // reloaded from its document (a cache miss)
                    profiles[which] = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version);
                    break;
                case 4: // the other's cancelled orders merged in
                    foreach (var c in profiles[1 - which].CancelledOrders)
                    {
                        p.CancelledOrders.Add(c);
                    }

                    break;
                default:
                    break; // a commit that cancelled nothing
            }

            // One form per step, as one store writes (a kept array is kept for the options it was written with): mostly
            // the shared one, now and then the contiguous one.
            foreach (var q in profiles)
            {
                Assert.Equal(WrittenJsonProperties.Plain(q), (s / 12) % 4 == 3 ? ProfileSerializer.Serialize(q) : Shared(q));
            }
        }
    }

    // A profile's message keys (up to 500, the oldest trimmed, one more per message) are kept once written too.
    [Property(MaxTest = 200)]
    public void MessageKeys_AreWrittenAsIfNothingWereKept(NonNegativeInt[] steps)
    {
        var p = new CustomerProfile("p", Start);
        var n = 0;
        foreach (var step in steps)
        {
            n++;
            var s = unchecked((int)(((uint)step.Get * 2654435761u) + ((uint)n * 40503u)) & int.MaxValue);
            for (var k = 0; k < 1 + (s % 40); k++)
            {
                p.MessageKeys.Add($"order-{n}-{k}");
            }

            if (p.MessageKeys.Count > 120)
            {
                p.MessageKeys.RemoveRange(0, p.MessageKeys.Count - 120); // as planning trims them (to 500)
            }

            if ((s / 40) % 5 == 0)
            {
                p = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), p.Version); // a cache miss
            }

            Assert.Equal(WrittenJsonProperties.Plain(p), (s / 200) % 4 == 3 ? ProfileSerializer.Serialize(p) : Shared(p));
        }

        Assert.True(steps.Length < 3 || p.MessageKeys is WrittenOnceList<string>);
    }

    [Fact]
    public void ACommitThatCancelledNothing_WritesTheKeptArrayAgain_AndANewCancellationLeavesItAsItWas()
    {
        var p = new CustomerProfile("p", Start);
        for (var i = 0; i < 400; i++)
        {
            p.CancelledOrders.Add($"order:{(i * 7919) % 400}"); // not in ordinal order
        }

        var first = Shared(p);
        var kept = p.CancelledOrders.Written;
        Assert.NotNull(kept);
        var before = kept.ToArray();
        Assert.Equal(first, Shared(p));
        Assert.Same(kept, p.CancelledOrders.Written); // written again, not sorted again

        Assert.True(p.CancelledOrders.Add("order:0-late"));
        Assert.False(p.CancelledOrders.Add("order:0-late"));
        var second = Shared(p);
        Assert.Equal(before, kept); // a document that referred to it still reads what it did
        Assert.NotSame(kept, p.CancelledOrders.Written);
        Assert.Equal(WrittenJsonProperties.Plain(p), second);
        var written = JsonSerializer.Deserialize<string[]>(Cancelled(second))!;
        Assert.Equal(401, written.Length);
        Assert.Equal(written.Order(StringComparer.Ordinal), written);
    }

    [Fact]
    public async Task CancelledOrders_AreTheSameDocument_InEitherArrivalOrder()
    {
        async Task<string> RunAsync(bool reversed)
        {
            await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start.AddDays(1)));
            var events = Enumerable.Range(0, 40).Select(i => new CustomerEvent
            {
                Id = $"c{i}",
                Type = EventTypes.OrderCancelled,
                Timestamp = Start.AddMinutes(i),
                Identifiers = [Identifier.CustomerId("ann")],
                Properties = JsonData.From(new { order_id = $"o{i}" }),
            }).ToList();
            if (reversed)
            {
                events.Reverse();
            }

            foreach (var e in events)
            {
                Assert.True((await engine.TrackAsync(e)).IsAcknowledged);
            }

            var profile = await engine.GetProfileAsync(Identifier.CustomerId("ann"));
            Assert.Equal(40, profile!.Statistics.CancelledOrderCount);
            return Cancelled((await engine.Store.LoadProfileAsync(profile.Id))!.Document);
        }

        Assert.Equal(await RunAsync(reversed: false), await RunAsync(reversed: true));
    }
}
