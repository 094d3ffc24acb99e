namespace Omnichannel.Sdk.Segments;

/// <summary>Finds the <c>{"segment": "id"}</c> references in a rule, with their JSON paths.</summary>
internal static class SegmentReferences
{
    /// <summary>The references in document order. Iterative: a rule of any depth (built in C#) cannot overflow the stack.</summary>
    public static IEnumerable<(string Path, string SegmentId)> Of(SegmentRule? rule, string path)
    {
        var stack = new Stack<(SegmentRule? Rule, string Path)>();
        stack.Push((rule, path));
        while (stack.Count > 0)
        {
            var (r, at) = stack.Pop();
            switch (r)
            {
                case SegmentMembershipRule m when m.SegmentId is not null:
                    yield return (JsonPath.Key(at, "segment"), m.SegmentId);
                    break;
                case AllRule { Rules: not null } all:
                    PushChildren(stack, all.Rules, JsonPath.Key(at, "all"));
                    break;
                case AnyRule { Rules: not null } any:
                    PushChildren(stack, any.Rules, JsonPath.Key(at, "any"));
                    break;
                case NotRule not:
                    stack.Push((not.Rule, JsonPath.Key(at, "not")));
                    break;
            }
        }
    }

    /// <summary>
    /// How many rule levels <paramref name="rule"/> nests (a leaf is 1, <c>{"not": leaf}</c> is 2), counting no further
    /// than <paramref name="stopAfter"/> + 1. Iterative.
    /// </summary>
    public static int Depth(SegmentRule? rule, int stopAfter)
    {
        var deepest = 0;
        var stack = new Stack<(SegmentRule? Rule, int Depth)>();
        stack.Push((rule, 1));
        while (stack.Count > 0)
        {
            var (r, depth) = stack.Pop();
            if (r is null)
            {
                continue;
            }

            deepest = Math.Max(deepest, depth);
            if (deepest > stopAfter)
            {
                return deepest;
            }

            switch (r)
            {
                case AllRule { Rules: not null } all:
                    foreach (var c in all.Rules)
                    {
                        stack.Push((c, depth + 1));
                    }

                    break;
                case AnyRule { Rules: not null } any:
                    foreach (var c in any.Rules)
                    {
                        stack.Push((c, depth + 1));
                    }

                    break;
                case NotRule not:
                    stack.Push((not.Rule, depth + 1));
                    break;
            }
        }

        return deepest;
    }

    private static void PushChildren(Stack<(SegmentRule? Rule, string Path)> stack, IReadOnlyList<SegmentRule> rules, string path)
    {
        for (var i = rules.Count - 1; i >= 0; i--)
        {
            stack.Push((rules[i], JsonPath.Index(path, i)));
        }
    }
}
