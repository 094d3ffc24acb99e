using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>What the arrival-order tests of the segment history compare: segment answers as time passes, and a merge by login.</summary>
internal static class SegmentAnswersOverTime
{
    /// <summary>
    /// Her membership of each segment (and, with <paramref name="members"/>, each segment's member count) now and after
    /// every 5 minutes for 75 minutes, one line each.
    /// </summary>
    public static async Task<string> ReadAsync(OmnichannelTestHost host, Identifier who, IEnumerable<string> segmentIds, bool members = false)
    {
        var ids = segmentIds.ToArray();
        var answers = new List<string>();
        for (var step = 0; step <= 15; step++)
        {
            if (step > 0)
            {
                await host.AdvanceAsync(TimeSpan.FromMinutes(5));
            }

            var profile = await host.Client.GetProfileAsync(who);
            foreach (var id in ids)
            {
                var answer = $"t={step * 5} {id}={profile?.IsInSegment(id) ?? false}";
                answers.Add(members ? $"{answer}/{(await host.Client.GetSegmentMembersAsync(id)).Count}" : answer);
            }
        }

        return string.Join("\n", answers);
    }

    /// <summary>A login carrying both identifiers at <paramref name="at"/>: their profiles merge.</summary>
    public static async Task LogInAsync(OmnichannelTestHost host, Identifier customer, Identifier cookie, DateTimeOffset at, string eventId = "login")
    {
        var login = new CustomerEvent
        {
            Id = eventId,
            Type = "user.logged_in",
            Timestamp = at,
            Identifiers = [customer, cookie],
            Channel = ChannelNames.Web,
        };
        Assert.True((await host.TrackAsync(login)).IsAcknowledged);
    }
}
