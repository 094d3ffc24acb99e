using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Measurement;

/// <summary>What a measurement report covers.</summary>
public sealed record MeasurementReportOptions
{
    /// <summary>First day, inclusive, in <see cref="MeasurementOptions.TimeZone"/> (UTC by default); default 30 days before <see cref="To"/>.</summary>
    public DateOnly? From { get; init; }

    /// <summary>
    /// Last day, inclusive, in <see cref="MeasurementOptions.TimeZone"/>; default the current day there by the engine's own
    /// clock (its <see cref="TimeProvider"/>: a test host's fake clock, not the machine's date).
    /// </summary>
    public DateOnly? To { get; init; }

    /// <summary>The attribution model conversions and revenue are read under; default <see cref="MeasurementOptions.DefaultModel"/>.</summary>
    public AttributionModel? Model { get; init; }

    /// <summary>The conversion definition; default <c>order</c> (or the first configured).</summary>
    public string? ConversionId { get; init; }

    /// <summary>Settings of the experiment verdicts shown.</summary>
    public ExperimentSettings Experiments { get; init; } = new();

    /// <summary>The page title.</summary>
    public string Title { get; init; } = "Channel performance";
}

/// <summary>Touch counts, credited conversions and revenue of one slice (a journey, a channel, a channel on a day).</summary>
/// <param name="Sent">Messages sent.</param>
/// <param name="Delivered">Messages delivered.</param>
/// <param name="Opened">Messages opened (unique).</param>
/// <param name="Clicked">Messages clicked (unique).</param>
/// <param name="Unsubscribed">Unsubscribes.</param>
/// <param name="Conversions">Conversion credit under the report's model (fractional under linear and time decay).</param>
/// <param name="Revenue">Revenue credited under the report's model.</param>
public sealed record FunnelCounts(long Sent, long Delivered, long Opened, long Clicked, long Unsubscribed, double Conversions, double Revenue)
{
    internal static FunnelCounts Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    internal FunnelCounts Add(string metric, long count, double sum, string credit, string revenue) => metric switch
    {
        MeasurementMetrics.Sent => this with { Sent = Sent + count },
        MeasurementMetrics.Delivered => this with { Delivered = Delivered + count },
        MeasurementMetrics.Opened => this with { Opened = Opened + count },
        MeasurementMetrics.Clicked => this with { Clicked = Clicked + count },
        MeasurementMetrics.Unsubscribed => this with { Unsubscribed = Unsubscribed + count },
        _ when metric == credit => this with { Conversions = Conversions + sum },
        _ when metric == revenue => this with { Revenue = Revenue + sum },
        _ => this,
    };
}

/// <summary>One journey's funnel.</summary>
/// <param name="JourneyId">The journey.</param>
/// <param name="Entered">Instances started in the period.</param>
/// <param name="GoalConversions">Goal conversions in the period (the journey's own counter).</param>
/// <param name="Touches">Its messages' funnel, with credited conversions under the report's model.</param>
public sealed record JourneyFunnel(string JourneyId, long Entered, long GoalConversions, FunnelCounts Touches);

/// <summary>One channel on one day.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Day">The day, in <see cref="MeasurementOptions.TimeZone"/> (UTC by default).</param>
/// <param name="Counts">Its funnel that day.</param>
public sealed record ChannelDay(string Channel, DateOnly Day, FunnelCounts Counts);

/// <summary>The data of a measurement report (what the HTML shows, and its JSON form).</summary>
/// <param name="Title">The title.</param>
/// <param name="From">First day.</param>
/// <param name="To">Last day.</param>
/// <param name="Model">The attribution model (snake_case).</param>
/// <param name="ConversionId">The conversion definition.</param>
/// <param name="Conversions">Conversions in the period, attributed or not.</param>
/// <param name="ConversionRevenue">Their revenue.</param>
/// <param name="Journeys">Per journey, its funnel.</param>
/// <param name="Channels">Per channel, its total funnel.</param>
/// <param name="ChannelDays">Per channel and day.</param>
/// <param name="Experiments">Verdicts of journey splits (and the global control group when on).</param>
public sealed record MeasurementReportData(
    string Title,
    DateOnly From,
    DateOnly To,
    string Model,
    string ConversionId,
    long Conversions,
    double ConversionRevenue,
    IReadOnlyList<JourneyFunnel> Journeys,
    IReadOnlyDictionary<string, FunnelCounts> Channels,
    IReadOnlyList<ChannelDay> ChannelDays,
    IReadOnlyList<ExperimentVerdict> Experiments)
{
    /// <summary>
    /// The currency of the revenue (<see cref="OmnichannelOptions.Currency"/>, upper case), or <see langword="null"/> when the
    /// shop set none (revenue may then add several currencies). With one, the HTML shows money with the currency's minor
    /// units (none for JPY, three for KWD), rounded half away from zero, and its code.
    /// </summary>
    public string? Currency { get; init; }
}

/// <summary>
/// The channel report people look at: a self-contained HTML page (no external assets; hand-made inline SVG charts — a
/// funnel per journey, each channel's sends → deliveries → opens → clicks → conversions per day, experiment variants with
/// their intervals and verdicts, revenue by channel under the chosen model) and the same data as JSON. Built from the
/// store's aggregates only.
/// </summary>
public static class MeasurementReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private static readonly string[] Palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563"];

    /// <summary>Reads the report's data from the engine's aggregates.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="options">The period, model and conversion; defaults when <see langword="null"/>.</param>
    /// <param name="time">
    /// The clock for the default period; the engine's own clock when <see langword="null"/> (the container's
    /// <see cref="TimeProvider"/>, so under <c>OmnichannelTestHost</c> the fake clock's day rather than the machine's).
    /// </param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="ArgumentException">The period ends before it starts.</exception>
    public static async Task<MeasurementReportData> BuildAsync(OmnichannelEngine engine, MeasurementReportOptions? options = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        options ??= new MeasurementReportOptions();
        var to = options.To ?? engine.Options.Measurement.DayOf((time ?? engine.Clock).GetUtcNow());
        var from = options.From ?? to.AddDays(-30);
        if (to < from)
        {
            // Invariant: on a th-TH server "yyyy" is the Buddhist year (2569), so the message named days that were never asked for.
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"options.To ({to:yyyy-MM-dd}) is before options.From ({from:yyyy-MM-dd})"), nameof(options));
        }

        var model = options.Model ?? engine.Options.Measurement.DefaultModel;
        var conversion = options.ConversionId ?? (engine.Options.Measurement.Conversions.Any(c => c.Id == "order") ? "order" : engine.Options.Measurement.Conversions.FirstOrDefault()?.Id ?? "order");
        var credit = MeasurementMetrics.Credit(conversion, model);
        var revenue = MeasurementMetrics.Revenue(conversion, model);
        // Every row of the period: the report sums them, so a cut answer (it was cut at 1,000,000) gave smaller totals silently.
        var rows = await engine.GetMeasurementsAsync(new MeasurementQuery { From = from, To = to, Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false);

        var journeys = new SortedDictionary<string, (long Entered, long Goal, FunnelCounts Touches)>(StringComparer.Ordinal);
        var channels = new SortedDictionary<string, FunnelCounts>(StringComparer.Ordinal);
        // Channel (ordinal, as Channels), then day: the tuple's default comparer would order names by the server's culture.
        var days = new SortedDictionary<(string, DateOnly), FunnelCounts>(Comparer<(string Channel, DateOnly Day)>.Create(
            static (a, b) => string.CompareOrdinal(a.Channel, b.Channel) is var c and not 0 ? c : a.Day.CompareTo(b.Day)));
        long conversions = 0;
        double conversionRevenue = 0;
        foreach (var r in rows)
        {
            var k = r.Key;
            if (k.Metric == MeasurementMetrics.Conversion(conversion))
            {
                conversions += r.Count;
                conversionRevenue += r.Sum;
                continue;
            }

            if (k.JourneyId.Length > 0 && k.JourneyId[0] != '$')
            {
                var j = journeys.GetValueOrDefault(k.JourneyId, (0, 0, FunnelCounts.Zero));
                journeys[k.JourneyId] = k.Metric switch
                {
                    "journey:entered" => j with { Entered = j.Entered + r.Count },
                    "journey:converted" => j with { Goal = j.Goal + r.Count },
                    _ => j with { Touches = j.Touches.Add(k.Metric, r.Count, r.Sum, credit, revenue) },
                };
            }

            if (k.Channel.Length > 0)
            {
                channels[k.Channel] = channels.GetValueOrDefault(k.Channel, FunnelCounts.Zero).Add(k.Metric, r.Count, r.Sum, credit, revenue);
                days[(k.Channel, k.Day)] = days.GetValueOrDefault((k.Channel, k.Day), FunnelCounts.Zero).Add(k.Metric, r.Count, r.Sum, credit, revenue);
            }
        }

        var verdicts = new List<ExperimentVerdict>();
        foreach (var id in journeys.Keys.Union(engine.Journeys.Select(j => j.Id)).Distinct(StringComparer.Ordinal))
        {
            if (await engine.GetExperimentVerdictAsync(id, options.Experiments, cancellationToken).ConfigureAwait(false) is { } v)
            {
                verdicts.Add(v);
            }
        }

        if (await engine.GetGlobalControlVerdictAsync(conversion, options.Experiments, cancellationToken).ConfigureAwait(false) is { } global)
        {
            verdicts.Add(global);
        }

        return new MeasurementReportData(options.Title, from, to, MeasurementMetrics.ModelName(model), conversion, conversions, conversionRevenue,
            [.. journeys.Select(kv => new JourneyFunnel(kv.Key, kv.Value.Entered, kv.Value.Goal, kv.Value.Touches))],
            channels,
            [.. days.Select(kv => new ChannelDay(kv.Key.Item1, kv.Key.Item2, kv.Value))],
            verdicts)
        {
            Currency = engine.Options.Currency,
        };
    }

    /// <summary>The report's data as indented JSON (camelCase names, enums in snake_case; infinite interval bounds as strings).</summary>
    /// <param name="data">The data.</param>
    public static string ToJson(MeasurementReportData data) => JsonSerializer.Serialize(data, Json);

    /// <summary>
    /// The report as one self-contained HTML page: inline CSS and SVG, a few lines of inline script (hover details), no
    /// external assets. Every chart is an <c>&lt;svg class="chart"&gt;</c> with <c>data-chart</c> (its name) and
    /// <c>data-points</c> (how many values it draws); the script sets <c>data-ready="true"</c> on the body when it ran.
    /// All text is HTML-encoded.
    /// </summary>
    /// <param name="data">The data.</param>
    public static string ToHtml(MeasurementReportData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(data.Title)).Append("</title><style>")
            .Append("body{font:14px system-ui,sans-serif;margin:24px;color:#111;background:#fafafa}h1{font-size:22px}h2{font-size:17px;margin-top:28px}")
            .Append(".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 16px;margin:12px 0}.muted{color:#666}")
            .Append("table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #eee}th:first-child,td:first-child{text-align:left}")
            .Append("svg.chart{display:block;margin:6px 0}svg.chart text{font:11px system-ui,sans-serif}.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}")
            .Append("#tip{position:fixed;pointer-events:none;background:#111;color:#fff;padding:3px 6px;border-radius:4px;font-size:12px;display:none}")
            .Append("</style></head><body>");
        h.Append("<h1>").Append(E(data.Title)).Append("</h1><p class=\"muted\">")
            .Append(E(FormattableString.Invariant($"{data.From:yyyy-MM-dd} – {data.To:yyyy-MM-dd} · attribution: {data.Model} · conversion: {data.ConversionId} · {data.Conversions} conversions, revenue {Money(data.ConversionRevenue, data.Currency)}")))
            .Append("</p>");

        h.Append("<h2>Journeys</h2>");
        if (data.Journeys.Count == 0)
        {
            h.Append("<p class=\"muted\">No journey activity in the period.</p>");
        }

        foreach (var j in data.Journeys)
        {
            var t = j.Touches;
            h.Append("<div class=\"card\"><strong>").Append(E(j.JourneyId)).Append("</strong> <span class=\"muted\">")
                .Append(E(FormattableString.Invariant($"{j.Entered} entered · {j.GoalConversions} goal conversions"))).Append("</span>");
            Bars(h, "funnel-" + j.JourneyId, [("entered", j.Entered), ("sent", t.Sent), ("delivered", t.Delivered), ("opened", t.Opened), ("clicked", t.Clicked), ("converted", t.Conversions)]);
            h.Append("</div>");
        }

        h.Append("<h2>Channels over time</h2>");
        foreach (var channel in data.Channels.Keys)
        {
            var series = data.ChannelDays.Where(d => d.Channel == channel).ToList();
            h.Append("<div class=\"card\"><strong>").Append(E(channel)).Append("</strong>");
            Lines(h, "channel-" + channel, data.From, data.To, series);
            h.Append("</div>");
        }

        h.Append("<h2>Revenue by channel (").Append(E(data.Model)).Append(")</h2><div class=\"card\">");
        Bars(h, "revenue-by-channel", [.. data.Channels.Select(kv => (kv.Key, kv.Value.Revenue))], money: true, data.Currency);
        h.Append("<table><tr><th>channel</th><th>sent</th><th>delivered</th><th>opened</th><th>clicked</th><th>unsubscribed</th><th>conversions</th><th>revenue</th></tr>");
        foreach (var (channel, c) in data.Channels)
        {
            h.Append(FormattableString.Invariant($"<tr><td>{E(channel)}</td><td>{c.Sent}</td><td>{c.Delivered}</td><td>{c.Opened}</td><td>{c.Clicked}</td><td>{c.Unsubscribed}</td><td>{c.Conversions:0.##}</td><td>{E(Money(c.Revenue, data.Currency))}</td></tr>"));
        }

        h.Append("</table></div>");

        h.Append("<h2>Experiments</h2>");
        if (data.Experiments.Count == 0)
        {
            h.Append("<p class=\"muted\">No experiment has two arms with entrants yet.</p>");
        }

        foreach (var v in data.Experiments)
        {
            h.Append("<div class=\"card\"><strong>").Append(E(v.ExperimentId)).Append("</strong> <span class=\"muted\">")
                .Append(E(v.Sequential ? "always-valid" : "fixed-horizon")).Append("</span><p>").Append(E(v.Evidence)).Append("</p>");
            if (v.SampleRatio.Mismatch)
            {
                h.Append("<p style=\"color:#dc2626\">").Append(E(FormattableString.Invariant($"Sample ratio mismatch: χ² = {v.SampleRatio.ChiSquare:0.##}, p {ExperimentAnalysis.PValueText(v.SampleRatio.PValue, 5)}"))).Append("</p>");
            }

            if (v.PeopleInBothGroups > 0)
            {
                // Audit U86: people whose profiles were in both groups before a merge, counted in the one assigned first.
                h.Append("<p class=\"muted\">").Append(E(FormattableString.Invariant($"{v.PeopleInBothGroups} people were in both groups before their profiles merged (counted in the group assigned first)"))).Append("</p>");
            }

            Intervals(h, "variants-" + v.ExperimentId, v);
            h.Append("</div>");
        }

        h.Append("<div id=\"tip\"></div><script>")
            .Append("(function(){var tip=document.getElementById('tip');")
            .Append("document.querySelectorAll('svg.chart [data-tip]').forEach(function(el){")
            .Append("el.addEventListener('mousemove',function(e){tip.textContent=el.getAttribute('data-tip');tip.style.display='block';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});")
            .Append("el.addEventListener('mouseleave',function(){tip.style.display='none';});});")
            .Append("var charts=document.querySelectorAll('svg.chart');var empty=0;charts.forEach(function(c){if(!(parseInt(c.getAttribute('data-points'),10)>0))empty++;});")
            .Append("document.body.setAttribute('data-charts',String(charts.length));document.body.setAttribute('data-empty-charts',String(empty));")
            .Append("document.body.setAttribute('data-ready','true');})();</script></body></html>");
        return h.ToString();
    }

    // Money in the shop's currency keeps its minor units and names its code (KWD 10.125 was shown 10.13, JPY 3000 as
    // 3000.00: Mozu/core-theme#448, dinerojs/dinero.js#157); rounded as a decimal, half away from zero, as the profile's
    // average is. Without a shop currency, two decimals as before.
    private static string Money(double value, string? currency)
    {
        var code = currency is null ? string.Empty : " " + currency;
        if (!double.IsFinite(value) || Math.Abs(value) >= 1e20)
        {
            return value.ToString("0.00", CultureInfo.InvariantCulture) + code; // past decimal's range: still names its currency
        }

        // Revenue taken back in doubles may end a hair under zero (-1e-13): shown 0.00, never -0.00 (review U47).
        if (currency is null)
        {
            var shown = value.ToString("0.00", CultureInfo.InvariantCulture);
            return shown == "-0.00" ? "0.00" : shown;
        }

        var digits = CurrencyMinorUnits.Of(currency.ToUpperInvariant()); // data built by hand may say "jpy"
        var rounded = Math.Round((decimal)value, digits, MidpointRounding.AwayFromZero);
        return (rounded == 0 ? 0m : rounded).ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + code;
    }

    private static void Bars(StringBuilder h, string name, IReadOnlyList<(string Label, double Value)> bars, bool money = false, string? currency = null)
    {
        const int width = 640, row = 24, labelWidth = 110;
        var max = Math.Max(1e-9, bars.Where(b => double.IsFinite(b.Value)).Select(b => b.Value).DefaultIfEmpty(0).Max());
        var points = bars.Count(b => b.Value > 0);
        h.Append(FormattableString.Invariant($"<svg class=\"chart\" data-chart=\"{E(name)}\" data-points=\"{points}\" width=\"{width}\" height=\"{(bars.Count * row) + 8}\" viewBox=\"0 0 {width} {(bars.Count * row) + 8}\" role=\"img\" aria-label=\"{E(name)}\">"));
        for (var i = 0; i < bars.Count; i++)
        {
            var (label, value) = bars[i];
            // A negative value (a refund-like order, credited revenue below zero) or a non-finite one draws no bar: an SVG
            // rect with a negative width is an error. Its label still shows the value.
            var w = double.IsFinite(value) && value > 0 ? (width - labelWidth - 90) * value / max : 0;
            var y = (i * row) + 4;
            // Escaped: a report's data may be built by hand, its currency any text (review U47).
            var shown = E(money ? Money(value, currency) : value.ToString("0.##", CultureInfo.InvariantCulture));
            h.Append(FormattableString.Invariant($"<text x=\"0\" y=\"{y + 15}\">{E(label)}</text>"))
                .Append(FormattableString.Invariant($"<rect x=\"{labelWidth}\" y=\"{y}\" width=\"{w:0.##}\" height=\"{row - 6}\" fill=\"{Palette[i % Palette.Length]}\" data-tip=\"{E(label)}: {shown}\"/>"))
                .Append(FormattableString.Invariant($"<text x=\"{labelWidth + w + 6:0.##}\" y=\"{y + 15}\">{shown}</text>"));
        }

        h.Append("</svg>");
    }

    private static void Lines(StringBuilder h, string name, DateOnly from, DateOnly to, IReadOnlyList<ChannelDay> days)
    {
        const int width = 640, height = 180, left = 40, bottom = 24, top = 8;
        var span = Math.Max(1, to.DayNumber - from.DayNumber);
        var metrics = new (string Name, Func<FunnelCounts, double> Get)[]
        {
            ("sent", c => c.Sent), ("delivered", c => c.Delivered), ("opened", c => c.Opened), ("clicked", c => c.Clicked), ("conversions", c => c.Conversions),
        };
        var max = Math.Max(1, days.Count == 0 ? 0 : days.Max(d => metrics.Max(m => m.Get(d.Counts))));
        double X(DateOnly d) => left + ((width - left - 8) * (d.DayNumber - from.DayNumber) / (double)span);
        double Y(double v) => top + ((height - top - bottom) * (1 - (v / max)));
        var points = days.Sum(d => metrics.Count(m => m.Get(d.Counts) > 0));
        h.Append(FormattableString.Invariant($"<svg class=\"chart\" data-chart=\"{E(name)}\" data-points=\"{points}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{E(name)}\">"))
            .Append(FormattableString.Invariant($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - 8}\" y2=\"{height - bottom}\" stroke=\"#999\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#999\"/>"))
            .Append(FormattableString.Invariant($"<text x=\"2\" y=\"{top + 10}\">{max:0.#}</text><text x=\"{left}\" y=\"{height - 6}\">{from:yyyy-MM-dd}</text><text x=\"{width - 80}\" y=\"{height - 6}\">{to:yyyy-MM-dd}</text>"));
        for (var m = 0; m < metrics.Length; m++)
        {
            var (metric, get) = metrics[m];
            var coordinates = days.OrderBy(d => d.Day).Select(d => FormattableString.Invariant($"{X(d.Day):0.#},{Y(get(d.Counts)):0.#}")).ToList();
            if (coordinates.Count == 0)
            {
                continue;
            }

            h.Append(FormattableString.Invariant($"<polyline fill=\"none\" stroke=\"{Palette[m]}\" stroke-width=\"2\" points=\"{string.Join(' ', coordinates)}\"/>"));
            foreach (var d in days)
            {
                h.Append(FormattableString.Invariant($"<circle cx=\"{X(d.Day):0.#}\" cy=\"{Y(get(d.Counts)):0.#}\" r=\"3\" fill=\"{Palette[m]}\" data-tip=\"{E(metric)} {d.Day:yyyy-MM-dd}: {get(d.Counts):0.##}\"/>"));
            }
        }

        h.Append("</svg><div class=\"legend\">");
        for (var m = 0; m < metrics.Length; m++)
        {
            h.Append(FormattableString.Invariant($"<span><i style=\"background:{Palette[m]}\"></i>{metrics[m].Name}</span>"));
        }

        h.Append("</div>");
    }

    private static void Intervals(StringBuilder h, string name, ExperimentVerdict v)
    {
        const int width = 860, row = 30, left = 150;
        var upper = Math.Max(0.01, v.Variants.Max(a => a.ConversionRateInterval.Upper));
        double X(double rate) => left + ((width - left - 330) * rate / upper);
        h.Append(FormattableString.Invariant($"<svg class=\"chart\" data-chart=\"{E(name)}\" data-points=\"{v.Variants.Count}\" width=\"{width}\" height=\"{(v.Variants.Count * row) + 10}\" viewBox=\"0 0 {width} {(v.Variants.Count * row) + 10}\" role=\"img\" aria-label=\"{E(name)}\">"));
        for (var i = 0; i < v.Variants.Count; i++)
        {
            var a = v.Variants[i];
            var y = (i * row) + 16;
            var colour = a.Name == v.Winner ? "#16a34a" : a.Name == v.Control ? "#4b5563" : "#2563eb";
            var p = a.VersusControl is { } d ? FormattableString.Invariant($" · Δ {d.RateDifference * 100:+0.00;-0.00} pp, p {ExperimentAnalysis.PValueText(v.Sequential ? d.RateAlwaysValidPValue : d.RatePValue, 4)}") : " · control";
            h.Append(FormattableString.Invariant($"<text x=\"0\" y=\"{y + 4}\">{E(a.Name)} (n={a.Recipients})</text>"))
                .Append(FormattableString.Invariant($"<line x1=\"{X(a.ConversionRateInterval.Lower):0.#}\" y1=\"{y}\" x2=\"{X(a.ConversionRateInterval.Upper):0.#}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>"))
                .Append(FormattableString.Invariant($"<circle cx=\"{X(a.ConversionRate):0.#}\" cy=\"{y}\" r=\"5\" fill=\"{colour}\" data-tip=\"{E(a.Name)}: {a.ConversionRate * 100:0.00}% [{a.ConversionRateInterval.Lower * 100:0.00}, {a.ConversionRateInterval.Upper * 100:0.00}]\"/>"))
                .Append(FormattableString.Invariant($"<text x=\"{width - 320}\" y=\"{y + 4}\">{a.ConversionRate * 100:0.00}%{E(p)}</text>"));
        }

        h.Append("</svg>");
    }

    // Encoded, and with every bidirectional embedding, override or isolate it opens closed again at its end: a variant
    // named with a right-to-left override (U+202E) otherwise reversed the rest of its line ("(n=1200) · Δ +1.20 pp" read
    // backwards) and could make one arm's numbers pass for another's. Right-to-left names themselves are kept as written.
    private static string E(string s)
    {
        var encoded = WebUtility.HtmlEncode(s);
        int embeddings = 0, isolates = 0;
        foreach (var c in s)
        {
            if (c is >= '\u202A' and <= '\u202E')
            {
                embeddings++;
            }
            else if (c is >= '\u2066' and <= '\u2068')
            {
                isolates++;
            }
        }

        // A pop directional isolate closes its isolate and everything opened inside it; unmatched closers are ignored.
        return embeddings + isolates == 0 ? encoded : encoded + new string('\u2069', isolates) + new string('\u202C', embeddings);
    }
}
