using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk;

// Measurement: touches, conversions and the global control group are recorded inside the profile's unit of work, and
// their aggregate deltas are committed with it (ProfileCommit.Measurements); reads go to the store's aggregates.
public sealed partial class OmnichannelEngine
{
    /// <summary>
    /// A journey's statistics: entries, completions, exits by reason, conversions by step, variant and channel, and per
    /// step what happened. Read from the store's measurement aggregates (maintained in the same commit as each change),
    /// so the cost is the journey's number of counters and days, not the number of profiles.
    /// </summary>
    /// <param name="journeyId">The journey id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentException">No journey with this id is loaded and the store holds no statistics under it (a
    /// misspelt id, which would otherwise read as a journey nobody entered); the message lists the loaded ids.</exception>
    public async Task<JourneyStatistics> GetJourneyStatisticsAsync(string journeyId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        // Every row, not the query's default 100,000: a journey keeps a row per counter and day, and a cut answer summed
        // to smaller totals with nothing to say they were partial.
        var rows = await _store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = journeyId, MetricPrefix = MeasurementMetrics.JourneyPrefix, Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false);
        await ThrowIfUnknownJourneyAsync(journeyId, rows.Count, cancellationToken).ConfigureAwait(false);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            var name = r.Key.Metric[MeasurementMetrics.JourneyPrefix.Length..];
            counters[name] = counters.GetValueOrDefault(name) + r.Count;
        }

        return JourneyStatistics.From(journeyId, counters, counters.GetValueOrDefault("active"));
    }

    /// <summary>
    /// Reads measurement aggregates (sends, deliveries, opens, clicks, unsubscribes, conversions, credit and revenue per
    /// model, journey counters) per journey, step, variant, channel, template and UTC day. See <see cref="MeasurementMetrics"/>.
    /// </summary>
    /// <param name="query">The filter; the cost is the rows in the answer.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException">The query's limit is not positive.</exception>
    public ValueTask<IReadOnlyList<MeasurementRow>> GetMeasurementsAsync(MeasurementQuery query, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        return _store.GetMeasurementsAsync(query, cancellationToken);
    }

    /// <summary>
    /// The verdict of a journey's A/B split (its variants and hold-out <c>control</c>): per arm the conversion rate of the
    /// journey's goal and revenue per recipient with intervals, each variant against control, the sample-ratio check
    /// against the split's weights, and a winner when the evidence is there. Reads the journey's aggregates only. Arms
    /// count people: a person who re-enters (and keeps her arm) is one recipient, converted when her first entry's goal
    /// is reached inside its window (also by an order after a later entry); <see cref="GetJourneyStatisticsAsync"/>
    /// counts every entry.
    /// </summary>
    /// <param name="journeyId">The journey; its newest version's first split step gives the planned shares.</param>
    /// <param name="settings">Confidence, mode (always-valid by default) and thresholds; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The verdict, or <see langword="null"/> when fewer than two arms have entrants — unless the newest split's planned arms show a sample-ratio mismatch (every entrant in one arm, far past chance), which is a verdict.</returns>
    /// <exception cref="ArgumentException">The settings are invalid (the message names the field), or no journey with this id
    /// is loaded and the store holds no statistics under it (the message lists the loaded ids).</exception>
    public async Task<ExperimentVerdict?> GetExperimentVerdictAsync(string journeyId, ExperimentSettings? settings = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        var rows = await _store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = journeyId, MetricPrefix = MeasurementMetrics.JourneyPrefix + "variant:", Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false);
        await ThrowIfUnknownJourneyAsync(journeyId, rows.Count, cancellationToken).ConfigureAwait(false);
        var arms = new Dictionary<string, (long Entered, long Converted, double Revenue, double Squares)>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            // journey:variant:<name>:<what>; the name may hold colons itself ("subject:short"), the counter never does.
            var prefix = MeasurementMetrics.JourneyPrefix.Length + "variant:".Length;
            var last = r.Key.Metric.LastIndexOf(':');
            if (last <= prefix)
            {
                continue;
            }

            var name = r.Key.Metric[prefix..last];
            var a = arms.GetValueOrDefault(name);
            arms[name] = r.Key.Metric[(last + 1)..] switch
            {
                "entered" => a with { Entered = a.Entered + r.Count },
                "converted" => a with { Converted = a.Converted + r.Count },
                // Recipients and conversions are people: a person's later entries (sticky to her arm) are taken off.
                JourneyRunner.RepeatEntered => a with { Entered = a.Entered - r.Count },
                JourneyRunner.RepeatConverted => a with { Converted = a.Converted - r.Count },
                "revenue" => a with { Revenue = a.Revenue + r.Sum },
                "revenue_sq" => a with { Squares = a.Squares + r.Sum },
                _ => a,
            };
        }

        var split = _definitions.Journeys.FindLatest(journeyId)?.Definition.Steps.OfType<SplitStep>().FirstOrDefault();
        Dictionary<string, double>? shares = null;
        if (split is not null)
        {
            shares = split.Variants.ToDictionary(v => v.Name, v => (double)v.Weight, StringComparer.Ordinal);
            if (split.ControlWeight is { } cw)
            {
                shares["control"] = cw;
            }

            if (arms.Keys.Any(k => !shares.ContainsKey(k)))
            {
                shares = null; // arms of an earlier version: no planned shares to check against
            }
        }

        // The arms' counts add up entrants of every version. When the versions split with different weights (a decided
        // experiment sends new entrants to its winner; a ramp-up), no one set of planned shares produced them, and a
        // sample-ratio check against the newest would cry mismatch over a healthy split: it is not made then.
        var weightsChanged = split is not null && _definitions.Journeys.All
            .Where(d => d.Id == journeyId)
            .Select(d => d.Steps.OfType<SplitStep>().FirstOrDefault())
            .Any(s => s is not null && !SameWeights(s, split));
        var observations = arms.Select(kv => new VariantObservation(kv.Key, kv.Value.Entered, Math.Min(kv.Value.Converted, kv.Value.Entered), kv.Value.Revenue, kv.Value.Squares)).ToList();
        if (shares is not null && !weightsChanged)
        {
            // A planned arm nobody reached has no rows, yet it is the plainest sample-ratio mismatch there is (a broken
            // assignment): it joins the check with no recipients instead of vanishing from it.
            observations.AddRange(shares.Keys.Where(k => !arms.ContainsKey(k)).Order(StringComparer.Ordinal).Select(k => new VariantObservation(k, 0, 0)));
        }

        // Fewer than two arms with entrants is "no verdict yet" — unless the planned arms above show the split broken: one
        // arm with every entrant of a planned split, far past chance, is the plainest sample-ratio mismatch there is.
        var planned = shares is not null && !weightsChanged;
        if (observations.All(o => o.Recipients == 0) || observations.Count(o => o.Recipients > 0 || planned) < 2)
        {
            return null;
        }

        var control = observations.Any(o => o.Name == "control") ? "control" : observations.Select(o => o.Name).Order(StringComparer.Ordinal).First();
        var verdict = ExperimentAnalysis.Evaluate(journeyId, observations, control, settings, shares, checkSampleRatio: !weightsChanged);
        return observations.Count(o => o.Recipients > 0) >= 2 || verdict.SampleRatio.Mismatch ? verdict : null;

        static bool SameWeights(SplitStep a, SplitStep b) =>
            a.ControlWeight == b.ControlWeight && a.Variants.Count == b.Variants.Count
            && a.Variants.All(v => b.Variants.Any(w => w.Name == v.Name && w.Weight == v.Weight));
    }

    /// <summary>
    /// The verdict of the global control group for one conversion definition: people held out of all marketing against
    /// everyone else — the lift of messaging as a whole. <see langword="null"/> while the group is off or empty (an empty group that chance no longer explains is a verdict: a sample-ratio mismatch).
    /// </summary>
    /// <param name="conversionId">The conversion definition (default <c>order</c>).</param>
    /// <param name="settings">Confidence, mode and thresholds; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<ExperimentVerdict?> GetGlobalControlVerdictAsync(string conversionId = "order", ExperimentSettings? settings = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(conversionId);
        var share = _options.Measurement.GlobalControlShare;
        if (share <= 0)
        {
            return null;
        }

        var rows = await _store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = MeasurementRecorder.GlobalJourney, MetricPrefix = "global:", Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false);
        VariantObservation Arm(string group) => new(
            group,
            rows.Where(r => r.Key.Variant == group && r.Key.Metric == MeasurementRecorder.GlobalAssigned).Sum(r => r.Count),
            rows.Where(r => r.Key.Variant == group && r.Key.Metric == MeasurementRecorder.GlobalConverted + conversionId).Sum(r => r.Count),
            rows.Where(r => r.Key.Variant == group && r.Key.Metric == MeasurementRecorder.GlobalConverted + conversionId).Sum(r => r.Sum),
            rows.Where(r => r.Key.Variant == group && r.Key.Metric == MeasurementRecorder.GlobalRevenueSquares + conversionId).Sum(r => r.Sum));
        var arms = new[] { Arm("control"), Arm("treatment") };
        // An empty group is "no verdict yet" while chance explains it; a group nobody was assigned to while the other
        // fills up far past chance is a verdict — a sample-ratio mismatch (a broken bucketing).
        if (arms.All(a => a.Recipients == 0))
        {
            return null;
        }

        // Audit U86: the split is checked against the share in force at each assignment (the rows' step): after a change of
        // GlobalControlShare during the test the expected control share is the assignments' mix of the shares, not the
        // newest one (which flagged a healthy split as a mismatch). Rows from before the share was kept read as today's.
        var expected = ExpectedControlShare(rows, share);
        var planned = new Dictionary<string, double> { ["control"] = expected, ["treatment"] = 1 - expected };
        var verdict = ExperimentAnalysis.Evaluate(MeasurementRecorder.GlobalJourney, [.. arms.Select(a => a with { Conversions = Math.Min(a.Conversions, a.Recipients) })], "control", settings,
            planned, checkSampleRatio: true, SharePeriodsSampleRatio(rows, share, arms, planned, (settings ?? new ExperimentSettings()).SampleRatioThreshold));
        verdict = verdict with { PeopleInBothGroups = Math.Max(0, rows.Where(r => r.Key.Metric == MeasurementRecorder.GlobalInBoth).Sum(r => r.Count)) };
        return arms.All(a => a.Recipients > 0) || verdict.SampleRatio.Mismatch ? verdict : null;
    }

    // Review of U86: the check against the mix of shares alone loses a split broken in one period: 1,000 people at a 1%
    // hold-out with 50 in control (p ≈ 1e-20 on its own) read p ≈ 0.04 beside 1,000 healthy ones at 50%, and a split broken
    // both ways can match the mix exactly. With assignments under two or more shares, each period is also checked against
    // its own share (the same test, exact where an arm expects fewer than 5), and the smallest p-value of the pooled check
    // and the periods' is Bonferroni-corrected for their number: no more false alarms than threshold, by the union bound.
    // Null (the pooled check alone) with one period, or when a period's count is negative (a merge by an older process
    // un-counted its stepless row: only the totals are sound).
    private static SampleRatioCheck? SharePeriodsSampleRatio(IReadOnlyList<MeasurementRow> rows, double current, VariantObservation[] arms, Dictionary<string, double> planned, double threshold)
    {
        var periods = new SortedDictionary<double, (long Control, long Treatment)>();
        foreach (var r in rows)
        {
            if (r.Key.Metric != MeasurementRecorder.GlobalAssigned || r.Key.Variant is not ("control" or "treatment"))
            {
                continue;
            }

            var s = ShareOf(r, current);
            var (c, t) = periods.GetValueOrDefault(s);
            periods[s] = r.Key.Variant == "control" ? (c + r.Count, t) : (c, t + r.Count);
        }

        if (periods.Values.Count(p => p.Control + p.Treatment != 0) < 2 || periods.Values.Any(p => p.Control < 0 || p.Treatment < 0))
        {
            return null;
        }

        var worst = ExperimentAnalysis.SampleRatio(arms, planned, threshold);
        var tests = 1;
        foreach (var (s, (c, t)) in periods)
        {
            if (c + t == 0)
            {
                continue;
            }

            tests++;
            var check = ExperimentAnalysis.SampleRatio([new VariantObservation("control", c, 0, 0, 0), new VariantObservation("treatment", t, 0, 0, 0)],
                new Dictionary<string, double> { ["control"] = s, ["treatment"] = 1 - s }, threshold);
            if (check.PValue < worst.PValue)
            {
                worst = check;
            }
        }

        var p = Math.Min(1, tests * worst.PValue);
        return new SampleRatioCheck(worst.ChiSquare, worst.DegreesOfFreedom, p, p < threshold);
    }

    // The share an assignment row was counted under (its step); a row from before the share was kept reads as today's.
    private static double ShareOf(MeasurementRow r, double current) =>
        r.Key.StepId is { } step && step.StartsWith(MeasurementRecorder.SharePrefix, StringComparison.Ordinal)
        && double.TryParse(step.AsSpan(MeasurementRecorder.SharePrefix.Length), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
        && parsed is > 0 and <= 0.5 ? parsed : current;

    // Σ n_s·s / Σ n_s over the assignment rows by the share they were made under (n_s both groups together). The control
    // count is then a sum of binomials whose variance is at most that of one binomial at this mean, so Pearson's check
    // against it raises no more false alarms than with one share, and still finds a broken bucketing.
    private static double ExpectedControlShare(IReadOnlyList<MeasurementRow> rows, double current)
    {
        double people = 0, expectedControl = 0;
        foreach (var r in rows)
        {
            if (r.Key.Metric != MeasurementRecorder.GlobalAssigned)
            {
                continue;
            }

            var s = ShareOf(r, current);
            people += r.Count;
            expectedControl += r.Count * s;
        }

        return people > 0 && expectedControl > 0 ? Math.Clamp(expectedControl / people, double.Epsilon, 0.5) : current;
    }

    /// <summary>
    /// Auto-winner: evaluates a journey's split and, when its verdict names a winner, publishes the journey's next version
    /// in which new entrants go to the winner (the other arms keep a weight of one in a million so their steps stay
    /// reachable; the hold-out is dropped), with the evidence in the version's description. People already assigned keep
    /// their variant; running instances finish on their version.
    /// </summary>
    /// <param name="journeyId">The journey.</param>
    /// <param name="settings">Confidence, minimum sample, mode; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read and the publication.</param>
    /// <returns>The verdict (its <see cref="ExperimentVerdict.Winner"/> set when a new version was published), or <see langword="null"/> without arms.</returns>
    public async Task<ExperimentVerdict?> DecideExperimentAsync(string journeyId, ExperimentSettings? settings = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(journeyId);
        ThrowIfDisposed();
        var verdict = await GetExperimentVerdictAsync(journeyId, settings, cancellationToken).ConfigureAwait(false);
        if (verdict?.Winner is not { } winner || _definitions.Journeys.FindLatest(journeyId)?.Definition is not { } current
            || current.Steps.OfType<SplitStep>().FirstOrDefault() is not { } split || split.Variants.All(v => v.Name != winner))
        {
            return verdict;
        }

        var others = split.Variants.Count - 1;
        if (split.ControlWeight is null && split.Variants.All(v => v.Weight == (v.Name == winner ? JourneyDefinitionValidator.MaxSplitWeight - others : 1)))
        {
            return verdict; // already decided for this winner: deciding again publishes nothing
        }

        var decided = split with
        {
            Variants = [.. split.Variants.Select(v => v with { Weight = v.Name == winner ? JourneyDefinitionValidator.MaxSplitWeight - others : 1 })],
            ControlWeight = null,
        };
        var next = current with
        {
            Version = current.Version + 1,
            Steps = [.. current.Steps.Select(s => ReferenceEquals(s, split) ? decided : s)],
            Description = $"Experiment decided {_time.GetUtcNow():u}: {verdict.Evidence}",
        };
        await PublishJourneyAsync(next, cancellationToken).ConfigureAwait(false);
        LogExperimentDecided(_logger, journeyId, winner, next.Version);
        return verdict;
    }

    private ITimer? _decideTimer;

    // Automatic decisions (Measurement.DecideExperimentsEvery): a timer on the engine's clock, so tests drive it.
    private void StartAutoDecisions()
    {
        if (_options.Measurement.DecideExperimentsEvery is { } every)
        {
            _decideTimer = _time.CreateTimer(_ => _ = DecideExperimentsInBackgroundAsync(), null, every, every);
        }
    }

    /// <summary>Decides every loaded journey's split once (what the timer runs); returns the journeys that got a new version.</summary>
    internal async Task<IReadOnlyList<string>> DecideExperimentsAsync(CancellationToken cancellationToken = default)
    {
        var decided = new List<string>();
        foreach (var journey in _definitions.Journeys.Latest.Select(j => j.Definition).Where(d => d.Steps.OfType<SplitStep>().Any()).ToList())
        {
            var before = journey.Version;
            await DecideExperimentAsync(journey.Id, _options.Measurement.AutoDecideSettings, cancellationToken).ConfigureAwait(false);
            if (_definitions.Journeys.FindLatest(journey.Id)?.Definition.Version > before)
            {
                decided.Add(journey.Id);
            }
        }

        return decided;
    }

    private async Task DecideExperimentsInBackgroundAsync()
    {
        LeaveWorker();
        try
        {
            if (_disposed == 0)
            {
                await DecideExperimentsAsync().ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _disposed) != 0)
        {
            // Disposal began during the tick: nothing to decide any more.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogAutoDecisionFailed(_logger, Privacy.ScrubbedException.Of(ex));
        }
    }

    [Microsoft.Extensions.Logging.LoggerMessage(61, Microsoft.Extensions.Logging.LogLevel.Error, "Deciding experiments automatically failed; the next tick tries again")]
    private static partial void LogAutoDecisionFailed(Microsoft.Extensions.Logging.ILogger logger, Exception exception);

    [Microsoft.Extensions.Logging.LoggerMessage(60, Microsoft.Extensions.Logging.LogLevel.Information, "Journey {JourneyId}: variant {Winner} won its experiment; version {Version} sends new entrants to it")]
    private static partial void LogExperimentDecided(Microsoft.Extensions.Logging.ILogger logger, string journeyId, string winner, int version);

    private CustomerEvent Measure(CustomerProfile p, CustomerEvent e, DateTimeOffset now) =>
        MeasurementRecorder.OnEvent(p, e, now, _options.Measurement, _options.Currency, ReachHash);

    // A marketing message to a person in the global control group is withheld, recorded like any skipped message.
    private SendResult? HeldOutOfMarketing(CustomerProfile p, MessageRequest request, DateTimeOffset now)
    {
        if (!MeasurementRecorder.HoldsOut(p, request, request.Channels[0], now, _options.Measurement))
        {
            return null;
        }

        const string reason = "held out: the person is in the global control group";
        RememberKey(p, request.Key);
        ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":skipped", EventTypes.MessageSkipped, "system", now, reason), _options.TimelineLength);
        (p.PendingSkips ??= []).Add("held_out"); // counted after the commit (CountSkipped)
        return new SendResult(request.Key, SendStatus.Skipped, null, null, reason);
    }

    // A journey's reads answer zeros for an id nobody entered: for an id no journey has, that hides a typo in the host's
    // code or its test (the test kit's statistics then "pass" as nobody entered). A removed journey's rows still answer.
    // Any row under the id counts, not only the counters read: a journey without a split has no arms, and a message's
    // touches may name a journey id (a host's own sends) that has no journey counters.
    private async ValueTask ThrowIfUnknownJourneyAsync(string journeyId, int rows, CancellationToken cancellationToken)
    {
        if (rows == 0 && _definitions.Journeys.FindLatest(journeyId) is null
            && (await _store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = journeyId, Limit = 1 }, cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            var loaded = _definitions.Journeys.Ids.Order(StringComparer.Ordinal).Take(20).ToList();
            throw new ArgumentException(
                $"No journey '{Clip(journeyId)}' is loaded, and the store holds no statistics under that id. Loaded journeys: " +
                (loaded.Count == 0 ? "none." : string.Join(", ", loaded) + (_definitions.Journeys.Ids.Count() > loaded.Count ? ", …" : ".")),
                nameof(journeyId));
        }

        // The id as the host sent it, up to 200 characters (never half a surrogate pair).
        static string Clip(string id) => id.Length <= 200 ? id : id[..(char.IsHighSurrogate(id[199]) ? 199 : 200)] + "…";
    }
}
