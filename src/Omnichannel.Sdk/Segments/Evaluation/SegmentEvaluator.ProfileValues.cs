namespace Omnichannel.Sdk.Segments;

// What rules read from the profile itself: traits by path, statistics by name, reachability on a channel.
internal static partial class SegmentEvaluator
{
    /// <summary>A trait by dotted path: the leaf value, or an object when only deeper traits are set under the path.</summary>
    internal static RuleValue TraitValue(CustomerProfile p, string path)
    {
        // A path without a value is either removed or a leaf an object replaced (its stamp is kept, ProfileCore.PutTrait):
        // the leaves below say which (audit U43: "t.v" written as text, then as {"deep": 1}, read as not set).
        if (p.TraitValues.TryGetValue(path, out var tv) && tv.Value is { } v)
        {
            return RuleValue.FromElement(v);
        }

        foreach (var (key, value) in p.TraitValues)
        {
            if (value.Value is not null && key.Length > path.Length && key[path.Length] == '.' && key.StartsWith(path, StringComparison.Ordinal))
            {
                return RuleValue.Object;
            }
        }

        return RuleValue.Missing;
    }

    /// <summary>A statistic by its <see cref="ProfileStatisticNames"/> name (missing for an unknown name or an unset date).</summary>
    internal static RuleValue StatisticValue(CustomerProfile p, string name)
    {
        var s = p.Statistics;
        return name switch
        {
            ProfileStatisticNames.OrderCount => RuleValue.FromNumber(s.OrderCount),
            ProfileStatisticNames.TotalSpent => RuleValue.FromNumber(s.TotalSpent),
            ProfileStatisticNames.AverageOrderValue => RuleValue.FromNumber(s.AverageOrderValue),
            ProfileStatisticNames.FirstOrderAt => RuleValue.FromDate(s.FirstOrderAt),
            ProfileStatisticNames.LastOrderAt => RuleValue.FromDate(s.LastOrderAt),
            ProfileStatisticNames.FirstSeen => RuleValue.FromDate(s.FirstSeen),
            ProfileStatisticNames.LastSeen => RuleValue.FromDate(s.LastSeen),
            ProfileStatisticNames.EventCount => RuleValue.FromNumber(s.EventCount),
            ProfileStatisticNames.ReturnCount => RuleValue.FromNumber(s.ReturnCount),
            ProfileStatisticNames.ReturnValue => RuleValue.FromNumber(s.ReturnValue),
            ProfileStatisticNames.CancelledOrderCount => RuleValue.FromNumber(s.CancelledOrderCount),
            ProfileStatisticNames.LoyaltyPoints => RuleValue.FromNumber(s.LoyaltyPoints),
            ProfileStatisticNames.ReferralsSent => RuleValue.FromNumber(s.ReferralsSent),
            ProfileStatisticNames.ReferralsConverted => RuleValue.FromNumber(s.ReferralsConverted),
            ProfileStatisticNames.ChannelsUsed => RuleValue.FromArray([.. s.ChannelsUsed.Order(StringComparer.Ordinal).Select(RuleValue.FromString)]),
            ProfileStatisticNames.LifecycleStage => RuleValue.FromString(LifecycleName(p.LifecycleStage)),
            ProfileStatisticNames.CartLineCount => RuleValue.FromNumber(p.CartLines.Count),
            ProfileStatisticNames.CartValue => RuleValue.FromNumber(p.CartLines.Values.Sum(l => l.Quantity * (l.UnitPrice ?? 0))),
            ProfileStatisticNames.CartUpdatedAt => RuleValue.FromDate(p.CartLines.Count == 0 ? null : p.CartLines.Values.Max(l => l.UpdatedAt)),
            _ => RuleValue.Missing,
        };
    }

    private static string LifecycleName(LifecycleStage stage) => stage switch
    {
        LifecycleStage.Visitor => "visitor",
        LifecycleStage.Lead => "lead",
        LifecycleStage.Customer => "customer",
        _ => "repeatCustomer",
    };

    /// <summary>
    /// An address on the channel (email → <c>email</c>, sms/whatsapp → <c>phone</c>, push → <c>device_id</c>, else an
    /// identifier named like the channel) that no hard bounce on this profile suppressed there, and consent granted.
    /// </summary>
    internal static bool IsReachable(CustomerProfile p, string channel, string? topic)
    {
        var identifierType = channel switch
        {
            ChannelNames.Email => IdentifierTypes.Email,
            ChannelNames.Sms or ChannelNames.WhatsApp => IdentifierTypes.Phone,
            ChannelNames.Push => IdentifierTypes.DeviceId,
            _ => channel,
        };
        return p.IdentifierList.Exists(i => i.Type == identifierType && !i.IsSuppressedOn(channel)) && p.GetConsent(channel, topic)?.Granted == true;
    }
}
