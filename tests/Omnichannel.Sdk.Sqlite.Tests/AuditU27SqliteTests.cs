namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U27: <see cref="SqliteStoreOptions"/>' documented defaults and ranges, pinned.</summary>
public sealed class AuditU27SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void TheDefaults_AreTheDocumentedOnes()
    {
        var o = new SqliteStoreOptions();
        Assert.Equal(SqliteDurability.Full, o.Durability);
        Assert.Equal(TimeSpan.FromSeconds(5), o.BusyTimeout);
        Assert.Equal(256, o.MaxBatchSize);
        Assert.Equal(TimeSpan.Zero, o.MaxBatchDelay);
        Assert.True(o.SecureDelete);
        Assert.True(o.CheckIntegrityOnOpen);
        Assert.Null(o.TimeProvider);
    }

    public static TheoryData<string, string> Edges() => new()
    {
        // name, accepted edge / refused value
        { "BusyTimeout", "0s|-1t" },
        { "BusyTimeout", "10m|10m1t" },
        { "MaxBatchSize", "1|0" },
        { "MaxBatchSize", "100000|100001" },
        { "MaxBatchDelay", "0s|-1t" },
        { "MaxBatchDelay", "1d|1d1t" },
    };

    [Theory]
    [MemberData(nameof(Edges))]
    public void EachDocumentedRange_AcceptsItsEdge_AndRefusesOnePast(string name, string values)
    {
        var parts = values.Split('|');
        Assert.Empty(With(name, parts[0]).Validate());
        Assert.Contains(With(name, parts[1]).Validate(), p => p.StartsWith(name, StringComparison.Ordinal));
    }

    // Mismatch: MaxBatchSize had no upper bound, and the writer sizes its batch list by it when it starts: int.MaxValue
    // passed validation, the store opened, and its writer then failed (OutOfMemoryException) with every commit waiting on it.
    [Fact]
    public async Task Open_WithAHugeMaxBatchSize_IsRefusedNotFailingLater()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions
        {
            ConnectionString = _folder.File(),
            MaxBatchSize = int.MaxValue,
        }));
        Assert.Contains("MaxBatchSize", ex.Message);
    }

    private SqliteStoreOptions With(string name, string value)
    {
        var o = new SqliteStoreOptions { ConnectionString = _folder.File() };
        switch (name)
        {
            case "MaxBatchSize": o.MaxBatchSize = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "BusyTimeout": o.BusyTimeout = Time(value); break;
            default: o.MaxBatchDelay = Time(value); break;
        }

        return o;
    }

    private static TimeSpan Time(string v) => v switch
    {
        "0s" => TimeSpan.Zero,
        "-1t" => TimeSpan.FromTicks(-1),
        "10m" => TimeSpan.FromMinutes(10),
        "10m1t" => TimeSpan.FromMinutes(10) + TimeSpan.FromTicks(1),
        "1d" => TimeSpan.FromDays(1),
        _ => TimeSpan.FromDays(1) + TimeSpan.FromTicks(1),
    };
}
