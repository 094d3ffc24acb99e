using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// An older report of an order, a loyalty transaction or a referral arriving after a newer one (audit U93's open case):
/// the key's entry in the segment history holds the newest report's values whatever order the reports arrive in, even
/// when the newest one's entry was pruned before the older report came, and across a merge.
/// </summary>
public sealed class OlderReportArrivingLateTests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);

    /// <summary>One report: its type, key, minute after 08:00, value (<c>total</c> or <c>points</c>) and who sent it.</summary>
    private sealed record Report(string Type, string Key, int Minute, int Value, Identifier Who);

    private static readonly Identifier Customer = Identifier.CustomerId("late-1");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-late-1");

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    [InlineData(EventTypes.ReferralConverted)]
    public async Task ACorrectedReport_ThenItsOlderOne_ReadsAsTheCorrection(string type)
    {
        // k2 reported at 08:09 with 150 and corrected at 08:22 to 50: in time order "ever 100 or more" is false. With the
        // correction first, k2's entry is pruned (50 matches nothing, neither first nor last) before the 08:09 report comes.
        Report[] reports =
        [
            new(type, "k1", 5, 10, Customer), new(type, "k2", 22, 50, Customer), new(type, "k3", 30, 10, Customer),
            new(type, "k2", 9, 150, Customer),
        ];
        var timeOrder = await Run(type, reports, [0, 3, 1, 2]);
        var lateOlder = await Run(type, reports, [0, 1, 2, 3]);
        Assert.Contains("big=False", timeOrder, StringComparison.Ordinal);
        Assert.Equal(timeOrder, lateOlder);
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsEarned)]
    [InlineData(EventTypes.ReferralSent)]
    public async Task ACorrectionOnOneProfile_AndTheOlderReportOnAnother_ReadAsTheCorrectionAfterTheirMerge(string type)
    {
        // The customer's profile has the correction (pruned there); the cookie's has the older 150. Then the cookie logs in.
        Report[] reports =
        [
            new(type, "k1", 5, 10, Customer), new(type, "k2", 22, 50, Customer), new(type, "k3", 30, 10, Customer),
            new(type, "k2", 9, 150, Cookie),
        ];
        var oneProfile = await Run(type, WithAll(reports, Customer), [0, 3, 1, 2], merge: true);
        var merged = await Run(type, reports, [0, 1, 2, 3], merge: true);
        Assert.Contains("big=False", oneProfile, StringComparison.Ordinal);
        Assert.Equal(oneProfile, merged);
    }

    [Theory]
    [InlineData(EventTypes.OrderPlaced)]
    [InlineData(EventTypes.LoyaltyPointsRedeemed)]
    public async Task Control_AnOlderReportOfANewKey_StillCounts(string type)
    {
        // A different key at 08:09 with 150: she did reach 100 once.
        Report[] reports =
        [
            new(type, "k1", 5, 10, Customer), new(type, "k2", 22, 50, Customer), new(type, "k3", 30, 10, Customer),
            new(type, "k4", 9, 150, Customer),
        ];
        var answers = await Run(type, reports, [0, 1, 2, 3]);
        Assert.Contains("t=0 big=True", answers, StringComparison.Ordinal);
    }

    private static Report[] WithAll(Report[] reports, Identifier who) => reports.Select(r => r with { Who = who }).ToArray();

    private static async Task<string> Run(string type, Report[] reports, int[] arrival, bool merge = false)
    {
        var valueName = SegmentAnswersOverTime.ValueName(type);
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "big", "name": "x", "rule": {"event": "{{{type}}}", "where": [{"property": "{{{valueName}}}", "op": "gte", "value": 100}]}}""").Value!);
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "first", "name": "x", "rule": {"firstEvent": "{{{type}}}", "op": "withinLast", "value": "PT80M"}}""").Value!);
            o.Segments.Add(SegmentJson.Parse($$$"""{"id": "last", "name": "x", "rule": {"lastEvent": "{{{type}}}", "op": "moreThanAgo", "value": "PT75M"}}""").Value!);
        });
        var n = 0;
        foreach (var i in arrival)
        {
            var r = reports[i];
            var e = SegmentAnswersOverTime.KeyedReport(type, r.Key, r.Value, Start + TimeSpan.FromMinutes(r.Minute), "e" + n++, r.Who);
            Assert.True((await host.TrackAsync(e)).IsAcknowledged);
        }

        if (merge)
        {
            await SegmentAnswersOverTime.LogInAsync(host, Customer, Cookie, Start + TimeSpan.FromMinutes(40));
        }

        return await SegmentAnswersOverTime.ReadAsync(host, Customer, ["big", "first", "last"]);
    }
}
