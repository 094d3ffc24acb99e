using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using ProfileStatisticNames = Omnichannel.Sdk.Segments.ProfileStatisticNames;
using Segment = Omnichannel.Sdk.Segments.Segment;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U27: what the documentation promises, the code does. Every documented default and range of the options is
/// pinned here, so a changed initializer or validation rule fails until its docstring changes with it.
/// </summary>
public sealed class AuditU27Tests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static OmnichannelOptions Options()
    {
        var options = new OmnichannelOptions { Partitions = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return options;
    }

    // The defaults each docstring states (OmnichannelOptions, DeliveryOptions, MeasurementOptions, IdentityOptions).
    private static readonly Dictionary<string, (Func<OmnichannelOptions, object?> Actual, object? Documented)> Defaults = new()
    {
        ["MaxClockSkew"] = (o => o.MaxClockSkew, TimeSpan.FromMinutes(5)),
        ["MaxPropertiesBytes"] = (o => o.MaxPropertiesBytes, 32 * 1024),
        ["MaxTraitsBytes"] = (o => o.MaxTraitsBytes, 32 * 1024),
        ["MaxJsonDepth"] = (o => o.MaxJsonDepth, 32),
        ["MaxJsonMembers"] = (o => o.MaxJsonMembers, 10_000),
        ["MaxContextValueLength"] = (o => o.MaxContextValueLength, 256),
        ["DeduplicationRetention"] = (o => o.DeduplicationRetention, TimeSpan.FromDays(30)),
        ["TimelineLength"] = (o => o.TimelineLength, 200),
        ["MaxTraitsPerProfile"] = (o => o.MaxTraitsPerProfile, 1_000),
        ["Currency"] = (o => o.Currency, null),
        ["Partitions"] = (o => o.Partitions, Math.Clamp(Environment.ProcessorCount * 16, 64, 1024)),
        ["QueueCapacity"] = (o => o.QueueCapacity, 1024),
        ["MaxCommitAttempts"] = (o => o.MaxCommitAttempts, 20),
        ["ProfileCacheSize"] = (o => o.ProfileCacheSize, 100_000),
        ["ProfileCacheBytes"] = (o => o.ProfileCacheBytes, 64L * 1024 * 1024),
        ["Identity.DefaultPhoneCountryCode"] = (o => o.Identity.DefaultPhoneCountryCode, "1"),
        ["Identity.DefaultPhoneRegion"] = (o => o.Identity.DefaultPhoneRegion, null),
        ["Privacy.HashKey"] = (o => new OmnichannelOptions().Privacy.HashKey, null),
        ["Delivery.DefaultTimeZone"] = (o => o.Delivery.DefaultTimeZone, "UTC"),
        ["Delivery.QuietHoursStart"] = (o => o.Delivery.QuietHoursStart, new TimeOnly(21, 0)),
        ["Delivery.QuietHoursEnd"] = (o => o.Delivery.QuietHoursEnd, new TimeOnly(8, 0)),
        ["Delivery.MarketingQuietHours"] = (o => o.Delivery.MarketingQuietHours, QuietHoursAction.Defer),
        ["Delivery.TransactionalQuietHours"] = (o => o.Delivery.TransactionalQuietHours, QuietHoursAction.Ignore),
        ["Delivery.Lease"] = (o => o.Delivery.Lease, TimeSpan.FromMinutes(5)),
        ["Delivery.DispatchBatchSize"] = (o => o.Delivery.DispatchBatchSize, 32),
        ["Delivery.MaxAttempts"] = (o => o.Delivery.MaxAttempts, 6),
        ["Delivery.RetryDelay"] = (o => o.Delivery.RetryDelay, TimeSpan.FromSeconds(30)),
        ["Delivery.SendTimeout"] = (o => o.Delivery.SendTimeout, TimeSpan.FromSeconds(30)),
        ["Delivery.RenderTimeout"] = (o => o.Delivery.RenderTimeout, TimeSpan.FromSeconds(30)),
        ["Delivery.Retry.MaxRetryAttempts"] = (o => o.Delivery.Retry!.MaxRetryAttempts, 2),
        ["Delivery.Retry.Delay"] = (o => o.Delivery.Retry!.Delay, TimeSpan.FromMilliseconds(200)),
        ["Delivery.CircuitBreaker.FailureRatio"] = (o => o.Delivery.CircuitBreaker.FailureRatio, 0.5),
        ["Delivery.CircuitBreaker.SamplingDuration"] = (o => o.Delivery.CircuitBreaker.SamplingDuration, TimeSpan.FromSeconds(30)),
        ["Delivery.CircuitBreaker.MinimumThroughput"] = (o => o.Delivery.CircuitBreaker.MinimumThroughput, 10),
        ["Delivery.CircuitBreaker.BreakDuration"] = (o => o.Delivery.CircuitBreaker.BreakDuration, TimeSpan.FromSeconds(30)),
        ["Delivery.SendsPerSecondPerTransport"] = (o => o.Delivery.SendsPerSecondPerTransport, null),
        ["Delivery.MaxMessageBytes"] = (o => o.Delivery.MaxMessageBytes, 1024 * 1024),
        ["Delivery.MaxSmsSegments"] = (o => o.Delivery.MaxSmsSegments, 10),
        ["Delivery.MaxPushBytes"] = (o => o.Delivery.MaxPushBytes, 4096),
        ["Delivery.Unsubscribe.Endpoint"] = (o => o.Delivery.Unsubscribe.Endpoint, null),
        ["Measurement.DefaultModel"] = (o => o.Measurement.DefaultModel, AttributionModel.LastTouch),
        ["Measurement.TimeDecayHalfLife"] = (o => o.Measurement.TimeDecayHalfLife, TimeSpan.FromDays(7)),
        ["Measurement.GlobalControlShare"] = (o => o.Measurement.GlobalControlShare, 0.0),
        ["Measurement.DecideExperimentsEvery"] = (o => o.Measurement.DecideExperimentsEvery, null),
        ["Measurement.MaxTouchesPerProfile"] = (o => o.Measurement.MaxTouchesPerProfile, 200),
        ["Measurement.Windows.Clicked"] = (o => o.Measurement.Windows.Clicked, TimeSpan.FromDays(7)),
        ["Measurement.Windows.Opened"] = (o => o.Measurement.Windows.Opened, TimeSpan.FromDays(1)),
        ["Measurement.Windows.Delivered"] = (o => o.Measurement.Windows.Delivered, TimeSpan.FromDays(1)),
        ["Measurement.Windows.Sent"] = (o => o.Measurement.Windows.Sent, TimeSpan.FromDays(1)),
    };

    public static TheoryData<string> DefaultNames() => [.. Defaults.Keys];

    [Theory]
    [MemberData(nameof(DefaultNames))]
    public void EachDefault_IsTheDocumentedOne(string name)
    {
        var (actual, documented) = Defaults[name];
        Assert.Equal(documented, actual(new OmnichannelOptions()));
    }

    [Fact]
    public void TheDefaults_AreValid() => Assert.Empty(Options().Validate());

    // Each documented range: its edges are accepted, one step past either edge is refused with an error naming the
    // property. (name, accepted edge, refused value); the name is what the error must contain.
    private static readonly Dictionary<string, (Action<OmnichannelOptions> Edge, Action<OmnichannelOptions> Past)> Ranges = new()
    {
        ["MaxClockSkew<"] = (o => o.MaxClockSkew = TimeSpan.Zero, o => o.MaxClockSkew = TimeSpan.FromTicks(-1)),
        ["MaxClockSkew>"] = (o => o.MaxClockSkew = TimeSpan.FromDays(1), o => o.MaxClockSkew = TimeSpan.FromDays(1) + TimeSpan.FromTicks(1)),
        ["MaxPropertiesBytes<"] = (o => o.MaxPropertiesBytes = 1, o => o.MaxPropertiesBytes = 0),
        ["MaxPropertiesBytes>"] = (o => o.MaxPropertiesBytes = 1024 * 1024, o => o.MaxPropertiesBytes = 1024 * 1024 + 1),
        ["MaxTraitsBytes<"] = (o => o.MaxTraitsBytes = 1, o => o.MaxTraitsBytes = 0),
        ["MaxTraitsBytes>"] = (o => o.MaxTraitsBytes = 1024 * 1024, o => o.MaxTraitsBytes = 1024 * 1024 + 1),
        ["MaxJsonDepth<"] = (o => o.MaxJsonDepth = 1, o => o.MaxJsonDepth = 0),
        ["MaxJsonDepth>"] = (o => o.MaxJsonDepth = 48, o => o.MaxJsonDepth = 49),
        ["MaxJsonMembers<"] = (o => o.MaxJsonMembers = 1, o => o.MaxJsonMembers = 0),
        ["MaxJsonMembers>"] = (o => o.MaxJsonMembers = 100_000, o => o.MaxJsonMembers = 100_001),
        ["MaxContextValueLength<"] = (o => o.MaxContextValueLength = 1, o => o.MaxContextValueLength = 0),
        ["MaxContextValueLength>"] = (o => o.MaxContextValueLength = 4096, o => o.MaxContextValueLength = 4097),
        ["DeduplicationRetention<"] = (o => o.DeduplicationRetention = TimeSpan.FromMinutes(1), o => o.DeduplicationRetention = TimeSpan.FromSeconds(59)),
        ["DeduplicationRetention>"] = (o => o.DeduplicationRetention = TimeSpan.FromDays(3650), o => o.DeduplicationRetention = TimeSpan.FromDays(3651)),
        ["TimelineLength<"] = (o => o.TimelineLength = 1, o => o.TimelineLength = 0),
        ["TimelineLength>"] = (o => o.TimelineLength = 100_000, o => o.TimelineLength = 100_001),
        ["MaxTraitsPerProfile<"] = (o => o.MaxTraitsPerProfile = 1, o => o.MaxTraitsPerProfile = 0),
        ["MaxTraitsPerProfile>"] = (o => o.MaxTraitsPerProfile = 100_000, o => o.MaxTraitsPerProfile = 100_001),
        ["Partitions<"] = (o => o.Partitions = 1, o => o.Partitions = 0),
        ["Partitions>"] = (o => o.Partitions = 1024, o => o.Partitions = 1025),
        ["QueueCapacity<"] = (o => o.QueueCapacity = 1, o => o.QueueCapacity = 0),
        ["QueueCapacity>"] = (o => o.QueueCapacity = 1_000_000, o => o.QueueCapacity = 1_000_001),
        ["MaxCommitAttempts<"] = (o => o.MaxCommitAttempts = 1, o => o.MaxCommitAttempts = 0),
        ["MaxCommitAttempts>"] = (o => o.MaxCommitAttempts = 1_000, o => o.MaxCommitAttempts = 1_001),
        ["ProfileCacheSize<"] = (o => o.ProfileCacheSize = 0, o => o.ProfileCacheSize = -1),
        ["ProfileCacheSize>"] = (o => o.ProfileCacheSize = 10_000_000, o => o.ProfileCacheSize = 10_000_001),
        ["ProfileCacheBytes<"] = (o => o.ProfileCacheBytes = 0, o => o.ProfileCacheBytes = -1),
        ["ProfileCacheBytes>"] = (o => o.ProfileCacheBytes = 1L << 40, o => o.ProfileCacheBytes = (1L << 40) + 1),
        ["Currency"] = (o => o.Currency = "EUR", o => o.Currency = "eur"),
        ["DefaultPhoneCountryCode"] = (o => o.Identity.DefaultPhoneCountryCode = "999", o => o.Identity.DefaultPhoneCountryCode = "0"),
        ["Privacy.HashKey"] = (o => o.Privacy.HashKey = new string('k', 32), o => o.Privacy.HashKey = new string('k', 31)),
        ["Delivery.DispatchBatchSize<"] = (o => o.Delivery.DispatchBatchSize = 1, o => o.Delivery.DispatchBatchSize = 0),
        ["Delivery.DispatchBatchSize>"] = (o => o.Delivery.DispatchBatchSize = 10_000, o => o.Delivery.DispatchBatchSize = 10_001),
        ["Delivery.MaxAttempts<"] = (o => o.Delivery.MaxAttempts = 1, o => o.Delivery.MaxAttempts = 0),
        ["Delivery.MaxAttempts>"] = (o => { o.Delivery.MaxAttempts = 100; o.Delivery.RetryDelay = TimeSpan.Zero; }, o => { o.Delivery.MaxAttempts = 101; o.Delivery.RetryDelay = TimeSpan.Zero; }),
        ["Delivery.RetryDelay<"] = (o => o.Delivery.RetryDelay = TimeSpan.Zero, o => o.Delivery.RetryDelay = TimeSpan.FromTicks(-1)),
        ["Delivery.RetryDelay>"] = (o => { o.Delivery.RetryDelay = TimeSpan.FromDays(1); o.Delivery.MaxAttempts = 1; }, o => { o.Delivery.RetryDelay = TimeSpan.FromDays(1) + TimeSpan.FromTicks(1); o.Delivery.MaxAttempts = 1; }),
        ["Delivery.SendTimeout<"] = (o => o.Delivery.SendTimeout = TimeSpan.FromTicks(1), o => o.Delivery.SendTimeout = TimeSpan.Zero),
        ["Delivery.SendTimeout>"] = (o => { o.Delivery.SendTimeout = TimeSpan.FromHours(1); o.Delivery.Lease = TimeSpan.FromDays(1); }, o => { o.Delivery.SendTimeout = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1); o.Delivery.Lease = TimeSpan.FromDays(1); }),
        ["Delivery.RenderTimeout<"] = (o => o.Delivery.RenderTimeout = TimeSpan.FromTicks(1), o => o.Delivery.RenderTimeout = TimeSpan.Zero),
        ["Delivery.RenderTimeout>"] = (o => o.Delivery.RenderTimeout = TimeSpan.FromHours(1), o => o.Delivery.RenderTimeout = TimeSpan.FromHours(1) + TimeSpan.FromTicks(1)),
        ["Delivery.Lease"] = (o => o.Delivery.Lease = TimeSpan.FromDays(1), o => o.Delivery.Lease = TimeSpan.FromDays(1) + TimeSpan.FromTicks(1)),
        ["Delivery.SendsPerSecondPerTransport<"] = (o => o.Delivery.SendsPerSecondPerTransport = 1, o => o.Delivery.SendsPerSecondPerTransport = 0),
        ["Delivery.SendsPerSecondPerTransport>"] = (o => o.Delivery.SendsPerSecondPerTransport = 100_000, o => o.Delivery.SendsPerSecondPerTransport = 100_001),
        ["Delivery.MaxMessageBytes"] = (o => o.Delivery.MaxMessageBytes = 1024, o => o.Delivery.MaxMessageBytes = 1023),
        ["Delivery.MaxSmsSegments"] = (o => o.Delivery.MaxSmsSegments = 1, o => o.Delivery.MaxSmsSegments = 0),
        ["Delivery.MaxPushBytes"] = (o => o.Delivery.MaxPushBytes = 256, o => o.Delivery.MaxPushBytes = 255),
        ["Delivery.DefaultTimeZone"] = (o => o.Delivery.DefaultTimeZone = "Europe/Paris", o => o.Delivery.DefaultTimeZone = "Mars/Olympus"),
        ["Measurement.GlobalControlShare<"] = (o => o.Measurement.GlobalControlShare = 0, o => o.Measurement.GlobalControlShare = -0.01),
        ["Measurement.GlobalControlShare>"] = (o => o.Measurement.GlobalControlShare = 0.5, o => o.Measurement.GlobalControlShare = 0.51),
        ["Measurement.DecideExperimentsEvery<"] = (o => o.Measurement.DecideExperimentsEvery = TimeSpan.FromMinutes(1), o => o.Measurement.DecideExperimentsEvery = TimeSpan.FromSeconds(59)),
        ["Measurement.DecideExperimentsEvery>"] = (o => o.Measurement.DecideExperimentsEvery = TimeSpan.FromDays(30), o => o.Measurement.DecideExperimentsEvery = TimeSpan.FromDays(30) + TimeSpan.FromTicks(1)),
        ["Measurement.MaxTouchesPerProfile<"] = (o => o.Measurement.MaxTouchesPerProfile = 1, o => o.Measurement.MaxTouchesPerProfile = 0),
        ["Measurement.MaxTouchesPerProfile>"] = (o => o.Measurement.MaxTouchesPerProfile = 10_000, o => o.Measurement.MaxTouchesPerProfile = 10_001),
        ["Measurement.TimeDecayHalfLife"] = (o => o.Measurement.TimeDecayHalfLife = TimeSpan.FromTicks(1), o => o.Measurement.TimeDecayHalfLife = TimeSpan.Zero),
        ["Measurement.Windows.Clicked"] = (o => o.Measurement.Windows.Clicked = TimeSpan.FromDays(90), o => o.Measurement.Windows.Clicked = TimeSpan.FromDays(91)),
        ["Measurement.Windows.Sent"] = (o => o.Measurement.Windows.Sent = TimeSpan.Zero, o => o.Measurement.Windows.Sent = TimeSpan.FromTicks(-1)),
    };

    public static TheoryData<string> RangeNames() => [.. Ranges.Keys];

    [Theory]
    [MemberData(nameof(RangeNames))]
    public void EachDocumentedRange_AcceptsItsEdge_AndRefusesOnePast_NamingTheProperty(string name)
    {
        var (edge, past) = Ranges[name];
        var accepted = Options();
        edge(accepted);
        Assert.Empty(accepted.Validate());

        var refused = Options();
        past(refused);
        var error = Assert.Single(refused.Validate());
        Assert.Contains(name.TrimEnd('<', '>'), error, StringComparison.Ordinal);

        // Refused at start-up, not clamped or failing later.
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new OmnichannelEngine(refused, new InMemoryOmnichannelStore()));
    }

    // Mismatch: Partitions was documented "16 per processor, at least 64", and validated at most 1,024: on a machine with
    // more than 64 processors the default itself was refused, so the engine could not start without setting it.
    [Theory]
    [InlineData(1, 64)]
    [InlineData(4, 64)]
    [InlineData(8, 128)]
    [InlineData(64, 1024)]
    [InlineData(65, 1024)]
    [InlineData(256, 1024)]
    public void ThePartitionsDefault_IsValidOnEveryMachine(int processors, int partitions)
    {
        var options = Options();
        options.Partitions = OmnichannelOptions.DefaultPartitions(processors);
        Assert.Equal(partitions, options.Partitions);
        Assert.Empty(options.Validate());
    }

    // Mismatch: the design notes promise that "the writing calls throw ObjectDisposedException once disposal has begun"
    // (UpsertSegmentAsync, PublishJourneyAsync, TrackAsync, SendAsync, EraseProfileAsync did), but RemoveSegmentAsync,
    // RemoveJourneyAsync, DecideExperimentAsync and PurgeProcessedEventsAsync went on through a disposed engine.
    public static TheoryData<string> WritingCalls() => ["RemoveSegment", "RemoveJourney", "DecideExperiment", "PurgeProcessedEvents", "UpsertSegment", "Track", "Erase"];

    [Theory]
    [MemberData(nameof(WritingCalls))]
    public async Task AWritingCallAfterDisposal_ThrowsObjectDisposedException(string call)
    {
        var options = Options();
        options.Segments.Add(Segment.Define("vip", "VIP").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(1)).Build());
        var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), new FakeTimeProvider(Start));
        await engine.DisposeAsync();
        var who = Identifier.Email("ann@example.com");

        Func<Task> act = call switch
        {
            "RemoveSegment" => async () => await engine.RemoveSegmentAsync("vip"),
            "RemoveJourney" => () => engine.RemoveJourneyAsync("welcome"),
            "DecideExperiment" => () => engine.DecideExperimentAsync("welcome"),
            "PurgeProcessedEvents" => async () => await engine.PurgeProcessedEventsAsync(),
            "UpsertSegment" => async () => await engine.UpsertSegmentAsync(Segment.Define("other", "Other").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(2)).Build()),
            "Track" => async () => await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "page.viewed", Timestamp = Start, Identifiers = [who] }),
            _ => async () => await engine.EraseProfileAsync(who),
        };

        await Assert.ThrowsAsync<ObjectDisposedException>(act);
        Assert.Contains(engine.Segments, s => s.Id == "vip"); // nothing changed
    }
}
