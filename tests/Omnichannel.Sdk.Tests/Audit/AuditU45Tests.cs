using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U45: bug classes from public reports of comparable systems (round 45: erasure, export and suppression over a
/// customer's whole life), replayed against the public API on a fake clock.
/// </summary>
public sealed class AuditU45Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Mail = Identifier.Email("ann@example.com");
    private static readonly Identifier Phone = Identifier.Phone("+14155550111");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static OmnichannelTestHost Host(RecordingTransport email, Action<OmnichannelOptions>? configure = null) =>
        OmnichannelTestHost.Create(configure, start: Morning, delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));

    // ---- 1. A provider's report on a message sent before her erasure is not her coming back. With AllowReturn an
    // event dated after the erasure brings her back; a click or open webhook of the receipt she got before it (Apple
    // Mail Privacy Protection opens it hours later; a link scanner clicks it) re-created a profile holding her email, with
    // the old message's touch, so her next order was credited to a message of her erased life (PostHog/posthog#20187,
    // a deleted person re-created by a late event; gitcoinco/web#8850, a deleted user still connected to mail). ----
    [Theory]
    [InlineData(EventTypes.MessageDelivered)]
    [InlineData(EventTypes.MessageOpened)]
    [InlineData(EventTypes.MessageClicked)]
    [InlineData(EventTypes.MessageBounced)]
    [InlineData(EventTypes.MessageComplained)]
    [InlineData(EventTypes.MessageUnsubscribed)]
    public async Task AReportOnAMessageSentBeforeAReturnableErasure_BringsNothingBack_AndCreditsNothingLater(string report)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, Mail]);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await host.Client.EraseProfileAsync(Ann, new EraseOptions { AllowReturn = true }));

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        var late = await host.Client.TrackAsync(host.Event(report, [Mail], new { message_id = "receipt-1", channel = "email", bounce_type = "soft" }, channel: ChannelNames.Email));

        Assert.Equal(TrackStatus.Erased, late.Status);
        Assert.Null(await host.Client.GetProfileAsync(Mail));

        // She does come back, and buys: the order is hers, credited to nothing of her erased life.
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync("user.signed_up", [Mail])).Status);
        await host.TrackAsync(EventTypes.OrderPlaced, [Mail], new { order_id = "o-9", total = 40 });
        var rows = await host.Store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery());
        Assert.DoesNotContain(rows, r => r.Key.Metric.StartsWith("credit:", StringComparison.Ordinal));
        Assert.DoesNotContain(rows, r => r.Key.Metric is "opened" or "clicked" or "delivered");
        Assert.DoesNotContain((await host.ProfileAsync(Mail)).Timeline, t => t.Type.StartsWith("message.", StringComparison.Ordinal));
    }

    // Her own act after the erasure still brings her back (the documented AllowReturn), an inbound SMS reply included.
    [Fact]
    public async Task AfterAReturnableErasure_HerOwnEventsStillBringHerBack()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync("user.signed_up", [Ann, Mail, Phone]);
        Assert.True(await host.Client.EraseProfileAsync(Ann, new EraseOptions { AllowReturn = true }));
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.MessageReplied, [Phone], new { channel = "sms", text = "hello" }, channel: ChannelNames.Sms)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync(EventTypes.ProductViewed, [Mail], new { product_id = "p" })).Status);
    }

    // ---- 2. The ids of her events the profile still names stay erased, not only those on the timeline. The timeline
    // keeps the newest TimelineLength entries, while the profile keeps each order's event ids (and its cart changes',
    // consents', preferences'…) for longer; her order's event, re-sent under a fresh cookie once the de-duplication
    // window had passed (a tracking client's offline queue, a re-import), was accepted and rebuilt her order — items, total —
    // on an anonymous profile (PostHog/posthog#20187, history rebuilt from events replayed after a deletion). ----
    [Fact]
    public async Task HerOrderReSentUnderAFreshCookie_AfterItLeftTheTimeline_AndTheDedupWindow_StaysErased()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email, o => o.TimelineLength = 3);
        await host.TrackAsync("user.signed_up", [Ann, Mail]);
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 80 });
        await host.TrackAsync(order);
        var consent = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(consent);
        for (var i = 0; i < 5; i++)
        {
            await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p" + i });
        }

        Assert.DoesNotContain((await host.ProfileAsync(Ann)).Timeline, t => t.EventId == order.Id || t.EventId == consent.Id);
        Assert.True(await host.Client.EraseProfileAsync(Ann));
        await host.AdvanceAsync(TimeSpan.FromDays(31));
        await host.Engine.PurgeProcessedEventsAsync();

        var cookie = Identifier.AnonymousId("fresh-cookie");
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(order with { Identifiers = [cookie] })).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(consent with { Identifiers = [cookie] })).Status);
        Assert.Null(await host.Client.GetProfileAsync(cookie));
    }

    // ---- 3. The export holds every value the engine keeps of her. An SMS opt-in keyword with no opt-out to undo is
    // kept on the profile (its time and source, so a late STOP is still undone) but is no decision, so the export's
    // consents left it out; once the reply left the timeline nothing exported said she had texted START
    // (right of access, GDPR art. 15; spree/spree#14560 "export drops consent contact fields", 2witstudios/PageSpace#901
    // "exports are missing categories of personal data"). Every leaf of the stored document
    // must appear in the export. ----
    [Fact]
    public async Task TheExport_HoldsEveryValueTheStoredProfileKeeps()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email, o => o.TimelineLength = 2);
        await host.TrackAsync("user.signed_up", [Ann, Mail, Phone], traits: new { first_name = "Ann", address = new { city = "Leeds" } });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", topic = "offers", granted = false });
        await host.TrackAsync(EventTypes.MessageReplied, [Phone], new { channel = "sms", text = "START" }, channel: ChannelNames.Sms);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "tower", quantity = 1, price = 10 });
        await host.TrackAsync(EventTypes.WishlistItemAdded, [Ann], new { product_id = "lamp" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });
        await host.TrackAsync(EventTypes.MessageBounced, [Mail], new { channel = "email", bounce_type = "hard", address = "ann@example.com" }, channel: ChannelNames.Email);
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1" });
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });

        var profile = await host.ProfileAsync(Ann);
        var stored = JsonNode.Parse((await host.Store.LoadProfileAsync(profile.Id))!.Document)!;
        var export = (await host.Client.ExportProfileAsync(Ann))!;
        var exported = Leaves(export, "").Select(l => l.Value).ToHashSet(StringComparer.Ordinal);
        var missing = Leaves(stored, "").Where(l => !exported.Contains(l.Value)).Select(l => $"{l.Path} = {l.Value}").ToList();
        Assert.True(missing.Count == 0, "kept but not exported: " + string.Join("; ", missing));
    }

    private static IEnumerable<(string Path, string Value)> Leaves(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    foreach (var leaf in Leaves(v, path + "." + k))
                    {
                        yield return leaf;
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var leaf in Leaves(a[i], path + "[" + i + "]"))
                    {
                        yield return leaf;
                    }
                }

                break;
            case JsonValue v:
                yield return (path, v.ToJsonString());
                break;
        }
    }
}
