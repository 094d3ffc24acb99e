using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.CrashWorker;

/// <summary>
/// The child process of the crash tests. It ingests a file of events into a durable store, acknowledging each event
/// (and each message it asks for) in an fsync'ed acks file only after the engine has acknowledged it, and sends the
/// queued messages through a file-backed <see cref="RecordingTransport"/>. The test kills it with SIGKILL at random
/// moments and starts it again; it resumes where its acks file says, and exits 0 once every event is acknowledged and
/// the outbox is empty.
/// </summary>
/// <remarks>
/// Exit codes: 0 done; 2 an event or message was refused (a bug in the input or the engine); 3 a crash-safety
/// violation (an acknowledged event or message was applied again); 5 the outbox did not drain; 64 bad arguments.
/// Standard output carries one line per recovery observation (<c>RECOVERED …</c>, <c>REPLAYED …</c>) and <c>DONE</c>.
/// </remarks>
public static class CrashWorkerProgram
{
    /// <summary>The template of the order confirmation each <c>order.placed</c> event asks for.</summary>
    public const string OrderTemplateId = "order-confirmation";

    /// <summary>The journey that thanks each order one second after it (a durable timer per order).</summary>
    public const string ThanksJourneyId = "order-thanks";

    /// <summary>Its template.</summary>
    public const string ThanksTemplateId = "order-thanks";

    /// <summary>How many of the last acknowledged events a restarted worker sends again, as a client unsure of its last acks would.</summary>
    public const int ReplayedAfterRestart = 5;

    /// <summary>How long the dispatcher owns a claimed message: short, so messages claimed by a killed process are taken over quickly.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    /// <summary>The idempotency key of the confirmation of an order event.</summary>
    /// <param name="eventId">The order event's id.</param>
    public static string SendKey(string eventId) => "order:" + eventId;

    /// <summary>Runs the worker.</summary>
    /// <param name="args">See <see cref="CrashWorkerSettings.Parse"/>.</param>
    public static async Task<int> Main(string[] args)
    {
        if (CrashWorkerSettings.Parse(args) is not { } settings)
        {
            await Console.Error.WriteLineAsync(CrashWorkerSettings.Usage);
            return 64;
        }

        var services = new ServiceCollection();
        ConfigureEngine(services.AddOmnichannel(), settings);
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        var events = ReadEvents(settings.EventsFile);
        using var acks = AckLog.Open(settings.AcksFile);

        var code = await IngestAsync(engine, events, acks, settings.From);
        if (code != 0)
        {
            return code;
        }

        // Messages claimed by a killed process come back when their lease ends; keep dispatching until none is left.
        var draining = Stopwatch.StartNew();
        while (await engine.Store.GetNextOutboxDueAsync() is not null || await engine.GetNextWakeUpAsync() is not null)
        {
            await engine.RunDueAsync();
            if (draining.Elapsed > TimeSpan.FromMinutes(2))
            {
                await Console.Error.WriteLineAsync("The outbox did not drain within 2 minutes.");
                return 5;
            }

            await engine.RunDispatchAsync();
            await Task.Delay(50);
        }

        Console.WriteLine("DONE");
        return 0;
    }

    /// <summary>
    /// Every piece of engine configuration of the worker, in one place: the store, delivery settings, templates and the
    /// recording transport. The crash tests build their checking engine with it too.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddOmnichannel</c>.</param>
    /// <param name="settings">The store, its connection and the recording file.</param>
    public static void ConfigureEngine(OmnichannelBuilder builder, CrashWorkerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        builder.Services.Configure<OmnichannelOptions>(o =>
        {
            o.Delivery.EmailFrom = "Crash Shop <shop@crash.example>";
            o.Privacy.HashKey = "crash-worker-hash-key-for-tests-only-0000000001";
            o.Delivery.Lease = Lease;
            o.Delivery.RetryDelay = TimeSpan.FromMilliseconds(200);
            o.Delivery.Retry!.MaxRetryAttempts = 1;
            o.Delivery.Retry!.Delay = TimeSpan.FromMilliseconds(20);
            o.Delivery.SendTimeout = TimeSpan.FromMilliseconds(900); // two tries and their back-off fit in the 2 s lease
        });

        if (settings.Store == CrashStore.Sqlite)
        {
            builder.UseSqliteStore(settings.ConnectionString);
        }
        else
        {
            builder.UsePostgreSqlStore(settings.ConnectionString);
        }

        builder.UseTemplates(new InMemoryTemplateSource(
            new TemplateDocument(OrderTemplateId,
            [
                TemplateVariant.Email("Your order {{ journey.order_id }}", null, "Thank you for order {{ journey.order_id }} of {{ journey.total }}."),
            ]),
            new TemplateDocument(ThanksTemplateId, [TemplateVariant.Email("Thanks for order {{ journey.trigger.order_id }}", null, "How is it going?")])));

        // A journey with a durable timer: kills land while instances wait, and restarted processes must resume them.
        builder.AddJourney(Omnichannel.Sdk.Journeys.Journey.Define(ThanksJourneyId, "Thank you, a little later")
            // The scenario's orders are dated March 2026 and tracked on the real clock: no maxAge, or none would start it.
            .TriggeredBy(t => t.Event(EventTypes.OrderPlaced) with { MaxAge = null })
            .CorrelatedBy("order_id")
            .MaxConcurrent(1000)
            .Steps(s => s.Delay("wait", "PT1S").Send("thanks", [ChannelNames.Email], ThanksTemplateId, null, MessageClass.Transactional))
            .Build());
        builder.AddTransport("recording", ChannelNames.Email, _ => new RecordingTransport(ChannelNames.Email, settings.SentFile));
    }

    private static List<CustomerEvent> ReadEvents(string path) =>
        [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<CustomerEvent>(l) ?? throw new InvalidDataException("A null event line."))];

    private static async Task<int> IngestAsync(OmnichannelEngine engine, List<CustomerEvent> events, AckLog acks, int from)
    {
        // A client that crashed cannot know whether its last acks reached the disk, so it sends its last few again:
        // every one of them must come back as a duplicate.
        foreach (var e in events.Where(e => acks.Contains(e.Id)).TakeLast(ReplayedAfterRestart))
        {
            var again = await TrackAsync(engine, e);
            if (again.Status != TrackStatus.Duplicate)
            {
                await Console.Error.WriteLineAsync($"VIOLATION: acknowledged event {e.Id} was {again.Status} when sent again.");
                return 3;
            }

            if (IsOrder(e) && acks.Contains(SendKey(e.Id)))
            {
                var resent = await SendAsync(engine, e);
                if (resent.Status != SendStatus.Duplicate)
                {
                    await Console.Error.WriteLineAsync($"VIOLATION: acknowledged message {SendKey(e.Id)} was {resent.Status} when sent again.");
                    return 3;
                }
            }

            Console.WriteLine($"REPLAYED {e.Id}");
        }

        foreach (var e in events.Skip(from))
        {
            if (!acks.Contains(e.Id))
            {
                var result = await TrackAsync(engine, e);
                if (!result.IsAcknowledged)
                {
                    await Console.Error.WriteLineAsync($"Event {e.Id} was {result.Status}: {string.Join("; ", result.Errors)}");
                    return 2;
                }

                if (result.Status == TrackStatus.Duplicate)
                {
                    // Committed by a process killed before it wrote the ack.
                    Console.WriteLine($"RECOVERED event {e.Id}");
                }

                acks.Add(e.Id);
            }

            if (IsOrder(e) && !acks.Contains(SendKey(e.Id)))
            {
                var sent = await SendAsync(engine, e);
                if (sent.Status is not (SendStatus.Queued or SendStatus.Duplicate))
                {
                    await Console.Error.WriteLineAsync($"Message {sent.Key} was {sent.Status}: {sent.Reason}");
                    return 2;
                }

                if (sent.Status == SendStatus.Duplicate)
                {
                    Console.WriteLine($"RECOVERED send {sent.Key}");
                }

                acks.Add(sent.Key);
            }
        }

        return 0;
    }

    private static async Task<TrackResult> TrackAsync(OmnichannelEngine engine, CustomerEvent e)
    {
        // StoreFailed means "may be retried" (the store kept reporting conflicts): a real client retries.
        var result = await engine.TrackAsync(e);
        for (var attempt = 1; result.Status == TrackStatus.StoreFailed && attempt < 5; attempt++)
        {
            await Task.Delay(50 * attempt);
            result = await engine.TrackAsync(e);
        }

        return result;
    }

    private static ValueTask<SendResult> SendAsync(OmnichannelEngine engine, CustomerEvent order)
    {
        var customer = order.Identifiers.First(i => i.Type == IdentifierTypes.CustomerId);
        return engine.SendAsync(customer, new MessageRequest
        {
            Key = SendKey(order.Id),
            Channels = [ChannelNames.Email],
            TemplateId = OrderTemplateId,
            Class = MessageClass.Transactional,
            Data = new System.Text.Json.Nodes.JsonObject
            {
                ["order_id"] = order.Properties.GetProperty("order_id").GetString(),
                ["total"] = order.Properties.GetProperty("total").GetDecimal(),
            },
        });
    }

    private static bool IsOrder(CustomerEvent e) => e.Type == EventTypes.OrderPlaced;
}
