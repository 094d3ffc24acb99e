using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U85: measurement as analysts check it. Public API and the test kit's fake clock. The global control group of a
/// person whose two profiles were each assigned before they met: the group she was assigned first stands, whichever
/// profile absorbs the other (an anonymous visitor who logs in keeps the arm she was first exposed under:
/// woocommerce/woocommerce-ios#7574, PostHog/posthog#41281).
/// </summary>
public sealed class AuditU85Tests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 10, 0, 0, TimeSpan.Zero);

    private static OmnichannelTestHost Host()
    {
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, new RecordingTransport(ChannelNames.Sms));
        return OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = 0.5, start: Start, delivery: delivery);
    }

    private static async Task<SendStatus> PromoteAsync(OmnichannelTestHost host, Identifier who, string key)
    {
        var result = await host.Client.SendAsync(who, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Marketing });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result.Status;
    }

    private static async Task<(string First, string Second, string Merged)> AssignBothThenMergeAsync(OmnichannelTestHost host, int i, bool customerIdFirst, double orderOnSecond = 0)
    {
        // Two profiles of one person, seen a minute apart (a profile joins the global group at its first event): a visitor
        // on her phone (SMS allowed) and her account; she logs in on the phone and they merge.
        var customer = Identifier.CustomerId($"c-u85-{i}");
        var visitor = Identifier.AnonymousId($"anon-u85-{i}");
        var phone = Identifier.Phone($"+4477009{i:00000}");
        async Task SeeAsync(Identifier who)
        {
            if (who == visitor)
            {
                await host.TrackAsync(EventTypes.ConsentChanged, [visitor, phone], new { channel = "sms", granted = true });
            }
            else
            {
                await host.TrackAsync("user.signed_up", [customer]);
            }
        }

        var (first, second) = customerIdFirst ? (customer, visitor) : (visitor, customer);
        await SeeAsync(first);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await SeeAsync(second);
        var firstGroup = (await host.ProfileAsync(first)).MeasurementGroup!;
        var secondGroup = (await host.ProfileAsync(second)).MeasurementGroup!;
        if (orderOnSecond > 0)
        {
            await host.TrackAsync(EventTypes.OrderPlaced, [second], new { order_id = $"o-u85-{i}", total = orderOnSecond, currency = "EUR" });
        }

        await host.TrackAsync("user.logged_in", [customer, phone]);
        var profile = await host.ProfileAsync(customer);
        Assert.Equal(profile.Id, (await host.ProfileAsync(visitor)).Id);
        var merged = profile.MeasurementGroup!;

        // What she is sent from now on follows that group: held out, or sent.
        var after = await PromoteAsync(host, customer, $"p-{i}");
        Assert.Equal(merged == "control" ? SendStatus.Skipped : SendStatus.Queued, after);
        return (firstGroup, secondGroup, merged);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TwoProfilesInDifferentGlobalGroups_Merged_KeepTheGroupAssignedFirst_WhicheverAbsorbs(bool customerIdFirst)
    {
        await using var host = Host();
        var differing = 0;
        for (var i = 0; i < 24; i++)
        {
            var (first, second, merged) = await AssignBothThenMergeAsync(host, i, customerIdFirst);
            Assert.Equal(first, merged);
            differing += first == second ? 0 : 1;
        }

        Assert.InRange(differing, 3, 24); // half the pairs, by chance: enough to see either side absorb the other
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheGlobalVerdict_CountsEachMergedPersonOnce_InHerFirstGroup_WithTheOrderOfHerLaterProfile(bool customerIdFirst)
    {
        await using var host = Host();
        var expected = new Dictionary<string, (long People, long Converted, double Revenue)>(StringComparer.Ordinal) { ["control"] = default, ["treatment"] = default };
        for (var i = 0; i < 24; i++)
        {
            var revenue = 10 + i;
            var (first, _, merged) = await AssignBothThenMergeAsync(host, i, customerIdFirst, orderOnSecond: revenue);
            Assert.Equal(first, merged);
            var (people, converted, sum) = expected[first];
            expected[first] = (people + 1, converted + 1, sum + revenue);
        }

        var verdict = await host.Engine.GetGlobalControlVerdictAsync();
        Assert.NotNull(verdict);
        foreach (var arm in verdict.Variants)
        {
            var (people, converted, sum) = expected[arm.Name];
            Assert.Equal(people, arm.Recipients);
            Assert.Equal(converted, arm.Conversions);
            Assert.Equal(sum / people, arm.RevenuePerRecipient, 9);
        }
    }

    // Property: whichever of two profiles absorbs the other, the merged person has one global group — the one assigned
    // first (a group kept before its instant was, counts as first; at one instant control) — her assignment counts once,
    // in that group, and her conversions count once there with her whole revenue.
    [Property(MaxTest = 300)]
    public Property AMerge_InEitherDirection_KeepsTheGroupAssignedFirst_AndCountsHerOnceThere()
    {
        var side =
            from g in Gen.Elements<string?>("control", "treatment", null)
            from at in Gen.Elements<int?>(null, 0, 1, 2)
            from revenue in Gen.Elements(0.0, 5.0, 12.5)
            select (Group: g, At: at, Revenue: g is null ? 0.0 : revenue);
        return Prop.ForAll(side.ToArbitrary(), side.ToArbitrary(), (a, b) =>
        {
            var epoch = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
            CustomerProfile Make(string id, (string? Group, int? At, double Revenue) s)
            {
                var p = new CustomerProfile(id, epoch) { MeasurementGroup = s.Group, MeasurementGroupAt = s.Group is null || s.At is null ? null : epoch.AddMinutes(s.At.Value) };
                if (s.Revenue > 0)
                {
                    p.GroupConversions["order"] = s.Revenue;
                }

                return p;
            }

            Dictionary<(string Group, string Metric), (long Count, double Sum)> Totals(bool aAbsorbs, out CustomerProfile merged)
            {
                var (pa, pb) = (Make("p-a", a), Make("p-b", b));
                var totals = new Dictionary<(string, string), (long, double)>();
                void Add(string? group, string metric, long count, double sum)
                {
                    if (group is null)
                    {
                        return;
                    }

                    var (c, s) = totals.GetValueOrDefault((group, metric));
                    totals[(group, metric)] = (c + count, s + sum);
                }

                foreach (var (p, s) in new[] { (pa, a), (pb, b) })
                {
                    Add(s.Group, MeasurementRecorder.GlobalAssigned, 1, 0); // what each profile counted before they met
                    if (s.Revenue > 0)
                    {
                        Add(s.Group, MeasurementRecorder.GlobalConverted + "order", 1, s.Revenue);
                        Add(s.Group, MeasurementRecorder.GlobalRevenueSquares + "order", 0, s.Revenue * s.Revenue);
                    }
                }

                var (target, other) = aAbsorbs ? (pa, pb) : (pb, pa);
                MeasurementRecorder.Merge(target, other);
                foreach (var d in target.PendingMeasurements.Take())
                {
                    Add(d.Key.Variant, d.Key.Metric, d.Count, d.Sum);
                }

                merged = target;
                return totals.Where(kv => kv.Value.Item1 != 0 || Math.Abs(kv.Value.Item2) > 1e-9).ToDictionary(kv => kv.Key, kv => kv.Value);
            }

            var one = Totals(aAbsorbs: true, out var ma);
            var two = Totals(aAbsorbs: false, out var mb);
            var firstOf = new[] { a, b }.Where(s => s.Group is not null)
                .OrderBy(s => s.At is null ? DateTimeOffset.MinValue : epoch.AddMinutes(s.At.Value)).ThenBy(s => s.Group, StringComparer.Ordinal)
                .Select(s => s.Group).FirstOrDefault();
            Assert.Equal(firstOf, ma.MeasurementGroup);
            Assert.Equal(firstOf, mb.MeasurementGroup);
            Assert.Equal(ma.MeasurementGroupAt, mb.MeasurementGroupAt);
            var expected = new Dictionary<(string Group, string Metric), (long Count, double Sum)>();
            if (firstOf is not null)
            {
                expected[(firstOf, MeasurementRecorder.GlobalAssigned)] = (1, 0);
                var revenue = a.Revenue + b.Revenue;
                if (revenue > 0)
                {
                    expected[(firstOf, MeasurementRecorder.GlobalConverted + "order")] = (1, revenue);
                    expected[(firstOf, MeasurementRecorder.GlobalRevenueSquares + "order")] = (0, revenue * revenue);
                }
            }

            if (a.Group is not null && b.Group is not null && a.Group != b.Group)
            {
                expected[("", MeasurementRecorder.GlobalInBoth)] = (1, 0); // audit U86: she was in both groups, counted once
            }

            foreach (var totals in new[] { one, two })
            {
                Assert.Equal(expected.Keys.Order().ToList(), totals.Keys.Order().ToList());
                foreach (var (key, (count, sum)) in expected)
                {
                    Assert.Equal(count, totals[key].Count);
                    Assert.Equal(sum, totals[key].Sum, 9);
                }
            }
        });
    }
}
