using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>The measurement report: its data against the aggregates, its HTML self-contained, and opened in a real headless browser.</summary>
public sealed partial class MeasurementReportTests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);

    private static async Task<(JourneyRig Rig, MeasurementReportData Data)> ThreeWeeksAsync()
    {
        var promo = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "mail"}, {"name": "b", "weight": 1, "next": "text"}]},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "promo-mail", "class": "transactional"},
                       {"id": "done", "type": "exit"},
                       {"id": "text", "type": "send", "channels": ["sms"], "template": "promo-text", "class": "transactional"}]}
            """);
        var rig = JourneyRig.Create([promo], start: Start);
        for (var i = 0; i < 60; i++)
        {
            var id = Identifier.CustomerId("r" + i);
            await rig.TrackAsync("user.signed_up", [id, Identifier.Email($"r{i}@example.com"), Identifier.Phone($"+4479460{i:D5}")]);
            var message = rig.Recorder.Messages[^1];
            await rig.TrackAsync(EventTypes.MessageDelivered, [id], new { message_id = message.MessageId });
            if (i % 2 == 0)
            {
                await rig.TrackAsync(EventTypes.MessageClicked, [id], new { message_id = message.MessageId });
            }

            if (i % 3 == 0)
            {
                await rig.TrackAsync(EventTypes.OrderPlaced, [id], new { order_id = "o" + i, total = 25 });
            }

            if (i % 3 == 2)
            {
                await rig.AdvanceAsync(TimeSpan.FromDays(1));
            }
        }

        var data = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions
        {
            From = DateOnly.FromDateTime(Start.UtcDateTime),
            To = DateOnly.FromDateTime(Start.UtcDateTime).AddDays(21),
            Experiments = new ExperimentSettings { MinimumRecipientsPerVariant = 10 },
        });
        return (rig, data);
    }

    [Fact]
    public async Task ReportData_AddsUpTheAggregates()
    {
        var (rig, data) = await ThreeWeeksAsync();
        await using var _ = rig;

        var journey = Assert.Single(data.Journeys);
        Assert.Equal(("promo", 60L), (journey.JourneyId, journey.Entered));
        Assert.Equal(60, journey.Touches.Sent);
        Assert.Equal(60, journey.Touches.Delivered);
        Assert.Equal(30, journey.Touches.Clicked);
        Assert.Equal(20, data.Conversions);
        Assert.Equal(500, data.ConversionRevenue, 9);
        Assert.Equal(20, journey.Touches.Conversions, 9); // every order follows its own message's touch: all attributed
        Assert.Equal(["email", "sms"], data.Channels.Keys);
        Assert.Equal(60, data.Channels.Values.Sum(c => c.Sent));
        Assert.Equal(500, data.Channels.Values.Sum(c => c.Revenue), 9);
        Assert.Equal(20, data.ChannelDays.Select(d => d.Day).Distinct().Count());
        Assert.Equal(["a", "b"], Assert.Single(data.Experiments).Variants.Select(v => v.Name).Order());

        var json = JsonNode.Parse(MeasurementReport.ToJson(data))!;
        Assert.Equal("last_touch", (string)json["model"]!);
        Assert.Equal(60, (int)json["journeys"]![0]!["touches"]!["sent"]!);
    }

    [Fact]
    public async Task ReportHtml_IsSelfContained_AndEveryChartHasData()
    {
        var (rig, data) = await ThreeWeeksAsync();
        await using var _ = rig;
        var html = MeasurementReport.ToHtml(data);

        Assert.DoesNotMatch(ExternalReference(), html);
        var charts = ChartTag().Matches(html);
        Assert.Equal(["funnel-promo", "channel-email", "channel-sms", "revenue-by-channel", "variants-promo"], charts.Select(m => m.Groups["name"].Value));
        Assert.All(charts, m => Assert.True(int.Parse(m.Groups["points"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, m.Value));
    }

    [ChromiumFact]
    public async Task ReportHtml_LoadsInAHeadlessBrowser_WithoutScriptErrors_AndWithEveryChartDrawn()
    {
        var (rig, data) = await ThreeWeeksAsync();
        await using var _ = rig;
        var folder = TestLogFolder("measurement-report");
        var page = Path.Combine(folder, "report.html");
        await File.WriteAllTextAsync(page, MeasurementReport.ToHtml(data));
        var profile = Directory.CreateTempSubdirectory("omnichannel-chromium-");
        try
        {
            var (dom, log) = await Chromium.RunAsync(profile.FullName, "--dump-dom", new Uri(page).AbsoluteUri);
            Assert.DoesNotContain("Uncaught", log);
            Assert.Contains("data-ready=\"true\"", dom);
            Assert.Contains("data-charts=\"5\"", dom);
            Assert.Contains("data-empty-charts=\"0\"", dom);

            var screenshot = Path.Combine(folder, "report.png");
            await Chromium.RunAsync(profile.FullName, "--window-size=1280,2200", "--screenshot=" + screenshot, new Uri(page).AbsoluteUri);
            Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot of the report is missing or blank: " + screenshot);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    /// <summary>CI's log folder (<c>OMNICHANNEL_TEST_LOGS</c>, set by eng/test.sh), else a temporary folder; a sub-folder per use.</summary>
    private static string TestLogFolder(string name)
    {
        var root = Environment.GetEnvironmentVariable("OMNICHANNEL_TEST_LOGS") is { Length: > 0 } logs ? logs : Path.Combine(Path.GetTempPath(), "omnichannel-test-logs");
        return Directory.CreateDirectory(Path.Combine(root, name)).FullName;
    }

    [GeneratedRegex("""(src|href)\s*=\s*["']?(https?:|//)|@import|url\(""", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    [GeneratedRegex(@"<svg class=""chart"" data-chart=""(?<name>[^""]+)"" data-points=""(?<points>\d+)""")]
    private static partial Regex ChartTag();
}

/// <summary>Debian's chromium, headless.</summary>
internal static class Chromium
{
    public static string? Path { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    public static async Task<(string Stdout, string Stderr)> RunAsync(string profileDir, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path ?? throw new InvalidOperationException("chromium is not installed"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profileDir }.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (await stdout, await stderr);
    }
}

/// <summary>A fact skipped, with the reason, only when chromium is not installed (eng/install-test-servers.sh installs it as root).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null)
        {
            Skip = "chromium is not installed and could not be: run eng/install-test-servers.sh as root (apt-get install -y chromium), then run again";
        }
    }
}
