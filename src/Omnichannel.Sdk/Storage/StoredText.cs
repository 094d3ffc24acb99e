namespace Omnichannel.Sdk.Storage;

/// <summary>
/// Text the SQL stores cannot hold exactly: a NUL or an unpaired surrogate. SQLite keeps text as UTF-8, so an unpaired
/// surrogate is stored as U+FFFD (another value), and what comparisons and JSON functions make of text with a NUL in it
/// is undefined. PostgreSQL text cannot hold a NUL (the server refuses the statement); Npgsql refuses to encode an
/// unpaired surrogate in a parameter of its own, and writes U+FFFD for one inside an array (another value).
/// A commit carrying such text is refused alone (an <see cref="ArgumentException"/> before it is queued, so it never fails
/// the group it would have shared a transaction with), and a look-up of such text finds nothing, as nothing can hold it.
/// The engine never produces such text: ids and identifiers are checked at the door.
/// </summary>
internal static class StoredText
{
    public static bool CanHold(string? text)
    {
        if (text is null)
        {
            return true;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    /// <summary>The first text of <paramref name="commit"/> the store cannot hold, described, or <see langword="null"/>.</summary>
    public static string? Problem(ProfileCommit commit)
    {
        static string? Check(string? text, string what) =>
            CanHold(text) ? null : $"The commit's {what} holds a NUL or an unpaired surrogate, which the store cannot keep as given.";

        var problem = Check(commit.ProfileId, "profile id") ?? Check(commit.EventId, "event id");
        foreach (var id in commit.FurtherEventIds)
        {
            problem ??= Check(id, "further event id");
        }

        foreach (var c in commit.Claims)
        {
            problem ??= Check(c.Identifier.Type, "claimed identifier type") ?? Check(c.Identifier.Value, "claimed identifier value") ?? Check(c.ExpectedOwner, "expected owner");
        }

        foreach (var a in commit.Absorbed)
        {
            problem ??= Check(a.ProfileId, "absorbed profile id");
        }

        foreach (var s in commit.Segments)
        {
            problem ??= Check(s, "segment id");
        }

        foreach (var e in commit.Outbox)
        {
            problem ??= Check(e.MessageKey, "outbox message key") ?? Check(e.ProfileId, "outbox profile id");
        }

        foreach (var d in commit.Measurements)
        {
            if (d?.Key is not { } k)
            {
                continue; // refused elsewhere, or not at all
            }

            problem ??= Check(k.JourneyId, "measurement journey id") ?? Check(k.StepId, "measurement step id") ?? Check(k.Variant, "measurement variant")
                ?? Check(k.Channel, "measurement channel") ?? Check(k.TemplateId, "measurement template id") ?? Check(k.Metric, "measurement metric");
        }

        return problem;
    }
}
