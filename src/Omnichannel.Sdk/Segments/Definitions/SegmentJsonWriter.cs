using System.Globalization;
using System.Text.Json;

namespace Omnichannel.Sdk.Segments;

/// <summary>Writes the canonical JSON form: keys in a fixed order, absent parts left out.</summary>
internal static class SegmentJsonWriter
{
    public static void Write(Utf8JsonWriter w, SegmentDefinition d)
    {
        CheckDepth(d.Rule, d.Id);
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        w.WriteString("name", d.Name);
        if (d.Description is not null)
        {
            w.WriteString("description", d.Description);
        }

        w.WritePropertyName("rule");
        Write(w, d.Rule);
        w.WriteEndObject();
    }

    /// <summary>Refuses a rule deeper than <see cref="SegmentDefinitionValidator.MaxRuleDepth"/>: the reader would refuse its JSON.</summary>
    /// <exception cref="ArgumentException">The rule nests too deeply.</exception>
    public static void CheckDepth(SegmentRule? rule, string? owner)
    {
        if (SegmentReferences.Depth(rule, SegmentDefinitionValidator.MaxRuleDepth) > SegmentDefinitionValidator.MaxRuleDepth)
        {
            throw new ArgumentException($"The rule of '{owner}' {SegmentDefinitionValidator.TooDeep}; it cannot be written.", nameof(rule));
        }
    }

    /// <summary>An instant as ISO 8601, <c>Z</c> for UTC, the offset kept otherwise.</summary>
    public static string Instant(DateTimeOffset instant) =>
        instant.Offset == TimeSpan.Zero
            ? instant.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)
            : instant.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    private static void Write(Utf8JsonWriter w, SegmentRule? rule)
    {
        w.WriteStartObject();
        switch (rule)
        {
            case AllRule all:
                WriteRules(w, "all", all.Rules);
                break;
            case AnyRule any:
                WriteRules(w, "any", any.Rules);
                break;
            case NotRule not:
                w.WritePropertyName("not");
                Write(w, not.Rule);
                break;
            case TraitRule t:
                w.WriteString("trait", t.Path);
                WriteCondition(w, t.Condition);
                break;
            case StatisticRule s:
                w.WriteString("stat", s.Statistic);
                WriteCondition(w, s.Condition);
                break;
            case EventRule e:
                w.WriteString("event", e.EventType);
                WriteWhere(w, e.Where);
                if (e.Count is not null)
                {
                    w.WriteStartObject("count");
                    WriteCondition(w, e.Count);
                    w.WriteEndObject();
                }

                WriteWindow(w, e.Window);
                break;
            case AggregateRule a:
                w.WriteString("aggregate", a.Function.Name());
                w.WriteString("event", a.EventType);
                if (a.Property is not null)
                {
                    w.WriteString("property", a.Property);
                }

                WriteWhere(w, a.Where);
                WriteWindow(w, a.Window);
                WriteCondition(w, a.Condition);
                break;
            case RecencyRule r:
                w.WriteString(r.Which == RecencyKind.Last ? "lastEvent" : "firstEvent", r.EventType);
                WriteWhere(w, r.Where);
                w.WriteString("op", r.Op.Name());
                w.WriteString("value", r.Duration.ToString());
                break;
            case SegmentMembershipRule m:
                w.WriteString("segment", m.SegmentId);
                break;
            case ReachableRule reach:
                w.WriteString("reachable", reach.Channel);
                if (reach.Topic is not null)
                {
                    w.WriteString("topic", reach.Topic);
                }

                break;
        }

        w.WriteEndObject();
    }

    private static void WriteRules(Utf8JsonWriter w, string key, IReadOnlyList<SegmentRule>? rules)
    {
        w.WriteStartArray(key);
        foreach (var r in rules ?? [])
        {
            Write(w, r);
        }

        w.WriteEndArray();
    }

    private static void WriteCondition(Utf8JsonWriter w, Condition? c)
    {
        if (c is null)
        {
            return;
        }

        w.WriteString("op", Enum.IsDefined(c.Op) ? c.Op.Name() : c.Op.ToString());
        if (c.Value is not null)
        {
            w.WritePropertyName("value");
            c.Value.WriteTo(w);
        }
    }

    private static void WriteWhere(Utf8JsonWriter w, IReadOnlyList<PropertyCondition>? where)
    {
        if (where is not { Count: > 0 })
        {
            return;
        }

        w.WriteStartArray("where");
        foreach (var p in where)
        {
            w.WriteStartObject();
            w.WriteString("property", p.Property);
            WriteCondition(w, p.Condition);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteWindow(Utf8JsonWriter w, TimeWindow? window)
    {
        if (window is null)
        {
            return;
        }

        if (window.Within is { } within)
        {
            w.WriteString("within", within.ToString());
        }

        if (window.From is not null || window.To is not null)
        {
            w.WriteStartArray("between");
            WriteInstantOrNull(w, window.From);
            WriteInstantOrNull(w, window.To);
            w.WriteEndArray();
        }
    }

    private static void WriteInstantOrNull(Utf8JsonWriter w, DateTimeOffset? instant)
    {
        if (instant is { } i)
        {
            w.WriteStringValue(Instant(i));
        }
        else
        {
            w.WriteNullValue();
        }
    }
}
