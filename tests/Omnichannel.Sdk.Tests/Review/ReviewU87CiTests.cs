using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>A hostile review of the U87 CI fixes (a touch's newest reach; a unit that lists reads the stored version first). Public API.</summary>
public sealed class ReviewU87CiTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r87");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.r87@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900871");
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;

    private static CustomerEvent Report(string id, string type, DateTimeOffset at, string key, bool bounce = false) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [Ann],
        Channel = "server",
        Properties = bounce
            ? JsonData.From(new { channel = ChannelNames.Email, message_id = key, bounce_type = "soft", address = AnnEmail.Value })
            : JsonData.From(new { channel = ChannelNames.Email, message_id = key, address = AnnEmail.Value }),
    };

    // A message opened long ago (before the touches' retention, 37 days by default) and again an hour ago, between soft
    // bounces of other mail: her newest reach is an hour ago, so one bounce follows it (limit three): not suppressed. When
    // the old open arrived last, the touch's earliest instants (all a touch's "last" instant read) were older than the
    // retention and the touch was trimmed in the same unit, its newest reach with it: three bounces in a row, suppressed.
    [Fact]
    public async Task ALateOpen_IsNotTrimmedWithAnOldOneOfTheSameMessage_WhateverTheArrivalOrder()
    {
        CustomerEvent[] reports =
        [
            Report("r1", EventTypes.MessageOpened, Start.AddDays(-45), "m-1"),
            Report("b1", EventTypes.MessageBounced, Start.AddHours(-3), "m-2", bounce: true),
            Report("b2", EventTypes.MessageBounced, Start.AddHours(-2), "m-3", bounce: true),
            Report("r2", EventTypes.MessageOpened, Start.AddHours(-1), "m-1"),
            Report("b3", EventTypes.MessageBounced, Start.AddMinutes(-30), "m-4", bounce: true),
        ];
        var suppressed = new List<string>();
        foreach (var order in ArrivalOrders.Permutations(reports))
        {
            await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Start);
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(new CustomerEvent { Id = "e0", Type = "user.signed_up", Timestamp = Start.AddDays(-50), Identifiers = [Ann, AnnEmail] })).Status);
            foreach (var e in order)
            {
                Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
            }

            if (await host.Client.IsSuppressedAsync(AnnEmail))
            {
                suppressed.Add(string.Join(",", order.Select(e => e.Id)));
            }
        }

        Assert.True(suppressed.Count == 0, $"{suppressed.Count} orders suppressed: {string.Join(" | ", suppressed.Take(5))}");
    }

    // The U87 fix, through a merge: the unit reads the stored version of the profile it writes, but not of those it
    // absorbs. Engine A plans a text from her email-and-phone profile and hands none over; B hands it over and records it
    // at her old number. A's copy of that profile knows the text only as queued. Her hard bounce arrives at A naming her
    // customer id and her email, which merges that profile into her customer profile (the target, read fresh): the
    // absorbed stale copy placed the bounce at her newest number, which was listed before the commit, the commit
    // conflicted, and the retry on the stored versions suppressed her old number. Before: her new number stayed listed,
    // no profile suppressing it.
    [Fact]
    public async Task AHardBounceMergingAStaleCopyIn_ListsOnlyTheNumberTheMessageWentTo()
    {
        var newPhone = Identifier.Phone("+447700900872");
        await using var two = PlannerAndSender.Create(Start);
        var (a, b, sms) = (two.Planner, two.Sender, two.Sms);

        await two.TrackAsync(a, "e0", "user.signed_up", [AnnEmail, AnnPhone], null, 0);
        await two.TrackAsync(a, "e1", EventTypes.ConsentChanged, [AnnEmail], new { channel = ChannelNames.Sms, granted = true }, 1);
        Assert.Equal(SendStatus.Queued, (await a.Client.SendAsync(AnnEmail, new MessageRequest { Key = "m-1", Channels = [ChannelNames.Sms], TemplateId = "offer", Class = MessageClass.Marketing })).Status);
        await two.TrackAsync(a, "e2", "user.updated", [AnnEmail, newPhone], null, 2); // her new number, after the text was queued

        await b.Engine.RunDispatchAsync(); // B hands the text over to her old number and records it; A's copy has not seen it
        Assert.Equal(AnnPhone.Value, ((SmsMessage)Assert.Single(sms.Messages)).To);

        await two.TrackAsync(a, "e3", "user.signed_up", [Ann], null, 3); // her customer profile, on its own
        await two.TrackAsync(a, "e4", EventTypes.MessageBounced, [Ann, AnnEmail], new { channel = ChannelNames.Sms, message_id = "m-1", bounce_type = "hard" }, 4, "server");

        var profile = await b.Client.GetProfileAsync(Ann);
        Assert.NotNull(profile);
        Assert.Contains(profile.Identifiers, i => i.Value == AnnEmail.Value); // merged
        Assert.True(profile.Identifiers.Single(i => i.Value == AnnPhone.Value).IsSuppressedOn(ChannelNames.Sms));
        Assert.False(profile.Identifiers.Single(i => i.Value == newPhone.Value).IsSuppressedOn(ChannelNames.Sms));
        Assert.True(await a.Client.IsSuppressedAsync(AnnPhone));
        Assert.False(await a.Client.IsSuppressedAsync(newPhone)); // before: listed, while no profile suppressed it
    }
    // Attack that held: the newest reach through merges and documents read back (no hot copies: every unit reads the
    // stored document). Two profiles each hold reports of the same message; whichever order the reports and the link
    // arrive in, her newest reach is the later open, and two bounces follow it (limit three): not suppressed.
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task TheNewestReach_SurvivesMergesAndStoredDocuments_WhateverTheArrivalOrder(int cache)
    {
        var at = Start.AddHours(-2);
        CustomerEvent On(CustomerEvent e, Identifier who) => e with { Identifiers = [who] };
        CustomerEvent[] events =
        [
            On(Report("r1", EventTypes.MessageOpened, at.AddSeconds(2), "m-1"), AnnEmail),
            On(Report("r2", EventTypes.MessageBounced, at.AddSeconds(3), "m-1", bounce: true), AnnEmail),
            Report("r3", EventTypes.MessageOpened, at.AddMinutes(63), "m-1"),
            Report("r4", EventTypes.MessageBounced, at.AddMinutes(65), "m-2", bounce: true),
            On(Report("r5", EventTypes.MessageBounced, at.AddMinutes(66), "m-3", bounce: true), AnnEmail),
            new() { Id = "link", Type = "user.linked", Timestamp = at.AddMinutes(30), Identifiers = [Ann, AnnEmail] },
        ];
        var suppressed = new List<string>();
        foreach (var order in ArrivalOrders.Permutations(events))
        {
            await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.ProfileCacheSize = cache; }, start: Start);
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(new CustomerEvent { Id = "e0", Type = "user.signed_up", Timestamp = at, Identifiers = [Ann] })).Status);
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = at, Identifiers = [AnnEmail] })).Status);
            foreach (var e in order)
            {
                Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
            }

            if (await host.Client.IsSuppressedAsync(AnnEmail))
            {
                suppressed.Add(string.Join(",", order.Select(e => e.Id)));
            }
        }

        Assert.True(suppressed.Count == 0, $"{suppressed.Count} orders suppressed: {string.Join(" | ", suppressed.Take(5))}");
    }
    // Attack that held: the U87 listing check in a run (a batch of her events, one commit) and with several partitions. A's
    // copy is older than the send's record; the bounce sits in a run of her events. Only her old number is listed.
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task AHardBounceInARunOnAnOlderCopy_ListsOnlyTheNumberTheMessageWentTo(int partitions)
    {
        var newPhone = Identifier.Phone("+447700900873");
        await using var two = PlannerAndSender.Create(Start, plannerPartitions: partitions, runs: true);
        var (a, b, sms) = (two.Planner, two.Sender, two.Sms);

        await two.TrackAsync(a, "e0", "user.signed_up", [Ann, AnnEmail, AnnPhone], null, 0);
        await two.TrackAsync(a, "e1", EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true }, 1);
        Assert.Equal(SendStatus.Queued, (await a.Client.SendAsync(Ann, new MessageRequest { Key = "m-1", Channels = [ChannelNames.Sms], TemplateId = "offer", Class = MessageClass.Marketing })).Status);
        await two.TrackAsync(a, "e2", "user.updated", [Ann, newPhone], null, 2);
        await b.Engine.RunDispatchAsync();
        Assert.Equal(AnnPhone.Value, ((SmsMessage)Assert.Single(sms.Messages)).To);

        var results = await a.Client.TrackBatchAsync(
        [
            two.Event("e3", "page.viewed", [Ann], null, 3),
            two.Event("e4", EventTypes.MessageBounced, [Ann], new { channel = ChannelNames.Sms, message_id = "m-1", bounce_type = "hard" }, 4, "server"),
            two.Event("e5", "page.viewed", [Ann], null, 5),
        ]);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var profile = await b.Client.GetProfileAsync(Ann);
        Assert.NotNull(profile);
        Assert.True(profile.Identifiers.Single(i => i.Value == AnnPhone.Value).IsSuppressedOn(ChannelNames.Sms));
        Assert.False(profile.Identifiers.Single(i => i.Value == newPhone.Value).IsSuppressedOn(ChannelNames.Sms));
        Assert.True(await a.Client.IsSuppressedAsync(AnnPhone));
        Assert.False(await a.Client.IsSuppressedAsync(newPhone));
    }

    // Attack that held: the newest reach is written to the contiguous document (SQLite, PostgreSQL) and read back; a later
    // report of an earlier open keeps it, and moves only the open's (earliest) instant.
    [Fact]
    public async Task TheNewestReach_RoundTripsThroughTheDocument()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 1, start: Start);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(new CustomerEvent { Id = "e0", Type = "user.signed_up", Timestamp = Start.AddDays(-1), Identifiers = [Ann, AnnEmail] })).Status);
        foreach (var e in new[] { Report("r2", EventTypes.MessageOpened, Start.AddHours(-1), "m-1"), Report("r1", EventTypes.MessageOpened, Start.AddHours(-2), "m-1") })
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        }

        var bytes = ProfileSerializer.Serialize(await host.ProfileAsync(Ann));
        Assert.Contains("\"reachedAt\"", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        var touch = Assert.Single(ProfileSerializer.Deserialize(bytes, 1).Touches);
        Assert.Equal(Start.AddHours(-2), touch.OpenedAt);
        Assert.Equal(Start.AddHours(-1), touch.ReachedAt);
        Assert.Equal(touch.ReachedAt, touch.LastAt);
    }
}
