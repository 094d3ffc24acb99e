using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U87b (U87's property, seed 1463119740520323215,6752746507143482293): a hard bounce heard in the same unit of work
/// as a delivery that ends a soft-bounce run (one profile's reports in one batch) was lifted with the run: the lift took
/// off the hard bounce's plain entry, not hashed until the commit, so the address was let through again. Shrunk by hand
/// from the property's 22 events: three soft bounces, a hard bounce and the run-ending delivery, all on her customer id.
/// </summary>
public sealed class AuditU87bTests
{
    private static readonly Identifier Cid = Identifier.CustomerId("c-u87b");
    private static readonly Identifier Mail = Identifier.Email("u87b@example.com");
    private static readonly DateTimeOffset Day = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Report(string id, string type, TimeSpan at, object properties) => new()
    {
        Id = id,
        Type = type,
        Timestamp = Day + at,
        Identifiers = [Cid],
        Channel = "server",
        Properties = JsonData.From(properties),
    };

    private static CustomerEvent[] Reports() =>
    [
        Report("s1", EventTypes.MessageBounced, TimeSpan.FromHours(9), new { channel = "email", message_id = "m-1", bounce_type = "soft", address = Mail.Value }),
        Report("s6", EventTypes.MessageBounced, TimeSpan.FromHours(9), new { channel = "email", message_id = "m-6", bounce_type = "soft", address = Mail.Value }),
        Report("s7", EventTypes.MessageBounced, TimeSpan.FromHours(9), new { channel = "email", message_id = "m-7", bounce_type = "soft", address = Mail.Value }),
        Report("d7", EventTypes.MessageDelivered, TimeSpan.FromHours(15), new { channel = "email", message_id = "m-7", address = Mail.Value }),
        Report("h20", EventTypes.MessageBounced, TimeSpan.FromHours(16), new { channel = "email", message_id = "t-20", bounce_type = "hard", address = Mail.Value }),
    ];

    public static TheoryData<int[], bool, int> Orders() => new()
    {
        { [0, 1, 2, 3, 4], false, 1 }, // time order, one report at a time (the reference)
        { [0, 1, 2, 3, 4], true, 1 },  // time order, one batch
        { [2, 1, 0, 4, 3], true, 1 },  // the property's arrival: the hard bounce before the delivery, one batch
        { [2, 1, 0, 4, 3], true, 3 },
        { [2, 1, 0, 4, 3], false, 3 }, // the same arrival one report at a time
        { [4, 0, 1, 2, 3], true, 1 },
        { [0, 4, 1, 3, 2], true, 3 },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task AHardBounce_InTheSameUnitAsTheDeliveryEndingASoftRun_StaysFinal(int[] order, bool oneBatch, int partitions)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = partitions, start: Day.AddHours(18));
        var reports = Reports();
        if (oneBatch)
        {
            foreach (var r in await host.Client.TrackBatchAsync([.. order.Select(i => reports[i])]))
            {
                Assert.True(r.IsAcknowledged, r.EventId + r.Status);
            }
        }
        else
        {
            foreach (var i in order)
            {
                Assert.True((await host.Client.TrackAsync(reports[i])).IsAcknowledged);
            }
        }

        Assert.True(await host.Client.IsSuppressedAsync(Mail), "the hard bounce was lifted with the soft-bounce run");
        var p = await host.ProfileAsync(Cid);
        Assert.True(p.HasSuppressedAddresses && p.SuppressedAddresses.Count == 1, string.Join(",", p.SuppressedAddresses));
    }

    [Fact]
    public async Task AHardBounce_HeardWithHerSignUpAndTheRun_InOneBatch_StaysFinal()
    {
        // The same with the address hers (signed up in the batch): her identifier stays marked suppressed.
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Day.AddHours(18));
        var signUp = new CustomerEvent { Id = "su", Type = "user.signed_up", Timestamp = Day.AddHours(8), Identifiers = [Cid, Mail] };
        var reports = Reports();
        foreach (var r in await host.Client.TrackBatchAsync([reports[2], reports[1], signUp, reports[0], reports[4], reports[3]]))
        {
            Assert.True(r.IsAcknowledged, r.EventId + r.Status);
        }

        Assert.True(await host.Client.IsSuppressedAsync(Mail), "the hard bounce was lifted with the soft-bounce run");
        var p = await host.ProfileAsync(Cid);
        Assert.Contains(p.Identifiers, i => i.Value == Mail.Value && i.IsSuppressedOn("email"));
    }
}
