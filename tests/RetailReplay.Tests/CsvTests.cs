namespace RetailReplay.Tests;

public sealed class CsvTests
{
    [Fact]
    public void ReadRecords_WhenFieldsAreQuoted_KeepsCommasDoubledQuotesAndLineBreaks()
    {
        var text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n,,last";

        var records = Csv.ReadRecords(new StringReader(text)).ToList();

        Assert.Equal(3, records.Count);
        Assert.Equal(["a", "b", "c"], records[0]);
        Assert.Equal(["x, y", "say \"hi\"", "two\nlines"], records[1]);
        Assert.Equal(["", "", "last"], records[2]);
    }
}
