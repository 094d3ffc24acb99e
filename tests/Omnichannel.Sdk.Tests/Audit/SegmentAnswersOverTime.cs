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

    /// <summary>The property a keyed report's value is in: an order's <c>total</c>, else <c>points</c>.</summary>
    public static string ValueName(string type) => type == EventTypes.OrderPlaced ? "total" : "points";

    /// <summary>
    /// One report of a keyed event: an order (<c>order_id</c>, <c>total</c>, EUR), a loyalty transaction
    /// (<c>transaction_id</c>, <c>points</c>) or a referral (<c>referral_id</c>, <c>points</c>), optionally with a coupon.
    /// </summary>
    public static CustomerEvent KeyedReport(string type, string key, int value, DateTimeOffset at, string eventId, Identifier who, string? coupon = null)
    {
        var keyName = type == EventTypes.OrderPlaced ? "order_id" : type.StartsWith("loyalty", StringComparison.Ordinal) ? "transaction_id" : "referral_id";
        var properties = new System.Text.Json.Nodes.JsonObject { [keyName] = key, [ValueName(type)] = value };
        if (coupon is not null)
        {
            properties["coupon"] = coupon;
        }

        if (type == EventTypes.OrderPlaced)
        {
            properties["currency"] = "EUR";
        }

        return new CustomerEvent
        {
            Id = eventId,
            Type = type,
            Timestamp = at,
            Identifiers = [who],
            Channel = ChannelNames.Web,
            Properties = JsonData.From(properties),
        };
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
