namespace Omnichannel.Sdk;

/// <summary>Consent decisions, and SMS opt-in keywords read against the number they came from (audits U79, U83).</summary>
internal static partial class ProfileCore
{
    /// <summary>The key of the channel-wide SMS decision, where opt-in keywords are kept.</summary>
    internal static readonly string SmsConsentKey = CustomerProfile.ConsentKey(ChannelNames.Sms, ConsentRecord.AnyTopic);

    /// <summary>
    /// U83 finished (fifty-second session): how many opt-in keyword grants from a number a consent record keeps above the
    /// plain decision beneath them — the newest, by event time; an older one beyond this is dropped. With more than this
    /// many <c>START</c>s from her numbers since her last plain decision, one that only a later sighting would make stand
    /// is forgotten and the decision beneath (or a newer grant) stays in force: never more opted in than without the bound,
    /// and the same whatever order the events arrive in (the newest grants of the set).
    /// </summary>
    internal const int MaxKeywordGrants = 8;

    private static void SetConsent(CustomerProfile p, ConsentRecord c)
    {
        var key = CustomerProfile.ConsentKey(c.Channel, c.Topic);
        var known = p.ConsentRecords.TryGetValue(key, out var current);
        if (!HasKeywordGrant(c) && !(known && HasKeywordGrant(current!)))
        {
            p.ConsentRecords[key] = Over(known ? current : null, c)!;
            return;
        }

        // Audit U83: the plain decision beneath and every keyword grant from a number newer than it, of both records (a
        // merge brings a record carrying its own): the union, whichever of them stand now.
        var grants = new List<ConsentRecord>(4);
        var beneath = known ? SplitKeywordGrants(current!, grants) : null;
        beneath = Over(beneath, SplitKeywordGrants(c, grants));
        p.ConsentRecords[key] = JoinKeywordGrants(p, beneath, grants);
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

    private static bool HasKeywordGrant(ConsentRecord r) => r.FromPhone is not null || r.Held is not null || r.Grants is { Count: > 0 };

    // A stored record as the decision beneath (returned) and its keyword grants from a number (added to grants, as the
    // events gave them). The shapes read: a grant in force carrying the decision beneath (Under) and the other grants
    // (Grants); a plain decision in force carrying grants that do not stand (Grants); a grant with nothing beneath
    // (awaiting); and the previous version's one grant that does not stand (Held) on the decision in force.
    private static ConsentRecord? SplitKeywordGrants(ConsentRecord r, List<ConsentRecord> grants)
    {
        ConsentRecord? beneath = null;
        if (r.FromPhone is not null)
        {
            grants.Add(AsKeywordGrant(r));
            beneath = r.Under?.AsDecision();
        }
        else
        {
            beneath = r.AsDecision();
        }

        if (r.Held is { } held)
        {
            beneath = AddKeywordGrant(held, beneath, grants);
        }

        if (r.Grants is { } more)
        {
            foreach (var g in more)
            {
                beneath = AddKeywordGrant(g, beneath, grants);
            }
        }

        return beneath;
    }

    private static ConsentRecord? AddKeywordGrant(ConsentRecord g, ConsentRecord? beneath, List<ConsentRecord> grants)
    {
        if (g.FromPhone is null)
        {
            return Over(beneath, g.AsDecision()); // not a keyword grant from a number (not written so): a plain decision
        }

        grants.Add(AsKeywordGrant(g));
        return beneath;
    }

    // A keyword grant as its event gave it: awaiting a decision beneath, no bookkeeping.
    private static ConsentRecord AsKeywordGrant(ConsentRecord g) =>
        g is { AwaitsDecision: true, Under: null, Held: null, Grants: null } ? g : g with { AwaitsDecision = true, Under = null, Held = null, Grants = null };

    private static int NewestFirst(ConsentRecord a, ConsentRecord b) => Stamp.Newer(a, b) ? -1 : Stamp.Newer(b, a) ? 1 : 0;

    // The stored record of a decision beneath and keyword grants: the grants newer than the decision beneath, each once,
    // the newest MaxKeywordGrants; the newest that stands now is the record (with the decision beneath as Under and the
    // others as Grants); with none standing the decision beneath is (carrying them all), or with nothing beneath the newest
    // grant, awaiting a decision. The record is always the decision in force, as an older process reads it.
    private static ConsentRecord JoinKeywordGrants(CustomerProfile p, ConsentRecord? beneath, List<ConsentRecord> grants)
    {
        grants.Sort(NewestFirst);
        var kept = 0;
        for (var i = 0; i < grants.Count; i++)
        {
            var g = grants[i];
            if (kept == MaxKeywordGrants || (beneath is not null && !Stamp.Newer(g, beneath)))
            {
                break; // newest first: the rest are older still
            }

            if (kept == 0 || NewestFirst(grants[kept - 1], g) != 0) // the same event twice (both sides of a merge): once
            {
                grants[kept++] = g;
            }
        }

        grants.RemoveRange(kept, grants.Count - kept);
        if (kept == 0)
        {
            return beneath!; // every grant older than the decision beneath (a record always brings one of the two)
        }

        var inForce = -1;
        for (var i = 0; i < kept && inForce < 0; i++)
        {
            if (KeywordGrantStands(p, grants[i]))
            {
                inForce = i;
            }
        }

        if (inForce < 0 && beneath is not null)
        {
            return beneath with { Grants = [.. grants] };
        }

        var top = Math.Max(inForce, 0);
        ConsentRecord[]? others = null;
        if (kept > 1)
        {
            others = new ConsentRecord[kept - 1];
            for (int i = 0, k = 0; i < kept; i++)
            {
                if (i != top)
                {
                    others[k++] = grants[i];
                }
            }
        }

        // A grant that stands undoes the decision beneath; with none beneath (or one awaiting too) it awaits one.
        return grants[top] with { AwaitsDecision = beneath is null || beneath.AwaitsDecision, Under = beneath, Grants = others };
    }

    // The same stored record (Grants compared item by item, not as a reference).
    private static bool SameStored(ConsentRecord a, ConsentRecord b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        var ag = a.Grants ?? [];
        var bg = b.Grants ?? [];
        return ag.SequenceEqual(bg) && a == (b with { Grants = a.Grants });
    }

    /// <summary>
    /// Audit U83: reads the SMS keyword grants again after her numbers may have changed (an event linked or saw a phone, a
    /// merge, a bounce marked one): the decision in force becomes the newest grant that stands, or what is beneath them.
    /// Costs one lookup when the profile keeps no such grant.
    /// </summary>
    internal static void ReviewKeywordGrant(CustomerProfile p)
    {
        if (p.ConsentRecordsIfAny is not { } records || !records.TryGetValue(SmsConsentKey, out var current) || !HasKeywordGrant(current))
        {
            return;
        }

        var grants = new List<ConsentRecord>(4);
        var beneath = SplitKeywordGrants(current, grants);
        var stored = JoinKeywordGrants(p, beneath, grants);
        if (!SameStored(stored, current))
        {
            p.ConsentRecords[SmsConsentKey] = stored;
        }
    }

    /// <summary>
    /// The phone an SMS reply came from: the first of her phones among the event's identifiers; <see cref="NotHerPhone"/>
    /// when it names phones but none is hers (the link was refused: someone else's number, kept elsewhere as a keyed hash
    /// only, so it is not kept here in plain either — review of U83 finished); <see langword="null"/> when it names none.
    /// </summary>
    private static string? KeywordPhone(CustomerProfile p, CustomerEvent e)
    {
        string? named = null;
        if (e.Identifiers is { Count: > 0 } ids)
        {
            foreach (var id in ids)
            {
                if (id.Type == IdentifierTypes.Phone)
                {
                    if (p.Has(id))
                    {
                        return id.Value;
                    }

                    named = NotHerPhone;
                }
            }
        }

        return named;
    }

    // Review of U83 finished: the FromPhone of a keyword grant from a number that is not one of hers. No phone equals it,
    // so KeywordGrantStands reads it as it read that number (none of hers): it stands only while no other phone of hers
    // was seen before it.
    internal const string NotHerPhone = "";

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
