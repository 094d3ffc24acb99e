namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Checks segment definitions as a set: each definition, duplicate ids, references to unknown segments and cycles
/// between segments; and orders definitions so that referenced segments come first.
/// </summary>
public static class SegmentSetValidator
{
    /// <summary>
    /// Checks every definition and the set as a whole. Paths start with the definition's position: <c>$[2].rule.any[0].segment</c>.
    /// </summary>
    /// <param name="definitions">The definitions.</param>
    /// <param name="existingIds">Ids of segments already loaded elsewhere that definitions may reference.</param>
    public static IReadOnlyList<DefinitionError> Validate(IEnumerable<SegmentDefinition> definitions, IReadOnlySet<string>? existingIds = null)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        return JsonPathOrder.Sort(ValidateSet(definitions.ToList(), existingIds, includeDefinitions: true));
    }

    /// <summary>
    /// The definitions with every referenced segment before the segments that reference it (otherwise in the order
    /// given). References to segments outside the set are ignored.
    /// </summary>
    /// <param name="definitions">The definitions; validate them first.</param>
    /// <exception cref="SegmentDefinitionException">The definitions form a cycle or repeat an id.</exception>
    public static IReadOnlyList<SegmentDefinition> OrderByDependencies(IEnumerable<SegmentDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        var list = definitions.ToList();
        var problems = new List<DefinitionError>();
        Duplicates(list, problems);
        Cycles(list, problems);
        if (problems.Count > 0)
        {
            throw new SegmentDefinitionException(problems);
        }

        var byId = list.ToDictionary(d => d.Id, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var ordered = new List<SegmentDefinition>(list.Count);

        // Depth-first, dependencies first, with an explicit stack: a chain of any length cannot overflow the call stack.
        var stack = new Stack<(SegmentDefinition Definition, IEnumerator<(string Path, string SegmentId)> References)>();
        foreach (var root in list)
        {
            if (!done.Add(root.Id))
            {
                continue;
            }

            stack.Push((root, SegmentReferences.Of(root.Rule, "$").GetEnumerator()));
            while (stack.Count > 0)
            {
                var (d, references) = stack.Peek();
                if (references.MoveNext())
                {
                    if (byId.TryGetValue(references.Current.SegmentId, out var dependency) && done.Add(dependency.Id))
                    {
                        stack.Push((dependency, SegmentReferences.Of(dependency.Rule, "$").GetEnumerator()));
                    }

                    continue;
                }

                stack.Pop();
                ordered.Add(d);
            }
        }

        return ordered;
    }

    internal static List<DefinitionError> ValidateSet(IReadOnlyList<SegmentDefinition> list, IReadOnlySet<string>? existingIds, bool includeDefinitions)
    {
        var errors = new List<DefinitionError>();
        if (includeDefinitions)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is null)
                {
                    errors.Add(new(JsonPath.Index("$", i), "is null (expected a segment definition)"));
                    continue;
                }

                SegmentDefinitionValidator.Validate(list[i], JsonPath.Index("$", i), errors);
            }
        }

        var present = list.Where(d => d?.Id is not null).ToList();
        Duplicates(present, errors, list);
        var known = new HashSet<string>(present.Select(d => d.Id), StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not { } d)
            {
                continue;
            }

            foreach (var (path, reference) in SegmentReferences.Of(d.Rule, JsonPath.Key(JsonPath.Index("$", i), "rule")))
            {
                if (!known.Contains(reference) && existingIds?.Contains(reference) != true && reference.Length <= SegmentDefinitionValidator.MaxIdLength
                    && SegmentNames.SegmentId().IsMatch(reference))
                {
                    errors.Add(new(path, $"unknown segment '{reference}' (expected the id of a segment in this set{(existingIds is { Count: > 0 } ? " or already loaded" : string.Empty)})"));
                }
            }
        }

        Cycles(list, errors);
        return errors;
    }

    private static void Duplicates(IReadOnlyList<SegmentDefinition> present, List<DefinitionError> errors, IReadOnlyList<SegmentDefinition>? positions = null)
    {
        positions ??= present;
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < positions.Count; i++)
        {
            if (positions[i]?.Id is not { Length: > 0 } id)
            {
                continue;
            }

            if (first.TryGetValue(id, out var j))
            {
                errors.Add(new(JsonPath.Key(JsonPath.Index("$", i), "id"), $"duplicate id '{id}' (already used by $[{j}]); expected every segment id once"));
            }
            else
            {
                first[id] = i;
            }
        }
    }

    /// <summary>Reports each cycle once (longer than one segment; a self-reference is the definition validator's), at the reference that closes it.</summary>
    private static void Cycles(IReadOnlyList<SegmentDefinition> list, List<DefinitionError> errors)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i]?.Id is { Length: > 0 } id)
            {
                index.TryAdd(id, i);
            }
        }

        // 0 = unvisited, 1 = on the stack, 2 = finished. An explicit stack: a chain of any length cannot overflow.
        var state = new int[list.Count];
        var stack = new List<int>();
        var frames = new Stack<IEnumerator<(string Path, string SegmentId)>>();
        for (var root = 0; root < list.Count; root++)
        {
            if (state[root] != 0 || list[root]?.Id is not { } rootId || index.GetValueOrDefault(rootId, -1) != root)
            {
                continue;
            }

            Enter(root);
            while (frames.Count > 0)
            {
                var i = stack[^1];
                var references = frames.Peek();
                if (!references.MoveNext())
                {
                    frames.Pop();
                    stack.RemoveAt(stack.Count - 1);
                    state[i] = 2;
                    continue;
                }

                var (path, reference) = references.Current;
                if (!index.TryGetValue(reference, out var j) || j == i)
                {
                    continue;
                }

                if (state[j] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(j)).Select(k => list[k].Id).Append(reference);
                    errors.Add(new(path, $"segments form a cycle: {string.Join(" → ", cycle)} (a segment cannot depend on itself)"));
                }
                else if (state[j] == 0)
                {
                    Enter(j);
                }
            }
        }

        void Enter(int i)
        {
            state[i] = 1;
            stack.Add(i);
            frames.Push(SegmentReferences.Of(list[i].Rule, JsonPath.Key(JsonPath.Index("$", i), "rule")).GetEnumerator());
        }
    }
}
