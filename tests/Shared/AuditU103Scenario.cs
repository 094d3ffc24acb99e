using System.Globalization;
using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Audit U103: re-identification after an erasure, on any store. One person known by a customer id, an email, a phone and
/// two cookies, each starting on its own profile, gives traits, consent, orders, cart lines and a cart journey's wait under
/// random carriers in a random order, and is linked into one profile; she is erased through a random identifier, kept erased
/// or allowed back; the engine restarts on the same store; then random events carry her old identifiers (alone or beside new
/// ones), dated after the erasure or before it (a late delivery), or replay one of her events as it was sent. Whatever comes
/// back: every event dated before the erasure that carries an old identifier is refused; kept erased, so is every event
/// carrying one; no profile any identifier resolves to shows a value, order, product, consent source, event id or segment
/// membership of her erased life; nothing is sent to her old email or phone after the erasure.
/// </summary>
public static class AuditU103Scenario
{
    public static readonly Identifier Customer = Identifier.CustomerId("u103-ann");
    public static readonly Identifier Email = Identifier.Email("u103-ann@example.com");
    public static readonly Identifier Phone = Identifier.Phone("+14155550103");
    public static readonly Identifier Cookie1 = Identifier.AnonymousId("u103-k1");
    public static readonly Identifier Cookie2 = Identifier.AnonymousId("u103-k2");
    public static readonly Identifier[] Old = [Customer, Email, Phone, Cookie1, Cookie2];

    // New identifiers an event after the erasure may carry beside her old ones (her new cookie, a new address).
    public static readonly Identifier NewCookie = Identifier.AnonymousId("u103-new");
    public static readonly Identifier NewEmail = Identifier.Email("u103-new@example.com");
    public static readonly Identifier[] New = [NewCookie, NewEmail];

    /// <summary>Markers of her erased life: none may appear in anything read after the erasure.</summary>
    public static readonly string[] Markers = ["oldmark", "oldo-", "oldp-", "oldsrc", "old-e"];

    public static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    /// <summary>SplitMix64: a seed's next value (the generators of the other properties spread their ints the same way).</summary>
    private sealed class Mix(ulong seed)
    {
        private ulong _state = seed;

        public int Next(int bound)
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z % (ulong)bound);
        }
    }

    private sealed class TemplateIdRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = request.Data?["unsubscribe_url"]?.GetValue<string>() ?? request.TemplateId });
    }

    private static OmnichannelTestHost Host(IOmnichannelStore store, RecordingTransport email, RecordingTransport sms, DateTimeOffset at) =>
        OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/unsubscribe");
                o.CatchUpSegmentsAtStart = false;
                o.Segments.Add(SegmentJson.Parse("""{"id": "gold", "name": "gold", "rule": {"trait": "tier", "op": "eq", "value": "oldmark-gold"}}""").Value!);
                o.Segments.Add(SegmentJson.Parse("""{"id": "bought", "name": "bought", "rule": {"stat": "orderCount", "op": "gte", "value": 1}}""").Value!);
                o.Segments.Add(SegmentJson.Parse("""{"id": "email-ok", "name": "email-ok", "rule": {"reachable": "email"}}""").Value!);
                o.Journeys.Add(Journey.Define("u103-cart", "Cart")
                    .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                    .Steps(s => s.Delay("wait", "PT12H").Send("remind", [ChannelNames.Email, ChannelNames.Sms], "u103-cart", null, MessageClass.Transactional))
                    .Build());
            },
            start: at,
            store: store,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email).AddTransport("sms", sms));

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, Identifier[] ids, object? properties = null, object? traits = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = ids,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };

    private static string I(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Her event of kind <paramref name="kind"/> with marker values (before the erasure) or fresh ones (after).</summary>
    private static CustomerEvent Kind(int kind, string id, DateTimeOffset at, Identifier[] ids, bool old, int i) => (kind % 5) switch
    {
        0 => Event(id, "user.identified", at, ids, traits: old ? new { tier = "oldmark-gold", note = "oldmark-" + I(i) } : new { fresh = "new-" + I(i) }),
        1 => Event(id, EventTypes.ConsentChanged, at, ids, new { channel = i % 2 == 0 ? "email" : "sms", granted = true, source = old ? "oldsrc-" + I(i) : "newsrc-" + I(i) }),
        2 => Event(id, EventTypes.OrderPlaced, at, ids, new { order_id = (old ? "oldo-" : "newo-") + I(i), total = 40 + i, currency = "EUR" }),
        3 => Event(id, EventTypes.CartItemAdded, at, ids, new { product_id = (old ? "oldp-" : "newp-") + I(i), cart_id = (old ? "oldp-cart" : "newp-cart"), price = 10, currency = "EUR" }),
        _ => Event(id, "page.viewed", at, ids, new { path = old ? "/oldmark" : "/new" }),
    };

    /// <summary>Runs one case; <paramref name="open"/> opens the store (called twice: the second time is the restart).</summary>
    /// <param name="a">First half of the seed.</param>
    /// <param name="b">Second half of the seed.</param>
    /// <param name="open">Opens the store; the same store (or file) each time.</param>
    /// <param name="close">Closes a store opened by <paramref name="open"/> (a restart); nothing for an in-memory store kept across.</param>
    public static async Task RunAsync(int a, int b, Func<Task<IOmnichannelStore>> open, Func<IOmnichannelStore, ValueTask> close)
    {
        var rng = new Mix(((ulong)(uint)a << 32) | (uint)b);
        var email = new RecordingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var sent = new List<CustomerEvent>();
        var store = await open();
        var allowReturn = rng.Next(2) == 1;
        DateTimeOffset erasedAt;
        string token;
        await using (var host = Host(store, email, sms, Start))
        {
            var at = Start;
            var steps = 4 + rng.Next(8);
            for (var i = 0; i < steps; i++)
            {
                at = at.AddMinutes(1 + rng.Next(3));
                var carrier = Old[rng.Next(Old.Length)];
                var e = rng.Next(6) == 5
                    ? Event("old-e" + I(i), "user.logged_in", at, [carrier, Old[rng.Next(Old.Length)]])
                    : Kind(rng.Next(5), "old-e" + I(i), at, [carrier], old: true, i);
                await host.AdvanceToAsync(at);
                var r = await host.Engine.TrackAsync(e);
                Assert.True(r.Status is TrackStatus.Accepted, $"step {i}: {r.Status} {string.Join("; ", r.Errors)}");
                sent.Add(e);
            }

            // Linked into one profile (a customer id, an email, a phone and two cookies are within every limit).
            at = at.AddMinutes(1);
            await host.AdvanceToAsync(at);
            foreach (var other in new[] { Email, Phone, Cookie1, Cookie2 })
            {
                var link = Event("old-elink-" + other.Value, "user.logged_in", at, [Customer, other]);
                Assert.Equal(TrackStatus.Accepted, (await host.Engine.TrackAsync(link)).Status);
                sent.Add(link);
            }

            var consent = Event("old-econsent", EventTypes.ConsentChanged, at, [Customer], new { channel = "email", granted = true, source = "oldsrc-all" });
            Assert.Equal(TrackStatus.Accepted, (await host.Engine.TrackAsync(consent)).Status);
            sent.Add(consent);
            await host.AdvanceToAsync(at.AddMinutes(5));
            var before = await host.Engine.GetProfileAsync(Customer);
            Assert.NotNull(before);
            Assert.All(Old, id => Assert.Contains(before!.Identifiers, l => l.Type == id.Type && l.Value == id.Value));

            // A newsletter she received before the erasure: its one-click link is clicked again afterwards.
            var newsletter = await host.Engine.SendAsync(Customer, new MessageRequest { Key = "oldmark-news", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "news" });
            Assert.Equal(SendStatus.Queued, newsletter.Status);
            await host.AdvanceAsync(TimeSpan.Zero);
            await host.Engine.RunDispatchAsync();
            var received = Assert.Single(email.Messages.OfType<EmailMessage>(), m => m.Subject == "news");
            token = Uri.UnescapeDataString(received.TextBody![(received.TextBody!.IndexOf("t=", StringComparison.Ordinal) + 2)..]);
            email.Clear();

            await host.AdvanceAsync(TimeSpan.FromMinutes(1 + rng.Next(60)));
            erasedAt = host.Time.GetUtcNow();
            Assert.True(await host.Engine.EraseProfileAsync(Old[rng.Next(Old.Length)], new EraseOptions { AllowReturn = allowReturn }));
        }

        await close(store);
        store = await open();
        try
        {
            await using var host = Host(store, email, sms, erasedAt.AddMinutes(1));
            var log = new List<string>();
            var handedOver = new HashSet<Identifier>();
            var pending = new List<(CustomerEvent Event, Identifier[] Ids, bool Late)>();

            async Task FlushAsync()
            {
                if (pending.Count == 0)
                {
                    return;
                }

                var batch = pending.ToList();
                pending.Clear();
                var results = batch.Count == 1 ? [await host.Engine.TrackAsync(batch[0].Event)] : await host.Engine.TrackBatchAsync(batch.Select(x => x.Event));
                var handsOver = batch.Count > 1 && batch.Any(x => x.Ids.Contains(NewEmail));
                for (var k = 0; k < batch.Count; k++)
                {
                    var (e, ids, late) = batch[k];
                    var r = results[k];
                    log.Add($"{e.Id} {e.Type} {(late ? "late" : "now")} [{string.Join(",", e.Identifiers.Select(x => x.Value))}] -> {r.Status} {r.ProfileId}{(batch.Count > 1 ? " (batch)" : "")}");

                    // A tombstoned cookie beside a person identifier nobody erased is that person's device now (a shared
                    // browser: "a tombstoned shared device refuses only anonymous use"); anything else carrying an
                    // identifier of hers is refused when kept erased, and dated before the erasure whatever the option.
                    // After such an event the cookie is his for what it sends dated after the erasure (within a batch
                    // that hands one over, the order its events are applied in decides: not judged).
                    var cookiesOnly = !ids.Any(x => x.Type != IdentifierTypes.AnonymousId && Old.Contains(x));
                    var hers = !cookiesOnly || (!ids.Contains(NewEmail) && !(!late && ids.Where(Old.Contains).All(handedOver.Contains)));
                    if ((late || !allowReturn) && hers && !(handsOver && cookiesOnly && !late))
                    {
                        Assert.True(r.Status is not TrackStatus.Accepted, $"{e.Type} dated {(late ? "before" : "after")} the erasure (allow return {allowReturn}) was {r.Status}, carried by {string.Join(", ", ids.Select(x => x.Type + ":" + x.Value))}; log: {string.Join(" | ", log)}");
                    }
                }

                for (var k = 0; k < batch.Count; k++)
                {
                    if (results[k].Status == TrackStatus.Accepted && batch[k].Ids.Contains(NewEmail))
                    {
                        handedOver.UnionWith(batch[k].Ids.Where(x => x.Type == IdentifierTypes.AnonymousId && Old.Contains(x)));
                    }
                }
            }

            var after = 3 + rng.Next(8);
            for (var i = 0; i < after; i++)
            {
                var now = host.Time.GetUtcNow();
                var olds = Old.Where(_ => rng.Next(3) == 0).ToList();
                if (olds.Count == 0)
                {
                    olds.Add(Old[rng.Next(Old.Length)]);
                }

                var ids = olds.Concat(New.Where(_ => rng.Next(3) == 0)).ToArray();
                var what = rng.Next(8);
                if (what == 6)
                {
                    // Her old newsletter's link: nobody to unsubscribe, and nobody made.
                    Assert.Equal(UnsubscribeStatus.ProfileNotFound, await host.Engine.UnsubscribeAsync(token));
                    continue;
                }

                if (what == 7)
                {
                    // A send to one of her old identifiers: nothing reaches her old addresses (checked at the end).
                    var to = olds[0];
                    var kind = rng.Next(2) == 0 ? MessageClass.Marketing : MessageClass.Transactional;
                    var result = await host.Engine.SendAsync(to, new MessageRequest { Key = "new-send-" + I(i), Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "send", Class = kind });
                    log.Add($"{i}: send {kind} to {to.Value} -> {result.Status} {result.Reason}");
                    continue;
                }

                CustomerEvent e;
                bool late;
                if (what == 0)
                {
                    e = sent[rng.Next(sent.Count)]; // one of hers sent again as it was (a retry, a back-fill)
                    late = true;
                    ids = [.. e.Identifiers];
                }
                else
                {
                    late = what == 1; // a late delivery: dated before the erasure
                    var stamp = late ? erasedAt.AddMinutes(-1 - rng.Next(30)) : now;
                    e = Kind(rng.Next(5), "new-e" + I(i), stamp, ids, old: false, i);
                }

                // Some go in one batch with the next ones (TrackBatchAsync orders and groups a batch's events its own way).
                pending.Add((e, ids, late));
                if (rng.Next(3) == 0 && i < after - 1)
                {
                    continue;
                }

                await FlushAsync();
                if (rng.Next(3) == 0)
                {
                    await host.AdvanceAsync(TimeSpan.FromHours(1 + rng.Next(8)));
                }
                else
                {
                    await host.AdvanceAsync(TimeSpan.FromMinutes(1));
                }
            }

            await FlushAsync();
            await host.AdvanceAsync(TimeSpan.FromDays(1));
            await host.Engine.RunDispatchAsync();

            foreach (var id in Old.Concat(New))
            {
                var p = await host.Engine.GetProfileAsync(id);
                if (p is null)
                {
                    continue;
                }

                Assert.False(!allowReturn && Old.Contains(id) && !handedOver.Contains(id), $"kept erased, yet {id.Type} resolves to a profile");
                var export = (await host.Engine.ExportProfileAsync(id))!.ToJsonString();
                foreach (var marker in Markers)
                {
                    Assert.False(export.Contains(marker, StringComparison.Ordinal), $"{id.Type}'s profile after the erasure holds '{marker}': {export}");
                }

                Assert.DoesNotContain(p.Consents, c => c.Source?.StartsWith("oldsrc", StringComparison.Ordinal) == true);
                Assert.DoesNotContain(p.Timeline, t => t.EventId.StartsWith("old-e", StringComparison.Ordinal));
            }

            Assert.Empty(await host.Engine.GetSegmentMembersAsync("gold"));

            // The journey's reminder waits 12 hours and she is erased within two: nothing may ever reach her old addresses.
            Assert.DoesNotContain(email.Messages.Concat(sms.Messages), m => To(m) == Email.Value || To(m) == Phone.Value);
        }
        finally
        {
            await close(store);
        }
    }

    private static string To(OutboundMessage m) => m switch
    {
        EmailMessage e => e.To,
        SmsMessage s => s.To,
        _ => string.Empty,
    };
}
