using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// A hard bounce of an address a soft-bounce run suppressed is final, whichever order the reports arrive in one at a time:
/// the delivery that breaks the run (and lifts the run's suppression) must not lift the hard bounce, on one profile or
/// heard on her other one and merged. Held when first written (session 59); the same reports in one batch did not
/// (<see cref="AuditU87bTests"/>).
/// </summary>
public sealed class Session59BounceTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-s59");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.s59@example.com");
    private static readonly Identifier AnnDevice = Identifier.AnonymousId("v-ann-s59");
    private static readonly DateTimeOffset Start = new(2026, 5, 4, 9, 0, 0, TimeSpan.Zero);

    private static CustomerEvent Report(string id, string type, double hours, object properties, Identifier? on = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = Start.AddHours(hours),
        Channel = "server",
        Identifiers = [on ?? Ann],
        Properties = JsonData.From(properties),
    };

    private static CustomerEvent[] Reports(Identifier hardOn) =>
    [
        // Three soft bounces suppress the address; a delivery two hours later ends that run; a hard bounce an hour after is final.
        Report("s1", EventTypes.MessageBounced, 1, new { channel = "email", message_id = "m1", bounce_type = "soft", address = AnnEmail.Value }),
        Report("s2", EventTypes.MessageBounced, 1, new { channel = "email", message_id = "m2", bounce_type = "soft", address = AnnEmail.Value }),
        Report("s3", EventTypes.MessageBounced, 1, new { channel = "email", message_id = "m3", bounce_type = "soft", address = AnnEmail.Value }),
        Report("d3", EventTypes.MessageDelivered, 3, new { channel = "email", message_id = "m3", address = AnnEmail.Value }),
        Report("h4", EventTypes.MessageBounced, 4, new { channel = "email", message_id = "m4", bounce_type = "hard", address = AnnEmail.Value }, hardOn),
    ];

    public static TheoryData<int[], bool> Orders() => new()
    {
        { [0, 1, 2, 3, 4], false }, // time order
        { [0, 1, 2, 4, 3], false }, // the hard bounce before the delivery that ends the run
        { [4, 0, 1, 2, 3], false },
        { [0, 4, 1, 2, 3], false },
        { [0, 1, 2, 4, 3], true }, // the hard bounce heard on her other profile, merged before the delivery
        { [4, 0, 1, 2, 3], true },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task AHardBounce_StaysFinal_WhicheverOrderTheRunsReportsArriveIn(int[] order, bool onHerOtherProfile)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Start.AddDays(1));
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail], at: Start);
        var reports = Reports(onHerOtherProfile ? AnnDevice : Ann);
        foreach (var i in order)
        {
            if (onHerOtherProfile && i == 3)
            {
                await host.TrackAsync("user.logged_in", [Ann, AnnDevice], at: Start.AddHours(2));
            }

            Assert.True((await host.Client.TrackAsync(reports[i])).IsAcknowledged);
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail), "the hard bounce was lifted");
        var p = await host.ProfileAsync(Ann);
        Assert.Contains(p.Identifiers, i => i.Value == AnnEmail.Value && i.IsSuppressedOn("email"));
    }
}
