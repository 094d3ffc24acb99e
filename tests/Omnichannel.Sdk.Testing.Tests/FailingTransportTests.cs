using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Testing.Tests;

public sealed class FailingTransportTests
{
    private static SmsMessage Sms(string id) => new() { MessageId = id, To = "+15550100", Body = "Hi" };

    [Fact]
    public async Task SendAsync_WhenHealthy_PassesToTheRecordingTransport()
    {
        var transport = new FailingTransport(ChannelNames.Sms);

        var result = await transport.SendAsync(Sms("m1"));

        Assert.True(result.IsAccepted);
        Assert.Equal(ChannelNames.Sms, transport.Channel);
        Assert.Equal(1, transport.Attempts);
        Assert.Equal("m1", Assert.Single(transport.Recorder!.Messages).MessageId);
    }

    [Fact]
    public async Task FailTransiently_FailsTheNextNAttemptsThenRecovers()
    {
        var transport = new FailingTransport().FailTransiently(2);

        var first = await transport.SendAsync(Sms("m1"));
        var second = await transport.SendAsync(Sms("m1"));
        var third = await transport.SendAsync(Sms("m1"));

        Assert.Equal(DeliveryStatus.TransientFailure, first.Status);
        Assert.Equal(DeliveryStatus.TransientFailure, second.Status);
        Assert.True(third.IsAccepted);
        Assert.Equal(3, transport.Attempts);
        Assert.Equal(2, transport.TransientFailures);
        Assert.Single(transport.Recorder!.Messages);
    }

    [Fact]
    public async Task FailPermanently_FailsEveryAttemptWithTheReasonUntilRecover()
    {
        var transport = new FailingTransport().FailPermanently("invalid address");

        var first = await transport.SendAsync(Sms("m1"));
        var second = await transport.SendAsync(Sms("m2"));
        transport.Recover();
        var third = await transport.SendAsync(Sms("m3"));

        Assert.Equal(DeliveryResult.PermanentFailure("invalid address"), first);
        Assert.Equal(DeliveryStatus.PermanentFailure, second.Status);
        Assert.True(third.IsAccepted);
        Assert.Equal(2, transport.PermanentFailures);
        Assert.Equal(["m3"], transport.Recorder!.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public async Task TimeOut_HangsUntilTheTokenIsCancelled()
    {
        var transport = new FailingTransport().TimeOut(1);
        using var timeout = new CancellationTokenSource();

        var pending = transport.SendAsync(Sms("m1"), timeout.Token).AsTask();

        Assert.False(pending.IsCompleted);
        Assert.Equal(1, transport.TimeOuts);
        await timeout.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Empty(transport.Recorder!.Messages);
        Assert.True((await transport.SendAsync(Sms("m1"))).IsAccepted);
    }

    [Fact]
    public async Task Faults_ApplyInTheOrderTheyWereCommanded()
    {
        var transport = new FailingTransport().FailTransiently(1).TimeOut(1).FailTransiently(1);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var first = await transport.SendAsync(Sms("m1"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await transport.SendAsync(Sms("m1"), cancelled.Token));
        var third = await transport.SendAsync(Sms("m1"));
        var fourth = await transport.SendAsync(Sms("m1"));

        Assert.Equal(DeliveryStatus.TransientFailure, first.Status);
        Assert.Equal(DeliveryStatus.TransientFailure, third.Status);
        Assert.True(fourth.IsAccepted);
        Assert.Equal(4, transport.Attempts);
        Assert.Equal(1, transport.TimeOuts);
    }

    [Fact]
    public async Task Recover_DropsQueuedFaults()
    {
        var transport = new FailingTransport().FailTransiently(5).TimeOut(3);

        transport.Recover();

        Assert.True((await transport.SendAsync(Sms("m1"))).IsAccepted);
    }

    [Fact]
    public async Task Constructor_WhenGivenAnInnerTransport_PassesHealthyAttemptsToIt()
    {
        var inner = new RecordingTransport(ChannelNames.WhatsApp);
        var transport = new FailingTransport(inner).FailTransiently(1);

        await transport.SendAsync(Sms("m1"));
        await transport.SendAsync(Sms("m2"));

        Assert.Equal(ChannelNames.WhatsApp, transport.Channel);
        Assert.Same(inner, transport.Recorder);
        Assert.Equal(["m2"], inner.Messages.Select(m => m.MessageId));
    }

    [Fact]
    public void FailTransiently_WhenTimesIsNotPositive_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new FailingTransport().FailTransiently(0));
}
