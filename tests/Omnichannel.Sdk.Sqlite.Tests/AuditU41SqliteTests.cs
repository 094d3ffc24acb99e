using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U41 on SQLite: customers signed up before a restart; after it, a batch import of their past orders fills a
/// segment and starts none of its journeys (getdatakick/revws#75, segmentio/action-destinations#3094), unless the
/// segment trigger's <c>maxAge</c> reaches that far back.
/// </summary>
public sealed class AuditU41SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly SegmentDefinition Buyers = SegmentJson.Parse("""{"id": "buyers", "name": "Buyers", "rule": {"stat": "orderCount", "op": "gte", "value": 1}}""").Value!;

    private static JourneyDefinition Review(string maxAge) => JourneyRig.Parse($$"""
        {"id": "review", "version": 1, "name": "Review", "trigger": {"type": "segment", "segment": "buyers", "on": "entered"{{maxAge}}},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "review", "class": "transactional"}]}
        """);

    [Theory]
    [InlineData("", 0)]                        // the default: history messages nobody
    [InlineData(", \"maxAge\": \"P400D\"", 6)] // a limit that reaches back that far: the old behaviour
    public async Task ABatchImportAfterARestart_FillsTheSegment_AndTheTriggersMaxAgeDecidesWhoIsMessaged(string maxAge, int sent)
    {
        var file = "Data Source=" + _folder.File();
        var start = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        Identifier[] Ids(int c) => [Identifier.CustomerId($"c{c}"), Identifier.Email($"c{c}@example.com")];
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var rig = JourneyRig.Create([Review(maxAge)], [Buyers], store: store, start: start);
            for (var c = 0; c < 6; c++)
            {
                await rig.TrackAsync("user.signed_up", Ids(c));
            }
        }

        await using var reopened = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
        await using var again = JourneyRig.Create([Review(maxAge)], [Buyers], store: reopened, start: start.AddHours(1));
        var events = new List<CustomerEvent>();
        for (var c = 0; c < 6; c++)
        {
            events.Add(again.Host.Event(EventTypes.OrderPlaced, Ids(c), new { order_id = $"o{c}", total = 20, currency = "EUR" }, at: start.AddDays(-300 + (c * 20))));
        }

        Assert.All(await again.Engine.TrackBatchAsync(events), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await again.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(6, (await again.Engine.GetSegmentMembersAsync("buyers")).Count);
        Assert.Equal(sent, again.Sent().Count);
        Assert.Equal(6 - sent, (await again.Engine.GetJourneyStatisticsAsync("review")).EntriesRefused);
    }
}
