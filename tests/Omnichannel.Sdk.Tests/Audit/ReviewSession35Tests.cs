using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the thirty-fifth session's changes: a numeric id has one text now (f920c46), but documents stored before
/// hold the JSON text it was sent as, and the client that sent 1001.0 sends 1001.0 again; and that one text is no way to
/// show an amount.
/// </summary>
public sealed class ReviewSession35Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset Afternoon = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    // ---- 1. An order stored before numeric ids had one text, re-sent by the client that sent it ----
    // Before f920c46 the profile keyed order 1001.0 as "order:1001.0". The shop that passes ids through floating point (the
    // client f920c46 is for) sends it as 1001.0 again — an update on a status change, a retry — and after the upgrade that
    // was "order:1001", a second order: both totals spent, two orders for the segment "2+ orders", and the order journey's
    // repeat check said new. Such a number is now read under the key the profile holds.
    [Theory]
    [InlineData("1001.0")]
    [InlineData("1.001e3")]
    public async Task AnOrderStoredBeforeUnderItsSentText_IsTheSameOrder_WhenTheSameClientSendsItAgain(string sent)
    {
        var store = LegacyStore.Create(json => json.Replace("order:1001\"", "order:" + sent + "\"", StringComparison.Ordinal));
        var repeat = Segment.Define("repeat", "Repeat buyers").Where(r => r.Event(EventTypes.OrderPlaced).Count(c => c.Gte(2))).Build();
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.ProfileCacheSize = 0; // every event reads the stored document
            o.Segments.Add(repeat);
        }, start: Afternoon, store: store);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": " + sent + ", \"total\": 20, \"currency\": \"GBP\"}"));
        LegacyStore.Arm(store); // the document as the version before this one stored it

        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": " + sent + ", \"total\": 25, \"currency\": \"GBP\"}"));

        var profile = await host.ProfileAsync(Ann);
        Assert.True(LegacyStore.Rewrote(store));
        Assert.Equal(1, profile.Statistics.OrderCount);
        Assert.Equal(25m, profile.Statistics.TotalSpent);
        Assert.DoesNotContain(profile.Segments, m => m.SegmentId == "repeat");
    }

    // ---- 2. A journey entry stored before, keyed by the cart's JSON text ----
    // A running cart reminder stored its correlation value "42.0" (the cart added as 42.0). After the upgrade the same
    // client's order for cart 42.0 read as "42": another cart, so the goal did not stop the reminder (it went after she
    // had paid) and nothing converted; and the same cart added again read as a cart with no running entry, so a second
    // reminder went for it.
    [Theory]
    [InlineData("order", new string[0], 1)]
    [InlineData("add again", new[] { "email:cart" }, 0)]
    public async Task ACartEntryStoredBeforeUnderItsSentText_IsTheSameCart_WhenTheSameClientSendsItAgain(string then, string[] sent, long converted)
    {
        var store = LegacyStore.Create(json => Regex.Replace(json, "(\"(?:correlationKey|key)\":)\"42\"", "$1\"42.0\""));
        await using var rig = JourneyRig.Create([LeftAlone33Tests.CartJourney()], configure: o => o.ProfileCacheSize = 0, start: Afternoon, store: store);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], JsonData.Parse("""{"cart_id": 42.0, "product_id": "p1", "quantity": 1}"""));
        LegacyStore.Arm(store);

        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(then == "order" ? EventTypes.OrderPlaced : EventTypes.CartItemAdded, [Ann],
            JsonData.Parse(then == "order" ? """{"order_id": "o1", "cart_id": 42.0, "total": 20}""" : """{"cart_id": 42.0, "product_id": "p2", "quantity": 1}"""));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.True(LegacyStore.Rewrote(store));
        Assert.Equal(sent, rig.Sent());
        Assert.Equal(converted, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // ---- 3. An order's total in her timeline, as it was sent ----
    // f920c46 read every property WellKnownProperties.String reads through NumericKey, the order summary's total too: a
    // .NET shop's decimal 19.90 (System.Text.Json writes the decimal's scale) showed as "19.9 EUR". An amount is shown as
    // it was sent; the order id keeps its one text.
    [Theory]
    [InlineData("19.90", "order 1001, 19.90 EUR")]
    [InlineData("20.00", "order 1001, 20.00 EUR")]
    [InlineData("\"19.90\"", "order 1001, 19.90 EUR")]
    public async Task AnOrdersTotalInHerTimeline_IsShownAsSent(string total, string summary)
    {
        await using var host = OmnichannelTestHost.Create(start: Afternoon);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": 1001.0, \"total\": " + total + ", \"currency\": \"EUR\"}"));

        Assert.Equal(summary, Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.OrderPlaced).Summary);
    }
}

/// <summary>
/// A store around the in-memory one that, once armed, rewrites the next profile document it loads (once) as an earlier
/// version of the SDK stored it, then keeps what the engine commits.
/// </summary>
public class LegacyStore : DispatchProxy
{
    private IOmnichannelStore _inner = null!;
    private Func<string, string> _rewrite = null!;
    private int _armed;
    private int _rewrote;

    internal static IOmnichannelStore Create(Func<string, string> rewrite)
    {
        var store = DispatchProxy.Create<IOmnichannelStore, LegacyStore>();
        var self = (LegacyStore)(object)store;
        self._inner = new InMemoryOmnichannelStore();
        self._rewrite = rewrite;
        return store;
    }

    internal static void Arm(IOmnichannelStore store) => Volatile.Write(ref ((LegacyStore)(object)store)._armed, 1);

    internal static bool Rewrote(IOmnichannelStore store) => Volatile.Read(ref ((LegacyStore)(object)store)._rewrote) == 1;

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        object? result;
        try
        {
            result = targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }

        return targetMethod.Name == nameof(IOmnichannelStore.LoadProfileAsync) && result is ValueTask<StoredProfile?> load ? RewriteAsync(load) : result;
    }

    private async ValueTask<StoredProfile?> RewriteAsync(ValueTask<StoredProfile?> load)
    {
        var stored = await load;
        if (stored is null || Volatile.Read(ref _armed) == 0)
        {
            return stored;
        }

        var json = Encoding.UTF8.GetString(stored.Document);
        var old = _rewrite(json);
        if (old == json || Interlocked.Exchange(ref _armed, 0) == 0)
        {
            return stored;
        }

        Volatile.Write(ref _rewrote, 1);
        return new StoredProfile(stored.ProfileId, stored.Version, Encoding.UTF8.GetBytes(old));
    }
}
