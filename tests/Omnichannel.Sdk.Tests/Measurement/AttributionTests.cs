using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>The attribution models as pure functions: windows per kind, shares per model, numbers computed by hand.</summary>
public sealed class AttributionTests
{
    private static readonly DateTimeOffset Order = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly AttributionWindows Defaults = new();

    private static TouchPoint T(string key, TouchKind kind, double daysBefore, string channel = "email") =>
        new(key, kind, Order - TimeSpan.FromDays(daysBefore), channel, "j", "s-" + key, "a", "tpl-" + key);

    [Fact]
    public void Windows_ClickCountsForSevenDays_SendAndDeliveryForOne()
    {
        var touches = new[]
        {
            T("click-6d", TouchKind.Clicked, 6.9),
            T("click-8d", TouchKind.Clicked, 8),
            T("sent-20h", TouchKind.Sent, 20.0 / 24),
            T("sent-2d", TouchKind.Sent, 2),
            T("delivered-2d", TouchKind.Delivered, 2),
            T("future", TouchKind.Clicked, -0.1), // after the conversion: never credited
        };

        Assert.Equal(["click-6d", "sent-20h"], Attribution.Eligible(touches, Order, Defaults).Select(t => t.MessageKey));
    }

    [Fact]
    public void Eligible_OneMessage_IsRepresentedByItsStrongestQualifyingOutcome()
    {
        // Sent 3 days ago (too old for a send), clicked 2 days ago: the click qualifies the message, once.
        var touches = new[] { T("m", TouchKind.Sent, 3), T("m", TouchKind.Delivered, 3), T("m", TouchKind.Clicked, 2) };
        var only = Assert.Single(Attribution.Eligible(touches, Order, Defaults));
        Assert.Equal(TouchKind.Clicked, only.Kind);
    }

    [Fact]
    public void Windows_AreConfigurable()
    {
        var windows = new AttributionWindows { Clicked = TimeSpan.FromDays(1), Sent = TimeSpan.FromDays(3) };
        var touches = new[] { T("click-2d", TouchKind.Clicked, 2), T("sent-2d", TouchKind.Sent, 2) };
        Assert.Equal(["sent-2d"], Attribution.Eligible(touches, Order, windows).Select(t => t.MessageKey));
    }

    [Fact]
    public void Models_ShareOneConversionAsDocumented()
    {
        // Three clicks, 6, 4 and 1 day(s) before the order; half-life 2 days.
        var touches = new[] { T("a", TouchKind.Clicked, 6), T("b", TouchKind.Clicked, 4), T("c", TouchKind.Clicked, 1) };
        var half = TimeSpan.FromDays(2);

        Assert.Equal([("c", 1.0)], Credits(AttributionModel.LastTouch));
        Assert.Equal([("a", 1.0)], Credits(AttributionModel.FirstTouch));
        Assert.Equal([("a", 1 / 3.0), ("b", 1 / 3.0), ("c", 1 / 3.0)], Credits(AttributionModel.Linear));

        // Weights 2^(-6/2), 2^(-4/2), 2^(-1/2) = 0.125, 0.25, 0.70711; shares are weights over their sum.
        double wa = 0.125, wb = 0.25, wc = 1 / Math.Sqrt(2), sum = wa + wb + wc;
        var decay = Credits(AttributionModel.TimeDecay);
        Assert.Equal(["a", "b", "c"], decay.Select(d => d.Key));
        Assert.Equal(wa / sum, decay[0].Credit, 12);
        Assert.Equal(wb / sum, decay[1].Credit, 12);
        Assert.Equal(wc / sum, decay[2].Credit, 12);

        List<(string Key, double Credit)> Credits(AttributionModel model) =>
            [.. Attribution.Credit(touches, Order, Defaults, model, half).Select(c => (c.Touch.MessageKey, c.Credit))];
    }

    [Fact]
    public void NoEligibleTouch_LeavesTheConversionUnattributed()
    {
        Assert.Empty(Attribution.Credit([T("old", TouchKind.Sent, 3)], Order, Defaults, AttributionModel.Linear, TimeSpan.FromDays(7)));
    }

    [Fact]
    public void TimeDecay_WithoutAPositiveHalfLife_IsRefusedNamingIt()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Attribution.Credit([], Order, Defaults, AttributionModel.TimeDecay, TimeSpan.Zero));
        Assert.Equal("halfLife", ex.ParamName);
    }

    [Property(Arbitrary = [typeof(TouchArbitrary)], MaxTest = 500)]
    public void EveryModel_SharesSumToOne_AndOnlyEligibleMessagesGetCredit(TouchPoint[] touches, AttributionModel model)
    {
        var credits = Attribution.Credit(touches, Order, Defaults, model, TimeSpan.FromDays(3));
        var eligible = Attribution.Eligible(touches, Order, Defaults).Select(t => t.MessageKey).ToHashSet();
        if (eligible.Count == 0)
        {
            Assert.Empty(credits);
            return;
        }

        Assert.Equal(1.0, credits.Sum(c => c.Credit), 9);
        Assert.All(credits, c => Assert.InRange(c.Credit, double.Epsilon, 1.0));
        Assert.All(credits, c => Assert.Contains(c.Touch.MessageKey, eligible));
        Assert.Equal(credits.Count, credits.Select(c => c.Touch.MessageKey).Distinct().Count());
        // An independent oracle: per message, its qualifying points; the strongest kind (then the latest) stands for it.
        var representative = touches
            .Where(t => t.At <= Order && Order - t.At <= Defaults.For(t.Kind))
            .GroupBy(t => t.MessageKey)
            .Select(g => g.OrderByDescending(t => t.Kind).ThenByDescending(t => t.At).First())
            .OrderBy(t => t.At).ThenBy(t => t.MessageKey, StringComparer.Ordinal)
            .ToList();
        Assert.Equal(representative.Select(t => t.MessageKey).Order(), eligible.Order());
        switch (model)
        {
            case AttributionModel.LastTouch:
                Assert.Equal(representative[^1], Assert.Single(credits).Touch);
                break;
            case AttributionModel.FirstTouch:
                Assert.Equal(representative[0], Assert.Single(credits).Touch);
                break;
            case AttributionModel.Linear:
                Assert.All(credits, c => Assert.Equal(1.0 / representative.Count, c.Credit, 12));
                break;
            default:
                // Newer touches never earn less than older ones.
                Assert.True(credits.Zip(credits.Skip(1)).All(p => p.First.Credit <= p.Second.Credit + 1e-12));
                break;
        }
    }

    [Property(Arbitrary = [typeof(TouchArbitrary)], MaxTest = 300)]
    public void Credit_DoesNotDependOnTheOrderTouchesArriveIn(TouchPoint[] touches, AttributionModel model)
    {
        var forward = Attribution.Credit(touches, Order, Defaults, model, TimeSpan.FromDays(3));
        var backward = Attribution.Credit(touches.Reverse(), Order, Defaults, model, TimeSpan.FromDays(3));
        Assert.Equal(forward.Select(c => (c.Touch, Math.Round(c.Credit, 12))), backward.Select(c => (c.Touch, Math.Round(c.Credit, 12))));
    }

    /// <summary>Touch points of up to 6 messages, each of any kind, up to 10 days before or 1 day after the order (whole hours).</summary>
    public static class TouchArbitrary
    {
        public static Arbitrary<TouchPoint> Touch() =>
            (from key in Gen.Choose(0, 5)
             from kind in Gen.Elements(Enum.GetValues<TouchKind>())
             from hours in Gen.Choose(-24, 240)
             select new TouchPoint("m" + key, kind, Order - TimeSpan.FromHours(hours), key % 2 == 0 ? "email" : "sms")).ToArbitrary();

        public static Arbitrary<AttributionModel> Model() => Gen.Elements(Enum.GetValues<AttributionModel>()).ToArbitrary();
    }
}
