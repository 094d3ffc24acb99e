namespace Omnichannel.Sdk;

/// <summary>Identity resolution settings: identifier types, their rules, and values that never match.</summary>
public sealed class IdentityOptions
{
    private readonly Dictionary<string, IdentifierRule> _rules = new(StringComparer.Ordinal);

    /// <summary>Creates options with the built-in identifier types and their default rules.</summary>
    public IdentityOptions()
    {
        AddType(new IdentifierRule(IdentifierTypes.CustomerId) { Limit = 1, Priority = 100 });
        AddType(new IdentifierRule(IdentifierTypes.Email) { Limit = 5, Priority = 80, Normalizer = IdentifierNormalizers.Email });
        AddType(new IdentifierRule(IdentifierTypes.Phone) { Limit = 5, Priority = 70, Normalizer = IdentifierNormalizers.Phone });
        AddType(new IdentifierRule(IdentifierTypes.LoyaltyCard) { Limit = 3, Priority = 60, Normalizer = IdentifierNormalizers.LoyaltyCard });
        AddType(new IdentifierRule(IdentifierTypes.DeviceId) { Limit = null, Priority = 20, IdentifiesPerson = false });
        AddType(new IdentifierRule(IdentifierTypes.AnonymousId) { Limit = null, Priority = 10, IdentifiesPerson = false });
    }

    /// <summary>
    /// The country calling code (digits only, for example <c>44</c>) given to phone numbers written without one.
    /// Default <c>1</c>.
    /// </summary>
    public string DefaultPhoneCountryCode { get; set; } = "1";

    /// <summary>
    /// The region (ISO 3166-1 alpha-2, for example <c>GB</c>) whose numbering plan reads phone numbers written without a
    /// country code. Default <see langword="null"/>: the main region of <see cref="DefaultPhoneCountryCode"/>.
    /// </summary>
    public string? DefaultPhoneRegion { get; set; }

    internal string PhoneRegion() =>
        DefaultPhoneRegion?.ToUpperInvariant()
        ?? (int.TryParse(DefaultPhoneCountryCode, out var code) ? PhoneNumbers.PhoneNumberUtil.GetInstance().GetRegionCodeForCountryCode(code) : "ZZ");

    /// <summary>
    /// Extra values that never match, in addition to the built-in ones (empty, <c>null</c>, <c>undefined</c>,
    /// <c>anonymous</c>, <c>guest</c>, <c>0</c>, all zeros, <c>-1</c>, <c>none</c>, <c>nil</c>, <c>n/a</c>, and what a
    /// script sends when it stringifies the wrong value: <c>[object Object]</c>, <c>NaN</c>, <c>Infinity</c>,
    /// <c>true</c>, <c>false</c>, and a field's name or a template placeholder in place of its value: <c>id</c>, <c>email</c>,
    /// <c>distinct_id</c>, <c>distinctid</c>, <c>not_authenticated</c>). Compared case-insensitively after normalisation, each value also in the normalised form
    /// of each identifier type (a phone blocked as <c>(415) 555-0100</c> is blocked as <c>+14155550100</c> too). A number of
    /// only zeros in any notation, and a phone number whose national part is only zeros, never match either.
    /// </summary>
    public ISet<string> BlockedValues { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The rules per identifier type.</summary>
    public IReadOnlyDictionary<string, IdentifierRule> Rules => _rules;

    // The same rules as their concrete type: walked on every event (no boxed enumerator).
    internal Dictionary<string, IdentifierRule> RuleTable => _rules;

    /// <summary>Registers a custom identifier type, or replaces the rule of a built-in one.</summary>
    /// <param name="rule">The rule.</param>
    /// <returns>These options, for chaining.</returns>
    public IdentityOptions AddType(IdentifierRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        _rules[rule.Type] = rule;
        return this;
    }
}
