using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Files written by an earlier version, opened by this one (audit UP). The fixture is a profile document as schema 4
/// wrote it (taken from a file the release before the measurement aggregates wrote): two order-updates instances waiting
/// for a shipment, and the journey counters that release kept only in the document.
/// </summary>
public sealed class UpgradeTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Upgrade_FromSchemaFour_KeepsTheJourneyStatisticsTheDocumentsHeld()
    {
        var path = _folder.File();
        var document = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "schema4-profile-with-journeys.json"));
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            connection.Open();
            for (var i = 0; i < 4; i++)
            {
                Execute(connection, SqliteSchema.Migrations[i]);
            }

            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = 4;");
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO profiles (id, version, document) VALUES ('p_019ca95006807429ad4fad06d9805667', 7, $d), ('p_unreadable', 1, x'6E6F74206A736F6E')";
            insert.Parameters.AddWithValue("$d", document);
            insert.ExecuteNonQuery();
        }

        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });

        var rows = await store.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.JourneyPrefix, Limit = 1000 });
        var counters = rows.ToDictionary(r => $"{r.Key.JourneyId}|{r.Key.Metric}", r => r.Count);
        Assert.Equal(2, counters["order-updates|journey:entered"]);
        Assert.Equal(2, counters["order-updates|journey:active"]); // the two instances still waiting for the shipment
        Assert.Equal(2, counters["order-updates|journey:step:confirmation:sent"]);
        Assert.Equal(2, counters["order-updates|journey:step:wait-shipped:entered"]);
        Assert.Equal(1, counters["abandoned-cart|journey:converted"]);
        Assert.False(counters.ContainsKey("abandoned-cart|journey:active"));
        Assert.Equal(9, rows.Count);
        Assert.All(rows, r => Assert.Equal(JourneyCounterBackfill.UnknownDay, r.Key.Day)); // the earlier version kept no day

        // The profile itself is untouched (never rewritten by the upgrade).
        var stored = await store.LoadProfileAsync("p_019ca95006807429ad4fad06d9805667");
        Assert.Equal(7, stored?.Version);
        Assert.Equal(document, stored?.Document);
    }

    [Fact]
    public async Task Upgrade_AFileAlreadyAtTheCurrentVersion_AddsNoJourneyCounters()
    {
        var path = _folder.File();
        var document = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "schema4-profile-with-journeys.json"));
        await using (var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }))
        {
            Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = document })).Status);
        }

        // Opening again migrates nothing: the counters a current file holds are already in its aggregates.
        await using var again = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        Assert.Empty(await again.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.JourneyPrefix }));
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
