using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>Issue 13, section 3: options that pass validation work; values are checked against each other too.</summary>
public sealed class OptionRangeTests
{
    public static TheoryData<string, Action<OmnichannelOptions>> OutOfRange => new()
    {
        { "MaxClockSkew", o => o.MaxClockSkew = TimeSpan.MaxValue },
        { "MaxClockSkew", o => o.MaxClockSkew = TimeSpan.FromDays(2) },
        { "MaxClockSkew", o => o.MaxClockSkew = TimeSpan.MinValue },
        { "DeduplicationRetention", o => o.DeduplicationRetention = TimeSpan.MaxValue },
        { "DeduplicationRetention", o => o.DeduplicationRetention = TimeSpan.Zero },
        { "MaxPropertiesBytes", o => o.MaxPropertiesBytes = int.MaxValue },
        { "MaxTraitsBytes", o => o.MaxTraitsBytes = 0 },
        { "MaxJsonDepth", o => o.MaxJsonDepth = 64 },
        { "MaxJsonDepth", o => o.MaxJsonDepth = 0 },
        { "MaxJsonMembers", o => o.MaxJsonMembers = -1 },
        { "MaxContextValueLength", o => o.MaxContextValueLength = 0 },
        { "QueueCapacity", o => o.QueueCapacity = 0 },
        { "MaxCommitAttempts", o => o.MaxCommitAttempts = int.MaxValue },
        { "ProfileCacheSize", o => o.ProfileCacheSize = -1 },
        { "Delivery.Lease", o => o.Delivery.Lease = TimeSpan.MaxValue },
        { "Delivery.SendTimeout", o => o.Delivery.SendTimeout = TimeSpan.MaxValue },
        { "Delivery.RetryDelay", o => o.Delivery.RetryDelay = TimeSpan.MaxValue },
        { "Delivery.Retry.Delay", o => o.Delivery.Retry!.Delay = TimeSpan.MaxValue },
        { "Delivery.Retry.MaxRetryAttempts", o => o.Delivery.Retry!.MaxRetryAttempts = int.MaxValue },
        { "Delivery.MaxAttempts", o => o.Delivery.MaxAttempts = int.MaxValue },
        { "Delivery.CircuitBreaker.BreakDuration", o => o.Delivery.CircuitBreaker.BreakDuration = TimeSpan.MaxValue },
        { "Delivery.FrequencyCaps[0].Window", o => o.Delivery.FrequencyCaps.Add(new(3, TimeSpan.MaxValue)) },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Validate_ValueOutOfRange_IsRefusedNamingTheOption(string option, Action<OmnichannelOptions> configure)
    {
        var options = new OmnichannelOptions();
        configure(options);

        var problems = options.Validate();

        Assert.Contains(problems, p => p.StartsWith(option, StringComparison.Ordinal));
    }

    [Fact]
    public void Engine_WithMaxClockSkewMaxValue_IsRefusedAtStartNotAtEveryTrack()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new OmnichannelEngine(new OmnichannelOptions { MaxClockSkew = TimeSpan.MaxValue }, new InMemoryOmnichannelStore()));
        Assert.Contains("MaxClockSkew", ex.Message);
    }

    [Fact]
    public void Defaults_AreValid()
    {
        Assert.Empty(new OmnichannelOptions().Validate());
    }

    [Fact]
    public void Validate_LeaseShorterThanTheLongestSend_IsRefused()
    {
        var options = new OmnichannelOptions();
        options.Delivery.Lease = TimeSpan.FromSeconds(1);
        options.Delivery.SendTimeout = TimeSpan.FromSeconds(2);
        options.Delivery.Retry!.MaxRetryAttempts = 1;

        var problem = Assert.Single(options.Validate());

        Assert.StartsWith("Delivery.Lease", problem, StringComparison.Ordinal);
        Assert.Contains("sends it twice", problem);
    }

    [Theory]
    [InlineData(30, 2, 200, 91.5, false)] // 30 s × 3 + 0.2 s × 7 = 91.4 s
    [InlineData(30, 2, 200, 91.3, true)]
    [InlineData(10, 0, 0, 10, true)]
    [InlineData(10, 0, 0, 10.001, false)]
    public void Validate_LeaseIsComparedWithTimeoutTimesTriesPlusBackoff(int timeoutSeconds, int quickRetries, int quickDelayMs, double leaseSeconds, bool refused)
    {
        var options = new OmnichannelOptions();
        options.Delivery.SendTimeout = TimeSpan.FromSeconds(timeoutSeconds);
        if (quickRetries == 0)
        {
            options.Delivery.Retry = null; // no quick retries
        }
        else
        {
            options.Delivery.Retry!.MaxRetryAttempts = quickRetries;
            options.Delivery.Retry.Delay = TimeSpan.FromMilliseconds(quickDelayMs);
        }

        options.Delivery.Lease = TimeSpan.FromSeconds(leaseSeconds);

        Assert.Equal(refused, options.Validate().Any(p => p.StartsWith("Delivery.Lease", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("Delivery.CircuitBreaker.FailureRatio")]
    [InlineData("Delivery.CircuitBreaker.MinimumThroughput")]
    [InlineData("Delivery.Retry.MaxRetryAttempts")]
    public void Validate_PollysOwnRules_AreCheckedAtStartUp_WithTheirPath(string path)
    {
        var options = new OmnichannelOptions();
        switch (path)
        {
            case "Delivery.CircuitBreaker.FailureRatio": options.Delivery.CircuitBreaker.FailureRatio = 2; break;
            case "Delivery.CircuitBreaker.MinimumThroughput": options.Delivery.CircuitBreaker.MinimumThroughput = 1; break;
            default: options.Delivery.Retry!.MaxRetryAttempts = -1; break;
        }

        Assert.Contains(options.Validate(), p => p.StartsWith(path, StringComparison.Ordinal));
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new OmnichannelEngine(options, new Storage.InMemoryOmnichannelStore()));
    }

    [Fact]
    public void Validate_RetryBackoffThatDoublesPastAMonth_IsRefused()
    {
        var options = new OmnichannelOptions();
        options.Delivery.RetryDelay = TimeSpan.FromHours(1);
        options.Delivery.MaxAttempts = 20; // 1 h × 2^18 before the last attempt

        Assert.Contains(options.Validate(), p => p.StartsWith("Delivery.RetryDelay", StringComparison.Ordinal) && p.Contains("MaxAttempts"));
    }

    [Fact]
    public async Task Host_WithLeaseShorterThanASend_FailsAtStart()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddOmnichannel(o =>
        {
            o.Delivery.Lease = TimeSpan.FromSeconds(5);
            o.Delivery.SendTimeout = TimeSpan.FromSeconds(30);
        });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.StartsWith("Delivery.Lease", StringComparison.Ordinal));
    }
}
