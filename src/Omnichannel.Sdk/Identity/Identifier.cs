using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>
/// One way of recognising a person: a type (<see cref="IdentifierTypes"/>) and a value.
/// Values are normalised by the engine (an email is trimmed and lower-cased, a phone becomes E.164).
/// </summary>
/// <param name="Type">The identifier type, for example <c>email</c>.</param>
/// <param name="Value">The value as the host knows it.</param>
public readonly record struct Identifier(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("value")] string Value)
{
    /// <summary>The shop's own customer id.</summary>
    public static Identifier CustomerId(string value) => new(IdentifierTypes.CustomerId, value);

    /// <summary>An email address.</summary>
    public static Identifier Email(string value) => new(IdentifierTypes.Email, value);

    /// <summary>A phone number, in any common notation.</summary>
    public static Identifier Phone(string value) => new(IdentifierTypes.Phone, value);

    /// <summary>An anonymous cookie or visitor id.</summary>
    public static Identifier AnonymousId(string value) => new(IdentifierTypes.AnonymousId, value);

    /// <summary>A device id (app installation or push device).</summary>
    public static Identifier DeviceId(string value) => new(IdentifierTypes.DeviceId, value);

    /// <summary>A loyalty card number.</summary>
    public static Identifier LoyaltyCard(string value) => new(IdentifierTypes.LoyaltyCard, value);

    /// <inheritdoc />
    public override string ToString() => $"{Type}:{Value}";
}

/// <summary>The identifier types the SDK knows out of the box. Hosts register more with <see cref="IdentityOptions.AddType"/>.</summary>
public static class IdentifierTypes
{
    /// <summary>The shop's own customer id. Default limit 1 per profile, highest priority.</summary>
    public const string CustomerId = "customer_id";

    /// <summary>Email address. Default limit 5 per profile.</summary>
    public const string Email = "email";

    /// <summary>Phone number in E.164. Default limit 5 per profile.</summary>
    public const string Phone = "phone";

    /// <summary>Anonymous cookie id. Unlimited.</summary>
    public const string AnonymousId = "anonymous_id";

    /// <summary>Device id. Unlimited.</summary>
    public const string DeviceId = "device_id";

    /// <summary>Loyalty card number. Default limit 3 per profile.</summary>
    public const string LoyaltyCard = "loyalty_card";
}
