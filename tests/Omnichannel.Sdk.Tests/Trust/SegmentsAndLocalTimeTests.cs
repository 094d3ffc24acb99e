using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Issue "One person, one truth", sections 5 and 6: segments hold from the first event; one notion of local time.</summary>
public sealed class SegmentsAndLocalTimeTests
{
    [Fact]
    public async Task NegativeAndAbsenceConditions_HoldFromAProfilesFirstEvent()
    {
        SegmentDefinition[] segments =
        [
            SegmentJson.Parse("""{"id": "never-ordered", "name": "x", "rule": {"not": {"event": "order.placed"}}}""").Value!,
            SegmentJson.Parse("""{"id": "zero-orders", "name": "x", "rule": {"stat": "orderCount", "op": "eq", "value": 0}}""").Value!,
            SegmentJson.Parse("""{"id": "no-tier", "name": "x", "rule": {"trait": "tier", "op": "notExists"}}""").Value!,
            SegmentJson.Parse("""{"id": "vip", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""").Value!,
            SegmentJson.Parse("""{"id": "not-vip", "name": "x", "rule": {"not": {"segment": "vip"}}}""").Value!,
        ];
        await using var host = OmnichannelTestHost.Create(o =>
        {
            foreach (var s in segments)
            {
                o.Segments.Add(s);
            }
        });
        var cookie = Identifier.AnonymousId("cookie-new");
        await host.TrackAsync("page.viewed", [cookie]);
        await host.TrackAsync("page.viewed", [cookie]);

        var p = await host.ProfileAsync(cookie);
        foreach (var s in segments.Where(s => s.Id != "vip"))
        {
            Assert.True(p.IsInSegment(s.Id), s.Id);
            Assert.Equal(1, (await host.Client.PreviewSegmentAsync(s)).Matching);
        }

        Assert.False(p.IsInSegment("vip"));
    }

    [Fact]
    public async Task ABirthdayRule_UsesTheCustomersLocalDate()
    {
        var birthday = SegmentJson.Parse("""{"id": "birthday-today", "name": "x", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}}""").Value!;

        // 2026-03-14 20:00 UTC is already 15 March in Auckland (UTC+13).
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(birthday), start: new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
        var kiwi = Identifier.CustomerId("kiwi");
        var londoner = Identifier.CustomerId("londoner");
        await host.TrackAsync(host.Event("user.updated", [kiwi], traits: new { birthday = "1990-03-15" }, context: new EventContext { TimeZone = "Pacific/Auckland" }));
        await host.TrackAsync(host.Event("user.updated", [londoner], traits: new { birthday = "1990-03-15" }, context: new EventContext { TimeZone = "Europe/London" }));

        Assert.True((await host.ProfileAsync(kiwi)).IsInSegment("birthday-today"));
        Assert.False((await host.ProfileAsync(londoner)).IsInSegment("birthday-today"));

        // The Londoner's birthday starts at her local midnight.
        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 15, 0, 0, 0, TimeSpan.Zero));
        Assert.True((await host.ProfileAsync(londoner)).IsInSegment("birthday-today"));
    }

    [Fact]
    public async Task ABirthdayRule_UsesTheDefaultZone_WhenTheCustomersIsUnknown()
    {
        var birthday = SegmentJson.Parse("""{"id": "birthday-today", "name": "x", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}}""").Value!;
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(birthday);
            o.Delivery.DefaultTimeZone = "Pacific/Auckland";
        }, start: new DateTimeOffset(2026, 3, 14, 20, 0, 0, TimeSpan.Zero));
        var kiwi = Identifier.CustomerId("kiwi");
        await host.TrackAsync(host.Event("user.updated", [kiwi], traits: new { birthday = "1990-03-15" }));

        Assert.True((await host.ProfileAsync(kiwi)).IsInSegment("birthday-today"));
    }

    [Theory]
    [InlineData("2026-03-08T02:30:00", "2026-03-08T07:30:00Z")] // skipped: 02:30 EST does not exist → 03:30 EDT
    [InlineData("2026-11-01T01:30:00", "2026-11-01T05:30:00Z")] // twice: the earlier instant (EDT)
    [InlineData("2026-07-01T09:00:00", "2026-07-01T13:00:00Z")]
    public void ALocalTime_IsResolvedByTheDocumentedRule(string local, string expected)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), LocalTime.ToInstant(DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture), zone));
    }

    [Fact]
    public void QuietHoursEndingInASkippedHour_EndAtTheJump()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

        // Quiet hours 21:00–02:30 on the night the clocks jump from 02:00 to 03:00: they end at the jump, 03:00 local
        // (audit Tz; they used to end at 03:30, half an hour after her clock passed 02:30).
        var end = DeliveryPlanner.QuietHoursEnd(new DateTimeOffset(2026, 3, 8, 5, 0, 0, TimeSpan.Zero), zone, new TimeOnly(21, 0), new TimeOnly(2, 30));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 0, 0, TimeSpan.Zero), end);
    }
}

public sealed class LateTimeZoneTests
{
    [Fact]
    public async Task ATimeZoneLearnedAfterTheBirthday_MovesThe0900LocalTrigger()
    {
        var birthday = Journeys.JourneyRig.Parse("""
            {"id": "bday", "version": 1, "name": "Birthday", "trigger": {"type": "date", "trait": "birthday", "offset": "PT0S", "localTime": "09:00", "annual": true},
             "steps": [{"id": "card", "type": "send", "channels": ["email"], "template": "birthday-card", "class": "transactional"}]}
            """);
        await using var rig = Journeys.JourneyRig.Create([birthday], start: new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        var ann = Identifier.CustomerId("ann");
        await rig.TrackAsync("user.signed_up", [ann, Identifier.Email("ann@example.com")], traits: new { birthday = "1990-03-15" });
        await rig.TrackAsync("page.viewed", [ann], context: new EventContext { TimeZone = "America/New_York" });

        // 09:00 UTC would be 05:00 in New York: nothing yet.
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 15, 12, 59, 0, TimeSpan.Zero));
        Assert.Empty(rig.Sent());

        // 09:00 EDT on 15 March is 13:00 UTC.
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 15, 13, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:birthday-card"], rig.Sent());
    }
}
