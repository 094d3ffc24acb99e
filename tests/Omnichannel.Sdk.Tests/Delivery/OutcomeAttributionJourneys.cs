using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>Journeys that start on an outcome of the welcome journey's email, matched on what only its touch knows.</summary>
internal static class OutcomeAttributionJourneys
{
    /// <summary>A journey <paramref name="id"/> triggered by <paramref name="outcome"/> of welcome / hello / variant a / template hello.</summary>
    public static JourneyDefinition After(string id, string outcome, string channel = ChannelNames.Email) => JourneyRig.Parse($$"""
        {"id": "{{id}}", "version": 1, "name": "{{id}}",
         "trigger": {"type": "event", "event": "{{outcome}}",
                     "where": [{"property": "journey_id", "op": "eq", "value": "welcome"},
                               {"property": "step_id", "op": "eq", "value": "hello"},
                               {"property": "variant", "op": "eq", "value": "a"},
                               {"property": "template_id", "op": "eq", "value": "hello"}]},
         "steps": [{"id": "s", "type": "send", "channels": ["{{channel}}"], "template": "{{id}}", "class": "transactional"}]}
        """);
}
