namespace Omnichannel.Sdk;

/// <summary>
/// A soft bounce of an address on a channel: <paramref name="Address"/> is the keyed hash of the channel and the address
/// (the address may be another person's, so it is never kept in plain text); <paramref name="MessageId"/> the message it
/// was about, when named.
/// </summary>
internal sealed record SoftBounceMark(string Channel, string Address, DateTimeOffset At, string? MessageId = null);

/// <summary>
/// <see cref="Delivery.DeliveryOptions.SoftBounceLimit"/> and <see cref="Delivery.DeliveryOptions.SoftBounceWindow"/>, and
/// the engine's keyed hash of a channel and an address.
/// </summary>
internal sealed record SoftBounceRule(int Limit, TimeSpan Window, Func<string, string, string> Hash);

// Audit U73: soft bounces add up. An address that soft-bounces again and again (a mailbox full for good, a number nobody
// answers) was tried forever (Notifuse/notifuse#323, knadh/listmonk#991, astrobin/astrobin#1672). SoftBounceLimit of
// them in a row — no delivery, open or click of a message on that channel to that address in between, read from the
// profile's touches — within SoftBounceWindow suppress the address on that channel as a hard bounce does (Suppress: the
// profile's list, then the store's list on commit, a phone per channel).
internal static partial class ProfileCore
{
    /// <summary>Most soft-bounce marks a profile keeps (<see cref="CustomerProfile.SoftBounces"/>): the oldest go first.</summary>
    internal const int MaxSoftBounceMarks = 200;

    private static void CountSoftBounce(CustomerProfile p, CustomerEvent e, string channel, SoftBounceRule rule)
    {
        if (rule.Limit < 1 || OutcomeProperties.BouncedAddress(p, e, channel) is not { } address)
        {
            return;
        }

        var hash = rule.Hash(channel, address);
        if (p.HasSuppressedAddresses && (p.SuppressedAddresses.Contains(channel + ":" + address) || p.SuppressedAddresses.Contains(channel + ":#" + hash)))
        {
            return; // suppressed already (a hard bounce): nothing to count
        }

        var key = WellKnownProperties.String(e.Properties, "message_id");
        var marks = p.SoftBounces;
        var known = key is null ? -1 : marks.FindIndex(m => m.Channel == channel && m.Address == hash && m.MessageId == key);
        if (known >= 0)
        {
            // The same message's bounce again (a webhook retried, or sent by two systems): one bounce, at its earliest report.
            if (e.Timestamp < marks[known].At)
            {
                marks[known] = marks[known] with { At = e.Timestamp };
            }
        }
        else
        {
            marks.Add(new SoftBounceMark(channel, hash, e.Timestamp, key));
        }

        SortSoftBounces(marks);
        var reached = LastReached(p, channel, address);
        DateTimeOffset? newest = null;
        foreach (var m in marks)
        {
            if (m.Channel == channel && m.Address == hash && (newest is null || m.At > newest))
            {
                newest = m.At;
            }
        }

        var run = marks.Count(m => m.Channel == channel && m.Address == hash && m.At > newest!.Value - rule.Window && (reached is null || m.At > reached));
        if (run >= rule.Limit)
        {
            Suppress(p, channel + ":" + address);
            marks.RemoveAll(m => m.Channel == channel && m.Address == hash);
            return;
        }

        // Bounces that can no longer be part of a run (out of the window of the newest) go; those before she was reached
        // there stay, uncounted (a delivery's report may be late, and a merge must find what each side kept).
        marks.RemoveAll(m => m.Channel == channel && m.Address == hash && m.At <= newest!.Value - rule.Window);
        if (marks.Count > MaxSoftBounceMarks)
        {
            marks.RemoveRange(0, marks.Count - MaxSoftBounceMarks);
        }
    }

    // The newest delivery, open or click of a message on the channel that went to the address, or to an address not
    // known (a message of the host's own: it may have been this one, and a guess must not suppress).
    private static DateTimeOffset? LastReached(CustomerProfile p, string channel, string address)
    {
        DateTimeOffset? reached = null;
        foreach (var t in p.Touches)
        {
            if (t.Channel != channel || (t.SentTo is { } to && to != address))
            {
                continue;
            }

            reached = Max(reached, Max(t.DeliveredAt, Max(t.OpenedAt, t.ClickedAt)));
        }

        return reached;
    }

    // Ordinal order of time, channel, address and message: the document does not depend on arrival order or merges.
    private static void SortSoftBounces(List<SoftBounceMark> marks) => marks.Sort(static (a, b) =>
        a.At.CompareTo(b.At) is var c and not 0 ? c
        : string.CompareOrdinal(a.Channel, b.Channel) is var d and not 0 ? d
        : string.CompareOrdinal(a.Address, b.Address) is var f and not 0 ? f
        : string.CompareOrdinal(a.MessageId, b.MessageId));

    // Merging: both sides' bounces, the same message's once (its earliest report); the next bounce reads the joined run.
    private static void MergeSoftBounces(CustomerProfile target, CustomerProfile other)
    {
        if (!other.HasSoftBounces)
        {
            return;
        }

        var marks = target.SoftBounces;
        foreach (var m in other.SoftBounces)
        {
            var same = marks.FindIndex(t => t.Channel == m.Channel && t.Address == m.Address
                && (m.MessageId is not null ? t.MessageId == m.MessageId : t.MessageId is null && t.At == m.At));
            if (same < 0)
            {
                marks.Add(m);
            }
            else if (m.At < marks[same].At)
            {
                marks[same] = m;
            }
        }

        SortSoftBounces(marks);
        if (marks.Count > MaxSoftBounceMarks)
        {
            marks.RemoveRange(0, marks.Count - MaxSoftBounceMarks);
        }
    }
}
