using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U84: trust defects earlier audits noticed and left alone (round 8). Public API and the test kit's fake clock
/// only; each test names the public reports it comes from.
/// </summary>
public sealed class AuditU84Tests
{
    internal static readonly Identifier Ann = Identifier.CustomerId("c-ann-u84");
    internal static readonly Identifier AnnEmail = Identifier.Email("ann.u84@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900184");
    private static readonly Identifier Bob = Identifier.CustomerId("c-bob-u84");
    internal static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private sealed class AnyChannelRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel switch
            {
                ChannelNames.Email => new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" },
                _ => new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId },
            });
    }

    internal static (OmnichannelTestHost Host, Dictionary<string, RecordingTransport> Sent) Host(Action<OmnichannelOptions>? configure = null)
    {
        var sent = new Dictionary<string, RecordingTransport>
        {
            [ChannelNames.Email] = new(ChannelNames.Email),
            [ChannelNames.Sms] = new(ChannelNames.Sms),
        };
        var delivery = new DeliverySetup { Renderer = new AnyChannelRenderer() };
        delivery.AddTransport(ChannelNames.Email, sent[ChannelNames.Email]);
        delivery.AddTransport(ChannelNames.Sms, sent[ChannelNames.Sms]);
        var host = OmnichannelTestHost.Create(configure, start: Start, delivery: delivery);
        return (host, sent);
    }

    internal static async Task<SendResult> SendAsync(OmnichannelTestHost host, string channel, string key, Identifier? to = null)
    {
        var result = await host.Client.SendAsync(to ?? Ann, new MessageRequest { Key = key, Channels = [channel], TemplateId = "hello", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result;
    }

    private static Task<TrackResult> ReportAsync(OmnichannelTestHost host, string type, string channel, string key, double day, string? bounceType = null, Identifier? who = null) =>
        host.TrackAsync(
            type,
            [who ?? Ann],
            bounceType is null ? new { channel, message_id = key } : new { channel, message_id = key, bounce_type = bounceType },
            channel: "server",
            at: Start + TimeSpan.FromDays(day));

    // ---- 1. A delivery after a soft-bounce run lifts the suppression, in any arrival order ------------------------------
    // The lead's note under U73, the review of the forty-sixth session and U79 left alone: "a delivery report stamped inside
    // a run but arriving after the suppression does not lift it (suppression is an action)". And a delivery after the run
    // never lifted it at all. Providers treat soft-bounce suppression as a state a successful delivery ends: Braze
    // ("if a message is successfully delivered to a soft-bouncing address, the soft bounce count is reset"), Customer.io
    // (an address suppressed for repeated soft bounces is unsuppressed by a later delivery), SendGrid (soft bounces are
    // "block" events that expire, not a permanent list); knadh/listmonk#2770 asks for exactly that reset. Three soft
    // bounces (days 1, 2, 3) and one delivery — before the run (day 0.5), inside it (day 2.5) or after it (day 4) — in
    // every arrival position: the address is suppressed only when the delivery came before the run.
    public static TheoryData<double, int> DeliveryDaysAndArrivals()
    {
        var data = new TheoryData<double, int>();
        foreach (var day in new[] { 0.5, 2.5, 4.0 })
        {
            for (var position = 0; position <= 3; position++)
            {
                data.Add(day, position);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DeliveryDaysAndArrivals))]
    public async Task ADeliveryInsideOrAfterASoftBounceRun_EndsTheSuppression_InEveryArrivalOrder(double deliveredDay, int arrivesAt)
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, $"m{i}")).Status);
        }

        await host.AdvanceAsync(TimeSpan.FromDays(5));
        var reports = new List<Func<Task<TrackResult>>>
        {
            () => ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Email, "m1", 1, "soft"),
            () => ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Email, "m2", 2, "soft"),
            () => ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Email, "m3", 3, "soft"),
        };
        reports.Insert(arrivesAt, () => ReportAsync(host, EventTypes.MessageDelivered, ChannelNames.Email, "m4", deliveredDay));
        foreach (var report in reports)
        {
            Assert.Equal(TrackStatus.Accepted, (await report()).Status);
        }

        var expectSuppressed = deliveredDay < 1;
        Assert.Equal(expectSuppressed, await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(expectSuppressed ? SendStatus.Skipped : SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, "next")).Status);
        Assert.Equal(expectSuppressed ? 4 : 5, sent[ChannelNames.Email].Messages.Count);
    }

    // After the lift the address is counted afresh: three more soft bounces after the delivery suppress it again, and a hard
    // bounce is never lifted by a delivery (a hard bounce is final at every provider).
    [Fact]
    public async Task AfterTheLift_ANewRunSuppressesAgain_AndAHardBounceIsNeverLifted()
    {
        var (host, sent) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await host.TrackAsync("user.signed_up", [Bob, AnnPhone]);
        for (var i = 1; i <= 8; i++)
        {
            await SendAsync(host, ChannelNames.Email, $"m{i}");
        }

        await SendAsync(host, ChannelNames.Sms, "s1", Bob);
        await SendAsync(host, ChannelNames.Sms, "s2", Bob);
        await host.AdvanceAsync(TimeSpan.FromDays(20));
        for (var i = 1; i <= 3; i++)
        {
            await ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Email, $"m{i}", i, "soft");
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        await ReportAsync(host, EventTypes.MessageDelivered, ChannelNames.Email, "m4", 4);
        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, "after-lift")).Status);

        for (var i = 5; i <= 7; i++)
        {
            await ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Email, $"m{i}", i, "soft");
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, ChannelNames.Email, "after-second-run")).Status);

        // A hard bounce, then a delivery of an earlier message reported late: still suppressed.
        await ReportAsync(host, EventTypes.MessageBounced, ChannelNames.Sms, "s1", 8, "hard", Bob);
        await ReportAsync(host, EventTypes.MessageDelivered, ChannelNames.Sms, "s2", 9, who: Bob);
        Assert.True(await host.Client.IsSuppressedAsync(AnnPhone));
        Assert.Equal(SendStatus.Skipped, (await SendAsync(host, ChannelNames.Sms, "s3", Bob)).Status);
        Assert.Equal(2, sent[ChannelNames.Sms].Messages.Count);
    }

    // The rule for every input: 3–6 soft bounces and 0–2 deliveries on random days in 40, posted in a random order, end as
    // the same reports posted in time order, and as the model says: suppressed exactly when three of the bounces after the
    // newest delivery lie within 30 days (SoftBounceLimit 3, SoftBounceWindow 30 days, the defaults).
    [FsCheck.Xunit.Property(MaxTest = 40)]
    public void SoftBouncesAndDeliveries_InAnyArrivalOrder_SuppressAsTheModelSays(int seed) => CompareAsync(seed).GetAwaiter().GetResult();

    internal static async Task CompareAsync(int seed)
    {
        var random = new Random(seed);
        var reports = Enumerable.Range(0, random.Next(3, 7)).Select(i => (Key: $"b{i}", Hours: random.Next(0, 40) * 24 + 1, Bounce: true))
            .Concat(Enumerable.Range(0, random.Next(0, 3)).Select(i => (Key: $"d{i}", Hours: random.Next(0, 40) * 24 + 13, Bounce: false)))
            .ToList();
        var inTime = reports.OrderBy(r => r.Hours).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        var shuffled = reports.OrderBy(_ => random.Next()).ToList();

        var newest = reports.Where(r => !r.Bounce).Select(r => r.Hours).DefaultIfEmpty(-1).Max();
        var after = reports.Where(r => r.Bounce && r.Hours > newest).Select(r => r.Hours).OrderBy(h => h).ToList();
        var model = Enumerable.Range(2, Math.Max(0, after.Count - 2)).Any(last => after[last] - after[last - 2] < 30 * 24);

        async Task<bool> RunAsync(IReadOnlyList<(string Key, int Hours, bool Bounce)> order)
        {
            var (host, _) = Host();
            await using var _h = host;
            await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
            foreach (var r in reports.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                Assert.Equal(SendStatus.Queued, (await SendAsync(host, ChannelNames.Email, r.Key)).Status);
            }

            await host.AdvanceAsync(TimeSpan.FromDays(41));
            foreach (var r in order)
            {
                var at = Start + TimeSpan.FromHours(r.Hours);
                var result = r.Bounce
                    ? await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Email, message_id = r.Key, bounce_type = "soft" }, channel: "server", at: at)
                    : await host.TrackAsync(EventTypes.MessageDelivered, [Ann], new { channel = ChannelNames.Email, message_id = r.Key }, channel: "server", at: at);
                Assert.Equal(TrackStatus.Accepted, result.Status);
            }

            var listed = await host.Client.IsSuppressedAsync(AnnEmail);
            var next = await SendAsync(host, ChannelNames.Email, "next");
            Assert.True(listed == (next.Status == SendStatus.Skipped), $"listed {listed}, next {next.Status}");
            return listed;
        }

        var shape = string.Join(", ", shuffled.Select(r => $"{r.Key}@{r.Hours}h"));
        Assert.True(model == await RunAsync(inTime), $"in time order, model {model}: {shape}");
        Assert.True(model == await RunAsync(shuffled), $"shuffled, model {model}: {shape}");
    }
}
