using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

/// <summary>
/// Opens and clicks a machine made, not the person (audit U82): Apple Mail Privacy Protection and image proxies fetch
/// every pixel at delivery, and mail security gateways (Microsoft Safe Links, Mimecast, Barracuda, Proofpoint) follow
/// every link seconds after it. Such a report stays on her timeline with <c>machine: true</c> (and
/// <c>machine_reason</c>), but it is not her engagement: it counts no open or click, creates no click-through touch (so
/// nothing is attributed to it), does not make her seen, does not start, advance, answer, end or exit a journey, and
/// is not an open or click to a segment rule unless that rule's <c>where</c> names <c>machine</c>.
/// </summary>
/// <remarks>
/// A <c>message.opened</c> or <c>message.clicked</c> is a machine's when its properties say so:
/// <list type="bullet">
/// <item><c>machine: true</c> (the SDK's own flag; <c>machine: false</c> is the host's word that a person made it, and no
/// other flag or rule is then read; the text <c>"true"</c> or <c>"false"</c> is read as the boolean, any other value as
/// no word and replaced by the flags' and the rule's answer);</item>
/// <item>SendGrid's event webhook <c>sg_machine_open: true</c> (Apple Mail Privacy Protection opens);</item>
/// <item>Braze Currents' <c>machine_open: "true"</c> (opens) and <c>is_suspected_bot_click: true</c> (clicks);</item>
/// <item>Mailgun's <c>client-info.bot</c> when not empty (<c>apple</c>, <c>gmail</c>, <c>generic</c>);</item>
/// <item>or a click stamped less than <see cref="MeasurementOptions.ScannerClickWindow"/> after the message was handed
/// over (its <c>message.sent</c>, else its delivery report): off by default.</item>
/// </list>
/// Any other event costs one comparison of its type.
/// </remarks>
internal static class MachineEngagement
{
    /// <summary>The property that marks a machine's open or click (<c>true</c>).</summary>
    internal const string Property = "machine";

    /// <summary>The property that says which flag or rule marked it.</summary>
    internal const string ReasonProperty = "machine_reason";

    /// <summary>Whether a type is one a machine may fake: <c>message.opened</c>, <c>message.clicked</c>.</summary>
    internal static bool IsEngagement(string type) => type is EventTypes.MessageOpened or EventTypes.MessageClicked;

    /// <summary>Whether <paramref name="e"/> is an open or click marked as a machine's (<c>machine: true</c>).</summary>
    internal static bool Is(CustomerEvent e) =>
        IsEngagement(e.Type) && e.Properties.ValueKind == JsonValueKind.Object
        && e.Properties.TryGetProperty(Property, out var m) && m.ValueKind == JsonValueKind.True;

    /// <summary>
    /// The open or click marked <c>machine: true</c> with its <c>machine_reason</c> when a provider's flag or the scanner
    /// rule says a machine made it (<c>machine</c> as text is read as the boolean it names); any other event, and one
    /// that already carries a boolean <c>machine</c>, as it is.
    /// </summary>
    internal static CustomerEvent Classify(CustomerProfile p, CustomerEvent e, MeasurementOptions options)
    {
        if (!IsEngagement(e.Type) || e.Properties.ValueKind != JsonValueKind.Object)
        {
            return e;
        }

        // The host's own word: a boolean stands as it is; "true"/"false" as text (a form, a relay) is read as the boolean;
        // any other value says nothing, and is replaced by the answer of the providers' flags and the scanner rule.
        var present = e.Properties.TryGetProperty(Property, out var given);
        if (present && given.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return e;
        }

        bool? said = present && given.ValueKind == JsonValueKind.String && bool.TryParse(given.GetString()?.Trim(), out var text) ? text : null;
        var reason = said is null ? ProviderFlag(e.Properties) ?? (e.Type == EventTypes.MessageClicked ? ScannerWindow(p, e, options) : null) : null;
        if (!present && reason is null)
        {
            return e; // her open or click, as it came: no copy
        }

        var node = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
        node[Property] = said ?? reason is not null;
        if (reason is not null)
        {
            node[ReasonProperty] = reason;
        }

        return e with { Properties = JsonSerializer.SerializeToElement(node) };
    }

    /// <summary>The provider whose documented flag marks the report as a machine's, or <see langword="null"/>.</summary>
    internal static string? ProviderFlag(JsonElement props)
    {
        if (IsTrue(props, "sg_machine_open"))
        {
            return "sendgrid";
        }

        if (IsTrue(props, "machine_open") || IsTrue(props, "is_suspected_bot_click"))
        {
            return "braze";
        }

        if (props.TryGetProperty("client-info", out var client) && client.ValueKind == JsonValueKind.Object
            && client.TryGetProperty("bot", out var bot) && bot.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(bot.GetString()))
        {
            return "mailgun";
        }

        return null;
    }

    // true, or the text "true" in any case (Braze's machine_open is a string; some relays send booleans as text).
    private static bool IsTrue(JsonElement props, string name) =>
        props.TryGetProperty(name, out var v)
        && (v.ValueKind == JsonValueKind.True || (v.ValueKind == JsonValueKind.String && string.Equals(v.GetString()?.Trim(), "true", StringComparison.OrdinalIgnoreCase)));

    // The scanner rule: a click on a message the profile holds, stamped less than the window after it was handed over.
    private static string? ScannerWindow(CustomerProfile p, CustomerEvent e, MeasurementOptions options)
    {
        var window = options.ScannerClickWindow;
        if (window <= TimeSpan.Zero || p.Touches.Count == 0 || WellKnownProperties.String(e.Properties, "message_id") is not { } key
            || Touch.IndexOf(p.Touches, key) is var i && i < 0)
        {
            return null;
        }

        var touch = p.Touches[i];
        return (touch.SentAt ?? touch.DeliveredAt) is { } handedOver && e.Timestamp - handedOver < window ? "scanner_window" : null;
    }

    // ---- segment rules ---------------------------------------------------------------------------------------------

    private static readonly ConditionalWeakTable<SegmentRule, SegmentRule> Hidden = [];

    private static readonly PropertyCondition NotMachine = new(Property, new Condition(ConditionOperator.Ne, JsonValue.Create(true)));

    /// <summary>
    /// <paramref name="rule"/> with every event, aggregate and recency rule on <c>message.opened</c> or
    /// <c>message.clicked</c> whose <c>where</c> does not name <c>machine</c> given <c>machine ne true</c>: a machine's
    /// open is no open to it. The same rule object when nothing changes; remembered per rule object.
    /// </summary>
    internal static SegmentRule Hide(SegmentRule rule) => Hidden.GetValue(rule, static r => Rewrite(r));

    /// <summary>The definition with its rule hidden from machines (the same object when nothing changes).</summary>
    internal static SegmentDefinition Hide(SegmentDefinition d) => Hide(d.Rule) is var rule && ReferenceEquals(rule, d.Rule) ? d : d with { Rule = rule };

    private static SegmentRule Rewrite(SegmentRule rule)
    {
        switch (rule)
        {
            case AllRule all when Each(all.Rules) is { } rules:
                return all with { Rules = rules };
            case AnyRule any when Each(any.Rules) is { } rules:
                return any with { Rules = rules };
            case NotRule not when !ReferenceEquals(Hide(not.Rule), not.Rule):
                return not with { Rule = Hide(not.Rule) };
            case EventRule e when Needs(e.EventType, e.Where):
                return e with { Where = [.. e.Where, NotMachine] };
            case AggregateRule a when Needs(a.EventType, a.Where):
                return a with { Where = [.. a.Where, NotMachine] };
            case RecencyRule r when Needs(r.EventType, r.Where):
                return r with { Where = [.. r.Where, NotMachine] };
            default:
                return rule;
        }
    }

    private static bool Needs(string type, IReadOnlyList<PropertyCondition> where) =>
        IsEngagement(type) && !where.Any(c => c.Property == Property);

    private static SegmentRule[]? Each(IReadOnlyList<SegmentRule> rules)
    {
        SegmentRule[]? changed = null;
        for (var i = 0; i < rules.Count; i++)
        {
            var hidden = Hide(rules[i]);
            if (!ReferenceEquals(hidden, rules[i]))
            {
                changed ??= [.. rules];
                changed[i] = hidden;
            }
        }

        return changed;
    }

    /// <summary>
    /// Whether a journey's event criterion (trigger, branch, goal, exit) on <paramref name="where"/> refuses
    /// <paramref name="e"/> because a machine made it and the criterion does not name <c>machine</c>.
    /// </summary>
    internal static bool HiddenFrom(IReadOnlyList<PropertyCondition> where, CustomerEvent e) =>
        Is(e) && !where.Any(c => c.Property == Property);
}
