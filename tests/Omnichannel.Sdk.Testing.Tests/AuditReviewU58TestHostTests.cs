using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>Review of audit U58: the test host's clean-up when the registration fails to build the engine.</summary>
public sealed class AuditReviewU58TestHostTests
{
    /// <summary>An application's store that only implements <see cref="IAsyncDisposable"/> (as the SDK's PostgreSQL store did before U58).</summary>
    public class AsyncOnlyStore : System.Reflection.DispatchProxy, IAsyncDisposable
    {
        private IOmnichannelStore? _inner;

        public bool Disposed { get; private set; }

        internal static IOmnichannelStore Create()
        {
            var proxy = Create<IOmnichannelStore, AsyncOnlyStore>();
            ((AsyncOnlyStore)(object)proxy)._inner = new InMemoryOmnichannelStore();
            return proxy;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }

    // The test host disposed its container with Dispose() when building the engine failed (a transport's factory threw).
    // A store already resolved that is only IAsyncDisposable made that Dispose() throw the container's "only implements
    // IAsyncDisposable. Use DisposeAsync", which replaced the real error: the test author saw a disposal problem, not the
    // transport's missing key, and the store was left undisposed.
    [Fact]
    public void AnEngineThatFailsToBuild_ReportsItsOwnError_AndTheStoreIsDisposed()
    {
        var store = AsyncOnlyStore.Create();
        var ex = Assert.Throws<InvalidOperationException>(() => OmnichannelTestHost.Create(
            s => s.AddOmnichannel(o => o.Delivery.EmailFrom = "shop@example.com")
                .UseStore(_ => store)
                .AddTransport("provider", ChannelNames.Email, _ => throw new InvalidOperationException("the provider's API key is missing")),
            new OmnichannelTestHostOptions { KeepStore = true, RecordTransports = false }));
        Assert.Contains("API key is missing", ex.Message, StringComparison.Ordinal);
        Assert.True(((AsyncOnlyStore)(object)store).Disposed);
    }
}
