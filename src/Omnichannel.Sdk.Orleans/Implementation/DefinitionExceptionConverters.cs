using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// A refused definition as it crosses a grain call: its errors as JSON (the core's exception types carry no Orleans
/// attributes). Without it, a <see cref="SegmentDefinitionException"/> thrown on a silo (a segment preview that names an
/// unknown segment) reached the caller as Orleans' <c>CodecNotFoundException</c>, without the errors.
/// </summary>
[GenerateSerializer, Immutable]
internal readonly struct DefinitionExceptionSurrogate(string errors)
{
    [Id(0)]
    public string Errors { get; } = errors;
}

/// <summary>Carries a <see cref="SegmentDefinitionException"/> across the cluster with every error and path.</summary>
[RegisterConverter]
internal sealed class SegmentDefinitionExceptionConverter : IConverter<SegmentDefinitionException, DefinitionExceptionSurrogate>
{
    public SegmentDefinitionException ConvertFromSurrogate(in DefinitionExceptionSurrogate surrogate) =>
        new(ClusterJson.Read<DefinitionError[]>(surrogate.Errors));

    public DefinitionExceptionSurrogate ConvertToSurrogate(in SegmentDefinitionException value) => new(ClusterJson.Write(value.Errors));
}

/// <summary>Carries a <see cref="JourneyDefinitionException"/> across the cluster with every error and path.</summary>
[RegisterConverter]
internal sealed class JourneyDefinitionExceptionConverter : IConverter<JourneyDefinitionException, DefinitionExceptionSurrogate>
{
    public JourneyDefinitionException ConvertFromSurrogate(in DefinitionExceptionSurrogate surrogate) =>
        new(ClusterJson.Read<DefinitionError[]>(surrogate.Errors));

    public DefinitionExceptionSurrogate ConvertToSurrogate(in JourneyDefinitionException value) => new(ClusterJson.Write(value.Errors));
}
