using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// The flow between steps: where each step can go. A step goes to the targets it names; a step that names none (a
/// <c>next</c>, <c>else</c> or <c>timeoutNext</c> left out) goes to the step after it in the list, or ends the instance
/// after the last.
/// </summary>
internal static class JourneyFlow
{
    /// <summary>One way out of a step: the key that names the target (relative to the step), and the target id (<see langword="null"/> for "the next in the list").</summary>
    internal readonly record struct Edge(string Key, string? Target, string Label);

    /// <summary>The ways out of <paramref name="step"/>, in the order of its JSON form.</summary>
    public static IEnumerable<Edge> EdgesOf(JourneyStep step)
    {
        switch (step)
        {
            case ContinuingStep c:
                yield return new("next", c.Next, string.Empty);
                break;
            case WaitForEventStep wait:
                for (var i = 0; i < (wait.Branches?.Count ?? 0); i++)
                {
                    if (wait.Branches![i] is { Next: not null } b)
                    {
                        yield return new($"branches[{i}].next", b.Next, b.EventType);
                    }
                }

                yield return new("timeoutNext", wait.TimeoutNext, $"timeout {wait.Timeout}");
                break;
            case BranchStep branch:
                for (var i = 0; i < (branch.Branches?.Count ?? 0); i++)
                {
                    if (branch.Branches![i] is { } b)
                    {
                        yield return new($"branches[{i}].next", b.Next, string.Empty);
                    }
                }

                yield return new("else", branch.Else, "else");
                break;
            case SplitStep split:
                for (var i = 0; i < (split.Variants?.Count ?? 0); i++)
                {
                    if (split.Variants![i] is { } v)
                    {
                        yield return new($"variants[{i}].next", v.Next, $"{v.Name} ({v.Weight})");
                    }
                }

                break;
        }
    }

    /// <summary>
    /// Whether an instance at <paramref name="from"/> can come to <paramref name="target"/> (audit U89: the arms of a split
    /// joined again). <paramref name="step"/> finds a step by id, <paramref name="after"/> the one after it in the list.
    /// </summary>
    public static bool Reaches(string from, string target, Func<string, JourneyStep?> step, Func<string, string?> after)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { from };
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var id))
        {
            if (id == target)
            {
                return true;
            }

            if (step(id) is not { } s)
            {
                continue;
            }

            foreach (var edge in EdgesOf(s))
            {
                if ((edge.Target ?? after(id)) is { } next && seen.Add(next))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return false;
    }

    /// <summary>Whether the step makes the instance wait (so a loop through it does not spin).</summary>
    public static bool Waits(JourneyStep step) => step is DelayStep or DelayUntilLocalTimeStep or WaitForEventStep;

    public static void Validate(IReadOnlyList<JourneyStep> steps, string path, List<DefinitionError> errors)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i]?.Id is not { Length: > 0 } id)
            {
                continue;
            }

            if (!index.TryAdd(id, i))
            {
                errors.Add(new(JsonPath.Key(JsonPath.Index(path, i), "id"), $"'{id}' is already the id of {JsonPath.Index(path, index[id])} (step ids are unique within a journey)"));
            }
        }

        // Resolve every edge; -1 is the end of the journey.
        var successors = new List<int>[steps.Count];
        for (var i = 0; i < steps.Count; i++)
        {
            successors[i] = [];
            if (steps[i] is not { } step)
            {
                continue;
            }

            foreach (var edge in EdgesOf(step))
            {
                if (edge.Target is null)
                {
                    successors[i].Add(i + 1 < steps.Count ? i + 1 : -1);
                }
                else if (index.TryGetValue(edge.Target, out var target))
                {
                    successors[i].Add(target);
                }
                else
                {
                    var at = JsonPath.Index(path, i) + "." + edge.Key;
                    errors.Add(new(at, $"'{edge.Target}' is not a step of this journey (expected one of {string.Join(", ", index.Keys.Take(20))})"));
                }
            }
        }

        ReportUnreachable(steps, successors, path, errors);
        ReportInstantLoops(steps, successors, path, errors);
    }

    private static void ReportUnreachable(IReadOnlyList<JourneyStep> steps, List<int>[] successors, string path, List<DefinitionError> errors)
    {
        var reached = new bool[steps.Count];
        var queue = new Queue<int>([0]);
        reached[0] = true;
        while (queue.TryDequeue(out var i))
        {
            foreach (var s in successors[i])
            {
                if (s >= 0 && !reached[s])
                {
                    reached[s] = true;
                    queue.Enqueue(s);
                }
            }
        }

        for (var i = 0; i < steps.Count; i++)
        {
            if (!reached[i])
            {
                errors.Add(new(JsonPath.Index(path, i), $"step '{steps[i]?.Id}' is unreachable: no step leads to it (an instance starts at the first step and follows 'next', branch targets, or list order)"));
            }
        }
    }

    /// <summary>Finds loops made only of steps that do not wait (Tarjan's strongly connected components over them).</summary>
    private static void ReportInstantLoops(IReadOnlyList<JourneyStep> steps, List<int>[] successors, string path, List<DefinitionError> errors)
    {
        var n = steps.Count;
        var order = new int[n];
        var low = new int[n];
        var onStack = new bool[n];
        var stack = new Stack<int>();
        var counter = 0;
        Array.Fill(order, -1);

        bool Instant(int i) => i >= 0 && steps[i] is { } s && !Waits(s);

        void Visit(int v)
        {
            order[v] = low[v] = counter++;
            stack.Push(v);
            onStack[v] = true;
            foreach (var w in successors[v].Where(Instant))
            {
                if (order[w] < 0)
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack[w])
                {
                    low[v] = Math.Min(low[v], order[w]);
                }
            }

            if (low[v] != order[v])
            {
                return;
            }

            var component = new List<int>();
            int x;
            do
            {
                x = stack.Pop();
                onStack[x] = false;
                component.Add(x);
            }
            while (x != v);

            if (component.Count > 1 || successors[v].Contains(v))
            {
                component.Sort();
                var ids = component.Select(i => steps[i].Id).ToList();
                errors.Add(new(
                    JsonPath.Index(path, component[0]),
                    $"steps {string.Join(" → ", ids.Append(ids[0]))} form a loop with no delay or wait, which would run forever at once (put a delay or waitForEvent step in it)"));
            }
        }

        for (var i = 0; i < n; i++)
        {
            if (Instant(i) && order[i] < 0)
            {
                Visit(i);
            }
        }
    }
}
