using Omnichannel.Sdk.Journeys;

namespace Omnichannel.Sdk;

// Audit U88: a merge of two profiles that were each assigned an arm of one split.
internal static partial class ProfileCore
{
    /// <summary>
    /// Before <paramref name="theirs"/> is folded into the target: for each split both profiles were assigned in, the person
    /// is one recipient of the experiment, in the arm assigned first (<see cref="VariantAssignment.Before"/>). Each profile
    /// had counted its first entry in its arm; the other arm's entry is taken off as a repeat (with its conversion, which
    /// counts once, in her kept arm), and the other side's entries still watched or running become repeats of the kept
    /// arm, so an order after the merge converts her once, there.
    /// </summary>
    private static void MergeArms(CustomerProfile target, CustomerProfile other, JourneyState theirs, DateTimeOffset at, Measurement.MeasurementOptions? measurement)
    {
        if (target.JourneyData is not { } ours || ours.Assignments.Count == 0 || theirs.Assignments.Count == 0)
        {
            return;
        }

        foreach (var (key, their) in theirs.Assignments)
        {
            if (!ours.Assignments.TryGetValue(key, out var mine))
            {
                continue;
            }

            var journeyId = key[..key.LastIndexOf('|')];
            var theirsKept = VariantAssignment.Before(their, mine);
            var (kept, keptSide, lost, lostSide) = theirsKept ? (their, theirs, mine, ours) : (mine, ours, their, theirs);
            var keptConverted = Measured(keptSide, journeyId, kept.Variant);
            var lostConverted = Measured(lostSide, journeyId, lost.Variant);

            // Her entry on the other side is a later entry of the same person: off the recipients of its arm.
            Count(JourneyRunner.VariantCounter(lost.Variant, JourneyRunner.RepeatEntered));
            if (lostConverted)
            {
                Count(JourneyRunner.VariantCounter(lost.Variant, JourneyRunner.RepeatConverted));
                if (!keptConverted)
                {
                    Count(JourneyRunner.VariantCounter(kept.Variant, "converted")); // she converted: once, in her arm
                }
            }

            if (lost.Variant != kept.Variant)
            {
                MoveArmRevenue(target, theirsKept ? target : other, journeyId, lost.Variant, kept.Variant);
            }

            // Her entries on the other side are later entries of hers in the arm she keeps: a goal they reach converts her
            // first entry there (once), not the other arm, whichever of her entries the goal event is credited to.
            var splitId = key[(key.LastIndexOf('|') + 1)..];
            foreach (var instance in lostSide.Instances.Where(i => i.JourneyId == journeyId && i.Variant is not null))
            {
                // Audit U92: the arm it took at this split, not the last split's (a second split, nested or after the arms
                // joined, may name its arms alike or not); an older document has only the last.
                var arm = instance.Arms is { } arms ? arms.GetValueOrDefault(splitId) : instance.Variant;
                if (lost.Variant != kept.Variant && arm == lost.Variant)
                {
                    // Audit U89: on the other arm's own steps it would go on sending that arm's content (the runner ends it).
                    ours.LeftArms.Add((instance, splitId, kept.Variant));
                }

                if (arm is not null && instance.Arms is not null)
                {
                    instance.Arms[splitId] = kept.Variant;
                }

                (instance.RepeatEntry, instance.Variant) = (true, kept.Variant);
            }

            // Audit U92: a message the other arm planned before the merge and still holds (quiet hours, a retry) would go out
            // when due, though its instance has ended: the runner withdraws it unless her kept arm reaches its step too.
            foreach (var held in lostSide.HeldMessages.Where(h => h.JourneyId == journeyId && h.Arms is not null && h.Arms.ContainsKey(splitId)))
            {
                if (lost.Variant != kept.Variant && held.Arms![splitId] == lost.Variant)
                {
                    ours.LeftHeld.Add((held, splitId, kept.Variant));
                }

                held.Arms![splitId] = kept.Variant;
            }

            foreach (var pending in lostSide.PendingConversions.Where(c => c.JourneyId == journeyId && c.Variant is not null))
            {
                (pending.RepeatEntry, pending.Variant) = (true, kept.Variant);
            }

            void Count(string counter)
            {
                ours.Count(journeyId, counter);
                Measurement.MeasurementRecorder.Journey(target, journeyId, counter, 1, at, measurement);
            }
        }

        // The revenue the other arm counted for her orders moves to her kept arm with them (the rows each order keeps of
        // what it added follow, so that its later update or return is taken off where it now counts).
        static void MoveArmRevenue(CustomerProfile target, CustomerProfile lostProfile, string journeyId, string from, string to)
        {
            string[] metrics = [Metric(from, "revenue"), Metric(from, "revenue_sq")];
            foreach (var (orderKey, order) in lostProfile.OrderConversions.ToList())
            {
                if (order.JourneyRows is not { } rows || !rows.Exists(r => r.Key.JourneyId == journeyId && metrics.Contains(r.Key.Metric)))
                {
                    continue;
                }

                var moved = new List<Measurement.ConversionDelta>(rows.Count);
                foreach (var r in rows)
                {
                    if (r.Key.JourneyId != journeyId || !metrics.Contains(r.Key.Metric))
                    {
                        moved.Add(r);
                        continue;
                    }

                    var key = r.Key with { Metric = r.Key.Metric == metrics[0] ? Metric(to, "revenue") : Metric(to, "revenue_sq") };
                    target.PendingMeasurements.Add(r.Key, -r.Count, -r.Sum);
                    target.PendingMeasurements.Add(key, r.Count, r.Sum);
                    moved.Add(r with { Key = key });
                }

                lostProfile.OrderConversions[orderKey] = order with { JourneyRows = moved };
            }
        }

        static string Metric(string variant, string what) => Measurement.MeasurementMetrics.JourneyPrefix + JourneyRunner.VariantCounter(variant, what);

        // Whether a profile's first entry in the arm counted a conversion for the experiment (a later entry's is taken off).
        static bool Measured(JourneyState side, string journeyId, string variant) =>
            side.Counters.GetValueOrDefault(journeyId + "|" + JourneyRunner.VariantCounter(variant, "converted"))
            - side.Counters.GetValueOrDefault(journeyId + "|" + JourneyRunner.VariantCounter(variant, JourneyRunner.RepeatConverted)) > 0;
    }
}
