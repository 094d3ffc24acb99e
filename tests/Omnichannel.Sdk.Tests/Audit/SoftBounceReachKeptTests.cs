using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// A delivery, open or click that broke a soft-bounce run is remembered after its touch is trimmed (past the longest
/// attribution window and the late-event grace, 37 days by default). Left alone in the fifty-third session (U84's property
/// over full-range seeds); a window longer than the default reaches it with reports in time order too.
/// </summary>
public sealed class SoftBounceReachKeptTests
{
    private static readonly Identifier Ann = AuditU84Tests.Ann;
    private static readonly Identifier AnnEmail = AuditU84Tests.AnnEmail;

    private static Task<TrackResult> ReportAsync(OmnichannelTestHost host, string type, string key, string? bounceType = null) =>
        host.TrackAsync(
            type,
            [Ann],
            bounceType is null ? new { channel = ChannelNames.Email, message_id = key } : new { channel = ChannelNames.Email, message_id = key, bounce_type = bounceType },
            channel: "server");

    // A monthly newsletter with SoftBounceWindow at 120 days, every report on its day: bounces on days 10 and 20, a
    // delivery on day 30, bounces on days 75 and 80. Only two bounces follow her newest reach: not suppressed. The
    // delivery's touch was trimmed on day 67, and the four bounces made a run.
    [Fact]
    public async Task ADeliveryBetweenBounces_StillBreaksTheRun_AfterItsTouchIsTrimmed()
    {
        var (host, sent) = AuditU84Tests.Host(o => o.Delivery.SoftBounceWindow = TimeSpan.FromDays(120));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var day = 0.0;
        foreach (var (at, key, delivered) in new[] { (10.0, "m1", false), (20.0, "m2", false), (30.0, "m3", true), (75.0, "m4", false), (80.0, "m5", false) })
        {
            await host.AdvanceAsync(TimeSpan.FromDays(at - day - 0.5));
            Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, ChannelNames.Email, key)).Status);
            await host.AdvanceAsync(TimeSpan.FromDays(0.5) - TimeSpan.FromMinutes(1));
            day = at;
            var report = delivered ? await ReportAsync(host, EventTypes.MessageDelivered, key) : await ReportAsync(host, EventTypes.MessageBounced, key, "soft");
            Assert.Equal(TrackStatus.Accepted, report.Status);
        }

        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, ChannelNames.Email, "next")).Status);
        Assert.Equal(6, sent[ChannelNames.Email].Messages.Count);

        // The same mark does not stop a run after it: a third bounce within the window suppresses.
        await host.AdvanceAsync(TimeSpan.FromDays(5));
        Assert.Equal(TrackStatus.Accepted, (await ReportAsync(host, EventTypes.MessageBounced, "next", "soft")).Status);
        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
    }

    // U84's property over full-range seeds (fifty-third session): reports posted 41 days after the mail, each with its own
    // date, so the delivery's touch is trimmed before the bounces after it arrive.
    [Theory]
    [InlineData(229861303)]
    [InlineData(811618291)]
    [InlineData(173361009)]
    public Task TheFullRangeSeeds_HoldTogether(int seed) => AuditU84Tests.CompareAsync(seed);

    private static readonly SoftBounceRule Rule = new(3, TimeSpan.FromDays(120), (channel, address) => $"h-{channel}-{address}");

    private static CustomerProfile WithBounces(string id, params double[] days)
    {
        var p = new CustomerProfile(id, AuditU84Tests.Start);
        foreach (var d in days)
        {
            p.SoftBounces.Add(new SoftBounceMark(ChannelNames.Email, Rule.Hash(ChannelNames.Email, "ann@example.com"), AuditU84Tests.Start.AddDays(d), $"m{d}"));
        }

        return p;
    }

    // A merge joins the reach marks as it joins the bounces: three bounces on one side (days 10, 20, 75) and the other
    // side's kept delivery on day 30 are not a run; without the mark they are.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AMerge_KeepsEitherSidesReachMark_AndTheJoinedRunIsReadAgainstIt(bool markOnOtherSide)
    {
        var target = WithBounces("t", 10, 20, 75);
        var other = new CustomerProfile("o", AuditU84Tests.Start);
        var mark = new SoftBounceMark(ChannelNames.Email, Rule.Hash(ChannelNames.Email, "ann@example.com"), AuditU84Tests.Start.AddDays(30));
        (markOnOtherSide ? other : target).ReachMarks.Add(mark);
        var bare = WithBounces("b", 10, 20, 75);

        ProfileCore.Merge(target, other, new MergeRecord("o", Ann, "merge-1", "test", AuditU84Tests.Start.AddDays(80)), 50, softBounces: Rule);
        ProfileCore.Merge(bare, new CustomerProfile("o2", AuditU84Tests.Start), new MergeRecord("o2", Ann, "merge-2", "test", AuditU84Tests.Start.AddDays(80)), 50, softBounces: Rule);

        Assert.Equal(mark, Assert.Single(target.ReachMarks));
        Assert.False(target.HasSoftSuppressed);
        Assert.True(bare.HasSoftSuppressed); // the same bounces with no reach between them: a run
    }

    // Only the newest reach of an address is kept, whichever side or order it came from, and the marks are stored.
    [Fact]
    public void TheNewestReachPerAddress_IsKept_AndStored()
    {
        var target = new CustomerProfile("t", AuditU84Tests.Start);
        var other = new CustomerProfile("o", AuditU84Tests.Start);
        var hash = Rule.Hash(ChannelNames.Email, "ann@example.com");
        target.ReachMarks.Add(new SoftBounceMark(ChannelNames.Email, hash, AuditU84Tests.Start.AddDays(40)));
        other.ReachMarks.Add(new SoftBounceMark(ChannelNames.Email, hash, AuditU84Tests.Start.AddDays(30)));
        other.ReachMarks.Add(new SoftBounceMark(ChannelNames.Sms, Rule.Hash(ChannelNames.Sms, "+447700900184"), AuditU84Tests.Start.AddDays(5)));

        ProfileCore.Merge(target, other, new MergeRecord("o", Ann, "merge-1", "test", AuditU84Tests.Start.AddDays(80)), 50, softBounces: Rule);
        var read = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(target), 1);

        Assert.Equal(
            [(ChannelNames.Sms, AuditU84Tests.Start.AddDays(5)), (ChannelNames.Email, AuditU84Tests.Start.AddDays(40))],
            read.ReachMarks.Select(m => (m.Channel, m.At)).ToArray());
    }

    // Review (fifty-fourth session): a reach of a message that named no address reads her newest address on the channel
    // while its touch is kept. Trimmed before a newer address was linked, the mark was the old address's, so the bounces
    // of the new one on both sides of the delivery became a run: the end state depended on when the touch was trimmed.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AReachOfAMessageThatNamedNoAddress_StillReadsHerNewestAddress_AfterItsTouchIsTrimmed(bool trimmedBeforeTheNewAddress)
    {
        var start = AuditU84Tests.Start;
        var p = new CustomerProfile("p", start);
        p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Email, "old@example.com", start));
        p.MessageKeys.Add("m30");
        var touch = new Omnichannel.Sdk.Measurement.Touch { Key = "m30", Channel = ChannelNames.Email, QueuedAt = start.AddDays(29), DeliveredAt = start.AddDays(30) };
        p.Touches.Add(touch);
        void Trim()
        {
            ProfileCore.KeepReach(p, touch, Rule.Hash);
            p.Touches.Remove(touch);
        }

        if (trimmedBeforeTheNewAddress)
        {
            Trim();
        }

        p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Email, "new@example.com", start.AddDays(5)));
        if (!trimmedBeforeTheNewAddress)
        {
            Trim();
        }

        foreach (var d in new[] { 10, 20, 75 })
        {
            p.SoftBounces.Add(new SoftBounceMark(ChannelNames.Email, Rule.Hash(ChannelNames.Email, "new@example.com"), start.AddDays(d), $"b{d}"));
        }

        ProfileCore.ReviewSoftBounces(p, Rule);

        Assert.False(p.HasSoftSuppressed); // as with the touch kept: one bounce after her newest reach
        Assert.Equal(start.AddDays(30), Assert.Single(ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1).ReachMarks).At);
    }
}

/// <summary>
/// <see cref="IOmnichannelClient.LiftErasureAsync"/> promises that "messages to it are sent again". For an address her
/// own profile suppressed (a hard bounce of hers, a soft-bounce run) it took the address off the store's list only: the
/// profile's entry kept refusing her mail, while <see cref="IOmnichannelClient.IsSuppressedAsync"/> answered false
/// (left alone since the forty-sixth session).
/// </summary>
public sealed class LiftOnHerOwnProfileTests
{
    private static readonly Identifier Ann = AuditU84Tests.Ann;
    private static readonly Identifier AnnEmail = AuditU84Tests.AnnEmail;
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900184");

    private static Task<TrackResult> BounceAsync(OmnichannelTestHost host, string channel, string key, string bounceType) =>
        host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel, message_id = key, bounce_type = bounceType }, channel: "server");

    [Theory]
    [InlineData(ChannelNames.Email)]
    [InlineData(ChannelNames.Sms)]
    public async Task AHardBounceOfHerOwnAddress_Lifted_LetsHerMailThrough(string channel)
    {
        var (host, sent) = AuditU84Tests.Host();
        await using var _ = host;
        var address = channel == ChannelNames.Email ? AnnEmail : AnnPhone;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail, AnnPhone]);
        Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, channel, "m1")).Status);
        Assert.Equal(TrackStatus.Accepted, (await BounceAsync(host, channel, "m1", "hard")).Status);
        Assert.True(await host.Client.IsSuppressedAsync(address));
        Assert.Equal(SendStatus.Skipped, (await AuditU84Tests.SendAsync(host, channel, "m2")).Status);

        Assert.True(await host.Client.LiftErasureAsync(address));

        Assert.False(await host.Client.IsSuppressedAsync(address));
        Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, channel, "m3")).Status);
        Assert.Equal(2, sent[channel].Messages.Count);
        Assert.False(await host.Client.LiftErasureAsync(address)); // nothing left to lift
    }

    // A soft-bounce run's suppression lifted starts her count afresh: one more soft bounce is not a run.
    [Fact]
    public async Task ASoftBounceRun_Lifted_StartsTheCountAfresh()
    {
        var (host, sent) = AuditU84Tests.Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        for (var i = 1; i <= 3; i++)
        {
            await AuditU84Tests.SendAsync(host, ChannelNames.Email, $"m{i}");
            await BounceAsync(host, ChannelNames.Email, $"m{i}", "soft");
        }

        Assert.True(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.True(await host.Client.LiftErasureAsync(AnnEmail));

        Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, ChannelNames.Email, "m4")).Status);
        await BounceAsync(host, ChannelNames.Email, "m4", "soft");
        Assert.False(await host.Client.IsSuppressedAsync(AnnEmail));
        Assert.Equal(SendStatus.Queued, (await AuditU84Tests.SendAsync(host, ChannelNames.Email, "m5")).Status);
        Assert.Equal(5, sent[ChannelNames.Email].Messages.Count);
    }
}
