using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Runtime;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Storage;

// What the collector pays for per event of a known customer, and which old objects an event makes point at new ones.
//
//   dotnet run -c Release --project benchmarks/tools/GcCensus -- [--profiles 200000] [--customers N] [--rounds 12] [--census-at 6]
//
// The process starts itself again as a worker (--worker) and echoes its rounds: 20,000 orders of random known customers
// per round (drawn from the first --customers profiles, all by default: fewer give each one a longer history), in
// batches of 500, on the in-memory store with every profile hot (as IngestBenchmarks). Each round prints
// the bytes allocated, the wall time and the collector's pause per event. Half way through round --census-at (0: none)
// it attaches to the worker (ClrMD; the worker is suspended meanwhile) and counts the references that objects of generation 2 hold
// to objects of generations 0 and 1, by holder type and field, and the distinct 256-byte cards they lie on: each such
// card is one the next ephemeral collection walks (design notes, "What the collector pays for", session 66).
var options = Options.Parse(args);
if (options.Worker)
{
    await Worker.RunAsync(options);
    return 0;
}

return Parent.Run(options);

internal sealed record Options(int Profiles, int Customers, int Rounds, int CensusAt, bool Worker)
{
    public static Options Parse(string[] args)
    {
        int Read(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        }

        var profiles = Read("--profiles", 200_000);
        return new Options(profiles, Math.Clamp(Read("--customers", profiles), 1, profiles), Read("--rounds", 12), Read("--census-at", 6), args.Contains("--worker"));
    }

    public string WorkerArguments => $"--worker --profiles {Profiles} --customers {Customers} --rounds {Rounds}";
}

internal static class Worker
{
    private const int Round = 20_000;
    private const int Batch = 500;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static async Task RunAsync(Options options)
    {
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { ProfileCacheBytes = 1L << 36 }, new InMemoryOmnichannelStore());
        for (var from = 0; from < options.Profiles; from += 50_000)
        {
            var registrations = new CustomerEvent[Math.Min(50_000, options.Profiles - from)];
            for (var i = 0; i < registrations.Length; i++)
            {
                var n = from + i;
                registrations[i] = new CustomerEvent
                {
                    Id = $"reg-{n}",
                    Type = "user.signed_up",
                    Timestamp = Start.AddSeconds(n),
                    Identifiers = [Identifier.CustomerId($"c{n}"), Identifier.Email($"c{n}@example.com")],
                };
            }

            await engine.TrackBatchAsync(registrations);
        }

        var random = new Random(42);
        for (var r = 0; r < options.Rounds; r++)
        {
            var events = new CustomerEvent[Round];
            for (var i = 0; i < events.Length; i++)
            {
                var id = $"order-{r}-{i}";
                events[i] = new CustomerEvent
                {
                    Id = id,
                    Type = EventTypes.OrderPlaced,
                    Timestamp = Start.AddDays(1).AddSeconds(r),
                    Identifiers = [Identifier.CustomerId($"c{random.Next(options.Customers)}")],
                    Properties = JsonData.From(new { order_id = id, total = 10m + (i % 90), currency = "GBP", items = 1 }),
                };
            }

            Console.WriteLine($"starting round {r}");
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var pause = GC.GetTotalPauseDuration();
            var collections = GC.CollectionCount(0);
            var started = Stopwatch.GetTimestamp();
            var done = 0;
            foreach (var batch in events.Chunk(Batch))
            {
                await engine.TrackBatchAsync(batch);
                if ((done += batch.Length) == Round / 2)
                {
                    Console.WriteLine($"half of round {r}"); // where the parent takes its census, between two collections
                }
            }

            var wall = Stopwatch.GetElapsedTime(started);
            Console.WriteLine(
                $"round {r}: {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / Round} B/event, " +
                $"{wall.TotalMicroseconds / Round:F1} us/event wall, " +
                $"{(GC.GetTotalPauseDuration() - pause).TotalMicroseconds / Round:F1} us/event in collections ({GC.CollectionCount(0) - collections} collections)");
        }
    }
}

internal static class Parent
{
    public static int Run(Options options)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Worker).Assembly.Location);
        foreach (var a in options.WorkerArguments.Split(' '))
        {
            start.ArgumentList.Add(a);
        }

        using var worker = Process.Start(start)!;
        while (worker.StandardOutput.ReadLine() is { } line)
        {
            Console.WriteLine(line);
            if (options.CensusAt > 0 && line == $"half of round {options.CensusAt}")
            {
                Census(worker.Id);
            }
        }

        worker.WaitForExit();
        return worker.ExitCode;
    }

    private static void Census(int processId)
    {
        using var target = DataTarget.AttachToProcess(processId, suspend: true);
        var dac = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(),
            OperatingSystem.IsWindows() ? "mscordaccore.dll" : OperatingSystem.IsMacOS() ? "libmscordaccore.dylib" : "libmscordaccore.so");
        var heap = target.ClrVersions[0].CreateRuntime(dac, ignoreMismatch: true).Heap;

        var young = new HashSet<ulong>();
        foreach (var segment in heap.Segments)
        {
            foreach (var o in segment.EnumerateObjects())
            {
                if (o.IsValid && !o.IsFree && segment.GetGeneration(o.Address) is Generation.Generation0 or Generation.Generation1)
                {
                    young.Add(o.Address);
                }
            }
        }

        var byHolder = new Dictionary<string, (int Objects, HashSet<ulong> Cards, Dictionary<string, int> Fields)>();
        var cards = new HashSet<ulong>();
        foreach (var segment in heap.Segments)
        {
            foreach (var o in segment.EnumerateObjects())
            {
                if (!o.IsValid || o.IsFree || o.Type is not { ContainsPointers: true } type
                    || segment.GetGeneration(o.Address) is Generation.Generation0 or Generation.Generation1)
                {
                    continue;
                }

                var counted = false;
                foreach (var r in o.EnumerateReferencesWithFields(carefully: false, considerDependantHandles: false))
                {
                    if (!young.Contains(r.Object.Address))
                    {
                        continue;
                    }

                    var name = type.Name ?? "?";
                    if (!byHolder.TryGetValue(name, out var h))
                    {
                        byHolder[name] = h = (0, [], []);
                    }

                    if (!counted)
                    {
                        byHolder[name] = h = (h.Objects + 1, h.Cards, h.Fields);
                        counted = true;
                    }

                    var card = (o.Address + (ulong)r.Offset) >> 8;
                    h.Cards.Add(card);
                    cards.Add(card);
                    var field = $"{r.Field?.Name ?? "[]"} -> {r.Object.Type?.Name ?? "?"}";
                    h.Fields[field] = h.Fields.GetValueOrDefault(field) + 1;
                }
            }
        }

        Console.WriteLine($"census: {young.Count:N0} objects in generations 0 and 1; {cards.Count:N0} cards of older objects point at them");
        foreach (var (name, h) in byHolder.OrderByDescending(x => x.Value.Cards.Count).Take(15))
        {
            var fields = string.Join("; ", h.Fields.OrderByDescending(f => f.Value).Take(3).Select(f => $"{f.Key} ({f.Value:N0})"));
            Console.WriteLine($"  {h.Cards.Count,8:N0} cards {h.Objects,8:N0} holders  {name}: {fields}");
        }
    }
}
