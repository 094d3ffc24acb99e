namespace Omnichannel.Sdk;

/// <summary>Normalises a raw identifier value, or says why it is malformed.</summary>
/// <param name="raw">The value as received (already trimmed).</param>
/// <param name="options">The identity options (for example the default phone country code).</param>
/// <param name="normalized">The canonical value when valid.</param>
/// <param name="error">Why the value is malformed, when it is.</param>
/// <returns><see langword="true"/> when the value is well formed.</returns>
public delegate bool IdentifierNormalizer(string raw, IdentityOptions options, out string normalized, out string? error);

/// <summary>How one identifier type behaves in identity resolution.</summary>
public sealed class IdentifierRule
{
    /// <summary>Creates a rule.</summary>
    /// <param name="type">The type name, <c>lower_snake_case</c>.</param>
    public IdentifierRule(string type)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        Type = type;
    }

    /// <summary>The identifier type this rule is for.</summary>
    public string Type { get; }

    /// <summary>
    /// How many values of this type one profile may hold; <see langword="null"/> means unlimited.
    /// A merge that would exceed it is refused and recorded as a conflict.
    /// </summary>
    public int? Limit { get; set; }

    /// <summary>
    /// How much this type is trusted. When an event's identifiers point to profiles that cannot be merged,
    /// the identifiers of the highest priority decide which profile the event belongs to and the lower ones stay unlinked.
    /// </summary>
    public int Priority { get; set; }

    /// <summary>Whether holding this identifier makes a person known (a lead rather than an anonymous visitor).</summary>
    public bool IdentifiesPerson { get; set; } = true;

    /// <summary>Turns a raw value into its canonical form; <see langword="null"/> keeps the trimmed value.</summary>
    public IdentifierNormalizer? Normalizer { get; set; }
}
