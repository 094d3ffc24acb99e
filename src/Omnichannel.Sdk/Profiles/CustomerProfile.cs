using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>
/// Everything the SDK knows about one person: identifiers, traits, statistics, cart and wishlist, consents,
/// preferences, time zone and locale, and a timeline of recent interactions on every channel.
/// </summary>
/// <remarks>
/// A profile read through <see cref="IOmnichannelClient"/> is a snapshot: a copy taken at <see cref="Version"/>,
/// safe to keep and read from any thread.
/// </remarks>
public sealed class CustomerProfile
{
    [JsonConstructor]
    internal CustomerProfile(string id, DateTimeOffset createdAt)
    {
        Id = id;
        CreatedAt = createdAt;
    }

    /// <summary>The profile id.</summary>
    [JsonInclude]
    public string Id { get; internal set; }

    /// <summary>The store version this snapshot was read at.</summary>
    [JsonIgnore]
    public long Version { get; internal set; }

    /// <summary>When the profile was created (processing time, UTC); after a merge, the earliest creation of the profiles merged.</summary>
    [JsonInclude]
    public DateTimeOffset CreatedAt { get; internal set; }

    [Stored]
    internal List<LinkedIdentifier> IdentifierList { get; set; } = [];

    // Session 61: this and the other collections most profiles never fill are made on first use (an empty dictionary is
    // 80 bytes, and a million hot profiles each held about twenty); see "Hot profiles hold only what they use".
    [Stored(Field = nameof(_traitValues))]
    internal Dictionary<string, TraitValue> TraitValues { get => _traitValues ??= new(StringComparer.Ordinal); set => _traitValues = value; }

    private Dictionary<string, TraitValue>? _traitValues;

    // Reads that find a collection made on first use absent instead of making it: what a hot profile holds stays what
    // it used (each was made by a read on every event before).
    internal Dictionary<string, TraitValue>? TraitValuesIfAny => _traitValues;

    internal Dictionary<string, ConsentRecord>? ConsentRecordsIfAny => _consentRecords;

    internal Dictionary<string, DateTimeOffset>? SegmentMembershipsIfAny => _segmentMemberships;

    internal Dictionary<string, DateTimeOffset>? SegmentChecksIfAny => _segmentChecks;

    internal List<Measurement.Touch>? TouchesIfAny => _touches;

    internal WrittenOnceDictionary<Measurement.OrderConversion>? OrderConversionsIfAny => _orderConversions;

    internal WrittenOnceDictionary<OrderFact>? TalliesIfAny => _tallies;

    internal Dictionary<string, List<ItemOp>>? CartOpsIfAny => _cartOps;

    internal Dictionary<string, List<ItemOp>>? WishlistOpsIfAny => _wishlistOps;

    internal WrittenOnceDictionary<OrderFact>? ReturnsIfAny => _returns;

    internal OrdinalSet? CancelledOrdersIfAny => _cancelledOrders;

    internal Dictionary<string, PreferenceFact>? PreferenceFactsIfAny => _preferenceFacts;

    [Stored(Field = nameof(_cartLines))]
    internal Dictionary<string, CartLine> CartLines { get => _cartLines ??= new(StringComparer.Ordinal); set => _cartLines = value; }

    private Dictionary<string, CartLine>? _cartLines;

    [Stored(Field = nameof(_wishlistItems))]
    internal Dictionary<string, WishlistItem> WishlistItems { get => _wishlistItems ??= new(StringComparer.Ordinal); set => _wishlistItems = value; }

    private Dictionary<string, WishlistItem>? _wishlistItems;

    // Orders by order id (or "event:{id}" when an order has none): an order re-sent is an update, never a second order.
    [Stored]
    internal WrittenOnceDictionary<OrderFact> Orders { get; set; } = new WrittenOnceDictionary<OrderFact>();

    // Returns by return id (or order, amount and currency), and cancelled orders by order id: each counted once.
    [Stored(Field = nameof(_returns))]
    internal WrittenOnceDictionary<OrderFact> Returns { get => _returns ??= new WrittenOnceDictionary<OrderFact>(); set => _returns = value; }

    private WrittenOnceDictionary<OrderFact>? _returns;

    // Audit U70: loyalty and referral events that name their transaction (transaction_id, referral_id), by
    // "{event type}:{id}": the same one re-sent under a new event id (a webhook retried, an import run twice, both sides
    // of a merge) counts once, at its newest value.
    [Stored(Field = nameof(_tallies))]
    internal WrittenOnceDictionary<OrderFact> Tallies { get => _tallies ??= new WrittenOnceDictionary<OrderFact>(); set => _tallies = value; }

    private WrittenOnceDictionary<OrderFact>? _tallies;

    // Review of session 57: the sum of her orders' absolute totals when every total has at most 8 decimals and the sum is
    // under ProfileFacts' bound, as of that dictionary's version (null otherwise, and never stored): what lets an order
    // sent again move her statistics in place with the very sums a walk of her orders would make.
    internal (WrittenOnceDictionary<OrderFact> Of, long Version, decimal Magnitude)? OrderMagnitude;

    [Stored(Field = nameof(_cancelledOrders))]
    internal OrdinalSet CancelledOrders { get => _cancelledOrders ??= new(); set => _cancelledOrders = value; }

    private OrdinalSet? _cancelledOrders;

    // Cart and wishlist changes since the last order or full removal, replayed in event-time order (late arrivals converge).
    [Stored(Field = nameof(_cartOps))]
    internal Dictionary<string, List<ItemOp>> CartOps { get => _cartOps ??= new WrittenOnceGroups<ItemOp>(); set => _cartOps = value; }

    private Dictionary<string, List<ItemOp>>? _cartOps;

    [Stored(Field = nameof(_wishlistOps))]
    internal Dictionary<string, List<ItemOp>> WishlistOps { get => _wishlistOps ??= new WrittenOnceGroups<ItemOp>(); set => _wishlistOps = value; }

    private Dictionary<string, List<ItemOp>>? _wishlistOps;

    // Contact preference fields, each last-writer-wins by event time: "channels", "limit".
    [Stored(Field = nameof(_preferenceFacts))]
    internal Dictionary<string, PreferenceFact> PreferenceFacts { get => _preferenceFacts ??= new(StringComparer.Ordinal); set => _preferenceFacts = value; }

    private Dictionary<string, PreferenceFact>? _preferenceFacts;

    // Keyed by ConsentKey; a document written before topics were keyed without case is re-keyed as it is read.
    [Stored(Field = nameof(_consentRecords))]
    internal Dictionary<string, ConsentRecord> ConsentRecords
    {
        get => _consentRecords ??= new(StringComparer.Ordinal);
        set => _consentRecords = Rekeyed(value);
    }

    private Dictionary<string, ConsentRecord>? _consentRecords;

    [Stored]
    internal List<TimelineEntry> TimelineEntries { get; set; } = new WrittenOnceList<TimelineEntry>();

    [Stored(Field = nameof(_mergeRecords))]
    internal List<MergeRecord> MergeRecords { get => _mergeRecords ??= []; set => _mergeRecords = value; }

    private List<MergeRecord>? _mergeRecords;

    /// <summary>The merge records, or null when none was ever made (reading does not make the list).</summary>
    internal List<MergeRecord>? MergeRecordsIfAny => _mergeRecords;

    [Stored(Field = nameof(_conflictRecords))]
    internal List<IdentityConflict> ConflictRecords { get => _conflictRecords ??= []; set => _conflictRecords = value; }

    private List<IdentityConflict>? _conflictRecords;

    /// <summary>The conflict records, or null when none was ever made (reading does not make the list).</summary>
    internal List<IdentityConflict>? ConflictRecordsIfAny => _conflictRecords;

    // What the loaded segment rules need of past events (only their event types and properties).
    [Stored]
    internal Segments.RuleHistory RuleHistory { get; set; } = new();

    [Stored(Field = nameof(_segmentMemberships))]
    internal Dictionary<string, DateTimeOffset> SegmentMemberships { get => _segmentMemberships ??= new(StringComparer.Ordinal); set => _segmentMemberships = value; }

    private Dictionary<string, DateTimeOffset>? _segmentMemberships;

    // Segment id → the incarnation of the definition a membership was reached under, when not the first (the id was
    // removed and added again at run time): a membership of an earlier incarnation is stale and is dropped.
    // Made on first use: nearly every profile has none, and an empty dictionary per profile costs memory and allocation.
    [Stored]
    internal Dictionary<string, int>? SegmentIncarnations { get; set; }

    // The fingerprint of the segment definitions (and default zone) her memberships and next checks were computed under
    // (SegmentCatalog.Fingerprint): another one (a deploy changed the start-up segments) makes her next load evaluate
    // every segment again. Null in documents written before audit U39 (evaluated again once).
    [Stored]
    internal string? SegmentsFingerprint { get; set; }

    // Addresses that hard-bounced, never used again: "channel:#" and the address's keyed hash once committed (the address
    // may be another person's; see OmnichannelEngine.HashSuppressedAddresses).
    [Stored(Field = nameof(_suppressedAddresses))]
    internal List<string> SuppressedAddresses { get => _suppressedAddresses ??= []; set => _suppressedAddresses = value; }

    private List<string>? _suppressedAddresses;

    /// <summary>Whether any address is suppressed, without making the list (asked on every commit).</summary>
    internal bool HasSuppressedAddresses => _suppressedAddresses is { Count: > 0 };

    // Audit U73: recent soft bounces per channel and address (its keyed hash: the address may be another person's), ordinal
    // order (ProfileCore.CountSoftBounce): DeliveryOptions.SoftBounceLimit of them in a row, with no delivery, open or
    // click there in between (read from the touches), suppress the address like a hard bounce. Bounded.
    [Stored(Field = nameof(_softBounces))]
    internal List<SoftBounceMark> SoftBounces { get => _softBounces ??= []; set => _softBounces = value; }

    private List<SoftBounceMark>? _softBounces;

    /// <summary>Whether any soft bounce is kept, without making the list.</summary>
    internal bool HasSoftBounces => _softBounces is { Count: > 0 };

    // Each address's newest delivery, open or click (channel, keyed hash, instant) kept when its touch is trimmed, one per
    // address, ordinal order: a soft-bounce run is read against it as against the touch (ProfileCore.KeepReach). A message
    // that named no address is kept under ProfileCore.NewestAddressMark (her newest address when read). Bounded.
    [Stored(Field = nameof(_reachMarks))]
    internal List<SoftBounceMark> ReachMarks { get => _reachMarks ??= []; set => _reachMarks = value; }

    private List<SoftBounceMark>? _reachMarks;

    /// <summary>Whether any reach mark is kept, without making the list.</summary>
    internal bool HasReachMarks => _reachMarks is { Count: > 0 };

    // Audit U89: the addresses a host lifted (LiftErasureAsync) on the profile that holds them (channel, keyed hash, the
    // lift's instant), the newest per address, ordered by instant: a bounce of the address that another profile of hers
    // reported before the lift does not suppress it again when that profile is merged in
    // (OmnichannelEngine.DropLiftedBouncesAsync). Bounded.
    [Stored(Field = nameof(_liftMarks))]
    internal List<SoftBounceMark> LiftMarks { get => _liftMarks ??= []; set => _liftMarks = value; }

    private List<SoftBounceMark>? _liftMarks;

    /// <summary>Whether any lift mark is kept, without making the list.</summary>
    internal bool HasLiftMarks => _liftMarks is { Count: > 0 };

    // Audit U84: the addresses her soft-bounce runs suppressed (channel, keyed hash, the run's last bounce), ordinal order.
    // Such a suppression is a state read from the marks and touches (ProfileCore.LiftSoftSuppressions): a delivery, open or
    // click of a message to the address after the run ends it, whichever arrived first. An address also hard-bounced (or
    // brought suppressed by a merge from a profile that did not soft-suppress it) has no entry here: that one is final.
    [Stored(Field = nameof(_softSuppressed))]
    internal List<SoftBounceMark> SoftSuppressed { get => _softSuppressed ??= []; set => _softSuppressed = value; }

    private List<SoftBounceMark>? _softSuppressed;

    /// <summary>Whether any address is soft-suppressed, without making the list.</summary>
    internal bool HasSoftSuppressed => _softSuppressed is { Count: > 0 };

    // Audit U84, not stored: the addresses (channel, plain address) this unit soft-suppressed (Listed) or whose soft
    // suppression it lifted, in order, for the store's list (written with the commit, then cleared).
    internal List<(string Channel, string Address, bool Listed)>? SoftListChanges { get; set; }

    // Hard bounces without an address that named a message this profile does not know ("channel:message key", ordinal
    // order, bounded): the message went out from a profile she has not been linked to yet, so a merge that brings the
    // message resolves the bounce to the address there (ProfileCore.ResolvePendingBounces). Audit U79: or named only the
    // provider's id ("provider/channel:id"), resolved also when a send is recorded with that id.
    [Stored(Field = nameof(_pendingBounces))]
    internal List<string> PendingBounces { get => _pendingBounces ??= []; set => _pendingBounces = value; }

    private List<string>? _pendingBounces;

    /// <summary>Whether any pending bounce is kept, without making the list.</summary>
    internal bool HasPendingBounces => _pendingBounces is { Count: > 0 };

    // Audit U81: outcome reports (delivered, opened, clicked, failed, bounced, unsubscribed) naming only a provider's id
    // this profile does not know yet, kept as they arrived until the send is recorded with that id or a merge brings the
    // message (MeasurementRecorder.PlacePendingReports), then measured at their own time. Ordered by time, bounded
    // (MeasurementRecorder.MaxPendingReports). Made on first use: nearly every profile has none, and an ordinary event
    // makes nothing here.
    [Stored(Field = nameof(_pendingReports))]
    internal List<Measurement.PendingReport> PendingReports { get => _pendingReports ??= []; set => _pendingReports = value; }

    private List<Measurement.PendingReport>? _pendingReports;

    /// <summary>Whether any report waits for its send's record, without making the list.</summary>
    internal bool HasPendingReports => _pendingReports is { Count: > 0 };

    // Reports placed on their message in the unit of work in progress (measured already), for its journeys to hear once
    // the unit's own event was heard; never stored.
    internal List<Measurement.PlacedReport>? ReportsPlaced { get; set; }

    // Keys of messages accepted for this profile (most recent last, bounded), to answer "duplicate" at once.
    [Stored(Field = nameof(_messageKeys))]
    internal List<string> MessageKeys { get => _messageKeys ??= new WrittenOnceList<string>(); set => _messageKeys = value; }

    private List<string>? _messageKeys;

    // Marketing messages queued recently, for frequency caps (trimmed to the longest cap window).
    [Stored(Field = nameof(_messageLog))]
    internal List<Delivery.SentMessage> MessageLog { get => _messageLog ??= []; set => _messageLog = value; }

    private List<Delivery.SentMessage>? _messageLog;

    /// <summary>The message log, or null when none was ever made (reading does not make the list).</summary>
    internal List<Delivery.SentMessage>? MessageLogIfAny => _messageLog;

    // Messages and their outcomes (touches) within the longest attribution window, for attribution; survive merges.
    [Stored(Field = nameof(_touches))]
    internal List<Measurement.Touch> Touches { get => _touches ??= new WrittenOnceList<Measurement.Touch>(); set => _touches = value; }

    private List<Measurement.Touch>? _touches;

    // The person's global control group ("control" or "treatment"), once assigned; null while the group is off.
    [Stored]
    internal string? MeasurementGroup { get; set; }

    // When MeasurementGroup was assigned (its first marketing message); null for a group assigned before it was kept
    // (audit U85), which was then assigned before any group that has one. A merge keeps the group assigned first.
    [Stored]
    internal DateTimeOffset? MeasurementGroupAt { get; set; }

    // Audit U86: the GlobalControlShare in force when MeasurementGroup was assigned (its assignment row is counted under it);
    // null for a group assigned before it was kept.
    [Stored]
    internal double? MeasurementGroupShare { get; set; }

    // Audit U86: whether profiles of hers were in both global groups (merged); counted once in the global "both" row.
    [Stored]
    internal bool MeasurementGroupCrossed { get; set; }

    // Conversion definition id → the person's revenue under it since joining the global group (for its verdict).
    [Stored(Field = nameof(_groupConversions))]
    internal Dictionary<string, double> GroupConversions { get => _groupConversions ??= new(StringComparer.Ordinal); set => _groupConversions = value; }

    private Dictionary<string, double>? _groupConversions;

    // Order key → what its conversion added to the aggregates (recent orders only): a merge takes back a second
    // conversion of one order. Exported under "internal" like every stored field.
    [Stored(Field = nameof(_orderConversions))]
    internal WrittenOnceDictionary<Measurement.OrderConversion> OrderConversions { get => _orderConversions ??= new WrittenOnceDictionary<Measurement.OrderConversion>(); set => _orderConversions = value; }

    private WrittenOnceDictionary<Measurement.OrderConversion>? _orderConversions;

    // Aggregate changes of the unit of work in progress, taken by its commit; never stored.
    internal Measurement.MeasurementBuffer PendingMeasurements => _pendingMeasurements ??= new();

    private Measurement.MeasurementBuffer? _pendingMeasurements;

    // The unit of work's aggregate changes, cleared: the buffer goes with them, so a profile held between its units holds none.
    internal IReadOnlyList<Measurement.MeasurementDelta> TakePendingMeasurements()
    {
        var buffer = _pendingMeasurements;
        _pendingMeasurements = null;
        return buffer?.Take() ?? [];
    }

    // Messages the unit of work in progress did not send (the metric's outcome tag: skipped, held_out), counted after
    // its commit: a change given up and done again must not count them twice; never stored.
    internal List<string>? PendingSkips { get; set; }

    // Quiet-hours holds the unit of work in progress found to bring forward (her zone changed; see
    // OmnichannelEngine.MoveQuietHolds): moved after its commit; never stored.
    internal List<OmnichannelEngine.Advance>? PendingAdvances { get; set; }

    // New trait paths the unit of work in progress did not keep (OmnichannelOptions.MaxTraitsPerProfile), logged after
    // its commit; never stored.
    internal int TraitPathsRefused { get; set; }

    // Segment id → the instant its answer may next change with no new event.
    [Stored(Field = nameof(_segmentChecks))]
    internal Dictionary<string, DateTimeOffset> SegmentChecks { get => _segmentChecks ??= new(StringComparer.Ordinal); set => _segmentChecks = value; }

    private Dictionary<string, DateTimeOffset>? _segmentChecks;

    // Journey instances, re-entry records, scheduled triggers and statistics; null until a journey touches the profile.
    [Stored]
    internal Journeys.JourneyState? JourneyData { get; set; }

    /// <summary>The journey instances running for this customer.</summary>
    public IReadOnlyList<Journeys.JourneyInstanceInfo> Journeys =>
        JourneyData is null ? [] : [.. JourneyData.Instances.Select(i => new Journeys.JourneyInstanceInfo(i.Id, i.JourneyId, i.Version, i.StepId, i.StartedAt, i.WakeAt, i.CorrelationKey, i.Variant))];

    /// <summary>
    /// The experiment variants this person was assigned (journey A/B splits), one per journey and split step: the first
    /// draw stands for the person, also after a merge (the earlier assignment wins).
    /// </summary>
    public IReadOnlyList<Journeys.ExperimentAssignment> Experiments =>
        JourneyData is null ? [] : [.. JourneyData.Assignments.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
        {
            var bar = kv.Key.LastIndexOf('|');
            return new Journeys.ExperimentAssignment(kv.Key[..bar], kv.Key[(bar + 1)..], kv.Value.Variant, kv.Value.At);
        })];

    /// <summary>The segments this profile is a member of, with when it entered each, by segment id.</summary>
    public IReadOnlyList<Segments.SegmentMembership> Segments =>
        [.. SegmentMemberships.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new Segments.SegmentMembership(kv.Key, kv.Value))];

    /// <summary>Whether the profile is a member of a segment.</summary>
    /// <param name="segmentId">The segment id.</param>
    public bool IsInSegment(string segmentId) => _segmentMemberships?.ContainsKey(segmentId) == true;

    /// <summary>The identifiers linked to this profile.</summary>
    public IReadOnlyList<LinkedIdentifier> Identifiers => IdentifierList;

    /// <summary>
    /// Traits as a nested JSON object (a new copy on each call): a trait <c>address.city</c> is
    /// <c>{"address": {"city": …}}</c>. The object nests at most 48 levels with the value's own nesting (the most an event
    /// or a journey may write): a path stored deeper by a version before that limit keeps its remaining names as one
    /// dotted key at the 48th level, so the object can still be rendered and written as JSON.
    /// </summary>
    public JsonObject Traits => BuildTraits();

    /// <summary>Statistics derived from events.</summary>
    [JsonInclude]
    public ProfileStatistics Statistics { get => _statistics ??= new(); internal set => _statistics = value; }

    // Made on first use: a profile read from its document gets the stored one, and a default made by the constructor first
    // (with its collections) was thrown away on every read of a cold profile (session 63).
    private ProfileStatistics? _statistics;

    /// <summary>Cart lines, oldest change first. Emptied by an order.</summary>
    public IReadOnlyList<CartLine> Cart => [.. CartLines.Values.OrderBy(l => l.UpdatedAt).ThenBy(l => l.ProductId, StringComparer.Ordinal)];

    /// <summary>
    /// When orders last emptied the cart: the first event time of the latest order (an update of an order, its id sent
    /// again later, empties nothing). Cart events at or before it do not count.
    /// </summary>
    [JsonInclude]
    public DateTimeOffset? CartClearedAt { get; internal set; }

    /// <summary>Wishlist, oldest first.</summary>
    public IReadOnlyList<WishlistItem> Wishlist => [.. WishlistItems.Values.OrderBy(w => w.AddedAt).ThenBy(w => w.ProductId, StringComparer.Ordinal)];

    /// <summary>Consent decisions, one per channel and topic (the newest decision).</summary>
    public IReadOnlyList<ConsentRecord> Consents => [.. ConsentRecords.Values.Where(c => !c.AwaitsDecision).Select(c => c.AsDecision()).OrderBy(c => c.Channel, StringComparer.Ordinal).ThenBy(c => c.Topic, StringComparer.Ordinal)];

    /// <summary>Contact preferences, when the customer gave any.</summary>
    [JsonInclude]
    public ContactPreferences? Preferences { get; internal set; }

    /// <summary>IANA time zone from the newest event context that had one.</summary>
    [JsonInclude]
    public string? TimeZone { get; internal set; }

    [Stored]
    internal DateTimeOffset? TimeZoneAt { get; set; }

    [Stored]
    internal string? TimeZoneEventId { get; set; }

    /// <summary>Locale from the newest event context that had one.</summary>
    [JsonInclude]
    public string? Locale { get; internal set; }

    [Stored]
    internal DateTimeOffset? LocaleAt { get; set; }

    [Stored]
    internal string? LocaleEventId { get; set; }

    /// <summary>Lifecycle stage derived from identity and orders.</summary>
    public LifecycleStage LifecycleStage => Statistics.OrderCount switch
    {
        >= 2 => LifecycleStage.RepeatCustomer,
        1 => LifecycleStage.Customer,
        _ => IdentifierList.Any(i => i.Type is not (IdentifierTypes.AnonymousId or IdentifierTypes.DeviceId)) ? LifecycleStage.Lead : LifecycleStage.Visitor,
    };

    /// <summary>
    /// The most recent interactions on every channel, oldest first: her newest <see cref="OmnichannelOptions.TimelineLength"/>
    /// events and the engine's newest as many own entries (segment transitions, journey steps, messages queued or skipped).
    /// </summary>
    public IReadOnlyList<TimelineEntry> Timeline => TimelineEntries;

    /// <summary>Every merge of another profile into this one, with its reason.</summary>
    public IReadOnlyList<MergeRecord> Merges => MergeRecords;

    /// <summary>Identifiers that were not linked because a rule would have been broken (most recent last).</summary>
    public IReadOnlyList<IdentityConflict> Conflicts => ConflictRecords;

    /// <summary>Whether the profile holds an identifier (normalised value).</summary>
    /// <param name="identifier">The identifier.</param>
    public bool Has(Identifier identifier)
    {
        // A loop, not a predicate: runs for each identifier of every event of a run (a captured predicate allocates).
        foreach (var i in IdentifierList)
        {
            if (i.Type == identifier.Type && i.Value == identifier.Value)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The values of one identifier type linked to this profile.</summary>
    /// <param name="type">The identifier type.</param>
    public IReadOnlyList<string> IdentifierValues(string type) => [.. IdentifierList.Where(i => i.Type == type).Select(i => i.Value)];

    /// <summary>Reads a trait by dotted path (<c>address.city</c>).</summary>
    /// <param name="path">The dotted path of a leaf trait.</param>
    /// <param name="value">The value.</param>
    /// <returns><see langword="true"/> when the trait is set.</returns>
    public bool TryGetTrait(string path, out JsonElement value)
    {
        if (TraitValues.TryGetValue(path, out var t) && t.Value is { } v)
        {
            value = v;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// The consent decision in force for a channel and topic: the newer of the topic's own decision and the channel-wide
    /// one (topic <c>*</c>; at the same instant a refusal stands), except that a channel-wide grant does not lift a refusal of the topic itself (she said no to
    /// that topic in particular; a later "email me" at checkout is no yes to it). An unsubscribe-all or a complaint newer
    /// than a topic grant withdraws that topic; a topic grant newer than a channel-wide refusal applies to that topic only.
    /// <see langword="null"/> when the customer never decided. Delivery, reachability rules and this method all read
    /// consent through this one rule.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="topic">The topic, or <see langword="null"/> for the channel as a whole.</param>
    public ConsentRecord? GetConsent(string channel, string? topic = null)
    {
        var channelWide = ConsentRecords.GetValueOrDefault(ConsentKey(channel, ConsentRecord.AnyTopic));
        if (channelWide is { AwaitsDecision: true })
        {
            channelWide = null; // an opt-in keyword with no opt-out to undo: no decision (see ConsentRecord.AwaitsDecision)
        }

        if (topic is null || topic == ConsentRecord.AnyTopic || !ConsentRecords.TryGetValue(ConsentKey(channel, topic), out var specific))
        {
            return channelWide?.AsDecision();
        }

        return (channelWide is not null && Stamp.Newer(channelWide, specific)
            && !(channelWide.Granted && !specific.Granted)
            ? channelWide
            : specific).AsDecision();
    }

    /// <summary>
    /// A consent decision's key. Topics are the host's names, compared trimmed and without case: an unsubscribe from
    /// <c>Newsletter</c> (a form, a provider's list name) is one from <c>newsletter</c>.
    /// </summary>
    internal static string ConsentKey(string channel, string topic) => channel + "/" + TopicKey(topic);

    /// <summary>A topic as topics are compared (see <see cref="ConsentKey"/>).</summary>
    internal static string TopicKey(string topic) => topic.Trim().ToLowerInvariant();

    /// <summary>Whether two topics are the same topic (see <see cref="ConsentKey"/>); <see langword="null"/> is no topic.</summary>
    internal static bool SameTopic(string? a, string? b) =>
        a is null || b is null ? a is null && b is null : string.Equals(TopicKey(a), TopicKey(b), StringComparison.Ordinal);

    private static Dictionary<string, ConsentRecord> Rekeyed(Dictionary<string, ConsentRecord> records)
    {
        if (records.All(kv => kv.Key == ConsentKey(kv.Value.Channel, kv.Value.Topic)))
        {
            return records;
        }

        var rekeyed = new Dictionary<string, ConsentRecord>(StringComparer.Ordinal);
        foreach (var c in records.Values)
        {
            var key = ConsentKey(c.Channel, c.Topic);
            if (!rekeyed.TryGetValue(key, out var known) || Stamp.Newer(c.At, c.EventId ?? c.Source, known.At, known.EventId ?? known.Source))
            {
                rekeyed[key] = c;
            }
        }

        return rekeyed;
    }

    private JsonObject BuildTraits()
    {
        var root = new JsonObject();
        foreach (var (path, tv) in TraitValues.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (tv.Value is not { } value)
            {
                continue;
            }

            var parts = path.Split('.');
            if (parts.Length > 1 && parts.Length + ValueDepth(value) is var depth && depth > JsonLimits.HighestMaxDepth)
            {
                // Review of audit U65: an older version stored a path of any depth (its dots were not counted), and one
                // of 70 names made every render of her messages and her export (JSON written with a depth of 64) fail.
                var kept = Math.Max(1, parts.Length - (depth - JsonLimits.HighestMaxDepth));
                parts = [.. parts.AsSpan(0, kept - 1), string.Join('.', parts.AsSpan(kept - 1))];
            }

            var node = root;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                if (node[parts[i]] is not JsonObject child)
                {
                    child = new JsonObject();
                    node[parts[i]] = child;
                }

                node = child;
            }

            node[parts[^1]] = JsonNode.Parse(value.GetRawText());
        }

        return root;
    }

    // How deep a stored value nests (a scalar 0, a list 1…); stored values are leaves, so only lists hold others.
    private static int ValueDepth(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return 0;
        }

        var deepest = 0;
        var pending = new Stack<(JsonElement Value, int Depth)>();
        pending.Push((value, 1));
        while (pending.Count > 0)
        {
            var (next, depth) = pending.Pop();
            deepest = Math.Max(deepest, depth);
            var children = next.ValueKind == JsonValueKind.Array ? next.EnumerateArray().ToList() : next.EnumerateObject().Select(m => m.Value).ToList();
            foreach (var child in children)
            {
                if (child.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
                {
                    pending.Push((child, depth + 1));
                }
            }
        }

        return deepest;
    }
}
