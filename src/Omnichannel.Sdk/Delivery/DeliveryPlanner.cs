namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// A record of a queued marketing message, kept on the profile for frequency caps; or of a transactional message held for
/// quiet hours (<see cref="Transactional"/>), kept only while it waits, so that it follows her zone too.
/// </summary>
/// <param name="Channel">The channel it was queued on.</param>
/// <param name="Topic">Its topic.</param>
/// <param name="At">When it is due.</param>
/// <param name="Key">The message key (a failed or cancelled message stops counting).</param>
internal sealed record SentMessage(string Channel, string? Topic, DateTimeOffset At, string? Key = null)
{
    /// <summary>
    /// When the message is next tried after a transient failure (null: not waiting for a retry). Until then nothing of it is
    /// in flight, so a withdrawal frees its cap slot at once (see JourneyRunner.FreeCapSlotsOfWithdrawn).
    /// </summary>
    public DateTimeOffset? RetryAt { get; init; }

    /// <summary>
    /// It left: a transport accepted it, at <see cref="At"/>. A check at that same instant counts it whatever the keys
    /// (messages due at one instant are otherwise ordered by key, and one already gone with a later key was missed).
    /// </summary>
    public bool Sent { get; init; }

    /// <summary>A transactional message held for quiet hours: no cap counts it; it is logged only to follow her zone (audit U51).</summary>
    public bool Transactional { get; init; }
}

/// <summary>A channel the message can go to, with the address there.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Address">The address (email, E.164 phone, device token, profile id for in-app).</param>
internal sealed record DeliveryCandidate(string Channel, string Address);

/// <summary>The outcome of the policies: where and when to send, or why not.</summary>
internal sealed record DeliveryDecision(IReadOnlyList<DeliveryCandidate> Candidates, DateTimeOffset DueAt, string? SkipReason, IReadOnlyList<string> PassedOver);

/// <summary>
/// The delivery policies, pure: address and consent, suppression, frequency caps, quiet hours — in that order, each
/// refusal with its reason. Idempotency is the outbox's (a key is accepted once); fallback is the dispatcher's (the
/// candidates here, in order).
/// </summary>
internal static class DeliveryPlanner
{
    public static DeliveryDecision Decide(CustomerProfile p, MessageRequest r, DateTimeOffset now, DeliveryOptions o, Func<Identifier, bool> isSuppressed, Func<string, string, bool> suppressedOnProfile)
    {
        var passedOver = new List<string>();
        var candidates = new List<DeliveryCandidate>();

        // When it would go out: quiet hours may defer it, and caps count the messages around that moment, not now (two
        // messages deferred from the evening to the same morning are two messages of that morning's local day).
        var action = r.Class == MessageClass.Marketing ? o.MarketingQuietHours : o.TransactionalQuietHours;
        var zone = ZoneOf(p, o);
        var quietUntil = action != QuietHoursAction.Ignore ? QuietHoursEnd(now, zone, o.QuietHoursStart, o.QuietHoursEnd) : null;
        var sendAt = action == QuietHoursAction.Defer && quietUntil is { } deferredTo ? deferredTo : now;
        foreach (var channel in r.Channels)
        {
            if (Address(p, channel) is not { } address)
            {
                passedOver.Add(p.IdentifierList.Exists(i => i.IsSuppressedOn(channel)) ? $"{channel}: the address is suppressed" : $"{channel}: no address");
                continue;
            }

            if ((AddressIdentifier(channel, address) is { } id && isSuppressed(id)) || suppressedOnProfile(channel, address))
            {
                passedOver.Add($"{channel}: the address is suppressed");
                continue;
            }

            if (r.Class == MessageClass.Marketing && !HasConsent(p, channel, r.Topic, o))
            {
                passedOver.Add($"{channel}: no consent{(r.Topic is null ? string.Empty : " for " + r.Topic)}");
                continue;
            }

            // A fallback (a channel after one the message goes to) is not capped here: it leaves only if the channels before
            // it fail, maybe hours later on a day with room, and is checked then, where and when it leaves
            // (CapReachedOnFallback). Dropped here, a fallback that would have fitted then was never tried (audit U48).
            if (r.Class == MessageClass.Marketing && candidates.Count == 0 && CapReached(p, channel, r.Topic, sendAt, o) is { } cap)
            {
                passedOver.Add($"{channel}: {cap}");
                continue;
            }

            candidates.Add(new DeliveryCandidate(channel, address));
        }

        if (candidates.Count == 0)
        {
            return new DeliveryDecision([], now, string.Join("; ", passedOver), passedOver);
        }

        if (quietUntil is { } end)
        {
            return action == QuietHoursAction.Drop
                ? new DeliveryDecision([], now, $"quiet hours ({o.QuietHoursStart:HH\\:mm}–{o.QuietHoursEnd:HH\\:mm} {zone.Id})", passedOver)
                : new DeliveryDecision(candidates, end, null, passedOver);
        }

        return new DeliveryDecision(candidates, now, null, passedOver);
    }

    /// <summary>
    /// The address of a profile on a channel: of the identifiers of the channel's type that no hard bounce suppressed there, the
    /// one last seen (by event time); <see langword="null"/> when there is none. In-app and webhook messages go to the profile id.
    /// </summary>
    public static string? Address(CustomerProfile p, string channel)
    {
        var type = channel switch
        {
            ChannelNames.Email => IdentifierTypes.Email,
            ChannelNames.Sms or ChannelNames.WhatsApp => IdentifierTypes.Phone,
            ChannelNames.Push => IdentifierTypes.DeviceId,
            ChannelNames.InApp or ChannelNames.Webhook => null,
            _ => channel,
        };
        if (type is null)
        {
            return p.Id;
        }

        // The one she used last by event time; the same instant goes to the greater value, so arrival order never decides.
        // An address a hard bounce suppressed on the channel is passed over: her other address still reaches her.
        LinkedIdentifier? best = null;
        foreach (var i in p.IdentifierList)
        {
            if (i.Type == type && !i.IsSuppressedOn(channel) && (best is null || (i.LastSeen ?? i.LinkedAt).CompareTo(best.LastSeen ?? best.LinkedAt) is var c && (c > 0 || (c == 0 && string.CompareOrdinal(i.Value, best.Value) > 0))))
            {
                best = i;
            }
        }

        return best?.Value;
    }

    /// <summary>
    /// The identifier whose place on the suppression list (an erasure) blocks an address: the email, the phone (SMS,
    /// WhatsApp), the device id (push), her id of the channel's own type on a custom channel (<c>line</c>);
    /// <see langword="null"/> for in-app, webhook and host messages, whose address is the profile itself.
    /// </summary>
    public static Identifier? AddressIdentifier(string channel, string address) => channel switch
    {
        ChannelNames.Email => new Identifier(IdentifierTypes.Email, address),
        ChannelNames.Sms or ChannelNames.WhatsApp => new Identifier(IdentifierTypes.Phone, address),
        ChannelNames.Push => new Identifier(IdentifierTypes.DeviceId, address),
        ChannelNames.InApp or ChannelNames.Webhook or ChannelNames.Host => null,
        _ => new Identifier(channel, address),
    };

    /// <summary>Whether the channel's address is an email or a phone (a message held there moves to the one she uses now).</summary>
    public static bool EmailOrPhone(string channel) => channel is ChannelNames.Email or ChannelNames.Sms or ChannelNames.WhatsApp;

    /// <summary>Marketing consent: opt-in topics need a grant; opt-out topics only need no refusal.</summary>
    public static bool HasConsent(CustomerProfile p, string channel, string? topic, DeliveryOptions o)
    {
        var decision = p.GetConsent(channel, topic);
        var optOutTopic = topic is not null && (o.OptOutTopics.Contains(topic) || o.OptOutTopics.Any(t => CustomerProfile.SameTopic(t, topic)));
        return optOutTopic ? decision?.Granted != false : decision?.Granted == true;
    }

    /// <summary>
    /// The first cap (or the customer's own limit) that one more message on the channel, going out at
    /// <paramref name="now"/>, would break, described; else null.
    /// </summary>
    public static string? CapReached(CustomerProfile p, string channel, string? topic, DateTimeOffset now, DeliveryOptions o)
    {
        var zone = ZoneOf(p, o);
        foreach (var cap in o.FrequencyCaps)
        {
            if ((cap.Channel is not null && cap.Channel != channel) || (cap.Topic is not null && !CustomerProfile.SameTopic(cap.Topic, topic)))
            {
                continue;
            }

            var counted = p.MessageLog.Count(m => !m.Transactional &&
                (cap.Channel is null || m.Channel == cap.Channel) && (cap.Topic is null || CustomerProfile.SameTopic(m.Topic, cap.Topic)) && InCapWindow(m.At, now, cap, zone));
            if (counted >= cap.Max)
            {
                var scope = string.Join(" ", new[] { cap.Channel, cap.Topic }.Where(x => x is not null));
                var per = cap.PerLocalDay ? "local day" : System.Xml.XmlConvert.ToString(cap.Window!.Value);   // ISO 8601 (PT2H), as durations are written elsewhere
                return $"frequency cap of {cap.Max} per {per}{(scope.Length == 0 ? string.Empty : " on " + scope)} reached";
            }
        }

        if (p.Preferences is { MaxMessages: { } max, Period: { } period } && p.MessageLog.Count(m => !m.Transactional && InRollingWindow(m.At, now, period)) >= max)
        {
            return $"the customer's own limit of {max} per {System.Xml.XmlConvert.ToString(period)} reached";   // P7D, not 7.00:00:00
        }

        return null;
    }

    /// <summary>
    /// At dispatch: whether the logged marketing message <paramref name="key"/> would break a cap counting only the
    /// messages logged before it (earlier due time, then sent at that instant, then key). Each was within the caps when it
    /// was planned, but two profiles that merged each planned theirs without seeing the other's. One that leaves after its due time
    /// (<paramref name="now"/>) must also fit the window ending when it leaves.
    /// </summary>
    public static string? CapReachedBefore(CustomerProfile p, string key, DeliveryOptions o, DateTimeOffset now)
    {
        if (p.MessageLog.Find(m => m.Key == key) is not { } mine)
        {
            return null;
        }

        var before = new CustomerProfile(p.Id, p.CreatedAt) { Preferences = p.Preferences, TimeZone = p.TimeZone };
        // At one instant, one already sent counts whatever its key (it left first); the others by key (audit U51).
        before.MessageLog.AddRange(p.MessageLog.Where(m => m.Key != key && (m.At < mine.At || (m.At == mine.At && (m.Sent || string.CompareOrdinal(m.Key, key) < 0)))));
        var cap = CapReached(before, mine.Channel, mine.Topic, mine.At, o);
        if (cap is not null || now <= mine.At)
        {
            return cap;
        }

        // It leaves late (retries, a dispatcher that was down): it goes out now, so the window is the one ending now, and
        // every other message sent or due by now counts (a sent one is logged at the instant it left).
        var late = new CustomerProfile(p.Id, p.CreatedAt) { Preferences = p.Preferences, TimeZone = p.TimeZone };
        late.MessageLog.AddRange(p.MessageLog.Where(m => m.Key != key && m.At <= now).Select(m => LeavingWith(m, mine, now)));
        return CapReached(late, mine.Channel, mine.Topic, now, o);
    }

    // Another message not yet sent, due by now (its retry, if it waits for one, or its first attempt), that comes before
    // mine (earlier due time, then key) leaves now too: a dispatcher back after being down claims both, and each checked
    // the other at its old due time, so two went under a cap of one (retries: review of the thirty-seventh session; first
    // attempts: thirty-eighth session). Counted at that instant; a message sent is logged when it left (Sent), a failed or
    // cancelled one is not logged, and a transactional one is counted by no cap.
    private static SentMessage LeavingWith(SentMessage m, SentMessage mine, DateTimeOffset now) =>
        !m.Sent && !m.Transactional && (m.RetryAt ?? m.At) <= now && m.At < now && m.Key is { } other
            && (m.At < mine.At || (m.At == mine.At && string.CompareOrdinal(other, mine.Key) < 0))
            ? m with { At = now }
            : m;

    /// <summary>
    /// At a fallback: whether the logged marketing message <paramref name="key"/>, moved from the channel it was planned (and
    /// logged) on to <paramref name="channel"/>, breaks a cap there, counting every other logged message. Planning counted it
    /// on its first channel only, so the fallback channel's caps never saw it. Counted at the instant it leaves
    /// (<paramref name="now"/>, or its due time if later). <see langword="null"/> when it stays on its channel, is not
    /// logged, or breaks nothing.
    /// </summary>
    public static string? CapReachedOnFallback(CustomerProfile p, string key, string channel, DeliveryOptions o, DateTimeOffset now)
    {
        if (p.MessageLog.Find(m => m.Key == key) is not { } mine || mine.Channel == channel || mine.Transactional)
        {
            return null;
        }

        var leaves = now > mine.At ? now : mine.At;
        var others = new CustomerProfile(p.Id, p.CreatedAt) { Preferences = p.Preferences, TimeZone = p.TimeZone };
        others.MessageLog.AddRange(p.MessageLog.Where(m => m.Key != key).Select(m => LeavingWith(m, mine, leaves)));

        // A fallback after retries leaves after its due time, maybe on the next local day: it fits the cap of when it leaves
        // (counted at its due time, an SMS sent at 00:10 and the fallback at 00:20 were two under "1 a day"), and only that
        // one (an SMS the evening before refused a fallback leaving on a day with none). Its slot moves there with it.
        return CapReached(others, channel, mine.Topic, leaves, o);
    }

    /// <summary>
    /// Whether the logged marketing message <paramref name="key"/>, moved to leave at <paramref name="at"/> instead, breaks a
    /// cap there, counting every other logged message (as planning would, had it been planned for then), each one
    /// <paramref name="moved"/> names at the time it is moved to (messages brought forward by the same change).
    /// </summary>
    public static string? CapReachedIfMoved(CustomerProfile p, string key, DateTimeOffset at, DeliveryOptions o, IReadOnlyDictionary<string, DateTimeOffset>? moved = null)
    {
        if (p.MessageLog.Find(m => m.Key == key) is not { } mine)
        {
            return null;
        }

        var others = new CustomerProfile(p.Id, p.CreatedAt) { Preferences = p.Preferences, TimeZone = p.TimeZone };
        others.MessageLog.AddRange(p.MessageLog.Where(m => m.Key != key)
            .Select(m => moved is not null && m.Key is { } k && moved.TryGetValue(k, out var to) ? m with { At = to } : m));
        return CapReached(others, mine.Channel, mine.Topic, at, o);
    }

    /// <summary>The instant the quiet hours containing <paramref name="now"/> end, or <see langword="null"/> when now is not inside them.</summary>
    public static DateTimeOffset? QuietHoursEnd(DateTimeOffset now, TimeZoneInfo zone, TimeOnly start, TimeOnly end)
    {
        if (start == end)
        {
            return null;
        }

        var local = TimeZoneInfo.ConvertTime(now, zone);
        var time = TimeOnly.FromDateTime(local.DateTime);
        var inside = start < end ? time >= start && time < end : time >= start || time < end;
        if (!inside)
        {
            return null;
        }

        var endDate = DateOnly.FromDateTime(local.DateTime);
        if (start > end && time >= start)
        {
            endDate = endDate.AddDays(1); // the quiet hours run past midnight
        }

        // An end the clock skips (spring forward) is passed at the jump: from then her clock reads later than the end.
        var wall = endDate.ToDateTime(end);
        var instant = LocalTime.IsSkipped(wall, zone) ? LocalTime.EndOfGap(wall, zone) : ToInstant(wall, zone);

        // On the night clocks go back, an end inside the repeated hour has two instants; after the first has passed (it is
        // the second pass of that hour now), the quiet hours end at the second.
        if (instant <= now && LocalTime.SecondPass(wall, zone) is { } second)
        {
            instant = second;
        }

        return instant > now ? instant : null;
    }

    /// <summary>
    /// The end of the first quiet hours in <paramref name="zone"/> that hold an instant at or after <paramref name="from"/>
    /// (those containing it, else the next ones); <see langword="null"/> when there are no quiet hours.
    /// </summary>
    public static DateTimeOffset? FirstQuietHoursEndAfter(DateTimeOffset from, TimeZoneInfo zone, TimeOnly start, TimeOnly end)
    {
        if (start == end)
        {
            return null;
        }

        if (QuietHoursEnd(from, zone, start, end) is { } inside)
        {
            return inside;
        }

        var date = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(from, zone).DateTime);
        for (var i = 0; i < 3; i++)
        {
            var wall = date.AddDays(i).ToDateTime(start);
            var begins = LocalTime.IsSkipped(wall, zone) ? LocalTime.EndOfGap(wall, zone) : ToInstant(wall, zone);
            if (begins >= from && QuietHoursEnd(begins, zone, start, end) is { } ends)
            {
                return ends;
            }
        }

        return null;
    }

    /// <summary>The customer's zone (see <see cref="LocalTime.ZoneOf"/>).</summary>
    internal static TimeZoneInfo ZoneOf(CustomerProfile p, DeliveryOptions o) => LocalTime.ZoneOf(p.TimeZone, o.DefaultTimeZone);

    /// <summary>Local wall-clock time → instant (see <see cref="LocalTime.ToInstant"/>).</summary>
    internal static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone) => LocalTime.ToInstant(local, zone);

    private static bool InCapWindow(DateTimeOffset at, DateTimeOffset now, FrequencyCap cap, TimeZoneInfo zone) =>
        cap.PerLocalDay
            ? DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime) == DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime)
            : InRollingWindow(at, now, cap.Window!.Value);

    // Messages deferred to later (quiet hours) count too, but only those due within the window after now: a rolling window
    // holding both instants is no longer than it. A message held for a morning nine hours away (she moved zone) refused
    // this afternoon's message under "1 per 2 hours" (audit U46). Log entries only ever move later, so nothing counted
    // out here can come back inside the window; the check at dispatch counts again.
    private static bool InRollingWindow(DateTimeOffset at, DateTimeOffset now, TimeSpan window) =>
        at > now - window && at < now + window;
}
