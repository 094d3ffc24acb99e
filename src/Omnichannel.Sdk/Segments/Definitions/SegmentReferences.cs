namespace Omnichannel.Sdk.Segments;

/// <summary>Finds the <c>{"segment": "id"}</c> references in a rule, with their JSON paths.</summary>
internal static class SegmentReferences
{
    public static IEnumerable<(string Path, string SegmentId)> Of(SegmentRule? rule, string path)
    {
        switch (rule)
        {
            case SegmentMembershipRule m when m.SegmentId is not null:
                yield return (JsonPath.Key(path, "segment"), m.SegmentId);
                break;
            case AllRule { Rules: not null } all:
                foreach (var r in Children(all.Rules, JsonPath.Key(path, "all")))
                {
                    yield return r;
                }

                break;
            case AnyRule { Rules: not null } any:
                foreach (var r in Children(any.Rules, JsonPath.Key(path, "any")))
                {
                    yield return r;
                }

                break;
            case NotRule not:
                foreach (var r in Of(not.Rule, JsonPath.Key(path, "not")))
                {
                    yield return r;
                }

                break;
        }
    }

    private static IEnumerable<(string Path, string SegmentId)> Children(IReadOnlyList<SegmentRule> rules, string path)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            foreach (var r in Of(rules[i], JsonPath.Index(path, i)))
            {
                yield return r;
            }
        }
    }
}
