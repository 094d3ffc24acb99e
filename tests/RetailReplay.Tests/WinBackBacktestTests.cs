using Omnichannel.Sdk.Journeys;

namespace RetailReplay.Tests;

/// <summary>Replays the year with the shipped win-back journey once (30–60 s) and computes its counts from the CSV.</summary>
public sealed class WinBackRun : IAsyncLifetime
{
    public string? Problem { get; private set; }

    public ReplayReport Report { get; private set; } = null!;

    internal IndependentModel Expected { get; private set; } = null!;

    public JourneyDefinition Journey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var path = ReplayRun.FindData();
        if (path is null)
        {
            Problem = "The Online Retail data set was not found (see ReplayRun); this check must not be skipped.";
            return;
        }

        var parsed = JourneyJson.ParseMany(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "win-back-journeys.json")));
        Journey = Assert.Single(parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors)));
        Expected = IndependentModel.Load(path);
        Report = await Replay.RunAsync(new ReplayOptions(path, []) { Journeys = [Journey] });
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>The win-back journey's entries, steps, conversions and revenue against plain LINQ over the CSV (issue 16, backtests).</summary>
public sealed class WinBackBacktestTests(WinBackRun run) : IClassFixture<WinBackRun>
{
    [RetailDataFact]
    public void WinBack_CountsEqualAnIndependentComputation()
    {
        Assert.Null(run.Problem);
        var trigger = Assert.IsType<InactivityTrigger>(run.Journey.Trigger);
        Assert.Equal(("order.placed", "P90D", "P30D"), (trigger.AfterEventType, trigger.Within.ToString(), run.Journey.Goal!.Within.ToString()));
        var (entered, converted, revenue) = Independent(run.Expected, inactivity: TimeSpan.FromDays(90), goal: TimeSpan.FromDays(30));

        var actual = run.Report.Journeys["win-back"];
        Assert.Equal(entered, actual.Entered);
        Assert.Equal(new Dictionary<string, long> { ["we-miss-you"] = entered }, actual.Steps);
        Assert.Equal(converted, actual.Converted);
        Assert.Equal((double)revenue, actual.Revenue, 2);
        Assert.Equal(entered, run.Report.MessagesSent); // everyone has a synthetic address and consent
        Assert.Equal(0, run.Report.Rejected);
    }

    // The batched replay stops at every pending timer; one event at a time with the clock at each event's instant must
    // give the same backtest (the send's wake-up and the goal window both run on timers).
    [RetailDataFact]
    public async Task WinBack_OneEventAtATime_GivesTheBatchedBacktest()
    {
        Assert.Null(run.Problem);

        var serial = await Replay.RunAsync(new ReplayOptions(ReplayRun.FindData()!, []) { Journeys = [run.Journey], Serial = true });

        var (batched, oneByOne) = (run.Report.Journeys["win-back"], serial.Journeys["win-back"]);
        Assert.Equal((batched.Entered, batched.Converted, batched.Revenue), (oneByOne.Entered, oneByOne.Converted, oneByOne.Revenue));
        Assert.Equal(batched.Steps, oneByOne.Steps);
        Assert.Equal(run.Report.MessagesSent, serial.MessagesSent);
    }

    [RetailDataFact]
    public void WinBack_ReportHasTheJourneyAndItsChannel()
    {
        Assert.Null(run.Problem);
        var m = run.Report.Measurement!;
        var journey = Assert.Single(m.Journeys);
        Assert.Equal(run.Report.Journeys["win-back"].Entered, journey.Entered);
        Assert.Equal(run.Report.MessagesSent, m.Channels["email"].Sent);
    }

    // Ninety days after a person's last order (each order restarts the clock) the journey starts, if the replay's clock
    // gets there (it ends at the last invoice); a wake-up due at an invoice's instant runs before the invoice. The goal is
    // the first order at most 30 days after the start.
    internal static (long Entered, long Converted, decimal Revenue) Independent(IndependentModel model, TimeSpan inactivity, TimeSpan goal)
    {
        var end = model.Events.Max(e => e.Time);
        long entered = 0, converted = 0;
        decimal revenue = 0;
        foreach (var person in model.Events.Where(e => !e.IsReturn).GroupBy(e => e.Person))
        {
            var orders = person.OrderBy(e => e.Time).ThenBy(e => e.FileOrder).ToList();
            for (var i = 0; i < orders.Count; i++)
            {
                var due = orders[i].Time + inactivity;
                var next = orders.Skip(i + 1).FirstOrDefault(o => o.Time > orders[i].Time);
                if (i + 1 < orders.Count && orders[i + 1].Time == orders[i].Time)
                {
                    continue; // a later order at the same instant restarts the same clock
                }

                if (next is null ? due > end : next.Time < due)
                {
                    continue;
                }

                entered++;
                if (next is not null && next.Time <= due + goal)
                {
                    converted++;
                    revenue += next.Total;
                }
            }
        }

        return (entered, converted, revenue);
    }
}
