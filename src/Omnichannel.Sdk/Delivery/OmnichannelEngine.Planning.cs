using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Delivery, planning: a request passes the policies (consent, suppression, caps, quiet hours, the global control group) and is rendered; its outbox entry is committed with the profile.
public sealed partial class OmnichannelEngine
{
    /// <inheritdoc />
    public async ValueTask<SendResult> SendAsync(Identifier recipient, MessageRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Key);
        ThrowIfDisposed();
        if (request.Channels is not { Count: > 0 } channels || channels.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("A message request needs at least one channel (Channels), none of them null or blank.", nameof(request));
        }

        if (request.TemplateId is null)
        {
            throw new ArgumentException("A message request needs a template id (TemplateId).", nameof(request));
        }

        if ((RequestTextProblem(request) ?? ChannelProblem(request.Channels)) is { } problem)
        {
            throw new ArgumentException(problem, nameof(request));
        }

        if (Normalize(recipient) is not { } id)
        {
            return new SendResult(request.Key, SendStatus.UnknownProfile, null, null, "no profile holds the identifier");
        }

        // Audit U99: an erasure makes the store forget the keys of her messages (a host may build one from her address) and
        // leaves each key's hash: the key is still accepted once, ever, whoever it is sent to now (she may be back). Read at
        // once with the owner: a store that batches concurrent reads answers both in one round trip.
        var erasedKey = _store.FindTombstonesAsync(_hasher.AllFactHashes(Privacy.Erasure.MessageKeyFact(request.Key)), cancellationToken).AsTask();
        string? profileId;
        try
        {
            profileId = (await _store.ResolveIdentifiersAsync([id], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(id);
        }
        catch
        {
            _ = erasedKey.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }

        if ((await erasedKey.ConfigureAwait(false)).Count > 0)
        {
            return new SendResult(request.Key, SendStatus.Duplicate, null, null, "this key was already accepted, for a profile since erased; nothing was queued");
        }

        if (profileId is null)
        {
            return new SendResult(request.Key, SendStatus.UnknownProfile, null, null, "no profile holds the identifier");
        }

        return await SendToProfileAsync(profileId, request, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<SendResult> SendToProfileAsync(string profileId, MessageRequest request, CancellationToken cancellationToken)
    {
        var effect = await EnqueueProfileWork(profileId, async (p, now) =>
        {
            var (result, entry) = await PlanMessageAsync(p, request, now, cancellationToken).ConfigureAwait(false);
            return new ChangeEffect { Result = result, Outbox = entry is null ? [] : [entry] };
        }, cancellationToken).ConfigureAwait(false);

        return effect switch
        {
            // The key is held by another message (another person's, or one forgotten by her profile): nothing was queued.
            { Status: UnitStatus.KeyTaken } => new SendResult(request.Key, SendStatus.Duplicate, null, null, "this key was already accepted for another message; nothing was queued"),
            { Effect.Result: SendResult r } => r,
            { Status: UnitStatus.Gone } => new SendResult(request.Key, SendStatus.UnknownProfile, null, null, "the profile was erased"),
            _ => throw new InvalidOperationException($"The message '{request.Key}' could not be committed; the store kept failing. It is safe to send the same request again."),
        };
    }

    // The delivery policies and rendering for one message on a loaded profile; the entry goes out with the profile's commit.
    private async ValueTask<(SendResult Result, OutboxEntry? Entry)> PlanMessageAsync(CustomerProfile p, MessageRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var suppressed = new Dictionary<Identifier, bool>();
        if (p.MessageKeys.Contains(request.Key))
        {
            return (new SendResult(request.Key, SendStatus.Duplicate, null, null, "this key was already accepted"), null);
        }

        if (HeldOutOfMarketing(p, request, now) is { } heldOut)
        {
            return (heldOut, null); // the global control group
        }

        List<(Identifier, IReadOnlyList<string>)>? addressHashes = null;
        foreach (var c in request.Channels)
        {
            if (DeliveryPlanner.Address(p, c) is { } a && DeliveryPlanner.AddressIdentifier(c, a) is { } aid && !suppressed.ContainsKey(aid))
            {
                var hashes = _hasher.AllHashes(aid);
                (addressHashes ??= []).Add((aid, hashes)); // dispatch asks the list again with them (PlannedPayload)
                suppressed[aid] = await IsOnSuppressionListAsync(hashes, cancellationToken).ConfigureAwait(false);
            }

            if (DeliveryPlanner.Address(p, c) is { } channelAddress)
            {
                // A phone's bounce per channel; audit U84: and, on any channel, a soft-bounce run's entry.
                var onChannel = new Identifier(c, channelAddress);
                suppressed[onChannel] = suppressed.GetValueOrDefault(onChannel) || await BouncedOnChannelAsync(c, channelAddress, cancellationToken).ConfigureAwait(false);
            }
        }

        var decision = DeliveryPlanner.Decide(
            p,
            request,
            now,
            _options.Delivery,
            i => suppressed.GetValueOrDefault(i),
            (channel, address) => IsSuppressedOnProfile(p, channel, address) || suppressed.GetValueOrDefault(new Identifier(channel, address)));
        var candidates = new List<OutboxCandidate>();
        var passedOver = new List<string>(decision.PassedOver);
        foreach (var c in decision.Candidates)
        {
            OutboundMessage? message;
            var unsubscribeUrl = UnsubscribeUrl(p.Id, request.Key, c.Channel, request.Topic, request.Class);
            try
            {
                message = _delivery.Renderer is { } renderer
                    ? await RenderBoundedAsync(renderer, WithUnsubscribeUrl(request, unsubscribeUrl), c.Channel, c.Address, p, now, cancellationToken).ConfigureAwait(false)
                    : null;
            }
            catch (Exception ex) when (NotCancelledBy(ex, cancellationToken))
            {
                passedOver.Add($"{c.Channel}: rendering failed: {ex.Message}");
                continue;
            }

            if (message is null)
            {
                // Without a renderer no template can render: say that, not that this one has nothing for the channel.
                passedOver.Add(_delivery.Renderer is null
                    ? $"{c.Channel}: no templates are registered (call UseTemplates(source) on AddOmnichannel(...)), so template '{request.TemplateId}' cannot render"
                    : $"{c.Channel}: the template has nothing for this channel");
                continue;
            }

            if (RecipientProblem(message, c.Channel, c.Address, p) is { } elsewhere)
            {
                passedOver.Add($"{c.Channel}: {elsewhere}");
                continue;
            }

            if (DeliveryFaults.TooLarge(message, _options.Delivery) is { } tooLarge)
            {
                passedOver.Add($"{c.Channel}: {tooLarge}");
                continue;
            }

            candidates.Add(OutboxPayload.Candidate(c.Channel, c.Address, WithUnsubscribeHeaders(message, unsubscribeUrl) with { MessageId = request.Key, ProfileId = p.Id, Topic = request.Topic }));
        }

        RememberKey(p, request.Key);
        if (candidates.Count == 0)
        {
            var reason = decision.SkipReason ?? string.Join("; ", passedOver);
            ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":skipped", EventTypes.MessageSkipped, "system", now, reason), _options.TimelineLength);
            (p.PendingSkips ??= []).Add("skipped"); // counted after the commit (CountSkipped)
            LogMessageSkipped(_logger, request.Key, Privacy.PersonalDataScrubber.Scrub(reason) ?? string.Empty);
            return (new SendResult(request.Key, SendStatus.Skipped, null, null, reason), null);
        }

        Measurement.MeasurementRecorder.Queued(p, request, candidates[0].Channel, now, _options.Measurement, ReachHash);
        if (request.Class == MessageClass.Marketing)
        {
            p.MessageLog.Add(new SentMessage(candidates[0].Channel, request.Topic, decision.DueAt, request.Key));
            PruneMessageLog(p, now);
        }
        else if (decision.DueAt > now)
        {
            // Held for quiet hours: logged (no cap counts it) so that a zone move brings it forward, as a marketing one is.
            p.MessageLog.Add(new SentMessage(candidates[0].Channel, request.Topic, decision.DueAt, request.Key) { Transactional = true });
        }

        var payload = new OutboxPayload(request.Key, p.Id, request.Topic, request.Class, candidates)
        {
            Request = decision.DueAt > now ? request : null,
            QueuedAt = now,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
            AddressHashes = addressHashes,
        };
        var entry = new OutboxEntry
        {
            MessageKey = request.Key,
            ProfileId = p.Id,
            DueAt = decision.DueAt,
            Channel = candidates[0].Channel,
            Payload = RememberPlanned(payload),
        };
        if (_delivery.HasTransports && ClaimChannels is { } served && !served.Contains(candidates[0].Channel, StringComparer.Ordinal)
            && _channelsLeftToOthers.TryAdd(candidates[0].Channel, 0))
        {
            LogChannelLeftToOthers(_logger, candidates[0].Channel);
        }

        var summary = decision.DueAt > now ? $"queued for {decision.DueAt:u} (quiet hours)" : "queued";
        if (decision.DueAt > now)
        {
            LogMessageDeferred(_logger, request.Key, decision.DueAt);
        }

        ProfileCore.AddTimeline(p, new TimelineEntry(request.Key + ":queued", "message.queued", candidates[0].Channel, now, summary), _options.TimelineLength);
        return (new SendResult(request.Key, SendStatus.Queued, candidates[0].Channel, decision.DueAt, passedOver.Count == 0 ? null : string.Join("; ", passedOver)), entry);
    }

    /// <summary>
    /// The longest message key accepted, in bytes of UTF-8: a PostgreSQL B-tree entry holds at most 2,704 bytes, and the
    /// key is indexed as it is (outbox) and with a suffix (its outcome events' ids, <c>{key}:unsubscribed:{ticks}</c>).
    /// </summary>
    internal const int MaxMessageKeyBytes = 2000;

    /// <summary>
    /// How many of her newest marketing messages the log keeps whatever their age. A limit she sets later ("at most 2 a
    /// week") counts the messages she already received (audit U3); a limit of at most this many is then exact whatever
    /// its period, because only her newest <c>max</c> messages decide whether <c>max</c> fall inside a window.
    /// </summary>
    internal const int MessageLogKeptRegardlessOfAge = 32;

    /// <summary>
    /// Drops marketing messages no cap or limit in force can count any more (older than the longest window and a day), but
    /// never her <see cref="MessageLogKeptRegardlessOfAge"/> newest.
    /// </summary>
    private void PruneMessageLog(CustomerProfile p, DateTimeOffset now)
    {
        var keep = _options.Delivery.FrequencyCaps.Select(f => f.Window ?? TimeSpan.FromDays(2)).Append(p.Preferences?.Period ?? TimeSpan.Zero).Max();
        var cutoff = now - keep - TimeSpan.FromDays(1);
        if (p.MessageLog.Count <= MessageLogKeptRegardlessOfAge || !p.MessageLog.Exists(m => m.At < cutoff))
        {
            return;
        }

        var newest = p.MessageLog.Select(m => m.At).OrderDescending().ElementAt(MessageLogKeptRegardlessOfAge - 1);
        p.MessageLog.RemoveAll(m => m.At < cutoff && m.At < newest);
    }

    // What the host chose goes into every store as text: the key into the outbox and the remembered keys (and, with
    // ":sent", into the processed event ids), the template and channel into the measurement rows. A NUL cannot be
    // stored by PostgreSQL (every commit of the message failed, and was retried as a store fault), an unpaired surrogate
    // becomes U+FFFD in SQLite and PostgreSQL (two keys became one, and the second message was dropped as already
    // accepted), and a long key does not fit a PostgreSQL index entry. Refused here, for every store alike.
    private static string? RequestTextProblem(MessageRequest request)
    {
        if (JsonLimits.TextProblem(request.Key, controlsAllowed: false) is { } key)
        {
            return $"The message key {key}.";
        }

        if (System.Text.Encoding.UTF8.GetByteCount(request.Key) is var bytes and > MaxMessageKeyBytes)
        {
            return $"The message key is {bytes} bytes of UTF-8; at most {MaxMessageKeyBytes} are allowed.";
        }

        if (JsonLimits.TextProblem(request.TemplateId, controlsAllowed: false) is { } template)
        {
            return $"The template id {template}.";
        }

        for (var i = 0; i < request.Channels.Count; i++)
        {
            if (JsonLimits.TextProblem(request.Channels[i], controlsAllowed: false) is { } channel)
            {
                return $"Channels[{i}] {channel}.";
            }
        }

        return request.Topic is { } topic && JsonLimits.TextProblem(topic, controlsAllowed: false) is { } t ? $"The topic {t}." : null;
    }

    /// <summary>
    /// A channel that is not a channel name ("Email"), or that no transport serves and the SDK does not know ("emial"):
    /// a typo, on which every message would be skipped for "no address" or fail, quietly. A standard channel without a
    /// transport is allowed (its failure says how to register one). A channel named twice is refused too.
    /// </summary>
    private string? ChannelProblem(IReadOnlyList<string> channels)
    {
        for (var i = 0; i < channels.Count; i++)
        {
            if (UnservedChannel(channels[i], _delivery) is { } problem)
            {
                return $"Channels[{i}] {problem}.";
            }

            // As a journey's send step: a channel named twice was handed the message again after it had refused it, and a
            // retry went back to the first of the two (audit U46).
            if (channels.Take(i).Contains(channels[i], StringComparer.Ordinal))
            {
                return $"Channels[{i}] '{channels[i]}' appears twice in the fallback list.";
            }
        }

        return null;
    }

    /// <summary>What is wrong with a channel a message or a send step names, or <see langword="null"/> (see <see cref="ChannelProblem"/>).</summary>
    internal static string? UnservedChannel(string channel, DeliverySetup? delivery)
    {
        if (!EventValidator.ChannelPattern().IsMatch(channel))
        {
            return $"'{channel}' is not a valid channel name (expected a lower_case name such as email, sms, push: see ChannelNames){Suggestion(channel, delivery)}";
        }

        return ChannelNames.All.Contains(channel) || delivery?.For(channel).Count > 0
            ? null
            : $"'{channel}' is neither a standard channel (see ChannelNames) nor one a transport is registered for{Suggestion(channel, delivery)}; register one with AddTransport(name, \"{channel}\", ...)";
    }

    // The known channel nearest to a misspelt one (the same letters in another case, or at most two edits away).
    private static string Suggestion(string channel, DeliverySetup? delivery)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var known in ChannelNames.All.Concat(delivery?.Channels ?? []))
        {
            var distance = string.Equals(known, channel, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(known, channel.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (known, distance);
            }
        }

        return best is null ? string.Empty : $" (did you mean '{best}'?)";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static void RememberKey(CustomerProfile p, string key)
    {
        p.MessageKeys.Add(key);
        if (p.MessageKeys.Count > MaxMessageKeysPerProfile)
        {
            p.MessageKeys.RemoveRange(0, p.MessageKeys.Count - MaxMessageKeysPerProfile);
        }
    }

    // Why a message did not go out now is on her timeline too; the reasons name channels and topics, never addresses.
    [LoggerMessage(36, LogLevel.Information, "Message {MessageKey} was not sent: {Reason}")]
    private static partial void LogMessageSkipped(ILogger logger, string messageKey, string reason);

    [LoggerMessage(37, LogLevel.Information, "Message {MessageKey} waits for the end of quiet hours, until {DueAt:u}")]
    private static partial void LogMessageDeferred(ILogger logger, string messageKey, DateTimeOffset dueAt);
}
