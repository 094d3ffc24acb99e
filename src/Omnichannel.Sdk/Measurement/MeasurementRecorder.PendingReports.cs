using System.Text.Json;

namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// Audit U81: an outcome report naming only the provider's id (<c>provider_message_id</c>, no <c>message_id</c>) that
/// this profile does not know yet, kept until the send is recorded with that id (or a merge brings the message): the
/// provider's status callback is not ordered after its API's answer (twilio-labs/twilio-firebase-extensions#21,
/// botpress/botpress#15029). What the report said, as it arrived; stored in the profile document
/// (<c>pendingReports</c>), bounded (<see cref="MeasurementRecorder.MaxPendingReports"/>, oldest first).
/// </summary>
/// <param name="EventId">The report's event id.</param>
/// <param name="Type">Its type (<c>message.delivered</c>, <c>message.opened</c>…).</param>
/// <param name="Timestamp">Its own time: it counts at this time when placed.</param>
/// <param name="Channel">The channel it was posted on (<c>server</c>, <c>sms</c>…).</param>
/// <param name="Properties">Its properties as it arrived.</param>
/// <param name="ProviderId">The provider's id it names.</param>
/// <param name="Historical">Whether it was history (it starts no journey).</param>
internal sealed record PendingReport(string EventId, string Type, DateTimeOffset Timestamp, string Channel, JsonElement Properties, string ProviderId, bool Historical = false)
{
    /// <summary>The report as an event, as the profile heard it when it arrived.</summary>
    public CustomerEvent AsArrived() => new()
    {
        Id = EventId,
        Type = Type,
        Timestamp = Timestamp,
        Channel = Channel,
        Identifiers = [],
        Properties = Properties,
        Context = Historical ? new EventContext { Historical = true } : null,
    };
}

/// <summary>A pending report placed on its message (counted by measurement in this unit), for the journeys to hear.</summary>
/// <param name="AsArrived">What the journeys heard when it arrived.</param>
/// <param name="Placed">The report with its message's key and attribution data (what they hear now).</param>
/// <param name="Repeated">Whether its message already held this outcome (a webhook sent again): it starts no journey.</param>
internal sealed record PlacedReport(CustomerEvent AsArrived, CustomerEvent Placed, bool Repeated);

internal static partial class MeasurementRecorder
{
    /// <summary>
    /// Most reports a profile keeps waiting for their send's record (<see cref="CustomerProfile.PendingReports"/>): the
    /// oldest (by their own time) go first.
    /// </summary>
    internal const int MaxPendingReports = 50;

    /// <summary>
    /// How long after its own time a report waits for its send's record at most: one older than this (against the newest
    /// report kept) is dropped when another is kept. A send is recorded within seconds of the provider's answer, or after
    /// the outbox's retries; a report that waited this long names a message this SDK did not send.
    /// </summary>
    internal static readonly TimeSpan PendingReportLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// Review of U81: most UTF-8 bytes of properties the kept reports hold together (64 KiB): the oldest (by their own time)
    /// go first, the newest is always kept. A host that posts the provider's whole payload as properties (an SES
    /// notification carries the message's headers, kilobytes) for messages it sent itself and reports only by the
    /// provider's id keeps the list full for good; without this bound the profile's document grew to 50 times the
    /// largest properties allowed (<see cref="OmnichannelOptions.MaxPropertiesBytes"/>), written with every event of hers.
    /// </summary>
    internal const int MaxPendingReportBytes = 64 * 1024;

    /// <summary>
    /// The provider's id of an outcome report that names only it (no <c>message_id</c>): one <see cref="OfItsMessage"/>
    /// could not place because this profile does not know the id yet. Null for every other event (a type switch first: an
    /// ordinary event pays one comparison of its type).
    /// </summary>
    internal static string? AwaitsItsRecord(CustomerEvent e)
    {
        switch (e.Type)
        {
            case EventTypes.MessageDelivered or EventTypes.MessageOpened or EventTypes.MessageClicked or EventTypes.MessageFailed
                or EventTypes.MessageBounced or EventTypes.MessageUnsubscribed:
                break;
            default:
                return null;
        }

        // Review of U81: "message_id": null (a host's handler that looked its row up by the provider's id and did not find
        // it yet) names no message, as OfItsMessage reads it: kept too.
        return e.Properties.ValueKind == JsonValueKind.Object && WellKnownProperties.String(e.Properties, "message_id") is null
            && WellKnownProperties.String(e.Properties, "provider_message_id") is { Length: > 0 } providerId
            ? providerId
            : null;
    }

    /// <summary>
    /// Review of U81: whether a report <see cref="AwaitsItsRecord"/> named repeats one already waiting for the same
    /// message (the provider's webhook sent again under a new event id before the send was recorded): what
    /// <see cref="IsRepeatedOutcome"/> answers once the message is known, so it starts no journey again. A click repeats
    /// only a click on the same link, an unsubscribe only one from the same topic; a bounce is never a repeat.
    /// </summary>
    private static bool RepeatsAWaitingReport(CustomerProfile p, CustomerEvent e)
    {
        if (!p.HasPendingReports || e.Type == EventTypes.MessageBounced || AwaitsItsRecord(e) is not { } providerId)
        {
            return false;
        }

        var detail = Touch.OutcomeDetail(e);
        foreach (var r in p.PendingReports)
        {
            if (r.EventId != e.Id && r.Type == e.Type && string.Equals(r.ProviderId, providerId, StringComparison.Ordinal)
                && (detail is null || detail == Touch.OutcomeDetail(r.AsArrived())))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Keeps a report <see cref="AwaitsItsRecord"/> named (its event id once), in order of its own time; drops those past
    /// <see cref="PendingReportLifetime"/> and the oldest past <see cref="MaxPendingReports"/> or
    /// <see cref="MaxPendingReportBytes"/>.
    /// </summary>
    internal static void KeepUntilRecorded(CustomerProfile p, CustomerEvent e, string providerId)
    {
        var reports = p.PendingReports;
        if (reports.FindIndex(r => r.EventId == e.Id) >= 0)
        {
            return;
        }

        var report = new PendingReport(e.Id, e.Type, e.Timestamp, e.Channel, e.Properties.Clone(), providerId, e.Context is { Historical: true });
        var at = reports.FindLastIndex(r => r.Timestamp <= e.Timestamp) + 1;
        reports.Insert(at, report);
        var newest = reports[^1].Timestamp;
        reports.RemoveAll(r => r.Timestamp + PendingReportLifetime < newest);
        if (reports.Count > MaxPendingReports)
        {
            reports.RemoveRange(0, reports.Count - MaxPendingReports);
        }

        var bytes = 0;
        for (var i = reports.Count - 1; i >= 0; i--)
        {
            bytes += System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(reports[i].Properties).Length;
            if (bytes > MaxPendingReportBytes && i < reports.Count - 1)
            {
                reports.RemoveRange(0, i + 1); // this one and every older one
                break;
            }
        }
    }

    /// <summary>
    /// Places each kept report whose message this profile now knows by the provider's id (the send was just recorded
    /// with it, or a merge brought the message): it is measured as it would have been had it come after the record — its
    /// count at its own time, its touch's instants (and so the reaches that break a soft-bounce run), once per message
    /// (<see cref="OnOutcome"/>) — and is removed, so it is placed once. The placed reports are added to
    /// <see cref="CustomerProfile.ReportsPlaced"/> for the unit's journeys. Nothing is made when none is kept.
    /// </summary>
    internal static void PlacePendingReports(CustomerProfile p, MeasurementOptions options)
    {
        if (!p.HasPendingReports)
        {
            return;
        }

        var reports = p.PendingReports;
        for (var i = 0; i < reports.Count;)
        {
            var r = reports[i];
            if (p.Touches.FindIndex(t => string.Equals(t.ProviderId, r.ProviderId, StringComparison.Ordinal)) < 0)
            {
                i++;
                continue;
            }

            reports.RemoveAt(i);
            var asArrived = r.AsArrived();
            // A machine's open or click (a provider's flag, or the scanner window now that the hand-over is known) counts
            // nothing here either (audit U82).
            var placed = MachineEngagement.Classify(p, OfItsMessage(p, asArrived), options);
            var repeated = IsRepeatedOutcome(p, placed);
            placed = MachineEngagement.Is(placed) ? OfMachine(p, placed) : OnOutcome(p, placed, options);
            (p.ReportsPlaced ??= []).Add(new PlacedReport(asArrived, placed, repeated));
        }
    }

    /// <summary>A merge: the other profile's kept reports join the target's (by event id once, in order of time, bounded).</summary>
    internal static void MergePendingReports(CustomerProfile target, CustomerProfile other)
    {
        if (!other.HasPendingReports)
        {
            return;
        }

        foreach (var r in other.PendingReports)
        {
            KeepUntilRecorded(target, r.AsArrived(), r.ProviderId);
        }
    }
}
