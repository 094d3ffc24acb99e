using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the thirty-eighth session's changes (see docs/design-notes.md, "Review of the thirty-eighth session's
/// changes"). Public API and the test kit's fake clock; the serializer's scan directly.
/// </summary>
public sealed class ReviewSession38Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private static SegmentDefinition Segment(string id, string rule) =>
        SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}").Value!;

    private static OmnichannelTestHost Host(IOmnichannelStore store, SegmentDefinition segment, DateTimeOffset at) =>
        OmnichannelTestHost.Create(o => o.Segments.Add(segment), start: at, store: store);

    // One stored document whose fingerprint is not text (a number: a corrupt row, a hand edit) made the scan's GetString
    // throw an InvalidOperationException, which the visit's per-profile catch (JsonException, as deserialising throws)
    // let through: the whole start-up visit stopped, and Bob, widened into "paid" by the deploy, stayed out of it until
    // his next event. Deserialising refuses that one document alone.
    [Theory]
    [InlineData("5")]
    [InlineData("{\"a\": 1}")]
    [InlineData("\"\\udc00\"")]
    public async Task OneStoredDocumentWithAFingerprintThatIsNotText_DoesNotStopTheStartUpVisit(string fingerprint)
    {
        var store = new InMemoryOmnichannelStore();
        string bob;
        await using (var host = Host(store, Segment("paid", """{"trait": "plan", "op": "eq", "value": "pro"}"""), Start))
        {
            await host.TrackAsync(host.Event("profile.updated", [Bob], traits: new { plan = "team" }));
            bob = (await host.ProfileAsync(Bob)).Id;
            Assert.Empty(await host.Engine.GetSegmentMembersAsync("paid"));
        }

        var document = Encoding.UTF8.GetBytes("{\"id\": \"0-bad\", \"createdAt\": \"2026-03-01T00:00:00+00:00\", \"segmentsFingerprint\": " + fingerprint + "}");
        Assert.ThrowsAny<JsonException>(() => ProfileSerializer.Deserialize(document, 1)); // deserialising refuses it (and only it)
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = "0-bad", ExpectedVersion = 0, Document = document })).Status);

        await using (var host = Host(store, Segment("paid", """{"trait": "plan", "op": "in", "value": ["pro", "team"]}"""), Start.AddHours(1)))
        {
            Assert.Equal([bob], await host.Engine.GetSegmentMembersAsync("paid"));
        }
    }

    // The scan says what deserialising says on odd but valid documents: escaped member names, any order, a repeated
    // member (the last value stands: a repeated empty "segmentMemberships" after a full one is no state), null values, a
    // document of an older version with no fingerprint; and refuses what deserialising refuses, with a JsonException.
    [Theory]
    [InlineData("""{"segment\u004Demberships": {"s": "2026-03-01T00:00:00+00:00"}, "segments\u0046ingerprint": "f-1"}""")]
    [InlineData("""{"segmentsFingerprint": "f-1", "segmentChecks": {"s": "2026-03-01T00:00:00+00:00"}, "id": "p"}""")]
    [InlineData("""{"segmentMemberships": {"s": "2026-03-01T00:00:00+00:00"}, "segmentMemberships": {}}""")]
    [InlineData("""{"segmentMemberships": {}, "segmentMemberships": {"s": "2026-03-01T00:00:00+00:00"}}""")]
    [InlineData("""{"segmentsFingerprint": "f-1", "segmentsFingerprint": null, "segmentIncarnations": {"s": 2}, "segmentIncarnations": null}""")]
    [InlineData("""{"segmentsFingerprint": null, "segmentIncarnations": {}}""")]
    [InlineData("""{"id": "p", "createdAt": "2026-03-01T00:00:00+00:00", "traitValues": {"segmentsFingerprint": {"segmentChecks": {"a": 1}}}}""")]
    public void TheScan_AgreesWithDeserialising_OnOddButValidDocuments(string json)
    {
        var document = Encoding.UTF8.GetBytes(json);
        var p = ProfileSerializer.Deserialize(document, 1);
        var expected = (p.SegmentsFingerprint, p.SegmentMemberships is { Count: > 0 } || p.SegmentChecks is { Count: > 0 } || p.SegmentIncarnations is { Count: > 0 });
        Assert.Equal(expected, ProfileSerializer.ReadSegmentState(document));
    }

    [Theory]
    [InlineData("""{"segmentsFingerprint": 5}""")]
    [InlineData("""{"segmentsFingerprint": ["f"]}""")]
    [InlineData("""{"segmentsFingerprint": "\udc00"}""")]
    [InlineData("""{"segmentMemberships": [1]}""")]
    [InlineData("""{"segmentChecks": 3}""")]
    public void TheScan_RefusesWhatDeserialisingRefuses_WithAJsonException(string json)
    {
        var document = Encoding.UTF8.GetBytes(json);
        Assert.ThrowsAny<JsonException>(() => ProfileSerializer.Deserialize(document, 1));
        Assert.ThrowsAny<JsonException>(() => ProfileSerializer.ReadSegmentState(document));
    }
}
