using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk;

/// <summary>What an inbound SMS reply (<see cref="EventTypes.MessageReplied"/>) asks for, read from its keyword.</summary>
internal enum SmsReplyKeyword
{
    /// <summary>No keyword: the reply is a conversation, it changes no consent.</summary>
    None,

    /// <summary>An opt-out keyword (STOP…): SMS consent is denied for the whole channel.</summary>
    OptOut,

    /// <summary>An opt-in keyword (START…): undoes an SMS opt-out (see <see cref="ConsentRecord.AwaitsDecision"/>).</summary>
    OptIn,

    /// <summary>A help keyword (HELP, INFO): the provider answers it; consent is unchanged.</summary>
    Help,
}

/// <summary>
/// The reply keywords of US/Canadian SMS, as the carriers' rules and the providers that enforce them define them.
/// <list type="bullet">
/// <item>Opt-out: <c>STOP</c>, <c>STOPALL</c>, <c>UNSUBSCRIBE</c>, <c>CANCEL</c>, <c>END</c>, <c>QUIT</c>, <c>OPTOUT</c>,
/// <c>REVOKE</c> — Twilio's default opt-out keywords (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out,
/// https://help.twilio.com/hc/en-us/articles/223134027-Twilio-support-for-opt-out-keywords-SMS-STOP-filtering-), which
/// contain the CTIA Messaging Principles and Best Practices list (STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE)
/// and Telnyx's and Braze's defaults. <c>OPT OUT</c>, <c>OPT-OUT</c> and <c>STOP ALL</c> are the same keywords
/// (spaces, hyphens and underscores inside the reply are ignored).</item>
/// <item>Opt-in: <c>START</c>, <c>UNSTOP</c>, <c>YES</c> — Twilio's default opt-in keywords (the ones that lift its own
/// STOP block, so the SDK's state follows what the carrier path lets through), also Braze's and OneSignal's.</item>
/// <item>Help: <c>HELP</c>, <c>INFO</c> — CTIA's help keywords; the provider answers them and nothing changes here.</item>
/// </list>
/// Only a reply that is a keyword and nothing else counts, as every provider above reads it: case-insensitive after
/// Unicode NFKC (full-width <c>ＳＴＯＰ</c> is <c>STOP</c>), surrounding white space and invisible format characters
/// ignored, leading and trailing punctuation and symbols (<c>Stop.</c>, <c>STOP!</c>, <c>stop 🛑</c>) ignored. "Please
/// don't stop" is no keyword. A free-text refusal ("don't text me") is for the host to read and send as
/// <see cref="EventTypes.MessageUnsubscribed"/>.
/// </summary>
internal static class SmsReplyKeywords
{
    /// <summary>The property the SDK puts in place of <c>text</c>: which keyword class the reply was.</summary>
    public const string KeywordProperty = "keyword";

    /// <summary>The source recorded on consent decided by a reply (<see cref="ConsentRecord.Source"/>).</summary>
    public const string OptOutSource = "sms_reply:opt_out";

    /// <summary>The source recorded on consent decided by a reply (<see cref="ConsentRecord.Source"/>).</summary>
    public const string OptInSource = "sms_reply:opt_in";

    // No keyword is longer than this, however it is padded: longer text is a conversation, and is not normalised at all.
    private const int MaxKeywordText = 64;

    public static readonly FrozenSet<string> OptOutKeywords = FrozenSet.Create(StringComparer.Ordinal, "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE");

    public static readonly FrozenSet<string> OptInKeywords = FrozenSet.Create(StringComparer.Ordinal, "START", "UNSTOP", "YES");

    public static readonly FrozenSet<string> HelpKeywords = FrozenSet.Create(StringComparer.Ordinal, "HELP", "INFO");

    /// <summary>The source recorded on WhatsApp consent withdrawn by a reply (<see cref="ConsentRecord.Source"/>).</summary>
    public const string WhatsAppOptOutSource = "whatsapp_reply:opt_out";

    /// <summary>
    /// Audit U73: the opt-out keywords read on WhatsApp replies. WhatsApp has no carrier keywords, but a "STOP" there is a
    /// request to opt out that Meta's policy asks businesses to honour, Twilio applies its opt-out keywords to WhatsApp
    /// senders of a Messaging Service (Advanced Opt-Out), and campaign tools are asked to (chatwoot discussion #15196).
    /// Only the words that mean nothing else in a chat: <c>STOP</c>, <c>STOPALL</c>, <c>UNSUBSCRIBE</c>, <c>OPTOUT</c>,
    /// and <c>STOP PROMOTIONS</c> (the text of WhatsApp's own marketing opt-out button). <c>CANCEL</c>, <c>END</c>,
    /// <c>QUIT</c> and <c>REVOKE</c> are not read (in a chat with a shop "cancel" is about an order), nor opt-in words (a
    /// "yes" in a chat answers a question); WhatsApp consent is given back with <c>consent.changed</c>.
    /// </summary>
    public static readonly FrozenSet<string> WhatsAppOptOutKeywords = FrozenSet.Create(StringComparer.Ordinal, "STOP", "STOPALL", "UNSUBSCRIBE", "OPTOUT", "STOPPROMOTIONS");

    /// <summary>The keyword class of a WhatsApp reply's text: <see cref="SmsReplyKeyword.OptOut"/> or none.</summary>
    public static SmsReplyKeyword ClassifyWhatsApp(string? text) =>
        Word(text) is { } word && WhatsAppOptOutKeywords.Contains(word) ? SmsReplyKeyword.OptOut : SmsReplyKeyword.None;

    /// <summary>The keyword class of a reply's text.</summary>
    public static SmsReplyKeyword Classify(string? text)
    {
        var word = Word(text);
        return word is null ? SmsReplyKeyword.None
            : OptOutKeywords.Contains(word) ? SmsReplyKeyword.OptOut
            : OptInKeywords.Contains(word) ? SmsReplyKeyword.OptIn
            : HelpKeywords.Contains(word) ? SmsReplyKeyword.Help
            : SmsReplyKeyword.None;
    }

    /// <summary>The value of the <c>keyword</c> property for a class.</summary>
    public static string Name(SmsReplyKeyword keyword) => keyword switch
    {
        SmsReplyKeyword.OptOut => "opt_out",
        SmsReplyKeyword.OptIn => "opt_in",
        SmsReplyKeyword.Help => "help",
        _ => "none",
    };

    /// <summary>The class a <c>keyword</c> property names (what <see cref="Normalize"/> wrote).</summary>
    public static SmsReplyKeyword Parse(string? name) => name switch
    {
        "opt_out" => SmsReplyKeyword.OptOut,
        "opt_in" => SmsReplyKeyword.OptIn,
        "help" => SmsReplyKeyword.Help,
        _ => SmsReplyKeyword.None,
    };

    /// <summary>The timeline summary of a reply: its channel and keyword class, never its text.</summary>
    public static string Summary(JsonElement props)
    {
        var channel = WellKnownProperties.String(props, "channel");
        if (channel == ChannelNames.WhatsApp)
        {
            return Parse(WellKnownProperties.String(props, KeywordProperty)) == SmsReplyKeyword.OptOut ? "whatsapp reply: opt-out keyword" : "whatsapp reply";
        }

        if (channel != ChannelNames.Sms)
        {
            return $"{channel} reply";
        }

        return Parse(WellKnownProperties.String(props, KeywordProperty)) switch
        {
            SmsReplyKeyword.OptOut => "sms reply: opt-out keyword",
            SmsReplyKeyword.OptIn => "sms reply: opt-in keyword",
            SmsReplyKeyword.Help => "sms reply: help keyword",
            _ => "sms reply: no keyword",
        };
    }

    /// <summary>
    /// Replaces a reply's <c>text</c> (personal data: whatever she wrote) with its <c>keyword</c> class, at the door,
    /// before anything keeps, logs or forwards the event. On WhatsApp only an opt-out is read (<see cref="ClassifyWhatsApp"/>).
    /// On other channels the text is dropped too and no class is given (a <c>keyword</c> the host sent is dropped: only the SDK's reading of the text decides consent).
    /// </summary>
    public static CustomerEvent Normalize(CustomerEvent e)
    {
        if (e.Type != EventTypes.MessageReplied || e.Properties.ValueKind != JsonValueKind.Object)
        {
            return e;
        }

        var node = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
        var text = WellKnownProperties.String(e.Properties, "text");
        node.Remove("text");
        node.Remove(KeywordProperty);
        var channel = WellKnownProperties.String(e.Properties, "channel");
        if (channel == ChannelNames.Sms)
        {
            node[KeywordProperty] = Name(Classify(text));
        }
        else if (channel == ChannelNames.WhatsApp)
        {
            node[KeywordProperty] = Name(ClassifyWhatsApp(text)); // opt_out or none (audit U73)
        }

        return e with { Properties = JsonSerializer.SerializeToElement(node) };
    }

    // The reply reduced to the word it may be: NFKC, upper case, without padding, punctuation around it or separators in it;
    // null when it cannot be a keyword.
    private static string? Word(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var span = text.AsSpan().Trim();
        if (span.Length == 0 || span.Length > MaxKeywordText)
        {
            return null;
        }

        string normalized;
        try
        {
            normalized = span.ToString().Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return null; // not well-formed Unicode (an unpaired surrogate): no keyword
        }

        var runes = new List<Rune>(normalized.Length);
        foreach (var r in normalized.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(r);
            if (category is UnicodeCategory.Format || Rune.IsWhiteSpace(r) || r.Value is '-' or '_')
            {
                continue; // zero-width characters, and the separators of OPT OUT, OPT-OUT, STOP ALL
            }

            runes.Add(r);
        }

        static bool Around(Rune r) => Rune.IsPunctuation(r) || Rune.IsSymbol(r) || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark;
        var start = 0;
        var end = runes.Count;
        while (end > start && Around(runes[end - 1]))
        {
            end--;
        }

        while (start < end && Around(runes[start]))
        {
            start++;
        }

        if (start == end)
        {
            return null;
        }

        var sb = new StringBuilder(end - start);
        for (var i = start; i < end; i++)
        {
            sb.Append(Rune.ToUpperInvariant(runes[i]).ToString());
        }

        return sb.ToString();
    }
}
