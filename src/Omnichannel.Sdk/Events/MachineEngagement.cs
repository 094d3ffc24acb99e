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
    /// <c>message.clicked</c> whose <c>where</c> does not name <c>machine</c> (or another machine flag: see
    /// <see cref="NamesMachine"/>) given <c>machine ne true</c>: a machine's open is no open to it; one that names
    /// <c>machine</c> has it read as <see cref="AsRead"/> reads it. The same rule object when nothing changes; remembered per rule object.
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
            case EventRule e when Where(e.EventType, e.Where) is { } where:
                return e with { Where = where };
            case AggregateRule a when Where(a.EventType, a.Where) is { } where:
                return a with { Where = where };
            case RecencyRule r when Where(r.EventType, r.Where) is { } where:
                return r with { Where = where };
            default:
                return rule;
        }
    }

    // An open or click rule's `where` as it reads machines' reports: `machine ne true` added when it names no machine flag,
    // its conditions on `machine` read as AsRead reads them; null when nothing changes.
    private static PropertyCondition[]? Where(string type, IReadOnlyList<PropertyCondition> where)
    {
        if (!IsEngagement(type))
        {
            return null;
        }

        if (!NamesMachine(where))
        {
            return [.. where, NotMachine];
        }

        PropertyCondition[]? changed = null;
        for (var i = 0; i < where.Count; i++)
        {
            if (where[i].Property == Property && AsRead(where[i].Condition) is var read && !ReferenceEquals(read, where[i].Condition))
            {
                changed ??= [.. where];
                changed[i] = where[i] with { Condition = read };
            }
        }

        return changed;
    }

    /// <summary>
    /// Whether a <c>where</c> asks about machines: it names <c>machine</c>, <c>machine_reason</c> or a provider's flag
    /// (<c>sg_machine_open</c>, <c>machine_open</c>, <c>is_suspected_bot_click</c>, <c>client-info.bot</c>): such a
    /// rule or criterion reads every report and filters them itself (a rule written before audit U82 on
    /// <c>sg_machine_open eq true</c> is not emptied by an implicit <c>machine ne true</c>).
    /// </summary>
    internal static bool NamesMachine(IReadOnlyList<PropertyCondition> where)
    {
        for (var i = 0; i < where.Count; i++)
        {
            if (where[i].Property is Property or ReasonProperty or "sg_machine_open" or "machine_open" or "is_suspected_bot_click" or "client-info.bot")
            {
                return true;
            }
        }

        return false;
    }

    private static readonly ConditionalWeakTable<Condition, Condition> ReadAs = [];

    /// <summary>
    /// A condition on an open's or click's <c>machine</c> as it reads her report, which carries no <c>machine</c> (it is
    /// applied as it came): <c>false</c> names it too. <c>eq false</c> and <c>in [false]</c> read as <c>ne true</c>,
    /// <c>ne false</c> and <c>notIn [false]</c> as <c>eq true</c>, <c>in [true, false]</c> holds for every report and
    /// <c>notIn [true, false]</c> for none; any other condition (<c>exists</c>, <c>eq true</c>) as it is. Remembered per
    /// condition object.
    /// </summary>
    internal static Condition AsRead(Condition condition) =>
        condition.Op is ConditionOperator.Eq or ConditionOperator.Ne or ConditionOperator.In or ConditionOperator.NotIn
            ? ReadAs.GetValue(condition, static c => Read(c))
            : condition;

    private static Condition Read(Condition c)
    {
        var values = c.Value is JsonArray list ? [.. list] : new[] { c.Value };
        bool Names(JsonValueKind kind) => values.Any(v => v is JsonValue x && x.GetValueKind() == kind);
        if (!Names(JsonValueKind.False))
        {
            return c;
        }

        var both = Names(JsonValueKind.True);
        return c.Op switch
        {
            ConditionOperator.Eq or ConditionOperator.In when !both => new Condition(ConditionOperator.Ne, JsonValue.Create(true)),
            ConditionOperator.Ne or ConditionOperator.NotIn when !both => new Condition(ConditionOperator.Eq, JsonValue.Create(true)),
            ConditionOperator.In => new Condition(ConditionOperator.NotIn, new JsonArray()),
            ConditionOperator.NotIn => new Condition(ConditionOperator.In, new JsonArray()),
            _ => c,
        };
    }

    /// <summary>The condition <paramref name="w"/> puts on an event of <paramref name="type"/> (see <see cref="AsRead"/>).</summary>
    internal static Condition ConditionOn(string type, PropertyCondition w) =>
        w.Property == Property && IsEngagement(type) ? AsRead(w.Condition) : w.Condition;

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
    /// <paramref name="e"/> because a machine made it and the criterion does not name <c>machine</c> (or another
    /// machine flag: see <see cref="NamesMachine"/>).
    /// </summary>
    internal static bool HiddenFrom(IReadOnlyList<PropertyCondition> where, CustomerEvent e) =>
        Is(e) && !NamesMachine(where);
}
