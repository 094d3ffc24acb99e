using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U86 (3a05eef): arrival orders of a delivery report naming no address against its send's record when her
/// newest number is soft-suppressed, and the global split's check after GlobalControlShare changed (a broken period must
/// still raise the alarm). Public API, the test kit's fake clock, and the store's public commit for stored rows.
/// </summary>
public sealed class ReviewU86Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r86");
    private static readonly Identifier OldPhone = Identifier.Phone("+447700900386");
    private static readonly Identifier NewPhone = Identifier.Phone("+447700900486");
    private static readonly DateTimeOffset Start = new(2026, 5, 11, 10, 0, 0, TimeSpan.Zero);

    // A provider whose status callback may reach the host before its API's answer is recorded (posted from inside the
    // hand-over).
    private sealed class Provider : IChannelTransport
    {
        public List<Func<Task>> Inside { get; } = [];

        public List<SmsMessage> Sent { get; } = [];

        public string Channel => ChannelNames.Sms;

        public bool AnswersWithId { get; init; } = true;

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add((SmsMessage)message);
            foreach (var step in Inside)
            {
                await step();
            }

            Inside.Clear();
            return DeliveryResult.Accepted(AnswersWithId ? "SM" + Sent.Count + "-r86" : null);
        }
    }

    private static async Task TrackStrictAsync(OmnichannelTestHost host, string type, object properties) =>
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(type, [Ann], properties, channel: "server"))).Status);

    private static async Task<SendStatus> SendAsync(OmnichannelTestHost host, string key)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "hello", Class = MessageClass.Transactional });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result.Status;
    }

    // 1. Her newest number is soft-suppressed (three bounces in a row), so her next text goes to her other number. The
    //    provider's delivery callback names the SDK's message and no address. Heard after the send's record, it reaches
    //    the number the text went to: the newest stays suppressed. Heard before the record (U86's rule: "her newest
    //    address on the channel"), it lifted the suppression of the number the text did NOT go to, and the record, which
    //    then said where it went, did not put it back: her next text went to the dead number, in one arrival order only.
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task ADeliveryNamingNoAddress_OfATextToHerOtherNumber_KeepsHerNewestSuppressed_InEitherOrderAgainstTheRecord(bool reportFirst, bool answersWithId)
    {
        var sms = new Provider { AnswersWithId = answersWithId };
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: delivery);
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.updated", [Ann, NewPhone]);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(SendStatus.Queued, await SendAsync(host, $"sms-{i}"));
            await TrackStrictAsync(host, EventTypes.MessageBounced, new { channel = ChannelNames.Sms, message_id = $"sms-{i}", bounce_type = "soft" });
            await host.AdvanceAsync(TimeSpan.FromHours(1));
        }

        Assert.True(await host.Client.IsSuppressedAsync(NewPhone));
        var delivered = new { channel = ChannelNames.Sms, message_id = "sms-4" };
        if (reportFirst)
        {
            sms.Inside.Add(() => TrackStrictAsync(host, EventTypes.MessageDelivered, delivered));
        }

        Assert.Equal(SendStatus.Queued, await SendAsync(host, "sms-4"));
        if (!reportFirst)
        {
            await TrackStrictAsync(host, EventTypes.MessageDelivered, delivered);
        }

        Assert.Equal(OldPhone.Value, sms.Sent[3].To);
        Assert.True(await host.Client.IsSuppressedAsync(NewPhone));
        Assert.Equal(SendStatus.Queued, await SendAsync(host, "sms-5"));
        Assert.Equal(OldPhone.Value, sms.Sent[4].To);
    }

    // ---- 2. The global split's check after GlobalControlShare changed ----------------------------------------------------

    private static MeasurementKey Assigned(double? share, string group) => new(
        "$global", share is { } s ? "share:" + s.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "", group, "", "", new DateOnly(1970, 1, 1), "global:assigned");

    // Stored assignment rows (as the engine writes them), read by a host whose share is now `current`.
    private static async Task<ExperimentVerdict?> VerdictAsync(double current, params (double? Share, long Control, long Treatment)[] periods)
    {
        var store = new InMemoryOmnichannelStore();
        var deltas = periods.SelectMany(p => new[] { new MeasurementDelta(Assigned(p.Share, "control"), p.Control), new MeasurementDelta(Assigned(p.Share, "treatment"), p.Treatment) })
            .Where(d => d.Count != 0).OrderBy(d => d.Key.StepId, StringComparer.Ordinal).ThenBy(d => d.Key.Variant, StringComparer.Ordinal).ToList();
        var result = await store.CommitAsync(new ProfileCommit
        {
            ProfileId = "rows-r86",
            ExpectedVersion = 0,
            Document = "{}"u8.ToArray(),
            EventId = "rows-r86",
            ProcessedAt = Start,
            Measurements = deltas,
        });
        Assert.Equal(CommitStatus.Committed, result.Status);
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = current, start: Start, store: store);
        return await host.Engine.GetGlobalControlVerdictAsync();
    }

    // A split broken in one period only: 1,000 people at a 1% hold-out put 50 in control (10 expected, p ≈ 1e-20 alone).
    // Against the pooled mix of shares (510 of 2,000 expected, 550 seen) the 500-person noise of the 50% period hides it:
    // p ≈ 0.04, no alarm (failed before). And a split broken both ways so that the totals match the mix exactly (none
    // held out at 50%, 55% held out at 5%): p = 1 pooled (failed before). Checked period by period, both are alarms.
    [Theory]
    [InlineData(500, 500, 50, 950, true)]
    [InlineData(0, 400, 220, 180, true)]
    [InlineData(500, 500, 10, 990, false)]
    [InlineData(212, 188, 22, 378, false)]
    public async Task ASplitBrokenInOnePeriodOfShare_RaisesTheSampleRatioAlarm(long c1, long t1, long c2, long t2, bool broken)
    {
        var verdict = await VerdictAsync(0.01, (0.5, c1, t1), (c2 + t2 == 1000 ? 0.01 : 0.05, c2, t2));
        Assert.NotNull(verdict);
        Assert.Equal(broken, verdict.SampleRatio.Mismatch);
        Assert.InRange(verdict.SampleRatio.PValue, 0, 1);
        Assert.Equal(c1 + c2, verdict.Variants.Single(v => v.Name == "control").Recipients); // the arms are unchanged
        if (broken)
        {
            Assert.Null(verdict.Winner);
            Assert.Contains("sample ratio mismatch", verdict.Evidence);
        }
    }

    // For any periods of shares (rows from before the share was kept read as today's), counts at their expectation never
    // raise the alarm, and the p-value is a number in [0, 1].
    [FsCheck.Xunit.Property(MaxTest = 40)]
    public void HealthyPeriods_OfAnyShares_RaiseNoAlarm_AndGiveAPValueInRange(int seed) => HealthyAsync(seed).GetAwaiter().GetResult();

    private static async Task HealthyAsync(int seed)
    {
        var random = new Random(seed);
        double[] shares = [0.01, 0.05, 0.1, 0.25, 0.5];
        var current = shares[random.Next(shares.Length)];
        var periods = new List<(double? Share, long Control, long Treatment)>();
        foreach (var s in shares.OrderBy(_ => random.Next()).Take(random.Next(1, 5)).Select(s => (double?)s).Append(random.Next(3) == 0 ? null : -1).Where(s => s != -1))
        {
            var n = random.Next(0, 3000);
            var control = (long)Math.Round(n * (s ?? current));
            periods.Add((s, control, n - control));
        }

        var verdict = await VerdictAsync(current, [.. periods]);
        if (verdict is null)
        {
            return;
        }

        Assert.True(double.IsFinite(verdict.SampleRatio.PValue) && verdict.SampleRatio.PValue is >= 0 and <= 1, $"p = {verdict.SampleRatio.PValue}");
        Assert.True(double.IsFinite(verdict.SampleRatio.ChiSquare) && verdict.SampleRatio.ChiSquare >= 0);
        Assert.False(verdict.SampleRatio.Mismatch, $"p = {verdict.SampleRatio.PValue}");
    }
}
