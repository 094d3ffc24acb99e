using System.Text;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>Draws a journey as a Mermaid flowchart, for a host's docs or back office.</summary>
public static class JourneyMermaid
{
    /// <summary>
    /// A <c>flowchart TD</c>: the trigger, one node per step (<c>s0</c>, <c>s1</c>, … in list order, labelled with the step
    /// id and what it does), labelled edges for branches, timeouts and variants, an <c>done</c> node for the end of the
    /// flow, and hexagons for the exit criteria and goal, which apply at any step.
    /// </summary>
    /// <param name="definition">The journey.</param>
    public static string ToFlowchart(JourneyDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var steps = definition.Steps;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            index.TryAdd(steps[i].Id, i);
        }

        var sb = new StringBuilder("flowchart TD\n");
        sb.Append("    trigger([\"").Append(Escape(Describe(definition.Trigger))).Append("\"])\n");
        for (var i = 0; i < steps.Count; i++)
        {
            var label = Escape($"{steps[i].Id}: {Describe(steps[i])}");
            sb.Append("    s").Append(i).Append(steps[i] switch
            {
                BranchStep or SplitStep => $"{{\"{label}\"}}",
                ExitStep => $"([\"{label}\"])",
                _ => $"[\"{label}\"]",
            }).Append('\n');
        }

        var usesEnd = false;
        if (steps.Count > 0)
        {
            sb.Append("    trigger --> s0\n");
        }

        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var edge in JourneyFlow.EdgesOf(steps[i]))
            {
                string target;
                if (edge.Target is null)
                {
                    target = i + 1 < steps.Count ? $"s{i + 1}" : "done";
                }
                else
                {
                    target = index.TryGetValue(edge.Target, out var t) ? $"s{t}" : "done";
                }

                usesEnd |= target == "done";
                var label = EdgeLabel(steps[i], edge);
                sb.Append("    s").Append(i).Append(label.Length == 0 ? " --> " : $" -->|\"{Escape(label)}\"| ").Append(target).Append('\n');
            }

            if (steps[i] is SplitStep { ControlWeight: { } control })
            {
                usesEnd = true;
                sb.Append("    s").Append(i).Append(" -.->|\"control (").Append(control).Append(")\"| done\n");
            }
        }

        if (usesEnd)
        {
            sb.Append("    done([\"End\"])\n");
        }

        for (var i = 0; i < definition.Exit.Count; i++)
        {
            var text = definition.Exit[i] switch
            {
                EventExitCriterion e => $"Exit on {e.EventType}",
                SegmentExitCriterion => "Exit when condition holds",
                _ => "Exit",
            };
            sb.Append("    exit").Append(i).Append("{{\"").Append(Escape(text)).Append("\"}}\n");
        }

        if (definition.Goal is { } goal)
        {
            sb.Append("    goal{{\"").Append(Escape($"Goal: {goal.EventType} within {goal.Within}")).Append("\"}}\n");
        }

        return sb.ToString();
    }

    private static string EdgeLabel(JourneyStep step, JourneyFlow.Edge edge) => step switch
    {
        BranchStep b when edge.Label.Length == 0 => $"if {DescribeCase(b, edge)}",
        _ => edge.Label,
    };

    private static string DescribeCase(BranchStep branch, JourneyFlow.Edge edge)
    {
        var i = int.Parse(edge.Key.AsSpan("branches[".Length, edge.Key.IndexOf(']', StringComparison.Ordinal) - "branches[".Length), System.Globalization.CultureInfo.InvariantCulture);
        return Describe(branch.Branches[i].Condition);
    }

    private static string Describe(JourneyCondition condition) => condition switch
    {
        TriggerCondition t => $"trigger.{t.Path} {t.Condition.Op.Name()}{Operand(t.Condition)}",
        ContextCondition c => $"context.{c.Path} {c.Condition.Op.Name()}{Operand(c.Condition)}",
        ProfileCondition { Rule: ReachableRule r } => $"reachable on {r.Channel}",
        ProfileCondition { Rule: SegmentMembershipRule m } => $"in segment {m.SegmentId}",
        ProfileCondition { Rule: TraitRule t } => $"{t.Path} {t.Condition.Op.Name()}{Operand(t.Condition)}",
        NotCondition n => $"not ({Describe(n.Condition)})",
        AllCondition a => string.Join(" and ", a.Conditions.Select(Describe)),
        AnyCondition a => string.Join(" or ", a.Conditions.Select(Describe)),
        _ => "profile condition",
    };

    private static string Operand(Condition c) => c.Value is null ? string.Empty : " " + c.Value.ToJsonString();

    private static string Describe(JourneyTrigger trigger) => trigger switch
    {
        EventTrigger e => $"When {e.EventType}",
        SegmentTrigger s => $"When {s.On.Name()} segment {s.SegmentId}",
        DateTrigger d => $"{d.Offset} from {d.Trait} at {JourneyNames.LocalTime(d.LocalTime)}{(d.Annual ? " every year" : string.Empty)}",
        InactivityTrigger i => $"No {string.Join(" or ", i.NoEventTypes)} for {i.Within} after {i.AfterEventType}",
        _ => "Trigger",
    };

    private static string Describe(JourneyStep step) => step switch
    {
        SendStep s => $"Send {s.TemplateId} by {string.Join(" then ", s.Channels)}",
        DelayStep d => $"Wait {d.Duration}",
        DelayUntilLocalTimeStep l => $"Wait until {JourneyNames.LocalTime(l.LocalTime)}{(l.Days.Count > 0 ? " on " + string.Join(", ", l.Days.Select(x => x.Name())) : string.Empty)}",
        DelayUntilDateTraitStep d => $"Wait until {d.Trait} {d.Offset}",
        WaitForEventStep w => $"Wait for {string.Join(" or ", w.Branches.Select(b => b.EventType))}",
        BranchStep => "Branch",
        SplitStep => "A/B split",
        UpdateProfileStep u => $"Update {string.Join(", ", u.Updates.Select(x => x.Trait))}",
        EmitStep e => $"Emit {e.EventType}",
        WebhookStep => "Call webhook",
        ExitStep x => x.Reason is null ? "Exit" : $"Exit: {x.Reason}",
        _ => step.GetType().Name,
    };

    // Mermaid labels are quoted; a quote inside is written as an entity.
    private static string Escape(string text) => text.Replace("\"", "#quot;", StringComparison.Ordinal);
}
