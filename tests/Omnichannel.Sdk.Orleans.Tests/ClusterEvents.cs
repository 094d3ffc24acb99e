namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>Events for the cluster tests, stamped with a clock.</summary>
internal sealed class ClusterEvents(TimeProvider time)
{
    public CustomerEvent Event(string id, string type, object? properties, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = properties is null ? default : JsonData.From(properties),
    };
}
