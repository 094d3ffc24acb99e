using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the forty-sixth session's changes (audits U73 and U74): soft bounces that add up, paths through lists of
/// products. Hostile inputs and arrival orders, through the public API and the test kit only.
/// </summary>
public sealed class ReviewFortySixthTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r46");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.r46@example.com");

    private static Task<TrackResult> SoftBounceAsync(OmnichannelTestHost host, IReadOnlyList<Identifier> on, string key, DateTimeOffset at) =>
        host.TrackAsync(EventTypes.MessageBounced, on, new { channel = ChannelNames.Email, message_id = key, address = AnnEmail.Value, bounce_type = "soft" }, channel: "server", at: at);

    // Three soft bounces within the window (days 0, 1, 2) and a fourth long after (day 100): the address is suppressed
    // whatever order the reports arrive in. The newest-first order lost the three: each was pruned as "out of the window
    // of the newest" on arrival, so they never added up.
    [Theory]
    [InlineData("in-order")]
    [InlineData("newest-first")]
    [InlineData("shuffled")]
    public async Task SoftBounces_InAnyArrivalOrder_SuppressTheSame(string order)
    {
        await using var host = OmnichannelTestHost.Create();
        var start = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromDays(101));
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail], at: start);
        int[] days = order switch
        {
            "in-order" => [0, 1, 2, 100],
            "newest-first" => [100, 2, 1, 0],
            _ => [1, 100, 0, 2],
        };
        foreach (var d in days)
        {
            Assert.Equal(TrackStatus.Accepted, (await SoftBounceAsync(host, [Ann], $"m{d}", start.AddDays(d).AddHours(1))).Status);
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
    }

    // A merge joins both sides' soft bounces of one address: two on one profile and one on the other are three in a row,
    // as they are when the link came first. The merge kept them and waited for a fourth bounce that may never come.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SoftBounces_OnTwoProfiles_AddUpOnTheirMerge_AsWhenLinkedFirst(bool linkFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var start = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromDays(5));
        if (linkFirst)
        {
            await host.TrackAsync("user.signed_up", [Ann, AnnEmail], at: start);
        }

        await SoftBounceAsync(host, [Ann], "m1", start.AddHours(1));
        await SoftBounceAsync(host, [AnnEmail], "m2", start.AddDays(1));
        await SoftBounceAsync(host, [Ann], "m3", start.AddDays(2));
        if (!linkFirst)
        {
            Assert.False(await host.Client.IsSuppressedAsync(AnnEmail)); // two profiles, two runs: not yet
            await host.TrackAsync("user.signed_up", [Ann, AnnEmail], at: start.AddDays(3));
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
    }

    // The rule for every input: soft bounces of one address (3 to 6, on days 0 to 80, each posted on her customer id or on
    // the email itself, two profiles until linked) suppress it or not the same whatever order the reports and the link
    // arrive in. Oracle: the link first, then the reports in time order.
    [Property(MaxTest = 30)]
    public void SoftBounces_AndTheirMerge_InAnyOrder_SuppressTheSame(int seed) => Compare(seed).GetAwaiter().GetResult();

    private static async Task Compare(int seed)
    {
        var random = new Random(seed);
        var bounces = Enumerable.Range(0, random.Next(3, 7))
            .Select(i => (Key: $"m{i}", Day: random.Next(0, 81), OnEmail: random.Next(2) == 0))
            .OrderBy(b => b.Day).ToList();
        var shuffled = bounces.OrderBy(_ => random.Next()).ToList();
        var linkAt = random.Next(0, shuffled.Count + 1);

        async Task<bool> RunAsync(IReadOnlyList<(string Key, int Day, bool OnEmail)> order, int link)
        {
            await using var host = OmnichannelTestHost.Create();
            var start = host.Time.GetUtcNow();
            await host.AdvanceAsync(TimeSpan.FromDays(82));
            for (var i = 0; i <= order.Count; i++)
            {
                if (i == link)
                {
                    await host.TrackAsync("user.signed_up", [Ann, AnnEmail], at: start);
                }

                if (i < order.Count)
                {
                    var b = order[i];
                    Assert.Equal(TrackStatus.Accepted, (await SoftBounceAsync(host, b.OnEmail ? [AnnEmail] : [Ann], b.Key, start.AddDays(b.Day).AddHours(1))).Status);
                }
            }

            return await host.Client.IsSuppressedAsync(AnnEmail);
        }

        Assert.Equal(await RunAsync(bounces, 0), await RunAsync(shuffled, linkAt));
    }
}
