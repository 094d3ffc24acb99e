using System.Reflection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of audits U29 (cancellation), U30 (store cancellation) and U31 (identifiers in unusual forms).</summary>
public sealed class AuditReview30Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A store around another: a hook before the n-th commit, and a commit that waits for a gate.</summary>
    public class CountingStore : DispatchProxy
    {
        private int _commits;

        public IOmnichannelStore Inner { get; set; } = null!;

        public int CancelAtCommit { get; set; }

        public CancellationTokenSource? Cts { get; set; }

        public TaskCompletionSource? Hold { get; set; }

        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static (IOmnichannelStore Store, CountingStore Hook) Around(IOmnichannelStore inner)
        {
            var store = DispatchProxy.Create<IOmnichannelStore, CountingStore>();
            var hook = (CountingStore)(object)store;
            hook.Inner = inner;
            return (store, hook);
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOmnichannelStore.CommitAsync))
            {
                if (Interlocked.Increment(ref _commits) == CancelAtCommit)
                {
                    Cts?.Cancel();
                }

                if (Hold is { } hold)
                {
                    Hold = null;
                    Held.TrySetResult();
                    return Later(hold.Task, args!);
                }
            }

            return Call(targetMethod, args);
        }

        private object? Call(MethodInfo m, object?[]? args)
        {
            try
            {
                return m.Invoke(Inner, args);
            }
            catch (TargetInvocationException ex)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException!).Throw();
                throw;
            }
        }

        private async ValueTask<CommitResult> Later(Task gate, object?[] args)
        {
            await gate.ConfigureAwait(false);
            return await Inner.CommitAsync((ProfileCommit)args[0]!, (CancellationToken)args[1]!).ConfigureAwait(false);
        }
    }

    private static OmnichannelEngine NewEngine(IOmnichannelStore store, FakeTimeProvider time, int partitions, OmnichannelOptions? options = null)
    {
        options ??= new OmnichannelOptions();
        options.Partitions = partitions;
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return new OmnichannelEngine(options, store, time);
    }

    private static CustomerEvent Event(string id, string type, FakeTimeProvider time, params Identifier[] ids) =>
        new() { Id = id, Type = type, Timestamp = time.GetUtcNow(), Identifiers = ids };

    // Twenty customers over four partitions, two of them linked across partitions (an anonymous visit, then the sign-up
    // that names it), each with a second event: cancelled at the n-th commit, the batch is applied whole and reported,
    // or throws with nothing of it applied — never half, never a hang.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(20)]
    [InlineData(39)]
    [InlineData(1000)]
    public async Task ABatchForManyCustomers_CancelledAtAnyCommit_IsAppliedWholeOrNotAtAll(int cancelAt)
    {
        var time = new FakeTimeProvider(Start);
        var (store, hook) = CountingStore.Around(new InMemoryOmnichannelStore());
        await using var engine = NewEngine(store, time, 4);
        using var cts = new CancellationTokenSource();
        hook.Cts = cts;
        hook.CancelAtCommit = cancelAt;
        var events = new List<CustomerEvent>();
        for (var i = 0; i < 20; i++)
        {
            events.Add(Event($"a{i}", "page.viewed", time, Identifier.AnonymousId($"anon-{i}")));
            events.Add(Event($"b{i}", "user.signed_up", time, Identifier.CustomerId($"c-{i}"), Identifier.AnonymousId($"anon-{i}")));
        }

        IReadOnlyList<TrackResult>? results = null;
        try
        {
            results = await engine.TrackBatchAsync(events, cts.Token).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
        }

        var found = 0;
        for (var i = 0; i < 20; i++)
        {
            found += await engine.GetProfileAsync(Identifier.CustomerId($"c-{i}")) is { } p && p.Identifiers.Any(x => x.Value == $"anon-{i}") ? 1 : 0;
            found += await engine.GetProfileAsync(Identifier.AnonymousId($"anon-{i}")) is null ? 0 : 1;
        }

        if (results is null)
        {
            Assert.Equal(0, found);
        }
        else
        {
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
            Assert.Equal(40, found);
        }

        // The engine goes on.
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("after", "page.viewed", time, Identifier.CustomerId("z")))).Status);
    }

    // A worker busy with another caller's commit: the batch, cancelled while queued behind it, throws and is withdrawn
    // whole; released, the worker applies nothing of it and goes on.
    [Fact]
    public async Task ABatchCancelledWhileQueued_Throws_AndNothingOfItIsApplied()
    {
        var time = new FakeTimeProvider(Start);
        var (store, hook) = CountingStore.Around(new InMemoryOmnichannelStore());
        await using var engine = NewEngine(store, time, 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hook.Hold = release;
        var first = engine.TrackAsync(Event("first", "page.viewed", time, Identifier.CustomerId("first"))).AsTask();
        await hook.Held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        using var cts = new CancellationTokenSource();
        var batch = engine.TrackBatchAsync([.. Enumerable.Range(0, 10).Select(i => Event($"q{i}", "page.viewed", time, Identifier.CustomerId($"q-{i}")))], cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batch.WaitAsync(TimeSpan.FromSeconds(30)));
        release.SetResult();
        Assert.Equal(TrackStatus.Accepted, (await first.WaitAsync(TimeSpan.FromSeconds(30))).Status);
        Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("after", "page.viewed", time, Identifier.CustomerId("z")))).Status);
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await engine.GetProfileAsync(Identifier.CustomerId($"q-{i}")));
        }
    }

    // U31 refuses ann@example..com; a version before it stored it as her email. Her erasure request names that address:
    // it must find and erase her, not answer "nobody holds it" and leave her data (GDPR art. 17).
    [Fact]
    public async Task AnAddressStoredBeforeU31_IsStillFound_ErasedAndLifted()
    {
        var time = new FakeTimeProvider(Start);
        var inner = new InMemoryOmnichannelStore();
        var old = new OmnichannelOptions();
        old.Identity.AddType(new IdentifierRule(IdentifierTypes.Email)
        {
            Limit = 5,
            Priority = 80,
            Normalizer = (string raw, IdentityOptions _, out string n, out string? e) =>
            {
                n = raw.Trim().ToLowerInvariant(); // the shape check before U31 let an empty domain label through
                e = null;
                return true;
            },
        });
        await using (var before = NewEngine(inner, time, 1, old))
        {
            Assert.Equal(TrackStatus.Accepted, (await before.TrackAsync(Event("s1", "user.signed_up", time, Identifier.CustomerId("ann"), Identifier.Email("ann@example..com")))).Status);
        }

        await using var engine = NewEngine(inner, time, 1);
        var legacy = Identifier.Email("Ann@Example..com ");
        Assert.NotNull(await engine.GetProfileAsync(legacy));
        Assert.True(await engine.EraseProfileAsync(legacy));
        Assert.Null(await engine.GetProfileAsync(Identifier.CustomerId("ann")));
        Assert.True(await engine.IsSuppressedAsync(legacy));
        Assert.True(await engine.LiftErasureAsync(legacy));
        Assert.False(await engine.IsSuppressedAsync(legacy));

        // Still refused on the way in.
        Assert.Equal(TrackStatus.Rejected, (await engine.TrackAsync(Event("s2", "user.signed_up", time, Identifier.Email("ann@example..com")))).Status);
    }

    [Theory]
    [InlineData("ann@my-shop.example.com", "ann@my-shop.example.com")]
    [InlineData("ann@xn--bcher-kva.de", "ann@bücher.de")]
    [InlineData("ann@[192.168.0.1]", "ann@[192.168.0.1]")]
    [InlineData("ann@a.b.c.d.example.co.uk", "ann@a.b.c.d.example.co.uk")]
    [InlineData("\"a..b\"@x.io", "\"a..b\"@x.io")]
    [InlineData("\"a.b\"@x.io", "a.b@x.io")]
    [InlineData("a-b_c+d@x-y.io", "a-b_c+d@x-y.io")]
    public void Email_ValidOddForms_StillAccepted(string raw, string expected)
    {
        Assert.True(IdentifierNormalizers.Email(raw, new IdentityOptions(), out var n, out var error), error);
        Assert.Equal(expected, n);
    }

    // The extension look (a regex with a time-out) runs on the refusal path: on hostile input it must refuse, not throw
    // RegexMatchTimeoutException out of a normaliser whose contract is a bool and an error.
    [Theory]
    [InlineData("digits")]
    [InlineData("spaced")]
    [InlineData("x-run")]
    public void Phone_HostileLongInput_IsRefusedWithoutThrowing(string shape)
    {
        var s = shape switch
        {
            "digits" => new string('1', 30_000_000) + "a",
            "spaced" => string.Concat(Enumerable.Repeat("1 ", 10_000_000)) + "a",
            _ => "1x" + new string('1', 20_000_000) + new string(' ', 5_000_000) + "a",
        };
        Assert.False(IdentifierNormalizers.Phone(s, new IdentityOptions(), out _, out var error));
        Assert.StartsWith("is not a phone number", error);
    }

    [Theory]
    [InlineData("+1 415 555 2671")]
    [InlineData("+44 (0)20 7946 0958")]
    [InlineData("tel:+1-415-555-2671")]
    public void Phone_ValidNumbers_AreNotTakenForExtensions(string raw) =>
        Assert.True(IdentifierNormalizers.Phone(raw, new IdentityOptions(), out _, out var error), error);
}
