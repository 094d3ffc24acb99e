using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// The measurement aggregates of the storage contract: deltas committed with a profile add up per key, a refused
// commit adds nothing, and a query answers the rows it asks for in key order.
public abstract partial class StoreConformanceTests
{
    private static readonly DateOnly Day1 = new(2026, 3, 1);

    /// <summary>Deltas of several commits (and repeated keys within one) add up per key; negative counts subtract.</summary>
    [Fact]
    public Task Measurements_OfCommits_AddUpPerKey() => With(async store =>
    {
        var sent = Key("welcome", "sent", Day1, step: "s1", variant: "A", channel: "email", template: "t1");
        var active = Key("welcome", "journey:active", Day1);
        await store.CommitAsync(New("p1", "d") with { Measurements = [new(sent, 2, 0.5), new(active, 1), new(sent, 1, 0.25)] });
        await store.CommitAsync(New("p2", "d") with { Measurements = [new(sent, 3, 0.125), new(active, -1)] });

        var rows = await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome" });
        Assert.Equal([new MeasurementRow(active, 0, 0), new MeasurementRow(sent, 6, 0.875)], rows);
    });

    /// <summary>A commit refused for a stale version or a duplicate event changes no aggregate.</summary>
    [Fact]
    public Task Measurements_OfARefusedCommit_AreNotWritten() => With(async store =>
    {
        var k = Key("j", "sent", Day1);
        await store.CommitAsync(New("p1", "d", eventId: "e1") with { Measurements = [new(k, 1)] });
        var stale = await store.CommitAsync(New("p1", "d2") with { ExpectedVersion = 7, Measurements = [new(k, 10)] });
        var duplicate = await store.CommitAsync(New("p2", "d", eventId: "e1") with { Measurements = [new(k, 100)] });

        Assert.Equal(CommitStatus.Conflict, stale.Status);
        Assert.Equal(CommitStatus.DuplicateEvent, duplicate.Status);
        Assert.Equal([new MeasurementRow(k, 1, 0)], await store.GetMeasurementsAsync(new MeasurementQuery()));
    });

    /// <summary>A query filters by journey, metric prefix and day range (inclusive), answers in key order and stops at its limit.</summary>
    [Fact]
    public Task Measurements_Query_FiltersAndOrders() => With(async store =>
    {
        var keys = new[]
        {
            Key("b", "sent", Day1.AddDays(2), channel: "sms"),
            Key("a", "sent", Day1.AddDays(1), channel: "email"),
            Key("a", "sent", Day1, channel: "sms"),
            Key("a", "sent", Day1, channel: "email"),
            Key("a", "clicked", Day1, channel: "email"),
            Key("a", "credit:order:linear", Day1, channel: "email"),
            Key("a", "credit:order:last_touch", Day1, channel: "email"),
            Key("", "conversion:order", Day1),
        };
        await store.CommitAsync(New("p1", "d") with { Measurements = [.. keys.Select((k, i) => new MeasurementDelta(k, i + 1))] });

        async Task<IEnumerable<MeasurementKey>> Ask(MeasurementQuery q) => (await store.GetMeasurementsAsync(q)).Select(r => r.Key);

        Assert.Equal([keys[7], keys[4], keys[6], keys[5], keys[3], keys[2], keys[1], keys[0]], await Ask(new MeasurementQuery()));
        Assert.Equal([keys[3], keys[2], keys[1]], await Ask(new MeasurementQuery { JourneyId = "a", MetricPrefix = "sent" }));
        Assert.Equal([keys[6], keys[5]], await Ask(new MeasurementQuery { MetricPrefix = "credit:order:" }));
        Assert.Equal([keys[1], keys[0]], await Ask(new MeasurementQuery { MetricPrefix = "sent", From = Day1.AddDays(1), To = Day1.AddDays(2) }));
        Assert.Equal([keys[3], keys[2]], await Ask(new MeasurementQuery { JourneyId = "a", MetricPrefix = "sent", To = Day1 }));
        Assert.Equal([keys[7]], await Ask(new MeasurementQuery { JourneyId = "" }));
        Assert.Equal([keys[7], keys[4]], await Ask(new MeasurementQuery { Limit = 2 }));
        Assert.Empty(await Ask(new MeasurementQuery { JourneyId = "none" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.GetMeasurementsAsync(new MeasurementQuery { Limit = 0 }));
    });

    /// <summary>Concurrent commits of different profiles to the same aggregate lose no delta.</summary>
    [Fact]
    public Task Measurements_OfConcurrentCommits_LoseNothing() => With(async store =>
    {
        var a = Key("j", "sent", Day1);
        var b = Key("j", "opened", Day1);
        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
        {
            // Half the writers send the keys in the opposite order: the store must still neither deadlock nor lose one.
            IReadOnlyList<MeasurementDelta> deltas = i % 2 == 0 ? [new(a, 1, 1.5), new(b, 2)] : [new(b, 2), new(a, 1, 1.5)];
            var r = await store.CommitAsync(New("p" + i, "d") with { Measurements = deltas });
            Assert.Equal(CommitStatus.Committed, r.Status);
        })));

        Assert.Equal([new MeasurementRow(b, 48, 0), new MeasurementRow(a, 24, 36)], await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j" }));
    });

    /// <summary>Dimensions keep any text (unicode, empty) and days far apart.</summary>
    [Fact]
    public Task Measurements_KeepDimensionsExactly() => With(async store =>
    {
        var k = new MeasurementKey("réactivation 🐈", "étape-1", "B", "whatsapp", "modèle", new DateOnly(1999, 12, 31), "clicked");
        var late = k with { Day = new DateOnly(2099, 1, 1) };
        await store.CommitAsync(New("p1", "d") with { Measurements = [new(k, 1, 12.34), new(late, 2, -0.5)] });
        Assert.Equal([new MeasurementRow(k, 1, 12.34), new MeasurementRow(late, 2, -0.5)], await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "réactivation 🐈" }));
    });

    /// <summary>Erasing a profile leaves the aggregates (counts, no personal data) as they are.</summary>
    [Fact]
    public Task Measurements_SurviveAnErasure() => With(async store =>
    {
        var k = Key("j", "sent", Day1, channel: "email");
        await store.CommitAsync(New("p1", "d") with { Measurements = [new(k, 3, 1.5)] });
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));
        Assert.Equal([new MeasurementRow(k, 3, 1.5)], await store.GetMeasurementsAsync(new MeasurementQuery()));
    });

    private static MeasurementKey Key(string journey, string metric, DateOnly day, string step = "", string variant = "", string channel = "", string template = "") =>
        new(journey, step, variant, channel, template, day, metric);
}
