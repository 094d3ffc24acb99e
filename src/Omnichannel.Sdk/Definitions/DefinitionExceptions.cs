namespace Omnichannel.Sdk.Segments
{
    /// <summary>A segment definition is invalid; lists every error with its JSON path.</summary>
    public sealed class SegmentDefinitionException : DefinitionException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="errors">Every error, each with its JSON path.</param>
        public SegmentDefinitionException(IReadOnlyList<DefinitionError> errors)
            : base("segment", errors)
        {
        }
    }
}

namespace Omnichannel.Sdk.Journeys
{
    /// <summary>A journey definition is invalid; lists every error with its JSON path.</summary>
    public sealed class JourneyDefinitionException : DefinitionException
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="errors">Every error, each with its JSON path.</param>
        public JourneyDefinitionException(IReadOnlyList<DefinitionError> errors)
            : base("journey", errors)
        {
        }
    }
}
