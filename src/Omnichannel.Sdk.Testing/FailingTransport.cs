using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Testing;

/// <summary>
/// A transport that fails on command, for fault tests: it wraps an inner transport (by default a
/// <see cref="RecordingTransport"/>) and, when told, fails transiently, hangs until cancelled, or fails permanently.
/// </summary>
/// <remarks>
/// <para>Commands queue up in call order: <c>FailTransiently(2); TimeOut(1);</c> makes the next two attempts fail
/// transiently and the third hang; later attempts reach the inner transport. <see cref="FailPermanently"/> takes
/// precedence over the queue and lasts until <see cref="Recover"/>.</para>
/// <para>A timed-out attempt never completes by itself: it waits for its cancellation token and then throws
/// <see cref="OperationCanceledException"/>, so the caller's time-out must cancel it. No wall clock is involved.</para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class FailingTransport : IChannelTransport
{
    private readonly Lock _gate = new();
    private readonly Queue<Fault> _faults = new();
    private string? _permanentReason;
    private int _attempts;
    private int _transientFailures;
    private int _timeOuts;
    private int _permanentFailures;

    /// <summary>Wraps a new <see cref="RecordingTransport"/> for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel; defaults to <see cref="ChannelNames.Email"/>.</param>
    public FailingTransport(string channel = ChannelNames.Email)
        : this(new RecordingTransport(channel))
    {
    }

    /// <summary>Wraps <paramref name="inner"/>, which receives every attempt that is not made to fail.</summary>
    /// <param name="inner">The transport to pass healthy attempts to.</param>
    public FailingTransport(IChannelTransport inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <inheritdoc />
    public string Channel => Inner.Channel;

    /// <summary>The wrapped transport.</summary>
    public IChannelTransport Inner { get; }

    /// <summary>The wrapped transport when it is a <see cref="RecordingTransport"/> (the default), else <see langword="null"/>.</summary>
    public RecordingTransport? Recorder => Inner as RecordingTransport;

    /// <summary>How many times <see cref="SendAsync"/> was called, whatever happened.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>How many attempts were answered with a transient failure.</summary>
    public int TransientFailures => Volatile.Read(ref _transientFailures);

    /// <summary>How many attempts hung until they were cancelled (or are hanging now).</summary>
    public int TimeOuts => Volatile.Read(ref _timeOuts);

    /// <summary>How many attempts were answered with a permanent failure.</summary>
    public int PermanentFailures => Volatile.Read(ref _permanentFailures);

    /// <summary>Makes the next <paramref name="times"/> attempts (after those already queued) fail transiently.</summary>
    /// <param name="times">How many attempts; at least 1.</param>
    public FailingTransport FailTransiently(int times = 1) => Enqueue(Fault.Transient, times);

    /// <summary>Makes the next <paramref name="times"/> attempts (after those already queued) hang until cancelled.</summary>
    /// <param name="times">How many attempts; at least 1.</param>
    public FailingTransport TimeOut(int times = 1) => Enqueue(Fault.TimeOut, times);

    /// <summary>Makes every attempt fail permanently with <paramref name="reason"/> until <see cref="Recover"/>.</summary>
    /// <param name="reason">The reason reported, for example <c>invalid address</c>.</param>
    public FailingTransport FailPermanently(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        lock (_gate)
        {
            _permanentReason = reason;
        }

        return this;
    }

    /// <summary>Forgets every queued fault and the permanent failure: attempts reach the inner transport again.</summary>
    public FailingTransport Recover()
    {
        lock (_gate)
        {
            _faults.Clear();
            _permanentReason = null;
        }

        return this;
    }

    /// <summary>Applies the next fault, if any; otherwise passes the message to the inner transport.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the attempt; the only way a timed-out attempt ends.</param>
    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        Interlocked.Increment(ref _attempts);
        Fault fault;
        string? reason;
        lock (_gate)
        {
            reason = _permanentReason;
            fault = reason is not null ? Fault.Permanent : _faults.TryDequeue(out var next) ? next : Fault.None;
        }

        switch (fault)
        {
            case Fault.Permanent:
                Interlocked.Increment(ref _permanentFailures);
                return DeliveryResult.PermanentFailure(reason!);
            case Fault.Transient:
                Interlocked.Increment(ref _transientFailures);
                return DeliveryResult.TransientFailure("Injected transient failure.");
            case Fault.TimeOut:
                Interlocked.Increment(ref _timeOuts);
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException("Unreachable: an infinite delay ended without cancellation.");
            default:
                return await Inner.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    private FailingTransport Enqueue(Fault fault, int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        lock (_gate)
        {
            for (var i = 0; i < times; i++)
            {
                _faults.Enqueue(fault);
            }
        }

        return this;
    }

    private enum Fault
    {
        None,
        Transient,
        TimeOut,
        Permanent,
    }
}
