using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk;

// Host code the engine calls (a renderer, a store, a logger, a metrics or trace listener) and that calls back into it.
public sealed partial class OmnichannelEngine
{
    // Set for the whole flow of a partition's worker: whatever it awaits or starts inherits it.
    private static readonly AsyncLocal<OmnichannelEngine?> OnWorker = new();

    /// <summary>
    /// Refuses a call that would wait for a partition's worker when it comes from inside that engine's own work: the
    /// worker waits for the host code that made the call, so the call would wait for ever (with one partition, or a full
    /// queue, always; with several, whenever two workers wait for each other).
    /// </summary>
    private void ThrowIfOnWorker(string operation)
    {
        if (ReferenceEquals(OnWorker.Value, this))
        {
            throw new InvalidOperationException(
                $"{operation} was called from inside the engine's own work (a renderer, a store, a logger or a metrics or trace listener running on a " +
                "partition's worker); it would wait for that worker, which waits for the call: a deadlock. Call it from outside the engine (a transport, " +
                "a hosted service), or start it without awaiting it under ExecutionContext.SuppressFlow().");
        }
    }

    // Set for the flow of the engine's own background work (a send, a wake-up run, a look, a purge, a catch-up), which
    // disposal waits for: a call to dispose from there (a transport told its account is suspended, a logger) cannot wait.
    private static readonly AsyncLocal<OmnichannelEngine?> InBackground = new();

    /// <summary>
    /// Background work the engine starts (timers, sends) is not the worker's, even when a worker's commit started it; it is
    /// still the engine's own work, which disposal waits for.
    /// </summary>
    private void LeaveWorker()
    {
        OnWorker.Value = null;
        InBackground.Value = this;
    }

    /// <summary>Whether the caller runs inside work of this engine that its disposal waits for (a worker's, or its own background work's).</summary>
    private bool InOwnWork => ReferenceEquals(OnWorker.Value, this) || ReferenceEquals(InBackground.Value, this);

    /// <summary>
    /// Calls the renderer, bounded by <see cref="DeliveryOptions.RenderTimeout"/> on the engine's clock: a renderer that
    /// ignores its token is abandoned (its token cancelled) and the call fails with a <see cref="TimeoutException"/>.
    /// Only the caller's cancellation escapes as an <see cref="OperationCanceledException"/>.
    /// </summary>
    private async ValueTask<OutboundMessage?> RenderBoundedAsync(IMessageRenderer renderer, MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var timeout = _options.Delivery.RenderTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<OutboundMessage?>? render = null;
        try
        {
            var rendering = renderer.RenderAsync(request, channel, address, profile, now, deadline.Token);
            if (rendering.IsCompletedSuccessfully)
            {
                return rendering.Result; // rendered at once (a template in memory): no task, no timer, as waiting for it gives
            }

            render = rendering.AsTask();
            return await render.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex) when (!cancellationToken.IsCancellationRequested && render is not null && !ReferenceEquals(render.Exception?.InnerException, ex))
        {
            // Only the wait's own time-out: a TimeoutException the renderer threw (its CMS or HTTP client timed out) is its
            // failure, reported as it is, not as RenderTimeout (raising that setting would not help).
            await deadline.CancelAsync().ConfigureAwait(false);
            throw new TimeoutException($"the renderer did not answer within {timeout} (Delivery.{nameof(DeliveryOptions.RenderTimeout)})");
        }
    }

    /// <summary>An exception host code threw that is not the caller's own cancellation (an <see cref="OperationCanceledException"/> of its own, an HTTP time-out, included).</summary>
    private static bool NotCancelledBy(Exception ex, CancellationToken cancellationToken) =>
        ex is not OutOfMemoryException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested);
}
