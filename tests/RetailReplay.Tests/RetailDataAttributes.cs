namespace RetailReplay.Tests;

/// <summary>
/// A test over the Online Retail data set, which lives beside the repository (<c>../shared/data</c>), not in it. On a
/// machine without it the test is skipped with that reason (the closing line counts it as skipped), never passed.
/// </summary>
public sealed class RetailDataFactAttribute : FactAttribute
{
    public RetailDataFactAttribute()
    {
        if (ReplayRun.FindData() is null)
        {
            Skip = MissingReason;
        }
    }

    internal static string MissingReason =>
        $"The Online Retail data set is not on this machine: no '{ReplayRun.DataRelativePath}' above {AppContext.BaseDirectory} and {ReplayRun.DataVariable} is not set.";
}

/// <summary>A theory over the Online Retail data set; skipped with the reason when the data set is absent.</summary>
public sealed class RetailDataTheoryAttribute : TheoryAttribute
{
    public RetailDataTheoryAttribute()
    {
        if (ReplayRun.FindData() is null)
        {
            Skip = RetailDataFactAttribute.MissingReason;
        }
    }
}
