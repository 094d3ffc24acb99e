using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of audit U34 on SQLite: a null preference, an empty channel list and a wishlist name survive a restart of the
/// profile document, in either arrival order around it.
/// </summary>
public sealed class AuditReview33SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ANullPreference_AndAnEmptyList_HoldAcrossARestart_InEitherArrivalOrder(bool nullFirst)
    {
        var file = "Data Source=" + _folder.File();
        var value = JsonData.Parse("""{"preferred_channels": ["sms"], "max_messages": 2, "period": "P7D"}""");
        var cleared = JsonData.Parse("""{"preferred_channels": [], "max_messages": null}""");
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = OmnichannelTestHost.Create(start: Start.AddHours(1), store: store);
            await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Ann], nullFirst ? cleared : value, at: nullFirst ? Start.AddMinutes(20) : Start.AddMinutes(10)));
            await host.Client.TrackAsync(host.Event(EventTypes.WishlistItemAdded, [Ann], JsonData.Parse("""{"product_id": "p1"}"""), at: Start.AddMinutes(5)));
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = OmnichannelTestHost.Create(start: Start.AddHours(2), store: store);
            await host.Client.TrackAsync(host.Event(EventTypes.PreferencesUpdated, [Ann], nullFirst ? value : cleared, at: nullFirst ? Start.AddMinutes(10) : Start.AddMinutes(20)));
            await host.Client.TrackAsync(host.Event(EventTypes.WishlistItemAdded, [Ann], JsonData.Parse("""{"product_id": "p1", "name": "Lamp"}"""), at: Start.AddMinutes(6)));
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var host = OmnichannelTestHost.Create(start: Start.AddHours(3), store: store);
            var p = await host.ProfileAsync(Ann);
            Assert.NotNull(p.Preferences!.PreferredChannels);
            Assert.Empty(p.Preferences.PreferredChannels);
            Assert.Null(p.Preferences.MaxMessages);
            Assert.Equal(TimeSpan.FromDays(7), p.Preferences.Period);
            var item = Assert.Single(p.Wishlist);
            Assert.Equal(("Lamp", Start.AddMinutes(5)), (item.Name, item.AddedAt));
            Assert.Contains("\"preferredChannels\":[]", (await host.Client.ExportProfileAsync(Ann))!.ToJsonString(), StringComparison.Ordinal);
        }
    }
}
