using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>The stored profile read without deserialising it: the start-up visit's scan.</summary>
internal static partial class ProfileSerializer
{
    // The stored names as Options writes them (camel case), not read from Options: static fields of one partial class in
    // two files have no defined order of initialisation.
    private static readonly byte[] FingerprintName = System.Text.Encoding.UTF8.GetBytes(JsonNamingPolicy.CamelCase.ConvertName(nameof(CustomerProfile.SegmentsFingerprint)));

    private static readonly byte[][] SegmentStateNames =
    [
        .. new[] { nameof(CustomerProfile.SegmentMemberships), nameof(CustomerProfile.SegmentChecks), nameof(CustomerProfile.SegmentIncarnations) }
            .Select(n => System.Text.Encoding.UTF8.GetBytes(JsonNamingPolicy.CamelCase.ConvertName(n))),
    ];

    /// <summary>
    /// A stored profile's segment fingerprint, and whether it holds any segment memberships, checks or incarnations, read
    /// from its document without deserialising it (the start-up visit reads every profile: a scan, not a profile each).
    /// </summary>
    /// <exception cref="JsonException">The document is not a JSON object.</exception>
    public static (string? Fingerprint, bool HasSegmentState) ReadSegmentState(Storage.StoredProfile stored)
    {
        if (stored.Shared is not { } shared)
        {
            return ReadSegmentState(stored.Document);
        }

        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(shared.Length);
        try
        {
            shared.CopyTo(rented);
            return ReadSegmentState(rented.AsSpan(0, shared.Length));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    internal static (string? Fingerprint, bool HasSegmentState) ReadSegmentState(ReadOnlySpan<byte> document)
    {
        var reader = new Utf8JsonReader(document, new JsonReaderOptions { MaxDepth = Options.MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A stored profile document is not a JSON object.");
        }

        // As deserialising reads it (review of the thirty-eighth session): a repeated member's last value stands, and a
        // value of the wrong kind is a JsonException (caught per profile by the start-up visit), never an
        // InvalidOperationException from GetString, which stopped the visit for every profile after it.
        string? fingerprint = null;
        Span<bool> state = stackalloc bool[SegmentStateNames.Length];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(FingerprintName))
            {
                reader.Read();
                fingerprint = reader.TokenType switch
                {
                    JsonTokenType.Null => null,
                    JsonTokenType.String => Text(ref reader),
                    _ => throw new JsonException($"A stored profile's segmentsFingerprint is a {reader.TokenType}, not a string."),
                };
                reader.Skip();
                continue;
            }

            var named = -1;
            for (var i = 0; i < SegmentStateNames.Length; i++)
            {
                named = named < 0 && reader.ValueTextEquals(SegmentStateNames[i]) ? i : named;
            }

            reader.Read();
            if (named >= 0)
            {
                if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null))
                {
                    throw new JsonException($"A stored profile's segment state is a {reader.TokenType}, not an object.");
                }

                var first = reader; // a copy: looks at the first entry, if any
                state[named] = reader.TokenType == JsonTokenType.StartObject && first.Read() && first.TokenType != JsonTokenType.EndObject;
            }

            reader.Skip();
        }

        return (fingerprint, state.Contains(true));

        static string? Text(ref Utf8JsonReader reader)
        {
            try
            {
                return reader.GetString();
            }
            catch (InvalidOperationException ex)
            {
                throw new JsonException("A stored profile's segmentsFingerprint cannot be decoded.", ex); // a lone surrogate escape
            }
        }
    }
}
