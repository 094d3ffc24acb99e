using System.Diagnostics;

namespace RetailReplay.Tests;

/// <summary>
/// A data file the replay cannot use: named with what is wrong in it (and where), never a stack trace, and the program
/// exits with 2. Before: a file with a header only, or with adjustments only, failed at <c>events[0]</c> with
/// <see cref="ArgumentOutOfRangeException"/>; a row with an unreadable date, a CSV line with an unclosed quote, or a
/// missing column ended in an unhandled exception (exit code 134).
/// </summary>
public sealed class ReplayDataErrorsTests : IDisposable
{
    private const string Header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var f in _files)
        {
            File.Delete(f);
        }
    }

    [Theory]
    [InlineData("", "the file has a header and no rows.")]
    [InlineData("A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom\n", "each of its 1 invoices is an adjustment (InvoiceNo starting with A) or charges nothing (a total of 0 or less), not a sale or a return: nothing to replay.")]
    [InlineData("536589,21777,damaged,-10,2010-12-01 16:50:00,0.0,,United Kingdom\n", "each of its 1 invoices is an adjustment (InvoiceNo starting with A) or charges nothing (a total of 0 or less), not a sale or a return: nothing to replay.")]
    [InlineData("536365,85123A,THING,6,12/01/2010 08:26,2.55,17850.0,United Kingdom\n", "row 1 after the header cannot be read (InvoiceDate as yyyy-MM-dd HH:mm:ss, Quantity and UnitPrice as numbers, every column present): FormatException.")]
    [InlineData("536365,85123A,THING,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n536366,22633,HAND WARMER,six,2010-12-01 08:28:00,1.85,17850.0,United Kingdom\n", "row 2 after the header cannot be read (InvoiceDate as yyyy-MM-dd HH:mm:ss, Quantity and UnitPrice as numbers, every column present): FormatException.")]
    [InlineData("536365,85123A,\"THING,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n", "is not a CSV row (an unclosed quote?).")]
    public async Task ADataFileWithoutEventsOrWithABadRow_IsNamed_AndTheReplayThrowsInvalidDataException(string rows, string message)
    {
        var csv = Write(Header + rows);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Replay.RunAsync(new ReplayOptions(csv, [])));

        Assert.StartsWith(csv + ": ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("17850", error.Message, StringComparison.Ordinal); // the row's number, never a customer's id
    }

    [Fact]
    public async Task TheProgram_WithADataFileOfAdjustmentsOnly_SaysSo_AndExitsWith2()
    {
        var csv = Write(Header + "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom\n");

        foreach (var warmUp in new[] { false, true })
        {
            var (code, error) = await RunProgramAsync(warmUp ? ["--data", csv, "--warm-up"] : ["--data", csv]);

            Assert.Equal((2, $"{csv}: each of its 1 invoices is an adjustment (InvoiceNo starting with A) or charges nothing (a total of 0 or less), not a sale or a return: nothing to replay."), (code, error.Trim()));
        }
    }

    [Fact]
    public async Task TheProgram_WithADataFileWithoutAColumn_NamesIt_AndExitsWith2()
    {
        var csv = Write("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,Country\n536365,85123A,6,2010-12-01 08:26:00,2.55,United Kingdom\n");

        var (code, error) = await RunProgramAsync(["--data", csv]);

        Assert.Equal((2, $"{csv}: no column 'CustomerID'."), (code, error.Trim()));
    }

    private string Write(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"replay-data-{Guid.NewGuid():N}.csv");
        _files.Add(path);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Code, string Error)> RunProgramAsync(string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RetailReplay.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(limit.Token);
        await output;
        return (process.ExitCode, await error);
    }
}
