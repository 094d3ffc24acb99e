namespace Omnichannel.Sdk.Storage;

/// <summary>
/// Optional for a store that several processes share: tells an engine soon after work was committed to the store (an
/// outbox entry planned by any process), so that the engine looks for it at once instead of at its next
/// <see cref="OmnichannelOptions.StorePollInterval"/>. A store without it is looked at every interval only.
/// </summary>
/// <remarks>
/// A signal carries nothing but "look now": it may come more than once per commit, for this process's own commits, or with
/// nothing new to find, and one may be missed (a dropped connection); the engine's timed look stays the backstop. The
/// engine subscribes only when <see cref="OmnichannelOptions.StorePollInterval"/> is set.
/// </remarks>
public interface IStoreWorkSignal
{
    /// <summary>Calls <paramref name="onWork"/> (on any thread; it must return quickly) whenever work may have been committed.</summary>
    /// <param name="onWork">What to call.</param>
    /// <returns>Ends the subscription when disposed.</returns>
    IDisposable SubscribeToWork(Action onWork);
}
