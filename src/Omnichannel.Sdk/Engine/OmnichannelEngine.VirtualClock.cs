using Microsoft.Extensions.Logging;

namespace Omnichannel.Sdk;

// The virtual clock: replays and tests move time by hand, stopping at every wake-up and outbox entry due on the way.
public sealed partial class OmnichannelEngine
{
    /// <summary>
    /// For replays and tests on a virtual clock: moves the clock to <paramref name="instant"/> through
    /// <paramref name="setClock"/>, stopping at every pending wake-up (and, when transports are registered, every outbox
    /// entry falling due) on the way and running it, so that time-driven changes and deliveries happen at their exact
    /// instants and in order. A send whose transport has not answered for five seconds of real time is taken as waiting on
    /// the clock: its <c>Delivery.SendTimeout</c> is one more instant to stop at (the attempt ends there) when it falls
    /// within the span; when it falls after, the call returns with that send still in flight.
    /// </summary>
    /// <param name="instant">Where the clock ends; it never moves backwards.</param>
    /// <param name="setClock">Sets the virtual clock (for example <c>FakeTimeProvider.SetUtcNow</c>).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <exception cref="InvalidOperationException">A wake-up stays due after it ran (a failing store, for instance).</exception>
    /// <remarks>Hidden from IntelliSense: drives the engine by hand, for replays on a virtual clock and for test kits (<c>OmnichannelTestHost</c> calls it); an application never needs it.</remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public async Task AdvanceVirtualClockAsync(DateTimeOffset instant, Action<DateTimeOffset> setClock, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(setClock);
        DateTimeOffset? previousWake = null, previousSend = null, previousTimeOut = null;
        Task? dispatching = null; // the run below started for an entry falling due, while its sends may wait on the clock
        while (true)
        {
            // What the engine's own timers started (a wake-up run, sends in flight) finishes before the clock moves on,
            // so its outbox rows and outcomes land at this instant, on every store. A send whose transport does not answer
            // (a hung provider in a test) ends only at its time-out, on this clock: it is then one more instant to move to.
            await SegmentsCaughtUpAsync(cancellationToken).ConfigureAwait(false);
            await _dueGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            _dueGate.Release();
            var waitingOnClock = await SettleSendsOnVirtualClockAsync(dispatching, cancellationToken).ConfigureAwait(false);
            if (dispatching is { IsCompleted: true })
            {
                await dispatching.ConfigureAwait(false); // its failure is the caller's, as when it was awaited here
                dispatching = null;
            }

            var wake = await GetNextWakeUpAsync(cancellationToken).ConfigureAwait(false);
            var send = _delivery.HasTransports ? await _store.GetNextOutboxDueAsync(ClaimChannels, cancellationToken).ConfigureAwait(false) : null;

            // A dispatch run the engine's timer started (a message planned just before this call) may have claimed after
            // the wait above and before these reads: they then show its lease's end, not the message, and the clock would
            // move on (or this return) with the send and its outcome still under way. Its claim was registered under the
            // dispatch gate, so a look now finds it; wait for it (at the top of the loop), then read again.
            if (_delivery.HasTransports && await SendsInFlightAsync(cancellationToken).ConfigureAwait(false) is { Count: > 0 } sends
                && sends.Count(t => !t.IsCompleted) > (waitingOnClock?.Count ?? 0))
            {
                LogClockWaitsForSends(_logger, sends.Count);
                continue;
            }

            var timeOut = waitingOnClock?.At;
            if (Earliest(Earliest(wake, send), timeOut) is not { } next || next > instant)
            {
                break;
            }

            if (next > _time.GetUtcNow())
            {
                setClock(next);
            }

            if (wake == next)
            {
                if (previousWake == next)
                {
                    throw new InvalidOperationException($"A profile wake-up at {next:O} stays due after running; see the engine's log.");
                }

                previousWake = next;
                await RunDueAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (send == next)
            {
                if (previousSend == next)
                {
                    throw new InvalidOperationException($"An outbox entry due at {next:O} stays due after dispatching; see the engine's log.");
                }

                previousSend = next;
                dispatching = RunDispatchAsync(cancellationToken); // held for quiet hours or a retry: out on time
            }
            else
            {
                // The clock is at the time-out of a send waiting for its transport: the attempt ends now (the loop waits for it).
                if (previousTimeOut == next)
                {
                    throw new InvalidOperationException($"A send waiting for its transport past its time-out at {next:O} did not end; is the engine's TimeProvider the clock being moved?");
                }

                previousTimeOut = next;
            }
        }

        if (dispatching is not null)
        {
            // Its sends wait for transports whose time-outs fall after the instant: they end when the clock passes them.
            _ = dispatching.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        // Nothing is due up to the instant any more.
        if (instant > _time.GetUtcNow())
        {
            setClock(instant);
        }
    }

    /// <summary>How long (real time) a send may wait for its transport before a virtual clock's advance takes it as waiting on the clock.</summary>
    private static readonly TimeSpan VirtualClockTransportGrace = TimeSpan.FromSeconds(5);

    // Waits for the sends in flight (and the loop's own dispatch run). Null once none is left; otherwise, when every send
    // still in flight has been waiting for its transport for the grace (real time: under a virtual clock a transport that
    // answers does so at once, and one that does not answers only at its time-out), the earliest of their time-outs and how
    // many they are. A transport answering asynchronously in real time is waited for as before, within the grace.
    private async Task<(DateTimeOffset At, int Count)?> SettleSendsOnVirtualClockAsync(Task? dispatching, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (dispatching is null or { IsCompleted: true } && _inFlight.IsEmpty)
            {
                // Nothing sent (a replay's every stop): the wait as before, without copying the sends.
                await WaitForSendsInFlightAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }

            var unfinished = (await SendsInFlightAsync(cancellationToken).ConfigureAwait(false)).Where(t => !t.IsCompleted).ToList();
            if (unfinished.Count == 0 && dispatching is null or { IsCompleted: true })
            {
                await WaitForSendsInFlightAsync(cancellationToken).ConfigureAwait(false); // a failed send's fault, as before
                return null;
            }

            var sends = unfinished.Count;
            if (dispatching is { IsCompleted: false })
            {
                unfinished.Add(dispatching);
            }

            var all = Task.WhenAll(unfinished);
            using (var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var delay = Task.Delay(VirtualClockTransportGrace, TimeProvider.System, grace.Token);
                var first = await Task.WhenAny(all, delay).ConfigureAwait(false);
                await grace.CancelAsync().ConfigureAwait(false);
                if (first == all)
                {
                    await all.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                    continue;
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            var waiting = _awaitingTransports.Values.ToList();
            if (sends > 0 && waiting.Count >= sends)
            {
                return (waiting.Min(), sends);
            }
        }
    }

    [LoggerMessage(97, LogLevel.Debug, "The virtual clock waits for {Count} send(s) a dispatch run of the engine's timer claimed while it looked for the next due instant")]
    private static partial void LogClockWaitsForSends(ILogger logger, int count);
}
