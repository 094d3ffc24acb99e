using System.Text;
using Xunit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Http.Tests;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_test";
    private const string Body = """{"order":"A-1","total":42.5}""";
    private const long Timestamp = 1_700_000_000;

    // Computed independently: printf '1700000000.{"order":"A-1","total":42.5}' | openssl dgst -sha256 -hmac whsec_test
    private const string OpenSslSignature = "v1=67558399773e0820d9be5ea0da6bf2a959319f3608dadf3061e1a6cacc30e337";

    private static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeSeconds(Timestamp);

    [Fact]
    public void Compute_MatchesHmacSha256OfTimestampDotBody()
    {
        Assert.Equal(OpenSslSignature, WebhookSignature.Compute(Secret, Timestamp, Body));
        Assert.Equal(OpenSslSignature, WebhookSignature.Compute(Secret, Timestamp, Encoding.UTF8.GetBytes(Body)));
    }

    [Fact]
    public void Verify_WhenSignatureAndTimestampAreGood_IsValid()
    {
        var result = WebhookSignature.Verify(Secret, "1700000000", OpenSslSignature, Body, SignedAt.AddSeconds(3), TimeSpan.FromMinutes(5));

        Assert.True(result.IsValid);
        Assert.Equal(WebhookVerificationStatus.Valid, result.Status);
    }

    [Fact]
    public void Verify_WhenBodyIsTampered_IsSignatureMismatch()
    {
        var tampered = Body.Replace("42.5", "0.5", StringComparison.Ordinal);

        var result = WebhookSignature.Verify(Secret, "1700000000", OpenSslSignature, tampered, SignedAt, TimeSpan.FromMinutes(5));

        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, result.Status);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Verify_WhenSecretIsWrong_IsSignatureMismatch()
    {
        var result = WebhookSignature.Verify("whsec_other", "1700000000", OpenSslSignature, Body, SignedAt, TimeSpan.FromMinutes(5));

        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, result.Status);
    }

    [Fact]
    public void Verify_WhenTimestampHeaderIsRefreshedOnAnOldSignature_IsSignatureMismatch()
    {
        // A replayer cannot just bump the timestamp: it is part of what is signed.
        var result = WebhookSignature.Verify(Secret, "1700000600", OpenSslSignature, Body, SignedAt.AddSeconds(600), TimeSpan.FromMinutes(5));

        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, result.Status);
    }

    [Theory]
    [InlineData(300, WebhookVerificationStatus.Valid)]
    [InlineData(301, WebhookVerificationStatus.TimestampOutsideTolerance)]
    [InlineData(86_400, WebhookVerificationStatus.TimestampOutsideTolerance)]
    [InlineData(-300, WebhookVerificationStatus.Valid)]
    [InlineData(-301, WebhookVerificationStatus.TimestampOutsideTolerance)]
    public void Verify_RejectsTimestampsFartherFromNowThanTheTolerance(int secondsSinceSigning, WebhookVerificationStatus expected)
    {
        var result = WebhookSignature.Verify(
            Secret, "1700000000", OpenSslSignature, Body, SignedAt.AddSeconds(secondsSinceSigning), TimeSpan.FromSeconds(300));

        Assert.Equal(expected, result.Status);
    }

    [Theory]
    [InlineData(null, OpenSslSignature, WebhookVerificationStatus.MissingTimestamp)]
    [InlineData(" ", OpenSslSignature, WebhookVerificationStatus.MissingTimestamp)]
    [InlineData("17e8", OpenSslSignature, WebhookVerificationStatus.MalformedTimestamp)]
    [InlineData("-1", OpenSslSignature, WebhookVerificationStatus.MalformedTimestamp)]
    [InlineData("1700000000", null, WebhookVerificationStatus.MissingSignature)]
    [InlineData("1700000000", "67558399773e0820d9be5ea0da6bf2a959319f3608dadf3061e1a6cacc30e337", WebhookVerificationStatus.MalformedSignature)]
    [InlineData("1700000000", "v1=zz", WebhookVerificationStatus.MalformedSignature)]
    [InlineData("1700000000", "v1=6755", WebhookVerificationStatus.MalformedSignature)]
    [InlineData("1700000000", "v0=67558399773e0820d9be5ea0da6bf2a959319f3608dadf3061e1a6cacc30e337", WebhookVerificationStatus.MalformedSignature)]
    public void Verify_WhenAHeaderIsMissingOrMalformed_SaysWhich(string? timestamp, string? signature, WebhookVerificationStatus expected)
    {
        var result = WebhookSignature.Verify(Secret, timestamp, signature, Body, SignedAt, TimeSpan.FromMinutes(5));

        Assert.Equal(expected, result.Status);
    }

    [Fact]
    public void Verify_WhenSeveralSignaturesAreSentDuringSecretRotation_AcceptsTheMatchingOne()
    {
        var oldSecretSignature = WebhookSignature.Compute("whsec_old", Timestamp, Body);
        var header = $"{oldSecretSignature}, {OpenSslSignature.ToUpperInvariant().Replace("V1=", "v1=", StringComparison.Ordinal)}";

        Assert.True(WebhookSignature.Verify(Secret, "1700000000", header, Body, SignedAt, TimeSpan.FromMinutes(5)).IsValid);
        Assert.True(WebhookSignature.Verify("whsec_old", "1700000000", header, Body, SignedAt, TimeSpan.FromMinutes(5)).IsValid);
        Assert.Equal(
            WebhookVerificationStatus.SignatureMismatch,
            WebhookSignature.Verify("whsec_third", "1700000000", header, Body, SignedAt, TimeSpan.FromMinutes(5)).Status);
    }

    [Fact]
    public void Verify_WhenToleranceIsNegative_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(
            () => WebhookSignature.Verify(Secret, "1700000000", OpenSslSignature, Body, SignedAt, TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void TryGetRetryAfter_ReadsOnlyTransientFailuresThatCarryTheMarker()
    {
        Assert.True(HttpFailureReason.TryGetRetryAfter(DeliveryResult.TransientFailure("HTTP 429 Too Many Requests; retry-after=30s"), out var delay));
        Assert.Equal(TimeSpan.FromSeconds(30), delay);
        Assert.False(HttpFailureReason.TryGetRetryAfter(DeliveryResult.TransientFailure("HTTP 500 Internal Server Error"), out _));
        Assert.False(HttpFailureReason.TryGetRetryAfter(DeliveryResult.PermanentFailure("HTTP 400; retry-after=30s"), out _));
        Assert.False(HttpFailureReason.TryGetRetryAfter(DeliveryResult.Accepted("id"), out _));
    }
}
