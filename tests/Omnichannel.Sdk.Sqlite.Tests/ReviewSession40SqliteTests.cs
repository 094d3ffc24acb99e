using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of the fortieth session on SQLite: the shop's zone changed across a restart (orders counted before it are
/// still re-credited and returned on the day they counted), and the migration without an exception filter (a file at a
/// schema version no release writes is refused clearly, the transaction rolled back).
/// </summary>
public sealed class ReviewSession40SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-40");
    private readonly TempFolder _folder = new();

    // Thursday 03:00 UTC: 23:00 on Wednesday in New York.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 4, 2, 3, 0, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    // Counted in UTC (Thursday), restarted with America/New_York: a late click re-credits the order on the day its
    // conversion counted (it was skipped: the day computed again in New York, Wednesday, matched no row of the order),
    // and a full return takes its revenue off that day; the order converts once and its credit sums to one.
    [Fact]
    public async Task AfterARestartInAnotherZone_ALateClickAndAReturn_CorrectTheOrderWhereItCounted()
    {
        var path = _folder.File();
        var t = new DateTimeOffset(2026, 4, 2, 1, 0, 0, TimeSpan.Zero);
        var thursday = new DateOnly(2026, 4, 2);
        await using (var sp = Build(path, "UTC"))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            await Track(engine, EventTypes.MessageSent, new { message_id = "m-a", channel = "email", journey_id = "a" }, t);
            await Track(engine, EventTypes.MessageSent, new { message_id = "m-b", channel = "sms", journey_id = "b" }, t.AddMinutes(2));
            await Track(engine, EventTypes.OrderPlaced, new { order_id = "o-1", total = 80 }, t.AddMinutes(10));
        }

        await using (var sp = Build(path, "America/New_York"))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            await Track(engine, EventTypes.MessageClicked, new { message_id = "m-a", channel = "email", journey_id = "a" }, t.AddMinutes(5));
            _time.Advance(TimeSpan.FromHours(20));
            await Track(engine, EventTypes.OrderReturned, new { order_id = "o-1", total = 80, return_id = "r-1" }, _time.GetUtcNow());

            var conversions = await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
            Assert.Equal(1L, conversions.Sum(r => r.Count));
            Assert.All(conversions, r => Assert.Equal(thursday, r.Key.Day));
            Assert.Equal(0, conversions.Sum(r => r.Sum), 6); // returned in full

            var credit = await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Credit("order", AttributionModel.LastTouch) });
            Assert.Equal(1, credit.Where(r => r.Key.JourneyId == "a").Sum(r => r.Sum), 9); // the late click is the last touch
            Assert.Equal(0, credit.Where(r => r.Key.JourneyId == "b").Sum(r => r.Sum), 9);
            Assert.Equal(1, credit.Where(r => r.Key.Day == thursday).Sum(r => r.Sum), 9);

            var revenue = await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Revenue("order", AttributionModel.LastTouch) });
            Assert.All(revenue, r => Assert.Equal(0, r.Sum, 6)); // no day and no message keeps revenue of a returned order
        }
    }

    // PRAGMA user_version is signed: a file at -1 (set by hand or another tool) with the store's application id passed
    // the check and failed in the migration with IndexOutOfRangeException ("Index was outside the bounds of the array").
    // It is now refused naming the file and the version, and the migration's transaction is rolled back (the exception
    // comes through the handler that replaced the filter, unchanged).
    [Fact]
    public async Task AFileAtANegativeSchemaVersion_IsRefusedClearly_AndLeftAsItWas()
    {
        var path = _folder.File();
        using (var connection = Connect(path))
        {
            Execute(connection, SqliteSchema.Migrations[0]);
            Execute(connection, $"PRAGMA application_id = {SqliteSchema.ApplicationId}; PRAGMA user_version = -1;");
        }

        var opened = await Assert.ThrowsAsync<SqliteStoreException>(async () => await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path }));
        Assert.Contains("schema version -1", opened.Message, StringComparison.Ordinal);
        Assert.Contains(path, opened.Message, StringComparison.Ordinal);

        using (var connection = Connect(path))
        {
            var migrated = Assert.Throws<SqliteStoreException>(() => SqliteSchema.Migrate(connection, 0, path));
            Assert.Contains("schema version -1", migrated.Message, StringComparison.Ordinal);
            Execute(connection, "BEGIN IMMEDIATE; ROLLBACK;"); // no transaction left open
            Assert.Equal(-1L, Scalar(connection, "PRAGMA user_version"));
        }
    }

    private ServiceProvider Build(string path, string zone)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
            {
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.Measurement.TimeZone = zone;
            })
            .UseSqliteStore(path);
        return services.BuildServiceProvider();
    }

    private static async Task Track(OmnichannelEngine engine, string type, object properties, DateTimeOffset at) =>
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(new CustomerEvent
        {
            Id = $"{type}-{at.UtcTicks}",
            Type = type,
            Timestamp = at,
            Identifiers = [Ann],
            Properties = JsonData.From(properties),
        })).Status);

    private static SqliteConnection Connect(string path) => RawSqlite.Connect(path);

    private static void Execute(SqliteConnection connection, string sql) => RawSqlite.Execute(connection, sql);

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
