using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the forty-eighth session's changes: a decision on a profile the event does not write reads it fresh
/// (838a01e), a ReadOnly decision of the unit of work stands only on the stored version (524afcf, audit U78), and the
/// dotted operands of ordering rules (6d221ee). Two test hosts on one store stand for two processes or silos.
/// </summary>
public sealed class Review48Tests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    private static void OnePartition(OmnichannelOptions o) => o.Partitions = 1;

    /// <summary>
    /// His profile is busy on the other engine (his session's page views through another silo): written again between
    /// every read this engine makes of it. An event that leaves an identifier of his unlinked read his profile fresh,
    /// found it newer than its copy, and started the event over (with a back-off) on that copy, which was older again by
    /// then: after <c>MaxCommitAttempts</c> it gave up, "merged or erased between lookup and load" though nothing was. A
    /// copy just read from the store is what the decision stands on, as for work that loads fresh.
    /// </summary>
    [Fact]
    public async Task AConflictWithAProfileBusyOnAnotherEngine_IsDecidedOnTheCopyJustRead()
    {
        var store = new InMemoryOmnichannelStore();
        var flaky = new FlakyStore(store);
        await using var here = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.MaxCommitAttempts = 5; }, Start, flaky);
        await using var there = OmnichannelTestHost.Create(OnePartition, Start, store);
        var bob = Identifier.CustomerId("bob-r48");
        var his = Identifier.Email("bob-r48@example.com");
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event("user.logged_in", [bob, his]))).Status);
        var bobsId = (await there.Client.GetProfileAsync(bob))!.Id;
        var views = 0;
        flaky.AfterLoad = async id =>
        {
            if (id == bobsId)
            {
                var n = Interlocked.Increment(ref views);
                Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("page.viewed", [bob]) with { Id = $"there-view-{n}" })).Status);
            }
        };
        Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("page.viewed", [bob]) with { Id = "there-view-0" })).Status);

        var shared = await here.Client.TrackAsync(here.Event("user.logged_in", [his, Identifier.CustomerId("carol-r48")]));

        Assert.Equal(TrackStatus.Accepted, shared.Status);
        Assert.Contains(shared.NotLinked, n => n.Field.StartsWith("identifiers[", StringComparison.Ordinal));
        Assert.InRange(Volatile.Read(ref views), 1, 2); // read fresh once (and at most once more): no retry per write of his
    }

    /// <summary>
    /// The refusal's path (838a01e's first case) with his profile busy on the other engine: her email, back on his
    /// browser through the other engine, and his page views there after every read here. Her login queued before the
    /// erasure is refused as erased, decided on the copy just read, rather than given up on.
    /// </summary>
    [Fact]
    public async Task HerLoginQueuedBeforeHerErasure_WithHisProfileBusyOnAnotherEngine_IsRefusedAsErased()
    {
        var store = new InMemoryOmnichannelStore();
        var flaky = new FlakyStore(store);
        await using var here = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.MaxCommitAttempts = 5; }, Start, flaky);
        await using var there = OmnichannelTestHost.Create(OnePartition, Start, store);
        var cookie = Identifier.AnonymousId("bob-r48-browser");
        var bob = Identifier.CustomerId("bob-r48b");
        var her = Identifier.Email("ann-r48b@example.com");
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event("user.logged_in", [cookie, bob]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event(EventTypes.OrderPlaced, [her], new { order_id = "o-r48", total = 21, currency = "GBP" }))).Status);
        var login = here.Event("user.logged_in", [her, Identifier.CustomerId("ann-r48b")], at: Start + TimeSpan.FromMinutes(30));
        await here.AdvanceAsync(TimeSpan.FromHours(1));
        await there.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await here.Client.EraseProfileAsync(her, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));
        await here.AdvanceAsync(TimeSpan.FromHours(1));
        await there.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("newsletter.signed_up", [cookie, her]) with { Id = "there-r48-1" })).Status);
        var bobsId = (await there.Client.GetProfileAsync(bob))!.Id;
        var views = 0;
        flaky.AfterLoad = async id =>
        {
            if (id == bobsId)
            {
                var n = Interlocked.Increment(ref views);
                Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("page.viewed", [bob]) with { Id = $"there-r48-view-{n}" })).Status);
            }
        };

        var late = await here.Client.TrackAsync(login);

        Assert.Equal(TrackStatus.Erased, late.Status);
        Assert.Contains(late.Errors, e => e.Field == "identifiers" && e.Message.Contains("dated before", StringComparison.Ordinal));
    }

    /// <summary>Fails its first hand-over (running <c>during</c> first), accepts and keeps the later ones.</summary>
    private sealed class FailsFirstTransport(Func<Task> during) : IChannelTransport
    {
        private int _attempts;

        public string Channel => ChannelNames.Email;

        public int Attempts => Volatile.Read(ref _attempts);

        public System.Collections.Concurrent.ConcurrentQueue<OutboundMessage> Accepted { get; } = new();

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _attempts) == 1)
            {
                await during();
                return DeliveryResult.TransientFailure("421 try again");
            }

            Accepted.Enqueue(message);
            return DeliveryResult.Accepted("p-" + Attempts);
        }
    }

    /// <summary>
    /// Audit U78's rule under steady writes: her receipt's quick retry checks her profile through work that commits
    /// nothing (a transactional message: no cap slot), and the other engine writes her profile (her session's page views)
    /// between every read this engine makes of it. The check read the store, found a newer version, and decided again on
    /// it, then read the store again and found it newer again: after <c>MaxCommitAttempts</c> the work gave up, the
    /// hand-over check answered "could not be read" (transient) and her receipt was not handed over on any quick retry.
    /// A copy just read from the store is what the decision stands on, as for work that loads fresh.
    /// </summary>
    [Fact]
    public async Task AQuickRetryOfHerReceipt_WhileAnotherEngineKeepsWritingHerProfile_IsHandedOver()
    {
        var store = new InMemoryOmnichannelStore();
        var flaky = new FlakyStore(store);
        var ann = Identifier.CustomerId("ann-r48");
        await using var there = OmnichannelTestHost.Create(OnePartition, Start, store);
        var views = 0;
        string? annsId = null;
        async Task ViewAsync()
        {
            var n = Interlocked.Increment(ref views);
            Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("page.viewed", [ann]) with { Id = $"there-view-{n}" })).Status);
        }

        var email = new FailsFirstTransport(async () =>
        {
            await ViewAsync();
            flaky.AfterLoad = id => id == annsId ? ViewAsync() : Task.CompletedTask; // from now on: written after each read here
        });
        var delivery = new DeliverySetup().AddTransport("email", email);
        delivery.Renderer = new TemplateIdRenderer();
        await using var here = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 1;
                o.MaxCommitAttempts = 5;
                o.Delivery.Retry!.MaxRetryAttempts = 2;
                o.Delivery.Retry.Delay = TimeSpan.Zero;
            },
            Start,
            flaky,
            delivery);
        await here.TrackAsync("user.signed_up", [ann, Identifier.Email("ann-r48@example.com")]);
        annsId = (await here.ProfileAsync(ann)).Id;

        var sent = await here.Client.SendAsync(ann, new MessageRequest { Key = "receipt-r48", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, sent.Status);
        await here.Engine.RunDispatchAsync();

        Assert.Equal(2, email.Attempts);
        Assert.Single(email.Accepted);
    }

    // The pattern 6d221ee split in two (a day.month.year or version number; slashes): every text it matched is still
    // refused in an ordering rule, with the date reading named. (Held: the split refuses the same texts.)
    private static readonly System.Text.RegularExpressions.Regex BeforeTheSplit =
        new(@"^(\d{1,4}/\d{1,2}/\d{1,4}|\d{1,2}\.\d{1,2}\.\d{2,4})$");

    [Property(MaxTest = 300)]
    public void EveryDottedOrSlashedDate_RefusedBeforeTheSplit_IsStillRefused(int a, int b, int c, bool slash, byte widths)
    {
        static string Part(int n, int width) => Math.Abs(n % 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width, '0');
        var sep = slash ? "/" : ".";
        var text = Part(a, widths & 3) + sep + Part(b, (widths >> 2) & 3) + sep + Part(c, (widths >> 4) & 7);
        if (!BeforeTheSplit.IsMatch(text))
        {
            return;
        }

        var parsed = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"s\", \"rule\": {\"trait\": \"t\", \"op\": \"lte\", \"value\": \"" + text + "\"}}");
        Assert.False(parsed.IsValid, text + " was accepted");
        Assert.Contains(parsed.Errors, e => e.Path == "$.rule.value" && e.Message.Contains("ISO 8601", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1.2.10")]
    [InlineData("01.02.24")]
    [InlineData("1.2.2024")]
    [InlineData("31.01.2024")]
    [InlineData("2024/01/02")]
    [InlineData("2/1/24")]
    [InlineData("01/02/2024")]
    public void TheFormsRefusedBeforeTheSplit_AreStillRefused(string text)
    {
        Assert.Matches(BeforeTheSplit, text);
        var parsed = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"s\", \"rule\": {\"trait\": \"t\", \"op\": \"between\", \"value\": [\"" + text + "\", \"2030-01-01\"]}}");
        Assert.False(parsed.IsValid, text + " was accepted");
        Assert.Contains(parsed.Errors, e => e.Message.Contains("ISO 8601", StringComparison.Ordinal));
    }
}
