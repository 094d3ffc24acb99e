using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class RoundTripTests
{
    /// <summary>Canonical JSON: keys in the writer's order, nothing left implicit.</summary>
    public static TheoryData<string> CanonicalRules => new()
    {
        """{"trait":"tier","op":"eq","value":"vip"}""",
        """{"trait":"address.city","op":"in","value":["Paris","Lyon"]}""",
        """{"trait":"age","op":"between","value":[18,30]}""",
        """{"trait":"email","op":"exists"}""",
        """{"trait":"phone","op":"notExists"}""",
        """{"trait":"birthday","op":"anniversaryWithin","value":"P7D"}""",
        """{"trait":"signed_up_at","op":"withinLast","value":"PT12H"}""",
        """{"trait":"vip","op":"ne","value":true}""",
        """{"trait":"score","op":"lt","value":12.75}""",
        """{"trait":"name","op":"startsWith","value":"Ann"}""",
        """{"trait":"tags","op":"contains","value":"b2b"}""",
        """{"trait":"zip","op":"notIn","value":["75001","75002"]}""",
        """{"stat":"orderCount","op":"gte","value":3}""",
        """{"stat":"lifecycleStage","op":"eq","value":"repeatCustomer"}""",
        """{"stat":"lastSeen","op":"moreThanAgo","value":"P1Y2M3DT4H5M6S"}""",
        """{"event":"order.placed"}""",
        """{"event":"order.placed","where":[{"property":"total","op":"gt","value":100},{"property":"fulfillment","op":"eq","value":"pickup"}],"count":{"op":"gte","value":2},"within":"P30D"}""",
        """{"event":"email.opened","count":{"op":"eq","value":0},"between":["2025-01-01T00:00:00Z","2025-03-01T12:30:00+01:00"]}""",
        """{"event":"cart.item_added","count":{"op":"between","value":[1,5]}}""",
        """{"aggregate":"sum","event":"order.placed","property":"total","within":"P90D","op":"gte","value":500}""",
        """{"aggregate":"count","event":"order.returned","op":"lte","value":1}""",
        """{"aggregate":"distinct","event":"order.placed","property":"products","where":[{"property":"currency","op":"eq","value":"GBP"}],"between":["2011-01-01T00:00:00Z","2012-01-01T00:00:00Z"],"op":"gte","value":10}""",
        """{"aggregate":"avg","event":"order.placed","property":"total","op":"between","value":[10.5,99.99]}""",
        """{"lastEvent":"order.placed","op":"moreThanAgo","value":"P90D"}""",
        """{"firstEvent":"order.placed","where":[{"property":"store_id","op":"exists"}],"op":"withinLast","value":"P3M"}""",
        """{"segment":"vip"}""",
        """{"reachable":"email","topic":"newsletter"}""",
        """{"reachable":"push"}""",
        """{"not":{"any":[{"segment":"vip"},{"all":[]}]}}""",
        """{"any":[]}""",
    };

    [Theory]
    [MemberData(nameof(CanonicalRules))]
    public void JsonToModelToJson_GivesTheSameCanonicalJson(string rule)
    {
        var json = $$"""{"id":"s","name":"S","description":"d","rule":{{rule}}}""";

        var definition = ParseTests.Valid(json);

        Assert.Equal(json, SegmentJson.Serialize(definition));
    }

    [Fact]
    public void JsonToModelToJson_NormalisesWhitespaceAndDurationSpelling()
    {
        var d = ParseTests.Valid("""
            { "rule": { "event": "order.placed", "within": "P2W" }, "name": "S", "id": "s" }
            """);

        Assert.Equal("""{"id":"s","name":"S","rule":{"event":"order.placed","within":"P14D"}}""", SegmentJson.Serialize(d));
    }

    [Fact]
    public void CSharpToJsonToCSharp_GivesAnEqualSerializedForm()
    {
        SegmentDefinition built = Segment.Define("big-spenders", "Big spenders")
            .Describe("Spent 500 in 90 days, reachable by email")
            .Where(r => r.All(
                r.Sum("order.placed", "total").Gte(500).Within("P90D").Where(r.Property("currency").Eq("EUR")),
                r.Any(r.Reachable(ChannelNames.Email, "newsletter"), r.Reachable(ChannelNames.Sms)),
                r.Not(r.Segment("staff")),
                r.Stat(ProfileStatisticNames.LifecycleStage).In("customer", "repeatCustomer"),
                r.Event("order.returned").Count(c => c.Lt(2)).Between(
                    new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.FromHours(2))),
                r.FirstEvent("order.placed").WithinLast(IsoDuration.FromMonths(6)),
                r.Trait("birthday").AnniversaryWithin("P14D")));

        var json = SegmentJson.Serialize(built);
        var reread = ParseTests.Valid(json);

        Assert.Equal(json, SegmentJson.Serialize(reread));
        Assert.Equal(built.Id, reread.Id);
        Assert.Equal(built.Description, reread.Description);
        Assert.Equal(7, ((AllRule)reread.Rule).Rules.Count);
    }

    [Fact]
    public void SerializeMany_ThenParseMany_RoundTripsTheSet()
    {
        SegmentDefinition vip = Segment.Define("vip", "VIP").Where(r => r.Trait("tier").Eq("vip"));
        SegmentDefinition lapsed = Segment.Define("lapsed-vip", "Lapsed VIPs")
            .Where(r => r.All(r.Segment("vip"), r.LastEvent("order.placed").MoreThanAgo("P90D")));

        var json = SegmentJson.SerializeMany([vip, lapsed]);
        var result = SegmentJson.ParseMany(json);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(json, SegmentJson.SerializeMany(result.Value));
    }

    [Fact]
    public void Serialize_Indented_ParsesBackToTheSameDefinition()
    {
        var d = ParseTests.Valid(ParseTests.IssueExample);

        var indented = SegmentJson.Serialize(d, indented: true);

        Assert.Contains('\n', indented);
        Assert.Equal(SegmentJson.Serialize(d), SegmentJson.Serialize(ParseTests.Valid(indented)));
    }

    [Fact]
    public void Serialize_KeepsNonAsciiTextReadable()
    {
        SegmentDefinition d = Segment.Define("paris", "Clients à Paris").Where(r => r.Trait("city").Eq("Zürich"));

        var json = SegmentJson.Serialize(d);

        Assert.Contains("Clients à Paris", json, StringComparison.Ordinal);
        Assert.Equal("Zürich", JsonNode.Parse(json)!["rule"]!["value"]!.GetValue<string>());
    }
}
