namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// The baseline a shop would write by hand: one dictionary from "type:value" to a mutable profile object.
/// No identity graph, no limits, no validation, no de-duplication, no serialization.
/// </summary>
internal sealed class NaiveProfileIndex
{
    private readonly Dictionary<string, NaiveProfile> _byIdentifier = new(StringComparer.Ordinal);

    public int Count => _byIdentifier.Count;

    public void Apply(CustomerEvent e)
    {
        NaiveProfile? profile = null;
        foreach (var id in e.Identifiers)
        {
            if (_byIdentifier.TryGetValue(id.Type + ":" + id.Value, out var found))
            {
                if (profile is null)
                {
                    profile = found;
                }
                else if (!ReferenceEquals(profile, found))
                {
                    profile.Absorb(found);
                    foreach (var key in found.Keys)
                    {
                        _byIdentifier[key] = profile;
                    }
                }
            }
        }

        profile ??= new NaiveProfile();
        foreach (var id in e.Identifiers)
        {
            var key = id.Type + ":" + id.Value;
            if (_byIdentifier.TryAdd(key, profile))
            {
                profile.Keys.Add(key);
            }
        }

        profile.EventCount++;
        profile.LastSeen = e.Timestamp;
        if (e.Type == EventTypes.OrderPlaced && e.Properties.ValueKind == System.Text.Json.JsonValueKind.Object
            && e.Properties.TryGetProperty("total", out var total))
        {
            profile.Orders++;
            profile.Spent += total.GetDecimal();
        }

        profile.Timeline.Add(e.Type);
        if (profile.Timeline.Count > 50)
        {
            profile.Timeline.RemoveAt(0);
        }
    }

    private sealed class NaiveProfile
    {
        public List<string> Keys { get; } = [];

        public List<string> Timeline { get; } = [];

        public long EventCount { get; set; }

        public int Orders { get; set; }

        public decimal Spent { get; set; }

        public DateTimeOffset LastSeen { get; set; }

        public void Absorb(NaiveProfile other)
        {
            Keys.AddRange(other.Keys);
            Timeline.AddRange(other.Timeline);
            EventCount += other.EventCount;
            Orders += other.Orders;
            Spent += other.Spent;
            if (other.LastSeen > LastSeen)
            {
                LastSeen = other.LastSeen;
            }
        }
    }
}
