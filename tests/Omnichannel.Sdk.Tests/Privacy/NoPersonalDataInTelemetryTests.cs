using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>
/// Issue 12, part 3: the main scenarios (a shopper's story with a login merge, an identity conflict, journeys, delivery
/// failures of every kind, suppression, erasure and a refused replay) run with logging at Trace, an
/// <see cref="ActivityListener"/> and a <see cref="MeterListener"/>; no identifier value used in the run may appear in
/// any captured log message or argument, activity name, tag or event, or metric tag.
/// </summary>
public sealed class NoPersonalDataInTelemetryTests
{
    [Fact]
    public async Task MainScenarios_AtTrace_PutNoIdentifierValueInLogsSpansOrMetricTags()
    {
        var captured = new Captured();
        using var activities = captured.ListenToActivities();
        using var meters = captured.ListenToMeters();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(captured));

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        var options = new OmnichannelOptions { Partitions = 4 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        options.Delivery.QuickRetryDelay = TimeSpan.Zero;
        options.Delivery.MaxAttempts = 2;
        options.Delivery.RetryDelay = TimeSpan.FromMinutes(1);
        options.Journeys.Add(JourneyScenarios.Welcome());
        options.Journeys.Add(JourneyScenarios.AbandonedCart());
        options.Journeys.Add(JourneyScenarios.OrderUpdates());
        var provider = new ProviderTransport(ChannelNames.Email);
        var sms = new ProviderTransport(ChannelNames.Sms);
        var delivery = new DeliverySetup { Renderer = new Renderer() }.AddTransport("smtp", provider).AddTransport("sms-gateway", sms);
        var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), time, loggerFactory, delivery: delivery);
        await using (engine)
        {
            async Task<TrackResult> Track(string type, Identifier[] ids, object? properties = null, object? traits = null) =>
                await engine.TrackAsync(new CustomerEvent
                {
                    Id = "e-" + Guid.NewGuid().ToString("N"),
                    Type = type,
                    Timestamp = time.GetUtcNow(),
                    Identifiers = ids,
                    Properties = properties is null ? default : JsonData.From(properties),
                    Traits = traits is null ? default : JsonData.From(traits),
                });

            async Task Advance(TimeSpan by)
            {
                await engine.AdvanceVirtualClockAsync(time.GetUtcNow() + by, time.SetUtcNow);
                await engine.RunDispatchAsync();
            }

            // The story: an anonymous cart, a login that merges it, consent, an order, a newsletter.
            Identifier cookie = Identifier.AnonymousId(Values.Cookie), ann = Identifier.Email(Values.AnnEmail), annId = Identifier.CustomerId(Values.AnnCustomerId);
            await Track(EventTypes.CartItemAdded, [cookie], new { cart_id = "cart-1", product_id = "tower", quantity = 1, price = 89.9 });
            await Track("user.logged_in", [cookie, ann, annId, Identifier.Phone(Values.AnnPhoneRaw)], traits: new { first_name = Values.AnnFirstName, last_name = Values.AnnLastName });
            await Track(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
            await Track(EventTypes.ConsentChanged, [ann], new { channel = "sms", granted = true });
            await Track(EventTypes.NewsletterSubscribed, [ann]);
            await Advance(TimeSpan.FromHours(2)); // the cart reminder goes out
            await Track(EventTypes.OrderPlaced, [annId], new { order_id = "o-1", total = 89.9, currency = "GBP" });

            // An identity conflict: a second customer id claims Ann's address.
            await Track("user.signed_up", [Identifier.CustomerId(Values.OtherCustomerId), ann]);

            // Delivery failures of every kind: a permanent SMTP refusal naming the address, a transient HTTP body
            // naming address and phone, a transport that throws with the address in its message, an SMS refusal.
            // (Message keys are the host's own text; the host must not build them from identifiers, so they are numbered here.)
            var n = 0;
            foreach (var (email, customerId) in new[] { (Values.BounceEmail, "c-bounce"), (Values.FlakyEmail, "c-flaky"), (Values.ThrowEmail, "c-throw") })
            {
                n++;
                await Track("user.signed_up", [Identifier.Email(email), Identifier.CustomerId(customerId), Identifier.Phone(Values.SharedPhoneFor(email))]);
                await engine.SendAsync(Identifier.CustomerId(customerId), new MessageRequest { Key = $"receipt-{n}", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
                await engine.SendAsync(Identifier.CustomerId(customerId), new MessageRequest { Key = $"code-{n}", Channels = [ChannelNames.Sms], TemplateId = "code", Class = MessageClass.Transactional });
            }

            await Advance(TimeSpan.FromMinutes(5));
            await Advance(TimeSpan.FromHours(30)); // retries end, the journeys' waits move on
            await Track(EventTypes.OrderShipped, [annId], new { order_id = "o-1" });
            await Advance(TimeSpan.FromMinutes(5));

            // Suppression and erasure, then a replay of the erased person.
            Assert.True(await engine.EraseProfileAsync(ann));
            Assert.Equal(TrackStatus.Erased, (await Track(EventTypes.ProductViewed, [ann])).Status);
            Assert.True(await engine.IsSuppressedAsync(ann));
            await Advance(TimeSpan.FromDays(1));

            // The run must have produced what is being checked, or the test proves nothing.
            Assert.True(provider.Failures > 0 && sms.Failures > 0, "the transports must have failed");
        }

        var logs = captured.Logs.ToList();
        Assert.Contains(logs, l => l.Contains("[email]", StringComparison.Ordinal)); // the SMTP reply was logged, scrubbed
        Assert.Contains(logs, l => l.Contains("Identity conflict", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("Erased profile", StringComparison.Ordinal));
        Assert.NotEmpty(captured.Tags);

        var everything = logs.Concat(captured.Tags).ToList();
        foreach (var value in Values.All)
        {
            var leaks = everything.Where(t => t.Contains(value, StringComparison.OrdinalIgnoreCase)).Take(3).ToList();
            Assert.True(leaks.Count == 0, $"'{value}' appears in captured telemetry: {string.Join(" | ", leaks)}");
        }
    }

    /// <summary>Every identifier value and name the run uses.</summary>
    private static class Values
    {
        public const string Cookie = "cookie-7f3a9b";
        public const string AnnEmail = "ann.leaky@example.com";
        public const string AnnCustomerId = "cust-ann-4411";
        public const string AnnPhoneRaw = "+44 7700 900461";
        public const string AnnPhone = "+447700900461";
        public const string AnnFirstName = "Annabel";
        public const string AnnLastName = "Quartermaine";
        public const string OtherCustomerId = "cust-other-9931";
        public const string BounceEmail = "bounce.person@example.com";
        public const string FlakyEmail = "flaky.person@example.net";
        public const string ThrowEmail = "throw.person@example.org";

        public static string SharedPhoneFor(string email) => email switch
        {
            BounceEmail => "+447700900471",
            FlakyEmail => "+447700900472",
            _ => "+447700900473",
        };

        public static IReadOnlyList<string> All { get; } =
        [
            Cookie, AnnEmail, AnnCustomerId, AnnPhone, "7700900461", "7700 900461", AnnFirstName, AnnLastName, OtherCustomerId,
            BounceEmail, FlakyEmail, ThrowEmail, "c-bounce", "c-flaky", "c-throw",
            "+447700900471", "+447700900472", "+447700900473", "7700900471", "7700900472", "7700900473",
        ];
    }

    /// <summary>A provider that answers like real ones, with the recipient in its texts.</summary>
    private sealed class ProviderTransport(string channel) : IChannelTransport
    {
        private int _failures;

        public string Channel => channel;

        public int Failures => Volatile.Read(ref _failures);

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var to = message switch { EmailMessage e => e.To, SmsMessage s => s.To, _ => "?" };
            if (to.StartsWith("ann", StringComparison.Ordinal) || to == Values.AnnPhone)
            {
                return ValueTask.FromResult(DeliveryResult.Accepted("pm-" + message.MessageId));
            }

            Interlocked.Increment(ref _failures);
            if (message is SmsMessage)
            {
                return ValueTask.FromResult(DeliveryResult.PermanentFailure($"HTTP 400 Bad Request: {{\"error\":\"number {to} is not reachable\",\"to\":\"{to}\"}}"));
            }

            return to switch
            {
                Values.BounceEmail => ValueTask.FromResult(DeliveryResult.PermanentFailure($"SMTP 550: 5.1.1 <{to}>: Recipient address rejected")),
                Values.FlakyEmail => ValueTask.FromResult(DeliveryResult.TransientFailure($"HTTP 503: {{\"message\":\"mailbox {to} busy, call +44 20 7946 0958\"}}")),
                _ => throw new InvalidOperationException($"relay refused {to}"),
            };
        }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = request.Key, To = address, Body = "Your code" }
                : new EmailMessage { MessageId = request.Key, From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hello" });
    }

    /// <summary>Everything logged, traced and measured, as text.</summary>
    private sealed class Captured : ILoggerProvider
    {
        public ConcurrentQueue<string> Logs { get; } = new();

        public ConcurrentQueue<string> Tags { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        public ActivityListener ListenToActivities()
        {
            var listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name.StartsWith(OmnichannelTelemetry.Name, StringComparison.Ordinal),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    Tags.Enqueue("activity " + a.DisplayName + " " + a.StatusDescription);
                    foreach (var (k, v) in a.TagObjects)
                    {
                        Tags.Enqueue($"activity tag {k}={v}");
                    }

                    foreach (var e in a.Events)
                    {
                        Tags.Enqueue("activity event " + e.Name + " " + string.Join(",", e.Tags.Select(t => $"{t.Key}={t.Value}")));
                    }
                },
            };
            ActivitySource.AddActivityListener(listener);
            return listener;
        }

        public MeterListener ListenToMeters()
        {
            var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name.StartsWith(OmnichannelTelemetry.Name, StringComparison.Ordinal))
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((i, _, tags, _) => Record(i, tags));
            listener.SetMeasurementEventCallback<int>((i, _, tags, _) => Record(i, tags));
            listener.SetMeasurementEventCallback<double>((i, _, tags, _) => Record(i, tags));
            listener.Start();
            return listener;
        }

        private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var t in tags)
            {
                Tags.Enqueue($"metric {instrument.Name} {t.Key}={t.Value}");
            }
        }

        private sealed class Logger(Captured owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                owner.Logs.Enqueue($"scope {category}: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                owner.Logs.Enqueue($"{logLevel} {category}: {formatter(state, exception)} [{values}] {exception}");
            }
        }
    }
}
