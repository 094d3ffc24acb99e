// RetailReplay: a real shop's year (UCI Online Retail, 2010-12 to 2011-12) replayed through Omnichannel.Sdk on a virtual
// clock driven by the events' own times; prints throughput and live segment sizes.
//
//   dotnet run -c Release --project samples/RetailReplay -- --data ../shared/data/online-retail/online-retail.csv.gz
//       [--segments my-segments.json] [--journeys win-back-journeys.json] [--as-of 2011-06-01T00:00:00Z ...]
//       [--report report.json] [--sqlite replay.db] [--orleans-silos 3] [--serial]
// Events go in batches, each up to the next pending timer (wake-up, send, --as-of instant), with --journeys only the
// events at one instant (see ReplayOptions.Serial); --serial tracks them one at a time, the clock at each event's own
// instant; the report is the same. --warm-up first replays the year's first 10,000 events on a throw-away
// engine and store, so the measured run's events/s is the steady state (the code compiled), as the benchmarks measure.
// With --journeys (an array of journey definitions) the journeys run over the year too: every customer gets a synthetic
// address and marketing consent (the data set has neither), messages go to a counting transport, and the report gains
// "journeys" plus an HTML measurement report beside it (report.html). With --orleans-silos N the events go through an
// in-process Orleans cluster of N silos (Omnichannel.Sdk.Orleans): the same counts and report shape as one process.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using RetailReplay;

string? data = null, segmentsFile = null, reportFile = null, sqliteFile = null, journeysFile = null;
var asOf = new List<DateTimeOffset>();
var silos = 0;
var serial = false;
var warmUp = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] is "--data" or "--segments" or "--journeys" or "--report" or "--sqlite" or "--orleans-silos" or "--as-of" && i + 1 == args.Length)
    {
        Console.Error.WriteLine($"{args[i]} needs a value.");
        return 2;
    }

    string Next() => args[++i];
    switch (args[i])
    {
        case "--data": data = Next(); break;
        case "--segments": segmentsFile = Next(); break;
        case "--journeys": journeysFile = Next(); break;
        case "--report": reportFile = Next(); break;
        case "--sqlite": sqliteFile = Next(); break;
        case "--serial": serial = true; break;
        case "--warm-up": warmUp = true; break;
        case "--orleans-silos":
            if (!int.TryParse(Next(), CultureInfo.InvariantCulture, out silos) || silos is < 1 or > 10)
            {
                Console.Error.WriteLine("--orleans-silos needs a number of silos from 1 to 10.");
                return 2;
            }

            break;
        case "--as-of":
            if (!DateTimeOffset.TryParse(Next(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
            {
                Console.Error.WriteLine($"--as-of needs an instant such as 2011-06-01T00:00:00Z (UTC when it has no offset), not '{args[i]}'.");
                return 2;
            }

            asOf.Add(instant);
            break;
        default:
            Console.Error.WriteLine($"Unknown option '{args[i]}'. Options: --data <csv[.gz]> --segments <json> --journeys <json> --as-of <instant>... --report <json> --sqlite <db file> --orleans-silos <1-10> --serial --warm-up");
            return 2;
    }
}

data ??= FindDefaultData();
if (data is null || !File.Exists(data))
{
    Console.Error.WriteLine($"No data file at '{data}'. Pass --data <path to online-retail.csv.gz>.");
    return 2;
}

var json = File.ReadAllText(segmentsFile ?? Path.Combine(AppContext.BaseDirectory, "rfm-segments.json"));
var parsed = SegmentJson.ParseMany(json);
if (parsed.Value is null)
{
    Console.Error.WriteLine($"The segments in {segmentsFile} are invalid:");
    foreach (var e in parsed.Errors)
    {
        Console.Error.WriteLine($"  {e.Path}: {e.Message}");
    }

    return 2;
}

IReadOnlyList<Omnichannel.Sdk.Journeys.JourneyDefinition> journeys = [];
if (journeysFile is not null)
{
    var parsedJourneys = Omnichannel.Sdk.Journeys.JourneyJson.ParseMany(File.ReadAllText(journeysFile));
    if (parsedJourneys.Value is null)
    {
        Console.Error.WriteLine($"The journeys in {journeysFile} are invalid:");
        foreach (var e in parsedJourneys.Errors)
        {
            Console.Error.WriteLine($"  {e.Path}: {e.Message}");
        }

        return 2;
    }

    journeys = parsedJourneys.Value;
}

Omnichannel.Sdk.Storage.IOmnichannelStore? store = null;
if (sqliteFile is not null)
{
    DeleteDatabase(sqliteFile); // a replay starts from an empty shop

    // A replay writes a scratch file it deletes first: it needs a commit to survive the process, not a power loss, so no
    // disk sync per commit (SqliteDurability.Normal; a shop keeps the default, Full).
    store = await Omnichannel.Sdk.Sqlite.SqliteOmnichannelStore.OpenAsync(new Omnichannel.Sdk.Sqlite.SqliteStoreOptions { ConnectionString = sqliteFile, Durability = Omnichannel.Sdk.Sqlite.SqliteDurability.Normal });
    Console.WriteLine($"Store: SQLite at {sqliteFile} (durability Normal: a scratch file)");
}

if (warmUp)
{
    // The same code paths on a throw-away store of the same kind; then the measured run starts from an empty shop as usual.
    var scratch = sqliteFile is null ? null : sqliteFile + ".warm-up";
    Omnichannel.Sdk.Storage.IOmnichannelStore? warmStore = null;
    if (scratch is not null)
    {
        DeleteDatabase(scratch);
        warmStore = await Omnichannel.Sdk.Sqlite.SqliteOmnichannelStore.OpenAsync(new Omnichannel.Sdk.Sqlite.SqliteStoreOptions { ConnectionString = scratch, Durability = Omnichannel.Sdk.Sqlite.SqliteDurability.Normal });
    }

    ReplayReport warm;
    try
    {
        warm = await Replay.RunAsync(new ReplayOptions(data, parsed.Value) { Store = warmStore, Journeys = journeys, OrleansSilos = silos, Serial = serial, MaxEvents = 10_000 });
    }
    catch (InvalidDataException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 2;
    }
    finally
    {
        if (warmStore is IAsyncDisposable d)
        {
            await d.DisposeAsync();
            DeleteDatabase(scratch!); // even when the warm-up failed: a scratch file is nobody's
        }
    }

    Console.WriteLine($"Warm-up: the first {warm.Events:N0} events on a throw-away engine, {warm.Seconds:N2} s ({warm.EventsPerSecond:N0} events/s, code being compiled).");
}

ReplayReport report;
try
{
    report = await Replay.RunAsync(new ReplayOptions(data, parsed.Value) { AsOf = asOf, Store = store, Journeys = journeys, OrleansSilos = silos, Serial = serial }, Console.WriteLine);
}
catch (InvalidDataException ex)
{
    Console.Error.WriteLine(ex.Message); // the data file, named with what is wrong in it: no stack trace
    return 2;
}

if (store is IAsyncDisposable disposable)
{
    await disposable.DisposeAsync();
}

Console.WriteLine($"Replayed {report.Events:N0} events in {report.Seconds:N2} s: {report.EventsPerSecond:N0} events/s ({report.Rejected} rejected), in {report.Batches:N0} batches ({(double)report.Events / Math.Max(1, report.Batches):N1} events each on average).");
Console.WriteLine($"Per event: {report.CpuSeconds * 1e6 / report.Events:N1} µs of process CPU, {report.AllocatedBytes / 1024.0 / report.Events:N1} KB allocated; {report.HeapBytes / 1048576.0:N0} MB live heap after it.");
Console.WriteLine($"Collections: {string.Join(" / ", report.Collections)} (gen 0 / 1 / 2 counts, gen 2 including background), {report.GcPauseSeconds * 1e3:N0} ms paused.");
foreach (var (at, counts) in report.AsOf)
{
    Console.WriteLine($"Segment sizes as of {at:yyyy-MM-dd HH:mm}Z:");
    foreach (var s in parsed.Value)
    {
        Console.WriteLine($"  {s.Id,-16} {counts[s.Id],7:N0}  {s.Name}");
    }
}

foreach (var (id, j) in report.Journeys)
{
    Console.WriteLine($"Journey {id}: entered {j.Entered:N0}, converted {j.Converted:N0}, revenue {j.Revenue:N2}; steps: " +
        string.Join(", ", j.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}")) + $"; {report.MessagesSent:N0} messages sent");
}

if (reportFile is not null)
{
    var asOfJson = new JsonObject();
    foreach (var (at, counts) in report.AsOf)
    {
        asOfJson[at.ToString("O", CultureInfo.InvariantCulture)] = JsonSerializer.SerializeToNode(counts);
    }

    var doc = new JsonObject
    {
        ["asOf"] = asOfJson,
        ["events"] = report.Events,
        ["skipped"] = report.Skipped,
        ["rejected"] = report.Rejected,
        ["seconds"] = Math.Round(report.Seconds, 3),
        ["eventsPerSecond"] = Math.Round(report.EventsPerSecond),
    };
    if (report.Journeys.Count > 0)
    {
        var journeysJson = new JsonObject();
        foreach (var (id, j) in report.Journeys)
        {
            journeysJson[id] = new JsonObject
            {
                ["entered"] = j.Entered,
                ["steps"] = JsonSerializer.SerializeToNode(j.Steps.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary()),
                ["converted"] = j.Converted,
                ["revenue"] = j.Revenue,
            };
        }

        doc["journeys"] = journeysJson;
    }

    File.WriteAllText(reportFile, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"Report written to {reportFile}.");
    if (report.Measurement is { } measurement)
    {
        var html = Path.ChangeExtension(reportFile, ".html");
        File.WriteAllText(html, Omnichannel.Sdk.Measurement.MeasurementReport.ToHtml(measurement));
        Console.WriteLine($"Measurement report written to {html}.");
    }
}

return 0;

static void DeleteDatabase(string file)
{
    foreach (var path in new[] { file, file + "-wal", file + "-shm" })
    {
        File.Delete(path);
    }
}

// The data ships beside the repository (../shared/data); look upwards from here for it.
static string? FindDefaultData()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "shared", "data", "online-retail", "online-retail.csv.gz");
        if (File.Exists(candidate))
        {
            return candidate;
        }
    }

    return null;
}
