using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit C, erasure that leaves data: after Ann is erased, nothing that names her may stay readable in anybody else's
/// profile (their export), whatever path brought it there.
/// </summary>
public sealed class AuditCErasureLeftoversTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Bob = Identifier.CustomerId("bob-1");

    [Fact]
    public async Task ABounceOfHerAddressReportedOnAnotherProfile_LeavesNoPlainAddressInHisExport()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(SegmentJson.Parse(
            """{"id": "bounced", "name": "x", "rule": {"event": "message.bounced", "within": "P30D"}}""").Value!));
        await host.TrackAsync("user.signed_up", [Ann]);
        await host.TrackAsync("user.signed_up", [Bob]);

        // The provider's webhook names her address; the host tracked it on the profile that sent the message (Bob's).
        await host.TrackAsync(EventTypes.MessageBounced, [Bob], new
        {
            channel = "email",
            address = "ann@example.com",
            bounce_type = "hard",
            reason = "550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown",
        });

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        var export = (await host.Client.ExportProfileAsync(Bob))!.ToJsonString();
        Assert.DoesNotContain("ann@example.com", export, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AfterHerErasure_AnotherKnownCustomerOnTheSharedDevice_IsNotRefused()
    {
        await using var host = OmnichannelTestHost.Create();
        var ipad = Identifier.DeviceId("family-ipad");
        await host.TrackAsync("user.logged_in", [Ann, ipad]);
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email("bob@example.com")]);
        Assert.True(await host.Client.EraseProfileAsync(Ann));

        // Bob, a known customer, logs in on the family iPad she used: a device id does not identify a person.
        var r = await host.Client.TrackAsync(host.Event("user.logged_in", [Bob, ipad]));
        Assert.True(r.Status == TrackStatus.Accepted, $"{r.Status}: {string.Join("; ", r.Errors)}");
    }

    [Fact]
    public async Task AfterHerErasure_HerDeviceAlone_OrBesideAnotherDevice_IsStillRefused()
    {
        await using var host = OmnichannelTestHost.Create();
        var ipad = Identifier.DeviceId("family-ipad");
        await host.TrackAsync("user.logged_in", [Ann, ipad]);
        Assert.True(await host.Client.EraseProfileAsync(Ann));

        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("page.viewed", [ipad]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("page.viewed", [ipad, Identifier.AnonymousId("cookie-2")]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("user.logged_in", [Ann, Bob]))).Status); // her own address still is
    }
}
