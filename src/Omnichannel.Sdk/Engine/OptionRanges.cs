using System.Globalization;

namespace Omnichannel.Sdk;

/// <summary>
/// The ranges of <see cref="OmnichannelOptions"/> values and the rules between them: every value the engine adds to an
/// instant, multiplies or allocates by is bounded here, so options that pass validation cannot overflow at run time.
/// </summary>
internal static class OptionRanges
{
    /// <summary>The longest back-off before a message's last dispatch attempt.</summary>
    public static readonly TimeSpan LongestRetryBackoff = TimeSpan.FromDays(30);

    public static void Check(OmnichannelOptions o, List<string> errors)
    {
        Range(errors, nameof(o.MaxClockSkew), o.MaxClockSkew, TimeSpan.Zero, TimeSpan.FromDays(1));
        Range(errors, nameof(o.MaxPropertiesBytes), o.MaxPropertiesBytes, 1, 1024 * 1024);
        Range(errors, nameof(o.MaxTraitsBytes), o.MaxTraitsBytes, 1, 1024 * 1024);
        Range(errors, nameof(o.MaxJsonDepth), o.MaxJsonDepth, 1, JsonLimits.HighestMaxDepth);
        Range(errors, nameof(o.MaxJsonMembers), o.MaxJsonMembers, 1, 100_000);
        Range(errors, nameof(o.MaxContextValueLength), o.MaxContextValueLength, 1, 4096);
        Range(errors, nameof(o.MaxTraitsPerProfile), o.MaxTraitsPerProfile, 1, 100_000);
        Range(errors, nameof(o.DeduplicationRetention), o.DeduplicationRetention, TimeSpan.FromMinutes(1), TimeSpan.FromDays(3650));
        if (o.StorePollInterval is { } poll)
        {
            Range(errors, nameof(o.StorePollInterval), poll, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        }

        Range(errors, nameof(o.QueueCapacity), o.QueueCapacity, 1, 1_000_000);
        Range(errors, nameof(o.MaxCommitAttempts), o.MaxCommitAttempts, 1, 1_000);
        Range(errors, nameof(o.ProfileCacheSize), o.ProfileCacheSize, 0, 10_000_000);
        Range(errors, nameof(o.ProfileCacheBytes), o.ProfileCacheBytes, 0, 1L << 40);

        // Delivery: the lower bounds are DeliveryOptions' own; here the upper bounds and the rules between values.
        var d = o.Delivery;
        var before = errors.Count;
        Max(errors, "Delivery." + nameof(d.Lease), d.Lease, TimeSpan.FromDays(1));
        Max(errors, "Delivery." + nameof(d.SendTimeout), d.SendTimeout, TimeSpan.FromHours(1));
        Max(errors, "Delivery." + nameof(d.RenderTimeout), d.RenderTimeout, TimeSpan.FromHours(1));
        Max(errors, "Delivery." + nameof(d.RetryDelay), d.RetryDelay, TimeSpan.FromDays(1));
        if (d.Retry is { } retry)
        {
            Range(errors, "Delivery.Retry." + nameof(retry.Delay), retry.Delay, TimeSpan.Zero, TimeSpan.FromMinutes(1));
            Max(errors, "Delivery.Retry." + nameof(retry.MaxRetryAttempts), retry.MaxRetryAttempts, 10);
        }

        Max(errors, "Delivery." + nameof(d.MaxAttempts), d.MaxAttempts, 100);
        Max(errors, "Delivery." + nameof(d.DispatchBatchSize), d.DispatchBatchSize, 10_000);
        if (d.CircuitBreaker is { } breaker)
        {
            Max(errors, "Delivery.CircuitBreaker." + nameof(breaker.SamplingDuration), breaker.SamplingDuration, TimeSpan.FromDays(1));
            Max(errors, "Delivery.CircuitBreaker." + nameof(breaker.BreakDuration), breaker.BreakDuration, TimeSpan.FromDays(1));
            Max(errors, "Delivery.CircuitBreaker." + nameof(breaker.MinimumThroughput), breaker.MinimumThroughput, 1_000_000);
        }
        if (d.SendsPerSecondPerTransport is { } perSecond)
        {
            Max(errors, "Delivery." + nameof(d.SendsPerSecondPerTransport), perSecond, 100_000);
        }

        if (d.Unsubscribe.Endpoint is { } unsubscribe)
        {
            if (!unsubscribe.IsAbsoluteUri || !(unsubscribe.Scheme == Uri.UriSchemeHttps || (unsubscribe.Scheme == Uri.UriSchemeHttp && unsubscribe.IsLoopback)) || unsubscribe.Fragment.Length > 0)
            {
                errors.Add($"Delivery.Unsubscribe.Endpoint must be an absolute https URL without a fragment (RFC 8058; http only for a loopback host) (was {unsubscribe})");
            }

            if (d.Unsubscribe.Mailto is { } mailto
                && (mailto.IndexOf('@') is var at && (at <= 0 || at == mailto.Length - 1)
                    || mailto.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or '?' or '"' or '(' or ')')))
            {
                errors.Add("Delivery.Unsubscribe.Mailto must be a bare email address (local@domain, no spaces, angle brackets, commas or query) (it goes into the List-Unsubscribe header)");
            }

            if (o.Privacy.HashKey is null)
            {
                errors.Add("Delivery.Unsubscribe.Endpoint needs Privacy.HashKey: unsubscribe links are signed with it, and must stay valid across restarts");
            }
        }

        for (var i = 0; i < d.FrequencyCaps.Count; i++)
        {
            if (d.FrequencyCaps[i]?.Window is { } window)
            {
                Max(errors, $"Delivery.{nameof(d.FrequencyCaps)}[{i}].{nameof(Delivery.FrequencyCap.Window)}", window, TimeSpan.FromDays(3660));
            }
        }

        if (errors.Count > before || d.Lease <= TimeSpan.Zero || d.SendTimeout <= TimeSpan.Zero || d.Retry is { MaxRetryAttempts: < 1 } || d.MaxAttempts < 1 || d.RetryDelay < TimeSpan.Zero)
        {
            return; // the rules between values only make sense on values in range
        }

        var longestSend = LongestSend(d);
        if (d.Lease <= longestSend)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"Delivery.{nameof(d.Lease)} ({d.Lease}) must be longer than the longest one send can take, {longestSend}: {nameof(d.SendTimeout)} ({d.SendTimeout}) × (Retry.MaxRetryAttempts ({QuickRetries(d)}) + 1) plus the quick retries' back-off (up to Retry.Delay × (2^(Retry.MaxRetryAttempts + 1) − 1)); otherwise another dispatcher re-claims a message still being sent and sends it twice. Lengthen the lease or shorten the time-out."));
        }

        // The back-off before attempt n is RetryDelay × 2^(n − 2) (with up to 20 % jitter).
        var longestBackoff = d.MaxAttempts < 2 ? 0 : d.RetryDelay.TotalSeconds * Math.Pow(2, d.MaxAttempts - 2) * 1.2;
        if (longestBackoff > LongestRetryBackoff.TotalSeconds)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture,
                $"Delivery.{nameof(d.RetryDelay)} ({d.RetryDelay}) doubled for each of {nameof(d.MaxAttempts)} ({d.MaxAttempts}) attempts waits up to {longestBackoff / 86400:0.#} days before the last one; at most {LongestRetryBackoff.TotalDays:0} days are allowed. Lower the delay or the attempts."));
        }
    }

    /// <summary>The longest one dispatch attempt of one message through one transport can take.</summary>
    public static TimeSpan LongestSend(Delivery.DeliveryOptions d) =>
        d.SendTimeout * (QuickRetries(d) + 1) + (d.Retry?.Delay ?? TimeSpan.Zero) * ((1L << (QuickRetries(d) + 1)) - 1);

    private static int QuickRetries(Delivery.DeliveryOptions d) => d.Retry?.MaxRetryAttempts ?? 0;

    private static void Range(List<string> errors, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be between {min:N0} and {max:N0}; it is {value:N0}."));
        }
    }

    private static void Range(List<string> errors, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{name} must be between {Show(min)} and {Show(max)}; it is {Show(value)}.");
        }
    }

    private static void Max(List<string> errors, string name, int value, int max)
    {
        if (value > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be at most {max:N0}; it is {value:N0}."));
        }
    }

    private static void Max(List<string> errors, string name, TimeSpan value, TimeSpan max)
    {
        if (value > max)
        {
            errors.Add($"{name} must be at most {Show(max)}; it is {Show(value)}.");
        }
    }

    private static string Show(TimeSpan t) => t == TimeSpan.MaxValue ? "TimeSpan.MaxValue" : t == TimeSpan.MinValue ? "TimeSpan.MinValue" : t.ToString("c", CultureInfo.InvariantCulture);
}
