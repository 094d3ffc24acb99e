namespace Omnichannel.Sdk;

/// <summary>Engine settings. Validated when the engine is built (or at host start-up through <c>AddOmnichannel</c>).</summary>
public sealed class OmnichannelOptions
{
    /// <summary>Identifier types, their rules, and blocked values.</summary>
    public IdentityOptions Identity { get; } = new();

    /// <summary>How far in the future an event's timestamp may be, to allow for clock skew. Default 5 minutes; 0 to 1 day.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The largest <see cref="CustomerEvent.Properties"/> accepted, in UTF-8 bytes of JSON. Default 32 KiB; 1 byte to
    /// 1 MiB. A larger event is rejected with the field <c>properties</c>.
    /// </summary>
    public int MaxPropertiesBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// The largest <see cref="CustomerEvent.Traits"/> accepted, in UTF-8 bytes of JSON. Default 32 KiB; 1 byte to
    /// 1 MiB. A larger event is rejected with the field <c>traits</c>.
    /// </summary>
    public int MaxTraitsBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// The deepest nesting of objects and arrays accepted in <see cref="CustomerEvent.Properties"/> and
    /// <see cref="CustomerEvent.Traits"/>, the object itself counting as 1 (<c>{"a": [1]}</c> is 2 deep). Default 32;
    /// 1 to 48 (values are stored inside profile documents, which are read back with System.Text.Json's maximum depth of
    /// 64, and rendered by templates). A deeper event is rejected with the path of the first value too deep.
    /// </summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>
    /// The most keys and array items, counted through every level, accepted in <see cref="CustomerEvent.Properties"/>
    /// and, separately, in <see cref="CustomerEvent.Traits"/>. Default 10,000 (a real order of 1,100 lines lists 1,100
    /// products); 1 to 100,000. More is rejected with the field <c>properties</c> or <c>traits</c>.
    /// </summary>
    public int MaxJsonMembers { get; set; } = 10_000;

    /// <summary>
    /// The longest value accepted in each <see cref="CustomerEvent.Context"/> field (city, campaign, locale…), in
    /// characters. Default 256; 1 to 4,096. Longer values, control characters and unpaired surrogates are rejected
    /// with the field, e.g. <c>context.city</c>.
    /// </summary>
    public int MaxContextValueLength { get; set; } = 256;

    /// <summary>How long processed event ids are remembered for de-duplication. Default 30 days; 1 minute to 10 years.</summary>
    public TimeSpan DeduplicationRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How often the engine looks in the store for wake-ups and outbox entries its own timers do not know of: written by
    /// another process on the same database or SQLite file that then stopped (scaled down, crashed), or claimed by one
    /// that died before its lease ended. Each look is two small reads and only arms the engine's timers. Default 1 minute;
    /// 1 second to 1 day, or <see langword="null"/> never to look (one process alone on its store). Not used with the
    /// in-memory store, which no other process writes. A store that signals other processes' work
    /// (<see cref="Storage.IStoreWorkSignal"/>: PostgreSQL's <c>NOTIFY</c>, SQLite's <c>PRAGMA data_version</c> every second)
    /// makes the engine look at once as well; with <see langword="null"/> it does not subscribe to that either.
    /// </summary>
    public TimeSpan? StorePollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many interactions a profile's timeline keeps: at most this many of her events, the newest by event time, and
    /// besides them at most this many of the engine's own entries (segment transitions, journey steps, messages queued or
    /// skipped), so that what the engine adds never pushes her events out. Default 200; 1 to 100,000.
    /// </summary>
    public int TimelineLength { get; set; } = 200;

    /// <summary>
    /// The most trait paths one profile keeps, counted as dotted leaf paths (<c>address.city</c> is one; a removed trait
    /// counts until a newer write replaces it). Default 1,000; 1 to 100,000. A write of a path the profile does not hold yet
    /// is not kept once the profile holds this many (the rest of the event is applied; writes to paths it holds, removals
    /// included, always are; a merge keeps the absorbing profile's paths first), and a warning (event id 63) logs how many
    /// were not kept, never their names or values. Every event's traits and every commit walk the profile's traits, so
    /// without a bound a client sending new keys made each event slower than the last.
    /// </summary>
    public int MaxTraitsPerProfile { get; set; } = DefaultMaxTraitsPerProfile;

    /// <summary>The default of <see cref="MaxTraitsPerProfile"/>.</summary>
    internal const int DefaultMaxTraitsPerProfile = 1_000;

    /// <summary>
    /// The shop's currency (ISO 4217 code such as <c>EUR</c>): the headline currency of every profile's
    /// <see cref="ProfileStatistics.TotalSpent"/>, average order value and returns. Default <see langword="null"/>: each
    /// profile's headline is the currency of its earliest order by event time. Money is never added across currencies;
    /// <see cref="ProfileStatistics.SpentByCurrency"/> keeps every currency.
    /// </summary>
    public string? Currency { get; set; }

    /// <summary>
    /// Number of partitions: events are routed to a partition by identifier so that one profile's events are applied
    /// in order by one worker, while different profiles proceed in parallel. Default 16 per processor, at least 64, at most
    /// 1,024; 1 to 1,024: a
    /// worker mostly waits for its commit, and a durable store's group commit can batch at most one commit per
    /// partition, so a store's throughput grows with the commits in flight (on two cores, 16 → 64 partitions: SQLite
    /// 37.5 → 28.4 µs per event, PostgreSQL 81 → 67, in memory 12.4 → 11.0; benchmarks README, sixteenth session).
    /// Hot profiles are bounded across all partitions by <see cref="ProfileCacheBytes"/>.
    /// </summary>
    public int Partitions { get; set; } = DefaultPartitions(Environment.ProcessorCount);

    /// <summary>The most partitions accepted.</summary>
    internal const int MaxPartitions = 1024;

    /// <summary>The default of <see cref="Partitions"/> on a machine with this many processors: always a valid value.</summary>
    internal static int DefaultPartitions(int processorCount) => (int)Math.Clamp(processorCount * 16L, 64L, MaxPartitions);

    /// <summary>Events that may wait in one partition's queue before tracking calls wait for room (back-pressure). Default 1024; 1 to 1,000,000.</summary>
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>How often a commit is retried after an optimistic-concurrency conflict before the event is reported failed (transient). Default 20; 1 to 1,000.</summary>
    public int MaxCommitAttempts { get; set; } = 20;

    /// <summary>
    /// Hot profiles: profiles kept deserialised in memory per partition, least recently used evicted first, so that a
    /// returning customer's event skips the store read and the parse. At most this many per partition. Default 100,000;
    /// 0 (none) to 10,000,000. <see cref="ProfileCacheBytes"/> bounds their memory too.
    /// </summary>
    public int ProfileCacheSize { get; set; } = 100_000;

    /// <summary>
    /// The memory all partitions' hot profiles may take, in bytes, counted as the size of their stored documents (UTF-8
    /// JSON; the objects take about 3.5 times that: 830 bytes of document, about 3 KB of object for a customer with a few
    /// events, measured by <c>ScalingBenchmarks</c>). Shared by all partitions: a partition holds more than an even share
    /// while the total fits, and over the total it gives up its own least recently used profiles first, so the total stays
    /// within one profile's document of this. A profile whose document is larger than this is never kept. Default 64 MiB
    /// (roughly 80,000 such customers, about 250 MB of objects); 0 to 1 TiB.
    /// </summary>
    public long ProfileCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Segments loaded at start-up (validated with the rest of the options: every error with its path). More can be added
    /// at run time with <see cref="IOmnichannelClient.UpsertSegmentAsync"/>.
    /// </summary>
    public IList<Segments.SegmentDefinition> Segments { get; } = [];

    /// <summary>
    /// Whether a start visits the stored profiles whose segment memberships were computed under other segment definitions
    /// (a deploy changed, added or removed a segment of <see cref="Segments"/>, or the default time zone) and evaluates
    /// them under these, in the background, as <see cref="IOmnichannelClient.UpsertSegmentAsync"/> back-fills a segment:
    /// <c>segment.entered</c>/<c>segment.exited</c> are recorded and segment-triggered journeys start as they would then;
    /// a segment no longer defined loses its members without exits. The members list waits for the visit; reading a
    /// profile not visited yet visits it first. One store read per stored profile at each start (profiles already under
    /// these definitions are read, not written). Default <see langword="true"/>; a cluster's silos turn it off (their
    /// definitions come from the cluster's log, not only these options).
    /// </summary>
    public bool CatchUpSegmentsAtStart { get; set; } = true;

    /// <summary>
    /// Journeys loaded at start-up, every version that may still have running instances (validated with the rest of the
    /// options: every error with its path). More can be published at run time with <c>PublishJourneyAsync</c>.
    /// </summary>
    public IList<Journeys.JourneyDefinition> Journeys { get; } = [];

    /// <summary>Delivery policies (consent topics, quiet hours, caps) and the dispatcher's settings.</summary>
    public Delivery.DeliveryOptions Delivery { get; } = new();

    /// <summary>Conversions, attribution windows and models, and the global control group.</summary>
    public Measurement.MeasurementOptions Measurement { get; } = new();

    /// <summary>
    /// The keyed hashing of identifiers the SDK must remember without keeping them (suppression list, erasure
    /// tombstones, conflict records, log masks). Set <see cref="Privacy.PrivacyOptions.HashKey"/> with any durable store.
    /// </summary>
    public Privacy.PrivacyOptions Privacy { get; } = new();

    /// <summary>
    /// Every problem with these options, empty when they are valid: each value in its range (see each option) and the
    /// rules between values (the outbox lease outlasts the longest send; retry back-off stays within 30 days).
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        OptionRanges.Check(this, errors);

        if (Currency is not null && (Currency.Length != 3 || !Currency.All(char.IsAsciiLetterUpper)))
        {
            errors.Add($"{nameof(Currency)} must be an ISO 4217 code of three upper-case letters, for example EUR.");
        }

        if (TimelineLength is < 1 or > 100_000)
        {
            errors.Add($"{nameof(TimelineLength)} must be between 1 and 100000.");
        }

        if (Partitions is < 1 or > MaxPartitions)
        {
            errors.Add($"{nameof(Partitions)} must be between 1 and {MaxPartitions}.");
        }

        if (string.IsNullOrEmpty(Identity.DefaultPhoneCountryCode) || !Identity.DefaultPhoneCountryCode.All(char.IsAsciiDigit) || Identity.DefaultPhoneCountryCode.Length > 3 || Identity.DefaultPhoneCountryCode[0] == '0')
        {
            errors.Add($"{nameof(Identity)}.{nameof(IdentityOptions.DefaultPhoneCountryCode)} must be a country calling code of 1 to 3 digits not starting with 0, for example 44.");
        }

        if (Identity.DefaultPhoneRegion is { } region && !PhoneNumbers.PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(region.ToUpperInvariant()))
        {
            errors.Add($"{nameof(Identity)}.{nameof(IdentityOptions.DefaultPhoneRegion)} '{region}' is not a region libphonenumber knows (ISO 3166-1 alpha-2, for example GB).");
        }

        foreach (var rule in Identity.Rules.Values)
        {
            if (rule.Limit is < 1)
            {
                errors.Add($"{nameof(Identity)}.Rules[{rule.Type}].{nameof(IdentifierRule.Limit)} must be at least 1, or null for unlimited.");
            }

            if (!System.Text.RegularExpressions.Regex.IsMatch(rule.Type, "^[a-z][a-z0-9_]*$"))
            {
                errors.Add($"{nameof(Identity)}.Rules[{rule.Type}]: identifier type names are lower_snake_case.");
            }
        }

        Privacy.Validate(errors);
        errors.AddRange(Delivery.Validate());
        errors.AddRange(Measurement.Validate());
        var segmentErrors = Omnichannel.Sdk.Segments.SegmentSetValidator.Validate(Segments);
        foreach (var e in segmentErrors)
        {
            errors.Add($"{nameof(Segments)}{e.Path.TrimStart('$')}: {e.Message}");
        }

        if (segmentErrors.Count == 0 && Journeys.Count > 0)
        {
            try
            {
                Omnichannel.Sdk.Journeys.JourneyCatalog.Create(Journeys, Omnichannel.Sdk.Segments.SegmentCatalog.Create(Segments));
            }
            catch (Omnichannel.Sdk.Journeys.JourneyDefinitionException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"{nameof(Journeys)}{e.Path.TrimStart('$')}: {e.Message}"));
            }
        }

        return errors;
    }
}
