namespace Omnichannel.Sdk;

/// <summary>How many decimals an amount in an ISO 4217 currency has (its minor unit).</summary>
internal static class CurrencyMinorUnits
{
    /// <summary>
    /// The decimals of <paramref name="currency"/> (upper case): 0 for the yen, the won and the others without a minor
    /// unit, 3 for the dinars of Kuwait, Bahrain, Jordan…, 4 for the units of account CLF and UYW, else 2 (also for a code
    /// the table does not know).
    /// </summary>
    public static int Of(string? currency) => currency switch
    {
        "BIF" or "CLP" or "DJF" or "GNF" or "ISK" or "JPY" or "KMF" or "KRW" or "PYG" or "RWF" or "UGX" or "UYI" or "VND"
            or "VUV" or "XAF" or "XOF" or "XPF" => 0,
        "BHD" or "IQD" or "JOD" or "KWD" or "LYD" or "OMR" or "TND" => 3,
        "CLF" or "UYW" => 4,
        _ => 2,
    };
}
