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
    /// <summary>
    /// The order the SQL stores give text (SQLite <c>BINARY</c>, PostgreSQL <c>COLLATE "C"</c> over UTF-8): Unicode code
    /// point order, which is the order of UTF-8 bytes. It differs from UTF-16 ordinal order only where a supplementary
    /// character (a surrogate pair, U+10000 and up) meets U+E000–U+FFFF: ordinal puts the pair first, code points put it
    /// last. Every store lists ids and keys in this order, so a page holds the same ids whatever the store.
    /// </summary>
    public static IComparer<string> Order { get; } = Comparer<string>.Create(Compare);

    /// <summary>
    /// For a paging cursor a store may not hold (a NUL, an unpaired surrogate): the least text a store can hold such that
    /// any text a store can hold comes after <paramref name="cursor"/> (in <see cref="Order"/>) exactly when it is at or
    /// after the answer; <see langword="null"/> when nothing a store can hold comes after the cursor. A cursor a store can
    /// hold is its own answer (then "after" stays exclusive).
    /// </summary>
    public static string? FirstAfter(string cursor)
    {
        for (var i = 0; i < cursor.Length; i++)
        {
            var c = cursor[i];
            if (c == '\0')
            {
                return string.Concat(cursor.AsSpan(0, i), "\u0001"); // no stored text has a NUL: the next unit up
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < cursor.Length && char.IsLowSurrogate(cursor[i + 1]))
                {
                    i++;
                    continue;
                }

                return string.Concat(cursor.AsSpan(0, i + 1), "\uDC00"); // the first pair with this high half
            }

            if (char.IsLowSurrogate(c))
            {
                // A lone low half ranks above every unit stored text can have there: only what follows the prefix comes after.
                return Measurement.MeasurementQuery.PrefixEnd(cursor[..i]);
            }
        }

        return cursor;
    }

    /// <summary>Compares two strings by code point (see <see cref="Order"/>); <see langword="null"/> first.</summary>
    public static int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null || b is null)
        {
            return a is null ? -1 : 1;
        }

        var i = a.AsSpan().CommonPrefixLength(b);
        return i == a.Length || i == b.Length ? a.Length.CompareTo(b.Length) : Rank(a[i]).CompareTo(Rank(b[i]));

        // Surrogates (D800–DFFF) after U+E000–U+FFFF; everything below U+D800 as it is.
        static int Rank(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }

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
            // A null id has no row to be: SQLite's JSON-array insert skipped it (kept without it), PostgreSQL's NOT NULL
            // refused the whole group of commits it was sent with.
            problem ??= s is null ? "The commit's Segments holds a null segment id." : Check(s, "segment id");
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
