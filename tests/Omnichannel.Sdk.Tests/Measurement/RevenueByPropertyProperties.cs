using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>
/// An order's revenue by property is kept as a small value instead of a dictionary: it must answer, and be stored, exactly
/// as the dictionary it replaced (documents written before are read by it).
/// </summary>
public sealed class RevenueByPropertyProperties
{
    private static readonly string[] Names = ["total", "net", "subtotal", "revenue", "value"];

    [Property(MaxTest = 300)]
    public void AnswersAndIsStored_AsTheDictionaryItReplaced(NonNegativeInt total, (byte Name, short Value)[] writes)
    {
        var dictionary = new Dictionary<string, double>(StringComparer.Ordinal) { ["total"] = total.Get };
        var revenue = new RevenueByProperty(total.Get);
        foreach (var (name, value) in writes ?? [])
        {
            var property = Names[name % Names.Length];
            dictionary[property] = value / 4.0;
            revenue = revenue.With(property, value / 4.0);
        }

        foreach (var property in Names.Append("missing"))
        {
            Assert.Equal(dictionary.ContainsKey(property), revenue.Has(property));
            Assert.Equal(dictionary.GetValueOrDefault(property), revenue.Get(property));
        }

        var written = JsonSerializer.Serialize(revenue);
        Assert.Equal(JsonSerializer.Serialize(dictionary), written);
        var read = JsonSerializer.Deserialize<RevenueByProperty>(written);
        Assert.Equal(written, JsonSerializer.Serialize(read));
    }
}
