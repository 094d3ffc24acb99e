namespace Omnichannel.Sdk;

/// <summary>Consent decisions, and SMS opt-in keywords read against the number they came from (audits U79, U83).</summary>
internal static partial class ProfileCore
{
    /// <summary>The key of the channel-wide SMS decision, where opt-in keywords are kept.</summary>
    internal static readonly string SmsConsentKey = CustomerProfile.ConsentKey(ChannelNames.Sms, ConsentRecord.AnyTopic);

    private static void SetConsent(CustomerProfile p, ConsentRecord c)
    {
        if (c.FromPhone is not null || c.Held is not null)
        {
            // A keyword grant from a number, or (a merge) a decision carrying one: what it stands on first, then the grant.
            var (grant, beneath) = SplitKeywordGrant(c);
            if (beneath is not null)
            {
                SetConsent(p, beneath);
            }

            PutKeywordGrant(p, CustomerProfile.ConsentKey(c.Channel, c.Topic), grant!);
            return;
        }

        var key = CustomerProfile.ConsentKey(c.Channel, c.Topic);
        var known = p.ConsentRecords.TryGetValue(key, out var current);
        if (known && HasKeywordGrant(current!))
        {
            var (grant, beneath) = SplitKeywordGrant(current!);
            p.ConsentRecords[key] = Stamp.Newer(c, grant!)
                ? Over(InForce(p, grant!, beneath), c)! // newer than the keyword: it decides over what was in force
                : JoinKeywordGrant(p, grant!, Over(beneath, c)); // older: remembered under the keyword (audit U83)
            return;
        }

        p.ConsentRecords[key] = Over(known ? current : null, c)!;
    }

    // The rule for one decision over another: the newer decides, except that an opt-in keyword undoes the decision before
    // it and, with none before it (or only such keywords), awaits one; an older decision arriving late under a keyword
    // that awaits one makes it stand.
    private static ConsentRecord? Over(ConsentRecord? current, ConsentRecord? c)
    {
        if (c is null)
        {
            return current;
        }

        if (current is null || Stamp.Newer(c, current))
        {
            return c.AwaitsDecision && current is not null && !current.AwaitsDecision ? c with { AwaitsDecision = false } : c;
        }

        return current.AwaitsDecision && !c.AwaitsDecision ? current with { AwaitsDecision = false } : current;
    }

    private static bool HasKeywordGrant(ConsentRecord r) => r.FromPhone is not null || r.Held is not null;

    // A stored record as (the keyword grant from a number, the decision beneath it): a grant that stands carries what it
    // undid (Under); a decision in force carries a grant that does not stand (Held); anything else is its own decision.
    private static (ConsentRecord? Grant, ConsentRecord? Beneath) SplitKeywordGrant(ConsentRecord r) =>
        r.Held is { } held ? (held with { Under = null, Held = null }, r with { Held = null })
        : r.FromPhone is not null ? (r with { Under = null, Held = null }, r.Under)
        : (null, r);

    // What stands of a grant and the decision beneath it, as a plain record.
    private static ConsentRecord? InForce(CustomerProfile p, ConsentRecord grant, ConsentRecord? beneath) =>
        KeywordGrantStands(p, grant)
            ? grant with { FromPhone = null, Under = null, Held = null, AwaitsDecision = beneath is null || beneath.AwaitsDecision }
            : beneath;

    // The stored record: the decision in force is the record itself, as an older process reads it.
    private static ConsentRecord JoinKeywordGrant(CustomerProfile p, ConsentRecord grant, ConsentRecord? beneath) =>
        KeywordGrantStands(p, grant)
            ? grant with { Under = beneath, Held = null, AwaitsDecision = beneath is null || beneath.AwaitsDecision }
            : beneath is null
                ? grant with { Under = null, Held = null, AwaitsDecision = true } // stands on nothing: no decision, as awaiting
                : beneath with { Held = grant with { Under = null, Held = null } };

    private static void PutKeywordGrant(CustomerProfile p, string key, ConsentRecord grant)
    {
        if (!p.ConsentRecords.TryGetValue(key, out var current))
        {
            p.ConsentRecords[key] = JoinKeywordGrant(p, grant, null);
            return;
        }

        if (!HasKeywordGrant(current))
        {
            if (Stamp.Newer(grant, current))
            {
                p.ConsentRecords[key] = JoinKeywordGrant(p, grant, current);
            }

            return; // an older keyword under a decision: nothing to undo
        }

        var (held, beneath) = SplitKeywordGrant(current);
        if (Stamp.Newer(grant, held!))
        {
            p.ConsentRecords[key] = JoinKeywordGrant(p, grant, InForce(p, held!, beneath));
        }
        else if (!string.Equals(grant.FromPhone, held!.FromPhone, StringComparison.Ordinal) && KeywordGrantStands(p, grant))
        {
            // An older keyword from another number that stands now: it decides beneath the newer one (as a plain grant).
            p.ConsentRecords[key] = JoinKeywordGrant(p, held, Over(beneath, grant with { FromPhone = null, AwaitsDecision = true }));
        }
    }

    /// <summary>
    /// Audit U83: reads the SMS keyword grant again after her numbers may have changed (an event linked or saw a phone, a
    /// merge, a bounce marked one): the decision in force becomes the grant or what is beneath it. Costs one lookup when
    /// the profile keeps no such grant.
    /// </summary>
    internal static void ReviewKeywordGrant(CustomerProfile p)
    {
        if (!p.ConsentRecords.TryGetValue(SmsConsentKey, out var current) || !HasKeywordGrant(current))
        {
            return;
        }

        var (grant, beneath) = SplitKeywordGrant(current);
        var stored = JoinKeywordGrant(p, grant!, beneath);
        if (stored != current)
        {
            p.ConsentRecords[SmsConsentKey] = stored;
        }
    }

    /// <summary>The phone an SMS reply came from: the first phone among the event's identifiers, if any.</summary>
    private static string? KeywordPhone(CustomerEvent e)
    {
        if (e.Identifiers is { Count: > 0 } ids)
        {
            foreach (var id in ids)
            {
                if (id.Type == IdentifierTypes.Phone)
                {
                    return id.Value;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Audits U79 and U83: whether an SMS opt-in keyword from a number stands — whether that number was the one her texts
    /// went to (<see cref="Delivery.DeliveryPlanner.Address"/>: the phone seen last, by event time) at the keyword's time,
    /// by what the profile knows now, so the answer is the same whatever order the events arrived in. It does not stand
    /// when another of her phones that no hard bounce suppressed was seen (<see cref="LinkedIdentifier.LastSeen"/>, or its
    /// earliest known sighting) at or before the keyword and after the keyword's number was last seen (at the same instant
    /// the greater number, as the planner breaks ties); nor when the keyword's own number is suppressed on SMS while she
    /// has another (U79's reading). A number she has left for a newer one may be someone else's by now (carriers reassign
    /// numbers). A STOP from any of her numbers still withdraws (the safe side).
    /// </summary>
    internal static bool KeywordGrantStands(CustomerProfile p, ConsentRecord grant)
    {
        if (grant.FromPhone is not { } from)
        {
            return true;
        }

        var t = grant.At;
        LinkedIdentifier? own = null;
        var list = p.IdentifierList;
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Type == IdentifierTypes.Phone && list[i].Value == from)
            {
                own = list[i];
                break;
            }
        }

        var ownSuppressed = own?.IsSuppressedOn(ChannelNames.Sms) == true;
        var ownSeen = own?.LastSeen;
        for (var i = 0; i < list.Count; i++)
        {
            var q = list[i];
            if (q.Type != IdentifierTypes.Phone || q.Value == from || q.IsSuppressedOn(ChannelNames.Sms))
            {
                continue;
            }

            if (ownSuppressed)
            {
                return false;
            }

            var seen = q.LastSeen is { } last && last <= t ? last : q.EarliestSeen is { } first && first <= t ? first : (DateTimeOffset?)null;
            if (seen is { } s && (ownSeen is not { } o || s > o || (s == o && string.CompareOrdinal(q.Value, from) > 0)))
            {
                return false;
            }
        }

        return true;
    }
}
